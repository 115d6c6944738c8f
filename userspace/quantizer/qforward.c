/* SPDX-License-Identifier: MIT */
/*
 * The calibration forward pass over whole stories (offline, floating
 * point): every linear layer is one matrix product over the story's T
 * tokens (cblas_sgemm), causal attention per head two more, and the
 * observers of every quantized activation look at the T rows at once.
 * Token by token the same work was matrix-vector loops at a fraction of
 * the machine's speed.
 *
 * Stories run in parallel (qpar.c).  Per-channel maxima are combined with
 * max and every sampled row has one writer, so neither depends on the
 * order; X^T X (GPTQ) is a sum, so each story's share is computed on its
 * own and added in story order.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "model.h"
#include "ppl.h"
#include "dot.h"
#include "quant_internal.h"

/* Logit rows per product: bounds the [rows][vocab] buffer (NLL). */
#define LOGIT_ROWS 64
/*
 * Classifier rows per product when only the largest logit is wanted: all
 * T rows against a block of the classifier that stays in cache; row
 * blocks against the whole classifier would read it from memory again
 * for every block.
 */
#define LOGIT_COLS 2048

/* One worker's story buffers ([T][width] each) and its observations. */
struct fbatch {
	float *x, *xb, *qkv, *att, *y, *hb, *h, *sc, *logits;
	double *xd, *hs;	/* a site's rows in double, their X^T X */
	float **chmax;		/* [sites] this worker's maxima */
	double res_max, logit_max;
};

struct frun {
	const struct qprep *p;
	const struct qtokens *tk;
	struct qcalib *c;		/* NULL: logits (NLL) only */
	uint64_t *t0;			/* [n] run index of each story's first token */
	uint64_t stride;
	uint32_t row0;			/* c->n_sample when the run started */
	double *nll;			/* [n] NLL summed per story, or NULL */
	struct fbatch *w;		/* [workers] */
	int nsites;
	uint32_t *next;			/* [sites] story whose X^T X goes in next */
	uint32_t done;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	void (*progress)(void *, const char *, uint64_t, uint64_t);
	void *pctx;
	const char *stage;
};

static void fbatch_free(struct fbatch *b, int nsites)
{
	free(b->x);
	free(b->xb);
	free(b->qkv);
	free(b->att);
	free(b->y);
	free(b->hb);
	free(b->h);
	free(b->sc);
	free(b->logits);
	free(b->xd);
	free(b->hs);
	for (int i = 0; b->chmax && i < nsites; i++)
		free(b->chmax[i]);
	free(b->chmax);
}

static float *fbuf(size_t rows, size_t width)
{
	return malloc((rows ? rows : 1) * (width ? width : 1) * sizeof(float));
}

/* Buffers for stories of up to @T tokens; Hessian room if @c has any. */
static int fbatch_new(const struct frun *r, int T, struct fbatch *b)
{
	const struct qprep *p = r->p;
	size_t t = (size_t)T, d = (size_t)p->dim, h = (size_t)p->hidden;
	size_t wmax = h > d ? h : d;
	int hess = r->c && r->c->site[r->nsites - 1].hess;

	memset(b, 0, sizeof(*b));
	b->x = fbuf(t, d);
	b->xb = fbuf(t, d);
	b->qkv = fbuf(t, (size_t)p->nqkv);
	b->att = fbuf(t, d);
	b->y = fbuf(t, d);
	b->hb = fbuf(t, 2 * h);
	b->h = fbuf(t, h);
	b->sc = fbuf(t, t);
	b->logits = fbuf(1, LOGIT_ROWS * (size_t)p->vocab > t * LOGIT_COLS ?
			 LOGIT_ROWS * (size_t)p->vocab : t * LOGIT_COLS);
	if (!b->x || !b->xb || !b->qkv || !b->att || !b->y || !b->hb || !b->h ||
	    !b->sc || !b->logits)
		return -ENOMEM;
	if (hess) {
		b->xd = malloc(t * wmax * sizeof(double) + 1);
		b->hs = malloc(wmax * wmax * sizeof(double));
		if (!b->xd || !b->hs)
			return -ENOMEM;
	}
	if (!r->c)
		return 0;
	b->chmax = calloc((size_t)r->nsites, sizeof(*b->chmax));
	if (!b->chmax)
		return -ENOMEM;
	for (int i = 0; i < r->nsites; i++) {
		b->chmax[i] = calloc((size_t)r->c->site[i].width, sizeof(float));
		if (!b->chmax[i])
			return -ENOMEM;
	}
	return 0;
}

