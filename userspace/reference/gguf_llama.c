// SPDX-License-Identifier: MIT
/*
 * A GGUF file of architecture "llama" as a float model (model.h) and its
 * tokenizer: hyperparameters from the llama.* keys, tensors by llama.cpp's
 * names, dequantized to float32, and the "llama" (SentencePiece) vocabulary
 * as the runtime's llama2.c tokenizer.  FORMAT.md of this folder lists the
 * keys and tensors read and what is refused.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf.h"
#include "gguf_dequant.h"
#include "model.h"
#include "tokenizer.h"
#include "util.h"

struct ld {
	const struct inpu_gguf *g;
	const char *name;
	char *err;
	size_t errlen;
	unsigned char *used;	/* [n_tensors]: consumed by the model */
};

/* A required integer key "llama.@key" in 1..INT32_MAX. */
static int need_int(struct ld *l, const char *key, int *v)
{
	char k[96];
	uint32_t u = 0;
	int ret;

	snprintf(k, sizeof(k), "llama.%s", key);
	ret = inpu_gguf_get_u32(l->g, k, &u, l->err, l->errlen);
	if (ret == -ENOENT)
		inpu_model_seterr(l->err, l->errlen, "%s: metadata key '%s' is missing",
				  l->name, k);
	else if (!ret && (u < 1 || u > INT32_MAX)) {
		inpu_model_seterr(l->err, l->errlen, "%s: metadata key '%s' is %u",
				  l->name, k, u);
		ret = -EINVAL;
	}
	*v = (int)u;
	return ret ? -EINVAL : 0;
}

/* Optional "llama.@key" that, if present, must equal @want. */
static int want_int(struct ld *l, const char *key, uint32_t want, const char *why)
{
	char k[96];
	uint32_t u = 0;
	int ret;

	snprintf(k, sizeof(k), "llama.%s", key);
	ret = inpu_gguf_get_u32(l->g, k, &u, l->err, l->errlen);
	if (ret == -ENOENT)
		return 0;
	if (!ret && u != want) {
		inpu_model_seterr(l->err, l->errlen,
				  "%s: metadata key '%s' is %u, not %u: %s are not supported",
				  l->name, k, u, want, why);
		ret = -ENOTSUP;
	}
	return ret;
}

static int check_arch(struct ld *l)
{
	struct inpu_gguf_str s;
	int ret = inpu_gguf_get_str(l->g, "general.architecture", &s, l->err, l->errlen);

	if (ret == -ENOENT)
		inpu_model_seterr(l->err, l->errlen,
				  "%s: metadata key 'general.architecture' is missing", l->name);
	else if (!ret && !inpu_gguf_str_eq(s, "llama")) {
		inpu_model_seterr(l->err, l->errlen,
				  "%s: architecture '%.*s' is not supported (only 'llama': LLaMA 1/2/3 and Mistral-style models)",
				  l->name, (int)(s.len > 64 ? 64 : s.len), s.s);
		return -ENOTSUP;
	}
	return ret ? -EINVAL : 0;
}

/* RoPE scaling other than none changes the function: refuse it. */
static int check_rope_scaling(struct ld *l)
{
	struct inpu_gguf_str s;
	int ret = inpu_gguf_get_str(l->g, "llama.rope.scaling.type", &s, l->err,
				    l->errlen);

	if (ret == -ENOENT)
		return 0;
	if (!ret && !inpu_gguf_str_eq(s, "none")) {
		inpu_model_seterr(l->err, l->errlen,
				  "%s: llama.rope.scaling.type '%.*s' is not supported (only none)",
				  l->name, (int)(s.len > 32 ? 32 : s.len), s.s);
		return -ENOTSUP;
	}
	return ret;
}

static int read_floats(struct ld *l, struct inpu_model_config *c)
{
	int ret;

	c->rope_theta = 10000.0f;	/* llama.cpp's default for llama */
	ret = inpu_gguf_get_f32(l->g, "llama.rope.freq_base", &c->rope_theta,
				l->err, l->errlen);
	if (ret && ret != -ENOENT)
		return ret;
	ret = inpu_gguf_get_f32(l->g, "llama.attention.layer_norm_rms_epsilon",
				&c->norm_eps, l->err, l->errlen);
	if (ret == -ENOENT)
		inpu_model_seterr(l->err, l->errlen,
				  "%s: metadata key 'llama.attention.layer_norm_rms_epsilon' is missing",
				  l->name);
	if (ret)
		return -EINVAL;
	if (!(c->rope_theta > 1.0f) || !(c->norm_eps > 0.0f) || c->norm_eps > 1.0f) {
		inpu_model_seterr(l->err, l->errlen,
				  "%s: llama.rope.freq_base %g or llama.attention.layer_norm_rms_epsilon %g is out of range",
				  l->name, (double)c->rope_theta, (double)c->norm_eps);
		return -EINVAL;
	}
	return 0;
}

