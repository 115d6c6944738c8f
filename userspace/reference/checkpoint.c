// SPDX-License-Identifier: MIT
/*
 * llama2.c checkpoint readers: the legacy v0 format of run.c and the
 * versioned float32 v1 format of export.py.
 *
 * v0: 7 x int32 (dim, hidden_dim, n_layers, n_heads, n_kv_heads,
 *     vocab_size, seq_len; a negative vocab_size means an unshared
 *     classifier), then float32 tok_embeddings, rms_att, wq, wk, wv, wo,
 *     rms_ffn, w1, w2, w3, rms_final, the unused freq_cis_real and
 *     freq_cis_imag (seq_len * head_size / 2 each) and wcls if unshared.
 * v1: uint32 magic "ak42", int32 version 1, the same 7 x int32 (vocab_size
 *     positive), a shared_classifier byte, zeros up to 256 bytes, then
 *     float32 rms_att, rms_ffn, rms_final, tok_embeddings, wq, wk, wv, wo,
 *     w1, w2, w3 and wcls if unshared.
 * All little-endian.  Matrices are [out][in] in both.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"
#include "gguf.h"
#include "tokenizer.h"
#include "model.h"
#include "util.h"

/* Limits well above any llama2.c model, low enough that sizes cannot overflow. */
#define MAX_DIM		(1 << 16)
#define MAX_HIDDEN	(1 << 18)
#define MAX_LAYERS	1024
#define MAX_VOCAB	(1 << 22)
#define MAX_SEQ		(1 << 20)

#define V0_HEADER	28

enum tensor {
	T_EMB, T_RMS_ATT, T_RMS_FFN, T_RMS_FINAL, T_WQ, T_WK, T_WV, T_WO,
	T_W1, T_W2, T_W3, T_WCLS, T_FREQ_RE, T_FREQ_IM, T_END,
};

static const char *const tensor_name[] = {
	[T_EMB] = "tok_embeddings", [T_RMS_ATT] = "rms_att",
	[T_RMS_FFN] = "rms_ffn", [T_RMS_FINAL] = "rms_final",
	[T_WQ] = "wq", [T_WK] = "wk", [T_WV] = "wv", [T_WO] = "wo",
	[T_W1] = "w1", [T_W2] = "w2", [T_W3] = "w3", [T_WCLS] = "wcls",
	[T_FREQ_RE] = "freq_cis_real", [T_FREQ_IM] = "freq_cis_imag",
};

static const enum tensor v0_order[] = {
	T_EMB, T_RMS_ATT, T_WQ, T_WK, T_WV, T_WO, T_RMS_FFN, T_W1, T_W2, T_W3,
	T_RMS_FINAL, T_FREQ_RE, T_FREQ_IM, T_WCLS, T_END,
};

static const enum tensor v1_order[] = {
	T_RMS_ATT, T_RMS_FFN, T_RMS_FINAL, T_EMB, T_WQ, T_WK, T_WV, T_WO,
	T_W1, T_W2, T_W3, T_WCLS, T_END,
};

/* Elements of tensor @t (0 if absent); the limits keep this in range. */
static uint64_t tensor_count(const struct inpu_model_config *c, enum tensor t)
{
	uint64_t L = (uint64_t)c->n_layers, d = (uint64_t)c->dim;
	uint64_t kv = (uint64_t)inpu_model_kv_dim(c);
	uint64_t h = (uint64_t)c->hidden_dim, v = (uint64_t)c->vocab_size;

	switch (t) {
	case T_EMB:
		return v * d;
	case T_RMS_ATT:
	case T_RMS_FFN:
		return L * d;
	case T_RMS_FINAL:
		return d;
	case T_WQ:
	case T_WO:
		return L * d * d;
	case T_WK:
	case T_WV:
		return L * kv * d;
	case T_W1:
	case T_W2:
	case T_W3:
		return L * h * d;
	case T_WCLS:
		return c->shared_classifier ? 0 : v * d;
	case T_FREQ_RE:
	case T_FREQ_IM:
		return c->version == INPU_CKPT_V0 ?
		       (uint64_t)c->seq_len * (uint64_t)inpu_model_head_size(c) / 2 : 0;
	default:
		return 0;
	}
}

/* Layer count of a per-layer tensor (for messages), else 0. */
static uint64_t tensor_layers(const struct inpu_model_config *c, enum tensor t)
{
	switch (t) {
	case T_RMS_ATT: case T_RMS_FFN: case T_WQ: case T_WK: case T_WV:
	case T_WO: case T_W1: case T_W2: case T_W3:
		return (uint64_t)c->n_layers;
	default:
		return 0;
	}
}

