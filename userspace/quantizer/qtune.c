// SPDX-License-Identifier: MIT
/*
 * Quantization-aware fine-tuning by distillation (offline, floating
 * point).  Round-to-nearest and GPTQ fix each layer's weights against that
 * layer's own output error; at 4 bits on a model this small the errors of
 * 20 layers add up in the loss (QUANT.md §5).  Here the block weights are
 * instead tuned so that the model *with its weights rounded* reproduces
 * the float model's next-token distributions on the calibration text:
 * the loss is KL(float || quantized) summed over every position, the
 * rounding is the quantizer's own (qround on its round-to-nearest grid) in the
 * forward pass and the identity in the backward pass (straight-through
 * estimator), the optimizer Adam with a cosine learning-rate decay.
 *
 * The result stays a float model (latent weights and RMSNorm weights):
 * the quantizer then rounds it with the very function the forward pass
 * used, so the integer model gets exactly the weights that were tuned.
 * Activations stay float here; their int8 ranges are calibrated after.
 * Deterministic: fixed story order from a fixed seed, one thread.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cblas.h>

#include "qmodel.h"
#include "quantize.h"
#include "dot.h"
#include "quant_internal.h"

/* The tensors training changes. */
enum { P_QKV, P_WO, P_W13, P_W2, P_GATT, P_GFFN, P_GFIN, P_N };

static float **pslot(struct qprep *p, int i)
{
	switch (i) {
	case P_QKV:
		return &p->wqkv;
	case P_WO:
		return &p->wo;
	case P_W13:
		return &p->w13;
	case P_W2:
		return &p->w2;
	case P_GATT:
		return &p->g_att;
	case P_GFFN:
		return &p->g_ffn;
	default:
		return &p->g_fin;
	}
}

static size_t psize(const struct qprep *p, int i)
{
	size_t L = (size_t)p->n_layers, d = (size_t)p->dim, h = (size_t)p->hidden;

	switch (i) {
	case P_QKV:
		return L * (size_t)p->nqkv * d;
	case P_WO:
		return L * d * d;
	case P_W13:
		return L * 2 * h * d;
	case P_W2:
		return L * d * h;
	case P_GATT:
	case P_GFFN:
		return L * d;
	default:
		return d;
	}
}

/* Activations of one sequence, kept for the backward pass. */
struct tws {
	int S;				/* room: tokens */
	float *xin, *xmid;		/* [L][S][d] residual in, after attention */
	float *r1, *r2, *rf;		/* [L][S], [L][S], [S] 1/rms */
	float *xa, *att, *xf;		/* [L][S][d] */
	float *qkv;			/* [L][S][nqkv] q, k after RoPE */
	float *prob;			/* [L][H][S][S] attention probabilities */
	float *hb;			/* [L][S][2 hid] w1, w3 outputs */
	float *hh;			/* [L][S][hid] SwiGLU output */
	float *x, *xout, *xfin;		/* [S][d] */
	float *logits, *pt;		/* [S][V] student logits, teacher probs */
	float *dx, *dt, *dn;		/* [S][d] */
	float *dqkv;			/* [S][nqkv] */
	float *dhb, *dhh, *tmp;		/* [S][2 hid], [S][hid], [S][2 hid] */
	float *dp;			/* [S][S] one head's d loss / d scores */
};

static void tws_free(struct tws *w)
{
	float **f[] = { &w->xin, &w->xmid, &w->r1, &w->r2, &w->rf, &w->xa,
			&w->att, &w->xf, &w->qkv, &w->prob, &w->hb, &w->hh,
			&w->x, &w->xout, &w->xfin, &w->logits, &w->pt, &w->dx,
			&w->dt, &w->dn, &w->dqkv, &w->dhb, &w->dhh, &w->tmp,
			&w->dp };

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		free(*f[i]);
		*f[i] = NULL;
	}
}

static int tws_new(const struct qprep *p, int S, struct tws *w)
{
	size_t L = (size_t)p->n_layers, s = (size_t)S, d = (size_t)p->dim;
	size_t h = (size_t)p->hidden, V = (size_t)p->vocab;

	memset(w, 0, sizeof(*w));
	w->S = S;
	w->xin = calloc(L * s * d, sizeof(float));
	w->xmid = calloc(L * s * d, sizeof(float));
	w->r1 = calloc(L * s, sizeof(float));
	w->r2 = calloc(L * s, sizeof(float));
	w->rf = calloc(s, sizeof(float));
	w->xa = calloc(L * s * d, sizeof(float));
	w->att = calloc(L * s * d, sizeof(float));
	w->xf = calloc(L * s * d, sizeof(float));
	w->qkv = calloc(L * s * (size_t)p->nqkv, sizeof(float));
	w->prob = calloc(L * (size_t)p->n_heads * s * s, sizeof(float));
	w->hb = calloc(L * s * 2 * h, sizeof(float));
	w->hh = calloc(L * s * h, sizeof(float));
	w->x = calloc(s * d, sizeof(float));
	w->xout = calloc(s * d, sizeof(float));
	w->xfin = calloc(s * d, sizeof(float));
	w->logits = calloc(s * V, sizeof(float));
	w->pt = calloc(s * V, sizeof(float));
	w->dx = calloc(s * d, sizeof(float));
	w->dt = calloc(s * d, sizeof(float));
	w->dn = calloc(s * d, sizeof(float));
	w->dqkv = calloc(s * (size_t)p->nqkv, sizeof(float));
	w->dhb = calloc(s * 2 * h, sizeof(float));
	w->dhh = calloc(s * h, sizeof(float));
	w->tmp = calloc(s * 2 * h + s * d, sizeof(float));
	w->dp = calloc(s * s, sizeof(float));
	if (!w->xin || !w->xmid || !w->r1 || !w->r2 || !w->rf || !w->xa ||
	    !w->att || !w->xf || !w->qkv || !w->prob || !w->hb || !w->hh ||
	    !w->x || !w->xout || !w->xfin || !w->logits || !w->pt || !w->dx ||
	    !w->dt || !w->dn || !w->dqkv || !w->dhb || !w->dhh || !w->tmp ||
	    !w->dp) {
		tws_free(w);
		return -ENOMEM;
	}
	return 0;
}

