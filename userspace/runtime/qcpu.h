/* SPDX-License-Identifier: MIT */
/*
 * The cpu backend: the step stream of qgraph.h run by the engine library on
 * host memory, bit for bit what the device computes.  Integer only.
 */
#ifndef INPU_RT_QCPU_H
#define INPU_RT_QCPU_H

#include <stddef.h>
#include <stdint.h>

#include "qgraph.h"
#include "qmodel.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the CPU backend (qcpu.c) ------------------------------------------- */

struct inpu_qcpu;

/*
 * Lay out @m in host memory, build and validate its step stream, and take
 * the engine's tables from the firmware image built into the runtime
 * (fw_tables.h); their geometry must be the one @m was built for.  @level caps
 * the engine's kernels (enum inpu_isa_level; -1 for the best available).
 * @m must outlive the backend.
 */
int inpu_qcpu_new(const struct inpu_qmodel *m, int level,
		  struct inpu_qcpu **out, char *err, size_t errlen);
void inpu_qcpu_free(struct inpu_qcpu *c);

/*
 * Run @token at @pos (positions 0 .. pos - 1 must have run before, as
 * with inpu_float_forward()) and return the vocab_size int32 logits
 * (real logit = value / 2^logit_frac), valid until the next call.  NULL
 * for a token or position out of range or an engine error
 * (inpu_qcpu_status() says which).
 */
const int32_t *inpu_qcpu_step(struct inpu_qcpu *c, int token, int pos);
/* The ARGMAX of the last step's logits (computed by the stream). */
int inpu_qcpu_next(const struct inpu_qcpu *c);
/*
 * @n (1 .. INPU_QGRAPH_MAX_ROWS) tokens at positions pos .. pos + n - 1 in
 * one run of the prefill stream (inpu_qgraph_build_rows()): the same KV
 * cache and the same logits (those of the last token) as n steps.
 */
const int32_t *inpu_qcpu_prefill(struct inpu_qcpu *c, const int *tokens,
				 int n, int pos);
/* enum inpu_status of the last step. */
int inpu_qcpu_status(const struct inpu_qcpu *c);
/* Modelled cycles of the last step (engine/ISA.md, cycle model). */
uint64_t inpu_qcpu_cycles(const struct inpu_qcpu *c);
/* Bytes the last step moved to and from device memory in the same model. */
uint64_t inpu_qcpu_dram_bytes(const struct inpu_qcpu *c);
/* The stream and its memory plan (for tools and tests). */
const void *inpu_qcpu_stream(const struct inpu_qcpu *c, size_t *len);
const struct inpu_qlayout *inpu_qcpu_layout(const struct inpu_qcpu *c);
/* Host pointer of a state-region offset (tests inspect activations). */
void *inpu_qcpu_state(struct inpu_qcpu *c, uint64_t offset);

#ifdef __cplusplus
}
#endif

#endif /* INPU_RT_QCPU_H */
