// SPDX-License-Identifier: MIT
/*
 * The GGUF reader (reference/gguf.c, gguf_llama.c, gguf_tokenizer.c) on
 * the shared stories260K files converted by llama.cpp: the F32 file holds
 * exactly the weights of stories260K.bin and the vocabulary of tok512.bin,
 * the Q8_0 and Q4_0 files hold the padded F32 file's weights within the
 * quantization error and run.  Then hostile files, made by changing single
 * fields of the real F32 file (found by an independent walk of its
 * layout, below), each refused with the right errno and one message that
 * names the file and the key or tensor at fault.  Last, parses from
 * several threads at once: the reader keeps no global state.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"
#include "tokenizer.h"
#include "model.h"
#include "gguf.h"
#include "gguf_dequant.h"
#include "model_util.h"
#include "kselftest_harness.h"

#define GG_F32		"models/gguf/stories260K-f32.gguf"
#define GG_PAD_F32	"models/gguf/stories260K-pad192-f32.gguf"
#define GG_PAD_Q8	"models/gguf/stories260K-pad192-q8_0.gguf"
#define GG_PAD_Q4	"models/gguf/stories260K-pad192-q4_0.gguf"
#define HNAME		"hostile.gguf"
#define MAXN		64	/* keys and tensors the walk below indexes */

/* ---- an independent walk of a (trusted) GGUF file's layout ------------- */

/* Byte sizes of the scalar value types (GGUF numbering; 8, 9 are not). */
static const size_t vsz[INPU_GGUF_NTYPES] = { 1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8 };

struct ix {
	size_t n_kv, n_t;
	struct {
		char key[80];
		size_t at, type_at, val_at, end;	/* val_at: arrays' first element */
	} kv[MAXN];
	struct {
		char name[80];
		size_t at, ndims_at, ne_at, type_at, off_at, end;
		uint64_t off;	/* relative to the data section */
	} t[MAXN];
	size_t meta_end, data_at;
};

struct walk {
	const uint8_t *b;
	size_t len, off;
	int bad;
};

static uint64_t w_get(struct walk *w, size_t n)
{
	uint64_t v = 0;

	if (w->len - w->off < n) {
		w->bad = 1;
		return 0;
	}
	memcpy(&v, w->b + w->off, n);	/* little-endian host */
	w->off += n;
	return v;
}

static void w_skip(struct walk *w, uint64_t n)
{
	if (w->len - w->off < n) {
		w->bad = 1;
		w->off = w->len;
	} else {
		w->off += n;
	}
}

static void w_str(struct walk *w, char *copy, size_t cap)
{
	uint64_t n = w_get(w, 8);

	if (copy && !w->bad && n < cap && w->len - w->off >= n) {
		memcpy(copy, w->b + w->off, n);
		copy[n] = '\0';
	}
	w_skip(w, n);
}

static void w_value(struct walk *w, uint32_t t)
{
	if (t == INPU_GGUF_STRING)
		w_str(w, NULL, 0);
	else if (t < INPU_GGUF_NTYPES && vsz[t])
		w_skip(w, vsz[t]);
	else
		w->bad = 1;
}

static void w_kv(struct walk *w, struct ix *x, size_t i)
{
	uint32_t t;

	x->kv[i].at = w->off;
	w_str(w, x->kv[i].key, sizeof(x->kv[i].key));
	x->kv[i].type_at = w->off;
	t = (uint32_t)w_get(w, 4);
	if (t == INPU_GGUF_ARRAY) {
		uint32_t et = (uint32_t)w_get(w, 4);
		uint64_t n = w_get(w, 8);

		x->kv[i].val_at = w->off;
		for (uint64_t j = 0; j < n && !w->bad; j++)
			w_value(w, et);
	} else {
		x->kv[i].val_at = w->off;
		w_value(w, t);
	}
	x->kv[i].end = w->off;
}

static void w_tensor(struct walk *w, struct ix *x, size_t i)
{
	uint32_t nd;

	x->t[i].at = w->off;
	w_str(w, x->t[i].name, sizeof(x->t[i].name));
	x->t[i].ndims_at = w->off;
	nd = (uint32_t)w_get(w, 4);
	x->t[i].ne_at = w->off;
	w_skip(w, 8ull * nd);
	x->t[i].type_at = w->off;
	w_skip(w, 4);
	x->t[i].off_at = w->off;
	x->t[i].off = w_get(w, 8);
	x->t[i].end = w->off;
}

/* Index @b; the shared files have no general.alignment, so 32. */
static int index_gguf(const uint8_t *b, size_t len, struct ix *x)
{
	struct walk w = { b, len, 8, 0 };

	memset(x, 0, sizeof(*x));
	x->n_t = w_get(&w, 8);
	x->n_kv = w_get(&w, 8);
	if (x->n_t > MAXN || x->n_kv > MAXN)
		return -1;
	for (size_t i = 0; i < x->n_kv; i++)
		w_kv(&w, x, i);
	for (size_t i = 0; i < x->n_t; i++)
		w_tensor(&w, x, i);
	x->meta_end = w.off;
	x->data_at = (w.off + 31) & ~(size_t)31;
	return w.bad ? -1 : 0;
}

static int kv_at(const struct ix *x, const char *key)
{
	for (size_t i = 0; i < x->n_kv; i++)
		if (!strcmp(x->kv[i].key, key))
			return (int)i;
	return -1;
}

static int t_at(const struct ix *x, const char *name)
{
	for (size_t i = 0; i < x->n_t; i++)
		if (!strcmp(x->t[i].name, name))
			return (int)i;
	return -1;
}