/* ---- building blocks (row-major, T rows) ------------------------------------------ */

/*
 * The three products of a linear layer's forward and backward pass, as
 * single-threaded BLAS calls (qpar_blas_init): each story's gradient is
 * computed by one thread, so the sums stay the same for any thread count.
 */

/* y[t][i] = x[t] . w[i]   (w: n x k) */
static void mm_nt(float *y, const float *x, const float *w, int T, int k, int n)
{
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, n, k, 1.0f, x, k,
		    w, k, 0.0f, y, n);
}

/* dx[t] = sum_i dy[t][i] w[i]   (overwrites dx) */
static void mm_nn(float *dx, const float *dy, const float *w, int T, int n, int k)
{
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, k, n, 1.0f, dy, n,
		    w, k, 0.0f, dx, k);
}

/* dw[i] += sum_t dy[t][i] x[t] */
static void mm_tn(float *dw, const float *dy, const float *x, int T, int n, int k)
{
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, k, T, 1.0f, dy, n,
		    x, k, 1.0f, dw, k);
}

static void rms_fwd(float *y, float *r, const float *x, const float *g, int T, int n,
		    float eps)
{
	for (int t = 0; t < T; t++) {
		const float *xt = x + (size_t)t * n;
		float ss = 0.0f;

		for (int j = 0; j < n; j++)
			ss += xt[j] * xt[j];
		r[t] = 1.0f / sqrtf(ss / (float)n + eps);
		for (int j = 0; j < n; j++)
			y[(size_t)t * n + j] = g[j] * (r[t] * xt[j]);
	}
}

/* dx = d(g x r)/dx . dy (overwrites dx), dg += dy x r */
static void rms_bwd(float *dx, float *dg, const float *dy, const float *x,
		    const float *r, const float *g, int T, int n)
{
	for (int t = 0; t < T; t++) {
		const float *xt = x + (size_t)t * n, *dyt = dy + (size_t)t * n;
		float *dxt = dx + (size_t)t * n, dot = 0.0f, rt = r[t];

		for (int j = 0; j < n; j++) {
			dot += dyt[j] * g[j] * xt[j];
			dg[j] += dyt[j] * xt[j] * rt;
		}
		dot *= rt * rt * rt / (float)n;
		for (int j = 0; j < n; j++)
			dxt[j] = g[j] * dyt[j] * rt - xt[j] * dot;
	}
}

/* RoPE on q and k (interleaved pairs), @dir -1 for the transpose. */
static void rope(const struct qprep *p, float *qkv, int T, float dir)
{
	int hs = p->hs, nq = p->nqkv;

	for (int t = 0; t < T; t++) {
		const float *rc = p->rope_cos + (size_t)t * (size_t)hs / 2;
		const float *rs = p->rope_sin + (size_t)t * (size_t)hs / 2;
		float *v = qkv + (size_t)t * nq;

		for (int i = 0; i < p->dim + p->kv; i += 2) {
			float c = rc[(i % hs) / 2], s = dir * rs[(i % hs) / 2];
			float v0 = v[i], v1 = v[i + 1];

			v[i] = v0 * c - v1 * s;
			v[i + 1] = v0 * s + v1 * c;
		}
	}
}

/* Causal softmax of rows 0..T-1 of @pr (row stride @S); the future set to 0. */
static void causal_softmax(float *pr, int T, int S)
{
	for (int t = 0; t < T; t++) {
		float *r = pr + (size_t)t * S, mx = -INFINITY, sum = 0.0f;

		for (int u = 0; u <= t; u++)
			if (r[u] > mx)
				mx = r[u];
		for (int u = 0; u <= t; u++) {
			r[u] = expf(r[u] - mx);
			sum += r[u];
		}
		sum = 1.0f / sum;
		for (int u = 0; u <= t; u++)
			r[u] *= sum;
		for (int u = t + 1; u < T; u++)
			r[u] = 0.0f;
	}
}

/*
 * Every head: prob = softmax(q k^T) (kept, [H][S][S], zero above the
 * diagonal for the backward products), out = prob v.
 */
