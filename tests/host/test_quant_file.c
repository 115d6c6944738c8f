// SPDX-License-Identifier: MIT
/*
 * The .inpu model file (userspace/runtime/FORMAT.md): round trips,
 * deterministic bytes, and rejection of truncated, foreign, corrupt and
 * inconsistent files with a precise message (and the cases the fuzzer
 * tests/fuzz/fuzz_qmodel.c found).  Uses a small synthetic
 * model (random integers in every tensor), which also goes through the
 * step-stream builder, the validator and one engine run.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <inpu/inpu_fw.h>

#include "inpu_engine.h"
#include "tables_gen.h"
#include "file.h"
#include "qmodel.h"
#include "tokenizer.h"
#include "qgraph.h"
#include "qcpu.h"
#include "fw_tables.h"
#include "model_util.h"
#include "kselftest_harness.h"

/* Header offsets (FORMAT.md). */
#define H_VERSION	4
#define H_FILESIZE	8
#define H_FWABI		16
#define H_NTENSORS	24
#define H_TABLEOFF	56
#define H_DIGEST	80
#define H_NOTE		112

static uint64_t rng = 0x1234567887654321ull;

static uint32_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (uint32_t)((rng * 0x2545f4914f6cdd1dull) >> 32);
}

static void fill(struct inpu_qmodel *m, const char *name)
{
	const struct inpu_qtensor *t = inpu_qmodel_find(m, name);
	uint8_t *p = inpu_qmodel_data(m, name);

	for (uint64_t i = 0; i < t->bytes; i++)
		p[i] = (uint8_t)rnd();
}

static void fill_qp(struct inpu_qmodel *m, const char *name)
{
	const struct inpu_qtensor *t = inpu_qmodel_find(m, name);
	struct inpu_qparam *qp = inpu_qmodel_data(m, name);

	for (uint32_t i = 0; i < t->cols; i++) {
		struct inpu_qparam v = { (int32_t)(rnd() >> 1), 20 + (int32_t)(rnd() % 30) };

		memcpy(&qp[i], &v, sizeof(v));
	}
}

static void fill_g(struct inpu_qmodel *m, const char *name)
{
	const struct inpu_qtensor *t = inpu_qmodel_find(m, name);
	int32_t *g = inpu_qmodel_data(m, name);

	for (uint32_t i = 0; i < t->cols; i++)
		g[i] = (int32_t)(rnd() % 40000) - 20000;
}

static void fill_linear(struct inpu_qmodel *m, const char *pfx, int w4)
{
	char name[64];

	snprintf(name, sizeof(name), "%s.w", pfx);
	fill(m, name);
	if (w4) {
		snprintf(name, sizeof(name), "%s.gs", pfx);
		fill(m, name);
	}
	if (w4 == 2) {
		snprintf(name, sizeof(name), "%s.gz", pfx);
		fill(m, name);
	}
	snprintf(name, sizeof(name), "%s.qp", pfx);
	fill_qp(m, name);
}

/*
 * A small model: every required tensor, random contents, valid params.
 * @w4: 0 int8 weights, 1 int4 in groups of 32, 2 int4 in groups of 16
 * with zero points.
 */
static struct inpu_qmodel *synthetic(int w4)
{
	struct inpu_qconfig c = {
		.dim = 16, .hidden_dim = 24, .n_layers = 2, .n_heads = 2,
		.n_kv_heads = 1, .head_dim = 8, .vocab_size = 40, .seq_len = 8,
		.scheme = w4 ? INPU_QS_W4A8 : INPU_QS_W8A8, .flags = INPU_QF_SMOOTH,
		.logit_frac = 16, .fw_abi = INPU_FW_ABI_VERSION,
		.exp_len = INPU_EXP_LEN, .exp_frac = INPU_EXP_FRAC,
		.silu_len = INPU_SILU_LEN, .silu_zero = INPU_SILU_LEN / 2,
		.silu_in_frac = INPU_SILU_IN_FRAC, .silu_out_frac = INPU_SILU_OUT_FRAC,
	};
	struct inpu_qmodel *m = inpu_qmodel_alloc(&c);
	uint32_t kv = c.head_dim * c.n_kv_heads;
	char p[32];

