// SPDX-License-Identifier: MIT
/*
 * The llama2.c tokenizer: file reader, BPE encode and decode, reproducing
 * llama2.c run.c (build_tokenizer, encode, decode) token for token.
 *
 * File: int32 max_token_length, then per token float32 score, int32 len
 * and len bytes (sentencepiece pieces with U+2581 turned into ' ', BOS and
 * EOS as "\n<s>\n" and "\n</s>\n").  All little-endian.
 *
 * run.c looks pieces up by binary search in a sorted copy of the
 * vocabulary and rescans every adjacent pair after each merge; here a hash
 * table does the lookups and only the two pairs next to a merge are
 * looked up again.  The merge chosen at each step is the same: the pair
 * whose concatenation is the highest-scoring vocabulary entry, leftmost
 * on ties, and only scores above -1e10 count.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"
#include "tokenizer.h"
#include "util.h"

#define MAX_TOKENS	(1 << 22)
#define MAX_TOKEN_LEN	(1 << 16)

struct inpu_tokenizer {
	int n;			/* tokens */
	int max_token_length;
	char **vocab;		/* NUL-terminated pieces */
	int *lens;
	float *scores;
	char *strings;		/* owns the pieces */
	int *table;		/* open addressing: token id or -1 */
	uint32_t mask;
	int space_id;		/* the piece " " (dummy prefix), or -1 */
	int byte_tokens;	/* ids 3..258 are <0x00>..<0xFF> */
};

/* Raw bytes for <0xXX> pieces. */
static const unsigned char byte_pieces[256] = {
#define B4(i) (i), (i) + 1, (i) + 2, (i) + 3
#define B16(i) B4(i), B4((i) + 4), B4((i) + 8), B4((i) + 12)
#define B64(i) B16(i), B16((i) + 16), B16((i) + 32), B16((i) + 48)
	B64(0), B64(64), B64(128), B64(192)
#undef B64
#undef B16
#undef B4
};

static uint32_t hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

static int lookup(const struct inpu_tokenizer *t, const char *s, size_t len)
{
	for (uint32_t i = hash(s, len) & t->mask;; i = (i + 1) & t->mask) {
		int id = t->table[i];

		if (id < 0)
			return -1;
		if ((size_t)t->lens[id] == len && !memcmp(t->vocab[id], s, len))
			return id;
	}
}

