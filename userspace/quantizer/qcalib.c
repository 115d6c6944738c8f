// SPDX-License-Identifier: MIT
/*
 * Calibration (offline, floating point): the prepared float model (the
 * checkpoint with q/k/v and w1/w3 fused, 1/sqrt(head_dim) folded into the
 * q weights and the smoothing factors folded in), the calibration
 * observers' storage, the calibration text's tokens and stories sampled
 * from the float model (the forward pass that records every activation
 * the integer graph quantizes is qforward.c).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer.h"
#include "model.h"
#include "ppl.h"
#include "dot.h"
#include "quant_internal.h"

static float *fdup(const float *src, size_t n)
{
	float *d = malloc((n ? n : 1) * sizeof(*d));

	if (d && n)
		memcpy(d, src, n * sizeof(*d));
	return d;
}

void qprep_free(struct qprep *p)
{
	free(p->emb);
	free(p->g_att);
	free(p->wqkv);
	free(p->wo);
	free(p->g_ffn);
	free(p->w13);
	free(p->w2);
	free(p->g_fin);
	free(p->wcls);
	free(p->rope_cos);
	free(p->rope_sin);
	memset(p, 0, sizeof(*p));
}

static void dims(struct qprep *p, const struct qprep *src)
{
	p->dim = src->dim;
	p->hidden = src->hidden;
	p->n_layers = src->n_layers;
	p->n_heads = src->n_heads;
	p->n_kv_heads = src->n_kv_heads;
	p->hs = src->hs;
	p->kv = src->kv;
	p->vocab = src->vocab;
	p->seq_len = src->seq_len;
	p->nqkv = src->nqkv;
	p->rope_theta = src->rope_theta;
	p->norm_eps = src->norm_eps;
}

int qprep_copy(const struct qprep *s, struct qprep *p)
{
	size_t L = (size_t)s->n_layers, d = (size_t)s->dim, h = (size_t)s->hidden;

	memset(p, 0, sizeof(*p));
	dims(p, s);
	p->emb = fdup(s->emb, (size_t)s->vocab * d);
	p->g_att = fdup(s->g_att, L * d);
	p->wqkv = fdup(s->wqkv, L * (size_t)s->nqkv * d);
	p->wo = fdup(s->wo, L * d * d);
	p->g_ffn = fdup(s->g_ffn, L * d);
	p->w13 = fdup(s->w13, L * 2 * h * d);
	p->w2 = fdup(s->w2, L * d * h);
	p->g_fin = fdup(s->g_fin, d);
	p->wcls = fdup(s->wcls, (size_t)s->vocab * d);
	p->rope_cos = fdup(s->rope_cos, (size_t)s->seq_len * (size_t)s->hs / 2);
	p->rope_sin = fdup(s->rope_sin, (size_t)s->seq_len * (size_t)s->hs / 2);
	if (!p->emb || !p->g_att || !p->wqkv || !p->wo || !p->g_ffn ||
	    !p->w13 || !p->w2 || !p->g_fin || !p->wcls || !p->rope_cos ||
	    !p->rope_sin) {
		qprep_free(p);
		return -ENOMEM;
	}
	return 0;
}

/*
 * An orthogonal n x n matrix (row-major, double): for n a power of two
 * the normalised Sylvester Hadamard matrix with random row signs
 * (randomised Hadamard, as QuaRot), else a random orthogonal matrix
 * (Gram-Schmidt of random signs).  Deterministic: a fixed seed.
 */