const char *inpu_model_check_config(const struct inpu_model_config *c,
				    char *why, size_t whylen)
{
	static const struct {
		const char *name;
		size_t off;
		int max;
	} f[] = {
		{ "dim", offsetof(struct inpu_model_config, dim), MAX_DIM },
		{ "hidden_dim", offsetof(struct inpu_model_config, hidden_dim), MAX_HIDDEN },
		{ "n_layers", offsetof(struct inpu_model_config, n_layers), MAX_LAYERS },
		{ "n_heads", offsetof(struct inpu_model_config, n_heads), MAX_DIM },
		{ "n_kv_heads", offsetof(struct inpu_model_config, n_kv_heads), MAX_DIM },
		{ "vocab_size", offsetof(struct inpu_model_config, vocab_size), MAX_VOCAB },
		{ "seq_len", offsetof(struct inpu_model_config, seq_len), MAX_SEQ },
	};

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		int v;

		memcpy(&v, (const char *)c + f[i].off, sizeof(v));
		if (v <= 0 || v > f[i].max) {
			snprintf(why, whylen, "%s %d is outside 1..%d",
				 f[i].name, v, f[i].max);
			return why;
		}
	}
	if (c->dim % c->n_heads) {
		snprintf(why, whylen, "n_heads %d does not divide dim %d",
			 c->n_heads, c->dim);
		return why;
	}
	if (c->n_kv_heads > c->n_heads || c->n_heads % c->n_kv_heads) {
		snprintf(why, whylen, "n_kv_heads %d does not divide n_heads %d",
			 c->n_kv_heads, c->n_heads);
		return why;
	}
	if ((c->dim / c->n_heads) % 2) {
		snprintf(why, whylen, "head size %d is odd (RoPE rotates pairs)",
			 c->dim / c->n_heads);
		return why;
	}
	/* Byte tokens are optional (character-level vocabularies). */
	if (c->vocab_size < INPU_TOK_BYTE0) {
		snprintf(why, whylen,
			 "vocab_size %d is below 3 (the special tokens)",
			 c->vocab_size);
		return why;
	}
	return NULL;
}

static void describe(const struct inpu_model_config *c, char *buf, size_t len)
{
	snprintf(buf, len,
		 "dim=%d hidden_dim=%d n_layers=%d n_heads=%d n_kv_heads=%d vocab_size=%d seq_len=%d",
		 c->dim, c->hidden_dim, c->n_layers, c->n_heads, c->n_kv_heads,
		 c->vocab_size, c->seq_len);
}

/* Point the weight pointers of @m into a fresh storage block. */
static int alloc_weights(struct inpu_model *m)
{
	const struct inpu_model_config *c = &m->cfg;
	float **slot[T_END] = {
		[T_EMB] = &m->tok_embeddings, [T_RMS_ATT] = &m->rms_att,
		[T_RMS_FFN] = &m->rms_ffn, [T_RMS_FINAL] = &m->rms_final,
		[T_WQ] = &m->wq, [T_WK] = &m->wk, [T_WV] = &m->wv,
		[T_WO] = &m->wo, [T_W1] = &m->w1, [T_W2] = &m->w2,
		[T_W3] = &m->w3, [T_WCLS] = &m->wcls,
	};
	uint64_t total = 0;
	float *p;

	for (int t = 0; t <= T_WCLS; t++)
		total += tensor_count(c, t);
	if (total > SIZE_MAX / sizeof(float))
		return -ENOMEM;
	m->storage = malloc((size_t)total * sizeof(float));
	if (!m->storage)
		return -ENOMEM;
	m->n_floats = (size_t)total;
	p = m->storage;
	for (int t = 0; t <= T_WCLS; t++) {
		*slot[t] = p;
		p += tensor_count(c, t);
	}
	if (c->shared_classifier)
		m->wcls = m->tok_embeddings;
	return 0;
}

static float *tensor_ptr(struct inpu_model *m, enum tensor t)
{
	switch (t) {
	case T_EMB: return m->tok_embeddings;
	case T_RMS_ATT: return m->rms_att;
	case T_RMS_FFN: return m->rms_ffn;
	case T_RMS_FINAL: return m->rms_final;
	case T_WQ: return m->wq;
	case T_WK: return m->wk;
	case T_WV: return m->wv;
	case T_WO: return m->wo;
	case T_W1: return m->w1;
	case T_W2: return m->w2;
	case T_W3: return m->w3;
	case T_WCLS: return m->cfg.shared_classifier ? NULL : m->wcls;
	default: return NULL;
	}
}

