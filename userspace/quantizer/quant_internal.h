/* SPDX-License-Identifier: MIT */
/*
 * Shared by quantize.c and qcalib.c (offline, floating point): the
 * prepared float model and the calibration observers.  Not an API.
 */
#ifndef INPU_QUANT_INTERNAL_H
#define INPU_QUANT_INTERNAL_H

#include <stddef.h>
#include <math.h>
#include <stdint.h>

#include "tokenizer.h"
#include "model.h"
#include "qmodel.h"
#include "quantize.h"

/*
 * The float model in the form the integer graph computes it: q, k, v
 * weights fused into one matrix with 1/sqrt(head_dim) folded into the q
 * rows, w1 and w3 fused, and every smoothing factor folded in.  It
 * computes the same function as the checkpoint (in exact arithmetic).
 */
struct qprep {
	int dim, hidden, n_layers, n_heads, n_kv_heads, hs, kv, vocab, seq_len;
	int nqkv;		/* dim + 2 kv */
	float rope_theta;	/* RoPE base */
	float norm_eps;		/* RMSNorm epsilon */
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

/*
 * Linear layer @li (0 qkv, 1 wo, 2 w13, 3 w2) of block @l: its weights
 * ([n][k], in place in @p).
 */
float *qprep_layer(struct qprep *p, int l, int li, int *n, int *k);

/* xorshift64*: a fixed, portable stream (rotations, sampling, story order). */
static inline uint64_t qrand_next(uint64_t *st)
{
	*st ^= *st >> 12;
	*st ^= *st << 25;
	*st ^= *st >> 27;
	return *st * 0x2545f4914f6cdd1dull;
}

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
	float *sample;		/* [cap][width] values at sampled tokens;
				 * NULL at S_GATE and S_UP (maxima only) */
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
	int no_logits;		/* set: skip the classifier (logit_max unused) */
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

/*
 * Site @s as if its channel j had been divided by @f[j] (> 0) before it
 * was observed: maxima and the first @rows sample rows divided, X^T X by
 * f[i] f[j].  Smoothing divides activations by per-channel factors and
 * leaves the rest of the model's function as it was, so the smoothed
 * model's statistics follow from the unsmoothed ones without another pass.
 */
void qcalib_divide(struct qsite *s, uint32_t rows, const double *f);

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

int qtokens_copy(const struct qtokens *a, struct qtokens *b);

/*
 * Append @n stories sampled from the float model @p (BOS, then tokens
 * drawn from its next-token distribution at temperature 1 until it
 * predicts BOS or EOS, at most @max_len tokens).  Deterministic: @seed.
 */
int qtokens_generate(const struct qprep *p, uint32_t n, int max_len, uint64_t seed,
		     struct qtokens *tk,
		     void (*progress)(void *, const char *, uint64_t, uint64_t),
		     void *pctx);

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

/*
 * Parallel loops (qpar.c): fn(ctx, item, worker) for every item 0..n-1 on
 * up to qpar_threads() threads (worker 0 is the caller), items taken in
 * increasing order; worker ids are below qpar_workers(n).  BLAS runs
 * single-threaded inside each worker.  Results must not depend on which
 * worker ran an item: callers reduce per-item results in item order.
 */
void qpar_set_threads(int n);		/* 0: one per CPU */
int qpar_threads(void);
int qpar_workers(uint32_t n);
int qpar_for(uint32_t n, void (*fn)(void *ctx, uint32_t item, int worker),
	     void *ctx);
void qpar_blas_init(void);

/* Quantization-aware fine-tuning by distillation (qtune.c). */
struct qtune_opts {
	int epochs;		/* passes over the calibration stories */
	int batch;		/* stories per step */
	double lr;		/* Adam step of the linear weights (peak) */
	double norm_lr;		/* ... of the RMSNorm weights */
	double scale_lr;	/* ... of the log channel scales */
	int threads;		/* 0: one per CPU (at most 8); same result */
	int w4, pow2;		/* the rounding of the block linear layers */
	int group, zero;	/* W4: inputs per group, zero points */
	int codes;		/* W4: INPU_W4_GFMT_CODES group parameters */
	const uint8_t (*bits)[4];	/* or per layer (4 or 8), if not NULL */
	const float *act_scale;	/* NULL, or int8 scales to round activations
				 * at: [n_layers][S_PER_LAYER] (0: not at
				 * that site) then the final norm's output */
	void (*progress)(void *ctx, const char *stage, uint64_t done,
			 uint64_t total);
	void *progress_ctx;
};

/*
 * The grid of every block linear layer: channel scales s ([n]), group
 * scales gs and zero points z ([n][ceil(k / group)]; 1 and 0 for int8
 * rows, z all 0 without zero points).  Weight (i, j) is
 * (qround(w, s[i], gs, z, w4) - z) * gs * s with gs, z those of group
 * j / group.
 */
struct qtune_scales {
	uint8_t w4[INPU_QM_MAX_LAYERS][4];	/* 1: int4 groups, 0: int8 rows */
	int group;				/* inputs per group (all layers) */
	double *s[INPU_QM_MAX_LAYERS][4];
	uint8_t *gs[INPU_QM_MAX_LAYERS][4];
	int8_t *z[INPU_QM_MAX_LAYERS][4];
};

void qtune_scales_free(struct qtune_scales *sc);

/*
 * The integer a weight rounds to on its grid (quant_rtn's rounding): the
 * stored q, whose real value is (q - z) * gs * s.
 */
static inline int qround(double w, double s, int gs, int z, int w4)
{
	long q = lround(w / (gs * s)) + z;
	int lim = w4 ? 7 : 127;

	return q > lim ? lim : q < (w4 ? -8 : -127) ? (w4 ? -8 : -127) : (int)q;
}

/*
 * Tune the block linear layers, their channel scales and the RMSNorm
 * weights of @p in place so that @p with its linear layers rounded on
 * the grids of @sc reproduces @ref (or @p as it was if @ref is NULL)
 * (KL of the next-token
 * distributions over the stories of @tk).  The grids start as given in
 * @sc (the latent weights on them), or if @sc is empty as the
 * quantizer's round-to-nearest ones.  @sc ends as the trained grids
 * (free with qtune_scales_free).  @kl_first, @kl_last: mean KL
 * per token over the first and last epoch.
 */
int qtune_run(struct qprep *p, const struct qprep *ref, const struct qtokens *tk,
	      const struct qtune_opts *o, struct qtune_scales *sc, double *kl_first,
	      double *kl_last);

/*
 * One sequence: KL(@teacher || @student) summed over the @T positions of
 * @tok into @kl, its gradient with respect to the student's trainable
 * tensors added into @grad (made by qtune_grad_alloc; free with
 * qprep_free).  For the tests: the student's weights are used as given.
 */
int qtune_loss_grad(const struct qprep *teacher, const struct qprep *student,
		    const int *tok, int T, struct qprep *grad, double *kl);
int qtune_grad_alloc(const struct qprep *p, struct qprep *g);

/*
 * inpu_quant_matrix_ex() with @codes: W4 group scales among the levels of
 * INPU_W4_GFMT_CODES (zero points @z required).
 */
int qmatrix_rtn(const float *w, uint32_t n, uint32_t k, int w4, int pow2,
		int group, int codes, int8_t *z, int8_t *q, uint8_t *gs,
		double *scale);

#endif /* INPU_QUANT_INTERNAL_H */