static void attn_fwd(const struct qprep *p, const float *qkv, float *out,
		     float *prob, int T, int S)
{
	int hs = p->hs, nq = p->nqkv, dim = p->dim, kv = p->kv;
	int grp = p->n_heads / p->n_kv_heads;

	for (int h = 0; h < p->n_heads; h++) {
		const float *q = qkv + (size_t)h * hs;
		const float *k = qkv + dim + (size_t)(h / grp) * hs, *v = k + kv;
		float *pr = prob + (size_t)h * S * S;

		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, hs, 1.0f,
			    q, nq, k, nq, 0.0f, pr, S);
		causal_softmax(pr, T, S);
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, hs, T, 1.0f,
			    pr, S, v, nq, 0.0f, out + (size_t)h * hs, dim);
	}
}

/*
 * dqkv (overwritten) from dout, through softmax(q k^T) v; @dp: room for
 * one head's [T][S] gradient of the scores.
 */
static void attn_bwd(const struct qprep *p, const float *qkv, const float *prob,
		     const float *dout, float *dqkv, float *dp, int T, int S)
{
	int hs = p->hs, nq = p->nqkv, dim = p->dim, kv = p->kv;
	int grp = p->n_heads / p->n_kv_heads;

	memset(dqkv, 0, (size_t)T * nq * sizeof(float));
	for (int h = 0; h < p->n_heads; h++) {
		size_t ko = (size_t)dim + (size_t)(h / grp) * hs;
		const float *q = qkv + (size_t)h * hs, *k = qkv + ko, *v = k + kv;
		const float *pr = prob + (size_t)h * S * S;
		const float *dot = dout + (size_t)h * hs;

		/* dP = dO v^T, dv += P^T dO */
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, hs, 1.0f,
			    dot, dim, v, nq, 0.0f, dp, S);
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, hs, T, 1.0f,
			    pr, S, dot, dim, 1.0f, dqkv + ko + kv, nq);
		/* through the softmax: dS = P (dP - sum P dP), causal */
		for (int t = 0; t < T; t++) {
			const float *pt = pr + (size_t)t * S;
			float *dt = dp + (size_t)t * S, sum = inpu_dot8(pt, dt, t + 1);

			for (int u = 0; u <= t; u++)
				dt[u] = pt[u] * (dt[u] - sum);
			for (int u = t + 1; u < T; u++)
				dt[u] = 0.0f;
		}
		/* dq = dS k, dk += dS^T q */
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, hs, T, 1.0f,
			    dp, S, k, nq, 0.0f, dqkv + (size_t)h * hs, nq);
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, hs, T, 1.0f,
			    dp, S, q, nq, 1.0f, dqkv + ko, nq);
	}
}

/*
 * The int8 rounding of an activation (scale @sc; none if 0), straight
 * through in the backward pass.
 */
static void aq(float *v, size_t n, float sc)
{
	if (!(sc > 0.0f))
		return;
	for (size_t i = 0; i < n; i++) {
		float r = nearbyintf(v[i] / sc);

		v[i] = (r > 127.0f ? 127.0f : r < -127.0f ? -127.0f : r) * sc;
	}
}

/*
 * Row-wise aq over columns [c0, c1) of a [T][n] array; @sc < 0: each row
 * at its own scale, max |x| / 127 (the device's per-token I8ROW).
 */
static void aq_cols(float *v, int T, int n, int c0, int c1, float sc)
{
	for (int t = 0; t < T; t++) {
		float *r = v + (size_t)t * n + c0, s = sc;

		if (s < 0.0f) {
			s = 0.0f;
			for (int i = 0; i < c1 - c0; i++)
				s = fmaxf(s, fabsf(r[i]));
			s /= 127.0f;
		}
		aq(r, (size_t)(c1 - c0), s);
	}
}

static float sigm(float a)
{
	return 1.0f / (1.0f + expf(-a));
}

/* ---- the model --------------------------------------------------------------------- */

#define LD(w, l, n) ((w) + (size_t)(l) * (size_t)(n))

/*
 * Forward pass of @m over tokens @tok[0..T), activations into @w.  @as:
 * int8 scales of the activation sites ([L][S_PER_LAYER] then the final
 * norm's output) to round there, or NULL.
 */