void inpu_model_free(struct inpu_model *m)
{
	if (!m)
		return;
	free(m->storage);
	free(m);
}

/* @n floats of @src (zeros if NULL) to @f, little-endian as this host. */
static int put_floats(FILE *f, const float *src, size_t n)
{
	static const float zeros[1024];

	while (n) {
		size_t k = src ? n : (n < 1024 ? n : 1024);

		if (fwrite(src ? src : zeros, sizeof(float), k, f) != k)
			return -EIO;
		if (src)
			src += k;
		n -= k;
	}
	return 0;
}

int inpu_model_save_v0(const struct inpu_model *m, const char *path,
		       char *err, size_t errlen)
{
	struct inpu_model_config c = m->cfg;
	int32_t hdr[7] = { c.dim, c.hidden_dim, c.n_layers, c.n_heads,
			   c.n_kv_heads, c.shared_classifier ? c.vocab_size :
			   -c.vocab_size, c.seq_len };
	FILE *f = fopen(path, "wb");
	int ret = 0;

	if (!f) {
		ret = -errno;
		inpu_model_seterr(err, errlen, "%s: %s", path, strerror(errno));
		return ret;
	}
	c.version = INPU_CKPT_V0;	/* v0 carries the RoPE tables */
	if (fwrite(hdr, sizeof(hdr), 1, f) != 1)
		ret = -EIO;
	for (const enum tensor *t = v0_order; *t != T_END && !ret; t++)
		ret = put_floats(f, tensor_ptr((struct inpu_model *)m, *t),
				 (size_t)tensor_count(&c, *t));
	if (fclose(f) && !ret)
		ret = -EIO;
	if (ret) {
		inpu_model_seterr(err, errlen, "%s: write failed: %s", path,
				  strerror(-ret));
		remove(path);
	}
	return ret;
}

/*
 * Read a v1 header ("ak42" magic already seen) into @c.  The version is
 * checked before the full header length so that a short v2 file is
 * reported as v2, not as truncated.
 */
static int parse_v1_header(const unsigned char *b, size_t len,
			   const char *name, struct inpu_model_config *c,
			   char *err, size_t errlen)
{
	char why[160], desc[200];
	int32_t version;

	if (len < 8) {
		inpu_model_seterr(err, errlen,
				  "%s: truncated: %zu bytes, the v1 header needs %d",
				  name, len, INPU_CKPT_V1_HEADER);
		return -EINVAL;
	}
	version = inpu_le_i32(b + 4);
	if (version != 1) {
		inpu_model_seterr(err, errlen,
				  "%s: llama2.c checkpoint version %d is not supported (only the legacy v0 and the float32 v1 formats%s)",
				  name, version,
				  version == 2 ? "; v2 is llama2.c's int8 Q8_0 export" : "");
		return -ENOTSUP;
	}
	if (len < INPU_CKPT_V1_HEADER) {
		inpu_model_seterr(err, errlen,
				  "%s: truncated: %zu bytes, the v1 header needs %d",
				  name, len, INPU_CKPT_V1_HEADER);
		return -EINVAL;
	}
	c->version = INPU_CKPT_V1;
	c->rope_theta = 10000.0f;
	c->norm_eps = 1e-5f;
	c->dim = inpu_le_i32(b + 8);
	c->hidden_dim = inpu_le_i32(b + 12);
	c->n_layers = inpu_le_i32(b + 16);
	c->n_heads = inpu_le_i32(b + 20);
	c->n_kv_heads = inpu_le_i32(b + 24);
	c->vocab_size = inpu_le_i32(b + 28);
	c->seq_len = inpu_le_i32(b + 32);
	if (b[36] > 1) {
		inpu_model_seterr(err, errlen,
				  "%s: v1 header: shared_classifier flag is %u, not 0 or 1",
				  name, b[36]);
		return -EINVAL;
	}
	c->shared_classifier = b[36];
	if (inpu_model_check_config(c, why, sizeof(why))) {
		describe(c, desc, sizeof(desc));
		inpu_model_seterr(err, errlen, "%s: v1 header: %s (%s)",
				  name, why, desc);
		return -EINVAL;
	}
	return 0;
}

