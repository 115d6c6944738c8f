/* SPDX-License-Identifier: MIT */
/*
 * The float32 reference: llama2.c checkpoints (v0 and v1 exports) and the
 * forward pass of run.c, in floating point.  Offline and evaluation code: it
 * runs on the host and never needs a device.
 */
#ifndef INPU_REF_MODEL_H
#define INPU_REF_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "file.h"
#include "tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Versions of the llama2.c checkpoint formats this library reads. */
#define INPU_CKPT_V0 0		/* legacy: 7 x int32 header, run.c order */
#define INPU_CKPT_V1 1		/* "ak42" v1: 256-byte header, export.py order */
#define INPU_CKPT_MAGIC 0x616b3432u	/* "ak42" as a little-endian uint32 */
#define INPU_CKPT_V1_HEADER 256
#define INPU_CKPT_GGUF 3	/* read from a GGUF file (gguf_llama.c) */

struct inpu_model_config {
	int dim;		/* residual stream width */
	int hidden_dim;		/* FFN width */
	int n_layers;
	int n_heads;		/* query heads */
	int n_kv_heads;		/* key/value heads (grouped-query attention) */
	int vocab_size;
	int seq_len;		/* maximum sequence length */
	int shared_classifier;	/* 1: the classifier is tok_embeddings */
	int version;		/* INPU_CKPT_V0 or INPU_CKPT_V1 (INPU_CKPT_GGUF) */
	float rope_theta;	/* RoPE base (llama2.c: 10000) */
	float norm_eps;		/* RMSNorm epsilon (llama2.c: 1e-5) */
};

/*
 * Float32 weights.  Every matrix is row-major [out][in] (PyTorch's
 * nn.Linear layout, as llama2.c stores it); per-layer tensors are
 * contiguous, layer after layer.
 */
struct inpu_model {
	struct inpu_model_config cfg;
	float *tok_embeddings;	/* [vocab_size][dim] */
	float *rms_att;		/* [n_layers][dim] */
	float *rms_ffn;		/* [n_layers][dim] */
	float *rms_final;	/* [dim] */
	float *wq;		/* [n_layers][dim][dim] */
	float *wk;		/* [n_layers][kv_dim][dim] */
	float *wv;		/* [n_layers][kv_dim][dim] */
	float *wo;		/* [n_layers][dim][dim] */
	float *w1;		/* [n_layers][hidden_dim][dim] (gate) */
	float *w2;		/* [n_layers][dim][hidden_dim] (down) */
	float *w3;		/* [n_layers][hidden_dim][dim] (up) */
	float *wcls;		/* [vocab_size][dim]; == tok_embeddings if shared */
	float *storage;		/* owns all of the above */
	size_t n_floats;	/* floats in storage */
};

static inline int inpu_model_head_size(const struct inpu_model_config *c)
{
	return c->dim / c->n_heads;
}

static inline int inpu_model_kv_dim(const struct inpu_model_config *c)
{
	return c->dim / c->n_heads * c->n_kv_heads;
}

/*
 * Parse a llama2.c checkpoint held in memory: v1 if it starts with the
 * "ak42" magic, v0 otherwise.  @name is used in messages (the file name).
 * The header must be sane (positive dimensions within limits, dim a
 * multiple of n_heads, n_heads a multiple of n_kv_heads, an even head
 * size), the size must be exactly what the header implies and every weight
 * finite.  Errors: -EINVAL (not a checkpoint, or inconsistent), -ENOTSUP
 * (a version this library does not read), -ENOMEM.
 */
int inpu_model_parse(const void *buf, size_t len, const char *name,
		     struct inpu_model **out, char *err, size_t errlen);

/* inpu_model_parse() on the contents of @path; errors of reading too. */
int inpu_model_load(const char *path, struct inpu_model **out, char *err,
		    size_t errlen);

void inpu_model_free(struct inpu_model *m);

/*
 * Read a llama2.c checkpoint or a GGUF file (by its magic) at @path.  A
 * GGUF file also yields its tokenizer in *@tok (if @tok is not NULL); a
 * llama2.c checkpoint carries none (*@tok = NULL).
 */
int inpu_model_open(const char *path, struct inpu_model **out,
		    struct inpu_tokenizer **tok, char *err, size_t errlen);

/*
 * The model and the tokenizer of a GGUF file of architecture "llama"
 * (gguf_llama.c; @tok may be NULL).  Its tensors are dequantized to float.
 */
int inpu_model_from_gguf(const void *buf, size_t len, const char *name,
			 struct inpu_model **out, struct inpu_tokenizer **tok,
			 char *err, size_t errlen);

/*
 * For readers of other containers: NULL if @c is a configuration this
 * library runs, else why not (in @why); a model with storage for @c's
 * tensors (wcls shares tok_embeddings if c->shared_classifier).
 */
const char *inpu_model_check_config(const struct inpu_model_config *c,
				    char *why, size_t whylen);
int inpu_model_alloc(const struct inpu_model_config *c, struct inpu_model **out);

/*
 * Write @m to @path as a legacy v0 checkpoint (run.c's format, which
 * llama.cpp's llama2.c converter reads): the unused RoPE tables as zeros.
 * -errno with a message on failure; a partial file is removed.
 */
int inpu_model_save_v0(const struct inpu_model *m, const char *path,
		       char *err, size_t errlen);



/*
 * Model and tokenizer agree: the model's vocab_size equals the tokenizer's
 * number of tokens.  -EINVAL with a message naming both otherwise.
 */
int inpu_model_check_tokenizer(const struct inpu_model *m,
			       const char *model_name,
			       const struct inpu_tokenizer *t,
			       const char *tok_name, char *err, size_t errlen);



struct inpu_float_state;

/* Activations and the KV cache for one sequence of up to seq_len tokens. */
int inpu_float_state_new(const struct inpu_model *m,
			 struct inpu_float_state **out);
void inpu_float_state_free(struct inpu_float_state *s);

/*
 * Run @token at position @pos (0 <= pos < seq_len; positions 0..pos-1 must
 * have been run before in this state, their keys and values are reused)
 * and return the vocab_size logits, valid until the next call.  This is
 * llama2.c run.c forward(): RMSNorm (cfg.norm_eps), RoPE on interleaved
 * pairs (base cfg.rope_theta), grouped-query attention, SwiGLU FFN, final RMSNorm and
 * the classifier.  Returns NULL for a token or position out of range.
 */
const float *inpu_float_forward(struct inpu_float_state *s, int token,
				int pos);

/* Index of the largest logit (the first one on ties): greedy sampling. */
int inpu_argmax(const float *v, int n);

#ifdef __cplusplus
}
#endif

#endif /* INPU_REF_MODEL_H */
