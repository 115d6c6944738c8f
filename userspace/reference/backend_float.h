/* SPDX-License-Identifier: MIT */
/*
 * The float32 reference as a backend of backend.h, so that the generation
 * loop runs it like the integer backends: the next token is the argmax of
 * the float logits (greedy, as llama2.c run.c at temperature 0).
 */
#ifndef INPU_REF_BACKEND_FLOAT_H
#define INPU_REF_BACKEND_FLOAT_H

#include "backend.h"
#include "model.h"
#include "ppl.h"

#ifdef __cplusplus
extern "C" {
#endif

/* @m must outlive the backend.  0 or -ENOMEM. */
int inpu_backend_float_new(const struct inpu_model *m, struct inpu_backend **out);
/* The float logits of the last step of a float backend. */
const float *inpu_backend_float_logits(struct inpu_backend *b);
/* A float backend as the perplexity code's language model. */
void inpu_backend_float_lm(struct inpu_backend *b, struct inpu_lm *lm);

#ifdef __cplusplus
}
#endif

#endif /* INPU_REF_BACKEND_FLOAT_H */
