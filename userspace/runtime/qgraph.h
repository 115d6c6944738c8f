/* SPDX-License-Identifier: MIT */
/*
 * The command stream of one decode step (or one prefill of several rows) of
 * an integer model and its memory plan: the only place that writes ops.
 * Integer only.
 */
#ifndef INPU_RT_QGRAPH_H
#define INPU_RT_QGRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "qmodel.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the stream of one decode step (qgraph.c) --------------------------- */

/*
 * Where everything lives.  The weights region is the data section of the
 * file as is (read-only to the device), at @wbase; the state region
 * (activations, KV caches, ids, logits) is read-write, at @sbase.  Both
 * bases must be multiples of 4096.
 */
/* Rows (tokens) one prefill stream processes at most. */
#define INPU_QGRAPH_MAX_ROWS	128

struct inpu_qlayout {
	uint64_t wbase, wsize;
	uint64_t sbase, ssize;
	/* offsets in the state region; activations have room for
	 * INPU_QGRAPH_MAX_ROWS rows, a decode step uses the first
	 */
	uint64_t ids;		/* INT32 [1][R]: the step's token(s) */
	uint64_t next;		/* INT32 [1][1]: ARGMAX of the logits */
	uint64_t logits;	/* INT32 [1][vocab] */
	uint64_t x;		/* INT32 [1][dim]: the residual stream */
	uint64_t xn;		/* INT8 or I8ROW [1][dim]: RMSNORM outputs */
	uint64_t qkv16;		/* INT16 [1][dim + 2 kv_dim] */
	uint64_t qkv8;		/* INT8 [1][dim + 2 kv_dim] */
	uint64_t att;		/* INT8 or I8ROW [1][dim] */
	uint64_t y32;		/* INT32 [1][dim]: wo and w2 outputs */
	uint64_t gu16;		/* INT16 [1][2 hidden]: gate | up */
	uint64_t h8;		/* INT8 or I8ROW [1][hidden] */
	uint64_t kcache;	/* INT8 or INT16 [n_layers][seq_len][kv_dim] */
	uint64_t vcache;	/* INT8 [n_layers][seq_len][kv_dim] */
};

/* The memory plan for @m at the given bases. */
int inpu_qgraph_layout(const struct inpu_qmodel *m, uint64_t wbase,
		       uint64_t sbase, struct inpu_qlayout *lay);

/*
 * The command stream of one decode step: one parameter, the position
 * (0 .. seq_len - 1); the token id is read from lay->ids.  *stream is
 * malloc'ed, *len bytes.
 */
int inpu_qgraph_build(const struct inpu_qmodel *m,
		      const struct inpu_qlayout *lay, void **stream,
		      size_t *len, char *err, size_t errlen);

/*
 * Prefill: the same forward pass over @rows tokens at once (ids[0 ..
 * rows - 1], at positions pos .. pos + rows - 1, pos the parameter, at
 * most seq_len - rows): every matrix op a matrix-matrix product, the
 * attention causal within the batch.  Row r computes exactly what a step
 * at pos + r computes; the logits (and ARGMAX) are those of the last row.
 * @rows = 1 is inpu_qgraph_build().
 */
int inpu_qgraph_build_rows(const struct inpu_qmodel *m,
			   const struct inpu_qlayout *lay, uint32_t rows,
			   void **stream, size_t *len, char *err,
			   size_t errlen);

/*
 * Sampling: the step stream ends with SAMPLE (engine/ISA.md
 * 3.10) instead of ARGMAX, with these immediates and a seeded xorshift64*
 * state kept in the state BO, so the host still reads back one token id.
 * temp_mult / 2^temp_shift = 2^-logit_frac / T * 2^exp_frac (the caller
 * turns the temperature T into the pair, e.g. with inpu_requant_pair());
 * top_p in Q16 (1..65536).
 */
struct inpu_qsample {
	int32_t temp_mult, temp_shift;
	uint32_t top_p;
	uint64_t seed;
};

/*
 * How a stream for the device's chained steps ends (DEVICE.md): the chosen
 * token (ARGMAX, or SAMPLE with @samp and its PRNG state at DVA @prng) goes
 * into ids, where the next step's EMBED reads it, and a COPY appends it to
 * the token history at DVA @hist (one INT32 per position).
 */
struct inpu_qgraph_tail {
	const struct inpu_qsample *samp;	/* NULL: ARGMAX */
	uint64_t prng, hist;
};

/* inpu_qgraph_build_rows() ending with @tail (NULL: ARGMAX into next). */
int inpu_qgraph_build_tail(const struct inpu_qmodel *m,
			   const struct inpu_qlayout *lay, uint32_t rows,
			   const struct inpu_qgraph_tail *tail,
			   void **stream, size_t *len, char *err,
			   size_t errlen);

/*
 * @k one-step streams @one (params: the position) in one stream of k
 * parameters: copy i runs at parameter i (pos + i).  malloc'ed, or NULL
 * (also if @k is not 1..INPU_MAX_PARAMS).
 */
void *inpu_qgraph_repeat(const void *one, int k, uint32_t seq_len,
			 size_t *len);

/*
 * A stream of one SAMPLE op, no parameters: @vocab INT32 logits at DVA
 * @logits, the PRNG state (UINT64) at @prng, the token (INT32) to @y.  The
 * cpu backend's SAMPLE on the host (qsample.c).  *stream is malloc'ed.
 */
int inpu_qgraph_build_sample(uint32_t vocab, uint64_t logits, uint64_t prng,
			     uint64_t y, const struct inpu_qsample *smp,
			     void **stream, size_t *len);

#ifdef __cplusplus
}
#endif

#endif /* INPU_RT_QGRAPH_H */
