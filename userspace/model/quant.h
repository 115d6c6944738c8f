/* SPDX-License-Identifier: MIT */
/*
 * The integer-only model: a LLaMA-style network quantized for the INPU ISA
 * (engine/ISA.md), its file format (.inpu, FORMAT.md), the command stream
 * of one decode step (QUANT.md) and the CPU backend that runs that stream
 * through the engine library on host memory.
 *
 * Split by what may use floating point:
 *  - integer only (the per-step path; tests/host/check_no_float.sh can
 *    check their objects): qmodel.c (in-memory model, .inpu reader and
 *    writer), qgraph.c (memory plan and stream), qcpu.c (CPU backend);
 *  - floating point allowed (offline and evaluation): quantize.c and
 *    qcalib.c (calibration, smoothing, scales, GPTQ), qlm.c (int32 logits
 *    to float for the perplexity code).
 *
 * Like the rest of libinpu_model, functions return 0 or a negative errno,
 * never print, and write a one-line message into @err when they can fail
 * for a reason worth explaining.
 */
#ifndef INPU_QUANT_H
#define INPU_QUANT_H

#include <stddef.h>
#include <stdint.h>

#include <inpu/inpu_isa.h>

#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the quantized model (qmodel.c) ------------------------------------ */

#define INPU_QM_MAGIC		0x4d514e49u	/* "INQM" little-endian */
#define INPU_QM_VERSION		1
#define INPU_QM_HEADER_BYTES	256
#define INPU_QM_TENSOR_BYTES	64		/* one tensor-table entry */
#define INPU_QM_NAME_LEN	32		/* NUL-padded tensor name */
#define INPU_QM_NOTE_LEN	128		/* NUL-padded free text */
#define INPU_QM_ALIGN		4096		/* data section, weight tiles */
#define INPU_QM_VEC_ALIGN	64		/* every other tensor */
#define INPU_QM_MAX_LAYERS	256
#define INPU_QM_MAX_TENSORS	4096
#define INPU_QM_MAX_DIM		65536

/* Weight schemes (informational: each tensor carries its own dtype). */
#define INPU_QS_W8A8		1
#define INPU_QS_W4A8		2

/* Flags: how the model was made (informational, shown by tools). */
#define INPU_QF_POW2		(1u << 0)	/* every rescale a power of two */
#define INPU_QF_SMOOTH		(1u << 1)	/* SmoothQuant scale migration */
#define INPU_QF_GPTQ		(1u << 2)	/* GPTQ weight rounding */
#define INPU_QF_ROTATE		(1u << 3)	/* rotated residual stream */
#define INPU_QF_FINETUNE	(1u << 4)	/* quantization-aware fine-tuning */
#define INPU_QF_ALL		(INPU_QF_POW2 | INPU_QF_SMOOTH | INPU_QF_GPTQ | \
				 INPU_QF_ROTATE | INPU_QF_FINETUNE)

/* Model dimensions and the engine tables the parameters were derived for. */
struct inpu_qconfig {
	uint32_t dim;
	uint32_t hidden_dim;
	uint32_t n_layers;
	uint32_t n_heads;
	uint32_t n_kv_heads;
	uint32_t head_dim;
	uint32_t vocab_size;
	uint32_t seq_len;
	uint32_t scheme;	/* INPU_QS_* */
	uint32_t flags;		/* INPU_QF_* */
	uint32_t logit_frac;	/* logits = int32 / 2^logit_frac */
	uint32_t fw_abi;	/* INPU_FW_ABI_VERSION it was built for */
	uint32_t exp_len, exp_frac;
	uint32_t silu_len, silu_zero, silu_in_frac, silu_out_frac;
};

/* Integer parameters of the ops outside any layer. */
struct inpu_qglobal {
	int32_t embed_mult, embed_shift;	/* EMBED */
	uint32_t final_eps, final_shift;	/* final RMSNORM */
};

