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

static struct inpu_tensor ten1(uint64_t addr, uint8_t dt, uint32_t size)
{
	struct inpu_tensor t;

	memset(&t, 0, sizeof(t));
	t.addr = addr;
	t.dtype = dt;
	t.rows = 1;
	t.cols = 1;
	t.stride = size;
	return t;
}

/*
 * The step stream as the device runs it: its last op (ARGMAX, or SAMPLE
 * with @s) writes the chosen token into ids, the input of the next step's
 * EMBED, and one COPY appends it to the history at row pos.  So a step
 * needs nothing from the host but its position: steps can be queued back
 * to back (inpu_qdev_queue) and the host reads the tokens afterwards.
 * *stream is reallocated to hold the extra op.
 */
static int patch_stream(void **stream, size_t *len,
			const struct inpu_qlayout *lay, uint64_t xaddr,
			const struct inpu_qsample *s, uint32_t rows)
{
	struct inpu_stream_header *hdr;
	struct inpu_op *op;
	struct inpu_tensor x, ids;
	void *p;

	p = realloc(*stream, *len + sizeof(struct inpu_op));
	if (!p)
		return -ENOMEM;
	*stream = p;
	hdr = p;
	op = (struct inpu_op *)(hdr + 1) + hdr->n_ops - 1;
	if (op->opcode != INPU_OP_ARGMAX)
		return -EINVAL;
	x = op->u.argmax.x;
	ids = ten1(lay->sbase + lay->ids, INPU_DT_INT32, 4);
	memset(op, 0, sizeof(*op));
	if (s) {
		op->opcode = INPU_OP_SAMPLE;
		op->u.sample.x = x;
		op->u.sample.state = ten1(xaddr + QDEV_X_PRNG, INPU_DT_UINT64, 8);
		op->u.sample.y = ids;
		op->u.sample.temp_mult = s->temp_mult;
		op->u.sample.temp_shift = s->temp_shift;
		op->u.sample.top_p = s->top_p;
	} else {
		op->opcode = INPU_OP_ARGMAX;
		op->u.argmax.x = x;
		op->u.argmax.y = ids;
	}
	op++;
	memset(op, 0, sizeof(*op));
	op->opcode = INPU_OP_COPY;
	op->u.copy.src = ids;
	/* Row pos + rows - 1 of the history: the last row's token. */
	op->u.copy.dst = ten1(xaddr + QDEV_X_HIST + 4 * (uint64_t)(rows - 1),
			      INPU_DT_INT32, 4);
	op->u.copy.dst.dyn_param = 1;
	op->u.copy.dst.dyn_mul = 4;
	hdr->n_ops++;
	*len += sizeof(struct inpu_op);
	return 0;
}

/* Number of operand slots of each op (they come first in its struct). */
static unsigned int n_slots(uint16_t opcode)
{
	switch (opcode) {
	case INPU_OP_MATMUL:
		return 6;
	case INPU_OP_ATTENTION:
		return 4;
	case INPU_OP_RMSNORM:
	case INPU_OP_ROPE:
	case INPU_OP_SWIGLU:
	case INPU_OP_ADD:
	case INPU_OP_EMBED:
	case INPU_OP_SAMPLE:
		return 3;
	case INPU_OP_COPY:
	case INPU_OP_ARGMAX:
	case INPU_OP_FWHT:
		return 2;
	default:
		return 0;
	}
}

/*
 * @k steps in one stream: the one-step stream @one repeated, copy i with
 * its position parameter (1) renamed to parameter i + 1, which the host
 * sets to pos + i.  Each copy reads the token the previous one chose.
 */
static void *multi_stream(const void *one, size_t one_len, int k,
			  uint32_t seq_len, size_t *len)
{
	const struct inpu_stream_header *h1 = one;
	const struct inpu_op *o1 = (const struct inpu_op *)(h1 + 1);
	struct inpu_stream_header *h;
	struct inpu_op *o;
	uint32_t n = h1->n_ops;

	(void)one_len;
	*len = sizeof(*h) + (size_t)k * n * sizeof(*o);
	h = calloc(1, *len);
	if (!h)
		return NULL;
	*h = *h1;
	h->n_params = (uint16_t)k;
	for (int i = 0; i < k; i++) {
		h->params[i].min = 0;
		h->params[i].max = seq_len - 1;
	}
	h->n_ops = (uint32_t)k * n;
	o = (struct inpu_op *)(h + 1);
	for (int i = 0; i < k; i++) {
		for (uint32_t j = 0; j < n; j++) {
			struct inpu_op *op = &o[(uint32_t)i * n + j];
			struct inpu_tensor *t = (struct inpu_tensor *)&op->u;

			*op = o1[j];
			for (unsigned int sl = 0; sl < n_slots(op->opcode); sl++)
				if (t[sl].dyn_param == 1)
					t[sl].dyn_param = (uint8_t)(i + 1);
			if (op->opcode == INPU_OP_ATTENTION &&
			    op->u.attention.pos_param == 1)
				op->u.attention.pos_param = (uint8_t)(i + 1);
		}
	}
	return h;
}

int inpu_qdev_new(const struct inpu_qmodel *m, const char *device,
		  struct inpu_qdev **out, char *err, size_t errlen)
{
	return inpu_qdev_new_sampled(m, device, NULL, out, err, errlen);
}