	if (!m)
		return NULL;
	inpu_qmodel_add(m, "embed", INPU_DT_INT16, c.vocab_size, c.dim);
	inpu_qmodel_add(m, "rope", INPU_DT_INT16, c.seq_len, c.head_dim);
	inpu_qmodel_add(m, "final.g", INPU_DT_INT32, 1, c.dim);
	inpu_qmodel_add_linear(m, "cls", c.vocab_size, c.dim, 0);
	for (uint32_t l = 0; l < c.n_layers; l++) {
		snprintf(p, sizeof(p), "l%u.att.g", l);
		inpu_qmodel_add(m, p, INPU_DT_INT32, 1, c.dim);
		snprintf(p, sizeof(p), "l%u.qkv", l);
		inpu_qmodel_add_linear_fmt(m, p, c.dim + 2 * kv, c.dim, !!w4,
					   w4 == 2 ? 16 : 32, w4 == 2);
		snprintf(p, sizeof(p), "l%u.wo", l);
		inpu_qmodel_add_linear_fmt(m, p, c.dim, c.dim, !!w4,
					   w4 == 2 ? 16 : 32, w4 == 2);
		snprintf(p, sizeof(p), "l%u.ffn.g", l);
		inpu_qmodel_add(m, p, INPU_DT_INT32, 1, c.dim);
		snprintf(p, sizeof(p), "l%u.w13", l);
		inpu_qmodel_add_linear_fmt(m, p, 2 * c.hidden_dim, c.dim, !!w4,
					   w4 == 2 ? 16 : 32, w4 == 2);
		snprintf(p, sizeof(p), "l%u.w2", l);
		inpu_qmodel_add_linear_fmt(m, p, c.dim, c.hidden_dim, !!w4,
					   w4 == 2 ? 16 : 32, w4 == 2);
	}
	fill(m, "embed");
	fill(m, "rope");
	fill_g(m, "final.g");
	fill_linear(m, "cls", 0);
	for (uint32_t l = 0; l < c.n_layers; l++) {
		struct inpu_qlayer *q = &m->layers[l];

		snprintf(p, sizeof(p), "l%u.att.g", l);
		fill_g(m, p);
		snprintf(p, sizeof(p), "l%u.ffn.g", l);
		fill_g(m, p);
		snprintf(p, sizeof(p), "l%u.qkv", l);
		fill_linear(m, p, w4);
		snprintf(p, sizeof(p), "l%u.wo", l);
		fill_linear(m, p, w4);
		snprintf(p, sizeof(p), "l%u.w13", l);
		fill_linear(m, p, w4);
		snprintf(p, sizeof(p), "l%u.w2", l);
		fill_linear(m, p, w4);
		q->att_eps = q->ffn_eps = 1000 + l;
		q->att_shift = q->ffn_shift = 22;
		q->qkv_shift = 7;
		q->score_mult = 1 << 29;
		q->score_shift = 30;
		q->att_mult = 1 << 30;
		q->att_shift_out = 40;
		q->silu_in_mult = 1 << 30;
		q->silu_in_shift = 34;
		q->silu_out_mult = 1 << 30;
		q->silu_out_shift = 36;
	}
	m->glob.embed_mult = 4;
	m->glob.embed_shift = 0;
	m->glob.final_eps = 77;
	m->glob.final_shift = 21;
	snprintf(m->note, sizeof(m->note), "synthetic test model %s",
		 w4 == 2 ? "w4 g16 zero points" : w4 ? "w4" : "w8");
	return m;
}

