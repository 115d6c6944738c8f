// SPDX-License-Identifier: MIT
/*
 * The integer model as a struct inpu_lm: evaluation only.  The step runs
 * in integers (qcpu.c); here the int32 logits become floats for the
 * negative log-likelihood of the perplexity code.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "quant.h"

struct inpu_qlm {
	struct inpu_qcpu *c;
	uint32_t vocab, seq_len;
	float scale;		/* 2^-logit_frac */
	float *logits;
};

int inpu_qlm_new(struct inpu_qcpu *c, const struct inpu_qmodel *m,
		 struct inpu_qlm **out)
{
	struct inpu_qlm *q = calloc(1, sizeof(*q));

	*out = NULL;
	if (!q)
		return -ENOMEM;
	q->c = c;
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
	const int32_t *l = inpu_qcpu_step(q->c, token, pos);

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
