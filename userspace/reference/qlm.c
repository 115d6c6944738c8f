// SPDX-License-Identifier: MIT
/*
 * The integer model as a struct inpu_lm: evaluation only.  The step runs
 * in integers (qcpu.c on the host, qdev.c on the device); here the int32
 * logits become floats for the negative log-likelihood of the perplexity
 * code, the same conversion for both backends, so equal logits give
 * equal perplexity.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "ppl.h"
#include "qmodel.h"
#include "qcpu.h"
#include "backend.h"
#include "qlm.h"

struct inpu_qlm {
	inpu_qstep_fn step;
	void *backend;
	uint32_t vocab, seq_len;
	float scale;		/* 2^-logit_frac */
	float *logits;
};

int inpu_qlm_new_step(inpu_qstep_fn step, void *backend,
		      const struct inpu_qmodel *m, struct inpu_qlm **out)
{
	struct inpu_qlm *q = calloc(1, sizeof(*q));

	*out = NULL;
	if (!q)
		return -ENOMEM;
	q->step = step;
	q->backend = backend;
	q->vocab = m->cfg.vocab_size;
	q->seq_len = m->cfg.seq_len;
	q->scale = ldexpf(1.0f, -(int)m->cfg.logit_frac);
	q->logits = calloc(q->vocab, sizeof(*q->logits));
	if (!q->logits) {
		free(q);
		return -ENOMEM;
	}
	*out = q;
	return 0;
}

static const int32_t *qcpu_step(void *backend, int token, int pos)
{
	return inpu_qcpu_step(backend, token, pos);
}

int inpu_qlm_new(struct inpu_qcpu *c, const struct inpu_qmodel *m,
		 struct inpu_qlm **out)
{
	return inpu_qlm_new_step(qcpu_step, c, m, out);
}

void inpu_qlm_free(struct inpu_qlm *q)
{
	if (!q)
		return;
	free(q->logits);
	free(q);
}

const float *inpu_qlm_forward(void *ctx, int token, int pos)
{
	struct inpu_qlm *q = ctx;
	const int32_t *l = q->step(q->backend, token, pos);

	if (!l)
		return NULL;
	for (uint32_t i = 0; i < q->vocab; i++)
		q->logits[i] = (float)l[i] * q->scale;
	return q->logits;
}

void inpu_qlm_lm(struct inpu_qlm *q, struct inpu_lm *lm)
{
	lm->forward = inpu_qlm_forward;
	lm->ctx = q;
	lm->vocab_size = (int)q->vocab;
	lm->seq_len = (int)q->seq_len;
}

static const int32_t *backend_step(void *backend, int token, int pos)
{
	struct inpu_backend *b = backend;

	if (b->ops->step(b, token, pos) || !b->ops->logits)
		return NULL;
	return b->ops->logits(b);
}

int inpu_qlm_new_backend(struct inpu_backend *b, const struct inpu_qmodel *m,
			 struct inpu_qlm **out)
{
	return inpu_qlm_new_step(backend_step, b, m, out);
}