static double *orthogonal(int n, uint64_t seed)
{
	double *q = calloc((size_t)n * n, sizeof(double));
	uint64_t st = seed;

	if (!q)
		return NULL;
	if (!(n & (n - 1))) {
		for (int i = 0; i < n; i++) {
			double sg = qrand_next(&st) >> 63 ? -1.0 : 1.0;

			for (int j = 0; j < n; j++)
				q[(size_t)i * n + j] = sg * (__builtin_popcount((unsigned)(i & j)) & 1 ?
							     -1.0 : 1.0) / sqrt((double)n);
		}
		return q;
	}
	for (int i = 0; i < n; i++) {
		double *r = q + (size_t)i * n, nr = 0.0;

		for (int j = 0; j < n; j++)
			r[j] = qrand_next(&st) >> 63 ? -1.0 : 1.0;
		for (int k = 0; k < i; k++) {
			const double *o = q + (size_t)k * n;
			double d = 0.0;

			for (int j = 0; j < n; j++)
				d += r[j] * o[j];
			for (int j = 0; j < n; j++)
				r[j] -= d * o[j];
		}
		for (int j = 0; j < n; j++)
			nr += r[j] * r[j];
		nr = sqrt(nr);
		for (int j = 0; j < n; j++)
			r[j] /= nr;
	}
	return q;
}

/* w[rows][n] := w[rows][n] . q (q n x n), in place. */
static int rmul(float *w, size_t rows, int n, const double *q)
{
	double *t = malloc((size_t)n * sizeof(double));

	if (!t)
		return -ENOMEM;
	for (size_t r = 0; r < rows; r++) {
		float *wr = w + r * (size_t)n;

		for (int j = 0; j < n; j++) {
			double acc = 0.0;

			for (int k = 0; k < n; k++)
				acc += (double)wr[k] * q[(size_t)k * n + j];
			t[j] = acc;
		}
		for (int j = 0; j < n; j++)
			wr[j] = (float)t[j];
	}
	free(t);
	return 0;
}

/* w[n][cols] := q^T . w (q n x n): rotate the output rows. */
static int lmul_t(float *w, int n, size_t cols, const double *q)
{
	double *t = malloc((size_t)n * sizeof(double));

	if (!t)
		return -ENOMEM;
	for (size_t c = 0; c < cols; c++) {
		for (int i = 0; i < n; i++) {
			double acc = 0.0;

			for (int k = 0; k < n; k++)
				acc += q[(size_t)k * n + i] * w[(size_t)k * cols + c];
			t[i] = acc;
		}
		for (int i = 0; i < n; i++)
			w[(size_t)i * cols + c] = (float)t[i];
	}
	free(t);
	return 0;
}

/*
 * Rotations that leave the function unchanged (QuaRot's R1 and R2, both
 * offline): the residual stream in the basis x Q, with every RMSNorm
 * weight folded into the next linear layer (RMSNorm commutes with Q; its
 * g becomes 1), and the values of each kv head and the wo columns that
 * read them in the basis of a head_dim Hadamard matrix.  Outliers of the
 * residual channels spread over all channels: flatter int8 inputs and
 * flatter weight columns for 4-bit groups.
 */
static int rotate(struct qprep *p)
{
	size_t d = (size_t)p->dim, h = (size_t)p->hidden, L = (size_t)p->n_layers;
	double *q = orthogonal(p->dim, 0x5eed0f1234567ull);
	double *hd = orthogonal(p->hs, 0x5eed0f7654321ull);
	int group = p->n_heads / p->n_kv_heads, ret = -ENOMEM;

	if (!q || !hd)
		goto out;
	ret = rmul(p->emb, (size_t)p->vocab, p->dim, q);
	for (size_t l = 0; l < L && !ret; l++) {
		float *wqkv = p->wqkv + l * (size_t)p->nqkv * d;
		float *wo = p->wo + l * d * d, *w13 = p->w13 + l * 2 * h * d;
		float *w2 = p->w2 + l * d * h;

		for (size_t i = 0; i < (size_t)p->nqkv; i++)
			for (size_t j = 0; j < d; j++)
				wqkv[i * d + j] *= p->g_att[l * d + j];
		for (size_t i = 0; i < 2 * h; i++)
			for (size_t j = 0; j < d; j++)
				w13[i * d + j] *= p->g_ffn[l * d + j];
		for (size_t j = 0; j < d; j++)
			p->g_att[l * d + j] = p->g_ffn[l * d + j] = 1.0f;
		ret = rmul(wqkv, (size_t)p->nqkv, p->dim, q);
		if (!ret)
			ret = rmul(w13, 2 * h, p->dim, q);
		if (!ret)
			ret = lmul_t(wo, p->dim, d, q);
		if (!ret)
			ret = lmul_t(w2, p->dim, h, q);
		/* R2: v rows per kv head (v' = H v), wo columns per query head */
		for (int kh = 0; kh < p->n_kv_heads && !ret; kh++)
			ret = lmul_t(wqkv + (d + (size_t)p->kv + (size_t)kh * p->hs) * d,
				     p->hs, d, hd);
		for (int qh = 0; qh < p->n_heads && !ret; qh++) {
			/* wo[:, head] . H: columns qh*hs .. of every row */
			float *tmp = malloc((size_t)p->hs * sizeof(float));

			if (!tmp) {
				ret = -ENOMEM;
				break;
			}
			for (size_t r = 0; r < d; r++) {
				float *c = wo + r * d + (size_t)qh * p->hs;

				memcpy(tmp, c, (size_t)p->hs * sizeof(float));
				ret = rmul(tmp, 1, p->hs, hd);
				memcpy(c, tmp, (size_t)p->hs * sizeof(float));
			}
			free(tmp);
		}
		(void)group;
	}
	if (!ret) {
		for (int i = 0; i < p->vocab; i++)
			for (size_t j = 0; j < d; j++)
				p->wcls[(size_t)i * d + j] *= p->g_fin[j];
		for (size_t j = 0; j < d; j++)
			p->g_fin[j] = 1.0f;
		ret = rmul(p->wcls, (size_t)p->vocab, p->dim, q);
	}
out:
	free(q);
	free(hd);
	return ret;
}

