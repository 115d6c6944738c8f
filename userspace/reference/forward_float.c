// SPDX-License-Identifier: MIT
/*
 * The float32 reference forward pass: llama2.c run.c forward(), one token
 * at a time with a KV cache.  It is the accuracy baseline the integer
 * model is measured against, not the product path.
 *
 * The arithmetic follows run.c operation for operation (float32
 * everywhere, the same formulas for RMSNorm, RoPE, softmax and SiLU);
 * only the dot products are summed in a different order (several partial
 * sums, so that the compiler can vectorize them), which changes results
 * in the last bits only.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "dot.h"

struct inpu_float_state {
	const struct inpu_model *m;
	float *x;		/* residual stream [dim] */
	float *xb;		/* [dim] */
	float *xb2;		/* [dim] */
	float *hb;		/* [hidden_dim] */
	float *hb2;		/* [hidden_dim] */
	float *q;		/* [dim] */
	float *att;		/* [n_heads][seq_len] */
	float *logits;		/* [vocab_size] */
	float *key_cache;	/* [n_layers][seq_len][kv_dim] */
	float *value_cache;	/* [n_layers][seq_len][kv_dim] */
	float *rope_cos;	/* [seq_len][head_size / 2] */
	float *rope_sin;
};

void inpu_float_state_free(struct inpu_float_state *s)
{
	if (!s)
		return;
	free(s->x);
	free(s->xb);
	free(s->xb2);
	free(s->hb);
	free(s->hb2);
	free(s->q);
	free(s->att);
	free(s->logits);
	free(s->key_cache);
	free(s->value_cache);
	free(s->rope_cos);
	free(s->rope_sin);
	free(s);
}

static float *falloc(size_t n)
{
	return calloc(n ? n : 1, sizeof(float));
}

int inpu_float_state_new(const struct inpu_model *m,
			 struct inpu_float_state **out)
{
	const struct inpu_model_config *c = &m->cfg;
	size_t kv_dim = (size_t)inpu_model_kv_dim(c);
	size_t hs = (size_t)inpu_model_head_size(c);
	size_t cache = (size_t)c->n_layers * (size_t)c->seq_len * kv_dim;
	struct inpu_float_state *s;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->m = m;
	s->x = falloc((size_t)c->dim);
	s->xb = falloc((size_t)c->dim);
	s->xb2 = falloc((size_t)c->dim);
	s->hb = falloc((size_t)c->hidden_dim);
	s->hb2 = falloc((size_t)c->hidden_dim);
	s->q = falloc((size_t)c->dim);
	s->att = falloc((size_t)c->n_heads * (size_t)c->seq_len);
	s->logits = falloc((size_t)c->vocab_size);
	s->key_cache = falloc(cache);
	s->value_cache = falloc(cache);
	s->rope_cos = falloc((size_t)c->seq_len * hs / 2);
	s->rope_sin = falloc((size_t)c->seq_len * hs / 2);
	if (!s->x || !s->xb || !s->xb2 || !s->hb || !s->hb2 || !s->q ||
	    !s->att || !s->logits || !s->key_cache || !s->value_cache ||
	    !s->rope_cos || !s->rope_sin) {
		inpu_float_state_free(s);
		return -ENOMEM;
	}
	/* run.c computes these per call; the same expressions, once. */
	for (int pos = 0; pos < c->seq_len; pos++) {
		for (size_t i = 0; i < hs; i += 2) {
			float freq = 1.0f / powf(c->rope_theta, (float)i / (float)hs);
			float val = (float)pos * freq;

			s->rope_cos[(size_t)pos * hs / 2 + i / 2] = cosf(val);
			s->rope_sin[(size_t)pos * hs / 2 + i / 2] = sinf(val);
		}
	}
	*out = s;
	return 0;
}

static void softmax(float *x, int n)
{
	float max = x[0], sum = 0.0f;

	for (int i = 1; i < n; i++)
		if (x[i] > max)
			max = x[i];
	for (int i = 0; i < n; i++) {
		x[i] = expf(x[i] - max);
		sum += x[i];
	}
	for (int i = 0; i < n; i++)
		x[i] /= sum;
}