static void put_u32(uint8_t *b, size_t off, uint32_t v)
{
	memcpy(b + off, &v, 4);
}

static void put_u64(uint8_t *b, size_t off, uint64_t v)
{
	memcpy(b + off, &v, 8);
}

/*
 * @b with the metadata bytes [@at, @at + @cut) replaced by @ins: the data
 * section moves to the next 32-byte boundary after the new metadata, and
 * as tensor offsets are relative to it, the file stays consistent.
 */
static uint8_t *splice(const uint8_t *b, size_t len, const struct ix *x,
		       size_t at, size_t cut, const void *ins, size_t n,
		       size_t *out_len)
{
	size_t meta = x->meta_end - cut + n, data = (meta + 31) & ~(size_t)31;
	size_t dlen = len - x->data_at;
	uint8_t *o = calloc(1, data + dlen);

	if (!o)
		return NULL;
	memcpy(o, b, at);
	memcpy(o + at, ins, n);
	memcpy(o + at + n, b + at + cut, x->meta_end - at - cut);
	memcpy(o + data, b + x->data_at, dlen);
	*out_len = data + dlen;
	return o;
}

/* A key/value record of a string value, into @out; its length. */
static size_t kv_str(uint8_t *out, const char *key, const char *val)
{
	uint64_t kl = strlen(key), vl = strlen(val);
	uint32_t t = INPU_GGUF_STRING;

	memcpy(out, &kl, 8);
	memcpy(out + 8, key, kl);
	memcpy(out + 8 + kl, &t, 4);
	memcpy(out + 12 + kl, &vl, 8);
	memcpy(out + 20 + kl, val, vl);
	return 20 + kl + vl;
}

/* ---- the model's arrays by tensor name ---------------------------------- */

/* Where tensor @name lives in @m and how many floats; NULL if unknown. */
static float *slot(const struct inpu_model *m, const char *name, size_t *n)
{
	const struct inpu_model_config *c = &m->cfg;
	size_t d = (size_t)c->dim, h = (size_t)c->hidden_dim;
	size_t kv = (size_t)inpu_model_kv_dim(c), v = (size_t)c->vocab_size;
	char part[32];
	int l;

	if (!strcmp(name, "token_embd.weight"))
		return *n = v * d, m->tok_embeddings;
	if (!strcmp(name, "output.weight"))
		return *n = v * d, m->wcls;
	if (!strcmp(name, "output_norm.weight"))
		return *n = d, m->rms_final;
	if (sscanf(name, "blk.%d.%31[a-z_].weight", &l, part) != 2 ||
	    l < 0 || l >= c->n_layers)
		return NULL;
#define S(nm, arr, sz) if (!strcmp(part, nm)) return *n = (sz), m->arr + (size_t)l * (sz)
	S("attn_norm", rms_att, d);
	S("ffn_norm", rms_ffn, d);
	S("attn_q", wq, d * d);
	S("attn_k", wk, kv * d);
	S("attn_v", wv, kv * d);
	S("attn_output", wo, d * d);
	S("ffn_gate", w1, h * d);
	S("ffn_down", w2, d * h);
	S("ffn_up", w3, h * d);
#undef S
	return NULL;
}

/* ---- fixture: the F32 GGUF, its layout, the llama2.c originals --------- */

FIXTURE(gg) {
	uint8_t *raw;		/* stories260K-f32.gguf */
	size_t len;
	struct ix x;
	struct inpu_model *bin;	/* stories260K.bin */
	struct inpu_tokenizer *tok512;
	char err[INPU_MODEL_ERRLEN];
};

static int read_shared(struct __test_metadata *_metadata, const char *rel,
		       char **buf, size_t *len)
{
	char path[PATH_MAX], err[INPU_MODEL_ERRLEN];

	if (shared_path(rel, path, sizeof(path))) {
		TH_LOG(SHARED_HINT, path);
		return -1;
	}
	if (inpu_read_file(path, buf, len, err, sizeof(err))) {
		TH_LOG("%s", err);
		return -1;
	}
	return 0;
}

FIXTURE_SETUP(gg)
{
	char path[PATH_MAX];

	ASSERT_EQ(0, read_shared(_metadata, GG_F32, (char **)&self->raw, &self->len));
	ASSERT_EQ(0, index_gguf(self->raw, self->len, &self->x));
	ASSERT_EQ(48, self->x.n_t);
	ASSERT_EQ(-1, kv_at(&self->x, "general.alignment"));
	ASSERT_EQ(0, shared_path(SHARED_MODEL, path, sizeof(path))) {
		TH_LOG(SHARED_HINT, path);
	}
	ASSERT_EQ(0, inpu_model_load(path, &self->bin, self->err, sizeof(self->err))) {
		TH_LOG("%s", self->err);
	}
	ASSERT_EQ(0, shared_path(SHARED_TOK, path, sizeof(path))) {
		TH_LOG(SHARED_HINT, path);
	}
	ASSERT_EQ(0, inpu_tokenizer_load(path, &self->tok512, self->err,
					 sizeof(self->err))) {
		TH_LOG("%s", self->err);
	}
}

FIXTURE_TEARDOWN(gg)
{
	inpu_tokenizer_free(self->tok512);
	inpu_model_free(self->bin);
	free(self->raw);
}

/*
 * inpu_model_from_gguf() with a tokenizer on an exact-size copy of @buf
 * (so an overread is an ASan error): expect @want and a message starting
 * with the file name and containing @m1 and @m2.
 */
