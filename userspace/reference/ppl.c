// SPDX-License-Identifier: MIT
/*
 * Perplexity, with the protocol of ../shared/data/README.md so that
 * numbers compare across tools: each story separately; tokens = BOS +
 * the llama2.c BPE encoding (dummy prefix included) of the story with
 * leading and trailing whitespace removed and paragraphs joined by single
 * newlines ("\n\n" -> "\n"), cut at the model's seq_len; PPL = exp(mean
 * negative log-likelihood of every token after BOS over all stories).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer.h"
#include "ppl.h"

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' ||
	       c == '\r';
}

static const char *find_sep(const char *p, const char *end)
{
	size_t sl = sizeof(INPU_STORY_SEP) - 1;

	while ((size_t)(end - p) >= sl) {
		const char *lt = memchr(p, '<', (size_t)(end - p) - sl + 1);

		if (!lt)
			break;
		if (!memcmp(lt, INPU_STORY_SEP, sl))
			return lt;
		p = lt + 1;
	}
	return NULL;
}

int inpu_story_next(const char **pos, const char *end, const char **start,
		    size_t *len)
{
	const char *p = *pos;

	while (p < end) {
		const char *sep = find_sep(p, end);
		const char *stop = sep ? sep : end;
		const char *q;

		*pos = sep ? sep + sizeof(INPU_STORY_SEP) - 1 : end;
		for (q = p; q < stop && is_space(*q); q++)
			;
		if (q < stop) {
			*start = p;
			*len = (size_t)(stop - p);
			return 1;
		}
		p = *pos;
	}
	*pos = end;
	return 0;
}

size_t inpu_story_count(const char *text, size_t len)
{
	const char *pos = text, *end = text + len, *s;
	size_t n = 0, l;

	while (inpu_story_next(&pos, end, &s, &l))
		n++;
	return n;
}

size_t inpu_story_normalize(const char *in, size_t len, char *out)
{
	const char *b = in, *e = in + len;
	size_t n = 0;

	while (b < e && is_space(*b))
		b++;
	while (e > b && is_space(e[-1]))
		e--;
	while (b < e) {
		if (*b == '\n' && b + 1 < e && b[1] == '\n') {
			out[n++] = '\n';
			b += 2;
		} else {
			out[n++] = *b++;
		}
	}
	return n;
}

double inpu_ppl_value(const struct inpu_ppl *p)
{
	return p->tokens ? exp(p->nll / (double)p->tokens) : 0.0;
}

double inpu_nll(const float *logits, int n, int target)
{
	double max = logits[0], sum = 0.0;

	for (int i = 1; i < n; i++)
		if (logits[i] > max)
			max = logits[i];
	for (int i = 0; i < n; i++)
		sum += exp((double)logits[i] - max);
	return log(sum) - ((double)logits[target] - max);
}

int inpu_ppl_story(const struct inpu_tokenizer *t, const struct inpu_lm *lm,
		   const char *text, size_t len, struct inpu_ppl *acc)
{
	size_t cap = inpu_tokenizer_max_tokens(len), unk = 0;
	int *tokens = malloc(cap * sizeof(*tokens));
	long n;

	if (!tokens)
		return -ENOMEM;
	n = inpu_tokenizer_encode_unk(t, text, len, 1, 0, tokens, cap, &unk);
	acc->unk += unk;
	if (n < 0) {
		free(tokens);
		return (int)n;
	}
	if (n > lm->seq_len)
		n = lm->seq_len;
	for (long pos = 0; pos + 1 < n; pos++) {
		const float *logits = lm->forward(lm->ctx, tokens[pos], (int)pos);

		if (!logits || tokens[pos + 1] >= lm->vocab_size) {
			free(tokens);
			return -EIO;
		}
		acc->nll += inpu_nll(logits, lm->vocab_size, tokens[pos + 1]);
		acc->tokens++;
	}
	acc->stories++;
	free(tokens);
	return 0;
}

int inpu_ppl_text(const struct inpu_tokenizer *t, const struct inpu_lm *lm,
		  const char *text, size_t len, uint64_t max_stories,
		  inpu_ppl_progress_fn progress, void *progress_ctx,
		  struct inpu_ppl *acc)
{
	const char *pos = text, *end = text + len, *s;
	uint64_t total = inpu_story_count(text, len);
	char *buf = NULL;
	size_t l;
	int ret = 0;

	memset(acc, 0, sizeof(*acc));
	if (max_stories && max_stories < total)
		total = max_stories;
	while (acc->stories < total && inpu_story_next(&pos, end, &s, &l)) {
		char *nb = realloc(buf, l ? l : 1);
		size_t nl;

		if (!nb) {
			ret = -ENOMEM;
			break;
		}
		buf = nb;
		nl = inpu_story_normalize(s, l, buf);
		ret = inpu_ppl_story(t, lm, buf, nl, acc);
		if (ret)
			break;
		if (progress)
			progress(progress_ctx, acc, total);
	}
	free(buf);
	return ret;
}
