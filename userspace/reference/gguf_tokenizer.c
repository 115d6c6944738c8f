// SPDX-License-Identifier: MIT
/*
 * The "llama" (SentencePiece) vocabulary of a GGUF file as the runtime's
 * tokenizer.  The pieces are written out as a llama2.c tokenizer file in
 * memory and read back by inpu_tokenizer_parse(), so one parser checks
 * every vocabulary whatever container it came in.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf.h"
#include "tokenizer.h"
#include "util.h"

/* SentencePiece writes a space as U+2581; llama2.c's files as ' '. */
static const char sp_space[] = "\xe2\x96\x81";

static size_t piece_len(struct inpu_gguf_str s)
{
	size_t n = 0;

	for (uint64_t i = 0; i < s.len; i++, n++)
		if (s.len - i >= 3 && !memcmp(s.s + i, sp_space, 3))
			i += 2;
	return n;
}

static unsigned char *put_piece(unsigned char *p, struct inpu_gguf_str s,
				float score)
{
	int32_t n = (int32_t)piece_len(s);

	memcpy(p, &score, 4);
	memcpy(p + 4, &n, 4);
	p += 8;
	for (uint64_t i = 0; i < s.len; i++) {
		if (s.len - i >= 3 && !memcmp(s.s + i, sp_space, 3)) {
			*p++ = ' ';
			i += 2;
		} else {
			*p++ = (unsigned char)s.s[i];
		}
	}
	return p;
}

/* Optional id key @key that must be @want (the runtime's fixed layout). */
static int check_id(const struct inpu_gguf *g, const char *name, const char *key,
		    uint32_t want, char *err, size_t errlen)
{
	uint32_t v;
	int ret = inpu_gguf_get_u32(g, key, &v, err, errlen);

	if (ret == -ENOENT)
		return 0;
	if (!ret && v != want) {
		inpu_model_seterr(err, errlen,
				  "%s: %s is %u: the runtime needs <unk>, BOS and EOS at ids 0, 1 and 2 (the llama2.c layout)",
				  name, key, v);
		ret = -ENOTSUP;
	}
	return ret;
}

static int check_model(const struct inpu_gguf *g, const char *name, char *err,
		       size_t errlen)
{
	const struct inpu_gguf_kv *sp = inpu_gguf_find(g, "tokenizer.ggml.add_space_prefix");
	struct inpu_gguf_str s;
	int ret = inpu_gguf_get_str(g, "tokenizer.ggml.model", &s, err, errlen);

	if (ret == -ENOENT)
		inpu_model_seterr(err, errlen,
				  "%s: metadata key 'tokenizer.ggml.model' is missing: the file has no tokenizer (give one with -z)",
				  name);
	else if (!ret && !inpu_gguf_str_eq(s, "llama")) {
		inpu_model_seterr(err, errlen,
				  "%s: tokenizer model '%.*s' is not supported (only 'llama', SentencePiece)",
				  name, (int)(s.len > 32 ? 32 : s.len), s.s);
		return -ENOTSUP;
	}
	if (ret)
		return -EINVAL;
	if (sp && sp->type == INPU_GGUF_BOOL && !sp->val[0]) {
		inpu_model_seterr(err, errlen,
				  "%s: tokenizer.ggml.add_space_prefix is false: the runtime always adds SentencePiece's leading space",
				  name);
		return -ENOTSUP;
	}
	ret = check_id(g, name, "tokenizer.ggml.unknown_token_id", INPU_TOK_UNK, err, errlen);
	if (!ret)
		ret = check_id(g, name, "tokenizer.ggml.bos_token_id", INPU_TOK_BOS, err, errlen);
	if (!ret)
		ret = check_id(g, name, "tokenizer.ggml.eos_token_id", INPU_TOK_EOS, err, errlen);
	return ret;
}

/* The token and score arrays, of @n entries each (scores optional). */
static int get_arrays(const struct inpu_gguf *g, const char *name, int n,
		      const struct inpu_gguf_kv **tk, const struct inpu_gguf_kv **sc,
		      char *err, size_t errlen)
{
	*tk = inpu_gguf_find(g, "tokenizer.ggml.tokens");
	*sc = inpu_gguf_find(g, "tokenizer.ggml.scores");
	if (!*tk || (*tk)->type != INPU_GGUF_ARRAY || (*tk)->elem_type != INPU_GGUF_STRING) {
		inpu_model_seterr(err, errlen,
				  "%s: tokenizer.ggml.tokens is missing or not an array of strings",
				  name);
		return -EINVAL;
	}
	if ((*tk)->n != (uint64_t)n) {
		inpu_model_seterr(err, errlen,
				  "%s: tokenizer.ggml.tokens has %llu tokens but token_embd.weight has %d rows",
				  name, (unsigned long long)(*tk)->n, n);
		return -EINVAL;
	}
	if (*sc && ((*sc)->type != INPU_GGUF_ARRAY || (*sc)->elem_type != INPU_GGUF_F32 ||
		    (*sc)->n != (uint64_t)n)) {
		inpu_model_seterr(err, errlen,
				  "%s: tokenizer.ggml.scores is not an array of %d float32",
				  name, n);
		return -EINVAL;
	}
	return 0;
}

/* The llama2.c tokenizer file of the pieces @s and scores @sc. */
static unsigned char *to_llama2c(const struct inpu_gguf_str *s, int n,
				 const struct inpu_gguf_kv *sc, size_t *len)
{
	size_t total = 4, maxlen = 1;
	unsigned char *buf, *p;
	int32_t m;

	for (int i = 0; i < n; i++) {
		size_t l = piece_len(s[i]);

		total += 8 + l;
		if (l > maxlen)
			maxlen = l;
	}
	buf = malloc(total);
	if (!buf)
		return NULL;
	m = maxlen > INT32_MAX ? INT32_MAX : (int32_t)maxlen;
	memcpy(buf, &m, 4);
	p = buf + 4;
	for (int i = 0; i < n; i++)
		p = put_piece(p, s[i], sc ? (float)inpu_gguf_arr_num(sc, (uint64_t)i) : 0.0f);
	*len = total;
	return buf;
}

int inpu_tokenizer_from_gguf(const struct inpu_gguf *g, const char *name,
			     int vocab_size, struct inpu_tokenizer **out,
			     char *err, size_t errlen)
{
	const struct inpu_gguf_kv *tk, *sc;
	struct inpu_gguf_str *s;
	unsigned char *file;
	size_t len;
	int ret;

	*out = NULL;
	ret = check_model(g, name, err, errlen);
	if (!ret)
		ret = get_arrays(g, name, vocab_size, &tk, &sc, err, errlen);
	if (ret)
		return ret;
	s = malloc((size_t)vocab_size * sizeof(*s));
	if (!s)
		return -ENOMEM;
	inpu_gguf_arr_strs(tk, s);
	file = to_llama2c(s, vocab_size, sc, &len);
	free(s);
	if (!file)
		return -ENOMEM;
	ret = inpu_tokenizer_parse(file, len, name, out, err, errlen);
	free(file);
	return ret;
}
