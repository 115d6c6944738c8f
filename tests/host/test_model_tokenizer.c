// SPDX-License-Identifier: MIT
/*
 * The llama2.c tokenizer: encode against a plain re-statement of run.c's
 * algorithm (written here, slow and obvious), round trips including bytes
 * outside the vocabulary, decode rules, the story splitting and
 * normalization of the perplexity protocol, and the token count that
 * protocol gives on the dev file (110502, stated in issue 6).
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"
#include "tokenizer.h"
#include "ppl.h"
#include "model_util.h"
#include "kselftest_harness.h"

FIXTURE(tok) {
	char path[PATH_MAX];
	struct inpu_tokenizer *t;
	char err[INPU_MODEL_ERRLEN];
};

FIXTURE_SETUP(tok)
{
	ASSERT_EQ(0, shared_path(SHARED_TOK, self->path, sizeof(self->path))) {
		TH_LOG(SHARED_HINT, self->path);
	}
	ASSERT_EQ(0, inpu_tokenizer_load(self->path, &self->t, self->err,
					 sizeof(self->err))) {
		TH_LOG("%s", self->err);
	}
}

FIXTURE_TEARDOWN(tok)
{
	inpu_tokenizer_free(self->t);
}

/*
 * run.c encode() restated: lookups by binary search in a sorted copy of
 * the vocabulary (as run.c does), every adjacent pair rescanned after each
 * merge.
 */
struct ref_entry {
	const char *str;
	int id;
};

static int ref_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ref_entry *)a)->str,
		      ((const struct ref_entry *)b)->str);
}

static struct ref_entry ref_sorted[4096];
static const struct inpu_tokenizer *ref_sorted_for;

static int ref_lookup(const struct inpu_tokenizer *t, const char *s)
{
	struct ref_entry key = { .str = s }, *r;
	int n = inpu_tokenizer_size(t);

	if (n > 4096)
		abort();
	if (ref_sorted_for != t) {
		for (int i = 0; i < n; i++)
			ref_sorted[i] = (struct ref_entry){ inpu_tokenizer_token(t, i), i };
		qsort(ref_sorted, (size_t)n, sizeof(ref_sorted[0]), ref_cmp);
		ref_sorted_for = t;
	}
	r = bsearch(&key, ref_sorted, (size_t)n, sizeof(ref_sorted[0]), ref_cmp);
	return r ? r->id : -1;
}

static int ref_encode(const struct inpu_tokenizer *t, const char *text,
		      int bos, int *tokens)
{
	char buf[64], cat[64];
	size_t str_len = 0;
	int n = 0;

	if (bos)
		tokens[n++] = 1;
	if (text[0])
		tokens[n++] = ref_lookup(t, " ");
	for (const char *c = text; *c; c++) {
		int id;

		if ((*c & 0xC0) != 0x80)
			str_len = 0;
		buf[str_len++] = *c;
		buf[str_len] = '\0';
		if ((c[1] & 0xC0) == 0x80 && str_len < 4)
			continue;
		id = ref_lookup(t, buf);
		if (id != -1)
			tokens[n++] = id;
		else
			for (size_t i = 0; i < str_len; i++)
				tokens[n++] = (unsigned char)buf[i] + 3;
		str_len = 0;
	}
	for (;;) {
		float best_score = -1e10;
		int best_id = -1, best_idx = -1;

		for (int i = 0; i < n - 1; i++) {
			int id;

			snprintf(cat, sizeof(cat), "%s%s",
				 inpu_tokenizer_token(t, tokens[i]),
				 inpu_tokenizer_token(t, tokens[i + 1]));
			id = ref_lookup(t, cat);
			if (id != -1 && inpu_tokenizer_score(t, id) > best_score) {
				best_score = inpu_tokenizer_score(t, id);
				best_id = id;
				best_idx = i;
			}
		}
		if (best_idx == -1)
			break;
		tokens[best_idx] = best_id;
		for (int i = best_idx + 1; i < n - 1; i++)
			tokens[i] = tokens[i + 1];
		n--;
	}
	return n;
}

