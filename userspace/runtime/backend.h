/* SPDX-License-Identifier: MIT */
/*
 * One interface for every backend that runs a model position by position:
 * the device (backend_device.c), the engine on the host (backend_cpu.c)
 * and the float reference (userspace/reference/backend_float.c).  The
 * generation loop (generate.c) and the perplexity adapter (qlm.h) see only
 * this, as llama2.c's generate() sees only forward().
 *
 * A step runs one position and leaves the backend's own choice of the next
 * token (the stream's ARGMAX or SAMPLE, or the float argmax) for next().
 * Prefill and chained decoding are optional: a backend without them leaves
 * the operations NULL and the loop runs steps.
 */
#ifndef INPU_RT_BACKEND_H
#define INPU_RT_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct inpu_backend;

struct inpu_backend_ops {
	/* Run @token at @pos: 0, or a negative errno (why() says more). */
	int (*step)(struct inpu_backend *b, int token, int pos);
	/* Run @n prompt tokens at @pos..@pos + @n - 1 in one job; optional. */
	int (*prefill)(struct inpu_backend *b, const int *tokens, int n, int pos);
	/*
	 * Make what prefill() of @n tokens needs (its command buffer) now,
	 * before the prompt is timed, as the step's is at set-up; optional.
	 */
	int (*prefill_prepare)(struct inpu_backend *b, int n);
	/* The token the backend chose after the last step. */
	int (*next)(struct inpu_backend *b);
	/* int32 logits of the last step (integer backends), else NULL. */
	const int32_t *(*logits)(struct inpu_backend *b);
	/* Modelled device cycles of the last step or job; optional. */
	uint64_t (*cycles)(const struct inpu_backend *b);
	/* Modelled device memory traffic of the same, bytes; optional. */
	uint64_t (*dram_bytes)(const struct inpu_backend *b);
	/* Why the last operation failed, one line. */
	void (*why)(const struct inpu_backend *b, char *buf, size_t len);
	/*
	 * Chained decoding, optional: queue @n steps from @pos, each reading
	 * the token the one before chose; retire the oldest finished job
	 * (its first position and count); token() reads the token chosen at
	 * a retired position.  chain_max() is the most steps one job runs.
	 */
	int (*chain_max)(const struct inpu_backend *b);
	int (*queue)(struct inpu_backend *b, int pos, int n);
	int (*retire)(struct inpu_backend *b, int *pos, int *n);
	int (*token)(const struct inpu_backend *b, int pos);
	void (*destroy)(struct inpu_backend *b);
};

struct inpu_backend {
	const struct inpu_backend_ops *ops;
	const char *name;		/* "device", "cpu", "float" */
	int vocab_size;
	int seq_len;
};

struct inpu_qmodel;
struct inpu_qsample;
struct inpu_qdev;

/*
 * The integer model @m (which must outlive the backend) on the engine
 * library on this CPU, and on an INPU device (@device NULL: the first one
 * under /dev/accel).  @samp NULL: greedy (ARGMAX); else SAMPLE with these
 * immediates, the cpu backend drawing the same tokens as the device.
 */
int inpu_backend_cpu_new(const struct inpu_qmodel *m,
			 const struct inpu_qsample *samp,
			 struct inpu_backend **out, char *err, size_t errlen);
int inpu_backend_device_new(const struct inpu_qmodel *m, const char *device,
			    const struct inpu_qsample *samp,
			    struct inpu_backend **out, char *err, size_t errlen);
/* The device under a device backend (timings, its node), else NULL. */
struct inpu_qdev *inpu_backend_qdev(struct inpu_backend *b);

static inline uint64_t inpu_backend_cycles(const struct inpu_backend *b)
{
	return b->ops->cycles ? b->ops->cycles(b) : 0;
}

static inline uint64_t inpu_backend_dram_bytes(const struct inpu_backend *b)
{
	return b->ops->dram_bytes ? b->ops->dram_bytes(b) : 0;
}

static inline int inpu_backend_can_chain(const struct inpu_backend *b)
{
	return b->ops->queue && b->ops->retire && b->ops->token &&
	       b->ops->chain_max;
}

static inline void inpu_backend_free(struct inpu_backend *b)
{
	if (b)
		b->ops->destroy(b);
}

#ifdef __cplusplus
}
#endif

#endif /* INPU_RT_BACKEND_H */