/* xout[d] = W[d][n] @ x[n] */
static void matmul(float *xout, const float *x, const float *w, int n, int d)
{
	for (int i = 0; i < d; i++)
		xout[i] = inpu_dot8(w + (size_t)i * (size_t)n, x, n);
}

/*
 * out[i] = sum over t of att[t] * v[t][i], summed over t in order as run.c
 * does; restrict lets the sums stay in registers.
 */
static void attend_values(float *restrict out, const float *restrict att,
			  const float *restrict v, int n, int hs, int stride)
{
	if (hs % 8 == 0) {
		for (int i0 = 0; i0 < hs; i0 += 8) {
			float acc[8] = { 0 };

			for (int t = 0; t < n; t++) {
				const float *vt = v + (size_t)t * (size_t)stride + i0;
				float a = att[t];

				for (int k = 0; k < 8; k++)
					acc[k] += a * vt[k];
			}
			memcpy(out + i0, acc, sizeof(acc));
		}
		return;
	}
	memset(out, 0, (size_t)hs * sizeof(*out));
	for (int t = 0; t < n; t++) {
		const float *restrict vt = v + (size_t)t * (size_t)stride;
		float a = att[t];

		for (int i = 0; i < hs; i++)
			out[i] += a * vt[i];
	}
}

int inpu_argmax(const float *v, int n)
{
	int best = 0;

	for (int i = 1; i < n; i++)
		if (v[i] > v[best])
			best = i;
	return best;
}

/* RoPE: rotate each (even, odd) pair of every head of @q and @k. */
static void rope(float *q, float *k, const float *rc, const float *rs,
		 int dim, int kv_dim, int hs)
{
	for (int i = 0; i < dim; i += 2) {
		float fcr = rc[(i % hs) / 2], fci = rs[(i % hs) / 2];
		int rotn = i < kv_dim ? 2 : 1;

		for (int r = 0; r < rotn; r++) {
			float *vec = r == 0 ? q : k;
			float v0 = vec[i], v1 = vec[i + 1];

			vec[i] = v0 * fcr - v1 * fci;
			vec[i + 1] = v0 * fci + v1 * fcr;
		}
	}
}

/*
 * att[t] = q . k[t] / sqrt(hs) for t = 0..pos, with key t at
 * kc + t * kv_dim.
 */
static void attn_scores(float *att, const float *q, const float *kc,
			int pos, int hs, int kv_dim, float sqrt_hs)
{
	int t = 0;

	/*
	 * Four positions at a time: independent sums, each in run.c's
	 * order, so the scores are bit-exact with it.
	 */
	for (; t + 4 <= pos + 1; t += 4) {
		const float *k0 = kc + (size_t)t * (size_t)kv_dim;
		const float *k1 = k0 + kv_dim, *k2 = k1 + kv_dim;
		const float *k3 = k2 + kv_dim;
		float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;

		for (int i = 0; i < hs; i++) {
			s0 += q[i] * k0[i];
			s1 += q[i] * k1[i];
			s2 += q[i] * k2[i];
			s3 += q[i] * k3[i];
		}
		att[t] = s0 / sqrt_hs;
		att[t + 1] = s1 / sqrt_hs;
		att[t + 2] = s2 / sqrt_hs;
		att[t + 3] = s3 / sqrt_hs;
	}
	for (; t <= pos; t++) {
		const float *kt = kc + (size_t)t * (size_t)kv_dim;
		float score = 0.0f;

		for (int i = 0; i < hs; i++)
			score += q[i] * kt[i];
		att[t] = score / sqrt_hs;
	}
}

/*
 * Attention of s->q over positions 0..pos of the layer whose cache
 * starts at @loff, into s->xb; query head h reads key/value head
 * h / kv_mul.
 */