/* Recompute the SHA-256 of a modified file image. */
static void redigest(uint8_t *b, size_t len)
{
	static const uint8_t zero[32];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int n;

	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	EVP_DigestUpdate(ctx, b, H_DIGEST);
	EVP_DigestUpdate(ctx, zero, 32);
	EVP_DigestUpdate(ctx, b + H_DIGEST + 32, len - H_DIGEST - 32);
	EVP_DigestFinal_ex(ctx, b + H_DIGEST, &n);
	EVP_MD_CTX_free(ctx);
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

FIXTURE(qfile) {
	struct inpu_qmodel *m;
	uint8_t *buf;
	size_t len;
	char err[INPU_MODEL_ERRLEN];
};

FIXTURE_SETUP(qfile)
{
	self->m = synthetic(0);
	ASSERT_NE(NULL, self->m);
	ASSERT_EQ(0, inpu_qmodel_check(self->m, self->err, sizeof(self->err))) {
		TH_LOG("%s", self->err);
	}
	ASSERT_EQ(0, inpu_qmodel_serialize(self->m, &self->buf, &self->len,
					   self->err, sizeof(self->err))) {
		TH_LOG("%s", self->err);
	}
}

FIXTURE_TEARDOWN(qfile)
{
	free(self->buf);
	inpu_qmodel_free(self->m);
}

/* Parse a modified copy; expect @ret and a message containing @msg. */
static int reject(struct __test_metadata *_metadata, const uint8_t *b,
		  size_t len, int ret, const char *msg)
{
	struct inpu_qmodel *m = (struct inpu_qmodel *)1;
	char err[INPU_MODEL_ERRLEN] = "";
	int got = inpu_qmodel_parse(b, len, "bad.inpu", &m, err, sizeof(err));

	EXPECT_EQ(ret, got) {
		TH_LOG("message: %s", err);
	}
	EXPECT_EQ(NULL, m);
	EXPECT_NE(NULL, strstr(err, msg)) {
		TH_LOG("message '%s' lacks '%s'", err, msg);
	}
	EXPECT_EQ(0, strncmp(err, "bad.inpu: ", 10)) {
		TH_LOG("message '%s' does not name the file", err);
	}
	return got;
}

TEST_F(qfile, round_trip_is_identical)
{
	struct inpu_qmodel *m2;
	uint8_t *b2;
	size_t l2;

	ASSERT_EQ(0, inpu_qmodel_parse(self->buf, self->len, "t.inpu", &m2,
				       self->err, sizeof(self->err))) {
		TH_LOG("%s", self->err);
	}
	EXPECT_EQ(0, memcmp(&self->m->cfg, &m2->cfg, sizeof(m2->cfg)));
	EXPECT_EQ(0, memcmp(&self->m->glob, &m2->glob, sizeof(m2->glob)));
	EXPECT_EQ(0, memcmp(self->m->layers, m2->layers,
			    self->m->cfg.n_layers * sizeof(*m2->layers)));
	EXPECT_EQ(self->m->n_tensors, m2->n_tensors);
	EXPECT_EQ(self->m->data_size, m2->data_size);
	EXPECT_EQ(0, memcmp(self->m->data, m2->data, m2->data_size));
	EXPECT_STREQ(self->m->note, m2->note);
	for (uint32_t i = 0; i < m2->n_tensors; i++) {
		EXPECT_STREQ(self->m->tensors[i].name, m2->tensors[i].name);
		EXPECT_EQ(self->m->tensors[i].offset, m2->tensors[i].offset);
		EXPECT_EQ(self->m->tensors[i].bytes, m2->tensors[i].bytes);
	}
	/* serialize(parse(x)) == x, and serializing is deterministic */
	ASSERT_EQ(0, inpu_qmodel_serialize(m2, &b2, &l2, self->err, sizeof(self->err)));
	ASSERT_EQ(self->len, l2);
	EXPECT_EQ(0, memcmp(self->buf, b2, l2));
	free(b2);
	ASSERT_EQ(0, inpu_qmodel_serialize(self->m, &b2, &l2, self->err, sizeof(self->err)));
	EXPECT_EQ(0, memcmp(self->buf, b2, l2));
	free(b2);
	inpu_qmodel_free(m2);
}

TEST_F(qfile, layout_is_aligned)
{
	uint64_t data_off = get64(self->buf + 64);

	EXPECT_EQ(0u, data_off % 4096);
	EXPECT_EQ(0u, self->len % 4096);
	EXPECT_EQ(self->len, get64(self->buf + H_FILESIZE));
	for (uint32_t i = 0; i < self->m->n_tensors; i++) {
		const struct inpu_qtensor *t = &self->m->tensors[i];

		if (t->dtype == INPU_DT_W8_TILED || t->dtype == INPU_DT_W4_TILED) {
			EXPECT_EQ(0u, (data_off + t->offset) % 4096) {
				TH_LOG("%s at %llu", t->name, (unsigned long long)t->offset);
			}
		} else {
			EXPECT_EQ(0u, t->offset % 64);
		}
	}
}

TEST_F(qfile, save_and_load)
{
	char path[64];
	struct inpu_qmodel *m2;

	strcpy(path, "/tmp/inpu-qfile-test.XXXXXX");
	ASSERT_LE(0, mkstemp(path));
	ASSERT_EQ(0, inpu_qmodel_save(self->m, path, self->err, sizeof(self->err))) {
		TH_LOG("%s", self->err);
	}
	ASSERT_EQ(0, inpu_qmodel_load(path, &m2, self->err, sizeof(self->err))) {
		TH_LOG("%s", self->err);
	}
	EXPECT_EQ(0, memcmp(self->m->data, m2->data, m2->data_size));
	inpu_qmodel_free(m2);
	unlink(path);
	EXPECT_EQ(-ENOENT, inpu_qmodel_load(path, &m2, self->err, sizeof(self->err)));
	EXPECT_NE(NULL, strstr(self->err, path));
}

TEST_F(qfile, truncated)
{
	reject(_metadata, self->buf, self->len - 1, -EINVAL, "truncated");
	reject(_metadata, self->buf, self->len - 4096, -EINVAL, "truncated");
	reject(_metadata, self->buf, 300, -EINVAL, "truncated");
	reject(_metadata, self->buf, 100, -EINVAL, "truncated");
	reject(_metadata, self->buf, 3, -EINVAL, "bad magic");
	reject(_metadata, self->buf, 0, -EINVAL, "bad magic");
}

/* Found by fuzz_qmodel: a correct size and digest on a file too short to
 * hold the config made the reader read past the end. */
TEST_F(qfile, short_file_with_valid_size_and_digest)
{
	uint8_t b[300];
	uint64_t n = sizeof(b);

	memcpy(b, self->buf, sizeof(b));
	memcpy(b + H_FILESIZE, &n, 8);
	redigest(b, sizeof(b));
	reject(_metadata, b, sizeof(b), -EINVAL,
	       "shorter than the header and the config");
}

/* Found by fuzz_qmodel: bytes after a text field's NUL were accepted (and
 * lost), so one model had several valid files. */
TEST_F(qfile, text_fields_are_nul_padded)
{
	uint8_t *b = malloc(self->len);
	uint64_t table = get64(self->buf + H_TABLEOFF);

	ASSERT_NE(NULL, b);
	memcpy(b, self->buf, self->len);
	memcpy(b + H_NOTE, "x\0y", 3);
	redigest(b, self->len);
	reject(_metadata, b, self->len, -EINVAL,
	       "note not NUL-terminated and NUL-padded");

	memcpy(b, self->buf, self->len);
	b[table + strlen((char *)b + table) + 1] = 'z';
	redigest(b, self->len);
	reject(_metadata, b, self->len, -EINVAL,
	       "tensor table entry 0: name not NUL-terminated and NUL-padded");
	free(b);
}

TEST_F(qfile, trailing_data)
{
	uint8_t *b = calloc(1, self->len + 16);

	ASSERT_NE(NULL, b);
	memcpy(b, self->buf, self->len);
	reject(_metadata, b, self->len + 16, -EINVAL, "trailing data");
	free(b);
}

TEST_F(qfile, bad_magic)
{
	self->buf[0] ^= 1;
	reject(_metadata, self->buf, self->len, -EINVAL, "not an .inpu model");
	/* a llama2.c checkpoint is not one either */
	memcpy(self->buf, "ak42", 4);
	reject(_metadata, self->buf, self->len, -EINVAL, "bad magic");
	EXPECT_EQ(0, inpu_qmodel_sniff(self->buf, self->len));
}

TEST_F(qfile, bad_checksum)
{
	/* one bit anywhere: in the data, the table, the header */
	size_t where[] = { self->len - 1, self->len / 2, 300, H_NOTE, H_DIGEST + 5 };

	for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		self->buf[where[i]] ^= 0x10;
		reject(_metadata, self->buf, self->len, -EINVAL, "checksum mismatch");
		self->buf[where[i]] ^= 0x10;
	}
	{
		struct inpu_qmodel *ok;

		ASSERT_EQ(0, inpu_qmodel_parse(self->buf, self->len, "ok", &ok,
					       self->err, sizeof(self->err)));
		inpu_qmodel_free(ok);
	}
}