static const char *const samples[] = {
	"",
	"a",
	" ",
	"  ",
	"Once upon a time, there was a little girl named Lily.",
	" leading space and trailing space ",
	"two  spaces\n\nand\nnewlines\n",
	"tabs\tand\r\nCRLF",
	"\xc3\xa9t\xc3\xa9 \xc3\xbc \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xf0\x9f\x99\x82",
	"raw \xff\xfe bytes \x80\x81\x82\x83\x84\x85 stray continuations",
	"\x01\x02\x7f control",
	"<0x41> and <s> and </s> and <unk> as text",
	"The mis-encoded \xc3\xa2\xe2\x82\xac\xe2\x84\xa2 of the dataset",
	"She said, \"Let's go!\" and they went. 10, 9, 8...",
	/* Equal pairs overlap ("ll" twice in "lll"): leftmost merge first. */
	"lll llll ppp oooo zzz",
};

static char *decode_all(const struct inpu_tokenizer *t, const int *tok,
			long n, size_t *len)
{
	long need = inpu_tokenizer_decode(t, tok, (size_t)n, NULL, 0);
	char *buf;

	if (need < 0)
		return NULL;
	buf = malloc((size_t)need + 1);
	if (!buf)
		return NULL;
	if (inpu_tokenizer_decode(t, tok, (size_t)n, buf, (size_t)need + 1) != need) {
		free(buf);
		return NULL;
	}
	*len = (size_t)need;
	return buf;
}

TEST_F(tok, encode_matches_run_c_algorithm)
{
	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		const char *s = samples[i];
		size_t cap = inpu_tokenizer_max_tokens(strlen(s));
		int *a = calloc(cap, sizeof(int)), *b = calloc(cap, sizeof(int));
		long na;
		int nb;

		ASSERT_NE(NULL, a);
		ASSERT_NE(NULL, b);
		for (int bos = 0; bos < 2; bos++) {
			na = inpu_tokenizer_encode(self->t, s, strlen(s), bos, 0, a, cap);
			nb = ref_encode(self->t, s, bos, b);
			EXPECT_EQ(nb, na) { TH_LOG("sample %zu bos %d", i, bos); }
			if (na == nb)
				EXPECT_EQ(0, memcmp(a, b, (size_t)nb * sizeof(int))) {
					TH_LOG("sample %zu bos %d", i, bos);
				}
		}
		free(a);
		free(b);
	}
}

TEST_F(tok, round_trips)
{
	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		const char *s = samples[i];
		size_t cap = inpu_tokenizer_max_tokens(strlen(s)), len;
		int *tk = calloc(cap, sizeof(int));

		ASSERT_NE(NULL, tk);
		for (int bos = 0; bos < 2; bos++) {
			long n = inpu_tokenizer_encode(self->t, s, strlen(s), bos,
						       bos, tk, cap);
			char *d;

			ASSERT_GE(n, 0);
			d = decode_all(self->t, tk, n, &len);
			ASSERT_NE(NULL, d);
			EXPECT_EQ(strlen(s), len) { TH_LOG("sample %zu", i); }
			EXPECT_EQ(0, memcmp(d, s, len < strlen(s) ? len : strlen(s))) {
				TH_LOG("sample %zu: got \"%s\"", i, d);
			}
			free(d);
		}
		free(tk);
	}
}

TEST_F(tok, round_trips_random_bytes)
{
	uint32_t x = 12345;

	for (int round = 0; round < 200; round++) {
		char s[97];
		size_t len = (size_t)(round % 96) + 1, dl;
		int tk[100];
		long n;
		char *d;

		for (size_t i = 0; i < len; i++) {
			x = x * 1664525u + 1013904223u;
			s[i] = (char)((x >> 24) % 255 + 1);	/* no NUL */
		}
		s[len] = '\0';
		n = inpu_tokenizer_encode(self->t, s, len, 1, 0, tk, 100);
		ASSERT_GE(n, 1);
		d = decode_all(self->t, tk, n, &dl);
		ASSERT_NE(NULL, d);
		EXPECT_EQ(len, dl);
		EXPECT_EQ(0, memcmp(d, s, len)) { TH_LOG("round %d", round); }
		free(d);
	}
}