static void seq_forward(const struct qprep *m, const int *tok, int T, struct tws *w,
			const float *as)
{
	int d = m->dim, nq = m->nqkv, hid = m->hidden, S = w->S;
	size_t sd = (size_t)S * d;

	for (int t = 0; t < T; t++)
		memcpy(w->x + (size_t)t * d, m->emb + (size_t)tok[t] * d,
		       (size_t)d * sizeof(float));
	for (int l = 0; l < m->n_layers; l++) {
		float *xa = LD(w->xa, l, sd), *qkv = LD(w->qkv, l, (size_t)S * nq);
		float *att = LD(w->att, l, sd), *xf = LD(w->xf, l, sd);
		float *hb = LD(w->hb, l, (size_t)S * 2 * hid);
		float *hh = LD(w->hh, l, (size_t)S * hid);

		memcpy(LD(w->xin, l, sd), w->x, (size_t)T * d * sizeof(float));
		const float *a = as ? as + (size_t)l * S_PER_LAYER : NULL;

		rms_fwd(xa, LD(w->r1, l, S), w->x, LD(m->g_att, l, d), T, d, m->norm_eps);
		if (a)
			aq_cols(xa, T, d, 0, d, a[S_XA]);
		mm_nt(qkv, xa, LD(m->wqkv, l, (size_t)nq * d), T, d, nq);
		rope(m, qkv, T, 1.0f);
		if (a) {
			aq_cols(qkv, T, nq, 0, d, a[S_Q]);
			aq_cols(qkv, T, nq, d, d + m->kv, a[S_K]);
			aq_cols(qkv, T, nq, d + m->kv, nq, a[S_V]);
		}
		attn_fwd(m, qkv, att, LD(w->prob, l, (size_t)m->n_heads * S * S), T, S);
		if (a)
			aq_cols(att, T, d, 0, d, a[S_ATT]);
		mm_nt(w->tmp, att, LD(m->wo, l, (size_t)d * d), T, d, d);
		for (size_t i = 0; i < (size_t)T * d; i++)
			w->x[i] += w->tmp[i];
		memcpy(LD(w->xmid, l, sd), w->x, (size_t)T * d * sizeof(float));
		rms_fwd(xf, LD(w->r2, l, S), w->x, LD(m->g_ffn, l, d), T, d, m->norm_eps);
		if (a)
			aq_cols(xf, T, d, 0, d, a[S_XF]);
		mm_nt(hb, xf, LD(m->w13, l, (size_t)2 * hid * d), T, d, 2 * hid);
		for (int t = 0; t < T; t++)
			for (int i = 0; i < hid; i++) {
				float a = hb[(size_t)t * 2 * hid + i];

				hh[(size_t)t * hid + i] = a * sigm(a) *
							 hb[(size_t)t * 2 * hid + hid + i];
			}
		if (a)
			aq_cols(hh, T, hid, 0, hid, a[S_H]);
		mm_nt(w->tmp, hh, LD(m->w2, l, (size_t)d * hid), T, hid, d);
		for (size_t i = 0; i < (size_t)T * d; i++)
			w->x[i] += w->tmp[i];
	}
	memcpy(w->xout, w->x, (size_t)T * d * sizeof(float));
	rms_fwd(w->xfin, w->rf, w->x, m->g_fin, T, d, m->norm_eps);
	if (as)
		aq_cols(w->xfin, T, d, 0, d, as[(size_t)m->n_layers * S_PER_LAYER]);
	mm_nt(w->logits, w->xfin, m->wcls, T, d, m->vocab);
}

/*
 * Backward pass from d loss / d logits (@dlog, [T][V]): adds the
 * gradients of the trainable tensors into @g (its P_* arrays).
 */
static void seq_backward(const struct qprep *m, struct tws *w, const float *dlog,
			 int T, struct qprep *g)
{
	int d = m->dim, nq = m->nqkv, hid = m->hidden, S = w->S;
	size_t sd = (size_t)S * d;

	mm_nn(w->dn, dlog, m->wcls, T, m->vocab, d);
	rms_bwd(w->dx, g->g_fin, w->dn, w->xout, w->rf, m->g_fin, T, d);
	for (int l = m->n_layers - 1; l >= 0; l--) {
		const float *hb = LD(w->hb, l, (size_t)S * 2 * hid);
		const float *qkv = LD(w->qkv, l, (size_t)S * nq);

		/* x += hh w2^T */
		mm_nn(w->dhh, w->dx, LD(m->w2, l, (size_t)d * hid), T, d, hid);
		mm_tn(LD(g->w2, l, (size_t)d * hid), w->dx, LD(w->hh, l, (size_t)S * hid),
		      T, d, hid);
		for (int t = 0; t < T; t++)
			for (int i = 0; i < hid; i++) {
				size_t o = (size_t)t * 2 * hid + i;
				float a = hb[o], b = hb[o + hid], s = sigm(a);
				float dh = w->dhh[(size_t)t * hid + i];

				w->dhb[o] = dh * b * s * (1.0f + a * (1.0f - s));
				w->dhb[o + hid] = dh * a * s;
			}
		mm_nn(w->dn, w->dhb, LD(m->w13, l, (size_t)2 * hid * d), T, 2 * hid, d);
		mm_tn(LD(g->w13, l, (size_t)2 * hid * d), w->dhb, LD(w->xf, l, sd),
		      T, 2 * hid, d);
		rms_bwd(w->dt, LD(g->g_ffn, l, d), w->dn, LD(w->xmid, l, sd),
			LD(w->r2, l, S), LD(m->g_ffn, l, d), T, d);
		for (size_t i = 0; i < (size_t)T * d; i++)
			w->dx[i] += w->dt[i];
		/* x += att wo^T */
		mm_nn(w->dn, w->dx, LD(m->wo, l, (size_t)d * d), T, d, d);
		mm_tn(LD(g->wo, l, (size_t)d * d), w->dx, LD(w->att, l, sd), T, d, d);
		attn_bwd(m, qkv, LD(w->prob, l, (size_t)m->n_heads * S * S), w->dn,
			 w->dqkv, w->dp, T, S);
		rope(m, w->dqkv, T, -1.0f);
		mm_nn(w->dn, w->dqkv, LD(m->wqkv, l, (size_t)nq * d), T, nq, d);
		mm_tn(LD(g->wqkv, l, (size_t)nq * d), w->dqkv, LD(w->xa, l, sd), T, nq, d);
		rms_bwd(w->dt, LD(g->g_att, l, d), w->dn, LD(w->xin, l, sd),
			LD(w->r1, l, S), LD(m->g_att, l, d), T, d);
		for (size_t i = 0; i < (size_t)T * d; i++)
			w->dx[i] += w->dt[i];
	}
}

