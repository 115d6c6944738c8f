// SPDX-License-Identifier: MIT
/*
 * Stream execution: parameter checks, operand transfer through
 * struct inpu_mem_ops, dispatch to the op implementations, cost totals.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"

struct inpu_engine *inpu_engine_new(enum inpu_isa_level level,
				    const struct inpu_machine *machine)
{
	struct inpu_engine *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	if (level > inpu_cpu_isa_level())
		level = inpu_cpu_isa_level();
	e->level = level;
	inpu_kernels_select(level, &e->k);
	if (machine)
		e->machine = *machine;
	else
		inpu_machine_default(&e->machine);
	return e;
}

void inpu_engine_free(struct inpu_engine *e)
{
	if (e)
		free(e->arena);
	free(e);
}

void inpu_engine_set_poll(struct inpu_engine *e, inpu_poll_fn poll,
			  void *opaque)
{
	e->poll = poll;
	e->poll_opaque = opaque;
}

void inpu_engine_mem_stats(struct inpu_engine *e, struct inpu_engine_mem *m,
			   int reset_peak)
{
	if (reset_peak)
		e->held_peak = e->held;
	m->retained = e->arena_cap;
	m->peak = e->held_peak;
}

enum inpu_isa_level inpu_engine_level(const struct inpu_engine *e)
{
	return e->level;
}

int inpu_tables_check(const struct inpu_tables *t)
{
	uint32_t i;

	if (!t || !t->exp || !t->exp_len || !t->exp[0] || !t->silu ||
	    !t->silu_len || t->silu_zero >= t->silu_len || t->exp_frac > 30 ||
	    t->silu_in_frac > 30 || t->silu_out_frac > 30)
		return INPU_ERR_TABLES;
	for (i = 1; i < t->exp_len; i++)
		if (t->exp[i] > t->exp[i - 1])
			return INPU_ERR_TABLES;
	return INPU_OK;
}

/* ---- per-op scratch memory ------------------------------------------- */

#define ARENA_ALIGN 64
/*
 * The arena's cap: a model's ops fit (the largest, attention over a long
 * KV cache, needs a few MiB), and an op that needs more (a hostile one, or
 * FWHT over a block of millions) gets the rest from calloc, freed when it
 * ends, instead of growing the memory the engine keeps for good.
 */
#define ARENA_MAX_BYTES ((size_t)16 << 20)

/*
 * Under AddressSanitizer every buffer gets its own allocation, so that an
 * access past one is caught rather than landing in the next.
 */
#if defined(__SANITIZE_ADDRESS__)
#define ARENA_ENABLED 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ARENA_ENABLED 0
#endif
#endif
#ifndef ARENA_ENABLED
#define ARENA_ENABLED 1
#endif

static void held_add(struct inpu_engine *e, size_t bytes)
{
	e->held += bytes;
	if (e->held > e->held_peak)
		e->held_peak = e->held;
}