/* Integer parameters (op immediates) of one layer. */
struct inpu_qlayer {
	uint32_t att_eps, att_shift;		/* attention RMSNORM */
	int32_t qkv_shift;			/* ADD int16 -> int8 after ROPE */
	int32_t score_mult, score_shift;	/* ATTENTION scores -> exp steps */
	int32_t att_mult, att_shift_out;	/* ATTENTION output */
	uint32_t ffn_eps, ffn_shift;		/* FFN RMSNORM */
	int32_t silu_in_mult, silu_in_shift;	/* SWIGLU gate -> table index */
	int32_t silu_out_mult, silu_out_shift;	/* SWIGLU output */
};

/* Number of 32-bit words of the structs above in the file. */
#define INPU_QM_GLOBAL_WORDS	4
#define INPU_QM_LAYER_WORDS	13

/* One tensor of the data section (the device image). */
struct inpu_qtensor {
	char name[INPU_QM_NAME_LEN];	/* NUL-terminated */
	uint8_t dtype;			/* enum inpu_dtype */
	uint32_t rows, cols;		/* W8/W4: N x K; others: elements */
	uint64_t offset;		/* in the data section */
	uint64_t bytes;
};

struct inpu_qmodel {
	struct inpu_qconfig cfg;
	struct inpu_qglobal glob;
	struct inpu_qlayer *layers;	/* [n_layers] */
	struct inpu_qtensor *tensors;
	uint32_t n_tensors;
	uint8_t *data;			/* the device image, data_size bytes */
	uint64_t data_size;		/* multiple of INPU_QM_ALIGN */
	char note[INPU_QM_NOTE_LEN];	/* how it was made (free text) */
};

/*
 * The tensors every model has (names; "l%u." prefixes per layer):
 *   embed      INT16  [vocab][dim]          EMBED table
 *   rope       INT16  [seq_len][head_dim]   (cos, sin) Q14 per position
 *   final.g    INT32  [1][dim]              final RMSNORM multipliers
 *   cls.w      W8/W4  [vocab][dim]          classifier (+ cls.gs if W4)
 *   cls.qp     QPARAM [1][vocab]
 *   l%u.att.g  INT32  [1][dim]
 *   l%u.qkv.w  W8/W4  [dim + 2 kv_dim][dim] (+ .gs), l%u.qkv.qp
 *   l%u.wo.w   W8/W4  [dim][dim]            (+ .gs), l%u.wo.qp
 *   l%u.ffn.g  INT32  [1][dim]
 *   l%u.w13.w  W8/W4  [2 hidden][dim]       (+ .gs), l%u.w13.qp
 *   l%u.w2.w   W8/W4  [dim][hidden]         (+ .gs), l%u.w2.qp
 * W4 group scales ".gs" are UINT8 [Kpad/G][Npad] for groups of G = 32 or
 * 16 inputs, optional W4 zero points ".gz" INT8 of the same shape
 * (ISA.md section 4).
 */

struct inpu_qmodel *inpu_qmodel_alloc(const struct inpu_qconfig *cfg);
void inpu_qmodel_free(struct inpu_qmodel *m);

/* The tensor called @name, or NULL. */
const struct inpu_qtensor *inpu_qmodel_find(const struct inpu_qmodel *m,
					     const char *name);
