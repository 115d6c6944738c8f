/* SPDX-License-Identifier: MIT */
/*
 * The quantizer (offline, floating point): a float llama2.c model and a
 * calibration text in, an integer .inpu model out (QUANT.md).
 */
#ifndef INPU_QZ_QUANTIZE_H
#define INPU_QZ_QUANTIZE_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "qmodel.h"
#include "tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the quantizer (quantize.c, qcalib.c; float) ------------------------ */

/*
 * Round-to-nearest quantization of one matrix w[n][k], as the quantizer
 * does it.  W8 (@w4 0): q[n][k] in -127..127 with scale[n] = max|row| /
 * 127.  W4: q in -8..7, group scales gs[n][(k + 31) / 32] in 1..255 and
 * the channel unit scale[n]; the real weight is q * gs * scale.  With
 * @pow2 the scales are powers of two (rounded up).  @gs may be NULL for
 * W8.
 */
int inpu_quant_matrix(const float *w, uint32_t n, uint32_t k, int w4,
		      int pow2, int8_t *q, uint8_t *gs, double *scale);
/*
 * The same with groups of @group (32 or 16) inputs and, with @z
 * non-NULL, a zero point per group z[n][groups] in -8..7: the real
 * weight is (q - z) * gs * scale.
 */
int inpu_quant_matrix_ex(const float *w, uint32_t n, uint32_t k, int w4,
			 int pow2, int group, int8_t *z, int8_t *q, uint8_t *gs,
			 double *scale);

#define INPU_ACT_AUTO		(-1)

enum inpu_act_range {
	INPU_RANGE_MAX = 0,	/* max |x| over the calibration tokens */
	INPU_RANGE_PCT,		/* a percentile of |x| (opts.pct) */
	INPU_RANGE_MSE,		/* the clip minimising int8 quantization MSE */
};

struct inpu_quant_opts {
	int scheme;		/* INPU_QS_W8A8 or INPU_QS_W4A8 */
	int smooth;		/* 0 none, 1 fixed alpha, 2 alpha searched */
	double alpha;		/* SmoothQuant migration strength (smooth 1) */
	int pow2;		/* power-of-two scales only */
	int gptq;		/* GPTQ instead of round-to-nearest */
	int act_order;		/* GPTQ: columns by decreasing Hessian diagonal */
	int rotate;		/* rotate the residual stream and the values */
	int act_range;		/* enum inpu_act_range (static scales) */
	int act_dyn;		/* the inputs of the linear layers quantized
				 * per token on the device (I8ROW) instead of
				 * at calibrated scales; INPU_ACT_AUTO: yes
				 * unless pow2 (whose rescales are shifts) */
	int key16;		/* the key cache in int16 (RoPE's output as
				 * is) instead of int8 */
	double pct;		/* percentile for INPU_RANGE_PCT, e.g. 99.99 */
	int w4_cls;		/* W4A8: quantize the classifier to 4 bits too */
	int w4_group;		/* W4: inputs per group scale, 32 or 16 */
	int w4_zero;		/* W4: a zero point per group (asymmetric) */
	int w4_codes;		/* W4: scale and zero point as 4-bit codes in
				 * one byte per group (INPU_W4_GFMT_CODES;
				 * zero points implied) */
	double avg_bits;	/* W4A8: more than inpu_quant_w4_bits() mixes 4
				 * and 8 bits per linear layer of the blocks,
				 * by sensitivity, within this average number
				 * of bits per weight (group scale and zero
				 * point bytes counted) */
	uint32_t n_sample;	/* calibration tokens kept for searches */
	uint32_t max_stories;	/* 0: every calibration story */
	double gptq_damp;	/* fraction of mean diag(H), e.g. 0.01 */
	int ft_epochs;		/* > 0: quantization-aware fine-tuning of the
				 * block weights by distillation from the float
				 * model, this many passes (not with gptq);
				 * INPU_FT_AUTO: inpu_quant_auto_method() */
	int ft_batch;		/* stories per fine-tuning step */
	double ft_lr;		/* fine-tuning peak learning rate (Adam) */
	uint32_t ft_generate;	/* fine-tuning also distils on this many
				 * stories sampled from the float model */
	int ft_act;		/* fine-tuning also rounds the int8 activations
				 * (ranges from a calibration pass before it) */
	int threads;		/* worker threads, 0: one per CPU; the model
				 * is the same for any number */
	/* progress: stage name, done, total (may be NULL) */
	void (*progress)(void *ctx, const char *stage, uint64_t done,
			 uint64_t total);
	void *progress_ctx;
};