int qprep_from_model(const struct inpu_model *m, int rot, struct qprep *p)
{
	const struct inpu_model_config *c = &m->cfg;
	size_t d, h, kv, L, nq;
	float inv_sqrt;

	memset(p, 0, sizeof(*p));
	p->dim = c->dim;
	p->hidden = c->hidden_dim;
	p->n_layers = c->n_layers;
	p->n_heads = c->n_heads;
	p->n_kv_heads = c->n_kv_heads;
	p->hs = inpu_model_head_size(c);
	p->kv = inpu_model_kv_dim(c);
	p->vocab = c->vocab_size;
	p->seq_len = c->seq_len;
	p->nqkv = p->dim + 2 * p->kv;
	p->rope_theta = c->rope_theta;
	p->norm_eps = c->norm_eps;
	d = (size_t)p->dim;
	h = (size_t)p->hidden;
	kv = (size_t)p->kv;
	L = (size_t)p->n_layers;
	nq = (size_t)p->nqkv;
	p->emb = fdup(m->tok_embeddings, (size_t)p->vocab * d);
	p->g_att = fdup(m->rms_att, L * d);
	p->g_ffn = fdup(m->rms_ffn, L * d);
	p->g_fin = fdup(m->rms_final, d);
	p->wcls = fdup(m->wcls, (size_t)p->vocab * d);
	p->wo = fdup(m->wo, L * d * d);
	p->w2 = fdup(m->w2, L * d * h);
	p->wqkv = malloc(L * nq * d * sizeof(float));
	p->w13 = malloc(L * 2 * h * d * sizeof(float));
	p->rope_cos = malloc((size_t)p->seq_len * (size_t)p->hs / 2 * sizeof(float));
	p->rope_sin = malloc((size_t)p->seq_len * (size_t)p->hs / 2 * sizeof(float));
	if (!p->emb || !p->g_att || !p->wqkv || !p->wo || !p->g_ffn ||
	    !p->w13 || !p->w2 || !p->g_fin || !p->wcls || !p->rope_cos ||
	    !p->rope_sin) {
		qprep_free(p);
		return -ENOMEM;
	}
	inv_sqrt = 1.0f / sqrtf((float)p->hs);
	for (size_t l = 0; l < L; l++) {
		float *w = p->wqkv + l * nq * d;

		for (size_t i = 0; i < d * d; i++)
			w[i] = m->wq[l * d * d + i] * inv_sqrt;
		memcpy(w + d * d, m->wk + l * kv * d, kv * d * sizeof(float));
		memcpy(w + (d + kv) * d, m->wv + l * kv * d, kv * d * sizeof(float));
		memcpy(p->w13 + l * 2 * h * d, m->w1 + l * h * d, h * d * sizeof(float));
		memcpy(p->w13 + l * 2 * h * d + h * d, m->w3 + l * h * d,
		       h * d * sizeof(float));
	}
	for (int pos = 0; pos < p->seq_len; pos++) {
		for (int i = 0; i < p->hs; i += 2) {
			float freq = 1.0f / powf(p->rope_theta, (float)i / (float)p->hs);
			float val = (float)pos * freq;

			p->rope_cos[(size_t)pos * p->hs / 2 + i / 2] = cosf(val);
			p->rope_sin[(size_t)pos * p->hs / 2 + i / 2] = sinf(val);
		}
	}
	if (rot) {
		int ret = rotate(p);

		if (ret) {
			qprep_free(p);
			return ret;
		}
	}
	return 0;
}

