/* SPDX-License-Identifier: MIT */
/*
 * libinpu_model: llama2.c checkpoints and tokenizers, the float32 reference
 * forward pass and the perplexity protocol of ../shared/data/README.md.
 *
 * This is offline and evaluation code: it runs on the host, uses floating
 * point and never needs a device.  Like libinpu, functions return 0 or a
 * negative errno and never print; the ones that can fail for a reason worth
 * explaining also write one line of text (naming the file and what is
 * wrong) into a caller buffer @err of @errlen bytes, which may be NULL.
 */
#ifndef INPU_MODEL_H
#define INPU_MODEL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A buffer large enough for any message of this library. */
#define INPU_MODEL_ERRLEN 512

/* Token ids fixed by the llama2.c / sentencepiece vocabulary layout. */
#define INPU_TOK_UNK 0
#define INPU_TOK_BOS 1
#define INPU_TOK_EOS 2
#define INPU_TOK_BYTE0 3	/* <0x00> .. <0xFF> are ids 3 .. 258 */

/* ---- checkpoints (checkpoint.c) ---------------------------------------- */

/* Versions of the llama2.c checkpoint formats this library reads. */
#define INPU_CKPT_V0 0		/* legacy: 7 x int32 header, run.c order */
#define INPU_CKPT_V1 1		/* "ak42" v1: 256-byte header, export.py order */
#define INPU_CKPT_MAGIC 0x616b3432u	/* "ak42" as a little-endian uint32 */
#define INPU_CKPT_V1_HEADER 256