static int site_index(const struct frun *r, int l, int s)
{
	return l < 0 ? r->nsites - 1 : l * S_PER_LAYER + s;
}

/* The sample row of token @pos of @story (qcalib_run's rule), or -1. */
static long sample_row(const struct frun *r, uint32_t story, int pos)
{
	uint64_t t = r->t0[story] + (uint64_t)pos, row;

	if (t % r->stride != r->stride / 2)
		return -1;
	row = r->row0 + t / r->stride;
	return row < r->c->cap ? (long)row : -1;
}

/*
 * Record the @T rows of @v (row stride @ld) at site (@l, @s): channel
 * maxima, and with @samples the rows that are sampled.
 */
static void observe_rows(struct frun *r, struct fbatch *b, uint32_t story, int l,
			 int s, const float *v, int ld, int T, int samples)
{
	int si = site_index(r, l, s);
	struct qsite *st = &r->c->site[si];
	float *mx = b->chmax[si];

	for (int t = 0; t < T; t++) {
		const float *vr = v + (size_t)t * (size_t)ld;
		long row = samples ? sample_row(r, story, t) : -1;

		for (int i = 0; i < st->width; i++) {
			float a = fabsf(vr[i]);

			if (a > mx[i])
				mx[i] = a;
		}
		if (row >= 0 && st->sample)
			memcpy(st->sample + (size_t)row * (size_t)st->width, vr,
			       (size_t)st->width * sizeof(float));
	}
}

/*
 * Add this story's X^T X (lower triangle, double) into the site's
 * Hessian after every earlier story's: the sum's order is the stories'
 * order whatever the thread count.
 */
static void hess_add(struct frun *r, struct fbatch *b, uint32_t story, int si,
		     const float *v, int ld, int T)
{
	struct qsite *st = &r->c->site[si];
	size_t w = (size_t)st->width;

	if (!st->hess)
		return;
	if (T > 0) {
		for (size_t t = 0; t < (size_t)T; t++)
			for (size_t j = 0; j < w; j++)
				b->xd[t * w + j] = v[t * (size_t)ld + j];
		cblas_dsyrk(CblasRowMajor, CblasLower, CblasTrans, (int)w, T, 1.0,
			    b->xd, (int)w, 0.0, b->hs, (int)w);
	}
	pthread_mutex_lock(&r->mu);
	while (r->next[si] != story)
		pthread_cond_wait(&r->cv, &r->mu);
	pthread_mutex_unlock(&r->mu);
	for (size_t i = 0; T > 0 && i < w; i++)
		for (size_t j = 0; j <= i; j++)
			st->hess[i * w + j] += b->hs[i * w + j];
	pthread_mutex_lock(&r->mu);
	r->next[si]++;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

/* Observe, and for the inputs of linear layers add X^T X. */
static void observe_in(struct frun *r, struct fbatch *b, uint32_t story, int l,
		       int s, const float *v, int ld, int T)
{
	if (!r->c)
		return;
	observe_rows(r, b, story, l, s, v, ld, T, 1);
	hess_add(r, b, story, site_index(r, l, s), v, ld, T);
}

/* Y[T][n] = X[T][k] . W[n][k]^T */
static void linear(float *y, const float *x, const float *w, int T, int n, int k)
{
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, n, k, 1.0f, x, k,
		    w, k, 0.0f, y, n);
}

static void residual_add(struct fbatch *b, int dim, int T)
{
	for (size_t i = 0; i < (size_t)T * (size_t)dim; i++) {
		b->x[i] += b->y[i];
		if (fabs((double)b->x[i]) > b->res_max)
			b->res_max = fabs((double)b->x[i]);
	}
}