/* 0..255 if @s is a byte piece "<0xHH>", else -1. */
static int byte_piece(const char *s, size_t len)
{
	int v = 0;

	if (len != 6 || memcmp(s, "<0x", 3) || s[5] != '>')
		return -1;
	for (int i = 3; i < 5; i++) {
		char c = s[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else
			return -1;
	}
	return v;
}

void inpu_tokenizer_free(struct inpu_tokenizer *t)
{
	if (!t)
		return;
	free(t->vocab);
	free(t->lens);
	free(t->scores);
	free(t->strings);
	free(t->table);
	free(t);
}

/* The leading int32 max_token_length. */
static int read_max_len(const unsigned char *b, size_t len, const char *name,
			int *max_len, char *err, size_t errlen)
{
	if (len < 4) {
		inpu_model_seterr(err, errlen,
				  "%s: not a llama2.c tokenizer: %zu bytes, too short for max_token_length",
				  name, len);
		return -EINVAL;
	}
	*max_len = inpu_le_i32(b);
	if (*max_len <= 0 || *max_len > MAX_TOKEN_LEN) {
		inpu_model_seterr(err, errlen,
				  "%s: not a llama2.c tokenizer: max_token_length %d is outside 1..%d",
				  name, *max_len, MAX_TOKEN_LEN);
		return -EINVAL;
	}
	return 0;
}

/*
 * Check token @n at @off, which is below @len, and set *@piece_len to the
 * length of its piece.  The file has no token count: whatever follows
 * max_token_length must be whole tokens.
 */
static int check_token(const unsigned char *b, size_t len, size_t off, int n,
		       int max_len, const char *name, int *piece_len,
		       char *err, size_t errlen)
{
	float score;
	int32_t l;

	if (len - off < 8) {
		inpu_model_seterr(err, errlen,
				  "%s: truncated: token %d at offset %zu needs 8 bytes of score and length, %zu left",
				  name, n, off, len - off);
		return -EINVAL;
	}
	score = inpu_le_f32(b + off);
	l = inpu_le_i32(b + off + 4);
	if (!isfinite(score)) {
		inpu_model_seterr(err, errlen,
				  "%s: not a llama2.c tokenizer: token %d at offset %zu has a non-finite score",
				  name, n, off);
		return -EINVAL;
	}
	if (l < 0 || l > max_len) {
		inpu_model_seterr(err, errlen,
				  "%s: not a llama2.c tokenizer: token %d at offset %zu has length %d, outside 0..max_token_length (%d)",
				  name, n, off, (int)l, max_len);
		return -EINVAL;
	}
	off += 8;
	if (len - off < (size_t)l) {
		inpu_model_seterr(err, errlen,
				  "%s: truncated: token %d at offset %zu needs %d bytes, %zu left",
				  name, n, off, (int)l, len - off);
		return -EINVAL;
	}
	/* The pieces are kept as C strings. */
	if (memchr(b + off, 0, (size_t)l)) {
		inpu_model_seterr(err, errlen,
				  "%s: not a llama2.c tokenizer: token %d at offset %zu contains a NUL byte",
				  name, n, off);
		return -EINVAL;
	}
	*piece_len = l;
	return 0;
}

/*
 * First pass: validate every token and count them and the bytes of their
 * NUL-terminated pieces, so that the second pass can allocate once.
 */
static int count_tokens(const unsigned char *b, size_t len, int max_len,
			const char *name, int *count, size_t *bytes,
			int *byte_tokens, char *err, size_t errlen)
{
	size_t off;
	int n = 0, l, ret;

	*byte_tokens = 0;
	*bytes = 0;
	for (off = 4; off < len; n++) {
		if (n >= MAX_TOKENS) {
			inpu_model_seterr(err, errlen,
					  "%s: more than %d tokens", name, MAX_TOKENS);
			return -EINVAL;
		}
		ret = check_token(b, len, off, n, max_len, name, &l, err,
				  errlen);
		if (ret)
			return ret;
		/* A <0xXX> piece at id 3: the vocabulary has byte tokens. */
		if (n == INPU_TOK_BYTE0)
			*byte_tokens = byte_piece((const char *)b + off + 8,
						  (size_t)l) >= 0;
		off += 8 + (size_t)l;
		*bytes += (size_t)l + 1;
	}
	if (n < INPU_TOK_BYTE0) {
		inpu_model_seterr(err, errlen,
				  "%s: %d tokens, fewer than the 3 special tokens of a llama2.c tokenizer",
				  name, n);
		return -EINVAL;
	}
	if (*byte_tokens && n < INPU_TOK_BYTE0 + 256) {
		inpu_model_seterr(err, errlen,
				  "%s: %d tokens, fewer than the 3 special and 256 byte tokens of a llama2.c tokenizer",
				  name, n);
		return -EINVAL;
	}
	*count = n;
	return 0;
}

/* An empty tokenizer with room for @n tokens of @bytes piece bytes. */
static struct inpu_tokenizer *tokenizer_alloc(int n, int max_len, size_t bytes)
{
	struct inpu_tokenizer *t;
	uint32_t size;

	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->n = n;
	t->max_token_length = max_len;
	/* At most half full, so that probe runs stay short. */
	for (size = 1; size < 2u * (uint32_t)n; size <<= 1)
		;
	t->mask = size - 1;
	t->vocab = calloc((size_t)n, sizeof(*t->vocab));
	t->lens = calloc((size_t)n, sizeof(*t->lens));
	t->scores = calloc((size_t)n, sizeof(*t->scores));
	t->strings = malloc(bytes);
	t->table = malloc(size * sizeof(*t->table));
	if (!t->vocab || !t->lens || !t->scores || !t->strings || !t->table) {
		inpu_tokenizer_free(t);
		return NULL;
	}
	memset(t->table, 0xff, size * sizeof(*t->table));
	return t;
}

/* Add token @id to the lookup table; duplicates keep the first id. */
static void table_insert(struct inpu_tokenizer *t, int id)
{
	size_t l = (size_t)t->lens[id];
	uint32_t h;

	if (lookup(t, t->vocab[id], l) >= 0)
		return;
	for (h = hash(t->vocab[id], l) & t->mask; t->table[h] >= 0;
	     h = (h + 1) & t->mask)
		;
	t->table[h] = id;
}

/*
 * Second pass over the tokens count_tokens() checked: copy them into @t.
 * The byte fallback of encoding relies on tokens 3..258 being
 * <0x00>..<0xFF> in a vocabulary that has byte tokens, so anything else
 * there is refused.  A vocabulary without them (a character-level one:
 * token 3 is not <0xXX>) encodes unknown characters as <unk>.
 */
static int fill_vocab(struct inpu_tokenizer *t, const unsigned char *b,
		      const char *name, char *err, size_t errlen)
{
	char *p = t->strings;
	size_t off = 4;

	for (int i = 0; i < t->n; i++) {
		int l = inpu_le_i32(b + off + 4);

		t->scores[i] = inpu_le_f32(b + off);
		t->lens[i] = l;
		t->vocab[i] = p;
		memcpy(p, b + off + 8, (size_t)l);
		p[l] = '\0';
		p += l + 1;
		off += 8 + (size_t)l;
		if (t->byte_tokens && i >= INPU_TOK_BYTE0 &&
		    i < INPU_TOK_BYTE0 + 256 &&
		    byte_piece(t->vocab[i], (size_t)l) != i - INPU_TOK_BYTE0) {
			inpu_model_seterr(err, errlen,
					  "%s: token %d is \"%.*s\", not the byte token <0x%02X> a llama2.c tokenizer has there",
					  name, i, l > 16 ? 16 : l, t->vocab[i],
					  i - INPU_TOK_BYTE0);
			return -EINVAL;
		}
		table_insert(t, i);
	}
	return 0;
}

int inpu_tokenizer_serialize(const struct inpu_tokenizer *t, uint8_t **buf,
			     size_t *len)
{
	size_t total = 4;
	uint8_t *p;

	for (int i = 0; i < t->n; i++)
		total += 8 + (size_t)t->lens[i];
	p = malloc(total);
	*buf = p;
	*len = total;
	if (!p)
		return -ENOMEM;
	memcpy(p, &t->max_token_length, 4);
	p += 4;
	for (int i = 0; i < t->n; i++) {
		memcpy(p, &t->scores[i], 4);
		memcpy(p + 4, &t->lens[i], 4);
		memcpy(p + 8, t->vocab[i], (size_t)t->lens[i]);
		p += 8 + t->lens[i];
	}
	return 0;
}

int inpu_tokenizer_parse(const void *buf, size_t len, const char *name,
			 struct inpu_tokenizer **out, char *err, size_t errlen)
{
	const unsigned char *b = buf;
	struct inpu_tokenizer *t;
	int n, max_len, byte_tokens, ret;
	size_t bytes;

	*out = NULL;
	if (!name)
		name = "tokenizer";
	ret = read_max_len(b, len, name, &max_len, err, errlen);
	if (ret)
		return ret;
	ret = count_tokens(b, len, max_len, name, &n, &bytes, &byte_tokens,
			   err, errlen);
	if (ret)
		return ret;
	t = tokenizer_alloc(n, max_len, bytes);
	if (!t) {
		inpu_model_seterr(err, errlen, "%s: out of memory", name);
		return -ENOMEM;
	}
	t->byte_tokens = byte_tokens;
	ret = fill_vocab(t, b, name, err, errlen);
	if (ret) {
		inpu_tokenizer_free(t);
		return ret;
	}
	t->space_id = lookup(t, " ", 1);
	*out = t;
	return 0;
}

int inpu_tokenizer_load(const char *path, struct inpu_tokenizer **out,
			char *err, size_t errlen)
{
	size_t len;
	char *buf;
	int ret;

	*out = NULL;
	ret = inpu_read_file(path, &buf, &len, err, errlen);
	if (ret)
		return ret;
	ret = inpu_tokenizer_parse(buf, len, path, out, err, errlen);
	free(buf);
	return ret;
}

int inpu_tokenizer_size(const struct inpu_tokenizer *t)
{
	return t->n;
}

int inpu_tokenizer_has_bytes(const struct inpu_tokenizer *t)
{
	return t->byte_tokens;
}

const char *inpu_tokenizer_token(const struct inpu_tokenizer *t, int id)
{
	return id >= 0 && id < t->n ? t->vocab[id] : NULL;
}

float inpu_tokenizer_score(const struct inpu_tokenizer *t, int id)
{
	return id >= 0 && id < t->n ? t->scores[id] : 0.0f;
}

/* The vocabulary id of piece(a) + piece(b), or -1. */
static int pair_id(const struct inpu_tokenizer *t, int a, int b, char *scratch)
{
	size_t la = (size_t)t->lens[a], lb = (size_t)t->lens[b];

	/*
	 * BOS, EOS and <unk> stay tokens of their own.  run.c would merge one
	 * only where its piece and a neighbour's make another entry, which
	 * no real vocabulary has, but a crafted one can (an empty BOS piece
	 * would vanish into the token after it).
	 */
	if (a < INPU_TOK_BYTE0 || b < INPU_TOK_BYTE0)
		return -1;

	memcpy(scratch, t->vocab[a], la);
	memcpy(scratch + la, t->vocab[b], lb);
	return lookup(t, scratch, la + lb);
}

long inpu_tokenizer_encode(const struct inpu_tokenizer *t, const char *text,
			   size_t len, int bos, int eos, int *tokens,
			   size_t cap)
{
	return inpu_tokenizer_encode_unk(t, text, len, bos, eos, tokens, cap,
					 NULL);
}

long inpu_tokenizer_encode_unk(const struct inpu_tokenizer *t,
			       const char *text, size_t len, int bos, int eos,
			       int *tokens, size_t cap, size_t *n_unk)
{
	const char *end, *nul;
	size_t n = 0, str_len = 0, unk = 0;
	char *scratch = NULL;
	int *pair = NULL;
	char buf[4];

	nul = len ? memchr(text, 0, len) : NULL;
	end = nul ? nul : text + len;

#define PUSH(id) do { if (n >= cap) goto nospace; tokens[n++] = (id); } while (0)
	if (bos)
		PUSH(INPU_TOK_BOS);
	if (end > text && t->space_id < 0 && !t->byte_tokens)
		unk++;
	if (end > text)
		PUSH(t->space_id >= 0 ? t->space_id :
		     t->byte_tokens ? INPU_TOK_BYTE0 + ' ' : INPU_TOK_UNK);

	/* One token per UTF-8 character (at most 4 bytes), else its bytes. */
	for (const char *c = text; c < end; c++) {
		char next = c + 1 < end ? c[1] : '\0';
		int id;

		if ((*c & 0xC0) != 0x80)
			str_len = 0;
		buf[str_len++] = *c;
		if ((next & 0xC0) == 0x80 && str_len < 4)
			continue;
		id = lookup(t, buf, str_len);
		if (id >= 0) {
			PUSH(id);
		} else if (t->byte_tokens) {
			for (size_t i = 0; i < str_len; i++)
				PUSH((unsigned char)buf[i] + INPU_TOK_BYTE0);
		} else {
			PUSH(INPU_TOK_UNK);
			unk++;
		}
		str_len = 0;
	}

	/* Merge the best pair until none is in the vocabulary. */
	if (n >= 2) {
		scratch = malloc(2 * (size_t)t->max_token_length + 1);
		pair = malloc((n - 1) * sizeof(*pair));
		if (!scratch || !pair) {
			free(scratch);
			free(pair);
			return -ENOMEM;
		}
		for (size_t i = 0; i + 1 < n; i++)
			pair[i] = pair_id(t, tokens[i], tokens[i + 1], scratch);
		for (;;) {
			float best_score = -1e10f;
			long best = -1;

			for (size_t i = 0; i + 1 < n; i++) {
				if (pair[i] >= 0 && t->scores[pair[i]] > best_score) {
					best_score = t->scores[pair[i]];
					best = (long)i;
				}
			}
			if (best < 0)
				break;
			tokens[best] = pair[best];
			memmove(tokens + best + 1, tokens + best + 2,
				(n - (size_t)best - 2) * sizeof(*tokens));
			/* Pairs best+2..n-2 move down one; best is redone. */
			if ((size_t)best + 3 < n + 1)
				memmove(pair + best + 1, pair + best + 2,
					(n - (size_t)best - 3) * sizeof(*pair));
			n--;
			if (best > 0)
				pair[best - 1] = pair_id(t, tokens[best - 1],
							 tokens[best], scratch);
			if ((size_t)best + 1 < n)
				pair[best] = pair_id(t, tokens[best],
						     tokens[best + 1], scratch);
		}
		free(scratch);
		free(pair);
	}
	if (eos)
		PUSH(INPU_TOK_EOS);
#undef PUSH
	if (n_unk)
		*n_unk = unk;
	return (long)n;

nospace:
	return -ENOSPC;
}

const char *inpu_tokenizer_piece(const struct inpu_tokenizer *t, int prev,
				 int token, size_t *len)
{
	const char *piece;
	size_t l;
	int byte;

	if (token < 0 || token >= t->n) {
		*len = 0;
		return NULL;
	}
	if (token == INPU_TOK_BOS || token == INPU_TOK_EOS) {
		*len = 0;
		return "";
	}
	piece = t->vocab[token];
	l = (size_t)t->lens[token];
	/* sentencepiece drops the leading space after BOS (llama2.c #89). */
	if (prev == INPU_TOK_BOS && l && piece[0] == ' ') {
		piece++;
		l--;
	}
	byte = byte_piece(piece, l);
	if (byte >= 0) {
		*len = 1;
		return (const char *)&byte_pieces[byte];
	}
	*len = l;
	return piece;
}

long inpu_tokenizer_decode(const struct inpu_tokenizer *t, const int *tokens,
			   size_t n, char *buf, size_t cap)
{
	int prev = INPU_TOK_BOS;
	size_t total = 0;

	for (size_t i = 0; i < n; i++) {
		size_t l;
		const char *p = inpu_tokenizer_piece(t, prev, tokens[i], &l);

		if (!p)
			return -EINVAL;
		if (total < cap)
			memcpy(buf + total, p, l < cap - total ? l : cap - total);
		total += l;
		prev = tokens[i];
	}
	if (cap)
		buf[total < cap ? total : cap - 1] = '\0';
	return (long)total;
}