float *qprep_layer(struct qprep *p, int l, int li, int *n, int *k)
{
	size_t lu = (size_t)l, d = (size_t)p->dim, h = (size_t)p->hidden;

	switch (li) {
	case 0:
		*n = p->nqkv;
		*k = p->dim;
		return p->wqkv + lu * (size_t)p->nqkv * d;
	case 1:
		*n = p->dim;
		*k = p->dim;
		return p->wo + lu * d * d;
	case 2:
		*n = 2 * p->hidden;
		*k = p->dim;
		return p->w13 + lu * 2 * h * d;
	default:
		*n = p->dim;
		*k = p->hidden;
		return p->w2 + lu * d * h;
	}
}

/* ---- observers ------------------------------------------------------------ */

static int site_width(const struct qprep *p, int s)
{
	switch (s) {
	case S_XA:
	case S_Q:
	case S_ATT:
	case S_XF:
		return p->dim;
	case S_K:
	case S_V:
		return p->kv;
	default:
		return p->hidden;
	}
}

void qcalib_free(struct qcalib *c)
{
	if (c->site) {
		for (int i = 0; i <= c->n_layers * S_PER_LAYER; i++) {
			free(c->site[i].chmax);
			free(c->site[i].sample);
			free(c->site[i].hess);
		}
	}
	free(c->site);
	memset(c, 0, sizeof(*c));
}

int qcalib_new(const struct qprep *p, uint32_t cap, int hess, struct qcalib *c)
{
	int n = p->n_layers * S_PER_LAYER + 1;

	memset(c, 0, sizeof(*c));
	c->n_layers = p->n_layers;
	c->cap = cap;
	c->site = calloc((size_t)n, sizeof(*c->site));
	if (!c->site)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		struct qsite *s = &c->site[i];

		int sampled = i == n - 1 || (i % S_PER_LAYER != S_GATE &&
					     i % S_PER_LAYER != S_UP);

		s->width = i == n - 1 ? p->dim : site_width(p, i % S_PER_LAYER);
		s->chmax = calloc((size_t)s->width, sizeof(float));
		/* the int16 w1/w3 outputs' scales come from the maxima alone */
		s->sample = sampled ? calloc((size_t)cap * (size_t)s->width + 1,
					     sizeof(float)) : NULL;
		if (!s->chmax || (sampled && !s->sample)) {
			qcalib_free(c);
			return -ENOMEM;
		}
		if (hess && (i == n - 1 || i % S_PER_LAYER == S_XA ||
			     i % S_PER_LAYER == S_ATT || i % S_PER_LAYER == S_XF ||
			     i % S_PER_LAYER == S_H)) {
			s->hess = calloc((size_t)s->width * (size_t)s->width,
					 sizeof(double));
			if (!s->hess) {
				qcalib_free(c);
				return -ENOMEM;
			}
		}
	}
	return 0;
}

void qcalib_divide(struct qsite *s, uint32_t rows, const double *f)
{
	size_t w = (size_t)s->width;

	for (size_t j = 0; j < w; j++)
		s->chmax[j] = (float)(s->chmax[j] / f[j]);
	for (size_t r = 0; s->sample && r < rows; r++)
		for (size_t j = 0; j < w; j++)
			s->sample[r * w + j] = (float)(s->sample[r * w + j] / f[j]);
	for (size_t i = 0; s->hess && i < w; i++)
		for (size_t j = 0; j <= i; j++)
			s->hess[i * w + j] /= f[i] * f[j];
}