/* Rotate q and k of every row by its position. */
static void rope_rows(const struct qprep *p, struct fbatch *b, int T)
{
	int hs = p->hs;

	for (int t = 0; t < T; t++) {
		const float *rc = p->rope_cos + (size_t)t * (size_t)hs / 2;
		const float *rs = p->rope_sin + (size_t)t * (size_t)hs / 2;
		float *v = b->qkv + (size_t)t * (size_t)p->nqkv;

		for (int i = 0; i < p->dim + p->kv; i += 2) {
			float fcr = rc[(i % hs) / 2], fci = rs[(i % hs) / 2];
			float v0 = v[i], v1 = v[i + 1];

			v[i] = v0 * fcr - v1 * fci;
			v[i + 1] = v0 * fci + v1 * fcr;
		}
	}
}

/* Causal softmax of the [T][T] scores, in place; the future set to 0. */
static void causal_softmax(float *sc, int T)
{
	for (int i = 0; i < T; i++) {
		float *row = sc + (size_t)i * (size_t)T, mx = -INFINITY, sum = 0.0f;

		for (int j = 0; j <= i; j++)
			if (row[j] > mx)
				mx = row[j];
		for (int j = 0; j <= i; j++) {
			row[j] = expf(row[j] - mx);
			sum += row[j];
		}
		for (int j = 0; j <= i; j++)
			row[j] /= sum;
		for (int j = i + 1; j < T; j++)
			row[j] = 0.0f;
	}
}

/* Every head over the story: att[T][dim] = softmax(q k^T) v. */
static void attend_rows(const struct qprep *p, struct fbatch *b, int T)
{
	int hs = p->hs, nq = p->nqkv, group = p->n_heads / p->n_kv_heads;

	if (T == 0)	/* a one-token story: nothing to predict */
		return;
	for (int h = 0; h < p->n_heads; h++) {
		const float *q = b->qkv + (size_t)h * (size_t)hs;
		const float *k = b->qkv + p->dim + (size_t)(h / group) * (size_t)hs;
		const float *v = k + p->kv;

		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, hs, 1.0f,
			    q, nq, k, nq, 0.0f, b->sc, T);
		causal_softmax(b->sc, T);
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, hs, T, 1.0f,
			    b->sc, T, v, nq, 0.0f, b->att + (size_t)h * (size_t)hs,
			    p->dim);
	}
}

/* The attention half of layer @l over the story. */
static void attention_block(struct frun *r, struct fbatch *b, uint32_t story,
			    int l, int T)
{
	const struct qprep *p = r->p;
	size_t lu = (size_t)l, d = (size_t)p->dim;
	int nq = p->nqkv;

	for (size_t t = 0; t < (size_t)T; t++)
		inpu_rmsnorm(b->xb + t * d, b->x + t * d, p->g_att + lu * d, p->dim,
			     p->norm_eps);
	observe_in(r, b, story, l, S_XA, b->xb, p->dim, T);
	linear(b->qkv, b->xb, p->wqkv + lu * (size_t)nq * d, T, nq, p->dim);
	if (r->c) {
		/* q and k: the maxima before RoPE too, the samples after */
		observe_rows(r, b, story, l, S_Q, b->qkv, nq, T, 0);
		observe_rows(r, b, story, l, S_K, b->qkv + d, nq, T, 0);
		observe_rows(r, b, story, l, S_V, b->qkv + d + p->kv, nq, T, 1);
	}
	rope_rows(p, b, T);
	if (r->c) {
		observe_rows(r, b, story, l, S_Q, b->qkv, nq, T, 1);
		observe_rows(r, b, story, l, S_K, b->qkv + d, nq, T, 1);
	}
	attend_rows(p, b, T);
	observe_in(r, b, story, l, S_ATT, b->att, p->dim, T);
	linear(b->y, b->att, p->wo + lu * d * d, T, p->dim, p->dim);
	residual_add(b, p->dim, T);
}