/*
 * Read a v0 header into @c.  v0 has no magic, so a file that fails here
 * may be anything: the message says so rather than blaming one field.
 */
static int parse_v0_header(const unsigned char *b, size_t len,
			   const char *name, struct inpu_model_config *c,
			   char *err, size_t errlen)
{
	char why[160], desc[200];

	if (len < V0_HEADER) {
		inpu_model_seterr(err, errlen,
				  "%s: not a llama2.c checkpoint: %zu bytes, shorter than the %d-byte v0 header and no \"ak42\" magic",
				  name, len, V0_HEADER);
		return -EINVAL;
	}
	c->version = INPU_CKPT_V0;
	c->rope_theta = 10000.0f;
	c->norm_eps = 1e-5f;
	c->dim = inpu_le_i32(b);
	c->hidden_dim = inpu_le_i32(b + 4);
	c->n_layers = inpu_le_i32(b + 8);
	c->n_heads = inpu_le_i32(b + 12);
	c->n_kv_heads = inpu_le_i32(b + 16);
	c->vocab_size = inpu_le_i32(b + 20);
	c->seq_len = inpu_le_i32(b + 24);
	/* A negative vocab_size flags an unshared classifier. */
	c->shared_classifier = c->vocab_size > 0;
	if (c->vocab_size < 0 && c->vocab_size != INT32_MIN)
		c->vocab_size = -c->vocab_size;
	if (inpu_model_check_config(c, why, sizeof(why))) {
		describe(c, desc, sizeof(desc));
		inpu_model_seterr(err, errlen,
				  "%s: not a llama2.c checkpoint: no \"ak42\" magic and the v0 header is not sane: %s (%s)",
				  name, why, desc);
		return -EINVAL;
	}
	return 0;
}

/*
 * The file must be exactly the header and the tensors of @order: both a
 * short file and trailing bytes mean the header does not describe it.
 * Sets *@floats to the number of weights.
 */
static int check_file_size(const struct inpu_model_config *c,
			   const enum tensor *order, size_t header,
			   size_t len, const char *name, uint64_t *floats,
			   char *err, size_t errlen)
{
	uint64_t want;
	char desc[200];

	*floats = 0;
	for (const enum tensor *t = order; *t != T_END; t++)
		if (inpu_add_ovf(*floats, tensor_count(c, *t), floats))
			return -EOVERFLOW;	/* cannot happen within the limits */
	if (inpu_mul_ovf(*floats, sizeof(float), &want) ||
	    inpu_add_ovf(want, header, &want))
		return -EOVERFLOW;
	if ((uint64_t)len == want)
		return 0;
	describe(c, desc, sizeof(desc));
	if ((uint64_t)len < want)
		inpu_model_seterr(err, errlen,
				  "%s: truncated: the v%d header (%s, %s classifier) implies %llu bytes, the file has %zu",
				  name, c->version, desc,
				  c->shared_classifier ? "shared" : "separate",
				  (unsigned long long)want, len);
	else
		inpu_model_seterr(err, errlen,
				  "%s: %llu bytes after the weights: the v%d header (%s, %s classifier) implies %llu bytes, the file has %zu",
				  name, (unsigned long long)((uint64_t)len - want),
				  c->version, desc,
				  c->shared_classifier ? "shared" : "separate",
				  (unsigned long long)want, len);
	return -EINVAL;
}

int inpu_model_alloc(const struct inpu_model_config *c, struct inpu_model **out)
{
	struct inpu_model *m = calloc(1, sizeof(*m));

	*out = NULL;
	if (!m)
		return -ENOMEM;
	m->cfg = *c;
	if (alloc_weights(m)) {
		free(m);
		return -ENOMEM;
	}
	*out = m;
	return 0;
}

/* A model with config @c and weight storage for @floats weights. */
static int new_model(const struct inpu_model_config *c, uint64_t floats,
		     const char *name, struct inpu_model **out, char *err,
		     size_t errlen)
{
	struct inpu_model *m;
	int ret;

	m = calloc(1, sizeof(*m));
	if (!m) {
		inpu_model_seterr(err, errlen, "%s: out of memory", name);
		return -ENOMEM;
	}
	m->cfg = *c;
	ret = alloc_weights(m);
	if (ret) {
		inpu_model_seterr(err, errlen,
				  "%s: out of memory for %llu weights", name,
				  (unsigned long long)floats);
		free(m);
		return ret;
	}
	*out = m;
	return 0;
}