/* Softmax of each row of @z into @p; returns sum of log-sum-exp terms unused. */
static void softmax_rows(float *p, const float *z, int T, int V)
{
	for (int t = 0; t < T; t++) {
		const float *zt = z + (size_t)t * V;
		float *pt = p + (size_t)t * V, mx = -INFINITY, sum = 0.0f;

		for (int i = 0; i < V; i++)
			if (zt[i] > mx)
				mx = zt[i];
		for (int i = 0; i < V; i++) {
			pt[i] = expf(zt[i] - mx);
			sum += pt[i];
		}
		for (int i = 0; i < V; i++)
			pt[i] /= sum;
	}
}

/*
 * KL(teacher || student) summed over the T positions; the student's
 * logits in w->logits are replaced by d KL / d logits times @scale.
 */
static double kl_grad(struct tws *w, int T, int V, float scale)
{
	double kl = 0.0;

	for (int t = 0; t < T; t++) {
		float *z = w->logits + (size_t)t * V;
		const float *pt = w->pt + (size_t)t * V;
		float mx = -INFINITY;
		double sum = 0.0, lse;

		for (int i = 0; i < V; i++)
			if (z[i] > mx)
				mx = z[i];
		for (int i = 0; i < V; i++)
			sum += exp((double)(z[i] - mx));
		lse = mx + log(sum);
		for (int i = 0; i < V; i++) {
			double lq = z[i] - lse;

			if (pt[i] > 0.0f)
				kl += pt[i] * (log((double)pt[i]) - lq);
			z[i] = (float)((exp(lq) - pt[i]) * scale);
		}
	}
	return kl;
}

/*
 * One story: KL(teacher || student) summed over its @T positions is
 * returned, its gradient times @scale added into @g.  @act: as
 * seq_forward's @as (the student only).
 */
static double story_grad(const struct qprep *teacher, const struct qprep *student,
			 const int *tok, int T, const float *act, float scale,
			 struct tws *w, struct qprep *g)
{
	double kl;

	seq_forward(teacher, tok, T, w, NULL);
	softmax_rows(w->pt, w->logits, T, teacher->vocab);
	seq_forward(student, tok, T, w, act);
	kl = kl_grad(w, T, student->vocab, scale);
	seq_backward(student, w, w->logits, T, g);
	return kl;
}

int qtune_loss_grad(const struct qprep *teacher, const struct qprep *student,
		    const int *tok, int T, struct qprep *grad, double *kl)
{
	struct tws w;
	int ret = tws_new(student, T, &w);

	if (ret)
		return ret;
	qpar_blas_init();
	*kl = story_grad(teacher, student, tok, T, NULL, 1.0f, &w, grad);
	tws_free(&w);
	return 0;
}

int qtune_grad_alloc(const struct qprep *p, struct qprep *g)
{
	memset(g, 0, sizeof(*g));
	g->dim = p->dim;
	g->hidden = p->hidden;
	g->n_layers = p->n_layers;
	g->nqkv = p->nqkv;
	for (int i = 0; i < P_N; i++) {
		*pslot(g, i) = calloc(psize(p, i), sizeof(float));
		if (!*pslot(g, i)) {
			qprep_free(g);
			return -ENOMEM;
		}
	}
	return 0;
}

/* ---- training ---------------------------------------------------------------------- */

void qtune_scales_free(struct qtune_scales *sc)
{
	for (int l = 0; l < INPU_QM_MAX_LAYERS; l++)
		for (int li = 0; li < 4; li++) {
			free(sc->s[l][li]);
			free(sc->gs[l][li]);
			free(sc->z[l][li]);
		}
	memset(sc, 0, sizeof(*sc));
}

/* The quantizer's round-to-nearest grid of every block layer of @p. */
static int scales_init(const struct qprep *p, const struct qtune_opts *o,
		       struct qtune_scales *sc)
{
	int8_t *q = NULL;

	memset(sc, 0, sizeof(*sc));
	sc->group = o->group ? o->group : INPU_W4_GROUP;
	for (int l = 0; l < p->n_layers; l++)
		for (int li = 0; li < 4; li++) {
			int n, k, ng, ret, w4 = o->bits ? o->bits[l][li] == 4 : o->w4;

			const float *w = qprep_layer((struct qprep *)p, l, li, &n, &k);

			ng = (k + sc->group - 1) / sc->group;
			q = malloc((size_t)n * k);
			sc->s[l][li] = malloc((size_t)n * sizeof(double));
			sc->gs[l][li] = malloc((size_t)n * ng);
			sc->z[l][li] = calloc((size_t)n * ng, 1);
			if (!q || !sc->s[l][li] || !sc->gs[l][li] || !sc->z[l][li]) {
				free(q);
				qtune_scales_free(sc);
				return -ENOMEM;
			}
			sc->w4[l][li] = (uint8_t)w4;
			ret = qmatrix_rtn(w, (uint32_t)n, (uint32_t)k, w4, o->pow2,
					  sc->group, w4 && o->codes,
					  w4 && o->zero ? sc->z[l][li] : NULL,
					  q, sc->gs[l][li], sc->s[l][li]);
			free(q);
			if (ret) {
				qtune_scales_free(sc);
				return ret;
			}
			if (!w4)	/* one "group scale" of 1 per row */
				memset(sc->gs[l][li], 1, (size_t)n * ng);
		}
	return 0;
}

