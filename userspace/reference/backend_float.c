// SPDX-License-Identifier: MIT
/*
 * The float32 reference forward pass behind the backend interface
 * (backend_float.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "backend_float.h"

struct float_backend {
	struct inpu_backend b;
	struct inpu_float_state *state;
	const float *logits;
};

static struct float_backend *to_float(struct inpu_backend *b)
{
	return (struct float_backend *)b;
}

static int float_step(struct inpu_backend *b, int token, int pos)
{
	struct float_backend *f = to_float(b);

	f->logits = inpu_float_forward(f->state, token, pos);
	return f->logits ? 0 : -EINVAL;
}

static int float_next(struct inpu_backend *b)
{
	return inpu_argmax(to_float(b)->logits, b->vocab_size);
}

/* The forward pass fails only for a position out of range. */
static void float_why(const struct inpu_backend *b, char *buf, size_t len)
{
	(void)b;
	if (len)
		buf[0] = '\0';
}

static void float_destroy(struct inpu_backend *b)
{
	inpu_float_state_free(to_float(b)->state);
	free(b);
}

static const struct inpu_backend_ops float_ops = {
	.step = float_step,
	.next = float_next,
	.why = float_why,
	.destroy = float_destroy,
};

int inpu_backend_float_new(const struct inpu_model *m, struct inpu_backend **out)
{
	struct float_backend *f = calloc(1, sizeof(*f));

	*out = NULL;
	if (!f)
		return -ENOMEM;
	if (inpu_float_state_new(m, &f->state)) {
		free(f);
		return -ENOMEM;
	}
	f->b = (struct inpu_backend){
		.ops = &float_ops,
		.name = "float",
		.vocab_size = m->cfg.vocab_size,
		.seq_len = m->cfg.seq_len,
	};
	*out = &f->b;
	return 0;
}

const float *inpu_backend_float_logits(struct inpu_backend *b)
{
	return b->ops == &float_ops ? to_float(b)->logits : NULL;
}

static const float *float_lm_forward(void *ctx, int token, int pos)
{
	struct inpu_backend *b = ctx;

	return float_step(b, token, pos) ? NULL : to_float(b)->logits;
}

void inpu_backend_float_lm(struct inpu_backend *b, struct inpu_lm *lm)
{
	*lm = (struct inpu_lm){
		.forward = float_lm_forward,
		.ctx = b,
		.vocab_size = b->vocab_size,
		.seq_len = b->seq_len,
	};
}