static void attention(struct inpu_float_state *s, size_t loff, int pos)
{
	const struct inpu_model_config *p = &s->m->cfg;
	int kv_dim = inpu_model_kv_dim(p), hs = inpu_model_head_size(p);
	int kv_mul = p->n_heads / p->n_kv_heads;
	float sqrt_hs = sqrtf((float)hs);

	for (int h = 0; h < p->n_heads; h++) {
		float *att = s->att + (size_t)h * (size_t)p->seq_len;
		size_t hoff = loff + (size_t)(h / kv_mul) * (size_t)hs;

		attn_scores(att, s->q + h * hs, s->key_cache + hoff, pos, hs,
			    kv_dim, sqrt_hs);
		softmax(att, pos + 1);
		attend_values(s->xb + h * hs, att, s->value_cache + hoff,
			      pos + 1, hs, kv_dim);
	}
}

/* SwiGLU FFN of layer @lu added to the residual: x += w2(silu(w1 x) * w3 x). */
static void ffn(struct inpu_float_state *s, size_t lu)
{
	const struct inpu_model *m = s->m;
	int dim = m->cfg.dim, hidden = m->cfg.hidden_dim;
	float *x = s->x;

	inpu_rmsnorm(s->xb, x, m->rms_ffn + lu * (size_t)dim, dim, m->cfg.norm_eps);
	matmul(s->hb, s->xb, m->w1 + lu * (size_t)dim * (size_t)hidden, dim, hidden);
	matmul(s->hb2, s->xb, m->w3 + lu * (size_t)dim * (size_t)hidden, dim, hidden);
	for (int i = 0; i < hidden; i++) {
		float val = s->hb[i];

		val *= 1.0f / (1.0f + expf(-val));
		val *= s->hb2[i];
		s->hb[i] = val;
	}
	matmul(s->xb, s->hb, m->w2 + lu * (size_t)dim * (size_t)hidden, hidden, dim);
	for (int i = 0; i < dim; i++)
		x[i] += s->xb[i];
}

const float *inpu_float_forward(struct inpu_float_state *s, int token, int pos)
{
	const struct inpu_model *m = s->m;
	const struct inpu_model_config *p = &m->cfg;
	int dim = p->dim;
	int kv_dim = inpu_model_kv_dim(p), hs = inpu_model_head_size(p);
	float *x = s->x;
	const float *rc, *rs;

	if (token < 0 || token >= p->vocab_size || pos < 0 || pos >= p->seq_len)
		return NULL;
	memcpy(x, m->tok_embeddings + (size_t)token * (size_t)dim,
	       (size_t)dim * sizeof(*x));
	rc = s->rope_cos + (size_t)pos * (size_t)hs / 2;
	rs = s->rope_sin + (size_t)pos * (size_t)hs / 2;

	for (int l = 0; l < p->n_layers; l++) {
		size_t lu = (size_t)l;
		size_t loff = lu * (size_t)p->seq_len * (size_t)kv_dim;
		float *k = s->key_cache + loff + (size_t)pos * (size_t)kv_dim;
		float *v = s->value_cache + loff + (size_t)pos * (size_t)kv_dim;

		inpu_rmsnorm(s->xb, x, m->rms_att + lu * (size_t)dim, dim, m->cfg.norm_eps);
		matmul(s->q, s->xb, m->wq + lu * (size_t)dim * (size_t)dim, dim, dim);
		matmul(k, s->xb, m->wk + lu * (size_t)dim * (size_t)kv_dim, dim, kv_dim);
		matmul(v, s->xb, m->wv + lu * (size_t)dim * (size_t)kv_dim, dim, kv_dim);
		rope(s->q, k, rc, rs, dim, kv_dim, hs);
		attention(s, loff, pos);
		matmul(s->xb2, s->xb, m->wo + lu * (size_t)dim * (size_t)dim, dim, dim);
		for (int i = 0; i < dim; i++)
			x[i] += s->xb2[i];
		ffn(s, lu);
	}
	inpu_rmsnorm(x, x, m->rms_final, dim, m->cfg.norm_eps);
	matmul(s->logits, x, m->wcls, dim, p->vocab_size);
	return s->logits;
}
