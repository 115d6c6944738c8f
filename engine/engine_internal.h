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
	 * Scratch memory reused by every op (op_alloc): a step of a small
	 * model runs dozens of ops, and a fresh calloc per buffer (an mmap for
	 * the large ones, and its page faults) cost more than their compute.
	 * Grown at the end of an op that needed more.
	 */
	uint8_t *arena;
	size_t arena_cap;
};

#define OP_MAX_ALLOCS 16

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
	unsigned int n_allocs;
	size_t arena_used;
	size_t arena_last;		/* offset of the last block, or SIZE_MAX */
	size_t arena_need;		/* what this op asked for in all */
};

/* Zeroed scratch memory freed when the op ends; NULL when exhausted. */
void *op_alloc(struct op_ctx *c, size_t bytes);
void op_release(struct op_ctx *c, void *p);

uint64_t tensor_addr(const struct op_ctx *c, const struct inpu_tensor *t);
int mem_read(struct op_ctx *c, uint64_t addr, void *dst, uint64_t len);
int mem_write(struct op_ctx *c, uint64_t addr, const void *src, uint64_t len);
int read_rows(struct op_ctx *c, const struct inpu_tensor *t, uint32_t r0,
	      uint32_t n, void *dst);
int32_t *load_i32(struct op_ctx *c, const struct inpu_tensor *t);
int store_rows_i64(struct op_ctx *c, const struct inpu_tensor *t, uint32_t r0,
		   uint32_t n, const int64_t *v);
int store_i64(struct op_ctx *c, const struct inpu_tensor *t, const int64_t *v);

/* The ops; each returns 0, or -1 with c->status set (or on no memory). */
int op_nop(struct op_ctx *c, const struct inpu_op *op);
int op_matmul(struct op_ctx *c, const struct inpu_op *op);
int op_rmsnorm(struct op_ctx *c, const struct inpu_op *op);
int op_rope(struct op_ctx *c, const struct inpu_op *op);
int op_attention(struct op_ctx *c, const struct inpu_op *op);
int op_swiglu(struct op_ctx *c, const struct inpu_op *op);
int op_add(struct op_ctx *c, const struct inpu_op *op);
int op_embed(struct op_ctx *c, const struct inpu_op *op);
int op_copy(struct op_ctx *c, const struct inpu_op *op);
int op_argmax(struct op_ctx *c, const struct inpu_op *op);
int op_sample(struct op_ctx *c, const struct inpu_op *op);
int op_fwht(struct op_ctx *c, const struct inpu_op *op);

#endif /* INPU_ENGINE_INTERNAL_H */
