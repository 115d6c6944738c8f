// SPDX-License-Identifier: MIT
/*
 * The device backend as a struct inpu_lm: evaluation only.  The step runs
 * on the device (qdev.c); here its int32 logits, read from the mapped
 * state BO, become floats for the perplexity code, exactly as qlm.c does
 * for the CPU backend (same conversion, so equal logits give equal PPL).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "qdev.h"

struct inpu_qdevlm {
	struct inpu_qdev *d;
	uint32_t vocab, seq_len;
	float scale;		/* 2^-logit_frac */
	float *logits;
};

int inpu_qdevlm_new(struct inpu_qdev *d, const struct inpu_qmodel *m,
		    struct inpu_qdevlm **out)
{
	struct inpu_qdevlm *q = calloc(1, sizeof(*q));

	*out = NULL;
	if (!q)
		return -ENOMEM;
	q->d = d;
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

void inpu_qdevlm_free(struct inpu_qdevlm *q)
{
	if (!q)
		return;
	free(q->logits);
	free(q);
}

const float *inpu_qdevlm_forward(void *ctx, int token, int pos)
{
	struct inpu_qdevlm *q = ctx;
	const int32_t *l = inpu_qdev_step(q->d, token, pos);

	if (!l)
		return NULL;
	for (uint32_t i = 0; i < q->vocab; i++)
		q->logits[i] = (float)l[i] * q->scale;
	return q->logits;
}

void inpu_qdevlm_lm(struct inpu_qdevlm *q, struct inpu_lm *lm)
{
	lm->forward = inpu_qdevlm_forward;
	lm->ctx = q;
	lm->vocab_size = (int)q->vocab;
	lm->seq_len = (int)q->seq_len;
}