#define EXPECT_GG_REJECT(buf, len, want, m1, m2) do {				\
	struct inpu_model *_m = (struct inpu_model *)1;				\
	struct inpu_tokenizer *_t = (struct inpu_tokenizer *)1;			\
	char _e[INPU_MODEL_ERRLEN] = "";					\
	uint8_t *_c = malloc((len) ? (len) : 1);				\
	ASSERT_NE(NULL, _c);							\
	memcpy(_c, buf, len);							\
	EXPECT_EQ(want, inpu_model_from_gguf(_c, len, HNAME, &_m, &_t, _e,	\
					     sizeof(_e))) {			\
		TH_LOG("len %zu: %s", (size_t)(len), _e);			\
	}									\
	free(_c);								\
	EXPECT_EQ(NULL, _m);							\
	EXPECT_EQ(NULL, _t);							\
	EXPECT_EQ(0, strncmp(_e, HNAME ": ", strlen(HNAME) + 2)) {		\
		TH_LOG("no file name first: %s", _e);				\
	}									\
	EXPECT_NE(NULL, strstr(_e, m1)) { TH_LOG("want \"%s\" in: %s", m1, _e); } \
	EXPECT_NE(NULL, strstr(_e, m2)) { TH_LOG("want \"%s\" in: %s", m2, _e); } \
	if (_m != (struct inpu_model *)1)					\
		inpu_model_free(_m);						\
	if (_t != (struct inpu_tokenizer *)1)					\
		inpu_tokenizer_free(_t);					\
} while (0)

static uint8_t *dup_raw(const uint8_t *b, size_t len)
{
	uint8_t *d = malloc(len);

	if (d)
		memcpy(d, b, len);
	return d;
}

/* ---- 1, 2: the F32 file is stories260K.bin and tok512.bin --------------- */

TEST_F(gg, f32_equals_bin)
{
	const struct inpu_model_config *b = &self->bin->cfg, *c;
	struct inpu_model *m;

	ASSERT_EQ(0, inpu_model_from_gguf(self->raw, self->len, "f32.gguf", &m, NULL,
					  self->err, sizeof(self->err))) {
		TH_LOG("%s", self->err);
	}
	c = &m->cfg;
	EXPECT_EQ(INPU_CKPT_GGUF, c->version);
	EXPECT_EQ(b->dim, c->dim);
	EXPECT_EQ(b->hidden_dim, c->hidden_dim);
	EXPECT_EQ(b->n_layers, c->n_layers);
	EXPECT_EQ(b->n_heads, c->n_heads);
	EXPECT_EQ(b->n_kv_heads, c->n_kv_heads);
	EXPECT_EQ(b->vocab_size, c->vocab_size);
	EXPECT_EQ(512, b->seq_len);
	EXPECT_EQ(128, c->seq_len);	/* llama.cpp's converter wrote 128 */
	EXPECT_EQ(10000.0f, c->rope_theta);
	EXPECT_EQ(1e-5f, c->norm_eps);
	EXPECT_EQ(1, c->shared_classifier);	/* output.weight is a copy */
	EXPECT_EQ(m->tok_embeddings, m->wcls);
	EXPECT_EQ(self->bin->n_floats, m->n_floats);
	/* Every tensor of the file, each against the .bin's array. */
	for (size_t i = 0; i < self->x.n_t; i++) {
		size_t n, nb;
		float *a = slot(m, self->x.t[i].name, &n);
		float *e = slot(self->bin, self->x.t[i].name, &nb);

		ASSERT_NE(NULL, a) { TH_LOG("%s", self->x.t[i].name); }
		ASSERT_EQ(n, nb);
		EXPECT_EQ(0, memcmp(a, e, n * sizeof(float))) {
			TH_LOG("%s differs", self->x.t[i].name);
		}
	}
	inpu_model_free(m);
}

TEST_F(gg, tokenizer_equals_tok512)
{
	struct inpu_tokenizer *t;
	struct inpu_model *m;
	char dev[PATH_MAX], *text;
	size_t len, total = 0;
	int *a, *b;
	long na, nb;

	ASSERT_EQ(0, inpu_model_from_gguf(self->raw, self->len, "f32.gguf", &m, &t,
					  self->err, sizeof(self->err))) {
		TH_LOG("%s", self->err);
	}
	ASSERT_EQ(inpu_tokenizer_size(self->tok512), inpu_tokenizer_size(t));
	EXPECT_EQ(m->cfg.vocab_size, inpu_tokenizer_size(t));
	EXPECT_EQ(1, inpu_tokenizer_has_bytes(t));
	EXPECT_STREQ("<s>", inpu_tokenizer_token(t, 1));
	EXPECT_STREQ("</s>", inpu_tokenizer_token(t, 2));
	EXPECT_STREQ("\n<s>\n", inpu_tokenizer_token(self->tok512, 1));
	EXPECT_STREQ("\n</s>\n", inpu_tokenizer_token(self->tok512, 2));
	for (int i = 0; i < inpu_tokenizer_size(t); i++) {
		if (i != 1 && i != 2)
			EXPECT_STREQ(inpu_tokenizer_token(self->tok512, i),
				     inpu_tokenizer_token(t, i));
		EXPECT_EQ(inpu_tokenizer_score(self->tok512, i), inpu_tokenizer_score(t, i));
	}
	ASSERT_EQ(0, shared_path(SHARED_DEV, dev, sizeof(dev))) {
		TH_LOG(SHARED_HINT, dev);
	}
	ASSERT_EQ(0, inpu_read_file(dev, &text, &len, self->err, sizeof(self->err)));
	a = malloc(inpu_tokenizer_max_tokens(len) * sizeof(int));
	b = malloc(inpu_tokenizer_max_tokens(len) * sizeof(int));
	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	/*
	 * Line by line, which covers every byte but the newlines: BPE on the
	 * whole 250 KB at once is quadratic, minutes under the sanitizers.
	 */
	for (size_t at = 0, l; at < len; at += l + 1) {
		const char *nl = memchr(text + at, '\n', len - at);

		l = nl ? (size_t)(nl - (text + at)) : len - at;
		na = inpu_tokenizer_encode(t, text + at, l, 1, 0, a,
					   inpu_tokenizer_max_tokens(len));
		nb = inpu_tokenizer_encode(self->tok512, text + at, l, 1, 0, b,
					   inpu_tokenizer_max_tokens(len));
		ASSERT_EQ(nb, na) { TH_LOG("line at byte %zu", at); }
		ASSERT_EQ(0, memcmp(a, b, (size_t)na * sizeof(int))) {
			TH_LOG("line at byte %zu", at);
		}
		total += (size_t)na;
	}
	EXPECT_LT(50000, total);
	free(a);
	free(b);
	free(text);
	inpu_tokenizer_free(t);
	inpu_model_free(m);
}