TEST_F(qfile, wrong_abi_and_version)
{
	put32(self->buf + H_FWABI, INPU_FW_ABI_VERSION + 1);
	redigest(self->buf, self->len);
	reject(_metadata, self->buf, self->len, -ENOTSUP, "firmware ABI");
	put32(self->buf + H_FWABI, INPU_FW_ABI_VERSION);
	self->buf[H_VERSION] = 2;
	redigest(self->buf, self->len);
	reject(_metadata, self->buf, self->len, -ENOTSUP, "format version 2");
}

/* Config word @i (FORMAT.md: the config follows the header). */
static void put_cfg(uint8_t *b, int i, uint32_t v)
{
	put32(b + INPU_QM_HEADER_BYTES + 4 * i, v);
}

/*
 * Files of firmware ABI 1 (written before per-token scales and int16
 * keys) still load; those features need ABI 2, and the header and the
 * config must say the same.
 */
TEST_F(qfile, abi_1_files_load_and_abi_2_features_need_abi_2)
{
	struct inpu_qmodel *m;

	put32(self->buf + H_FWABI, INPU_FW_ABI_MIN);
	put_cfg(self->buf, 11, INPU_FW_ABI_MIN);
	redigest(self->buf, self->len);
	ASSERT_EQ(0, inpu_qmodel_parse(self->buf, self->len, "old", &m,
				       self->err, sizeof(self->err))) {
		TH_LOG("%s", self->err);
	}
	EXPECT_EQ((uint32_t)INPU_FW_ABI_MIN, m->cfg.fw_abi);
	inpu_qmodel_free(m);
	put_cfg(self->buf, 9, INPU_QF_SMOOTH | INPU_QF_DYN_ACT);
	redigest(self->buf, self->len);
	reject(_metadata, self->buf, self->len, -EINVAL, "need firmware ABI 2");
	put_cfg(self->buf, 9, INPU_QF_SMOOTH | INPU_QF_KEY16);
	redigest(self->buf, self->len);
	reject(_metadata, self->buf, self->len, -EINVAL, "need firmware ABI 2");
	put_cfg(self->buf, 11, INPU_FW_ABI_VERSION);
	redigest(self->buf, self->len);
	reject(_metadata, self->buf, self->len, -EINVAL, "differs from the header's");
	put32(self->buf + H_FWABI, INPU_FW_ABI_MIN - 1);
	put_cfg(self->buf, 11, INPU_FW_ABI_MIN - 1);
	redigest(self->buf, self->len);
	reject(_metadata, self->buf, self->len, -ENOTSUP, "firmware ABI 0");
}