/* ---- tokens ------------------------------------------------------------------- */

void qtokens_free(struct qtokens *q)
{
	for (uint32_t i = 0; i < q->n; i++)
		free(q->story[i]);
	free(q->story);
	free(q->len);
	memset(q, 0, sizeof(*q));
}

int qtokens_from_text(const struct inpu_tokenizer *t, const char *text,
		      size_t len, int seq_len, uint32_t max_stories,
		      struct qtokens *out)
{
	const char *pos = text, *end = text + len, *s;
	size_t n = inpu_story_count(text, len), l;
	char *buf = NULL;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	if (max_stories && max_stories < n)
		n = max_stories;
	out->story = calloc(n ? n : 1, sizeof(*out->story));
	out->len = calloc(n ? n : 1, sizeof(*out->len));
	if (!out->story || !out->len) {
		qtokens_free(out);
		return -ENOMEM;
	}
	while (out->n < n && inpu_story_next(&pos, end, &s, &l)) {
		char *nb = realloc(buf, l ? l : 1);
		size_t nl, cap;
		long k;
		int *tok;

		if (!nb) {
			ret = -ENOMEM;
			break;
		}
		buf = nb;
		nl = inpu_story_normalize(s, l, buf);
		cap = inpu_tokenizer_max_tokens(nl);
		tok = malloc(cap * sizeof(*tok));
		if (!tok) {
			ret = -ENOMEM;
			break;
		}
		k = inpu_tokenizer_encode(t, buf, nl, 1, 0, tok, cap);
		if (k < 0) {
			free(tok);
			ret = (int)k;
			break;
		}
		if (k > seq_len)
			k = seq_len;
		out->story[out->n] = tok;
		out->len[out->n] = (int)k;
		out->total += k > 1 ? (uint64_t)(k - 1) : 0;
		out->n++;
	}
	free(buf);
	if (ret)
		qtokens_free(out);
	return ret;
}

/*
 * ---- the token-by-token forward pass (with a KV cache) ------------------------
 * Sampling stories needs one token at a time; calibration runs whole
 * stories as matrix products (qforward.c).
 */

struct fstate {
	float *x, *xb, *xb2, *qkv, *hb, *att, *logits, *kc, *vc, *tmp;
};

static void fstate_free(struct fstate *s)
{
	free(s->x);
	free(s->xb);
	free(s->xb2);
	free(s->qkv);
	free(s->hb);
	free(s->att);
	free(s->logits);
	free(s->kc);
	free(s->vc);
	free(s->tmp);
}

static int fstate_new(const struct qprep *p, struct fstate *s)
{
	size_t cache = (size_t)p->n_layers * (size_t)p->seq_len * (size_t)p->kv;

	s->x = calloc((size_t)p->dim, sizeof(float));
	s->xb = calloc((size_t)p->dim, sizeof(float));
	s->xb2 = calloc((size_t)p->dim, sizeof(float));
	s->qkv = calloc((size_t)p->nqkv, sizeof(float));
	s->hb = calloc((size_t)p->hidden * 2, sizeof(float));
	s->att = calloc((size_t)p->seq_len, sizeof(float));
	s->logits = calloc((size_t)p->vocab, sizeof(float));
	s->kc = calloc(cache, sizeof(float));
	s->vc = calloc(cache, sizeof(float));
	s->tmp = calloc((size_t)p->hidden * 2 + (size_t)p->dim, sizeof(float));
	if (!s->x || !s->xb || !s->xb2 || !s->qkv || !s->hb || !s->att ||
	    !s->logits || !s->kc || !s->vc || !s->tmp) {
		fstate_free(s);
		return -ENOMEM;
	}
	return 0;
}

static void matvec(float *out, const float *x, const float *w, int n, int d)
{
	for (int i = 0; i < d; i++)
		out[i] = inpu_dot8(w + (size_t)i * (size_t)n, x, n);
}