static int read_config(struct ld *l, struct inpu_model_config *c)
{
	const struct inpu_gguf_tensor *emb = inpu_gguf_tensor(l->g, "token_embd.weight");
	char why[160];
	int ret;

	ret = check_arch(l);
	if (!ret)
		ret = need_int(l, "embedding_length", &c->dim);
	if (!ret)
		ret = need_int(l, "feed_forward_length", &c->hidden_dim);
	if (!ret)
		ret = need_int(l, "block_count", &c->n_layers);
	if (!ret)
		ret = need_int(l, "attention.head_count", &c->n_heads);
	if (!ret)
		ret = need_int(l, "context_length", &c->seq_len);
	if (ret)
		return ret;
	c->n_kv_heads = c->n_heads;
	if (inpu_gguf_find(l->g, "llama.attention.head_count_kv") &&
	    need_int(l, "attention.head_count_kv", &c->n_kv_heads))
		return -EINVAL;
	if (!emb || emb->n_dims != 2) {
		inpu_model_seterr(l->err, l->errlen,
				  "%s: tensor 'token_embd.weight' is missing or not 2-dimensional",
				  l->name);
		return -EINVAL;
	}
	c->vocab_size = emb->ne[1] > INT32_MAX ? INT32_MAX : (int)emb->ne[1];
	c->version = INPU_CKPT_GGUF;
	ret = read_floats(l, c);
	if (!ret)
		ret = check_rope_scaling(l);
	if (!ret && inpu_model_check_config(c, why, sizeof(why))) {
		inpu_model_seterr(l->err, l->errlen, "%s: %s", l->name, why);
		return -EINVAL;
	}
	if (!ret)
		ret = want_int(l, "expert_count", 0, "mixture-of-experts models");
	if (!ret)
		ret = want_int(l, "rope.dimension_count", (uint32_t)(c->dim / c->n_heads),
			       "partial rotary embeddings");
	if (!ret)
		ret = want_int(l, "attention.key_length", (uint32_t)(c->dim / c->n_heads),
			       "heads of another width than dim / n_heads");
	if (!ret)
		ret = want_int(l, "attention.value_length", (uint32_t)(c->dim / c->n_heads),
			       "heads of another width than dim / n_heads");
	return ret;
}

/*
 * Tensor @tname of @rows rows of @cols (GGUF: ne = {cols, rows}), or a
 * vector when @rows is 0, dequantized into @dst.  With @dst NULL only its
 * presence and shape are checked: that pass runs before the model is
 * allocated, so the allocation is bounded by what the file's tensors hold
 * and a tiny file cannot make the reader allocate gigabytes.
 */
static int load_tensor(struct ld *l, const char *tname, uint64_t cols,
		       uint64_t rows, float *dst)
{
	const struct inpu_gguf_tensor *t = inpu_gguf_tensor(l->g, tname);
	int ret;

	if (!t) {
		inpu_model_seterr(l->err, l->errlen, "%s: tensor '%s' is missing",
				  l->name, tname);
		return -EINVAL;
	}
	if (t->ne[0] != cols || t->ne[1] != (rows ? rows : 1) || t->ne[2] != 1 ||
	    t->ne[3] != 1) {
		inpu_model_seterr(l->err, l->errlen,
				  "%s: tensor '%s' (file offset %llu) has shape [%llu, %llu, %llu, %llu], the metadata implies [%llu, %llu]",
				  l->name, tname, (unsigned long long)t->offset,
				  (unsigned long long)t->ne[0], (unsigned long long)t->ne[1],
				  (unsigned long long)t->ne[2], (unsigned long long)t->ne[3],
				  (unsigned long long)cols, (unsigned long long)(rows ? rows : 1));
		return -EINVAL;
	}
	if (!dst)
		return 0;
	l->used[t - l->g->tensor] = 1;
	ret = inpu_ggml_dequant(t->type, t->data, t->nelem, dst);
	if (ret)
		inpu_model_seterr(l->err, l->errlen,
				  "%s: tensor '%s' (%s, file offset %llu) has a non-finite value",
				  l->name, tname, inpu_ggml_type_name(t->type),
				  (unsigned long long)t->offset);
	return ret ? -EINVAL : 0;
}

