/* SPDX-License-Identifier: MIT */
/*
 * Shared by quantize.c and qcalib.c (offline, floating point): the
 * prepared float model and the calibration observers.  Not an API.
 */
#ifndef INPU_QUANT_INTERNAL_H
#define INPU_QUANT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "quant.h"

/*
 * The float model in the form the integer graph computes it: q, k, v
 * weights fused into one matrix with 1/sqrt(head_dim) folded into the q
 * rows, w1 and w3 fused, and every smoothing factor folded in.  It
 * computes the same function as the checkpoint (in exact arithmetic).
 */
struct qprep {
	int dim, hidden, n_layers, n_heads, n_kv_heads, hs, kv, vocab, seq_len;
	int nqkv;		/* dim + 2 kv */
	float *emb;		/* [vocab][dim] */
	float *g_att;		/* [L][dim] RMSNorm weight / smoothing */
	float *wqkv;		/* [L][nqkv][dim] */
	float *wo;		/* [L][dim][dim] */
	float *g_ffn;		/* [L][dim] */
	float *w13;		/* [L][2 hidden][dim]: w1 rows then w3 rows */
	float *w2;		/* [L][dim][hidden] */
	float *g_fin;		/* [dim] */
	float *wcls;		/* [vocab][dim] */
	float *rope_cos;	/* [seq_len][hs / 2] */
	float *rope_sin;
};

/* @rot: also rotate the residual stream and the values (QUANT.md §4). */
int qprep_from_model(const struct inpu_model *m, int rot, struct qprep *p);
int qprep_copy(const struct qprep *src, struct qprep *dst);
void qprep_free(struct qprep *p);

/* Activation sites of a layer: the inputs of every quantization point. */
enum {
	S_XA,		/* attention RMSNorm output (qkv input), int8 */
	S_Q,		/* q after RoPE (before too, for the max), int8 */
	S_K,		/* k after RoPE, int8 */
	S_V,		/* v, int8 */
	S_ATT,		/* attention output (wo input), int8 */
	S_XF,		/* FFN RMSNorm output (w13 input), int8 */
	S_GATE,		/* w1 output, int16 */
	S_UP,		/* w3 output, int16 */
	S_H,		/* SwiGLU output (w2 input), int8 */
	S_PER_LAYER
};

struct qsite {
	int width;
	float *chmax;		/* [width] max |x| per channel, all tokens */
	float *sample;		/* [cap][width] values at sampled tokens */
	double *hess;		/* [width][width] lower triangle of sum x x^T
				 * over every token, or NULL */
};

struct qcalib {
	int n_layers;
	struct qsite *site;	/* [n_layers * S_PER_LAYER + 1]; last: final norm out */
	uint32_t cap;		/* sampled tokens room */
	uint32_t n_sample;	/* sampled tokens taken */
	uint64_t tokens;	/* tokens run */
	double res_max;		/* max |residual| (embeddings and after adds) */
	double logit_max;	/* max |logit| */
};

static inline struct qsite *qsite_at(struct qcalib *c, int layer, int s)
{
	return layer < 0 ? &c->site[c->n_layers * S_PER_LAYER] :
	       &c->site[layer * S_PER_LAYER + s];
}

/*
 * @hess: also accumulate X^T X over every token at the inputs of the
 * linear layers (S_XA, S_ATT, S_XF, S_H and the final norm), for GPTQ.
 */
int qcalib_new(const struct qprep *p, uint32_t cap, int hess, struct qcalib *c);
void qcalib_free(struct qcalib *c);

/* The token lists of the calibration text (protocol of the dev file). */
struct qtokens {
	int **story;		/* [n] token arrays, BOS first */
	int *len;		/* [n] lengths, cut at seq_len */
	uint32_t n;
	uint64_t total;		/* tokens that are run (len - 1 each) */
};

int qtokens_from_text(const struct inpu_tokenizer *t, const char *text,
		      size_t len, int seq_len, uint32_t max_stories,
		      struct qtokens *out);
void qtokens_free(struct qtokens *q);

/*
 * Run the prepared float model over every calibration story, recording
 * into @c the per-channel maxima of every site and, at every @stride-th
 * token, the site values (up to c->cap tokens).
 */
int qcalib_run(const struct qprep *p, const struct qtokens *tk,
	       uint64_t stride, struct qcalib *c,
	       void (*progress)(void *, const char *, uint64_t, uint64_t),
	       void *pctx, const char *stage);

/* Mean NLL of the prepared model over the first @max_stories stories. */
double qcalib_nll(const struct qprep *p, const struct qtokens *tk,
		  uint32_t max_stories);

#endif /* INPU_QUANT_INTERNAL_H */
