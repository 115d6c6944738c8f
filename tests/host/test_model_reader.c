// SPDX-License-Identifier: MIT
/*
 * llama2.c checkpoint and tokenizer readers: the real stories260K files,
 * v1 files written here from the same weights, and rejection of
 * truncated, inconsistent and foreign files with a message naming the
 * file and the problem.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"
#include "tokenizer.h"
#include "model.h"
#include "model_util.h"
#include "kselftest_harness.h"

FIXTURE(ckpt) {
	char model_path[PATH_MAX], tok_path[PATH_MAX];
	char *raw;		/* stories260K.bin bytes */
	size_t raw_len;
	char *tok_raw;		/* tok512.bin bytes */
	size_t tok_len;
	struct inpu_model *m;
	struct inpu_tokenizer *t;
	char err[INPU_MODEL_ERRLEN];
};

FIXTURE_SETUP(ckpt)
{
	ASSERT_EQ(0, shared_path(SHARED_MODEL, self->model_path,
				 sizeof(self->model_path))) {
		TH_LOG(SHARED_HINT, self->model_path);
	}
	ASSERT_EQ(0, shared_path(SHARED_TOK, self->tok_path,
				 sizeof(self->tok_path))) {
		TH_LOG(SHARED_HINT, self->tok_path);
	}
	ASSERT_EQ(0, inpu_read_file(self->model_path, &self->raw,
				    &self->raw_len, self->err, sizeof(self->err)));
	ASSERT_EQ(0, inpu_read_file(self->tok_path, &self->tok_raw,
				    &self->tok_len, self->err, sizeof(self->err)));
	ASSERT_EQ(0, inpu_model_load(self->model_path, &self->m, self->err,
				     sizeof(self->err))) {
		TH_LOG("%s", self->err);
	}
	ASSERT_EQ(0, inpu_tokenizer_load(self->tok_path, &self->t, self->err,
					 sizeof(self->err))) {
		TH_LOG("%s", self->err);
	}
}

FIXTURE_TEARDOWN(ckpt)
{
	inpu_tokenizer_free(self->t);
	inpu_model_free(self->m);
	free(self->tok_raw);
	free(self->raw);
}

/* Parse @buf as a checkpoint named "x.bin"; expect @want and @msg in err. */
#define EXPECT_CKPT_REJECT(buf, len, want, msg) do {				\
	struct inpu_model *_m = (struct inpu_model *)1;				\
	char _e[INPU_MODEL_ERRLEN] = "";					\
	EXPECT_EQ(want, inpu_model_parse(buf, len, "x.bin", &_m, _e,		\
					 sizeof(_e)));				\
	EXPECT_EQ(NULL, _m);							\
	EXPECT_NE(NULL, strstr(_e, "x.bin: ")) { TH_LOG("err: %s", _e); }	\
	EXPECT_NE(NULL, strstr(_e, msg)) {					\
		TH_LOG("want \"%s\" in: %s", msg, _e);				\
	}									\
	inpu_model_free(_m == (struct inpu_model *)1 ? NULL : _m);		\
} while (0)

#define EXPECT_TOK_REJECT(buf, len, want, msg) do {				\
	struct inpu_tokenizer *_t = (struct inpu_tokenizer *)1;			\
	char _e[INPU_MODEL_ERRLEN] = "";					\
	EXPECT_EQ(want, inpu_tokenizer_parse(buf, len, "t.bin", &_t, _e,	\
					     sizeof(_e)));			\
	EXPECT_EQ(NULL, _t);							\
	EXPECT_NE(NULL, strstr(_e, "t.bin: ")) { TH_LOG("err: %s", _e); }	\
	EXPECT_NE(NULL, strstr(_e, msg)) {					\
		TH_LOG("want \"%s\" in: %s", msg, _e);				\
	}									\
	inpu_tokenizer_free(_t == (struct inpu_tokenizer *)1 ? NULL : _t);	\
} while (0)

static void put_i32(char *b, size_t off, int32_t v)
{
	memcpy(b + off, &v, 4);
}

static char *dup_buf(const char *b, size_t len, size_t extra)
{
	char *d = calloc(1, len + extra + 1);

	if (d)
		memcpy(d, b, len);
	return d;
}