TEST_F(qfile, inconsistent_contents)
{
	uint64_t table = get64(self->buf + H_TABLEOFF);
	uint8_t *e0 = self->buf + table;		/* "embed" */
	uint8_t *e1 = self->buf + table + 64;		/* "rope" */
	uint8_t save[64];

	/* a tensor's offset misaligned */
	memcpy(save, e1, 64);
	e1[48] += 2;
	redigest(self->buf, self->len);
	reject(_metadata, self->buf, self->len, -EINVAL, "not a multiple of 64");
	/* two tensors overlapping */
	memcpy(e1 + 48, e0 + 48, 8);
	redigest(self->buf, self->len);
	reject(_metadata, self->buf, self->len, -EINVAL, "overlap");
	/* wrong byte count for the shape */
	memcpy(e1, save, 64);
	e1[56] += 1;
	redigest(self->buf, self->len);
	reject(_metadata, self->buf, self->len, -EINVAL, "its dtype and shape need");
	/* a required tensor renamed away */
	memcpy(e1, save, 64);
	e1[0] = 'X';
	redigest(self->buf, self->len);
	reject(_metadata, self->buf, self->len, -EINVAL, "tensor rope: missing");
	/* a bad dtype */
	memcpy(e1, save, 64);
	e1[32] = 99;
	redigest(self->buf, self->len);
	reject(_metadata, self->buf, self->len, -EINVAL, "bad dtype");
	/* reserved bytes */
	memcpy(e1, save, 64);
	e1[34] = 1;
	redigest(self->buf, self->len);
	reject(_metadata, self->buf, self->len, -EINVAL, "reserved");
	memcpy(e1, save, 64);
	self->buf[250] = 1;
	redigest(self->buf, self->len);
	reject(_metadata, self->buf, self->len, -EINVAL, "reserved header bytes");
	self->buf[250] = 0;
	/* a config that does not add up */
	put32(self->buf + 256 + 5 * 4, 4);	/* head_dim */
	redigest(self->buf, self->len);
	reject(_metadata, self->buf, self->len, -EINVAL, "head_dim");
	put32(self->buf + 256 + 5 * 4, 8);
	/* an op parameter out of range: layer 0 score_shift */
	put32(self->buf + 328 + 4 * 4 + 4 * 4, 63);
	redigest(self->buf, self->len);
	reject(_metadata, self->buf, self->len, -EINVAL, "layer 0");
	put32(self->buf + 328 + 4 * 4 + 4 * 4, 30);
	/* the tensor count disagreeing with the layout */
	put32(self->buf + H_NTENSORS, self->m->n_tensors + 100);
	redigest(self->buf, self->len);
	reject(_metadata, self->buf, self->len, -EINVAL, "section offsets");
	put32(self->buf + H_NTENSORS, self->m->n_tensors);
	redigest(self->buf, self->len);
	EXPECT_EQ(0, inpu_qmodel_check(self->m, self->err, sizeof(self->err)));
}

/*
 * A llama2.c tokenizer file of @n tokens: the three specials, then one
 * lowercase or uppercase letter each (a character-level vocabulary).
 */
static uint8_t *char_tokenizer(int n, size_t *len)
{
	static const char *const special[] = { "<unk>", "\n<s>\n", "\n</s>\n" };
	uint8_t *b = malloc(4 + (size_t)n * 16), *p = b + 4;
	int32_t max = 6;

	memcpy(b, &max, 4);
	for (int i = 0; i < n; i++) {
		char c[2] = { (char)(i - 3 < 26 ? 'a' + i - 3 : 'A' + i - 29), 0 };
		const char *s = i < 3 ? special[i] : c;
		int32_t l = (int32_t)strlen(s);
		float score = (float)-i;

		memcpy(p, &score, 4);
		memcpy(p + 4, &l, 4);
		memcpy(p + 8, s, (size_t)l);
		p += 8 + l;
	}
	*len = (size_t)(p - b);
	return b;
}