/* ---- 3: the quantized files are the padded F32 file, within the error --- */

/*
 * The largest error ggml's reference quantizers make on block @a of 32:
 * Q8_0 rounds x / d (d = amax / 127) to the nearest integer, half a step,
 * and stores d as F16, whose relative error 2^-11 scaled by |q| <= 127
 * adds 127 / 2048 of a step.  Q4_0 takes d = max / -8 (max the element of
 * largest magnitude, with its sign), so x / d lies in [-8, 8]; ggml's
 * (int)(x / d + 8.5) clamped to 15 is off by half a step, except above 7.5
 * where the clamp to 7 costs up to a whole step; the F16 scale adds
 * 8 / 2048 of a step.  A little absolute slack covers F16 subnormal scales
 * and the float arithmetic.
 */
static float q_bound(uint32_t type, const float *a, int j)
{
	float amax = 0, max = 0, step, x;

	for (int i = 0; i < 32; i++)
		if (fabsf(a[i]) > amax) {
			amax = fabsf(a[i]);
			max = a[i];
		}
	if (type == INPU_GGML_Q8_0)
		return amax / 127 * (0.5f + 127.0f / 2048) + amax * 1e-6f + 4e-6f;
	step = amax / 8;
	x = max ? a[j] * (-8.0f / max) : 0;
	return step * ((x > 7.5f ? 1.0f : 0.5f) + 8.0f / 2048) + amax * 1e-6f + 1e-6f;
}

static void check_quant_file(struct __test_metadata *_metadata,
			     const struct inpu_model *ref, const char *rel)
{
	char err[INPU_MODEL_ERRLEN], *raw;
	struct inpu_float_state *s;
	struct inpu_model *m;
	struct inpu_gguf *g;
	const float *logits;
	size_t len;

	ASSERT_EQ(0, read_shared(_metadata, rel, &raw, &len));
	ASSERT_EQ(0, inpu_gguf_parse(raw, len, rel, &g, err, sizeof(err))) {
		TH_LOG("%s", err);
	}
	ASSERT_EQ(0, inpu_model_from_gguf(raw, len, rel, &m, NULL, err, sizeof(err))) {
		TH_LOG("%s", err);
	}
	EXPECT_EQ(192, m->cfg.hidden_dim);
	EXPECT_EQ(ref->cfg.dim, m->cfg.dim);
	EXPECT_EQ(ref->cfg.vocab_size, m->cfg.vocab_size);
	for (uint64_t i = 0; i < g->n_tensors; i++) {
		const struct inpu_gguf_tensor *t = &g->tensor[i];
		char name[80];
		size_t n, nr, bad = 0;
		const float *a, *b;

		snprintf(name, sizeof(name), "%.*s", (int)t->name.len, t->name.s);
		b = slot(m, name, &n);
		a = slot(ref, name, &nr);
		ASSERT_NE(NULL, b) { TH_LOG("%s: %s", rel, name); }
		ASSERT_EQ(n, nr);
		ASSERT_EQ(t->nelem, n);
		for (size_t j = 0; j < n; j++) {
			float lim = t->type == INPU_GGML_F32 ? 0 :
				    q_bound(t->type, a + j / 32 * 32, (int)(j % 32));

			ASSERT_TRUE(t->type == INPU_GGML_F32 || t->type == INPU_GGML_Q8_0 ||
				    t->type == INPU_GGML_Q4_0) {
				TH_LOG("%s: %s has type %u", rel, name, t->type);
			}
			if (!(fabsf(a[j] - b[j]) <= lim) && bad++ < 3)
				TH_LOG("%s: %s[%zu]: %.9g vs F32 %.9g (bound %.3g)", rel,
				       name, j, (double)b[j], (double)a[j], (double)lim);
		}
		EXPECT_EQ(0, bad) { TH_LOG("%s: %s", rel, name); }
	}
	/* A few steps from BOS, finite logits at each. */
	ASSERT_EQ(0, inpu_float_state_new(m, &s));
	for (int pos = 0, tok = INPU_TOK_BOS; pos < 4; pos++) {
		logits = inpu_float_forward(s, tok, pos);
		ASSERT_NE(NULL, logits);
		for (int v = 0; v < m->cfg.vocab_size; v++)
			ASSERT_TRUE(isfinite(logits[v]));
		tok = inpu_argmax(logits, m->cfg.vocab_size);
	}
	inpu_float_state_free(s);
	inpu_model_free(m);
	inpu_gguf_free(g);
	free(raw);
}

