// SPDX-License-Identifier: MIT
/*
 * The CPU backend: the integer model's step stream run by the engine
 * library (build/engine/libinpu_engine.a) on host memory, with the tables
 * the firmware carries.  Bit-exact with the device, which runs the same
 * engine on the same stream.
 *
 * Two regions in one flat device address space, as on the device: the
 * weights (the .inpu data section, read-only) and the state (activations,
 * KV caches, token id, logits; read-write).
 *
 * Integer only: the per-step path.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inpu_engine.h"
#include "fw_tables.h"
#include "qmodel.h"
#include "qgraph.h"
#include "qcpu.h"
#include "util.h"

/* Device addresses of the two regions (any 4 KiB-aligned bases work). */
#define QCPU_WBASE	0x10000000ull

struct inpu_qcpu {
	const struct inpu_qmodel *m;
	struct inpu_engine *e;
	struct inpu_tables tables;	/* in the firmware image */
	struct inpu_qlayout lay;
	const uint8_t *wbuf;	/* the model's data section, read in place */
	uint8_t *sbuf;
	void *stream;
	size_t stream_len;
	/* The prefill stream last built, for prows rows (0: none). */
	void *pstream;
	size_t pstream_len;
	uint32_t prows;
	struct inpu_run_result res;
};

static int in_region(uint64_t base, uint64_t size, uint64_t addr,
		     uint64_t len)
{
	return addr >= base && len <= size && addr - base <= size - len;
}

static int q_read(void *ctx, uint64_t addr, void *dst, uint64_t len)
{
	struct inpu_qcpu *c = ctx;

	if (in_region(c->lay.wbase, c->lay.wsize, addr, len))
		memcpy(dst, c->wbuf + (addr - c->lay.wbase), len);
	else if (in_region(c->lay.sbase, c->lay.ssize, addr, len))
		memcpy(dst, c->sbuf + (addr - c->lay.sbase), len);
	else
		return -1;
	return 0;
}

static int q_write(void *ctx, uint64_t addr, const void *src, uint64_t len)
{
	struct inpu_qcpu *c = ctx;

	if (!in_region(c->lay.sbase, c->lay.ssize, addr, len))
		return -1;
	memcpy(c->sbuf + (addr - c->lay.sbase), src, len);
	return 0;
}

static const void *q_map(void *ctx, uint64_t addr, uint64_t len)
{
	struct inpu_qcpu *c = ctx;

	if (in_region(c->lay.wbase, c->lay.wsize, addr, len))
		return c->wbuf + (addr - c->lay.wbase);
	return NULL;
}

static const struct inpu_mem_ops qcpu_mem = {
	.read = q_read,
	.write = q_write,
	.map = q_map,
};

void inpu_qcpu_free(struct inpu_qcpu *c)
{
	if (!c)
		return;
	inpu_engine_free(c->e);
	free(c->sbuf);
	free(c->stream);
	free(c->pstream);
	free(c);
}

int inpu_qcpu_new(const struct inpu_qmodel *m, int level,
		  struct inpu_qcpu **out, char *err, size_t errlen)
{
	const struct inpu_qconfig *cfg = &m->cfg;
	struct inpu_region regions[2];
	struct inpu_verror verr;
	struct inpu_qcpu *c;
	uint64_t sbase;
	int ret;

	*out = NULL;
	ret = inpu_qmodel_check(m, err, errlen);
	if (ret)
		return ret;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->m = m;
	c->wbuf = m->data;
	c->e = inpu_engine_new(level < 0 ? INPU_ISA_AVX512_VNNI :
			       (enum inpu_isa_level)level, NULL);
	if (!c->e) {
		inpu_qcpu_free(c);
		inpu_model_seterr(err, errlen, "out of memory for the engine");
		return -ENOMEM;
	}
	ret = inpu_rt_fw_tables(&c->tables, err, errlen);
	if (ret) {
		inpu_qcpu_free(c);
		return ret;
	}
	if (c->tables.exp_len != cfg->exp_len ||
	    c->tables.exp_frac != cfg->exp_frac ||
	    c->tables.silu_len != cfg->silu_len ||
	    c->tables.silu_zero != cfg->silu_zero ||
	    c->tables.silu_in_frac != cfg->silu_in_frac ||
	    c->tables.silu_out_frac != cfg->silu_out_frac) {
		inpu_model_seterr(err, errlen,
				  "the model was built for other engine tables (exp %u/%u, silu %u/%u/%u/%u) than the firmware's",
				  cfg->exp_len, cfg->exp_frac, cfg->silu_len,
				  cfg->silu_zero, cfg->silu_in_frac,
				  cfg->silu_out_frac);
		inpu_qcpu_free(c);
		return -ENOTSUP;
	}
	/* The state region right after the weights, with a gap. */
	sbase = (QCPU_WBASE + m->data_size + (1u << 21)) & ~(uint64_t)0xfffff;
	ret = inpu_qgraph_layout(m, QCPU_WBASE, sbase, &c->lay);
	if (!ret)
		ret = inpu_qgraph_build(m, &c->lay, &c->stream, &c->stream_len,
					err, errlen);
	if (ret) {
		inpu_qcpu_free(c);
		return ret;
	}
	c->sbuf = calloc(1, c->lay.ssize);
	if (!c->sbuf) {
		inpu_qcpu_free(c);
		inpu_model_seterr(err, errlen, "out of memory for %llu bytes of state",
				  (unsigned long long)c->lay.ssize);
		return -ENOMEM;
	}
	memset(regions, 0, sizeof(regions));
	regions[0].start = c->lay.wbase;
	regions[0].len = c->lay.wsize;
	regions[0].flags = INPU_REGION_READ;
	regions[1].start = c->lay.sbase;
	regions[1].len = c->lay.ssize;
	regions[1].flags = INPU_REGION_READ | INPU_REGION_WRITE;
	ret = inpu_validate_stream(c->stream, c->stream_len, regions, 2, &verr);
	if (ret) {
		inpu_model_seterr(err, errlen,
				  "the step stream does not validate: %s at op %u, slot %d",
				  inpu_status_name(ret), verr.op, verr.slot);
		inpu_qcpu_free(c);
		return -EINVAL;
	}
	*out = c;
	return 0;
}