/* Layer @i into @m, or with @m NULL its shapes only (load_tensor()). */
static int load_layer(struct ld *l, const struct inpu_model_config *c,
		      struct inpu_model *m, int i)
{
	size_t d = (size_t)c->dim, h = (size_t)c->hidden_dim;
	size_t kv = (size_t)inpu_model_kv_dim(c), L = (size_t)i;
	const struct {
		const char *n;
		size_t cols, rows;
		float *dst;
	} t[] = {
#define AT(p, off) (m ? m->p + (off) : NULL)
		{ "attn_norm", d, 0, AT(rms_att, L * d) },
		{ "attn_q", d, d, AT(wq, L * d * d) },
		{ "attn_k", d, kv, AT(wk, L * kv * d) },
		{ "attn_v", d, kv, AT(wv, L * kv * d) },
		{ "attn_output", d, d, AT(wo, L * d * d) },
		{ "ffn_norm", d, 0, AT(rms_ffn, L * d) },
		{ "ffn_gate", d, h, AT(w1, L * h * d) },
		{ "ffn_down", h, d, AT(w2, L * d * h) },
		{ "ffn_up", d, h, AT(w3, L * h * d) },
#undef AT
	};
	char name[64];
	int ret;

	for (size_t j = 0; j < sizeof(t) / sizeof(t[0]); j++) {
		snprintf(name, sizeof(name), "blk.%d.%s.weight", i, t[j].n);
		ret = load_tensor(l, name, t[j].cols, t[j].rows, t[j].dst);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * llama.cpp's converters write output.weight even for a tied classifier
 * (as a copy): bytes equal to token_embd.weight's mean the model shares it.
 */
static int classifier_shared(const struct inpu_gguf *g)
{
	const struct inpu_gguf_tensor *e = inpu_gguf_tensor(g, "token_embd.weight");
	const struct inpu_gguf_tensor *o = inpu_gguf_tensor(g, "output.weight");

	return !o || (o->type == e->type && o->bytes == e->bytes &&
		      o->n_dims == e->n_dims && o->ne[0] == e->ne[0] &&
		      o->ne[1] == e->ne[1] && !memcmp(o->data, e->data, o->bytes));
}

/* Every tensor of the file is part of the model: no bias, expert or extra. */
static int check_all_used(struct ld *l)
{
	for (uint64_t i = 0; i < l->g->n_tensors; i++) {
		const struct inpu_gguf_tensor *t = &l->g->tensor[i];

		if (l->used[i] || inpu_gguf_str_eq(t->name, "output.weight"))
			continue;
		inpu_model_seterr(l->err, l->errlen,
				  "%s: tensor '%.*s' is not part of a llama model this reader runs (biases, rope_freqs and experts are not supported)",
				  l->name, (int)t->name.len, t->name.s);
		return -ENOTSUP;
	}
	return 0;
}

/* Every tensor of @c into @m, or with @m NULL their shapes only. */
static int load_weights(struct ld *l, const struct inpu_model_config *c,
			struct inpu_model *m)
{
	uint64_t d = (uint64_t)c->dim, v = (uint64_t)c->vocab_size;
	int ret;

	ret = load_tensor(l, "token_embd.weight", d, v, m ? m->tok_embeddings : NULL);
	if (!ret)
		ret = load_tensor(l, "output_norm.weight", d, 0, m ? m->rms_final : NULL);
	if (!ret && !c->shared_classifier)
		ret = load_tensor(l, "output.weight", d, v, m ? m->wcls : NULL);
	for (int i = 0; i < c->n_layers && !ret; i++)
		ret = load_layer(l, c, m, i);
	if (!ret && m)
		ret = check_all_used(l);
	return ret;
}

int inpu_model_from_gguf(const void *buf, size_t len, const char *name,
			 struct inpu_model **out, struct inpu_tokenizer **tok,
			 char *err, size_t errlen)
{
	struct inpu_model_config c = { 0 };
	struct inpu_model *m = NULL;
	struct inpu_gguf *g;
	struct ld l = { .name = name ? name : "GGUF file", .err = err, .errlen = errlen };
	int ret;

	*out = NULL;
	if (tok)
		*tok = NULL;
	ret = inpu_gguf_parse(buf, len, l.name, &g, err, errlen);
	if (ret)
		return ret;
	l.g = g;
	l.used = calloc(g->n_tensors ? g->n_tensors : 1, 1);
	ret = l.used ? read_config(&l, &c) : -ENOMEM;
	if (!ret) {
		c.shared_classifier = classifier_shared(g);
		ret = load_weights(&l, &c, NULL);	/* shapes before allocating */
	}
	if (!ret)
		ret = inpu_model_alloc(&c, &m);
	if (!ret)
		ret = load_weights(&l, &c, m);
	if (!ret && tok)
		ret = inpu_tokenizer_from_gguf(g, l.name, c.vocab_size, tok, err, errlen);
	if (ret == -ENOMEM)
		inpu_model_seterr(err, errlen, "%s: out of memory", l.name);
	free(l.used);
	inpu_gguf_free(g);
	if (ret) {
		inpu_model_free(m);
		return ret;
	}
	*out = m;
	return 0;
}
