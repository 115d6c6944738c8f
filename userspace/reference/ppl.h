/* SPDX-License-Identifier: MIT */
/*
 * The perplexity protocol of ../shared/data/README.md over any language
 * model that gives float logits (struct inpu_lm): the float reference, the
 * integer backends through qlm.h.
 */
#ifndef INPU_REF_PPL_H
#define INPU_REF_PPL_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

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
	uint64_t unk;		/* characters scored as <unk> (no byte tokens) */
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

#ifdef __cplusplus
}
#endif

#endif /* INPU_REF_PPL_H */