/* The FFN half of layer @l over the story. */
static void ffn_block(struct frun *r, struct fbatch *b, uint32_t story, int l, int T)
{
	const struct qprep *p = r->p;
	size_t lu = (size_t)l, d = (size_t)p->dim, hid = (size_t)p->hidden;

	for (size_t t = 0; t < (size_t)T; t++)
		inpu_rmsnorm(b->xb + t * d, b->x + t * d, p->g_ffn + lu * d, p->dim,
			     p->norm_eps);
	observe_in(r, b, story, l, S_XF, b->xb, p->dim, T);
	linear(b->hb, b->xb, p->w13 + lu * 2 * hid * d, T, 2 * p->hidden, p->dim);
	if (r->c) {
		observe_rows(r, b, story, l, S_GATE, b->hb, 2 * p->hidden, T, 1);
		observe_rows(r, b, story, l, S_UP, b->hb + hid, 2 * p->hidden, T, 1);
	}
	for (size_t t = 0; t < (size_t)T; t++) {
		const float *g = b->hb + t * 2 * hid, *u = g + hid;
		float *o = b->h + t * hid;

		for (size_t i = 0; i < hid; i++)
			o[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
	}
	observe_in(r, b, story, l, S_H, b->h, p->hidden, T);
	linear(b->y, b->h, p->w2 + lu * d * hid, T, p->dim, p->hidden);
	residual_add(b, p->dim, T);
}

/* The largest |logit| of the T rows of b->xb, by blocks of the classifier. */
static void logit_max_cols(const struct qprep *p, struct fbatch *b, int T)
{
	for (int v0 = 0; v0 < p->vocab; v0 += LOGIT_COLS) {
		int n = p->vocab - v0 < LOGIT_COLS ? p->vocab - v0 : LOGIT_COLS;

		linear(b->logits, b->xb, p->wcls + (size_t)v0 * (size_t)p->dim, T, n,
		       p->dim);
		for (size_t i = 0; i < (size_t)T * (size_t)n; i++)
			if (fabs((double)b->logits[i]) > b->logit_max)
				b->logit_max = fabs((double)b->logits[i]);
	}
}

/* Final norm and classifier: logit maxima, and the NLL of the next tokens. */
static void head_block(struct frun *r, struct fbatch *b, uint32_t story, int T)
{
	const struct qprep *p = r->p;
	const int *tok = r->tk->story[story];
	size_t d = (size_t)p->dim, V = (size_t)p->vocab;
	double nll = 0.0;

	for (size_t t = 0; t < (size_t)T; t++)
		inpu_rmsnorm(b->xb + t * d, b->x + t * d, p->g_fin, p->dim, p->norm_eps);
	observe_in(r, b, story, -1, 0, b->xb, p->dim, T);
	if (r->c && r->c->no_logits)	/* the classifier is most of the work */
		return;
	if (!r->nll) {
		logit_max_cols(p, b, T);
		return;
	}
	for (int t0 = 0; t0 < T; t0 += LOGIT_ROWS) {
		int m = T - t0 < LOGIT_ROWS ? T - t0 : LOGIT_ROWS;

		linear(b->logits, b->xb + (size_t)t0 * d, p->wcls, m, p->vocab, p->dim);
		for (size_t i = 0; r->c && i < (size_t)m * V; i++)
			if (fabs((double)b->logits[i]) > b->logit_max)
				b->logit_max = fabs((double)b->logits[i]);
		for (int i = 0; r->nll && i < m; i++)
			nll += inpu_nll(b->logits + (size_t)i * V, p->vocab, tok[t0 + i + 1]);
	}
	if (r->nll)
		r->nll[story] = nll;
}

/* One story: its tokens but the last, at positions 0..T-1. */
static void story_forward(struct frun *r, struct fbatch *b, uint32_t story)
{
	const struct qprep *p = r->p;
	const int *tok = r->tk->story[story];
	int T = r->tk->len[story] - 1;
	size_t d = (size_t)p->dim;

	if (T < 0)
		T = 0;
	for (size_t t = 0; t < (size_t)T; t++) {
		memcpy(b->x + t * d, p->emb + (size_t)tok[t] * d, d * sizeof(float));
		for (size_t i = 0; i < d; i++)
			if (fabs((double)b->x[t * d + i]) > b->res_max)
				b->res_max = fabs((double)b->x[t * d + i]);
	}
	for (int l = 0; l < p->n_layers; l++) {
		attention_block(r, b, story, l, T);
		ffn_block(r, b, story, l, T);
	}
	head_block(r, b, story, T);
}

static void story_item(void *ctx, uint32_t story, int worker)
{
	struct frun *r = ctx;

	story_forward(r, &r->w[worker], story);
	pthread_mutex_lock(&r->mu);
	r->done++;
	if (r->progress)
		r->progress(r->pctx, r->stage, r->done, r->tk->n);
	pthread_mutex_unlock(&r->mu);
}

/* Every story through the model on the worker threads. */
static int frun_all(struct frun *r)
{
	const struct qtokens *tk = r->tk;
	int nw = qpar_workers(tk->n), T = 1, ret = 0;
	uint64_t t = 0;

	r->nsites = r->p->n_layers * S_PER_LAYER + 1;
	r->t0 = malloc((tk->n ? tk->n : 1) * sizeof(*r->t0));
	r->next = calloc((size_t)r->nsites, sizeof(*r->next));
	r->w = calloc((size_t)nw, sizeof(*r->w));
	if (!r->t0 || !r->next || !r->w)
		ret = -ENOMEM;
	for (uint32_t i = 0; !ret && i < tk->n; i++) {
		r->t0[i] = t;
		t += tk->len[i] > 1 ? (uint64_t)(tk->len[i] - 1) : 0;
		if (tk->len[i] - 1 > T)
			T = tk->len[i] - 1;
	}
	for (int i = 0; !ret && i < nw; i++)
		ret = fbatch_new(r, T, &r->w[i]);
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	if (!ret)
		qpar_for(tk->n, story_item, r);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	return ret;
}

static void frun_free(struct frun *r, int nw)
{
	for (int i = 0; r->w && i < nw; i++)
		fbatch_free(&r->w[i], r->nsites);
	free(r->w);
	free(r->t0);
	free(r->next);
}

/* The workers' observations into @c: maxima by max, samples counted. */
static void frun_merge(struct frun *r, int nw, uint64_t tokens)
{
	struct qcalib *c = r->c;
	uint64_t s2 = r->stride / 2, n;

	for (int w = 0; w < nw; w++) {
		struct fbatch *b = &r->w[w];

		for (int i = 0; i < r->nsites; i++)
			for (int j = 0; j < c->site[i].width; j++)
				if (b->chmax[i][j] > c->site[i].chmax[j])
					c->site[i].chmax[j] = b->chmax[i][j];
		if (b->res_max > c->res_max)
			c->res_max = b->res_max;
		if (b->logit_max > c->logit_max)
			c->logit_max = b->logit_max;
	}
	n = tokens > s2 ? (tokens - s2 + r->stride - 1) / r->stride : 0;
	c->n_sample = c->n_sample + n < c->cap ? c->n_sample + (uint32_t)n : c->cap;
	c->tokens = tokens;
}

int qcalib_run(const struct qprep *p, const struct qtokens *tk,
	       uint64_t stride, struct qcalib *c,
	       void (*progress)(void *, const char *, uint64_t, uint64_t),
	       void *pctx, const char *stage)
{
	struct frun r = {
		.p = p, .tk = tk, .c = c, .stride = stride ? stride : 1,
		.row0 = c->n_sample, .progress = progress, .pctx = pctx,
		.stage = stage,
	};
	int nw = qpar_workers(tk->n), ret = frun_all(&r);

	if (!ret)
		frun_merge(&r, nw, tk->total);
	frun_free(&r, nw);
	return ret;
}

double qcalib_nll(const struct qprep *p, const struct qtokens *tk,
		  uint32_t max_stories)
{
	struct qtokens head = *tk;
	struct frun r = { .p = p, .tk = &head, .stride = 1 };
	double nll = 0.0;
	uint64_t n = 0;
	int nw, ret;

	if (max_stories && max_stories < head.n)
		head.n = max_stories;
	nw = qpar_workers(head.n);
	r.nll = calloc(head.n ? head.n : 1, sizeof(*r.nll));
	ret = r.nll ? frun_all(&r) : -ENOMEM;
	for (uint32_t i = 0; !ret && i < head.n; i++) {
		nll += r.nll[i];
		n += head.len[i] > 1 ? (uint64_t)(head.len[i] - 1) : 0;
	}
	frun_free(&r, nw);
	free(r.nll);
	if (ret)
		return -1.0;
	return n ? nll / (double)n : 0.0;
}