TEST(quantized_files_within_error)
{
	char err[INPU_MODEL_ERRLEN], *raw;
	struct inpu_model *ref;
	size_t len;

	ASSERT_EQ(0, read_shared(_metadata, GG_PAD_F32, &raw, &len));
	ASSERT_EQ(0, inpu_model_from_gguf(raw, len, GG_PAD_F32, &ref, NULL, err,
					  sizeof(err))) {
		TH_LOG("%s", err);
	}
	check_quant_file(_metadata, ref, GG_PAD_Q8);
	check_quant_file(_metadata, ref, GG_PAD_Q4);
	inpu_model_free(ref);
	free(raw);
}

/* ---- 4: hostile files ------------------------------------------------- */

TEST_F(gg, header)
{
	uint8_t *b = dup_raw(self->raw, self->len);

	ASSERT_NE(NULL, b);
	b[0] = 'g';
	EXPECT_GG_REJECT(b, self->len, -EINVAL, "not a GGUF file", "");
	b[0] = 'G';
	put_u32(b, 4, 1);
	EXPECT_GG_REJECT(b, self->len, -ENOTSUP, "GGUF version 1 ", "");
	put_u32(b, 4, 4);
	EXPECT_GG_REJECT(b, self->len, -ENOTSUP, "GGUF version 4 ", "");
	put_u32(b, 4, 0x03000000);	/* version 3 written big-endian */
	EXPECT_GG_REJECT(b, self->len, -ENOTSUP, "big-endian", "");
	put_u32(b, 4, 3);
	put_u64(b, 16, 1ull << 40);
	EXPECT_GG_REJECT(b, self->len, -EINVAL, "metadata keys", "");
	put_u64(b, 16, 65536);	/* allowed, but the file has 19 */
	EXPECT_GG_REJECT(b, self->len, -EINVAL, "truncated", "");
	put_u64(b, 16, self->x.n_kv);
	put_u64(b, 8, UINT64_MAX);
	EXPECT_GG_REJECT(b, self->len, -EINVAL, "tensors", "");
	put_u64(b, 8, self->x.n_t + 1);	/* one more info than there is */
	EXPECT_GG_REJECT(b, self->len, -EINVAL, "", "");
	free(b);
}

TEST_F(gg, truncated_everywhere)
{
	/* Every length through the tensor infos and the padding. */
	for (size_t n = 0; n <= self->x.data_at; n++)
		EXPECT_GG_REJECT(self->raw, n, -EINVAL, "", "");
	/* In the data: every tensor's data then cut short. */
	for (size_t n = self->x.data_at + 1; n < self->len; n += 4093)
		EXPECT_GG_REJECT(self->raw, n, -EINVAL, "outside the data section", "");
	EXPECT_GG_REJECT(self->raw, self->len - 1, -EINVAL, "blk.4.ffn_norm.weight", "outside");
}

TEST_F(gg, string_and_array_sizes)
{
	uint8_t *b = dup_raw(self->raw, self->len);
	int a = kv_at(&self->x, "general.architecture");
	int tk = kv_at(&self->x, "tokenizer.ggml.tokens");
	int sc = kv_at(&self->x, "tokenizer.ggml.scores");
	int t0 = 0;

	ASSERT_NE(NULL, b);
	ASSERT_LE(0, a);
	ASSERT_LE(0, tk);
	ASSERT_LE(0, sc);
	put_u64(b, self->x.kv[a].val_at, self->len);	/* string past the end */
	EXPECT_GG_REJECT(b, self->len, -EINVAL, "key 'general.architecture' needs", "truncated");
	put_u64(b, self->x.kv[a].val_at, UINT64_MAX);
	EXPECT_GG_REJECT(b, self->len, -EINVAL, "key 'general.architecture' needs", "");
	put_u64(b, self->x.kv[a].val_at, 5);
	put_u64(b, self->x.kv[a].at, UINT64_MAX - 3);	/* the key's length */
	EXPECT_GG_REJECT(b, self->len, -EINVAL, "a metadata key", "truncated");
	put_u64(b, self->x.kv[a].at, 20);
	put_u64(b, self->x.t[t0].at, self->len);	/* a tensor name's length */
	EXPECT_GG_REJECT(b, self->len, -EINVAL, "a tensor name", "truncated");
	put_u64(b, self->x.t[t0].at, 17);
	put_u64(b, self->x.kv[tk].val_at - 8, 1ull << 62);	/* array counts */
	EXPECT_GG_REJECT(b, self->len, -EINVAL, "key 'tokenizer.ggml.tokens'", "truncated");
	put_u64(b, self->x.kv[tk].val_at - 8, 512);
	put_u64(b, self->x.kv[sc].val_at - 8, UINT64_MAX);
	EXPECT_GG_REJECT(b, self->len, -EINVAL, "key 'tokenizer.ggml.scores'", "truncated");
	put_u64(b, self->x.kv[sc].val_at - 8, 1ull << 62);	/* * 4 wraps to 0 */
	EXPECT_GG_REJECT(b, self->len, -EINVAL, "key 'tokenizer.ggml.scores'", "truncated");
	put_u64(b, self->x.kv[sc].val_at - 8, 512);
	EXPECT_EQ(0, memcmp(b, self->raw, self->len));
	free(b);
}