/* Rotate q and k (the first @dim + kv of s->qkv) by position @pos. */
static void rope_rotate(const struct qprep *p, struct fstate *s, int pos)
{
	int hs = p->hs;
	const float *rc = p->rope_cos + (size_t)pos * (size_t)hs / 2;
	const float *rs = p->rope_sin + (size_t)pos * (size_t)hs / 2;

	for (int i = 0; i < p->dim + p->kv; i += 2) {
		float fcr = rc[(i % hs) / 2], fci = rs[(i % hs) / 2];
		float v0 = s->qkv[i], v1 = s->qkv[i + 1];

		s->qkv[i] = v0 * fcr - v1 * fci;
		s->qkv[i + 1] = v0 * fci + v1 * fcr;
	}
}

/* Softmax attention of every head over positions 0..@pos into s->xb. */
static void attend(const struct qprep *p, struct fstate *s, size_t loff, int pos)
{
	int hs = p->hs, kv = p->kv;
	int group = p->n_heads / p->n_kv_heads;
	const float *q = s->qkv;

	for (int h = 0; h < p->n_heads; h++) {
		const float *qh = q + h * hs;
		size_t ho = loff + (size_t)(h / group) * (size_t)hs;
		float mx = -INFINITY, sum = 0.0f;

		for (int t = 0; t <= pos; t++) {
			const float *kt = s->kc + ho + (size_t)t * (size_t)kv;
			float sc = 0.0f;

			for (int i = 0; i < hs; i++)
				sc += qh[i] * kt[i];
			s->att[t] = sc;
			if (sc > mx)
				mx = sc;
		}
		for (int t = 0; t <= pos; t++) {
			s->att[t] = expf(s->att[t] - mx);
			sum += s->att[t];
		}
		for (int i = 0; i < hs; i++)
			s->xb[h * hs + i] = 0.0f;
		for (int t = 0; t <= pos; t++) {
			const float *vt = s->vc + ho + (size_t)t * (size_t)kv;
			float a = s->att[t] / sum;

			for (int i = 0; i < hs; i++)
				s->xb[h * hs + i] += a * vt[i];
		}
	}
}

/* The attention half of layer @l: RMSNorm, qkv, RoPE, cache, attention, wo. */
static void forward_attention(const struct qprep *p, struct fstate *s, int l,
			      int pos)
{
	int dim = p->dim, kv = p->kv;
	size_t lu = (size_t)l;
	size_t loff = lu * (size_t)p->seq_len * (size_t)kv;
	float *x = s->x, *k = s->qkv + dim, *v = s->qkv + dim + kv;

	inpu_rmsnorm(s->xb, x, p->g_att + lu * (size_t)dim, dim, p->norm_eps);
	matvec(s->qkv, s->xb, p->wqkv + lu * (size_t)p->nqkv * (size_t)dim,
	       dim, p->nqkv);
	rope_rotate(p, s, pos);
	memcpy(s->kc + loff + (size_t)pos * (size_t)kv, k, (size_t)kv * sizeof(float));
	memcpy(s->vc + loff + (size_t)pos * (size_t)kv, v, (size_t)kv * sizeof(float));
	attend(p, s, loff, pos);
	matvec(s->xb2, s->xb, p->wo + lu * (size_t)dim * (size_t)dim, dim, dim);
	for (int i = 0; i < dim; i++)
		x[i] += s->xb2[i];
}

/* The FFN half of layer @l: RMSNorm, w1 and w3, SwiGLU, w2. */
static void forward_ffn(const struct qprep *p, struct fstate *s, int l)
{
	int dim = p->dim, hid = p->hidden;
	size_t lu = (size_t)l;
	float *x = s->x;

	inpu_rmsnorm(s->xb, x, p->g_ffn + lu * (size_t)dim, dim, p->norm_eps);
	matvec(s->hb, s->xb, p->w13 + lu * 2 * (size_t)hid * (size_t)dim,
	       dim, 2 * hid);
	for (int i = 0; i < hid; i++) {
		float g = s->hb[i];

		s->tmp[i] = g / (1.0f + expf(-g)) * s->hb[hid + i];
	}
	matvec(s->xb2, s->tmp, p->w2 + lu * (size_t)dim * (size_t)hid, hid, dim);
	for (int i = 0; i < dim; i++)
		x[i] += s->xb2[i];
}