/* Trainable state of one linear layer besides its latent weights. */
struct tlin {
	double *s0;		/* [n] initial channel scale */
	float *th, *gth, *mth, *vth;	/* [n] log(s / s0), its gradient, Adam */
};

/*
 * The student's weights: every latent linear rounded on its grid (the
 * channel scale s0 exp(theta), the fixed group scales), the latent norms.
 */
static void fake_quantize(const struct qprep *lat, struct qprep *st,
			  struct qtune_scales *sc, struct tlin (*tl)[4])
{
	for (int l = 0; l < lat->n_layers; l++)
		for (int li = 0; li < 4; li++) {
			int n, k;
			const float *src = qprep_layer((struct qprep *)lat, l, li, &n, &k);
			float *dst = qprep_layer(st, l, li, &n, &k);
			int grp = sc->group, ng = (k + grp - 1) / grp;

			for (int i = 0; i < n; i++) {
				double s = tl[l][li].s0[i] * exp((double)tl[l][li].th[i]);

				sc->s[l][li][i] = s;
				for (int j = 0; j < k; j++) {
					int g = sc->gs[l][li][(size_t)i * ng + j / grp];
					int z = sc->z[l][li][(size_t)i * ng + j / grp];
					size_t o = (size_t)i * k + j;

					dst[o] = (float)((qround(src[o], s, g, z, sc->w4[l][li]) - z) *
							 (g * s));
				}
			}
		}
	for (int i = P_GATT; i < P_N; i++)
		memcpy(*pslot(st, i), *pslot((struct qprep *)lat, i),
		       psize(lat, i) * sizeof(float));
}

/*
 * Gradients with respect to the rounded weights (in @g) into gradients
 * of the latent weights (straight through inside the grid's range, zero
 * where the weight is clipped) and of the log channel scales (LSQ).
 */
static void ste(const struct qprep *lat, struct qprep *g, const struct qtune_scales *sc,
		struct tlin (*tl)[4])
{
	for (int l = 0; l < lat->n_layers; l++)
		for (int li = 0; li < 4; li++) {
			int n, k, lo = sc->w4[l][li] ? -8 : -127, hi = sc->w4[l][li] ? 7 : 127;
			const float *w = qprep_layer((struct qprep *)lat, l, li, &n, &k);
			float *gw = qprep_layer(g, l, li, &n, &k);
			int grp = sc->group, ng = (k + grp - 1) / grp;

			for (int i = 0; i < n; i++) {
				double s = sc->s[l][li][i], gsum = 0.0;

				for (int gi = 0; gi < ng; gi++) {
					int gg = sc->gs[l][li][(size_t)i * ng + gi];
					int z = sc->z[l][li][(size_t)i * ng + gi];
					int j1 = (gi + 1) * grp < k ? (gi + 1) * grp : k;
					double gsg = 0.0;

					/* The grid's real steps are q - z for q in lo..hi. */
					for (int j = gi * grp; j < j1; j++) {
						size_t o = (size_t)i * k + j;
						double v = w[o] / (gg * s);
						long q = lround(v) + z;

						if (q < lo || q > hi) {
							gsg += gw[o] * ((q < lo ? lo : hi) - z);
							gw[o] = 0.0f;
						} else {
							gsg += gw[o] * ((double)(q - z) - v);
						}
					}
					gsum += gsg * gg * s;
				}
				tl[l][li].gth[i] = (float)gsum;
			}
		}
}

static void adam(float *x, const float *g, float *m, float *v, size_t n, double lr,
		 double c1, double c2)
{
	for (size_t j = 0; j < n; j++) {
		m[j] = (float)(0.9 * m[j] + 0.1 * g[j]);
		v[j] = (float)(0.999 * v[j] + 0.001 * g[j] * g[j]);
		x[j] -= (float)(lr * (m[j] / c1) / (sqrt(v[j] / c2) + 1e-8));
	}
}

static void tlin_free(struct tlin (*tl)[4])
{
	for (int l = 0; tl && l < INPU_QM_MAX_LAYERS; l++)
		for (int li = 0; li < 4; li++) {
			free(tl[l][li].s0);
			free(tl[l][li].th);
			free(tl[l][li].gth);
			free(tl[l][li].mth);
			free(tl[l][li].vth);
		}
}

static int tlin_new(const struct qprep *p, const struct qtune_scales *sc,
		    struct tlin (*tl)[4])
{
	for (int l = 0; l < p->n_layers; l++)
		for (int li = 0; li < 4; li++) {
			int n, k;
			struct tlin *t = &tl[l][li];

			qprep_layer((struct qprep *)p, l, li, &n, &k);
			t->s0 = malloc((size_t)n * sizeof(double));
			t->th = calloc((size_t)n, sizeof(float));
			t->gth = calloc((size_t)n, sizeof(float));
			t->mth = calloc((size_t)n, sizeof(float));
			t->vth = calloc((size_t)n, sizeof(float));
			if (!t->s0 || !t->th || !t->gth || !t->mth || !t->vth)
				return -ENOMEM;
			memcpy(t->s0, sc->s[l][li], (size_t)n * sizeof(double));
		}
	return 0;
}

#define QT_MAX_THREADS 8