TEST_F(gg, value_types)
{
	uint8_t *b = dup_raw(self->raw, self->len);
	int n = kv_at(&self->x, "general.name");
	int tt = kv_at(&self->x, "tokenizer.ggml.token_type");
	int bc = kv_at(&self->x, "llama.block_count");

	ASSERT_NE(NULL, b);
	ASSERT_LE(0, n);
	ASSERT_LE(0, tt);
	ASSERT_LE(0, bc);
	put_u32(b, self->x.kv[n].type_at, INPU_GGUF_NTYPES);
	EXPECT_GG_REJECT(b, self->len, -EINVAL, "key 'general.name'", "unknown value type 13");
	put_u32(b, self->x.kv[n].type_at, UINT32_MAX);
	EXPECT_GG_REJECT(b, self->len, -EINVAL, "key 'general.name'", "unknown value type");
	put_u32(b, self->x.kv[n].type_at, INPU_GGUF_STRING);
	put_u32(b, self->x.kv[tt].type_at + 4, INPU_GGUF_ARRAY);	/* nested */
	EXPECT_GG_REJECT(b, self->len, -EINVAL, "key 'tokenizer.ggml.token_type'",
			 "array element type 9");
	put_u32(b, self->x.kv[tt].type_at + 4, 200);
	EXPECT_GG_REJECT(b, self->len, -EINVAL, "key 'tokenizer.ggml.token_type'",
			 "array element type 200");
	put_u32(b, self->x.kv[tt].type_at + 4, INPU_GGUF_I32);
	/* A required integer of another type: 5 as F32 bits. */
	put_u32(b, self->x.kv[bc].type_at, INPU_GGUF_F32);
	EXPECT_GG_REJECT(b, self->len, -EINVAL, "llama.block_count", "");
	put_u32(b, self->x.kv[bc].type_at, INPU_GGUF_U32);
	put_u32(b, self->x.kv[bc].val_at, 0);
	EXPECT_GG_REJECT(b, self->len, -EINVAL, "llama.block_count", "is 0");
	put_u32(b, self->x.kv[bc].val_at, 5);
	EXPECT_EQ(0, memcmp(b, self->raw, self->len));
	free(b);
}

TEST_F(gg, duplicates)
{
	int bc = kv_at(&self->x, "llama.block_count");
	int q = t_at(&self->x, "blk.0.attn_q.weight");
	uint8_t *b;
	size_t len;

	ASSERT_LE(0, bc);
	ASSERT_LE(0, q);
	/* The key record again right after itself. */
	b = splice(self->raw, self->len, &self->x, self->x.kv[bc].end, 0,
		   self->raw + self->x.kv[bc].at, self->x.kv[bc].end - self->x.kv[bc].at, &len);
	ASSERT_NE(NULL, b);
	put_u64(b, 16, self->x.n_kv + 1);
	EXPECT_GG_REJECT(b, len, -EINVAL, "metadata key 'llama.block_count'", "appears twice");
	free(b);
	/* blk.0.attn_q renamed blk.0.attn_k, the name of the next tensor. */
	b = dup_raw(self->raw, self->len);
	ASSERT_NE(NULL, b);
	b[self->x.t[q].at + 8 + strlen("blk.0.attn_")] = 'k';
	EXPECT_GG_REJECT(b, self->len, -EINVAL, "tensor 'blk.0.attn_k.weight' appears twice", "");
	free(b);
}

TEST_F(gg, tensor_infos)
{
	uint8_t *b = dup_raw(self->raw, self->len);
	int v = t_at(&self->x, "blk.1.attn_v.weight");
	int dn = t_at(&self->x, "blk.0.ffn_down.weight");
	int q = t_at(&self->x, "blk.0.attn_q.weight");
	int k = t_at(&self->x, "blk.0.attn_k.weight");
	int last = (int)self->x.n_t - 1;
	uint64_t data = self->len - self->x.data_at;

	ASSERT_NE(NULL, b);
	ASSERT_LE(0, v);
	ASSERT_LE(0, dn);
	ASSERT_LE(0, q);
	ASSERT_LE(0, k);
	put_u32(b, self->x.t[v].ndims_at, 0);
	EXPECT_GG_REJECT(b, self->len, -EINVAL, "tensor 'blk.1.attn_v.weight'", "0 dimensions");
	put_u32(b, self->x.t[v].ndims_at, 5);
	EXPECT_GG_REJECT(b, self->len, -EINVAL, "tensor 'blk.1.attn_v.weight'", "5 dimensions");
	put_u32(b, self->x.t[v].ndims_at, 2);
	put_u64(b, self->x.t[v].ne_at + 8, 0);
	EXPECT_GG_REJECT(b, self->len, -EINVAL, "tensor 'blk.1.attn_v.weight'", "dimension 1 is 0");
	put_u64(b, self->x.t[v].ne_at + 8, 1ull << 41);
	EXPECT_GG_REJECT(b, self->len, -EINVAL, "tensor 'blk.1.attn_v.weight'", "dimension 1 is");
	put_u64(b, self->x.t[v].ne_at + 8, 32);
	put_u32(b, self->x.t[v].type_at, INPU_GGML_Q2_K);
	EXPECT_GG_REJECT(b, self->len, -ENOTSUP, "tensor 'blk.1.attn_v.weight'", "Q2_K");
	put_u32(b, self->x.t[v].type_at, 99);
	EXPECT_GG_REJECT(b, self->len, -ENOTSUP, "tensor 'blk.1.attn_v.weight'", "unknown");
	put_u32(b, self->x.t[v].type_at, INPU_GGML_F32);
	/* 172 columns are not whole Q4_0 blocks of 32 */
	put_u32(b, self->x.t[dn].type_at, INPU_GGML_Q4_0);
	EXPECT_GG_REJECT(b, self->len, -EINVAL, "tensor 'blk.0.ffn_down.weight'", "Q4_0 blocks");
	put_u32(b, self->x.t[dn].type_at, INPU_GGML_F32);
	put_u64(b, self->x.t[v].off_at, self->x.t[v].off + 4);
	EXPECT_GG_REJECT(b, self->len, -EINVAL, "tensor 'blk.1.attn_v.weight'", "misaligned");
	put_u64(b, self->x.t[v].off_at, self->x.t[v].off);
	put_u64(b, self->x.t[last].off_at, (data + 31) & ~31ull);
	EXPECT_GG_REJECT(b, self->len, -EINVAL, self->x.t[last].name, "outside");
	put_u64(b, self->x.t[last].off_at, UINT64_MAX & ~31ull);	/* no wrap */
	EXPECT_GG_REJECT(b, self->len, -EINVAL, self->x.t[last].name, "outside");
	put_u64(b, self->x.t[last].off_at, self->x.t[last].off);
	put_u64(b, self->x.t[k].off_at, self->x.t[q].off + 32);
	EXPECT_GG_REJECT(b, self->len, -EINVAL, "overlaps", "blk.0.attn_");
	put_u64(b, self->x.t[k].off_at, self->x.t[k].off);
	EXPECT_EQ(0, memcmp(b, self->raw, self->len));
	free(b);
}

