/* SPDX-License-Identifier: MIT */
/*
 * The promises every reader of float models (llama2.c checkpoints, GGUF)
 * makes about a model it accepts, checked the same way by their fuzzers:
 * a sane configuration and classifier, and for small models finite
 * weights and a forward step.  Include after fuzz_util.h and model.h.
 */
#ifndef INPU_FUZZ_MODEL_H
#define INPU_FUZZ_MODEL_H

#include <math.h>

/* Weights of a model small enough for the slower checks. */
#define FUZZ_MODEL_SMALL	(1u << 16)

static inline void fuzz_model_config(const struct inpu_model *m)
{
	const struct inpu_model_config *c = &m->cfg;

	CHECK(c->dim > 0 && c->hidden_dim > 0 && c->n_layers > 0 &&
	      c->n_heads > 0 && c->n_kv_heads > 0 && c->seq_len > 0);
	CHECK(c->dim % c->n_heads == 0 && c->n_heads % c->n_kv_heads == 0 &&
	      inpu_model_head_size(c) % 2 == 0);
	CHECK(c->vocab_size >= INPU_TOK_BYTE0);
	CHECK(c->shared_classifier ? m->wcls == m->tok_embeddings :
	      m->wcls != m->tok_embeddings);
}

/* Out-of-range token and position are refused; BOS and one more run. */
static inline void fuzz_model_forward(const struct inpu_model *m)
{
	const struct inpu_model_config *c = &m->cfg;
	struct inpu_float_state *s;
	const float *logits;
	int tok;

	CHECK(inpu_float_state_new(m, &s) == 0);
	CHECK(inpu_float_forward(s, c->vocab_size, 0) == NULL);
	CHECK(inpu_float_forward(s, 0, c->seq_len) == NULL);
	logits = inpu_float_forward(s, INPU_TOK_BOS, 0);
	CHECK(logits != NULL);
	tok = inpu_argmax(logits, c->vocab_size);
	CHECK(tok >= 0 && tok < c->vocab_size);
	if (c->seq_len > 1)
		CHECK(inpu_float_forward(s, tok, 1) != NULL);
	inpu_float_state_free(s);
}

/*
 * A small model (the speed of the run): every weight finite, and one
 * forward step when its state is small too.
 */
static inline void fuzz_model_small(const struct inpu_model *m)
{
	const struct inpu_model_config *c = &m->cfg;
	uint64_t kv = (uint64_t)inpu_model_kv_dim(c);
	uint64_t cache = (uint64_t)c->n_layers * (uint64_t)c->seq_len * kv;

	for (size_t i = 0; i < m->n_floats; i++)
		CHECK(isfinite(m->storage[i]));
	if (cache <= (1u << 20) &&
	    (uint64_t)c->seq_len * (uint64_t)inpu_model_head_size(c) <= (1u << 16) &&
	    (uint64_t)c->n_heads * (uint64_t)c->seq_len <= (1u << 20))
		fuzz_model_forward(m);
}

#endif /* INPU_FUZZ_MODEL_H */
