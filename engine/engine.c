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

void *op_alloc(struct op_ctx *c, size_t bytes)
{
	struct inpu_engine *e = c->e;
	size_t a = (bytes + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
	void *p;

	if (!a)
		a = ARENA_ALIGN;
	c->arena_need += a;
	if (e->arena && a <= e->arena_cap - c->arena_used) {
		p = e->arena + c->arena_used;
		c->arena_last = c->arena_used;
		c->arena_used += a;
		memset(p, 0, bytes);
		return p;
	}
	if (c->n_allocs == OP_MAX_ALLOCS)
		return NULL;
	p = calloc(1, bytes ? bytes : 1);
	if (p)
		c->allocs[c->n_allocs++] = p;
	return p;
}

/*
 * Free one allocation early (loops that would otherwise pile them up):
 * the arena's last one, or one from calloc.
 */
void op_release(struct op_ctx *c, void *p)
{
	uint8_t *b = p;
	unsigned int i;

	if (c->e->arena && b >= c->e->arena && b < c->e->arena + c->arena_used) {
		size_t off = (size_t)(b - c->e->arena);

		/* Only the last block can go back; others wait for the op's end. */
		if (off == c->arena_last) {
			c->arena_need -= c->arena_used - off;
			c->arena_used = off;
			c->arena_last = SIZE_MAX;
		}
		return;
	}
	for (i = 0; i < c->n_allocs; i++) {
		if (c->allocs[i] == p) {
			free(p);
			c->allocs[i] = c->allocs[--c->n_allocs];
			return;
		}
	}
}

static void op_free_all(struct op_ctx *c)
{
	struct inpu_engine *e = c->e;

	while (c->n_allocs)
		free(c->allocs[--c->n_allocs]);
	/* Room for this op's buffers next time (a failed malloc keeps none). */
	if (ARENA_ENABLED && c->arena_need > e->arena_cap) {
		size_t cap = (c->arena_need + 65535) / 65536 * 65536;

		free(e->arena);
		e->arena = malloc(cap);
		e->arena_cap = e->arena ? cap : 0;
	}
	c->arena_used = 0;
	c->arena_last = SIZE_MAX;
	c->arena_need = 0;
}

/* ---- operand transfer ------------------------------------------------ */

uint64_t tensor_addr(const struct op_ctx *c, const struct inpu_tensor *t)
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

int mem_read(struct op_ctx *c, uint64_t addr, void *dst, uint64_t len)
{
	if (c->mem->read(c->mem_ctx, addr, dst, len))
		return fault(c, addr, 0);
	return 0;
}

int mem_write(struct op_ctx *c, uint64_t addr, const void *src, uint64_t len)
{
	if (c->mem->write(c->mem_ctx, addr, src, len))
		return fault(c, addr, 1);
	return 0;
}

/* Read rows [r0, r0 + n) of @t densely into @dst (raw elements). */
int read_rows(struct op_ctx *c, const struct inpu_tensor *t, uint32_t r0,
	      uint32_t n, void *dst)
{
	uint64_t row = (uint64_t)t->cols * inpu_dtype_size(t->dtype);
	uint64_t base = tensor_addr(c, t) + (uint64_t)r0 * t->stride;
	uint8_t *d = dst;
	uint32_t r;

	if (t->stride == row)
		return mem_read(c, base, d, row * n);
	for (r = 0; r < n; r++)
		if (mem_read(c, base + (uint64_t)r * t->stride, d + r * row, row))
			return -1;
	return 0;
}

/* Whole tensor as int32 values (INT8/INT16/INT32/UINT8), row-major dense. */
int32_t *load_i32(struct op_ctx *c, const struct inpu_tensor *t)
{
	uint64_t count = (uint64_t)t->rows * t->cols;
	unsigned int es = inpu_dtype_size(t->dtype);
	int32_t *out = op_alloc(c, count * 4);
	uint8_t *raw;
	uint64_t i;

	if (!out)
		return NULL;
	raw = es == 4 ? (uint8_t *)out : op_alloc(c, count * es);
	if (!raw || read_rows(c, t, 0, t->rows, raw))
		return NULL;
	for (i = 0; i < count && es != 4; i++) {
		if (t->dtype == INPU_DT_INT8)
			out[i] = ((const int8_t *)raw)[i];
		else if (t->dtype == INPU_DT_UINT8)
			out[i] = raw[i];
		else
			out[i] = ((const int16_t *)raw)[i];
	}
	/* Free the staging copy now: callers that load in a loop (EMBED,
	 * one table row per id) would otherwise run out of op_alloc slots.
	 */
	if (es != 4)
		op_release(c, raw);
	return out;
}

/* Saturate int64 values to @t's dtype and write them as rows [r0, r0 + n). */
int store_rows_i64(struct op_ctx *c, const struct inpu_tensor *t, uint32_t r0,
		   uint32_t n, const int64_t *v)
{
	uint64_t count = (uint64_t)n * t->cols;
	unsigned int es = inpu_dtype_size(t->dtype);
	uint64_t row = (uint64_t)t->cols * es, i;
	uint64_t base = tensor_addr(c, t) + (uint64_t)r0 * t->stride;
	uint8_t *raw = op_alloc(c, count * es);
	uint32_t r;
	int ret = 0;

	if (!raw)
		return -1;
	for (i = 0; i < count; i++) {
		switch (t->dtype) {
		case INPU_DT_INT8:
			((int8_t *)raw)[i] = sat8(v[i]);
			break;
		case INPU_DT_INT16:
			((int16_t *)raw)[i] = sat16(v[i]);
			break;
		default:
			((int32_t *)raw)[i] = sat32(v[i]);
			break;
		}
	}
	if (t->stride == row) {
		ret = mem_write(c, base, raw, count * es);
	} else {
		for (r = 0; r < n && !ret; r++)
			ret = mem_write(c, base + (uint64_t)r * t->stride,
					raw + r * row, row);
	}
	op_release(c, raw);
	return ret;
}

int store_i64(struct op_ctx *c, const struct inpu_tensor *t, const int64_t *v)
{
	return store_rows_i64(c, t, 0, t->rows, v);
}

/* ---- the run loop ----------------------------------------------------- */

typedef int (*op_fn)(struct op_ctx *c, const struct inpu_op *op);

static const op_fn op_table[INPU_OP_COUNT] = {
	[INPU_OP_NOP] = op_nop,
	[INPU_OP_MATMUL] = op_matmul,
	[INPU_OP_RMSNORM] = op_rmsnorm,
	[INPU_OP_ROPE] = op_rope,
	[INPU_OP_ATTENTION] = op_attention,
	[INPU_OP_SWIGLU] = op_swiglu,
	[INPU_OP_ADD] = op_add,
	[INPU_OP_EMBED] = op_embed,
	[INPU_OP_COPY] = op_copy,
	[INPU_OP_ARGMAX] = op_argmax,
	[INPU_OP_SAMPLE] = op_sample,
	[INPU_OP_FWHT] = op_fwht,
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
	c.arena_last = SIZE_MAX;
	for (i = 0; i < hdr->n_ops; i++) {
		const struct inpu_op *op = &ops[i];
		int ret;

		c.status = INPU_OK;
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
