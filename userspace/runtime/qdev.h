/* SPDX-License-Identifier: MIT */
/*
 * The device backend of the integer model: the step stream of quant.h run
 * by an INPU device through /dev/accel (libinpu), with the same step
 * interface as the CPU backend (inpu_qcpu_*).
 *
 * Set up once: the model's weights region (the .inpu data section) copied
 * into a DEVICE_READONLY buffer object, a read-write state BO (ids, next,
 * activations, KV caches, logits), the stream laid out at the two BOs'
 * device addresses and created as ONE validated command buffer.  Then one
 * submit per token: the token id is written into the state BO through its
 * mapping, the command buffer is submitted with the parameter block {pos},
 * waited for, and the device's ARGMAX is read back (4 bytes).  No per-op
 * ioctl, no copy of the logits (they stay in the mapped state BO).
 *
 * The stream is quant.h's with its last op patched: ARGMAX (or SAMPLE)
 * writes the chosen token straight into ids, the next step's input, and a
 * COPY appends it to a token history (one int32 per position) in the state
 * BO.  So steps can also be chained on the device: inpu_qdev_queue() only
 * submits a position, and several steps run back to back while the host
 * reads the tokens of the finished ones (inpu_qdev_retire()).
 *
 * Integer only (qdev.c): the float conversion for perplexity is in
 * qlm.c.  Functions return 0 or a negative errno and never print.
 */
#ifndef INPU_QDEV_H
#define INPU_QDEV_H

#include <stddef.h>
#include <stdint.h>

#include "qgraph.h"
#include "qmodel.h"

#ifdef __cplusplus
extern "C" {
#endif

struct inpu_qdev;

/*
 * Open @device (NULL: the first INPU device under /dev/accel), upload @m
 * and create its command buffer.  @m must outlive the backend.  Errors
 * come with a message naming the device: -ENOENT/-ENODEV (no device),
 * -ENOMEM/-ENOSPC (buffers), -EINVAL (the driver rejected the stream).
 */
int inpu_qdev_new(const struct inpu_qmodel *m, const char *device,
		  struct inpu_qdev **out, char *err, size_t errlen);
void inpu_qdev_free(struct inpu_qdev *d);

/* Sampling on the device: struct inpu_qsample (qgraph.h). */

/* inpu_qdev_new() with SAMPLE (@s non-NULL) instead of ARGMAX. */
int inpu_qdev_new_sampled(const struct inpu_qmodel *m, const char *device,
			  const struct inpu_qsample *s, struct inpu_qdev **out,
			  char *err, size_t errlen);

/*
 * Run @token at @pos on the device (positions 0 .. pos - 1 must have run
 * before) and return the vocab_size int32 logits, read in place from the
 * mapped state BO (valid until the next call).  NULL on an error:
 * inpu_qdev_status() gives the job status, inpu_qdev_error() the errno of
 * a failed ioctl.
 */
const int32_t *inpu_qdev_step(struct inpu_qdev *d, int token, int pos);
/*
 * Prefill: @n tokens (1 .. INPU_QGRAPH_MAX_ROWS) at pos .. pos + n - 1 in
 * one job of matrix-matrix ops (inpu_qgraph_build_rows(); one command
 * buffer per batch size, made on first use or by
 * inpu_qdev_prefill_prepare()).  Returns the last token's
 * logits, as inpu_qdev_step() would after n steps; the KV cache is the
 * same.
 */
/* The command buffer of prefill jobs of @n tokens, made now: 0 or -errno. */
int inpu_qdev_prefill_prepare(struct inpu_qdev *d, int n);
const int32_t *inpu_qdev_prefill(struct inpu_qdev *d, const int *tokens,
				 int n, int pos);
/*
 * Chained decoding.  inpu_qdev_set_token() writes the token the next
 * queued step reads (only needed before the first one, or while no step
 * is queued).  inpu_qdev_queue() submits the step at @pos, which reads the
 * token the previous step chose; at most INPU_QDEV_MAX_QUEUE steps are in
 * flight (-EBUSY).  inpu_qdev_retire() waits for the oldest one and
 * returns the token it chose (>= 0; its position in *pos), or a negative
 * errno (-EIO: the job failed, see inpu_qdev_status()).
 */
#define INPU_QDEV_MAX_QUEUE	64
void inpu_qdev_set_token(struct inpu_qdev *d, int token);
int inpu_qdev_queue(struct inpu_qdev *d, int pos);
int inpu_qdev_retire(struct inpu_qdev *d, int *pos);

/*
 * Several steps per job: a second command buffer holds k copies of the
 * step (k = inpu_qdev_steps_per_job(), at most INPU_QDEV_STEPS_PER_JOB and
 * what fits in a stream; 1 if none), copy i at position params[i] = pos + i.
 * inpu_qdev_queue_n() submits @n = 1 or k steps from @pos as one job;
 * inpu_qdev_retire_n() waits for the oldest job (0 or a negative errno)
 * and says which positions it ran; inpu_qdev_token() reads the token the
 * step at @pos chose, from the history.  Each copy takes its position from
 * a parameter of its own, so a job holds at most INPU_MAX_PARAMS steps.
 */
#define INPU_QDEV_STEPS_PER_JOB	INPU_MAX_PARAMS
/* `inpu run`'s steps in flight by default: four jobs of the most steps. */
#define INPU_QDEV_DEPTH_DEFAULT	(4 * INPU_QDEV_STEPS_PER_JOB)
int inpu_qdev_steps_per_job(const struct inpu_qdev *d);
int inpu_qdev_queue_n(struct inpu_qdev *d, int pos, int n);
int inpu_qdev_retire_n(struct inpu_qdev *d, int *pos, int *n);
int inpu_qdev_token(const struct inpu_qdev *d, int pos);

/* The token the last step chose (the device's ARGMAX or SAMPLE). */
int inpu_qdev_next(const struct inpu_qdev *d);
/* Job status of the last step (enum inpu_status, INPU_JOB_*, DRM_INPU_JOB_*). */
int inpu_qdev_status(const struct inpu_qdev *d);
/* Negative errno of the last failed ioctl of a step, or 0. */
int inpu_qdev_error(const struct inpu_qdev *d);
/* Modelled device cycles of the last step (the WAIT result). */
uint64_t inpu_qdev_cycles(const struct inpu_qdev *d);
/* The accel node in use. */
const char *inpu_qdev_path(const struct inpu_qdev *d);

/* Where the host time of the steps so far went (CLOCK_MONOTONIC ns). */
struct inpu_qdev_times {
	uint64_t steps;
	uint64_t jobs;
	uint64_t submit_ns;	/* in DRM_IOCTL_INPU_SUBMIT */
	uint64_t wait_ns;	/* in DRM_IOCTL_INPU_WAIT */
	uint64_t cycles;	/* modelled device cycles, summed */
};
void inpu_qdev_times(const struct inpu_qdev *d, struct inpu_qdev_times *t);

#ifdef __cplusplus
}
#endif

#endif /* INPU_QDEV_H */