/* The model carries its tokenizer: round trip, absence, and bad sections. */
TEST_F(qfile, tokenizer_section)
{
	struct inpu_tokenizer *t, *t2;
	struct inpu_qmodel *m2;
	uint8_t *tb, *b;
	size_t tlen, len;
	int ids[8], ids2[8];

	/* A file without one (as every file before the section) says so. */
	ASSERT_EQ(0, inpu_qmodel_parse(self->buf, self->len, "old.inpu", &m2,
				       self->err, sizeof(self->err)));
	EXPECT_EQ(-ENOENT, inpu_qmodel_tokenizer(m2, "old.inpu", &t2, self->err,
						 sizeof(self->err)));
	EXPECT_NE(NULL, strstr(self->err, "old.inpu carries no tokenizer"));
	inpu_qmodel_free(m2);

	tb = char_tokenizer(40, &tlen);
	ASSERT_EQ(0, inpu_tokenizer_parse(tb, tlen, "chars", &t, self->err,
					  sizeof(self->err)));
	ASSERT_EQ(0, inpu_qmodel_set_tokenizer(self->m, t));
	EXPECT_EQ(tlen, self->m->tokenizer_bytes);
	EXPECT_EQ(0, memcmp(tb, self->m->tokenizer, tlen));	/* serialize = file */
	ASSERT_EQ(0, inpu_qmodel_serialize(self->m, &b, &len, self->err,
					   sizeof(self->err)));
	EXPECT_EQ(self->len + tlen, len);
	ASSERT_EQ(0, inpu_qmodel_parse(b, len, "new.inpu", &m2, self->err,
				       sizeof(self->err))) {
		TH_LOG("%s", self->err);
	}
	ASSERT_EQ(0, inpu_qmodel_tokenizer(m2, "new.inpu", &t2, self->err,
					   sizeof(self->err)));
	EXPECT_EQ(40, inpu_tokenizer_size(t2));
	EXPECT_EQ(inpu_tokenizer_encode(t, "a Bc", 4, 1, 0, ids, 8),
		  inpu_tokenizer_encode(t2, "a Bc", 4, 1, 0, ids2, 8));
	EXPECT_EQ(0, memcmp(ids, ids2, sizeof(ids[0]) * 4));
	inpu_tokenizer_free(t2);
	inpu_qmodel_free(m2);

	/* A token length past the section, with a valid digest. */
	put32(b + len - tlen + 4 + 4, 1000);
	redigest(b, len);
	reject(_metadata, b, len, -EINVAL, "tokenizer section");
	/* Another vocabulary size than the model's. */
	free(b);
	inpu_tokenizer_free(t);
	free(tb);
	tb = char_tokenizer(39, &tlen);
	ASSERT_EQ(0, inpu_tokenizer_parse(tb, tlen, "chars", &t, self->err,
					  sizeof(self->err)));
	ASSERT_EQ(0, inpu_qmodel_set_tokenizer(self->m, t));
	ASSERT_EQ(0, inpu_qmodel_serialize(self->m, &b, &len, self->err,
					   sizeof(self->err)));
	reject(_metadata, b, len, -EINVAL, "the tokenizer section has 39 tokens, vocab_size is 40");
	/* A size beyond the limit. */
	memcpy(b + 240, &(uint64_t){ (uint64_t)INPU_QM_MAX_TOKENIZER + 1 }, 8);
	redigest(b, len);
	reject(_metadata, b, len, -EINVAL, "tokenizer size");
	free(b);
	inpu_tokenizer_free(t);
	free(tb);
}

TEST(writer_refuses_incomplete_models)
{
	struct inpu_qmodel *m = synthetic(0);
	char err[INPU_MODEL_ERRLEN];
	uint8_t *b;
	size_t l;

	ASSERT_NE(NULL, m);
	m->n_tensors--;		/* drop the last one (l1.w2.qp) */
	EXPECT_EQ(-EINVAL, inpu_qmodel_serialize(m, &b, &l, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "l1.w2.qp: missing")) {
		TH_LOG("%s", err);
	}
	m->n_tensors++;
	m->layers[1].score_mult = 0;
	EXPECT_EQ(-EINVAL, inpu_qmodel_serialize(m, &b, &l, err, sizeof(err)));
	m->layers[1].score_mult = 5;
	EXPECT_EQ(-EINVAL, inpu_qmodel_add(m, "embed", INPU_DT_INT16, 1, 1));
	EXPECT_EQ(-EINVAL, inpu_qmodel_add(m, "x", INPU_DT_INT16, 0, 1));
	EXPECT_EQ(0, inpu_qmodel_serialize(m, &b, &l, err, sizeof(err)));
	free(b);
	inpu_qmodel_free(m);
}

/* A config with no heads is refused before anything divides by it. */
TEST(check_refuses_zero_heads)
{
	struct inpu_qmodel *m = synthetic(0);
	char err[INPU_MODEL_ERRLEN] = "";

	ASSERT_NE(NULL, m);
	m->cfg.n_heads = 0;
	EXPECT_EQ(-EINVAL, inpu_qmodel_check(m, err, sizeof(err)));
	EXPECT_NE(0, err[0]);
	inpu_qmodel_free(m);
}

