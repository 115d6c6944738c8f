// SPDX-License-Identifier: MIT
/*
 * The SAMPLE op on the host (qdev.h, inpu_qsampler_*): a one-op stream run
 * by the engine library over the caller's logits, for the cpu backend of
 * 'inpu run'.  The device runs the same op at the end of its step stream,
 * with the same tables and the same PRNG, so both pick the same tokens.
 *
 * Integer only.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "inpu_engine.h"
#include "fw_tables.h"
#include "qmodel.h"
#include "qgraph.h"
#include "qsample.h"
#include "util.h"

#define QS_LOGITS	0x1000ull	/* device addresses of the regions */
#define QS_STATE	0x400000ull	/* PRNG state (8 bytes), then y (4) */

struct inpu_qsampler {
	struct inpu_engine *e;
	struct inpu_tables tables;	/* in the firmware image */
	uint64_t logits_len;
	const int32_t *logits;		/* this call's */
	uint8_t state[16];
	void *stream;			/* one SAMPLE op (qgraph.c) */
	size_t stream_len;
	struct inpu_run_result res;
};

static int in_region(uint64_t base, uint64_t size, uint64_t addr, uint64_t len)
{
	return addr >= base && len <= size && addr - base <= size - len;
}

static int qs_read(void *ctx, uint64_t addr, void *dst, uint64_t len)
{
	struct inpu_qsampler *q = ctx;

	if (in_region(QS_LOGITS, q->logits_len, addr, len))
		memcpy(dst, (const uint8_t *)q->logits + (addr - QS_LOGITS), len);
	else if (in_region(QS_STATE, sizeof(q->state), addr, len))
		memcpy(dst, q->state + (addr - QS_STATE), len);
	else
		return -1;
	return 0;
}

static int qs_write(void *ctx, uint64_t addr, const void *src, uint64_t len)
{
	struct inpu_qsampler *q = ctx;

	if (!in_region(QS_STATE, sizeof(q->state), addr, len))
		return -1;
	memcpy(q->state + (addr - QS_STATE), src, len);
	return 0;
}

static const void *qs_map(void *ctx, uint64_t addr, uint64_t len)
{
	(void)ctx;
	(void)addr;
	(void)len;
	return NULL;
}

static const struct inpu_mem_ops qs_mem = {
	.read = qs_read,
	.write = qs_write,
	.map = qs_map,
};

void inpu_qsampler_free(struct inpu_qsampler *q)
{
	if (!q)
		return;
	inpu_engine_free(q->e);
	free(q->stream);
	free(q);
}

int inpu_qsampler_new(const struct inpu_qmodel *m,
		      const struct inpu_qsample *s, struct inpu_qsampler **out,
		      char *err, size_t errlen)
{
	struct inpu_region regions[2];
	struct inpu_verror verr;
	struct inpu_qsampler *q;
	int ret;

	*out = NULL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->e = inpu_engine_new(INPU_ISA_AVX512_VNNI, NULL);
	if (!q->e) {
		inpu_qsampler_free(q);
		inpu_model_seterr(err, errlen, "out of memory for the engine");
		return -ENOMEM;
	}
	ret = inpu_rt_fw_tables(&q->tables, err, errlen);
	if (ret) {
		inpu_qsampler_free(q);
		return ret;
	}
	q->logits_len = (uint64_t)m->cfg.vocab_size * 4;
	memcpy(q->state, &s->seed, sizeof(s->seed));
	if (inpu_qgraph_build_sample(m->cfg.vocab_size, QS_LOGITS, QS_STATE,
				     QS_STATE + 8, s, &q->stream,
				     &q->stream_len)) {
		inpu_qsampler_free(q);
		inpu_model_seterr(err, errlen, "out of memory for the SAMPLE op");
		return -ENOMEM;
	}
	memset(regions, 0, sizeof(regions));
	regions[0].start = QS_LOGITS;
	regions[0].len = q->logits_len;
	regions[0].flags = INPU_REGION_READ;
	regions[1].start = QS_STATE;
	regions[1].len = sizeof(q->state);
	regions[1].flags = INPU_REGION_READ | INPU_REGION_WRITE;
	ret = inpu_validate_stream(q->stream, q->stream_len, regions, 2, &verr);
	if (ret) {
		inpu_model_seterr(err, errlen,
				  "the SAMPLE op does not validate: %s (slot %d)",
				  inpu_status_name(ret), verr.slot);
		inpu_qsampler_free(q);
		return -EINVAL;
	}
	*out = q;
	return 0;
}

int inpu_qsampler_run(struct inpu_qsampler *q, const int32_t *logits)
{
	int32_t y;

	q->logits = logits;
	inpu_engine_run(q->e, &q->tables, &qs_mem, q, q->stream, q->stream_len,
			NULL, &q->res);
	if (q->res.status)
		return -EIO;
	memcpy(&y, q->state + 8, sizeof(y));
	return y;
}