/*
 * One step's stories on one thread: each story's gradient goes into its
 * own buffer and the caller sums them in story order, so the result does
 * not depend on the number of threads.
 */
struct qjob {
	const struct qprep *teacher, *st;
	const struct qtokens *tk;
	const uint32_t *order;
	const float *act;
	uint32_t b0, be;
	float scale;		/* 1 / tokens of the step */
	struct tws *w;		/* this thread's workspace */
	struct qprep *g;	/* [be - b0] gradients */
	double *kl;		/* [be - b0] */
	int tid, nt;
};

static void *story_grads(void *arg)
{
	struct qjob *j = arg;

	for (uint32_t b = j->b0 + (uint32_t)j->tid; b < j->be; b += (uint32_t)j->nt) {
		struct qprep *g = &j->g[b - j->b0];
		const int *tok = j->tk->story[j->order[b]];
		int T = j->tk->len[j->order[b]] - 1;

		for (int i = 0; i < P_N; i++)
			memset(*pslot(g, i), 0, psize(j->st, i) * sizeof(float));
		j->kl[b - j->b0] = 0.0;
		if (T <= 0)
			continue;
		j->kl[b - j->b0] = story_grad(j->teacher, j->st, tok, T, j->act, j->scale,
					      j->w, g);
	}
	return NULL;
}

/* The step's gradients (stories b0..be) into g[0], their KL summed. */
static double step_grads(struct qjob *proto, struct tws *ws, int nt)
{
	struct qjob job[QT_MAX_THREADS];
	pthread_t th[QT_MAX_THREADS];
	int started[QT_MAX_THREADS] = { 0 };
	uint32_t nb = proto->be - proto->b0;
	double kl = 0.0;

	if ((uint32_t)nt > nb)
		nt = (int)nb;
	for (int t = 0; t < nt; t++) {
		job[t] = *proto;
		job[t].tid = t;
		job[t].nt = nt;
		job[t].w = &ws[t];
	}
	for (int t = 1; t < nt; t++)
		started[t] = !pthread_create(&th[t], NULL, story_grads, &job[t]);
	/* a thread that could not start: its stories run here */
	story_grads(&job[0]);
	for (int t = 1; t < nt; t++) {
		if (started[t])
			pthread_join(th[t], NULL);
		else
			story_grads(&job[t]);
	}
	for (uint32_t b = 1; b < nb; b++)
		for (int i = 0; i < P_N; i++) {
			float *d = *pslot(&proto->g[0], i);
			const float *a = *pslot(&proto->g[b], i);

			for (size_t x = 0; x < psize(proto->st, i); x++)
				d[x] += a[x];
		}
	for (uint32_t b = 0; b < nb; b++)
		kl += proto->kl[b];
	return kl;
}

/* A fine-tuning run: everything it owns besides the model and its grid. */
struct qtrain {
	struct tlin (*tl)[4];
	struct qprep teacher, st;	/* the float model, the rounded student */
	struct qprep m, v;		/* Adam moments of the trained tensors */
	struct qprep *g;		/* [batch] one story's gradients each */
	double *kls;			/* [batch] one story's KL each */
	struct tws w[QT_MAX_THREADS];
	uint32_t *order;		/* the stories in this pass's order */
	int batch, nt, step, steps;
	double c1, c2;			/* Adam: 0.9^step, 0.999^step */
	uint64_t seed;
};

/* Threads: o->threads or one per CPU, at most QT_MAX_THREADS and @batch. */
static int train_threads(const struct qtune_opts *o, int batch)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int nt;

	if (o->threads > 0)
		ncpu = o->threads;
	nt = ncpu < 1 ? 1 : ncpu > QT_MAX_THREADS ? QT_MAX_THREADS : (int)ncpu;
	return nt > batch ? batch : nt;
}

/* Positions of the longest story (its tokens but the last). */
static int longest_story(const struct qtokens *tk)
{
	int S = 1;

	for (uint32_t i = 0; i < tk->n; i++)
		if (tk->len[i] - 1 > S)
			S = tk->len[i] - 1;
	return S;
}

static void train_free(struct qtrain *r)
{
	for (int t = 0; t < QT_MAX_THREADS; t++)
		tws_free(&r->w[t]);
	for (int b = 0; r->g && b < r->batch; b++)
		qprep_free(&r->g[b]);
	free(r->g);
	free(r->kls);
	tlin_free(r->tl);
	free(r->tl);
	qprep_free(&r->teacher);
	qprep_free(&r->st);
	qprep_free(&r->m);
	qprep_free(&r->v);
	free(r->order);
}

/* The teacher (@ref, or @p itself), the student and every buffer. */
static int train_alloc(struct qtrain *r, const struct qprep *p, const struct qprep *ref,
		       const struct qtune_scales *sc, const struct qtokens *tk, int S)
{
	int ret;

	r->order = malloc(tk->n * sizeof(*r->order));
	r->tl = calloc(INPU_QM_MAX_LAYERS, sizeof(*r->tl));
	ret = r->order && r->tl ? tlin_new(p, sc, r->tl) : -ENOMEM;
	if (!ret)
		ret = qprep_copy(ref ? ref : p, &r->teacher);
	if (!ret)
		ret = qprep_copy(p, &r->st);
	if (!ret) {
		r->g = calloc((size_t)r->batch, sizeof(*r->g));
		r->kls = calloc((size_t)r->batch, sizeof(*r->kls));
		ret = r->g && r->kls ? 0 : -ENOMEM;
	}
	for (int b = 0; b < r->batch && !ret; b++)
		ret = qtune_grad_alloc(p, &r->g[b]);
	if (!ret)
		ret = qtune_grad_alloc(p, &r->m);
	if (!ret)
		ret = qtune_grad_alloc(p, &r->v);
	for (int t = 0; t < r->nt && !ret; t++)
		ret = tws_new(p, S, &r->w[t]);
	return ret;
}