void inpu_quant_opts_default(struct inpu_quant_opts *o);

/*
 * W4A8's default budget (opts.avg_bits): 5 bits per weight, what groups
 * of 16 with a scale and a zero-point byte each take.  In 4-bit codes
 * (4.5 bits per weight) the half bit left goes to 8-bit layers.
 */
#define INPU_W4_AVG_BITS	5.0

/* Bits per weight of the 4-bit layers in the format @o asks for. */
double inpu_quant_w4_bits(const struct inpu_quant_opts *o);

/* 1 if @o mixes 4- and 8-bit layers (W4A8, avg_bits above the 4-bit format). */
int inpu_quant_mixes(const struct inpu_quant_opts *o);

/*
 * W4A8's default method (ft_epochs INPU_FT_AUTO; inpu quantize without
 * --finetune or --gptq): fine-tuning, INPU_FT_AUTO_EPOCHS passes, for a
 * model of at most INPU_FT_AUTO_MAX_PARAMS parameters outside the
 * embedding table, else GPTQ without fine-tuning: fine-tuning's time
 * grows with parameters times calibration tokens, and past that size it
 * misses the time goals (userspace/quantizer/README.md, make
 * bench-quantize).  Resolves @o (ft_epochs, gptq) for @m; returns 1 if it
 * chose GPTQ because of the model's size, else 0.  W8A8: ft_epochs 0.
 */
#define INPU_FT_AUTO		(-1)
#define INPU_FT_AUTO_EPOCHS	8
#define INPU_FT_AUTO_MAX_PARAMS	4000000ull
int inpu_quant_auto_method(const struct inpu_model_config *c,
			   struct inpu_quant_opts *o);

/* Output SNR of one linear layer against float on calibration data. */
struct inpu_quant_layer_report {
	char name[INPU_QM_NAME_LEN];	/* e.g. "l0.qkv" */
	double snr_w_db;	/* weights quantized, float inputs */
	double snr_wa_db;	/* weights and inputs quantized */
	double alpha;		/* smoothing alpha used (-1: none) */
	int bits;		/* weight bits: 4 or 8 */
	double sens;		/* NLL increase with 4 bits (-1: not measured) */
	double in_clip;		/* input clip value (real units) */
	double in_max;		/* input max |x| seen in calibration */
};

struct inpu_quant_report {
	uint64_t calib_tokens;
	uint64_t sample_tokens;
	uint32_t n_layers;	/* entries in layer[] */
	struct inpu_quant_layer_report layer[INPU_QM_MAX_LAYERS * 4 + 1];
	double w_bits;		/* linear layers of the blocks: bits per weight
				 * (group scale and zero point bytes counted) */
	double resid_max;
	uint32_t resid_frac;	/* residual = int32 / 2^resid_frac */
	double ft_kl_first;	/* fine-tuning: mean KL(float || rounded) per */
	double ft_kl_last;	/* token, first and last pass (nats) */
};

/*
 * Calibrate on @calib (stories separated by INPU_STORY_SEP, protocol of
 * ../shared/data/README.md), choose every scale and quantize @m into an
 * integer model.  @rep may be NULL.
 */
int inpu_quantize(const struct inpu_model *m, const struct inpu_tokenizer *t,
		  const char *calib, size_t calib_len,
		  const struct inpu_quant_opts *opts, struct inpu_qmodel **out,
		  struct inpu_quant_report *rep, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* INPU_QZ_QUANTIZE_H */
