/* SPDX-License-Identifier: MIT */
/*
 * An integer backend as a struct inpu_lm, so that the perplexity code can
 * score it: its int32 logits as floats (value / 2^logit_frac).
 */
#ifndef INPU_REF_QLM_H
#define INPU_REF_QLM_H

#include <stdint.h>

#include "ppl.h"
#include "qcpu.h"
#include "backend.h"
#include "qmodel.h"

#ifdef __cplusplus
extern "C" {
#endif

struct inpu_qlm;

/* A backend's step: int32 logits of @token at @pos, or NULL on error. */
typedef const int32_t *(*inpu_qstep_fn)(void *backend, int token, int pos);

/* Wrap a step function; inpu_qlm_new(): the cpu backend's qcpu.c. */
int inpu_qlm_new_step(inpu_qstep_fn step, void *backend,
		      const struct inpu_qmodel *m, struct inpu_qlm **out);
int inpu_qlm_new(struct inpu_qcpu *c, const struct inpu_qmodel *m,
		 struct inpu_qlm **out);
void inpu_qlm_free(struct inpu_qlm *q);
/* An inpu_logits_fn: the int32 logits as floats (value / 2^logit_frac). */
const float *inpu_qlm_forward(void *ctx, int token, int pos);
void inpu_qlm_lm(struct inpu_qlm *q, struct inpu_lm *lm);


/*
 * Any integer backend of backend.h (its step, then its int32 logits): the
 * device's are read in place from the state BO.
 */
int inpu_qlm_new_backend(struct inpu_backend *b, const struct inpu_qmodel *m,
			 struct inpu_qlm **out);

#ifdef __cplusplus
}
#endif

#endif /* INPU_REF_QLM_H */