/* Same, by a printf format (per-layer names). */
const struct inpu_qtensor *inpu_qmodel_findf(const struct inpu_qmodel *m,
					      const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Append a tensor (zeroed) to the data section, aligned to INPU_QM_ALIGN
 * for tiled dtypes and INPU_QM_VEC_ALIGN otherwise.  The data section may
 * move: take pointers with inpu_qmodel_data() after the last add.
 * Returns 0, -ENOMEM, or -EINVAL (bad shape, duplicate or bad name).
 */
int inpu_qmodel_add(struct inpu_qmodel *m, const char *name, uint8_t dtype,
		    uint32_t rows, uint32_t cols);
/* The bytes of tensor @name in the data section, or NULL. */
void *inpu_qmodel_data(struct inpu_qmodel *m, const char *name);
/*
 * A linear layer's tensors: PFX.w (n x k), PFX.gs (W4 group scales, groups
 * of @group inputs), PFX.gz (W4 zero points, with @zero), PFX.qp.
 * inpu_qmodel_add_linear: groups of 32, no zero points.
 */
int inpu_qmodel_add_linear_fmt(struct inpu_qmodel *m, const char *pfx,
			       uint32_t n, uint32_t k, int w4, int group,
			       int zero);
/*
 * The group size of a W4 layer of @k inputs whose group scales have
 * @gs_rows rows: 16 if that is Kpad / 16, else 32 (the reader checks the
 * rows against it).
 */
uint32_t inpu_qmodel_w4_group(uint32_t k, uint32_t gs_rows);
int inpu_qmodel_add_linear(struct inpu_qmodel *m, const char *pfx, uint32_t n,
			   uint32_t k, int w4);

/*
 * Check that @m is complete and consistent: config limits, every tensor
 * the graph needs present with its dtype and shape, in bounds, aligned,
 * non-overlapping; parameters in range.  Used by the reader and before
 * writing.  -EINVAL with a message.
 */
int inpu_qmodel_check(const struct inpu_qmodel *m, char *err, size_t errlen);

/*
 * Serialize to the .inpu format (FORMAT.md): deterministic, the same
 * model gives the same bytes.  *buf is malloc'ed.
 */
int inpu_qmodel_serialize(const struct inpu_qmodel *m, uint8_t **buf,
			  size_t *len, char *err, size_t errlen);
int inpu_qmodel_save(const struct inpu_qmodel *m, const char *path,
		     char *err, size_t errlen);

/*
 * Parse a .inpu file held in memory; @name is used in messages.  Checks
 * magic, version, sizes, the SHA-256 checksum, the firmware ABI, the
 * config, the tensor table and the parameters.  Errors: -EINVAL (not a
 * .inpu file, corrupt or inconsistent), -ENOTSUP (another format version
 * or firmware ABI), -ENOMEM.
 */
int inpu_qmodel_parse(const void *buf, size_t len, const char *name,
		      struct inpu_qmodel **out, char *err, size_t errlen);
int inpu_qmodel_load(const char *path, struct inpu_qmodel **out, char *err,
		     size_t errlen);

/* 1 if the first bytes of a file are the .inpu magic. */
int inpu_qmodel_sniff(const void *buf, size_t len);

/* ---- the stream of one decode step (qgraph.c) --------------------------- */

/*
 * Where everything lives.  The weights region is the data section of the
 * file as is (read-only to the device), at @wbase; the state region
 * (activations, KV caches, ids, logits) is read-write, at @sbase.  Both
 * bases must be multiples of 4096.
 */
/* Rows (tokens) one prefill stream processes at most. */
#define INPU_QGRAPH_MAX_ROWS	32

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
	uint64_t xn;		/* INT8 [1][dim]: RMSNORM outputs */
	uint64_t qkv16;		/* INT16 [1][dim + 2 kv_dim] */
	uint64_t qkv8;		/* INT8 [1][dim + 2 kv_dim] */
	uint64_t att;		/* INT8 [1][dim] */
	uint64_t y32;		/* INT32 [1][dim]: wo and w2 outputs */
	uint64_t gu16;		/* INT16 [1][2 hidden]: gate | up */
	uint64_t h8;		/* INT8 [1][hidden] */
	uint64_t kcache;	/* INT8 [n_layers][seq_len][kv_dim] */
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

/* ---- the CPU backend (qcpu.c) ------------------------------------------- */

struct inpu_qcpu;

/*
 * Lay out @m in host memory, build and validate its step stream, and load
 * the engine's default tables (engine/tables_gen.h, the ones the firmware
 * carries); their geometry must be the one @m was built for.  @level caps
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
/* The stream and its memory plan (for tools and tests). */
const void *inpu_qcpu_stream(const struct inpu_qcpu *c, size_t *len);
const struct inpu_qlayout *inpu_qcpu_layout(const struct inpu_qcpu *c);
/* Host pointer of a state-region offset (tests inspect activations). */
void *inpu_qcpu_state(struct inpu_qcpu *c, uint64_t offset);

/* ---- the integer model as a struct inpu_lm (qlm.c, float) -------------- */

struct inpu_qlm;

/* Wrap a CPU backend so that the perplexity code can score it. */
/* A backend's step: int32 logits of @token at @pos, or NULL on error. */
typedef const int32_t *(*inpu_qstep_fn)(void *backend, int token, int pos);

/* Wrap any backend's step (the device backend uses this). */
int inpu_qlm_new_step(inpu_qstep_fn step, void *backend,
		      const struct inpu_qmodel *m, struct inpu_qlm **out);
int inpu_qlm_new(struct inpu_qcpu *c, const struct inpu_qmodel *m,
		 struct inpu_qlm **out);
void inpu_qlm_free(struct inpu_qlm *q);
/* An inpu_logits_fn: the int32 logits as floats (value / 2^logit_frac). */
const float *inpu_qlm_forward(void *ctx, int token, int pos);
void inpu_qlm_lm(struct inpu_qlm *q, struct inpu_lm *lm);

/* ---- requantization pairs (quantize.c, float) --------------------------- */

/*
 * The (mult, shift) with mult / 2^shift closest to @real > 0: mult in
 * [2^30, 2^31) when shift allows (relative error <= 2^-31), 0 <= shift
 * <= 62.  With @pow2, mult is a power of two: 1 with a shift, or 2^k with
 * shift 0 for a real >= 1 (@real is rounded to the nearest power of two
 * in the log domain).  -ERANGE if the real is not positive or too large
 * (mult would reach 2^31) or too small (mult would be 0).
 */
int inpu_requant_pair(double real, int pow2, int32_t *mult, int32_t *shift);
/* The real value of a pair: mult / 2^shift. */
double inpu_requant_real(int32_t mult, int32_t shift);

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
	int act_range;		/* enum inpu_act_range */
	double pct;		/* percentile for INPU_RANGE_PCT, e.g. 99.99 */
	int w4_cls;		/* W4A8: quantize the classifier to 4 bits too */
	int w4_group;		/* W4: inputs per group scale, 32 or 16 */
	int w4_zero;		/* W4: a zero point per group (asymmetric) */
	double avg_bits;	/* W4A8: > 4 mixes 4 and 8 bits per linear layer
				 * of the blocks, by sensitivity, within this
				 * average number of bits per weight */
	uint32_t n_sample;	/* calibration tokens kept for searches */
	uint32_t max_stories;	/* 0: every calibration story */
	double gptq_damp;	/* fraction of mean diag(H), e.g. 0.01 */
	int ft_epochs;		/* > 0: quantization-aware fine-tuning of the
				 * block weights by distillation from the float
				 * model, this many passes (not with gptq) */
	int ft_batch;		/* stories per fine-tuning step */
	double ft_lr;		/* fine-tuning peak learning rate (Adam) */
	uint32_t ft_generate;	/* fine-tuning also distils on this many
				 * stories sampled from the float model */
	int ft_act;		/* fine-tuning also rounds the int8 activations
				 * (ranges from a calibration pass before it) */
	/* progress: stage name, done, total (may be NULL) */
	void (*progress)(void *ctx, const char *stage, uint64_t done,
			 uint64_t total);
	void *progress_ctx;
};

void inpu_quant_opts_default(struct inpu_quant_opts *o);

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

#endif /* INPU_QUANT_H */
