// SPDX-License-Identifier: MIT
/*
 * The device backend: the integer model's step stream run by an INPU
 * device through /dev/accel (qdev.h).  Bit-exact with the CPU backend
 * (qcpu.c), which runs the same stream through the same engine.
 *
 * Integer only: the per-token path (tests/host/check_no_float.sh).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "libinpu.h"
#include "qmodel.h"
#include "qgraph.h"
#include "qdev.h"
#include "util.h"

#define QDEV_WAIT_NS	(60ll * 1000000000ll)

/*
 * After the plan's state region (lay.ssize bytes) the state BO has a few
 * more bytes of our own: the SAMPLE PRNG state and the history of chosen
 * tokens, one INT32 per position, which the step's last op fills.
 */
#define QDEV_X_PRNG	0
#define QDEV_X_HIST	64

struct qjob {
	uint64_t id;
	int pos, n;		/* positions pos .. pos + n - 1 */
};

struct inpu_qdev {
	const struct inpu_qmodel *m;
	struct inpu_dev *dev;
	struct inpu_bo *wbo, *sbo;
	uint8_t *sptr;			/* the state BO, mapped */
	struct inpu_qlayout lay;
	uint64_t xoff;			/* our extra bytes in the state BO */
	uint32_t cmdbuf;
	uint32_t cmdbuf_k;		/* k steps per job (0: none) */
	/* Prefill command buffers by rows, made when first needed (0: none). */
	uint32_t cmdbuf_rows[INPU_QGRAPH_MAX_ROWS + 1];
	struct inpu_qsample samp;
	int sampled;
	int k;
	int status, error;
	int last_pos;			/* of the last retired step */
	uint64_t cycles;
	struct inpu_qdev_times t;
	struct qjob q[INPU_QDEV_MAX_QUEUE];	/* queued steps, a FIFO */
	unsigned int q_head, q_len;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void inpu_qdev_free(struct inpu_qdev *d)
{
	if (!d)
		return;
	while (d->q_len)		/* let queued steps finish first */
		inpu_qdev_retire(d, NULL);
	if (d->cmdbuf)
		inpu_cmdbuf_destroy(d->dev, d->cmdbuf);
	if (d->cmdbuf_k)
		inpu_cmdbuf_destroy(d->dev, d->cmdbuf_k);
	for (int i = 0; i <= INPU_QGRAPH_MAX_ROWS; i++)
		if (d->cmdbuf_rows[i])
			inpu_cmdbuf_destroy(d->dev, d->cmdbuf_rows[i]);
	inpu_bo_free(d->sbo);
	inpu_bo_free(d->wbo);
	inpu_dev_close(d->dev);
	free(d);
}

int inpu_qdev_new(const struct inpu_qmodel *m, const char *device,
		  struct inpu_qdev **out, char *err, size_t errlen)
{
	return inpu_qdev_new_sampled(m, device, NULL, out, err, errlen);
}

/* The chained-step tail of the streams: see inpu_qgraph_tail. */
static void qdev_tail(const struct inpu_qdev *d, struct inpu_qgraph_tail *t)
{
	t->samp = d->sampled ? &d->samp : NULL;
	t->prng = d->lay.sbase + d->xoff + QDEV_X_PRNG;
	t->hist = d->lay.sbase + d->xoff + QDEV_X_HIST;
}

static void qdev_refs(const struct inpu_qdev *d, struct drm_inpu_bo_ref refs[2])
{
	refs[0].handle = inpu_bo_handle(d->wbo);
	refs[0].flags = DRM_INPU_REF_READ;
	refs[1].handle = inpu_bo_handle(d->sbo);
	refs[1].flags = DRM_INPU_REF_READ | DRM_INPU_REF_WRITE;
}

/*
 * The weights BO (filled once) and the state BO: the plan's state region
 * and, after it, our extra bytes (PRNG state seeded from @s, history).
 */
static int qdev_alloc_bos(struct inpu_qdev *d, const struct inpu_qsample *s,
			  const char *where, char *err, size_t errlen)
{
	const struct inpu_qmodel *m = d->m;
	struct inpu_qlayout lay;
	int ret;

	/* The state size does not depend on the bases: lay out once to learn it. */
	ret = inpu_qgraph_layout(m, 0, 0, &lay);
	if (ret) {
		inpu_model_seterr(err, errlen, "%s: cannot lay out the model", where);
		return ret;
	}
	ret = inpu_bo_alloc(d->dev, m->data_size, DRM_INPU_BO_DEVICE_READONLY,
			    &d->wbo);
	if (ret) {
		inpu_model_seterr(err, errlen,
				  "%s: cannot allocate %llu bytes of weights: %s",
				  where, (unsigned long long)m->data_size,
				  inpu_strerror(ret));
		return ret;
	}
	d->xoff = lay.ssize;
	ret = inpu_bo_alloc(d->dev, lay.ssize + QDEV_X_HIST +
			    4 * (uint64_t)m->cfg.seq_len, 0, &d->sbo);
	if (ret) {
		inpu_model_seterr(err, errlen,
				  "%s: cannot allocate %llu bytes of state: %s",
				  where, (unsigned long long)lay.ssize,
				  inpu_strerror(ret));
		return ret;
	}
	memcpy(inpu_bo_ptr(d->wbo), m->data, m->data_size);
	d->sptr = inpu_bo_ptr(d->sbo);
	memset(d->sptr, 0, inpu_bo_size(d->sbo));
	if (s)
		memcpy(d->sptr + d->xoff + QDEV_X_PRNG, &s->seed, sizeof(s->seed));
	return inpu_qgraph_layout(m, inpu_bo_dva(d->wbo), inpu_bo_dva(d->sbo),
				  &d->lay);
}

/* Several steps per job, if a stream has room for them (else one). */
static void qdev_multi_cmdbuf(struct inpu_qdev *d, const void *stream)
{
	uint32_t n1 = ((const struct inpu_stream_header *)stream)->n_ops;
	struct drm_inpu_bo_ref refs[2];
	int k = INPU_QDEV_STEPS_PER_JOB;
	size_t mlen;
	void *ms;

	while (k > 1 && (uint32_t)k * n1 > INPU_MAX_OPS)
		k--;
	if ((uint32_t)k > d->m->cfg.seq_len)
		k = (int)d->m->cfg.seq_len;
	qdev_refs(d, refs);
	ms = k > 1 ? inpu_qgraph_repeat(stream, k, d->m->cfg.seq_len, &mlen) :
		     NULL;
	if (ms && !inpu_cmdbuf_create(d->dev, ms, mlen, refs, 2, &d->cmdbuf_k,
				      NULL))
		d->k = k;
	free(ms);
	if (!d->k)
		d->k = 1;
}

/* The step's command buffer, validated once for every position. */
static int qdev_step_cmdbuf(struct inpu_qdev *d, const char *where, char *err,
			    size_t errlen)
{
	struct drm_inpu_bo_ref refs[2];
	struct inpu_qgraph_tail tail;
	struct drm_inpu_verror verr;
	size_t stream_len;
	void *stream;
	int ret;

	qdev_tail(d, &tail);
	ret = inpu_qgraph_build_tail(d->m, &d->lay, 1, &tail, &stream,
				     &stream_len, err, errlen);
	if (ret)
		return ret;
	qdev_refs(d, refs);
	memset(&verr, 0, sizeof(verr));
	ret = inpu_cmdbuf_create(d->dev, stream, stream_len, refs, 2,
				 &d->cmdbuf, &verr);
	if (!ret)
		qdev_multi_cmdbuf(d, stream);
	free(stream);
	if (ret == -EINVAL || ret == -EACCES)
		inpu_model_seterr(err, errlen,
				  "%s: the driver rejected the step stream: %s at op %u, slot %d",
				  where, inpu_job_status_name(verr.status),
				  verr.op, verr.slot);
	else if (ret)
		inpu_model_seterr(err, errlen,
				  "%s: cannot create the command buffer: %s",
				  where, inpu_strerror(ret));
	return ret;
}

int inpu_qdev_new_sampled(const struct inpu_qmodel *m, const char *device,
			  const struct inpu_qsample *s, struct inpu_qdev **out,
			  char *err, size_t errlen)
{
	const char *where = device ? device : INPU_ACCEL_DIR;
	struct inpu_qdev *d;
	int ret;

	*out = NULL;
	ret = inpu_qmodel_check(m, err, errlen);
	if (ret)
		return ret;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->m = m;
	if (s) {
		d->samp = *s;
		d->sampled = 1;
	}
	ret = inpu_dev_open(device, &d->dev);
	if (ret) {
		inpu_model_seterr(err, errlen, "%s: %s", where, inpu_strerror(ret));
		goto fail;
	}
	where = inpu_dev_path(d->dev);
	ret = qdev_alloc_bos(d, s, where, err, errlen);
	if (!ret)
		ret = qdev_step_cmdbuf(d, where, err, errlen);
	if (ret)
		goto fail;
	*out = d;
	return 0;

fail:
	inpu_qdev_free(d);
	return ret;
}

int inpu_qdev_steps_per_job(const struct inpu_qdev *d)
{
	return d->k;
}

/* Submit @cb with @n_params parameters as the job of positions pos .. pos + n - 1. */
static int qdev_submit(struct inpu_qdev *d, uint32_t cb, const uint32_t *params,
		       uint32_t n_params, int pos, int n)
{
	uint64_t job, t0;
	int ret;

	if (d->q_len == INPU_QDEV_MAX_QUEUE)
		return -EBUSY;
	t0 = now_ns();
	ret = inpu_submit_cmdbuf(d->dev, cb, params, n_params, NULL, 0, 0, &job);
	d->t.submit_ns += now_ns() - t0;
	if (ret) {
		d->error = ret;
		d->status = DRM_INPU_JOB_ABORTED;
		return ret;
	}
	d->q[(d->q_head + d->q_len) % INPU_QDEV_MAX_QUEUE] = (struct qjob){ job, pos, n };
	d->q_len++;
	return 0;
}

int inpu_qdev_queue_n(struct inpu_qdev *d, int pos, int n)
{
	uint32_t params[INPU_MAX_PARAMS];

	if (pos < 0 || (n != 1 && n != d->k) ||
	    (uint64_t)pos + (uint64_t)n > d->m->cfg.seq_len)
		return -EINVAL;
	for (int i = 0; i < n; i++)
		params[i] = (uint32_t)(pos + i);
	return qdev_submit(d, n > 1 ? d->cmdbuf_k : d->cmdbuf, params,
			   (uint32_t)n, pos, n);
}

int inpu_qdev_queue(struct inpu_qdev *d, int pos)
{
	return inpu_qdev_queue_n(d, pos, 1);
}

int inpu_qdev_retire_n(struct inpu_qdev *d, int *pos, int *n)
{
	struct qjob j;
	struct drm_inpu_wait res;
	uint64_t t0;
	int ret;

	if (!d->q_len)
		return -ENOENT;
	j = d->q[d->q_head];
	d->q_head = (d->q_head + 1) % INPU_QDEV_MAX_QUEUE;
	d->q_len--;
	if (pos)
		*pos = j.pos;
	if (n)
		*n = j.n;
	t0 = now_ns();
	ret = inpu_wait(d->dev, j.id, QDEV_WAIT_NS, &res);
	d->t.wait_ns += now_ns() - t0;
	d->t.steps += (uint64_t)j.n;
	d->t.jobs++;
	d->error = 0;
	d->cycles = 0;
	if (ret) {
		d->error = ret;
		d->status = ret == -ETIME ? DRM_INPU_JOB_TIMEOUT : (int)res.status;
		if (!d->status)
			d->status = DRM_INPU_JOB_ABORTED;
		return ret;
	}
	d->status = (int)res.status;
	d->cycles = res.cycles;
	d->t.cycles += res.cycles;
	if (d->status)
		return -EIO;
	d->last_pos = j.pos + j.n - 1;
	return 0;
}

int inpu_qdev_token(const struct inpu_qdev *d, int pos)
{
	int32_t tok;

	if (pos < 0 || (uint32_t)pos >= d->m->cfg.seq_len)
		return -EINVAL;
	memcpy(&tok, d->sptr + d->xoff + QDEV_X_HIST + 4 * (uint64_t)pos,
	       sizeof(tok));
	return tok;
}

int inpu_qdev_retire(struct inpu_qdev *d, int *pos)
{
	int ret = inpu_qdev_retire_n(d, pos, NULL);

	return ret ? ret : inpu_qdev_token(d, d->last_pos);
}

void inpu_qdev_set_token(struct inpu_qdev *d, int token)
{
	int32_t id = token;

	memcpy(d->sptr + d->lay.ids, &id, sizeof(id));
}

const int32_t *inpu_qdev_step(struct inpu_qdev *d, int token, int pos)
{
	const struct inpu_qconfig *cfg = &d->m->cfg;

	d->error = 0;
	d->cycles = 0;
	if (token < 0 || (uint32_t)token >= cfg->vocab_size || pos < 0 ||
	    (uint32_t)pos >= cfg->seq_len || d->q_len) {
		d->status = INPU_ERR_INDEX;
		return NULL;
	}
	inpu_qdev_set_token(d, token);
	if (inpu_qdev_queue(d, pos) || inpu_qdev_retire(d, NULL) < 0)
		return NULL;
	return (const int32_t *)(d->sptr + d->lay.logits);
}

/* The prefill command buffer for @rows rows, made on first use. */
static int prefill_cmdbuf(struct inpu_qdev *d, uint32_t rows, uint32_t *cb)
{
	struct drm_inpu_bo_ref refs[2];
	struct inpu_qgraph_tail tail;
	size_t len;
	void *stream = NULL;
	int ret;

	if (d->cmdbuf_rows[rows]) {
		*cb = d->cmdbuf_rows[rows];
		return 0;
	}
	qdev_tail(d, &tail);
	ret = inpu_qgraph_build_tail(d->m, &d->lay, rows, &tail, &stream, &len,
				     NULL, 0);
	if (!ret) {
		qdev_refs(d, refs);
		ret = inpu_cmdbuf_create(d->dev, stream, len, refs, 2,
					 &d->cmdbuf_rows[rows], NULL);
	}
	free(stream);
	if (!ret)
		*cb = d->cmdbuf_rows[rows];
	return ret;
}

int inpu_qdev_prefill_prepare(struct inpu_qdev *d, int n)
{
	uint32_t cb;

	if (n < 2 || n > INPU_QGRAPH_MAX_ROWS)
		return n == 1 ? 0 : -EINVAL;
	return prefill_cmdbuf(d, (uint32_t)n, &cb);
}

const int32_t *inpu_qdev_prefill(struct inpu_qdev *d, const int *tokens,
				 int n, int pos)
{
	const struct inpu_qconfig *cfg = &d->m->cfg;
	uint32_t cb, param;
	int ret;

	d->error = 0;
	d->cycles = 0;
	if (n < 1 || n > INPU_QGRAPH_MAX_ROWS || pos < 0 ||
	    (uint64_t)pos + (uint64_t)n > cfg->seq_len || d->q_len) {
		d->status = INPU_ERR_INDEX;
		return NULL;
	}
	if (n == 1)
		return inpu_qdev_step(d, tokens[0], pos);
	for (int i = 0; i < n; i++) {
		int32_t id = tokens[i];

		if (tokens[i] < 0 || (uint32_t)tokens[i] >= cfg->vocab_size) {
			d->status = INPU_ERR_INDEX;
			return NULL;
		}
		memcpy(d->sptr + d->lay.ids + 4 * (uint64_t)i, &id, sizeof(id));
	}
	param = (uint32_t)pos;
	ret = prefill_cmdbuf(d, (uint32_t)n, &cb);
	if (ret) {
		d->error = ret;
		d->status = DRM_INPU_JOB_ABORTED;
		return NULL;
	}
	if (qdev_submit(d, cb, &param, 1, pos, n) ||
	    inpu_qdev_retire_n(d, NULL, NULL))
		return NULL;
	return (const int32_t *)(d->sptr + d->lay.logits);
}

int inpu_qdev_next(const struct inpu_qdev *d)
{
	int32_t v;

	memcpy(&v, d->sptr + d->xoff + QDEV_X_HIST + 4 * (uint64_t)d->last_pos,
	       sizeof(v));
	return v;
}

int inpu_qdev_status(const struct inpu_qdev *d)
{
	return d->status;
}

int inpu_qdev_error(const struct inpu_qdev *d)
{
	return d->error;
}

uint64_t inpu_qdev_cycles(const struct inpu_qdev *d)
{
	return d->cycles;
}

const char *inpu_qdev_path(const struct inpu_qdev *d)
{
	return inpu_dev_path(d->dev);
}

void inpu_qdev_times(const struct inpu_qdev *d, struct inpu_qdev_times *t)
{
	*t = d->t;
}
