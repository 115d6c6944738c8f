/* SPDX-License-Identifier: MIT */
/*
 * Shared between the engine's own files; not part of its API.
 */
#ifndef INPU_ENGINE_INTERNAL_H
#define INPU_ENGINE_INTERNAL_H

#include "inpu_engine.h"
#include "int_math.h"
#include "kernels.h"

struct inpu_engine {
	enum inpu_isa_level level;
	struct inpu_kernels k;
	struct inpu_machine machine;
	/*
	 * Scratch memory reused by every op (inpu_eng_op_alloc): a step of a
	 * small model runs dozens of ops, and a fresh calloc per buffer (an
	 * mmap for the large ones, and its page faults) cost more than their
	 * compute.
	 * Grown at the end of an op that needed more, up to ARENA_MAX_BYTES:
	 * what a hostile stream makes one op use is not kept for the next.
	 */
	uint8_t *arena;
	size_t arena_cap;
	/* Scratch bytes held now and at most (inpu_engine_mem_stats). */
	size_t held;
	size_t held_peak;
	/* Cancellation and progress (inpu_engine_set_poll); NULL: none. */
	inpu_poll_fn poll;
	void *poll_opaque;
};

#define OP_MAX_ALLOCS 16

/*
 * Elements per chunk of the streaming ops: their scratch memory is a few
 * chunks, whatever the size of the tensors a stream names.
 */
#define OP_CHUNK 16384

/* Work units (MACs or elements) between two calls of the poll hook. */
#define OP_POLL_UNITS (1u << 20)

/* State of the op being run. */
struct op_ctx {
	struct inpu_engine *e;
	const struct inpu_tables *tables;
	const struct inpu_mem_ops *mem;
	void *mem_ctx;
	const uint32_t *params;
	int status;		/* set by a failing access or check */
	uint64_t fault_addr;
	int fault_write;
	void *allocs[OP_MAX_ALLOCS];	/* beyond the arena */
	size_t alloc_bytes[OP_MAX_ALLOCS];
	unsigned int n_allocs;
	size_t arena_used;
	size_t arena_need;		/* what this op asked for in all */
	uint64_t work;			/* units since the last poll */
};

/*
 * An op's output, written chunk by chunk as it is computed, or, when that
 * could change what a later chunk of the op reads (inpu_eng_out_hazard),
 * staged whole and written at the end: every op reads its inputs as they
 * were before it ran.
 */
struct out_stream {
	const struct inpu_tensor *t;
	uint8_t *buf;		/* one chunk, or the whole tensor when staged */
	int staged;
};

/* Zeroed scratch memory freed when the op ends; NULL when exhausted. */
void *inpu_eng_op_alloc(struct op_ctx *c, size_t bytes);

uint64_t inpu_eng_tensor_addr(const struct op_ctx *c,
			      const struct inpu_tensor *t);
int inpu_eng_mem_read(struct op_ctx *c, uint64_t addr, void *dst,
		      uint64_t len);
int inpu_eng_mem_write(struct op_ctx *c, uint64_t addr, const void *src,
		       uint64_t len);
/* Whole tensors, for operands bounded by the ISA (SAMPLE's n <= 65536). */
int32_t *inpu_eng_load_i32(struct op_ctx *c, const struct inpu_tensor *t);
int inpu_eng_store_i64(struct op_ctx *c, const struct inpu_tensor *t,
		       const int64_t *v);

/*
 * Elements [i0, i0 + n) of @t in row-major order (they may span rows):
 * raw and dense, or widened to int32 (INT8/INT16/INT32/UINT8).
 */
int inpu_eng_read_elems(struct op_ctx *c, const struct inpu_tensor *t,
			uint64_t i0, uint64_t n, void *dst);
int inpu_eng_read_i32(struct op_ctx *c, const struct inpu_tensor *t,
		      uint64_t i0, uint64_t n, int32_t *dst);