/*
 * Groups of 16 and zero points: the file keeps them (same bytes after a
 * round trip), the step stream's W4 MATMULs carry them, and the reader
 * refuses zero points on int8 weights and per-group tensors whose shapes
 * disagree.
 */
TEST(zero_points_and_small_groups)
{
	struct inpu_qmodel *m = synthetic(2), *back = NULL, *bad;
	const struct inpu_stream_header *h;
	char err[INPU_MODEL_ERRLEN];
	struct inpu_qcpu *c;
	uint8_t *b, *b2;
	size_t l, l2, slen;
	int n4 = 0;

	ASSERT_NE(NULL, m);
	ASSERT_EQ(0, inpu_qmodel_check(m, err, sizeof(err))) {
		TH_LOG("%s", err);
	}
	EXPECT_EQ(INPU_DT_INT8, inpu_qmodel_find(m, "l0.w2.gz")->dtype);
	EXPECT_EQ(128u / 16, inpu_qmodel_find(m, "l0.w2.gz")->rows);
	ASSERT_EQ(0, inpu_qmodel_serialize(m, &b, &l, err, sizeof(err)));
	ASSERT_EQ(0, inpu_qmodel_parse(b, l, "g16.inpu", &back, err, sizeof(err))) {
		TH_LOG("%s", err);
	}
	ASSERT_EQ(0, inpu_qmodel_serialize(back, &b2, &l2, err, sizeof(err)));
	EXPECT_EQ(l, l2);
	EXPECT_EQ(0, memcmp(b, b2, l));
	free(b2);
	inpu_qmodel_free(back);

	ASSERT_EQ(0, inpu_qcpu_new(m, -1, &c, err, sizeof(err))) {
		TH_LOG("%s", err);
	}
	h = inpu_qcpu_stream(c, &slen);
	ASSERT_NE(NULL, h);
	for (uint32_t i = 0; i < h->n_ops; i++) {
		const struct inpu_op *op = (const struct inpu_op *)(h + 1) + i;

		if (op->opcode != INPU_OP_MATMUL || op->u.matmul.w.dtype != INPU_DT_W4_TILED)
			continue;
		n4++;
		EXPECT_EQ(16u, op->u.matmul.group);
		EXPECT_EQ(INPU_DT_INT8, op->u.matmul.gzero.dtype);
		EXPECT_EQ(op->u.matmul.gscale.rows, op->u.matmul.gzero.rows);
	}
	EXPECT_EQ(4 * (int)m->cfg.n_layers, n4);
	inpu_qcpu_free(c);
	free(b);
	inpu_qmodel_free(m);

	/* Zero points on int8 weights. */
	bad = synthetic(0);
	ASSERT_NE(NULL, bad);
	ASSERT_EQ(0, inpu_qmodel_add(bad, "l1.wo.gz", INPU_DT_INT8, 4, 64));
	EXPECT_EQ(-EINVAL, inpu_qmodel_check(bad, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "zero points for W8 weights")) {
		TH_LOG("%s", err);
	}
	inpu_qmodel_free(bad);
	/* Zero points in groups of 16 next to group scales in groups of 32. */
	bad = synthetic(1);
	ASSERT_NE(NULL, bad);
	ASSERT_EQ(0, inpu_qmodel_add(bad, "l1.wo.gz", INPU_DT_INT8, 8, 64));
	EXPECT_EQ(-EINVAL, inpu_qmodel_check(bad, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "l1.wo.gz")) {
		TH_LOG("%s", err);
	}
	inpu_qmodel_free(bad);
	/* Zero points of another dtype. */
	bad = synthetic(1);
	ASSERT_NE(NULL, bad);
	ASSERT_EQ(0, inpu_qmodel_add(bad, "l0.w13.gz", INPU_DT_UINT8, 4, 64));
	EXPECT_EQ(-EINVAL, inpu_qmodel_check(bad, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "l0.w13.gz")) {
		TH_LOG("%s", err);
	}
	inpu_qmodel_free(bad);
	/* Groups of 8 are not a format. */
	bad = synthetic(0);
	ASSERT_NE(NULL, bad);
	EXPECT_EQ(-EINVAL, inpu_qmodel_add_linear_fmt(bad, "x", 64, 64, 1, 8, 0));
	inpu_qmodel_free(bad);
}

/*
 * The synthetic models (W8 and W4) build a step stream that validates
 * against a read-only weights region and a read-write state region, and
 * the engine runs it: logits at the planned place, ARGMAX of them.
 */