TEST_F(tok, byte_fallback_and_specials)
{
	int tk[16], a[16], b[16];
	long na, nb;
	int sp;

	/* Empty text: BOS only, no dummy prefix. */
	EXPECT_EQ(1, inpu_tokenizer_encode(self->t, "", 0, 1, 0, tk, 16));
	EXPECT_EQ(INPU_TOK_BOS, tk[0]);
	EXPECT_EQ(0, inpu_tokenizer_encode(self->t, "", 0, 0, 0, tk, 16));
	EXPECT_EQ(2, inpu_tokenizer_encode(self->t, "", 0, 1, 1, tk, 16));
	EXPECT_EQ(INPU_TOK_EOS, tk[1]);

	/* The dummy prefix is the piece " ". */
	sp = ref_lookup(self->t, " ");
	ASSERT_GE(sp, 0);
	/* 0xFF is not in any piece: byte token <0xFF> = 3 + 255. */
	EXPECT_EQ(2, inpu_tokenizer_encode(self->t, "\xff", 1, 0, 0, tk, 16));
	EXPECT_EQ(sp, tk[0]);
	EXPECT_EQ(258, tk[1]);
	EXPECT_STREQ("<0xFF>", inpu_tokenizer_token(self->t, 258));

	/* Encoding stops at a NUL, as run.c's C string would. */
	na = inpu_tokenizer_encode(self->t, "ab\0cd", 5, 1, 0, a, 16);
	nb = inpu_tokenizer_encode(self->t, "ab", 2, 1, 0, b, 16);
	EXPECT_EQ(nb, na);
	EXPECT_EQ(0, memcmp(a, b, (size_t)nb * sizeof(int)));

	/* No room: -ENOSPC, never a write past cap. */
	EXPECT_EQ(-ENOSPC, inpu_tokenizer_encode(self->t, "hello", 5, 1, 0, tk, 3));
	EXPECT_EQ(-ENOSPC, inpu_tokenizer_encode(self->t, "a", 1, 1, 1, tk, 2));
}

TEST_F(tok, decode_rules)
{
	size_t len;
	const char *p;
	int sp = ref_lookup(self->t, " ");
	int the = ref_lookup(self->t, " the");
	int tk[16];
	char buf[5];
	long n;

	ASSERT_GE(the, 0);
	/* After BOS the leading space goes; elsewhere it stays. */
	p = inpu_tokenizer_piece(self->t, INPU_TOK_BOS, the, &len);
	EXPECT_EQ(3, len);
	EXPECT_EQ(0, memcmp(p, "the", 3));
	p = inpu_tokenizer_piece(self->t, sp, the, &len);
	EXPECT_EQ(4, len);
	EXPECT_EQ(0, memcmp(p, " the", 4));
	/* Byte tokens are the raw byte, NUL included. */
	p = inpu_tokenizer_piece(self->t, sp, INPU_TOK_BYTE0 + 0, &len);
	EXPECT_EQ(1, len);
	EXPECT_EQ('\0', p[0]);
	p = inpu_tokenizer_piece(self->t, sp, INPU_TOK_BYTE0 + 0xc3, &len);
	EXPECT_EQ(1, len);
	EXPECT_EQ((char)0xc3, p[0]);
	/* BOS and EOS are not text; ids out of range are errors. */
	p = inpu_tokenizer_piece(self->t, sp, INPU_TOK_BOS, &len);
	EXPECT_EQ(0, len);
	EXPECT_EQ(NULL, inpu_tokenizer_piece(self->t, sp, 512, &len));
	EXPECT_EQ(NULL, inpu_tokenizer_piece(self->t, sp, -1, &len));
	EXPECT_EQ(-EINVAL, inpu_tokenizer_decode(self->t, (int[]){ 1, 600 }, 2,
						 NULL, 0));
	/* snprintf-like truncation. */
	n = inpu_tokenizer_encode(self->t, "hello world", 11, 1, 0, tk, 16);
	ASSERT_GT(n, 0);
	EXPECT_EQ(11, inpu_tokenizer_decode(self->t, tk, (size_t)n, buf,
					    sizeof(buf)));
	EXPECT_STREQ("hell", buf);
}

