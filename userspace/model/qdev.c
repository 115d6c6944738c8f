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
#include "model_internal.h"
#include "qdev.h"

#define QDEV_WAIT_NS	(60ll * 1000000000ll)

struct inpu_qdev {
	const struct inpu_qmodel *m;
	struct inpu_dev *dev;
	struct inpu_bo *wbo, *sbo;
	uint8_t *sptr;			/* the state BO, mapped */
	struct inpu_qlayout lay;
	uint32_t cmdbuf;
	int status, error;
	uint64_t cycles;
	struct inpu_qdev_times t;
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
	if (d->cmdbuf)
		inpu_cmdbuf_destroy(d->dev, d->cmdbuf);
	inpu_bo_free(d->sbo);
	inpu_bo_free(d->wbo);
	inpu_dev_close(d->dev);
	free(d);
}

/* The last op of the step stream (ARGMAX) becomes SAMPLE. */
static int use_sample(void *stream, const struct inpu_qlayout *lay,
		      const struct inpu_qconfig *cfg,
		      const struct inpu_qsample *s)
{
	struct inpu_stream_header *hdr = stream;
	struct inpu_op *op = (struct inpu_op *)(hdr + 1) + hdr->n_ops - 1;
	struct inpu_tensor x, y;

	if (op->opcode != INPU_OP_ARGMAX)
		return -EINVAL;
	x = op->u.argmax.x;
	y = op->u.argmax.y;
	memset(op, 0, sizeof(*op));
	op->opcode = INPU_OP_SAMPLE;
	op->u.sample.x = x;
	op->u.sample.y = y;
	op->u.sample.state.addr = lay->sbase + lay->ssize;
	op->u.sample.state.dtype = INPU_DT_UINT64;
	op->u.sample.state.rows = 1;
	op->u.sample.state.cols = 1;
	op->u.sample.state.stride = 8;
	op->u.sample.temp_mult = s->temp_mult;
	op->u.sample.temp_shift = s->temp_shift;
	op->u.sample.top_p = s->top_p;
	(void)cfg;
	return 0;
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
	/* With SAMPLE, the PRNG state is one more page after the plan's. */
	ret = inpu_bo_alloc(d->dev, lay.ssize + (s ? 4096 : 0), 0, &d->sbo);
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
	memset(d->sptr, 0, lay.ssize);
	if (s)
		memcpy(d->sptr + lay.ssize, &s->seed, sizeof(s->seed));

	ret = inpu_qgraph_layout(m, inpu_bo_dva(d->wbo), inpu_bo_dva(d->sbo),
				 &d->lay);
	if (!ret)
		ret = inpu_qgraph_build(m, &d->lay, &stream, &stream_len, err,
					errlen);
	if (!ret && s && use_sample(stream, &d->lay, &m->cfg, s)) {
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

const int32_t *inpu_qdev_step(struct inpu_qdev *d, int token, int pos)
{
	const struct inpu_qconfig *cfg = &d->m->cfg;
	struct drm_inpu_wait res;
	uint32_t params[1];
	int32_t id = token;
	uint64_t job, t0, t1, t2;
	int ret;

	d->error = 0;
	d->cycles = 0;
	if (token < 0 || (uint32_t)token >= cfg->vocab_size || pos < 0 ||
	    (uint32_t)pos >= cfg->seq_len) {
		d->status = INPU_ERR_INDEX;
		return NULL;
	}
	memcpy(d->sptr + d->lay.ids, &id, sizeof(id));
	params[0] = (uint32_t)pos;
	t0 = now_ns();
	ret = inpu_submit_cmdbuf(d->dev, d->cmdbuf, params, 1, NULL, 0, 0, &job);
	t1 = now_ns();
	if (ret) {
		d->error = ret;
		d->status = DRM_INPU_JOB_ABORTED;
		return NULL;
	}
	ret = inpu_wait(d->dev, job, QDEV_WAIT_NS, &res);
	t2 = now_ns();
	d->t.steps++;
	d->t.submit_ns += t1 - t0;
	d->t.wait_ns += t2 - t1;
	if (ret) {
		d->error = ret;
		d->status = ret == -ETIME ? DRM_INPU_JOB_TIMEOUT : (int)res.status;
		if (!d->status)
			d->status = DRM_INPU_JOB_ABORTED;
		return NULL;
	}
	d->status = (int)res.status;
	d->cycles = res.cycles;
	d->t.cycles += res.cycles;
	if (d->status)
		return NULL;
	return (const int32_t *)(d->sptr + d->lay.logits);
}

int inpu_qdev_next(const struct inpu_qdev *d)
{
	int32_t v;

	memcpy(&v, d->sptr + d->lay.next, sizeof(v));
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
