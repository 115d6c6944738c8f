/* SPDX-License-Identifier: MIT */
/*
 * The SAMPLE op on the host, for the cpu backend.
 */
#ifndef INPU_RT_QSAMPLE_H
#define INPU_RT_QSAMPLE_H

#include <stdint.h>

#include "qdev.h"
#include "qmodel.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * For the cpu backend: the SAMPLE op run by the engine library on host
 * memory over logits the caller holds, with its own PRNG state (seeded
 * like the device's), so that cpu and device sample the same tokens.
 */
struct inpu_qsampler;

int inpu_qsampler_new(const struct inpu_qmodel *m,
		      const struct inpu_qsample *s, struct inpu_qsampler **out,
		      char *err, size_t errlen);
void inpu_qsampler_free(struct inpu_qsampler *q);
/* The sampled token for @logits (vocab_size int32), or a negative errno. */
int inpu_qsampler_run(struct inpu_qsampler *q, const int32_t *logits);

#ifdef __cplusplus
}
#endif

#endif /* INPU_RT_QSAMPLE_H */