/*
 * Whether writing @y chunk by chunk could change what the op still reads
 * of @x.  @elementwise: the op reads element i of @x (or its whole FWHT
 * block, RoPE pair or attention head) before it writes element i of @y and
 * never after, so @y may then lie exactly on @x.
 */
int inpu_eng_out_hazard(const struct op_ctx *c, const struct inpu_tensor *y,
			const struct inpu_tensor *x, int elementwise);
int inpu_eng_out_open(struct op_ctx *c, struct out_stream *o,
		      const struct inpu_tensor *y, uint64_t chunk, int staged);
/*
 * Where raw elements [i0, i0 + n) go; then inpu_eng_out_commit() writes
 * them.
 */
uint8_t *inpu_eng_out_slot(const struct out_stream *o, uint64_t i0);
int inpu_eng_out_commit(struct op_ctx *c, struct out_stream *o, uint64_t i0,
			uint64_t n);
/* Saturate values of elements [i0, i0 + n) to y's type and write them. */
int inpu_eng_out_put(struct op_ctx *c, struct out_stream *o, uint64_t i0,
		     uint64_t n, const int64_t *v);
int inpu_eng_out_close(struct op_ctx *c, struct out_stream *o);

/* One I8ROW row from int16 values: its scale and int8 values (ISA.md 2). */
void inpu_eng_row_quant(const int16_t *u, uint32_t n, int32_t *scale,
			int8_t *q);
/* The int32 scales of rows [r0, r0 + n) of an I8ROW tensor. */
int inpu_eng_read_row_scales(struct op_ctx *c, const struct inpu_tensor *t,
			     uint32_t r0, uint32_t n, int32_t *scale);

/*
 * Ask the poll hook now and restart the count: -1 with c->status
 * INPU_RUN_CANCELLED when it says stop.
 */
int inpu_eng_op_poll(struct op_ctx *c);

/* Count @units of work (MACs or elements); poll every OP_POLL_UNITS. */
static inline int inpu_eng_op_work(struct op_ctx *c, uint64_t units)
{
	c->work += units;
	return c->work >= OP_POLL_UNITS ? inpu_eng_op_poll(c) : 0;
}

static inline uint64_t inpu_eng_min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/*
 * EXPIDX of engine/ISA.md (ATTENTION, SAMPLE): the exp table's index for
 * a distance @d below the maximum, clamped to the table.
 */
static inline uint32_t inpu_eng_exp_index(const struct inpu_tables *t,
					  int64_t d, int32_t mult, int shift)
{
	int64_t idx = rshift_round(wmul64(d, mult), shift);

	return idx >= (int64_t)t->exp_len ? t->exp_len - 1 :
	       idx < 0 ? 0 : (uint32_t)idx;
}

/* The ops; each returns 0, or -1 with c->status set (or on no memory). */
int inpu_eng_op_nop(struct op_ctx *c, const struct inpu_op *op);
int inpu_eng_op_matmul(struct op_ctx *c, const struct inpu_op *op);
int inpu_eng_op_rmsnorm(struct op_ctx *c, const struct inpu_op *op);
int inpu_eng_op_rope(struct op_ctx *c, const struct inpu_op *op);
int inpu_eng_op_attention(struct op_ctx *c, const struct inpu_op *op);
int inpu_eng_op_swiglu(struct op_ctx *c, const struct inpu_op *op);
int inpu_eng_op_add(struct op_ctx *c, const struct inpu_op *op);
int inpu_eng_op_embed(struct op_ctx *c, const struct inpu_op *op);
int inpu_eng_op_copy(struct op_ctx *c, const struct inpu_op *op);
int inpu_eng_op_argmax(struct op_ctx *c, const struct inpu_op *op);
int inpu_eng_op_sample(struct op_ctx *c, const struct inpu_op *op);
int inpu_eng_op_fwht(struct op_ctx *c, const struct inpu_op *op);

#endif /* INPU_ENGINE_INTERNAL_H */