TEST(synthetic_models_run)
{
	for (int w4 = 0; w4 <= 2; w4++) {
		struct inpu_qmodel *m = synthetic(w4);
		char err[INPU_MODEL_ERRLEN];
		struct inpu_qcpu *c;
		const struct inpu_qlayout *lay;
		size_t slen;

		ASSERT_NE(NULL, m);
		ASSERT_EQ(0, inpu_qcpu_new(m, -1, &c, err, sizeof(err))) {
			TH_LOG("%s", err);
		}
		lay = inpu_qcpu_layout(c);
		EXPECT_NE(NULL, inpu_qcpu_stream(c, &slen));
		EXPECT_EQ(sizeof(struct inpu_stream_header) +
			  (4 + 14 * m->cfg.n_layers) * sizeof(struct inpu_op), slen);
		EXPECT_EQ(0u, lay->wbase % 4096);
		EXPECT_EQ(0u, lay->sbase % 4096);
		for (int pos = 0; pos < (int)m->cfg.seq_len; pos++) {
			const int32_t *l = inpu_qcpu_step(c, pos % 7 + 1, pos);
			int best = 0;

			ASSERT_NE(NULL, l) {
				TH_LOG("status %d", inpu_qcpu_status(c));
			}
			for (int i = 1; i < (int)m->cfg.vocab_size; i++)
				if (l[i] > l[best])
					best = i;
			EXPECT_EQ(best, inpu_qcpu_next(c));
		}
		EXPECT_EQ(NULL, inpu_qcpu_step(c, 0, (int)m->cfg.seq_len));
		EXPECT_EQ(NULL, inpu_qcpu_step(c, (int)m->cfg.vocab_size, 0));
		EXPECT_EQ(NULL, inpu_qcpu_step(c, -1, 0));
		inpu_qcpu_free(c);
		/* tables of another geometry are refused */
		m->cfg.exp_frac++;
		EXPECT_EQ(-ENOTSUP, inpu_qcpu_new(m, -1, &c, err, sizeof(err)));
		EXPECT_NE(NULL, strstr(err, "other engine tables"));
		inpu_qmodel_free(m);
	}
}

/*
 * The cpu backend's tables come from the firmware image built into the
 * runtime: they are the tables the generator makes for the default
 * geometry (the image the device boots is built from them), and an image
 * with a changed byte or cut short is refused with a message.
 */
extern const unsigned char inpu_rt_fw_image[];
extern const size_t inpu_rt_fw_image_len;

TEST(cpu_tables_from_the_firmware_image)
{
	struct inpu_tables_store ref;
	struct inpu_tables t;
	unsigned char *img;
	char err[256] = "";

	ASSERT_EQ(0, inpu_rt_fw_tables(&t, err, sizeof(err))) TH_LOG("%s", err);
	ASSERT_EQ(0, inpu_tables_default(&ref));
	EXPECT_EQ(ref.t.exp_len, t.exp_len);
	EXPECT_EQ(ref.t.exp_frac, t.exp_frac);
	EXPECT_EQ(ref.t.silu_len, t.silu_len);
	EXPECT_EQ(ref.t.silu_zero, t.silu_zero);
	EXPECT_EQ(ref.t.silu_in_frac, t.silu_in_frac);
	EXPECT_EQ(ref.t.silu_out_frac, t.silu_out_frac);
	if (ref.t.exp_len == t.exp_len && ref.t.silu_len == t.silu_len) {
		EXPECT_EQ(0, memcmp(ref.t.exp, t.exp, t.exp_len * sizeof(*t.exp)));
		EXPECT_EQ(0, memcmp(ref.t.silu, t.silu,
				    t.silu_len * sizeof(*t.silu)));
	}
	inpu_tables_release(&ref);

	img = malloc(inpu_rt_fw_image_len);
	ASSERT_NE(NULL, img);
	memcpy(img, inpu_rt_fw_image, inpu_rt_fw_image_len);
	/* One SiLU value changed: only the digest tells. */
	img[(const unsigned char *)t.silu - inpu_rt_fw_image] ^= 1;
	EXPECT_EQ(-EINVAL, inpu_rt_image_tables(img, inpu_rt_fw_image_len, &t,
						err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "firmware image: ")) TH_LOG("%s", err);
	EXPECT_NE(NULL, strstr(err, "SHA-256")) TH_LOG("%s", err);
	memcpy(img, inpu_rt_fw_image, inpu_rt_fw_image_len);
	EXPECT_EQ(-EINVAL, inpu_rt_image_tables(img, inpu_rt_fw_image_len - 1,
						&t, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "firmware image: ")) TH_LOG("%s", err);
	EXPECT_EQ(0, inpu_rt_image_tables(img, inpu_rt_fw_image_len, &t, err,
					  sizeof(err))) TH_LOG("%s", err);
	free(img);
}

TEST_HARNESS_MAIN