struct inpu_model_config {
	int dim;		/* residual stream width */
	int hidden_dim;		/* FFN width */
	int n_layers;
	int n_heads;		/* query heads */
	int n_kv_heads;		/* key/value heads (grouped-query attention) */
	int vocab_size;
	int seq_len;		/* maximum sequence length */
	int shared_classifier;	/* 1: the classifier is tok_embeddings */
	int version;		/* INPU_CKPT_V0 or INPU_CKPT_V1 */
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

/* ---- tokenizer (tokenizer.c) -------------------------------------------- */

struct inpu_tokenizer;

/*
 * Parse a llama2.c tokenizer (int32 max_token_length, then per token a
 * float32 score, an int32 length and the bytes) held in memory.  The
 * number of tokens is what the file holds; it must have the 3 special
 * tokens and the 256 byte tokens <0x00>..<0xFF> at ids 3..258, token
 * lengths within max_token_length and no NUL bytes inside a token.
 */
int inpu_tokenizer_parse(const void *buf, size_t len, const char *name,
			 struct inpu_tokenizer **out, char *err,
			 size_t errlen);
int inpu_tokenizer_load(const char *path, struct inpu_tokenizer **out,
			char *err, size_t errlen);
void inpu_tokenizer_free(struct inpu_tokenizer *t);

int inpu_tokenizer_size(const struct inpu_tokenizer *t);
/* The vocabulary entry of @id (NUL-terminated) and its score. */
const char *inpu_tokenizer_token(const struct inpu_tokenizer *t, int id);
float inpu_tokenizer_score(const struct inpu_tokenizer *t, int id);

/* The most tokens inpu_tokenizer_encode() can produce for @len bytes. */
static inline size_t inpu_tokenizer_max_tokens(size_t len)
{
	return len + 3;
}

/*
 * BPE-encode @len bytes of @text exactly as llama2.c run.c encode() does:
 * optional BOS, the dummy prefix " " when the text is not empty, one token
 * per UTF-8 character (or byte-fallback tokens <0xXX> for characters not
 * in the vocabulary), then repeatedly merge the adjacent pair whose
 * concatenation is the best-scoring vocabulary entry (leftmost on ties),
 * then optional EOS.  @tokens has room for @cap ids (see
 * inpu_tokenizer_max_tokens()).  Stops at a NUL byte, as the C string
 * run.c sees would.  Returns the number of tokens or -ENOSPC.
 */
long inpu_tokenizer_encode(const struct inpu_tokenizer *t, const char *text,
			   size_t len, int bos, int eos, int *tokens,
			   size_t cap);

/*
 * The text of @token following @prev, as run.c decode() gives it: the
 * leading space of the first piece after BOS is dropped and <0xXX> tokens
 * are the raw byte.  BOS and EOS decode to nothing.  *len is the length
 * (a raw byte may be 0).  Returns NULL for an id out of range.
 */
const char *inpu_tokenizer_piece(const struct inpu_tokenizer *t, int prev,
				 int token, size_t *len);

/*
 * Decode @n tokens as one sequence that starts after BOS (so a BOS-less
 * inpu_tokenizer_encode() output decodes like one with BOS) into @buf of
 * @cap bytes, NUL-terminated when @cap > 0.  Returns the length the full text needs
 * (like snprintf), or -EINVAL for an id out of range.
 */
long inpu_tokenizer_decode(const struct inpu_tokenizer *t, const int *tokens,
			   size_t n, char *buf, size_t cap);

/*
 * Model and tokenizer agree: the model's vocab_size equals the tokenizer's
 * number of tokens.  -EINVAL with a message naming both otherwise.
 */
int inpu_model_check_tokenizer(const struct inpu_model *m,
			       const char *model_name,
			       const struct inpu_tokenizer *t,
			       const char *tok_name, char *err, size_t errlen);

/* ---- float32 reference forward pass (forward_float.c) ------------------ */

struct inpu_float_state;

/* Activations and the KV cache for one sequence of up to seq_len tokens. */
int inpu_float_state_new(const struct inpu_model *m,
			 struct inpu_float_state **out);
void inpu_float_state_free(struct inpu_float_state *s);

/*
 * Run @token at position @pos (0 <= pos < seq_len; positions 0..pos-1 must
 * have been run before in this state, their keys and values are reused)
 * and return the vocab_size logits, valid until the next call.  This is
 * llama2.c run.c forward(): RMSNorm (eps 1e-5), RoPE on interleaved pairs
 * (theta 10000), grouped-query attention, SwiGLU FFN, final RMSNorm and
 * the classifier.  Returns NULL for a token or position out of range.
 */
const float *inpu_float_forward(struct inpu_float_state *s, int token,
				int pos);

/* Index of the largest logit (the first one on ties): greedy sampling. */
int inpu_argmax(const float *v, int n);

/* ---- perplexity (ppl.c) ------------------------------------------------ */

/*
 * A language model as the perplexity code sees it: the logits after
 * @token at @pos, with the same contract as inpu_float_forward() (which
 * fits directly, with the state as @ctx).
 */
typedef const float *(*inpu_logits_fn)(void *ctx, int token, int pos);

struct inpu_lm {
	inpu_logits_fn forward;
	void *ctx;
	int vocab_size;
	int seq_len;
};

static inline const float *inpu_float_lm_forward(void *ctx, int token, int pos)
{
	return inpu_float_forward((struct inpu_float_state *)ctx, token, pos);
}

/* The story separator of the TinyStories text files. */
#define INPU_STORY_SEP "<|endoftext|>"

/*
 * Find the next story in [*pos, end): the text up to the next
 * INPU_STORY_SEP (or the end), whitespace-only stories skipped.  Sets
 * *start and *len to the raw span and advances *pos past the separator.
 * Returns 1 if a story was found, 0 at the end.
 */
int inpu_story_next(const char **pos, const char *end, const char **start,
		    size_t *len);

/* Number of stories inpu_story_next() finds in @text. */
size_t inpu_story_count(const char *text, size_t len);

/*
 * The story text the protocol encodes: leading and trailing ASCII
 * whitespace removed and every "\n\n" replaced by "\n" (left to right, not
 * overlapping, like Python's str.replace).  @out has room for @len bytes;
 * returns the length written.
 */
size_t inpu_story_normalize(const char *in, size_t len, char *out);

struct inpu_ppl {
	double nll;		/* sum of negative log-likelihoods (nats) */
	uint64_t tokens;	/* tokens scored */
	uint64_t stories;	/* stories scored */
};

/* exp(mean NLL): the perplexity; 0 when nothing was scored. */
double inpu_ppl_value(const struct inpu_ppl *p);

/*
 * -log softmax(@logits)[@target], computed in double precision.
 */
double inpu_nll(const float *logits, int n, int target);

/*
 * Score one normalized story: tokens = BOS + encode(@text) cut at
 * lm->seq_len, and every token after BOS adds its negative log-likelihood
 * to @acc.  Returns 0, -ENOMEM or -EIO (the model returned no logits).
 */
int inpu_ppl_story(const struct inpu_tokenizer *t, const struct inpu_lm *lm,
		   const char *text, size_t len, struct inpu_ppl *acc);

/* Called after each story with the running totals; may be NULL. */
typedef void (*inpu_ppl_progress_fn)(void *ctx, const struct inpu_ppl *acc,
				     uint64_t total_stories);

/*
 * The whole protocol of ../shared/data/README.md over @text: every story
 * (at most @max_stories of them unless 0) normalized and scored by
 * inpu_ppl_story().  @acc is zeroed first.
 */
int inpu_ppl_text(const struct inpu_tokenizer *t, const struct inpu_lm *lm,
		  const char *text, size_t len, uint64_t max_stories,
		  inpu_ppl_progress_fn progress, void *progress_ctx,
		  struct inpu_ppl *acc);

/* ---- files (file.c) ---------------------------------------------------- */

/*
 * Read a whole regular file into a malloc'ed buffer (NUL-terminated, the
 * NUL not counted in *len).  Errors: the errno of open/read, -EISDIR or
 * -EINVAL for something that is not a regular file, -EFBIG, -ENOMEM.
 */
int inpu_read_file(const char *path, char **buf, size_t *len, char *err,
		   size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* INPU_MODEL_H */
