// SPDX-License-Identifier: MIT
/*
 * A llama2.c model with a character-level vocabulary and no byte tokens:
 * BabyLlama 1M and its tok105 (../shared/models/babyllama/).  llama2.c's
 * run.c runs it; so must the float reference, the quantizer and the cpu
 * backend:
 *  - the tokenizer loads, encodes known characters as themselves and
 *    every character outside the vocabulary as <unk>, and counts them
 *    (checked against a plain scan of the vocabulary);
 *  - the checkpoint loads with its tokenizer and scores the dev stories
 *    near its training loss;
 *  - quantized to W8A8 (from a few calibration stories), the cpu backend
 *    generates greedily the same tokens as the float model.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"
#include "tokenizer.h"
#include "model.h"
#include "ppl.h"
#include "qmodel.h"
#include "backend.h"
#include "backend_float.h"
#include "generate.h"
#include "quantize.h"
#include "model_util.h"
#include "kselftest_harness.h"

#define BABY_MODEL	"models/babyllama/babyllama-1M.bin"
#define BABY_TOK	"models/babyllama/tok105.bin"
#define SHARED_CALIB	"data/tinystories-calib.txt"

/* The model's README: validation loss 0.737 nats per token (character). */
#define BABY_VAL_LOSS	0.737

FIXTURE(baby) {
	char err[INPU_MODEL_ERRLEN];
	struct inpu_model *m;
	struct inpu_tokenizer *t;
	char path[PATH_MAX];
};

FIXTURE_SETUP(baby)
{
	ASSERT_EQ(0, shared_path(BABY_TOK, self->path, sizeof(self->path)))
		TH_LOG(SHARED_HINT, BABY_TOK);
	ASSERT_EQ(0, inpu_tokenizer_load(self->path, &self->t, self->err,
					 sizeof(self->err)))
		TH_LOG("%s", self->err);
	ASSERT_EQ(0, shared_path(BABY_MODEL, self->path, sizeof(self->path)))
		TH_LOG(SHARED_HINT, BABY_MODEL);
	ASSERT_EQ(0, inpu_model_load(self->path, &self->m, self->err,
				     sizeof(self->err)))
		TH_LOG("%s", self->err);
}

FIXTURE_TEARDOWN(baby)
{
	inpu_model_free(self->m);
	inpu_tokenizer_free(self->t);
}

/* The id of the piece @s of @len bytes by a linear scan, or -1. */
static int scan_vocab(const struct inpu_tokenizer *t, const char *s,
		      size_t len)
{
	for (int i = 0; i < inpu_tokenizer_size(t); i++) {
		const char *p = inpu_tokenizer_token(t, i);

		if (strlen(p) == len && !memcmp(p, s, len))
			return i;
	}
	return -1;
}

TEST_F(baby, unknown_characters_become_unk)
{
	/* Known letters, a newline, an accented letter and a Cyrillic one. */
	const char *text = "Tim saw\nZo\xc3\xab and \xd0\xb6!";
	int ids[64], n_chars = 0, unk_oracle = 0, i = 0;
	size_t unk = 99;
	long n;

	ASSERT_EQ(105, inpu_tokenizer_size(self->t));
	/* Every character on its own: how many the vocabulary lacks. */
	for (const char *c = text; *c; ) {
		size_t l = 1;

		while ((c[l] & 0xC0) == 0x80)
			l++;
		unk_oracle += scan_vocab(self->t, c, l) < 0;
		n_chars++;
		c += l;
	}
	ASSERT_GT(unk_oracle, 0);
	n = inpu_tokenizer_encode_unk(self->t, text, strlen(text), 1, 0, ids,
				      64, &unk);
	ASSERT_GT(n, 0);
	EXPECT_EQ((size_t)unk_oracle, unk);
	/* A character-level vocabulary merges nothing: BOS, " ", then one
	 * id per character, <unk> where the scan found none. */
	ASSERT_EQ(2 + n_chars, n);
	EXPECT_EQ(INPU_TOK_BOS, ids[0]);
	EXPECT_EQ(scan_vocab(self->t, " ", 1), ids[1]);
	for (const char *c = text; *c; i++) {
		size_t l = 1;
		int want;

		while ((c[l] & 0xC0) == 0x80)
			l++;
		want = scan_vocab(self->t, c, l);
		EXPECT_EQ(want < 0 ? INPU_TOK_UNK : want, ids[2 + i]);
		c += l;
	}
	/* Text the vocabulary covers has none. */
	n = inpu_tokenizer_encode_unk(self->t, "Once upon a time", 16, 1, 0,
				      ids, 64, &unk);
	EXPECT_GT(n, 2);
	EXPECT_EQ(0, unk);
}