/*
 * Write a v1 file (export.py version1_export order) from @m's weights;
 * with @wcls not NULL, a separate classifier follows.
 */
static char *build_v1(const struct inpu_model *m, const float *wcls,
		      size_t *len)
{
	const struct inpu_model_config *c = &m->cfg;
	size_t L = (size_t)c->n_layers, d = (size_t)c->dim;
	size_t kv = (size_t)inpu_model_kv_dim(c), h = (size_t)c->hidden_dim;
	size_t v = (size_t)c->vocab_size;
	const struct { const float *p; size_t n; } parts[] = {
		{ m->rms_att, L * d }, { m->rms_ffn, L * d },
		{ m->rms_final, d }, { m->tok_embeddings, v * d },
		{ m->wq, L * d * d }, { m->wk, L * kv * d },
		{ m->wv, L * kv * d }, { m->wo, L * d * d },
		{ m->w1, L * h * d }, { m->w2, L * d * h },
		{ m->w3, L * h * d }, { wcls, wcls ? v * d : 0 },
	};
	size_t total = 256, off = 256;
	uint32_t magic = 0x616b3432;
	char *b;

	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		total += parts[i].n * 4;
	b = calloc(1, total);
	if (!b)
		return NULL;
	memcpy(b, &magic, 4);
	put_i32(b, 4, 1);
	put_i32(b, 8, c->dim);
	put_i32(b, 12, c->hidden_dim);
	put_i32(b, 16, c->n_layers);
	put_i32(b, 20, c->n_heads);
	put_i32(b, 24, c->n_kv_heads);
	put_i32(b, 28, c->vocab_size);
	put_i32(b, 32, c->seq_len);
	b[36] = wcls ? 0 : 1;
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		if (!parts[i].n)
			continue;
		memcpy(b + off, parts[i].p, parts[i].n * 4);
		off += parts[i].n * 4;
	}
	*len = total;
	return b;
}

TEST_F(ckpt, stories260k_header_as_documented)
{
	const struct inpu_model_config *c = &self->m->cfg;

	/* ../shared/models/README.md */
	EXPECT_EQ(1056540, self->raw_len);
	EXPECT_EQ(INPU_CKPT_V0, c->version);
	EXPECT_EQ(64, c->dim);
	EXPECT_EQ(172, c->hidden_dim);
	EXPECT_EQ(5, c->n_layers);
	EXPECT_EQ(8, c->n_heads);
	EXPECT_EQ(4, c->n_kv_heads);
	EXPECT_EQ(512, c->vocab_size);
	EXPECT_EQ(512, c->seq_len);
	EXPECT_EQ(1, c->shared_classifier);
	EXPECT_EQ(self->m->tok_embeddings, self->m->wcls);
	/* Everything but the header and the two unused freq_cis tables. */
	EXPECT_EQ((self->raw_len - 28) / 4 - 2 * 512 * 8 / 2, self->m->n_floats);
	/* Spot checks against the raw file: first embedding, last rms_final. */
	EXPECT_EQ(0, memcmp(self->raw + 28, self->m->tok_embeddings, 4 * 64));
	EXPECT_EQ(0, memcmp(self->raw + 28 + 4 * (512 * 64 + 5 * 64 + 5 * 64 * 64 +
						  2 * 5 * 32 * 64 + 5 * 64 * 64 +
						  5 * 64 + 3 * 5 * 172 * 64),
			    self->m->rms_final, 4 * 64));
	EXPECT_EQ(512, inpu_tokenizer_size(self->t));
	EXPECT_EQ(0, inpu_model_check_tokenizer(self->m, "m", self->t, "t",
						self->err, sizeof(self->err)));
}

TEST_F(ckpt, v0_truncated)
{
	size_t cuts[] = { 0, 3, 27, 28, 29, 1000, self->raw_len - 4,
			  self->raw_len - 1 };

	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		if (cuts[i] < 28)
			EXPECT_CKPT_REJECT(self->raw, cuts[i], -EINVAL,
					   "not a llama2.c checkpoint");
		else
			EXPECT_CKPT_REJECT(self->raw, cuts[i], -EINVAL,
					   "truncated: the v0 header");
	}
}

TEST_F(ckpt, v0_trailing_bytes)
{
	char *b = dup_buf(self->raw, self->raw_len, 8);

	ASSERT_NE(NULL, b);
	EXPECT_CKPT_REJECT(b, self->raw_len + 8, -EINVAL,
			   "8 bytes after the weights");
	free(b);
}