const int32_t *inpu_qcpu_step(struct inpu_qcpu *c, int token, int pos)
{
	const struct inpu_qconfig *cfg = &c->m->cfg;
	uint32_t params[1];
	int32_t id = token;

	if (token < 0 || (uint32_t)token >= cfg->vocab_size || pos < 0 ||
	    (uint32_t)pos >= cfg->seq_len) {
		c->res.status = INPU_ERR_INDEX;
		return NULL;
	}
	memcpy(c->sbuf + c->lay.ids, &id, sizeof(id));
	params[0] = (uint32_t)pos;
	inpu_engine_run(c->e, &c->tables, &qcpu_mem, c, c->stream,
			c->stream_len, params, &c->res);
	if (c->res.status)
		return NULL;
	return (const int32_t *)(c->sbuf + c->lay.logits);
}

const int32_t *inpu_qcpu_prefill(struct inpu_qcpu *c, const int *tokens,
				 int n, int pos)
{
	const struct inpu_qconfig *cfg = &c->m->cfg;
	uint32_t params[1];

	if (n < 1 || n > INPU_QGRAPH_MAX_ROWS || pos < 0 ||
	    (uint64_t)pos + (uint64_t)n > cfg->seq_len) {
		c->res.status = INPU_ERR_INDEX;
		return NULL;
	}
	if (n == 1)
		return inpu_qcpu_step(c, tokens[0], pos);
	for (int i = 0; i < n; i++) {
		int32_t id = tokens[i];

		if (tokens[i] < 0 || (uint32_t)tokens[i] >= cfg->vocab_size) {
			c->res.status = INPU_ERR_INDEX;
			return NULL;
		}
		memcpy(c->sbuf + c->lay.ids + 4 * (uint64_t)i, &id, sizeof(id));
	}
	if (c->prows != (uint32_t)n) {
		free(c->pstream);
		c->pstream = NULL;
		c->prows = 0;
		if (inpu_qgraph_build_rows(c->m, &c->lay, (uint32_t)n,
					   &c->pstream, &c->pstream_len, NULL, 0)) {
			c->res.status = INPU_ERR_NOMEM;
			return NULL;
		}
		c->prows = (uint32_t)n;
	}
	params[0] = (uint32_t)pos;
	inpu_engine_run(c->e, &c->tables, &qcpu_mem, c, c->pstream,
			c->pstream_len, params, &c->res);
	if (c->res.status)
		return NULL;
	return (const int32_t *)(c->sbuf + c->lay.logits);
}

int inpu_qcpu_next(const struct inpu_qcpu *c)
{
	int32_t v;

	memcpy(&v, c->sbuf + c->lay.next, sizeof(v));
	return v;
}

int inpu_qcpu_status(const struct inpu_qcpu *c)
{
	return c->res.status;
}

uint64_t inpu_qcpu_cycles(const struct inpu_qcpu *c)
{
	return c->res.cost.cycles;
}

uint64_t inpu_qcpu_dram_bytes(const struct inpu_qcpu *c)
{
	return c->res.cost.dram_bytes;
}

const void *inpu_qcpu_stream(const struct inpu_qcpu *c, size_t *len)
{
	*len = c->stream_len;
	return c->stream;
}

const struct inpu_qlayout *inpu_qcpu_layout(const struct inpu_qcpu *c)
{
	return &c->lay;
}

void *inpu_qcpu_state(struct inpu_qcpu *c, uint64_t offset)
{
	return offset < c->lay.ssize ? c->sbuf + offset : NULL;
}