TEST(tokenizer_needs_the_special_tokens)
{
	/* max_token_length 8, then two tokens: "<unk>", "<s>". */
	unsigned char b[4 + 2 * 8 + 5 + 3] = { 8 };
	struct inpu_tokenizer *t = NULL;
	char err[INPU_MODEL_ERRLEN] = "";
	size_t off = 4;

	b[off + 4] = 5;
	memcpy(b + off + 8, "<unk>", 5);
	off += 8 + 5;
	b[off + 4] = 3;
	memcpy(b + off + 8, "<s>", 3);
	EXPECT_EQ(-EINVAL, inpu_tokenizer_parse(b, sizeof(b), "two.bin", &t,
						err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "two.bin: 2 tokens, fewer than the 3 special tokens"))
		TH_LOG("%s", err);
	EXPECT_EQ(NULL, t);
}

TEST_F(baby, float_model_scores_near_its_training_loss)
{
	char path[PATH_MAX], *dev = NULL;
	struct inpu_backend *b = NULL;
	struct inpu_ppl acc;
	struct inpu_lm lm;
	size_t len;

	ASSERT_EQ(0, inpu_model_check_tokenizer(self->m, BABY_MODEL, self->t,
						BABY_TOK, self->err,
						sizeof(self->err)))
		TH_LOG("%s", self->err);
	ASSERT_EQ(105, self->m->cfg.vocab_size);
	ASSERT_EQ(0, shared_path(SHARED_DEV, path, sizeof(path)));
	ASSERT_EQ(0, inpu_read_file(path, &dev, &len, self->err,
				    sizeof(self->err)));
	ASSERT_EQ(0, inpu_backend_float_new(self->m, &b));
	inpu_backend_float_lm(b, &lm);
	ASSERT_EQ(0, inpu_ppl_text(self->t, &lm, dev, len, 3, NULL, NULL, &acc));
	TH_LOG("3 dev stories: %llu tokens, nll/token %.4f, %llu characters as <unk>",
	       (unsigned long long)acc.tokens, acc.nll / (double)acc.tokens,
	       (unsigned long long)acc.unk);
	EXPECT_GT(acc.tokens, 500);
	/* Near the training loss: a tokenizer that mapped characters to
	 * the wrong ids would be far above it. */
	EXPECT_LT(acc.nll / (double)acc.tokens, BABY_VAL_LOSS + 0.15);
	/* The dev stories have paragraphs; tok105 has no newline. */
	EXPECT_GT(acc.unk, 0);
	inpu_backend_free(b);
	free(dev);
}

/* Greedy generation of @steps positions from @prompt: the token ids. */
static int gen_ids(struct inpu_backend *b, const struct inpu_tokenizer *t,
		   const char *prompt, int steps, int *out)
{
	struct inpu_gen_opts o = { .steps = steps, .batch = 1, .depth = 1,
				   .per_job = 1 };
	struct inpu_gen_stats st;
	int tok[64], n;

	n = (int)inpu_tokenizer_encode(t, prompt, strlen(prompt), 1, 0, tok, 64);
	if (n < 1 || inpu_generate(b, tok, n, &o, &st)) {
		inpu_gen_stats_free(&st);
		return -1;
	}
	n = (int)st.n_ids;
	memcpy(out, st.gen, (size_t)n * sizeof(*out));
	inpu_gen_stats_free(&st);
	return n;
}

#define GREEDY_STEPS	64

TEST_F(baby, w8a8_generates_the_float_models_text)
{
	int fids[GREEDY_STEPS], qids[GREEDY_STEPS], nf, nq;
	struct inpu_backend *fb = NULL, *qb = NULL;
	struct inpu_qmodel *qm = NULL;
	struct inpu_quant_opts o;
	char path[PATH_MAX], *calib = NULL;
	size_t len;

	ASSERT_EQ(0, shared_path(SHARED_CALIB, path, sizeof(path)));
	ASSERT_EQ(0, inpu_read_file(path, &calib, &len, self->err,
				    sizeof(self->err)));
	inpu_quant_opts_default(&o);
	o.smooth = 1;
	o.alpha = 0.5;
	o.max_stories = 4;
	o.n_sample = 256;
	ASSERT_EQ(0, inpu_quantize(self->m, self->t, calib, len, &o, &qm, NULL,
				   self->err, sizeof(self->err)))
		TH_LOG("%s", self->err);
	ASSERT_EQ(0, inpu_backend_float_new(self->m, &fb));
	ASSERT_EQ(0, inpu_backend_cpu_new(qm, NULL, &qb, self->err,
					  sizeof(self->err)))
		TH_LOG("%s", self->err);
	nf = gen_ids(fb, self->t, "Once upon a time", GREEDY_STEPS, fids);
	nq = gen_ids(qb, self->t, "Once upon a time", GREEDY_STEPS, qids);
	ASSERT_GT(nf, 32);
	EXPECT_EQ(nf, nq);
	if (nf == nq)
		EXPECT_EQ(0, memcmp(fids, qids, (size_t)nf * sizeof(*fids)));
	inpu_backend_free(qb);
	inpu_backend_free(fb);
	inpu_qmodel_free(qm);
	free(calib);
}

TEST_HARNESS_MAIN