TEST_F(ckpt, v0_insane_headers)
{
	static const struct {
		int field;
		int32_t value;
		const char *msg;
	} cases[] = {
		{ 0, 0, "dim 0 is outside" },
		{ 0, -64, "dim -64 is outside" },
		{ 0, 1 << 20, "is outside" },
		{ 1, 0, "hidden_dim 0" },
		{ 2, 0, "n_layers 0" },
		{ 2, 100000, "n_layers 100000" },
		{ 3, 7, "n_heads 7 does not divide dim 64" },
		{ 3, 64, "head size 1 is odd" },
		{ 4, 3, "n_kv_heads 3 does not divide n_heads 8" },
		{ 4, 16, "n_kv_heads 16 does not divide n_heads 8" },
		{ 4, 0, "n_kv_heads 0" },
		{ 5, 0, "vocab_size 0" },
		{ 5, INT32_MIN, "vocab_size -2147483648" },
		{ 5, 2, "vocab_size 2 is below 3" },
		{ 6, 0, "seq_len 0" },
		{ 6, INT32_MAX, "seq_len 2147483647" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *b = dup_buf(self->raw, self->raw_len, 0);

		ASSERT_NE(NULL, b);
		put_i32(b, 4 * (size_t)cases[i].field, cases[i].value);
		EXPECT_CKPT_REJECT(b, self->raw_len, -EINVAL, cases[i].msg);
		free(b);
	}
}

TEST_F(ckpt, v0_size_must_match_header)
{
	char *b = dup_buf(self->raw, self->raw_len, 0);

	ASSERT_NE(NULL, b);
	/* A consistent-looking header whose sizes disagree with the file. */
	put_i32(b, 4, 128);	/* hidden_dim */
	EXPECT_CKPT_REJECT(b, self->raw_len, -EINVAL, "bytes after the weights");
	put_i32(b, 4, 172);
	put_i32(b, 24, 1024);	/* seq_len: bigger freq_cis tables */
	EXPECT_CKPT_REJECT(b, self->raw_len, -EINVAL, "truncated");
	put_i32(b, 24, 512);
	/* Unshared classifier announced, but no wcls in the file. */
	put_i32(b, 20, -512);
	EXPECT_CKPT_REJECT(b, self->raw_len, -EINVAL, "separate classifier");
	free(b);
}

TEST_F(ckpt, v0_unshared_classifier)
{
	size_t wcls = 512 * 64 * 4;
	char *b = dup_buf(self->raw, self->raw_len, wcls);
	struct inpu_model *m;
	float *extra;

	ASSERT_NE(NULL, b);
	put_i32(b, 20, -512);
	extra = malloc(wcls);
	ASSERT_NE(NULL, extra);
	for (size_t i = 0; i < wcls / 4; i++)
		extra[i] = 0.5f * self->m->tok_embeddings[i] + (float)(i % 7);
	memcpy(b + self->raw_len, extra, wcls);
	ASSERT_EQ(0, inpu_model_parse(b, self->raw_len + wcls, "u.bin", &m,
				      self->err, sizeof(self->err))) {
		TH_LOG("%s", self->err);
	}
	EXPECT_EQ(0, m->cfg.shared_classifier);
	EXPECT_EQ(512, m->cfg.vocab_size);
	EXPECT_NE(m->tok_embeddings, m->wcls);
	EXPECT_EQ(0, memcmp(m->wcls, extra, wcls));
	EXPECT_EQ(0, memcmp(m->tok_embeddings, self->m->tok_embeddings, wcls));
	EXPECT_EQ(0, memcmp(m->w2, self->m->w2, 5 * 64 * 172 * 4));
	inpu_model_free(m);
	free(extra);
	free(b);
}

/*
 * inpu_model_save_v0 writes what the reader reads: the same size as the
 * file it came from, the same weights back; an unwritable path is an
 * error with the path in the message and no file.
 */
TEST_F(ckpt, v0_save_round_trip)
{
	char path[] = "/tmp/inpu-ckpt-XXXXXX";
	struct inpu_model *m;
	char *b;
	size_t len, rope;
	int fd = mkstemp(path);

	ASSERT_LE(0, fd);
	close(fd);
	ASSERT_EQ(0, inpu_model_save_v0(self->m, path, self->err, sizeof(self->err))) {
		TH_LOG("%s", self->err);
	}
	ASSERT_EQ(0, inpu_read_file(path, &b, &len, self->err, sizeof(self->err)));
	EXPECT_EQ(self->raw_len, len);
	/* the header and the weights before v0's unused RoPE tables, which
	 * end the file (shared classifier): byte for byte */
	rope = 2 * (size_t)self->m->cfg.seq_len *
	       (size_t)inpu_model_head_size(&self->m->cfg) / 2 * sizeof(float);
	ASSERT_LT(rope, len);
	EXPECT_EQ(0, memcmp(b, self->raw, len - rope)) {
		TH_LOG("the saved header or weights differ");
	}
	free(b);
	ASSERT_EQ(0, inpu_model_load(path, &m, self->err, sizeof(self->err)));
	unlink(path);
	EXPECT_EQ(0, memcmp(&m->cfg, &self->m->cfg, sizeof(m->cfg)));
	ASSERT_EQ(self->m->n_floats, m->n_floats);
	EXPECT_EQ(0, memcmp(m->storage, self->m->storage, m->n_floats * sizeof(float)));
	inpu_model_free(m);
	EXPECT_EQ(-ENOENT, inpu_model_save_v0(self->m, "/nonexistent/dir/x.bin",
					      self->err, sizeof(self->err)));
	EXPECT_NE(NULL, strstr(self->err, "/nonexistent/dir/x.bin"));
}

TEST_F(ckpt, v0_non_finite_weight)
{
	char *b = dup_buf(self->raw, self->raw_len, 0);
	/* wq of layer 2, element 5: after the embeddings, rms_att, 2 layers of wq */
	size_t off = 28 + 4 * (512 * 64 + 5 * 64 + 2 * 64 * 64 + 5);
	float nan = NAN;

	ASSERT_NE(NULL, b);
	memcpy(b + off, &nan, 4);
	EXPECT_CKPT_REJECT(b, self->raw_len, -EINVAL,
			   "wq of layer 2 has a non-finite value (nan) at element 5");
	free(b);
}

TEST_F(ckpt, v1_same_weights_same_logits)
{
	struct inpu_float_state *s0, *s1;
	struct inpu_model *m1;
	size_t len;
	char *b = build_v1(self->m, NULL, &len);

	ASSERT_NE(NULL, b);
	ASSERT_EQ(0, inpu_model_parse(b, len, "v1.bin", &m1, self->err,
				      sizeof(self->err))) {
		TH_LOG("%s", self->err);
	}
	EXPECT_EQ(INPU_CKPT_V1, m1->cfg.version);
	EXPECT_EQ(1, m1->cfg.shared_classifier);
	EXPECT_EQ(self->m->n_floats, m1->n_floats);
	EXPECT_EQ(0, memcmp(self->m->storage, m1->storage,
			    m1->n_floats * sizeof(float)));
	ASSERT_EQ(0, inpu_float_state_new(self->m, &s0));
	ASSERT_EQ(0, inpu_float_state_new(m1, &s1));
	for (int pos = 0, tok = INPU_TOK_BOS; pos < 8; pos++) {
		const float *l0 = inpu_float_forward(s0, tok, pos);
		const float *l1 = inpu_float_forward(s1, tok, pos);

		ASSERT_NE(NULL, l0);
		ASSERT_NE(NULL, l1);
		EXPECT_EQ(0, memcmp(l0, l1, 512 * sizeof(float)));
		tok = inpu_argmax(l0, 512);
	}
	inpu_float_state_free(s0);
	inpu_float_state_free(s1);
	inpu_model_free(m1);
	free(b);
}

TEST_F(ckpt, v1_unshared_classifier)
{
	struct inpu_model *m1;
	size_t len;
	float *wcls = malloc(512 * 64 * 4);
	char *b;

	ASSERT_NE(NULL, wcls);
	for (int i = 0; i < 512 * 64; i++)
		wcls[i] = (float)(i % 13) * 0.25f;
	b = build_v1(self->m, wcls, &len);
	ASSERT_NE(NULL, b);
	ASSERT_EQ(0, inpu_model_parse(b, len, "v1.bin", &m1, self->err,
				      sizeof(self->err))) {
		TH_LOG("%s", self->err);
	}
	EXPECT_EQ(0, m1->cfg.shared_classifier);
	EXPECT_EQ(0, memcmp(m1->wcls, wcls, 512 * 64 * 4));
	EXPECT_EQ(0, memcmp(m1->tok_embeddings, self->m->tok_embeddings,
			    512 * 64 * 4));
	inpu_model_free(m1);
	/* Claiming a shared classifier leaves wcls as trailing bytes. */
	b[36] = 1;
	EXPECT_CKPT_REJECT(b, len, -EINVAL, "131072 bytes after the weights");
	free(wcls);
	free(b);
}

TEST_F(ckpt, v1_rejects)
{
	size_t len;
	char *b = build_v1(self->m, NULL, &len);

	ASSERT_NE(NULL, b);
	EXPECT_CKPT_REJECT(b, 4, -EINVAL, "truncated");
	EXPECT_CKPT_REJECT(b, 100, -EINVAL, "truncated: 100 bytes, the v1 header needs 256");
	EXPECT_CKPT_REJECT(b, 256, -EINVAL, "truncated: the v1 header");
	EXPECT_CKPT_REJECT(b, len - 1, -EINVAL, "truncated: the v1 header");

	put_i32(b, 4, 2);
	EXPECT_CKPT_REJECT(b, len, -ENOTSUP, "version 2 is not supported");
	put_i32(b, 4, 0);
	EXPECT_CKPT_REJECT(b, len, -ENOTSUP, "version 0 is not supported");
	put_i32(b, 4, 1);

	b[36] = 2;
	EXPECT_CKPT_REJECT(b, len, -EINVAL, "shared_classifier flag is 2");
	b[36] = 1;
	put_i32(b, 28, -512);	/* v1 has a flag, not a negative vocab */
	EXPECT_CKPT_REJECT(b, len, -EINVAL, "v1 header: vocab_size -512");
	put_i32(b, 28, 512);
	put_i32(b, 20, 6);
	EXPECT_CKPT_REJECT(b, len, -EINVAL, "v1 header: n_heads 6 does not divide dim 64");
	free(b);
}

TEST_F(ckpt, foreign_files)
{
	char dev[PATH_MAX];
	char *txt;
	size_t len;
	struct inpu_model *m;

	/* The tokenizer and a text file are not checkpoints. */
	EXPECT_CKPT_REJECT(self->tok_raw, self->tok_len, -EINVAL,
			   "not a llama2.c checkpoint");
	ASSERT_EQ(0, shared_path(SHARED_DEV, dev, sizeof(dev))) {
		TH_LOG(SHARED_HINT, dev);
	}
	ASSERT_EQ(0, inpu_read_file(dev, &txt, &len, self->err,
				    sizeof(self->err)));
	EXPECT_CKPT_REJECT(txt, len, -EINVAL, "not a llama2.c checkpoint");
	EXPECT_CKPT_REJECT("", 0, -EINVAL, "not a llama2.c checkpoint");
	free(txt);

	/* Files that cannot be read name the path. */
	EXPECT_EQ(-ENOENT, inpu_model_load("/nonexistent/m.bin", &m, self->err,
					   sizeof(self->err)));
	EXPECT_STREQ("/nonexistent/m.bin: No such file or directory", self->err);
	EXPECT_EQ(-EISDIR, inpu_model_load("/tmp", &m, self->err,
					   sizeof(self->err)));
	EXPECT_STREQ("/tmp: is a directory", self->err);
	EXPECT_EQ(-EINVAL, inpu_model_load("/dev/null", &m, self->err,
					   sizeof(self->err)));
	EXPECT_STREQ("/dev/null: not a regular file", self->err);
	EXPECT_EQ(NULL, m);
	/* The load path reports with the file's own name. */
	EXPECT_EQ(-EINVAL, inpu_model_load(self->tok_path, &m, self->err,
					   sizeof(self->err)));
	EXPECT_EQ(0, strncmp(self->err, self->tok_path, strlen(self->tok_path)));
	/* A NULL err buffer is fine. */
	EXPECT_EQ(-EINVAL, inpu_model_parse("", 0, NULL, &m, NULL, 0));
}

TEST_F(ckpt, tokenizer_rejects)
{
	char *b = dup_buf(self->tok_raw, self->tok_len, 16);
	int32_t v;

	ASSERT_NE(NULL, b);
	EXPECT_TOK_REJECT(b, 2, -EINVAL, "too short");
	/* Cut inside token 0's header, and inside the last token's bytes. */
	EXPECT_TOK_REJECT(b, 8, -EINVAL, "truncated: token 0 at offset 4");
	EXPECT_TOK_REJECT(b, self->tok_len - 1, -EINVAL, "truncated: token 511");
	/* Trailing garbage is a truncated extra token. */
	memset(b + self->tok_len, 0x41, 5);
	EXPECT_TOK_REJECT(b, self->tok_len + 5, -EINVAL, "truncated: token 512");

	put_i32(b, 0, 0);
	EXPECT_TOK_REJECT(b, self->tok_len, -EINVAL, "max_token_length 0");
	put_i32(b, 0, 3);	/* shorter than "<unk>" */
	EXPECT_TOK_REJECT(b, self->tok_len, -EINVAL,
			  "token 0 at offset 4 has length 5, outside 0..max_token_length (3)");
	memcpy(&v, self->tok_raw, 4);
	put_i32(b, 0, v);

	/* Token 0's length: negative. */
	put_i32(b, 8, -1);
	EXPECT_TOK_REJECT(b, self->tok_len, -EINVAL, "has length -1");
	put_i32(b, 8, 5);
	/* A NUL inside "<unk>". */
	b[14] = '\0';
	EXPECT_TOK_REJECT(b, self->tok_len, -EINVAL, "contains a NUL byte");
	b[14] = 'n';
	/* A non-finite score. */
	memcpy(b + 4, &(float){ INFINITY }, 4);
	EXPECT_TOK_REJECT(b, self->tok_len, -EINVAL, "non-finite score");
	memcpy(b + 4, self->tok_raw + 4, 4);
	/* Byte token <0x00> (token 3) renamed. */
	{
		/* tokens 0..2: "<unk>", "\n<s>\n", "\n</s>\n" */
		size_t off3 = 4 + (8 + 5) + (8 + 5) + (8 + 6);

		ASSERT_EQ(0, memcmp(b + off3 + 8, "<0x00>", 6));
		b[off3 + 8 + 4] = '7';
		EXPECT_TOK_REJECT(b, self->tok_len, -EINVAL,
				  "token 3 is \"<0x07>\", not the byte token <0x00>");
		b[off3 + 8 + 4] = '0';
	}
	EXPECT_EQ(0, memcmp(b, self->tok_raw, self->tok_len));

	/* The checkpoint is not a tokenizer. */
	EXPECT_TOK_REJECT(self->raw, self->raw_len, -EINVAL,
			  "not a llama2.c tokenizer");
	free(b);
}

TEST_F(ckpt, vocab_mismatch)
{
	struct inpu_tokenizer *small;
	char *b, path[64];
	size_t len;

	/* A valid tokenizer file with 300 tokens... */
	b = tokenizer_prefix_file(self->t, 300, &len);
	ASSERT_NE(NULL, b);
	ASSERT_EQ(0, write_temp(path, b, len));
	ASSERT_EQ(0, inpu_tokenizer_load(path, &small, self->err,
					 sizeof(self->err))) {
		TH_LOG("%s", self->err);
	}
	EXPECT_EQ(300, inpu_tokenizer_size(small));
	/* ...is not the tokenizer of a 512-token model. */
	EXPECT_EQ(-EINVAL, inpu_model_check_tokenizer(self->m, "m.bin", small,
						      path, self->err,
						      sizeof(self->err)));
	EXPECT_NE(NULL, strstr(self->err, path));
	EXPECT_NE(NULL, strstr(self->err, "has 300 tokens but m.bin has vocab_size 512"));
	inpu_tokenizer_free(small);
	unlink(path);
	free(b);

	/* Fewer than the 259 tokens every llama2.c tokenizer has. */
	b = tokenizer_prefix_file(self->t, 258, &len);
	ASSERT_NE(NULL, b);
	EXPECT_TOK_REJECT(b, len, -EINVAL, "258 tokens, fewer than");
	free(b);
}

TEST_HARNESS_MAIN