/* Fisher-Yates with the run's generator: the order of the next pass. */
static void shuffle(uint32_t *order, uint32_t n, uint64_t *seed)
{
	for (uint32_t i = n - 1; i > 0; i--) {
		uint32_t j = (uint32_t)(qrand_next(seed) % (i + 1));
		uint32_t t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
}

/* Adam on the weights, the norms and the log channel scales (g[0]). */
static void train_update(struct qtrain *r, struct qprep *p,
			 const struct qtune_opts *o, double cosw)
{
	r->c1 *= 0.9;
	r->c2 *= 0.999;
	for (int i = 0; i < P_N; i++)
		adam(*pslot(p, i), *pslot(&r->g[0], i), *pslot(&r->m, i), *pslot(&r->v, i),
		     psize(p, i), cosw * (i >= P_GATT ? o->norm_lr : o->lr),
		     1.0 - r->c1, 1.0 - r->c2);
	for (int l = 0; l < p->n_layers && !o->pow2; l++)
		for (int li = 0; li < 4; li++) {
			struct tlin *t = &r->tl[l][li];
			int n, k;

			qprep_layer(p, l, li, &n, &k);
			adam(t->th, t->gth, t->mth, t->vth, (size_t)n, cosw * o->scale_lr,
			     1.0 - r->c1, 1.0 - r->c2);
		}
}

/*
 * One step on stories b0.. of the order (a batch, or what is left):
 * round, gradients, Adam.  Returns their KL summed, their tokens in @ntok.
 */
static double train_step(struct qtrain *r, struct qprep *p, const struct qtokens *tk,
			 const struct qtune_opts *o, struct qtune_scales *sc,
			 uint32_t b0, uint64_t *ntok)
{
	uint32_t batch = (uint32_t)r->batch;
	uint32_t be = b0 + batch < tk->n ? b0 + batch : tk->n;
	uint64_t btok = 0;
	double cosw = 0.5 * (1.0 + cos(3.14159265358979323846 * r->step / r->steps));
	struct qjob job;
	double kl;

	fake_quantize(p, &r->st, sc, r->tl);
	for (uint32_t b = b0; b < be; b++)
		btok += (uint64_t)(tk->len[r->order[b]] - 1);
	job = (struct qjob){
		.teacher = &r->teacher, .st = &r->st, .tk = tk, .order = r->order,
		.act = o->act_scale, .b0 = b0, .be = be,
		.scale = 1.0f / (float)(btok ? btok : 1), .g = r->g, .kl = r->kls,
	};
	kl = step_grads(&job, r->w, r->nt);
	*ntok = btok;
	ste(p, &r->g[0], sc, r->tl);
	train_update(r, p, o, cosw);
	if (o->progress)
		o->progress(o->progress_ctx, "fine-tuning",
			    (uint64_t)r->step + 1, (uint64_t)r->steps);
	r->step++;
	return kl;
}

int qtune_run(struct qprep *p, const struct qprep *ref, const struct qtokens *tk,
	      const struct qtune_opts *o, struct qtune_scales *sc, double *kl_first,
	      double *kl_last)
{
	struct qtrain r;
	int S, ret;

	memset(&r, 0, sizeof(r));
	qpar_blas_init();
	r.batch = o->batch > 0 ? o->batch : 1;
	r.nt = train_threads(o, r.batch);
	r.seed = 0x9e3779b97f4a7c15ull;
	r.c1 = r.c2 = 1.0;
	*kl_first = *kl_last = 0.0;
	if (!sc->s[0][0]) {
		ret = scales_init(p, o, sc);
		if (ret)
			return ret;
	}
	S = longest_story(tk);
	if (!tk->n || o->epochs <= 0)
		return 0;
	r.steps = o->epochs * (int)((tk->n + (uint32_t)r.batch - 1) / (uint32_t)r.batch);
	ret = train_alloc(&r, p, ref, sc, tk, S);
	if (ret)
		goto out;
	for (uint32_t i = 0; i < tk->n; i++)
		r.order[i] = i;
	for (int ep = 0; ep < o->epochs; ep++) {
		double kl = 0.0;
		uint64_t ntok = 0;

		shuffle(r.order, tk->n, &r.seed);
		for (uint32_t b0 = 0; b0 < tk->n; b0 += (uint32_t)r.batch) {
			uint64_t btok;

			kl += train_step(&r, p, tk, o, sc, b0, &btok);
			ntok += btok;
		}
		if (ntok) {
			if (ep == 0)
				*kl_first = kl / (double)ntok;
			*kl_last = kl / (double)ntok;
		}
	}
	/* the grid the last step trained is the one the quantizer uses */
	fake_quantize(p, &r.st, sc, r.tl);
out:
	train_free(&r);
	if (ret)
		qtune_scales_free(sc);
	return ret;
}
