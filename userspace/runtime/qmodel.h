/* SPDX-License-Identifier: MIT */
/*
 * The integer-only model in memory: a LLaMA-style network quantized for the
 * INPU ISA (engine/ISA.md), read from and written to .inpu files (the
 * on-disk layout is uapi/inpu/inpu_model_file.h, described in FORMAT.md).
 * Integer only.
 */
#ifndef INPU_RT_QMODEL_H
#define INPU_RT_QMODEL_H

#include <stddef.h>
#include <stdint.h>

#include <inpu/inpu_isa.h>
#include <inpu/inpu_model_file.h>

#include "file.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the quantized model (qmodel.c) ------------------------------------ */

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
	uint8_t *tokenizer;		/* a llama2.c tokenizer file, or NULL */
	uint64_t tokenizer_bytes;
};

struct inpu_tokenizer;

/* Embed @t (serialized) in @m, replacing any tokenizer.  -ENOMEM, -EFBIG. */
int inpu_qmodel_set_tokenizer(struct inpu_qmodel *m,
			      const struct inpu_tokenizer *t);
/*
 * The tokenizer embedded in @m (@name for messages); -ENOENT with a
 * message if the file has none.
 */
int inpu_qmodel_tokenizer(const struct inpu_qmodel *m, const char *name,
			  struct inpu_tokenizer **out, char *err, size_t errlen);

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

#ifdef __cplusplus
}
#endif

#endif /* INPU_RT_QMODEL_H */
