// SPDX-License-Identifier: MIT
/*
 * The cpu backend (backend.h): the step stream run by the engine library
 * (qcpu.c) and, when sampling, the SAMPLE op on the host (qsample.c) drawn
 * once per step or prefill job, as the device draws once per job, so that
 * both PRNG states advance alike and pick the same tokens.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "libinpu.h"
#include "backend.h"
#include "qcpu.h"
#include "qmodel.h"
#include "qsample.h"

struct cpu_backend {
	struct inpu_backend b;
	struct inpu_qcpu *qc;
	struct inpu_qsampler *qs;	/* NULL: greedy */
	const int32_t *logits;		/* of the last step or job */
	int sampled;			/* the sampler's last token */
	int sample_failed;
};

static struct cpu_backend *to_cpu(struct inpu_backend *b)
{
	return (struct cpu_backend *)b;
}

static const struct cpu_backend *to_cpu_c(const struct inpu_backend *b)
{
	return (const struct cpu_backend *)b;
}

/* Draw from the logits just computed when sampling. */
static int cpu_draw(struct cpu_backend *c)
{
	if (!c->logits)
		return -EIO;
	if (!c->qs)
		return 0;
	c->sampled = inpu_qsampler_run(c->qs, c->logits);
	if (c->sampled < 0) {
		c->sample_failed = 1;
		return c->sampled;
	}
	return 0;
}

static int cpu_step(struct inpu_backend *b, int token, int pos)
{
	struct cpu_backend *c = to_cpu(b);

	c->logits = inpu_qcpu_step(c->qc, token, pos);
	return cpu_draw(c);
}

static int cpu_prefill(struct inpu_backend *b, const int *tokens, int n, int pos)
{
	struct cpu_backend *c = to_cpu(b);

	c->logits = inpu_qcpu_prefill(c->qc, tokens, n, pos);
	return cpu_draw(c);
}

static int cpu_next(struct inpu_backend *b)
{
	struct cpu_backend *c = to_cpu(b);

	return c->qs ? c->sampled : inpu_qcpu_next(c->qc);
}

static const int32_t *cpu_logits(struct inpu_backend *b)
{
	return to_cpu(b)->logits;
}

static uint64_t cpu_cycles(const struct inpu_backend *b)
{
	return inpu_qcpu_cycles(to_cpu_c(b)->qc);
}

static uint64_t cpu_dram_bytes(const struct inpu_backend *b)
{
	return inpu_qcpu_dram_bytes(to_cpu_c(b)->qc);
}

static void cpu_why(const struct inpu_backend *b, char *buf, size_t len)
{
	const struct cpu_backend *c = to_cpu_c(b);

	if (c->sample_failed)
		snprintf(buf, len, "SAMPLE failed");
	else
		snprintf(buf, len, "%s",
			 inpu_job_status_name((uint32_t)inpu_qcpu_status(c->qc)));
}

static void cpu_destroy(struct inpu_backend *b)
{
	struct cpu_backend *c = to_cpu(b);

	inpu_qsampler_free(c->qs);
	inpu_qcpu_free(c->qc);
	free(c);
}

static const struct inpu_backend_ops cpu_ops = {
	.step = cpu_step,
	.prefill = cpu_prefill,
	.next = cpu_next,
	.logits = cpu_logits,
	.cycles = cpu_cycles,
	.dram_bytes = cpu_dram_bytes,
	.why = cpu_why,
	.destroy = cpu_destroy,
};

int inpu_backend_cpu_new(const struct inpu_qmodel *m,
			 const struct inpu_qsample *samp,
			 struct inpu_backend **out, char *err, size_t errlen)
{
	struct cpu_backend *c = calloc(1, sizeof(*c));
	int ret;

	*out = NULL;
	if (!c)
		return -ENOMEM;
	c->b = (struct inpu_backend){
		.ops = &cpu_ops,
		.name = "cpu",
		.vocab_size = (int)m->cfg.vocab_size,
		.seq_len = (int)m->cfg.seq_len,
	};
	ret = inpu_qcpu_new(m, -1, &c->qc, err, errlen);
	if (!ret && samp)
		ret = inpu_qsampler_new(m, samp, &c->qs, err, errlen);
	if (ret) {
		cpu_destroy(&c->b);
		return ret;
	}
	*out = &c->b;
	return 0;
}
