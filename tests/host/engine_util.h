/* SPDX-License-Identifier: MIT */
/*
 * Test helpers for the engine: a flat device memory, tensor descriptors,
 * stream assembly, and validate-then-run.  Header-only, for host tests.
 */
#ifndef INPU_ENGINE_UTIL_H
#define INPU_ENGINE_UTIL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "inpu_engine.h"
#include "tables_gen.h"

/* Device memory [base, base + size) backed by one host buffer. */
struct flat_mem {
	uint64_t base;
	uint64_t size;
	uint64_t next;		/* bump allocator */
	uint8_t *buf;
	int allow_map;
	unsigned int map_calls;
};

static inline int flat_range(struct flat_mem *m, uint64_t addr, uint64_t len)
{
	return addr >= m->base && len <= m->size &&
	       addr - m->base <= m->size - len;
}

static inline int flat_read(void *ctx, uint64_t addr, void *dst, uint64_t len)
{
	struct flat_mem *m = ctx;

	if (!flat_range(m, addr, len))
		return -1;
	memcpy(dst, m->buf + (addr - m->base), len);
	return 0;
}

static inline int flat_write(void *ctx, uint64_t addr, const void *src,
			     uint64_t len)
{
	struct flat_mem *m = ctx;

	if (!flat_range(m, addr, len))
		return -1;
	memcpy(m->buf + (addr - m->base), src, len);
	return 0;
}

static inline const void *flat_map(void *ctx, uint64_t addr, uint64_t len)
{
	struct flat_mem *m = ctx;

	m->map_calls++;
	if (!m->allow_map || !flat_range(m, addr, len))
		return NULL;
	return m->buf + (addr - m->base);
}

static const struct inpu_mem_ops flat_ops = {
	.read = flat_read,
	.write = flat_write,
	.map = flat_map,
};

static inline int flat_init(struct flat_mem *m, uint64_t size)
{
	memset(m, 0, sizeof(*m));
	m->base = 0x100000;
	m->size = size;
	m->next = m->base;
	m->allow_map = 1;
	m->buf = calloc(1, size);
	return m->buf ? 0 : -1;
}

static inline void flat_free(struct flat_mem *m)
{
	free(m->buf);
	m->buf = NULL;
}

/* Allocate @len bytes, 4 KiB aligned; returns the device address. */
static inline uint64_t flat_alloc(struct flat_mem *m, uint64_t len)
{
	uint64_t a = (m->next + 4095) & ~(uint64_t)4095;

	if (a + len > m->base + m->size)
		abort();
	m->next = a + len;
	return a;
}

static inline void *flat_ptr(struct flat_mem *m, uint64_t addr)
{
	return m->buf + (addr - m->base);
}

/* A dense tensor at @addr. */
static inline struct inpu_tensor tensor(uint64_t addr, uint8_t dt,
					uint32_t rows, uint32_t cols)
{
	struct inpu_tensor t;

	memset(&t, 0, sizeof(t));
	t.addr = addr;
	t.dtype = dt;
	t.rows = rows;
	t.cols = cols;
	if (dt != INPU_DT_W8_TILED && dt != INPU_DT_W4_TILED)
		t.stride = cols * inpu_dtype_size(dt);
	return t;
}

/* Allocate a dense tensor in @m. */
static inline struct inpu_tensor flat_tensor(struct flat_mem *m, uint8_t dt,
					     uint32_t rows, uint32_t cols)
{
	uint64_t bytes = (uint64_t)rows * cols * inpu_dtype_size(dt);

	return tensor(flat_alloc(m, bytes), dt, rows, cols);
}

/* Stream assembly: a header with n_params declared ranges, then ops. */
struct stream {
	struct inpu_stream_header hdr;
	struct inpu_op ops[64];
};

static inline void stream_init(struct stream *s)
{
	memset(s, 0, sizeof(*s));
	s->hdr.magic = INPU_STREAM_MAGIC;
	s->hdr.version = INPU_STREAM_VERSION;
}

static inline struct inpu_op *stream_add(struct stream *s, uint16_t opcode)
{
	struct inpu_op *op = &s->ops[s->hdr.n_ops++];

	memset(op, 0, sizeof(*op));
	op->opcode = opcode;
	return op;
}

static inline void stream_param(struct stream *s, uint32_t min, uint32_t max)
{
	s->hdr.params[s->hdr.n_params].min = min;
	s->hdr.params[s->hdr.n_params].max = max;
	s->hdr.n_params++;
}

static inline size_t stream_len(const struct stream *s)
{
	return sizeof(s->hdr) + s->hdr.n_ops * sizeof(struct inpu_op);
}

/* Validate against the whole flat memory (read-write), then run. */
static inline int stream_run(struct inpu_engine *e,
			     const struct inpu_tables *tables,
			     struct flat_mem *m, const struct stream *s,
			     const uint32_t *params, struct inpu_run_result *res)
{
	struct inpu_region r = {
		.start = m->base, .len = m->size,
		.flags = INPU_REGION_READ | INPU_REGION_WRITE,
	};
	struct inpu_verror err;
	int ret;

	ret = inpu_validate_stream(s, stream_len(s), &r, 1, &err);
	if (ret) {
		memset(res, 0, sizeof(*res));
		res->status = ret;
		res->fault_op = err.op;
		return ret;
	}
	inpu_engine_run(e, tables, &flat_ops, m, s, stream_len(s), params, res);
	return res->status;
}

#endif /* INPU_ENGINE_UTIL_H */