TEST(story_normalize)
{
	static const struct { const char *in, *out; } cases[] = {
		{ "", "" },
		{ " \n\t ", "" },
		{ "a", "a" },
		{ "\n\n  One.\n\nTwo.\nThree.\n\n\nFour. \n", "One.\nTwo.\nThree.\n\nFour." },
		{ "x\n\n\n\ny", "x\n\ny" },
		{ "x \n\n y", "x \n y" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[64];
		size_t n = inpu_story_normalize(cases[i].in, strlen(cases[i].in), out);

		EXPECT_EQ(strlen(cases[i].out), n) { TH_LOG("case %zu", i); }
		out[n] = '\0';
		EXPECT_STREQ(cases[i].out, out);
	}
}

TEST(story_split)
{
	static const char text[] =
		"first story\n<|endoftext|>\n\n  \n<|endoftext|>\nsecond\n\nstory"
		"<|endoftext|>third<|endoftext|>\n";
	const char *pos = text, *end = text + strlen(text), *s;
	size_t len;

	ASSERT_EQ(1, inpu_story_next(&pos, end, &s, &len));
	EXPECT_EQ(0, strncmp(s, "first story\n", len));
	EXPECT_EQ(strlen("first story\n"), len);
	/* The whitespace-only story is skipped. */
	ASSERT_EQ(1, inpu_story_next(&pos, end, &s, &len));
	EXPECT_EQ(strlen("\nsecond\n\nstory"), len);
	EXPECT_EQ(0, strncmp(s, "\nsecond\n\nstory", len));
	ASSERT_EQ(1, inpu_story_next(&pos, end, &s, &len));
	EXPECT_EQ(5, len);
	EXPECT_EQ(0, strncmp(s, "third", len));
	EXPECT_EQ(0, inpu_story_next(&pos, end, &s, &len));
	EXPECT_EQ(3, inpu_story_count(text, strlen(text)));
	EXPECT_EQ(0, inpu_story_count("", 0));
	EXPECT_EQ(1, inpu_story_count("no separator", 12));
}

/*
 * The protocol's token count on the dev file: 300 stories (README of
 * ../shared/data), 110502 scored tokens (issue 6).  Tokenization only, so
 * it runs in a moment even under the sanitizers.
 */
TEST_F(tok, dev_file_token_count)
{
	char dev[PATH_MAX];
	const char *pos, *end, *s;
	uint64_t scored = 0, stories = 0;
	char *text, *buf;
	size_t len, l;
	int *tk;

	ASSERT_EQ(0, shared_path(SHARED_DEV, dev, sizeof(dev))) {
		TH_LOG(SHARED_HINT, dev);
	}
	ASSERT_EQ(0, inpu_read_file(dev, &text, &len, self->err,
				    sizeof(self->err)));
	EXPECT_EQ(300, inpu_story_count(text, len));
	buf = malloc(len + 1);
	tk = malloc(inpu_tokenizer_max_tokens(len) * sizeof(int));
	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, tk);
	pos = text;
	end = text + len;
	while (inpu_story_next(&pos, end, &s, &l)) {
		size_t nl = inpu_story_normalize(s, l, buf);
		long n = inpu_tokenizer_encode(self->t, buf, nl, 1, 0, tk,
					       inpu_tokenizer_max_tokens(len));

		ASSERT_GT(n, 1);
		EXPECT_EQ(INPU_TOK_BOS, tk[0]);
		if (n > 512)
			n = 512;	/* stories260K's seq_len */
		scored += (uint64_t)n - 1;
		stories++;
		/* The first stories also against the run.c restatement. */
		if (stories <= 2) {
			int *ref = malloc(inpu_tokenizer_max_tokens(nl) * sizeof(int));
			int nr;

			ASSERT_NE(NULL, ref);
			buf[nl] = '\0';
			n = inpu_tokenizer_encode(self->t, buf, nl, 1, 0, tk,
						  inpu_tokenizer_max_tokens(len));
			nr = ref_encode(self->t, buf, 1, ref);
			EXPECT_EQ(nr, n);
			if (nr == n)
				EXPECT_EQ(0, memcmp(ref, tk, (size_t)nr * sizeof(int)));
			free(ref);
		}
	}
	EXPECT_EQ(300, stories);
	EXPECT_EQ(110502, scored);
	free(tk);
	free(buf);
	free(text);
}

TEST_HARNESS_MAIN