/*
 * The first non-finite weight of the @n weights of tensor @t at @w gets an
 * error naming it (by layer for per-layer tensors): the forward pass would
 * only turn it into NaN logits far from the cause.
 */
static int check_finite(const struct inpu_model_config *c, enum tensor t,
			const float *w, size_t n, const char *name,
			char *err, size_t errlen)
{
	uint64_t layers = tensor_layers(c, t);

	for (size_t i = 0; i < n; i++) {
		if (isfinite(w[i]))
			continue;
		if (layers)
			inpu_model_seterr(err, errlen,
					  "%s: %s of layer %llu has a non-finite value (%g) at element %llu",
					  name, tensor_name[t],
					  (unsigned long long)(i / (n / layers)),
					  (double)w[i],
					  (unsigned long long)(i % (n / layers)));
		else
			inpu_model_seterr(err, errlen,
					  "%s: %s has a non-finite value (%g) at element %zu",
					  name, tensor_name[t], (double)w[i], i);
		return -EINVAL;
	}
	return 0;
}

/* Copy the tensors of @order, which follow the header, into @m. */
static int load_tensors(struct inpu_model *m, const unsigned char *b,
			const enum tensor *order, size_t header,
			const char *name, char *err, size_t errlen)
{
	size_t off = header;
	int ret;

	for (const enum tensor *t = order; *t != T_END; t++) {
		size_t n = (size_t)tensor_count(&m->cfg, *t);
		float *dst = tensor_ptr(m, *t);

		/* v0's unused RoPE tables have no slot and are skipped. */
		if (dst) {
			memcpy(dst, b + off, n * sizeof(float));
			ret = check_finite(&m->cfg, *t, dst, n, name, err,
					   errlen);
			if (ret)
				return ret;
		}
		off += n * sizeof(float);
	}
	return 0;
}

int inpu_model_parse(const void *buf, size_t len, const char *name,
		     struct inpu_model **out, char *err, size_t errlen)
{
	const unsigned char *b = buf;
	struct inpu_model_config c = { 0 };
	const enum tensor *order;
	struct inpu_model *m;
	uint64_t floats;
	size_t header;
	int ret;

	*out = NULL;
	if (!name)
		name = "checkpoint";
	if (inpu_gguf_is(b, len))
		return inpu_model_from_gguf(b, len, name, out, NULL, err, errlen);
	if (len >= 4 && inpu_le_u32(b) == INPU_CKPT_MAGIC) {
		ret = parse_v1_header(b, len, name, &c, err, errlen);
		header = INPU_CKPT_V1_HEADER;
		order = v1_order;
	} else {
		ret = parse_v0_header(b, len, name, &c, err, errlen);
		header = V0_HEADER;
		order = v0_order;
	}
	if (ret)
		return ret;
	ret = check_file_size(&c, order, header, len, name, &floats, err,
			      errlen);
	if (ret)
		return ret;
	ret = new_model(&c, floats, name, &m, err, errlen);
	if (ret)
		return ret;
	ret = load_tensors(m, b, order, header, name, err, errlen);
	if (ret) {
		inpu_model_free(m);
		return ret;
	}
	*out = m;
	return 0;
}

int inpu_model_load(const char *path, struct inpu_model **out, char *err,
		    size_t errlen)
{
	return inpu_model_open(path, out, NULL, err, errlen);
}

int inpu_model_open(const char *path, struct inpu_model **out,
		    struct inpu_tokenizer **tok, char *err, size_t errlen)
{
	size_t len;
	char *buf;
	int ret;

	*out = NULL;
	if (tok)
		*tok = NULL;
	ret = inpu_read_file(path, &buf, &len, err, errlen);
	if (ret)
		return ret;
	if (inpu_gguf_is(buf, len))
		ret = inpu_model_from_gguf(buf, len, path, out, tok, err, errlen);
	else
		ret = inpu_model_parse(buf, len, path, out, err, errlen);
	free(buf);
	return ret;
}

int inpu_model_check_tokenizer(const struct inpu_model *m,
			       const char *model_name,
			       const struct inpu_tokenizer *t,
			       const char *tok_name, char *err, size_t errlen)
{
	if (m->cfg.vocab_size == inpu_tokenizer_size(t))
		return 0;
	inpu_model_seterr(err, errlen,
			  "%s has %d tokens but %s has vocab_size %d: not its tokenizer",
			  tok_name ? tok_name : "the tokenizer", inpu_tokenizer_size(t),
			  model_name ? model_name : "the model",
			  m->cfg.vocab_size);
	return -EINVAL;
}