void *inpu_eng_op_alloc(struct op_ctx *c, size_t bytes)
{
	struct inpu_engine *e = c->e;
	size_t a = (bytes + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
	void *p;

	if (!a)
		a = ARENA_ALIGN;
	c->arena_need += a;
	if (e->arena && a <= e->arena_cap - c->arena_used) {
		p = e->arena + c->arena_used;
		c->arena_used += a;
		memset(p, 0, bytes);
		return p;
	}
	if (c->n_allocs == OP_MAX_ALLOCS)
		return NULL;
	p = calloc(1, bytes ? bytes : 1);
	if (p) {
		c->alloc_bytes[c->n_allocs] = bytes;
		c->allocs[c->n_allocs++] = p;
		held_add(e, bytes);
	}
	return p;
}

static void op_free_all(struct op_ctx *c)
{
	struct inpu_engine *e = c->e;
	size_t need = c->arena_need < ARENA_MAX_BYTES ? c->arena_need :
			ARENA_MAX_BYTES;

	while (c->n_allocs) {
		c->n_allocs--;
		free(c->allocs[c->n_allocs]);
		e->held -= c->alloc_bytes[c->n_allocs];
	}
	/*
	 * Room for this op's buffers next time, up to the cap (a failed
	 * malloc keeps none).
	 */
	if (ARENA_ENABLED && need > e->arena_cap) {
		size_t cap = (need + 65535) / 65536 * 65536;

		free(e->arena);
		e->held -= e->arena_cap;
		e->arena = malloc(cap);
		e->arena_cap = e->arena ? cap : 0;
		held_add(e, e->arena_cap);
	}
	c->arena_used = 0;
	c->arena_need = 0;
}

/* ---- operand transfer ------------------------------------------------ */

uint64_t inpu_eng_tensor_addr(const struct op_ctx *c,
			      const struct inpu_tensor *t)
{
	uint64_t a = t->addr;

	if (t->dyn_param)
		a += (uint64_t)c->params[t->dyn_param - 1] * t->dyn_mul;
	return a;
}

static int fault(struct op_ctx *c, uint64_t addr, int write)
{
	if (!c->status) {
		c->status = INPU_ERR_FAULT;
		c->fault_addr = addr;
		c->fault_write = write;
	}
	return -1;
}

int inpu_eng_mem_read(struct op_ctx *c, uint64_t addr, void *dst,
		      uint64_t len)
{
	if (c->mem->read(c->mem_ctx, addr, dst, len))
		return fault(c, addr, 0);
	return 0;
}

int inpu_eng_mem_write(struct op_ctx *c, uint64_t addr, const void *src,
		       uint64_t len)
{
	if (c->mem->write(c->mem_ctx, addr, src, len))
		return fault(c, addr, 1);
	return 0;
}

/*
 * Elements [i0, i0 + n) of @t, in row-major order, between device memory
 * and the dense buffer @buf: one access per row piece, or one in all when
 * the rows are dense.
 */
static int rw_elems(struct op_ctx *c, const struct inpu_tensor *t,
		    uint64_t i0, uint64_t n, void *buf, int write)
{
	unsigned int es = inpu_dtype_size(t->dtype);
	uint64_t cols = t->cols, base = inpu_eng_tensor_addr(c, t) +
					 inpu_dtype_row_prefix(t->dtype);
	int dense = t->stride == cols * es;
	uint8_t *p = buf;

	while (n) {
		uint64_t len = dense ? n :
				 inpu_eng_min_u64(n, cols - i0 % cols);
		uint64_t a = base + i0 / cols * t->stride + i0 % cols * es;

		if (write ? inpu_eng_mem_write(c, a, p, len * es) :
			    inpu_eng_mem_read(c, a, p, len * es))
			return -1;
		p += len * es;
		i0 += len;
		n -= len;
	}
	return 0;
}

/* Whole tensor as int32 values (INT8/INT16/INT32/UINT8), row-major dense. */
int32_t *inpu_eng_load_i32(struct op_ctx *c, const struct inpu_tensor *t)
{
	uint64_t count = (uint64_t)t->rows * t->cols;
	int32_t *out = inpu_eng_op_alloc(c, count * 4);

	if (!out || inpu_eng_read_i32(c, t, 0, count, out))
		return NULL;
	return out;
}

/* Whole tensor: for the ops whose outputs are bounded (SAMPLE). */
int inpu_eng_store_i64(struct op_ctx *c, const struct inpu_tensor *t,
		       const int64_t *v)
{
	uint64_t count = (uint64_t)t->rows * t->cols;
	uint8_t *raw = inpu_eng_op_alloc(c, count * inpu_dtype_size(t->dtype));

	if (!raw)
		return -1;
	c->e->k.saturate(v, count, t->dtype, raw);
	return rw_elems(c, t, 0, count, raw, 1);
}

/* ---- chunks ------------------------------------------------------------ */

int inpu_eng_read_elems(struct op_ctx *c, const struct inpu_tensor *t,
			uint64_t i0, uint64_t n, void *dst)
{
	return rw_elems(c, t, i0, n, dst, 0);
}

int inpu_eng_read_i32(struct op_ctx *c, const struct inpu_tensor *t,
		      uint64_t i0, uint64_t n, int32_t *dst)
{
	unsigned int es = inpu_dtype_size(t->dtype);
	/*
	 * The raw elements go to the end of @dst and are widened front to
	 * back: element i is read before int32 i is stored, and int32 i ends
	 * at 4 * (i + 1) <= n * (4 - es) + (i + 1) * es, where raw element
	 * i + 1 starts, so no raw element is overwritten before it is read.
	 */
	uint8_t *raw = (uint8_t *)dst + n * (4 - es);
	uint64_t i;

	if (inpu_eng_read_elems(c, t, i0, n, raw))
		return -1;
	if (es == 4)
		return 0;
	for (i = 0; i < n; i++) {
		int16_t h;

		if (t->dtype == INPU_DT_INT8) {
			dst[i] = (int8_t)raw[i];
		} else if (t->dtype == INPU_DT_UINT8) {
			dst[i] = raw[i];
		} else {
			memcpy(&h, raw + 2 * i, 2);
			dst[i] = h;
		}
	}
	return 0;
}

static void tensor_span(const struct op_ctx *c, const struct inpu_tensor *t,
			uint64_t *lo, uint64_t *hi)
{
	*lo = inpu_eng_tensor_addr(c, t);
	*hi = *lo + (uint64_t)(t->rows - 1) * t->stride +
	      inpu_dtype_row_prefix(t->dtype) +
	      (uint64_t)t->cols * inpu_dtype_size(t->dtype);
}

int inpu_eng_out_hazard(const struct op_ctx *c, const struct inpu_tensor *y,
			const struct inpu_tensor *x, int elementwise)
{
	uint64_t ylo, yhi, xlo, xhi;

	tensor_span(c, y, &ylo, &yhi);
	tensor_span(c, x, &xlo, &xhi);
	if (yhi <= xlo || xhi <= ylo)
		return 0;
	/* Element i of y is element i of x: written only once read. */
	return !(elementwise && ylo == xlo && y->stride == x->stride &&
		 inpu_dtype_size(y->dtype) == inpu_dtype_size(x->dtype) &&
		 y->cols == x->cols);
}

/*
 * What the out stream holds per element: y's own type, or for I8ROW the
 * int16 values its rows are quantized from when the op ends.
 */
static uint8_t stage_dtype(const struct inpu_tensor *y)
{
	return y->dtype == INPU_DT_I8ROW ? INPU_DT_INT16 : y->dtype;
}

int inpu_eng_out_open(struct op_ctx *c, struct out_stream *o,
		      const struct inpu_tensor *y, uint64_t chunk, int staged)
{
	uint64_t count = (uint64_t)y->rows * y->cols;

	o->t = y;
	/* A row's scale needs the whole row: I8ROW is always staged. */
	o->staged = staged || y->dtype == INPU_DT_I8ROW;
	/*
	 * Staging costs one copy of y in y's own element type (int16 for
	 * I8ROW): no more than twice the device memory y covers.
	 */
	o->buf = inpu_eng_op_alloc(c, (o->staged ? count : chunk) *
				      inpu_dtype_size(stage_dtype(y)));
	return o->buf ? 0 : -1;
}

uint8_t *inpu_eng_out_slot(const struct out_stream *o, uint64_t i0)
{
	return o->staged ?
	       o->buf + i0 * inpu_dtype_size(stage_dtype(o->t)) : o->buf;
}

int inpu_eng_out_commit(struct op_ctx *c, struct out_stream *o, uint64_t i0,
			uint64_t n)
{
	return o->staged ? 0 : rw_elems(c, o->t, i0, n, o->buf, 1);
}

int inpu_eng_out_put(struct op_ctx *c, struct out_stream *o, uint64_t i0,
		     uint64_t n, const int64_t *v)
{
	c->e->k.saturate(v, n, stage_dtype(o->t), inpu_eng_out_slot(o, i0));
	return inpu_eng_out_commit(c, o, i0, n);
}

/*
 * One I8ROW row from its int16 values @u (ISA.md section 2): the largest
 * magnitude a is the row's scale, and each value becomes round(127 u / a)
 * through the integer reciprocal r = floor(127 * 2^31 / a).
 */
void inpu_eng_row_quant(const int16_t *u, uint32_t n, int32_t *scale,
			int8_t *q)
{
	int64_t r, a = 0;
	uint32_t i;

	for (i = 0; i < n; i++) {
		int64_t m = u[i] < 0 ? -(int64_t)u[i] : u[i];

		if (m > a)
			a = m;
	}
	*scale = (int32_t)a;
	r = a ? (int64_t)(((uint64_t)127 << 31) / (uint64_t)a) : 0;
	for (i = 0; i < n; i++)
		q[i] = sat8(rshift_round((int64_t)u[i] * r, 31));
}

/* Quantize the staged int16 rows of an I8ROW output and write them. */
static int out_close_rows(struct op_ctx *c, struct out_stream *o)
{
	const struct inpu_tensor *t = o->t;
	uint64_t base = inpu_eng_tensor_addr(c, t);
	uint8_t *row = inpu_eng_op_alloc(c, INPU_I8ROW_PREFIX +
					    (size_t)t->cols);
	uint32_t r;

	if (!row)
		return -1;
	for (r = 0; r < t->rows; r++) {
		int32_t a;

		inpu_eng_row_quant((const int16_t *)o->buf +
				   (uint64_t)r * t->cols, t->cols, &a,
				   (int8_t *)row + INPU_I8ROW_PREFIX);
		memcpy(row, &a, sizeof(a));
		if (inpu_eng_mem_write(c, base + (uint64_t)r * t->stride, row,
				       INPU_I8ROW_PREFIX + (uint64_t)t->cols))
			return -1;
		if (inpu_eng_op_work(c, t->cols))
			return -1;
	}
	return 0;
}

int inpu_eng_out_close(struct op_ctx *c, struct out_stream *o)
{
	if (!o->staged)
		return 0;
	if (o->t->dtype == INPU_DT_I8ROW)
		return out_close_rows(c, o);
	return rw_elems(c, o->t, 0, (uint64_t)o->t->rows * o->t->cols, o->buf,
			1);
}

int inpu_eng_read_row_scales(struct op_ctx *c, const struct inpu_tensor *t,
			     uint32_t r0, uint32_t n, int32_t *scale)
{
	uint64_t base = inpu_eng_tensor_addr(c, t);
	uint32_t i;

	for (i = 0; i < n; i++)
		if (inpu_eng_mem_read(c, base + (uint64_t)(r0 + i) * t->stride,
				      &scale[i], sizeof(*scale)))
			return -1;
	return 0;
}

int inpu_eng_op_poll(struct op_ctx *c)
{
	struct inpu_engine *e = c->e;

	c->work = 0;
	if (e->poll && e->poll(e->poll_opaque)) {
		c->status = INPU_RUN_CANCELLED;
		return -1;
	}
	return 0;
}

/* ---- the run loop ----------------------------------------------------- */

typedef int (*op_fn)(struct op_ctx *c, const struct inpu_op *op);

static const op_fn op_table[INPU_OP_COUNT] = {
	[INPU_OP_NOP] = inpu_eng_op_nop,
	[INPU_OP_MATMUL] = inpu_eng_op_matmul,
	[INPU_OP_RMSNORM] = inpu_eng_op_rmsnorm,
	[INPU_OP_ROPE] = inpu_eng_op_rope,
	[INPU_OP_ATTENTION] = inpu_eng_op_attention,
	[INPU_OP_SWIGLU] = inpu_eng_op_swiglu,
	[INPU_OP_ADD] = inpu_eng_op_add,
	[INPU_OP_EMBED] = inpu_eng_op_embed,
	[INPU_OP_COPY] = inpu_eng_op_copy,
	[INPU_OP_ARGMAX] = inpu_eng_op_argmax,
	[INPU_OP_SAMPLE] = inpu_eng_op_sample,
	[INPU_OP_FWHT] = inpu_eng_op_fwht,
};

static void cost_add(struct inpu_cost *sum, const struct inpu_cost *c)
{
	sum->cycles += c->cycles;
	sum->macs += c->macs;
	sum->macs_int4 += c->macs_int4;
	sum->dram_bytes += c->dram_bytes;
	sum->sram_bytes += c->sram_bytes;
	sum->energy_fj += c->energy_fj;
}

void inpu_engine_run(struct inpu_engine *e, const struct inpu_tables *tables,
		     const struct inpu_mem_ops *mem, void *mem_ctx,
		     const void *stream, size_t len, const uint32_t *params,
		     struct inpu_run_result *res)
{
	const struct inpu_stream_header *hdr = stream;
	const struct inpu_op *ops = (const struct inpu_op *)(hdr + 1);
	uint32_t p[INPU_MAX_PARAMS] = { 0 };
	struct op_ctx c;
	struct inpu_cost cost;
	uint32_t i;

	memset(res, 0, sizeof(*res));
	(void)len;
	if (inpu_tables_check(tables)) {
		res->status = INPU_ERR_TABLES;
		return;
	}
	for (i = 0; i < hdr->n_params; i++) {
		p[i] = params ? params[i] : 0;
		if (p[i] < hdr->params[i].min || p[i] > hdr->params[i].max) {
			res->status = INPU_ERR_PARAM;
			return;
		}
	}

	memset(&c, 0, sizeof(c));
	c.e = e;
	c.tables = tables;
	c.mem = mem;
	c.mem_ctx = mem_ctx;
	c.params = p;
	for (i = 0; i < hdr->n_ops; i++) {
		const struct inpu_op *op = &ops[i];
		int ret;

		c.status = INPU_OK;
		/* Between ops too: a stream of many short ops is long as well. */
		ret = inpu_eng_op_poll(&c);
		if (!ret)
			ret = op_table[op->opcode](&c, op);
		op_free_all(&c);
		if (ret || c.status) {
			res->status = c.status ? c.status : INPU_ERR_NOMEM;
			res->fault_op = i;
			res->fault_addr = c.fault_addr;
			res->fault_write = c.fault_write;
			return;
		}
		inpu_op_cost(&e->machine, op, p, &cost);
		cost_add(&res->cost, &cost);
		res->ops_done = i + 1;
	}
}
