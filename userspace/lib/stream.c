// SPDX-License-Identifier: MIT
/*
 * Command-stream builder for the ISA of uapi/inpu/inpu_isa.h.  Builds the
 * bytes only; the kernel (and the engine) validate them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "libinpu.h"

struct inpu_stream {
	struct inpu_stream_header *buf;	/* header followed by ops */
	uint32_t cap;			/* ops the buffer holds */
};

struct inpu_stream *inpu_stream_new(void)
{
	struct inpu_stream *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->cap = 16;
	s->buf = calloc(1, sizeof(*s->buf) + s->cap * sizeof(struct inpu_op));
	if (!s->buf) {
		free(s);
		return NULL;
	}
	s->buf->magic = INPU_STREAM_MAGIC;
	s->buf->version = INPU_STREAM_VERSION;
	return s;
}

void inpu_stream_free(struct inpu_stream *s)
{
	if (!s)
		return;
	free(s->buf);
	free(s);
}

int inpu_stream_param(struct inpu_stream *s, uint32_t min, uint32_t max)
{
	uint16_t n = s->buf->n_params;

	if (n >= INPU_MAX_PARAMS)
		return -ENOSPC;
	if (min > max)
		return -EINVAL;
	s->buf->params[n].min = min;
	s->buf->params[n].max = max;
	s->buf->n_params = n + 1;
	return n + 1;
}

int inpu_stream_add(struct inpu_stream *s, const struct inpu_op *op)
{
	struct inpu_op *ops;
	uint32_t n = s->buf->n_ops;

	if (n >= INPU_MAX_OPS)
		return -ENOSPC;
	if (n == s->cap) {
		uint32_t cap = s->cap * 2;
		struct inpu_stream_header *b;

		b = realloc(s->buf, sizeof(*b) + cap * sizeof(struct inpu_op));
		if (!b)
			return -ENOMEM;
		s->buf = b;
		s->cap = cap;
	}
	ops = (struct inpu_op *)(s->buf + 1);
	ops[n] = *op;
	s->buf->n_ops = n + 1;
	return (int)n;
}

const void *inpu_stream_data(const struct inpu_stream *s, size_t *len)
{
	*len = sizeof(*s->buf) + s->buf->n_ops * sizeof(struct inpu_op);
	return s->buf;
}

struct inpu_tensor inpu_tensor_2d(uint64_t addr, uint8_t dtype, uint32_t rows,
				  uint32_t cols)
{
	struct inpu_tensor t;

	memset(&t, 0, sizeof(t));
	t.addr = addr;
	t.dtype = dtype;
	t.rows = rows;
	t.cols = cols;
	t.stride = cols * inpu_dtype_size(dtype);
	return t;
}