/*
 * One token; @row >= 0 stores the sites into sample row @row.  @c may be
 * NULL (no observation: the logits only).
 */
static void forward(const struct qprep *p, struct fstate *s, int token, int pos)
{
	int dim = p->dim;
	float *x = s->x;

	memcpy(x, p->emb + (size_t)token * (size_t)dim, (size_t)dim * sizeof(float));
	for (int l = 0; l < p->n_layers; l++) {
		forward_attention(p, s, l, pos);
		forward_ffn(p, s, l);
	}
	inpu_rmsnorm(s->xb, x, p->g_fin, dim, p->norm_eps);
	matvec(s->logits, s->xb, p->wcls, dim, p->vocab);
}

int qtokens_copy(const struct qtokens *a, struct qtokens *b)
{
	memset(b, 0, sizeof(*b));
	b->story = calloc(a->n ? a->n : 1, sizeof(*b->story));
	b->len = calloc(a->n ? a->n : 1, sizeof(*b->len));
	if (!b->story || !b->len) {
		qtokens_free(b);
		return -ENOMEM;
	}
	for (; b->n < a->n; b->n++) {
		size_t sz = (size_t)(a->len[b->n] > 0 ? a->len[b->n] : 1) * sizeof(int);

		b->story[b->n] = malloc(sz);
		if (!b->story[b->n]) {
			qtokens_free(b);
			return -ENOMEM;
		}
		memcpy(b->story[b->n], a->story[b->n], (size_t)a->len[b->n] * sizeof(int));
		b->len[b->n] = a->len[b->n];
	}
	b->total = a->total;
	return 0;
}

int qtokens_generate(const struct qprep *p, uint32_t n, int max_len, uint64_t seed,
		     struct qtokens *tk,
		     void (*progress)(void *, const char *, uint64_t, uint64_t),
		     void *pctx)
{
	struct fstate s;
	uint32_t n0 = tk->n;
	int **ns = realloc(tk->story, (n0 + n) * sizeof(*ns)), *nl, ret = 0;

	if (!ns)
		return -ENOMEM;
	tk->story = ns;
	nl = realloc(tk->len, (n0 + n) * sizeof(*nl));
	if (!nl)
		return -ENOMEM;
	tk->len = nl;
	if (max_len > p->seq_len)
		max_len = p->seq_len;
	memset(&s, 0, sizeof(s));
	ret = fstate_new(p, &s);
	if (ret)
		return ret;
	if (!seed)
		seed = 1;
	for (uint32_t i = 0; i < n && !ret; i++) {
		int *tok = malloc((size_t)max_len * sizeof(int)), len = 1;

		if (!tok) {
			ret = -ENOMEM;
			break;
		}
		tok[0] = INPU_TOK_BOS;
		while (len < max_len) {
			double u = (double)(qrand_next(&seed) >> 11) / 9007199254740992.0;
			double mx = -INFINITY, sum = 0.0, acc = 0.0;
			int next = p->vocab - 1;

			forward(p, &s, tok[len - 1], len - 1);
			for (int v = 0; v < p->vocab; v++)
				if (s.logits[v] > mx)
					mx = s.logits[v];
			for (int v = 0; v < p->vocab; v++)
				sum += exp((double)s.logits[v] - mx);
			for (int v = 0; v < p->vocab; v++) {
				acc += exp((double)s.logits[v] - mx) / sum;
				if (u < acc) {
					next = v;
					break;
				}
			}
			if (next == INPU_TOK_BOS || next == INPU_TOK_EOS)
				break;
			tok[len++] = next;
		}
		tk->story[tk->n] = tok;
		tk->len[tk->n] = len;
		tk->total += len > 1 ? (uint64_t)(len - 1) : 0;
		tk->n++;
		if (progress)
			progress(pctx, "sampling stories from the float model", i + 1, n);
	}
	fstate_free(&s);
	return ret;
}