TEST_F(gg, alignment)
{
	int bc = kv_at(&self->x, "llama.block_count");
	uint8_t *b = dup_raw(self->raw, self->len), rec[64];
	size_t len, n;

	ASSERT_NE(NULL, b);
	ASSERT_LE(0, bc);
	/* llama.block_count (5) renamed general.alignment: same length. */
	memcpy(b + self->x.kv[bc].at + 8, "general.alignment", 17);
	EXPECT_GG_REJECT(b, self->len, -EINVAL, "general.alignment 5", "power of two");
	put_u32(b, self->x.kv[bc].val_at, 48);
	EXPECT_GG_REJECT(b, self->len, -EINVAL, "general.alignment 48", "power of two");
	put_u32(b, self->x.kv[bc].val_at, 0);
	EXPECT_GG_REJECT(b, self->len, -EINVAL, "general.alignment 0", "power of two");
	put_u32(b, self->x.kv[bc].val_at, 1u << 31);
	EXPECT_GG_REJECT(b, self->len, -EINVAL, "general.alignment", "power of two");
	free(b);
	/* general.alignment as a string, inserted first. */
	n = kv_str(rec, "general.alignment", "32");
	b = splice(self->raw, self->len, &self->x, self->x.kv[0].at, 0, rec, n, &len);
	ASSERT_NE(NULL, b);
	put_u64(b, 16, self->x.n_kv + 1);
	EXPECT_GG_REJECT(b, len, -EINVAL, "general.alignment", "");
	free(b);
}

TEST_F(gg, architecture_and_tokenizer_model)
{
	int a = kv_at(&self->x, "general.architecture");
	int tm = kv_at(&self->x, "tokenizer.ggml.model");
	int bos = kv_at(&self->x, "tokenizer.ggml.bos_token_id");
	uint8_t *b = dup_raw(self->raw, self->len), rec[16];
	struct inpu_model *m;
	size_t len;
	uint64_t four = 4;

	ASSERT_NE(NULL, b);
	ASSERT_LE(0, a);
	ASSERT_LE(0, tm);
	ASSERT_LE(0, bos);
	/* The value, not the "llama." prefix of the keys. */
	ASSERT_EQ(0, memcmp(b + self->x.kv[a].val_at + 8, "llama", 5));
	memcpy(b + self->x.kv[a].val_at + 8, "gemma", 5);
	EXPECT_GG_REJECT(b, self->len, -ENOTSUP, "architecture 'gemma'", "not supported");
	memcpy(b + self->x.kv[a].val_at + 8, "llama", 5);
	put_u32(b, self->x.kv[bos].val_at, 5);
	EXPECT_GG_REJECT(b, self->len, -ENOTSUP, "tokenizer.ggml.bos_token_id is 5", "");
	put_u32(b, self->x.kv[bos].val_at, 1);
	free(b);

	/* tokenizer.ggml.model "gpt2": the model alone still loads. */
	memcpy(rec, &four, 8);
	memcpy(rec + 8, "gpt2", 4);
	b = splice(self->raw, self->len, &self->x, self->x.kv[tm].val_at, 8 + 5, rec, 12, &len);
	ASSERT_NE(NULL, b);
	EXPECT_GG_REJECT(b, len, -ENOTSUP, "tokenizer model 'gpt2'", "");
	ASSERT_EQ(0, inpu_model_from_gguf(b, len, HNAME, &m, NULL, self->err,
					  sizeof(self->err))) {
		TH_LOG("%s", self->err);
	}
	EXPECT_EQ(0, memcmp(m->storage, self->bin->storage,
			    m->n_floats * sizeof(float)));
	inpu_model_free(m);
	free(b);
}

