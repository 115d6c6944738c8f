// SPDX-License-Identifier: MIT
/*
 * The device backend (backend.h) over qdev.c: steps, prefill jobs and
 * chained decoding through /dev/accel.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "libinpu.h"
#include "backend.h"
#include "qdev.h"
#include "qmodel.h"

struct dev_backend {
	struct inpu_backend b;
	struct inpu_qdev *qd;
	const int32_t *logits;
};

static struct inpu_qdev *qd_of(const struct inpu_backend *b)
{
	return ((const struct dev_backend *)b)->qd;
}

static int dev_step(struct inpu_backend *b, int token, int pos)
{
	struct dev_backend *d = (struct dev_backend *)b;

	d->logits = inpu_qdev_step(d->qd, token, pos);
	return d->logits ? 0 : -EIO;
}

static int dev_prefill(struct inpu_backend *b, const int *tokens, int n, int pos)
{
	struct dev_backend *d = (struct dev_backend *)b;

	d->logits = inpu_qdev_prefill(d->qd, tokens, n, pos);
	return d->logits ? 0 : -EIO;
}

static int dev_prefill_prepare(struct inpu_backend *b, int n)
{
	return inpu_qdev_prefill_prepare(qd_of(b), n);
}

static int dev_next(struct inpu_backend *b)
{
	return inpu_qdev_next(qd_of(b));
}

static const int32_t *dev_logits(struct inpu_backend *b)
{
	return ((struct dev_backend *)b)->logits;
}

static uint64_t dev_cycles(const struct inpu_backend *b)
{
	return inpu_qdev_cycles(qd_of(b));
}

/* A failed ioctl names its errno; a job that ran names how it ended. */
static void dev_why(const struct inpu_backend *b, char *buf, size_t len)
{
	struct inpu_qdev *qd = qd_of(b);

	if (inpu_qdev_error(qd) && inpu_qdev_status(qd) != DRM_INPU_JOB_TIMEOUT)
		snprintf(buf, len, "%s: %s", inpu_qdev_path(qd),
			 inpu_strerror(inpu_qdev_error(qd)));
	else
		snprintf(buf, len, "%s: job %s", inpu_qdev_path(qd),
			 inpu_job_status_name((uint32_t)inpu_qdev_status(qd)));
}

static int dev_chain_max(const struct inpu_backend *b)
{
	return inpu_qdev_steps_per_job(qd_of(b));
}

static int dev_queue(struct inpu_backend *b, int pos, int n)
{
	return inpu_qdev_queue_n(qd_of(b), pos, n);
}

static int dev_retire(struct inpu_backend *b, int *pos, int *n)
{
	return inpu_qdev_retire_n(qd_of(b), pos, n);
}

static int dev_token(const struct inpu_backend *b, int pos)
{
	return inpu_qdev_token(qd_of(b), pos);
}

static void dev_destroy(struct inpu_backend *b)
{
	inpu_qdev_free(qd_of(b));
	free(b);
}

static const struct inpu_backend_ops dev_ops = {
	.step = dev_step,
	.prefill = dev_prefill,
	.prefill_prepare = dev_prefill_prepare,
	.next = dev_next,
	.logits = dev_logits,
	.cycles = dev_cycles,
	.why = dev_why,
	.chain_max = dev_chain_max,
	.queue = dev_queue,
	.retire = dev_retire,
	.token = dev_token,
	.destroy = dev_destroy,
};

struct inpu_qdev *inpu_backend_qdev(struct inpu_backend *b)
{
	return b && b->ops == &dev_ops ? qd_of(b) : NULL;
}

int inpu_backend_device_new(const struct inpu_qmodel *m, const char *device,
			    const struct inpu_qsample *samp,
			    struct inpu_backend **out, char *err, size_t errlen)
{
	struct dev_backend *d = calloc(1, sizeof(*d));
	int ret;

	*out = NULL;
	if (!d)
		return -ENOMEM;
	ret = inpu_qdev_new_sampled(m, device, samp, &d->qd, err, errlen);
	if (ret) {
		free(d);
		return ret;
	}
	d->b = (struct inpu_backend){
		.ops = &dev_ops,
		.name = "device",
		.vocab_size = (int)m->cfg.vocab_size,
		.seq_len = (int)m->cfg.seq_len,
	};
	*out = &d->b;
	return 0;
}