int inpu_qdev_new_sampled(const struct inpu_qmodel *m, const char *device,
			  const struct inpu_qsample *s, struct inpu_qdev **out,
			  char *err, size_t errlen)
{
	const char *where = device ? device : INPU_ACCEL_DIR;
	struct drm_inpu_bo_ref refs[2];
	struct drm_inpu_verror verr;
	struct inpu_qlayout lay;
	struct inpu_qdev *d;
	size_t stream_len;
	void *stream = NULL;
	int ret;

	*out = NULL;
	ret = inpu_qmodel_check(m, err, errlen);
	if (ret)
		return ret;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->m = m;
	ret = inpu_dev_open(device, &d->dev);
	if (ret) {
		inpu_model_seterr(err, errlen, "%s: %s", where, inpu_strerror(ret));
		goto fail;
	}
	where = inpu_dev_path(d->dev);
	/* The state size does not depend on the bases: lay out once to learn it. */
	ret = inpu_qgraph_layout(m, 0, 0, &lay);
	if (ret) {
		inpu_model_seterr(err, errlen, "%s: cannot lay out the model", where);
		goto fail;
	}
	ret = inpu_bo_alloc(d->dev, m->data_size, DRM_INPU_BO_DEVICE_READONLY,
			    &d->wbo);
	if (ret) {
		inpu_model_seterr(err, errlen,
				  "%s: cannot allocate %llu bytes of weights: %s",
				  where, (unsigned long long)m->data_size,
				  inpu_strerror(ret));
		goto fail;
	}
	/* Our extra bytes after the plan's: PRNG state and token history. */
	d->xoff = lay.ssize;
	ret = inpu_bo_alloc(d->dev, lay.ssize + QDEV_X_HIST +
			    4 * (uint64_t)m->cfg.seq_len, 0, &d->sbo);
	if (ret) {
		inpu_model_seterr(err, errlen,
				  "%s: cannot allocate %llu bytes of state: %s",
				  where, (unsigned long long)lay.ssize,
				  inpu_strerror(ret));
		goto fail;
	}
	/* The weights, once. */
	memcpy(inpu_bo_ptr(d->wbo), m->data, m->data_size);
	d->sptr = inpu_bo_ptr(d->sbo);
	memset(d->sptr, 0, inpu_bo_size(d->sbo));
	if (s)
		memcpy(d->sptr + d->xoff + QDEV_X_PRNG, &s->seed, sizeof(s->seed));

	ret = inpu_qgraph_layout(m, inpu_bo_dva(d->wbo), inpu_bo_dva(d->sbo),
				 &d->lay);
	if (!ret)
		ret = inpu_qgraph_build(m, &d->lay, &stream, &stream_len, err,
					errlen);
	if (s) {
		d->samp = *s;
		d->sampled = 1;
	}
	if (!ret && patch_stream(&stream, &stream_len, &d->lay,
				 d->lay.sbase + d->xoff, s, 1)) {
		inpu_model_seterr(err, errlen, "%s: the step stream does not end with ARGMAX",
				  where);
		ret = -EINVAL;
	}
	if (ret) {
		free(stream);
		goto fail;
	}
	refs[0].handle = inpu_bo_handle(d->wbo);
	refs[0].flags = DRM_INPU_REF_READ;
	refs[1].handle = inpu_bo_handle(d->sbo);
	refs[1].flags = DRM_INPU_REF_READ | DRM_INPU_REF_WRITE;
	memset(&verr, 0, sizeof(verr));
	ret = inpu_cmdbuf_create(d->dev, stream, stream_len, refs, 2,
				 &d->cmdbuf, &verr);
	if (!ret) {
		/* Several steps per job, if the stream has room (else one). */
		uint32_t n1 = ((struct inpu_stream_header *)stream)->n_ops;
		int k = INPU_QDEV_STEPS_PER_JOB;
		size_t mlen;
		void *ms;

		while (k > 1 && (uint32_t)k * n1 > INPU_MAX_OPS)
			k--;
		if ((uint32_t)k > m->cfg.seq_len)
			k = (int)m->cfg.seq_len;
		ms = k > 1 ? multi_stream(stream, stream_len, k, m->cfg.seq_len,
					  &mlen) : NULL;
		if (ms && !inpu_cmdbuf_create(d->dev, ms, mlen, refs, 2,
					      &d->cmdbuf_k, NULL))
			d->k = k;
		free(ms);
		if (!d->k)
			d->k = 1;
	}
	free(stream);
	if (ret == -EINVAL || ret == -EACCES) {
		inpu_model_seterr(err, errlen,
				  "%s: the driver rejected the step stream: %s at op %u, slot %d",
				  where, inpu_job_status_name(verr.status),
				  verr.op, verr.slot);
		goto fail;
	} else if (ret) {
		inpu_model_seterr(err, errlen,
				  "%s: cannot create the command buffer: %s",
				  where, inpu_strerror(ret));
		goto fail;
	}
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
	size_t len;
	void *stream = NULL;
	int ret;

	if (d->cmdbuf_rows[rows]) {
		*cb = d->cmdbuf_rows[rows];
		return 0;
	}
	ret = inpu_qgraph_build_rows(d->m, &d->lay, rows, &stream, &len, NULL, 0);
	if (!ret)
		ret = patch_stream(&stream, &len, &d->lay, d->lay.sbase + d->xoff,
				   d->sampled ? &d->samp : NULL, rows);
	if (!ret) {
		refs[0].handle = inpu_bo_handle(d->wbo);
		refs[0].flags = DRM_INPU_REF_READ;
		refs[1].handle = inpu_bo_handle(d->sbo);
		refs[1].flags = DRM_INPU_REF_READ | DRM_INPU_REF_WRITE;
		ret = inpu_cmdbuf_create(d->dev, stream, len, refs, 2,
					 &d->cmdbuf_rows[rows], NULL);
	}
	free(stream);
	if (!ret)
		*cb = d->cmdbuf_rows[rows];
	return ret;
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