TEST_F(gg, tensors_missing_unknown_misshapen_nan)
{
	uint8_t *b = dup_raw(self->raw, self->len);
	int up = t_at(&self->x, "blk.3.ffn_up.weight");
	int out = t_at(&self->x, "output.weight");
	int q = t_at(&self->x, "blk.0.attn_q.weight");
	int v = t_at(&self->x, "blk.2.attn_v.weight");
	int on = t_at(&self->x, "output_norm.weight");
	int el = kv_at(&self->x, "llama.embedding_length");
	const float nan = NAN, inf = INFINITY;
	float one;

	ASSERT_NE(NULL, b);
	ASSERT_LE(0, up);
	ASSERT_LE(0, out);
	ASSERT_LE(0, q);
	ASSERT_LE(0, v);
	ASSERT_LE(0, on);
	ASSERT_LE(0, el);
	memcpy(b + self->x.t[up].at + 8, "blk.3.ffn_UP.weight", 19);
	EXPECT_GG_REJECT(b, self->len, -EINVAL, "tensor 'blk.3.ffn_up.weight' is missing", "");
	memcpy(b + self->x.t[up].at + 8, "blk.3.ffn_up.weight", 19);
	/* output.weight renamed: an unknown tensor, refused by name. */
	memcpy(b + self->x.t[out].at + 8, "output.bias00", 13);
	EXPECT_GG_REJECT(b, self->len, -ENOTSUP, "tensor 'output.bias00'", "not part");
	memcpy(b + self->x.t[out].at + 8, "output.weight", 13);
	b[self->x.kv[el].at + 8 + 21] = 'X';	/* llama.embedding_lengtX */
	EXPECT_GG_REJECT(b, self->len, -EINVAL, "'llama.embedding_length' is missing", "");
	b[self->x.kv[el].at + 8 + 21] = 'h';
	put_u64(b, self->x.t[q].ne_at + 8, 32);	/* 64 x 32, not 64 x 64 */
	EXPECT_GG_REJECT(b, self->len, -EINVAL, "tensor 'blk.0.attn_q.weight'",
			 "has shape [64, 32, 1, 1], the metadata implies [64, 64]");
	put_u64(b, self->x.t[q].ne_at + 8, 64);
	memcpy(&one, b + self->x.data_at + self->x.t[v].off + 100, 4);
	memcpy(b + self->x.data_at + self->x.t[v].off + 100, &nan, 4);
	EXPECT_GG_REJECT(b, self->len, -EINVAL, "tensor 'blk.2.attn_v.weight'", "non-finite");
	memcpy(b + self->x.data_at + self->x.t[v].off + 100, &one, 4);
	memcpy(&one, b + self->x.data_at + self->x.t[on].off + 252, 4);
	memcpy(b + self->x.data_at + self->x.t[on].off + 252, &inf, 4);
	EXPECT_GG_REJECT(b, self->len, -EINVAL, "tensor 'output_norm.weight'", "non-finite");
	memcpy(b + self->x.data_at + self->x.t[on].off + 252, &one, 4);
	EXPECT_EQ(0, memcmp(b, self->raw, self->len));
	free(b);
}

/*
 * Metadata of a huge model over the 1 MB of tensors: refused for the
 * shapes, before the model's storage is allocated from the metadata (an
 * allocation the file would otherwise make hundreds of GB large).
 */
TEST_F(gg, huge_config_small_file)
{
	const char *keys[] = { "llama.embedding_length", "llama.feed_forward_length",
			       "llama.block_count", "llama.rope.dimension_count" };
	const uint32_t vals[] = { 8192, 1u << 18, 1024, 8192 / 8 };
	uint8_t *b = dup_raw(self->raw, self->len);

	ASSERT_NE(NULL, b);
	for (int i = 0; i < 4; i++) {
		int k = kv_at(&self->x, keys[i]);

		ASSERT_LE(0, k);
		put_u32(b, self->x.kv[k].val_at, vals[i]);
	}
	EXPECT_GG_REJECT(b, self->len, -EINVAL, "tensor 'token_embd.weight'",
			 "the metadata implies [8192, 512]");
	free(b);
}

/* ---- no global state: parses from several threads at once -------------- */

struct job {
	const uint8_t *buf;
	size_t len;
	const struct inpu_model *ref;
	int ok;		/* parses that succeeded with the reference weights */
};

static void *parse_many(void *arg)
{
	struct job *j = arg;
	char err[INPU_MODEL_ERRLEN];

	for (int i = 0; i < 20; i++) {
		struct inpu_tokenizer *t;
		struct inpu_model *m;

		if (inpu_model_from_gguf(j->buf, j->len, "thread.gguf", &m, &t, err,
					 sizeof(err)))
			continue;
		j->ok += m->n_floats == j->ref->n_floats &&
			 !memcmp(m->storage, j->ref->storage, m->n_floats * sizeof(float)) &&
			 inpu_tokenizer_size(t) == 512;
		inpu_tokenizer_free(t);
		inpu_model_free(m);
	}
	return NULL;
}

TEST_F(gg, parallel_parses)
{
	struct job jobs[4];
	pthread_t th[4];

	for (int i = 0; i < 4; i++) {
		jobs[i] = (struct job){ self->raw, self->len, self->bin, 0 };
		ASSERT_EQ(0, pthread_create(&th[i], NULL, parse_many, &jobs[i]));
	}
	for (int i = 0; i < 4; i++) {
		ASSERT_EQ(0, pthread_join(th[i], NULL));
		EXPECT_EQ(20, jobs[i].ok);
	}
}

/* inpu_model_open() and inpu_model_parse() dispatch on the GGUF magic. */
TEST_F(gg, open_and_parse_dispatch)
{
	struct inpu_tokenizer *t;
	struct inpu_model *m;
	char path[PATH_MAX];

	ASSERT_EQ(0, shared_path(GG_F32, path, sizeof(path)));
	ASSERT_EQ(0, inpu_model_open(path, &m, &t, self->err, sizeof(self->err))) {
		TH_LOG("%s", self->err);
	}
	EXPECT_NE(NULL, t);
	EXPECT_EQ(0, memcmp(m->storage, self->bin->storage, m->n_floats * sizeof(float)));
	inpu_tokenizer_free(t);
	inpu_model_free(m);
	ASSERT_EQ(0, inpu_model_parse(self->raw, self->len, "f32.gguf", &m, self->err,
				      sizeof(self->err)));
	EXPECT_EQ(128, m->cfg.seq_len);
	inpu_model_free(m);
}

TEST_HARNESS_MAIN
