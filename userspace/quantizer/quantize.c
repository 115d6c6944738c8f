// SPDX-License-Identifier: MIT
/*
 * The quantizer (offline, floating point): calibration on the calibration
 * text, SmoothQuant scale migration, weight rounding (round-to-nearest or
 * GPTQ), every scale and rescale, and the integer model.  QUANT.md
 * derives each formula used here.
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <inpu/inpu_fw.h>

#include <cblas.h>
#include <lapacke.h>

#include "inpu_engine.h"
#include "tables_gen.h"
#include "tokenizer.h"
#include "model.h"
#include "qmodel.h"
#include "requant.h"
#include "quantize.h"
#include "util.h"
#include "quant_internal.h"

/* Residual stream: the calibration max maps to at most 2^RESID_BITS. */
#define RESID_BITS	24
/* int16 outputs of w1 and w3 keep this much headroom over the max. */
#define I16_HEADROOM	2.0
/* q, k, v leave the qkv MATMUL as int16 at 1/2^QKV_SHIFT of their int8 scale. */
#define QKV_SHIFT	7
/*
 * Calibration stories the mixed-precision sensitivity is measured on: 16,
 * fewer (at least 2) where the 4 L + 1 forward passes over them would
 * take more than SENS_MACS multiply-accumulates, about a minute at the
 * 80 G MAC/s the float pass reached on this 2-core machine (stories110M's
 * shape: 860 s with 16 stories).
 */
#define SENS_STORIES	16
#define SENS_MIN_STORIES 2
#define SENS_MACS	5e12
/* Tokens of the calibration sample used by the smoothing search. */
#define SEARCH_TOKENS	1024

void inpu_quant_opts_default(struct inpu_quant_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->scheme = INPU_QS_W8A8;
	o->smooth = 2;
	o->alpha = 0.5;
	o->act_range = INPU_RANGE_MSE;
	o->act_dyn = INPU_ACT_AUTO;
	o->key16 = 1;
	o->pct = 99.99;
	o->n_sample = 4096;
	o->gptq_damp = 0.01;
	o->ft_batch = 4;
	o->ft_lr = 2.5e-4;
	/*
	 * Measured best for W4A8 (README.md): groups of 16, scale and zero
	 * point as 4-bit codes, the most sensitive layers in 8 bits within
	 * the 5 bits per weight of byte scales and zero points.
	 */
	o->w4_group = INPU_W4_GROUP_SMALL;
	o->w4_zero = 1;
	o->w4_codes = 1;
	o->avg_bits = INPU_W4_AVG_BITS;
}

double inpu_quant_w4_bits(const struct inpu_quant_opts *o)
{
	int grp = o->w4_group ? o->w4_group : INPU_W4_GROUP;
	int zero_bytes = o->w4_zero && !o->w4_codes;

	return 4.0 + 8.0 * (1 + zero_bytes) / grp;
}

int inpu_quant_mixes(const struct inpu_quant_opts *o)
{
	return o->scheme == INPU_QS_W4A8 && o->avg_bits > inpu_quant_w4_bits(o);
}

/*
 * Parameters outside the embedding table (the classifier counted) of @L
 * layers of width @d, key/value width @kv and FFN width @h, @vocab tokens.
 */
static uint64_t linear_params(uint64_t L, uint64_t d, uint64_t kv, uint64_t h,
			      uint64_t vocab)
{
	return L * (d * (d + 2 * kv) + d * d + 3 * d * h) + d * vocab;
}

static uint64_t body_params(const struct inpu_model_config *c)
{
	uint64_t d = (uint64_t)c->dim;
	uint64_t kv = c->n_heads ? d * (uint64_t)c->n_kv_heads / (uint64_t)c->n_heads : d;

	return linear_params((uint64_t)c->n_layers, d, kv, (uint64_t)c->hidden_dim,
			     (uint64_t)c->vocab_size);
}

int inpu_quant_auto_method(const struct inpu_model_config *c,
			   struct inpu_quant_opts *o)
{
	if (o->ft_epochs != INPU_FT_AUTO)
		return 0;
	o->ft_epochs = 0;
	if (o->scheme != INPU_QS_W4A8)
		return 0;
	if (body_params(c) <= INPU_FT_AUTO_MAX_PARAMS) {
		o->ft_epochs = INPU_FT_AUTO_EPOCHS;
		return 0;
	}
	o->gptq = 1;
	return 1;
}

/* ---- helpers --------------------------------------------------------------------- */

static double pow2_up(double v)
{
	int e;
	double f = frexp(v, &e);	/* v = f 2^e, f in [0.5, 1) */

	return f == 0.5 ? v : ldexp(1.0, e);
}

static int clampi(long v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : (int)v;
}

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return x < y ? -1 : x > y;
}

/*
 * Sum of squared int8 quantization errors of @v at scale @s.  The clip
 * searches call this for every candidate over the whole sample, so it is
 * written to vectorize: rounding by adding and subtracting 1.5 * 2^52
 * (round to nearest, ties to even, as nearbyint, for |x| < 2^51; here
 * |x| <= 127 / 0.3) instead of a libm call, and four partial sums in a
 * fixed order, so every build (SSE2 or AVX2 clone) gives the same bits.
 */
__attribute__((target_clones("avx2", "default")))
static double q8_err(const float *v, size_t n, double s)
{
	const double magic = 6755399441055744.0;
	double e[4] = { 0.0, 0.0, 0.0, 0.0 }, inv = 1.0 / s;
	size_t i = 0;

	for (; i + 4 <= n; i += 4) {
		for (int l = 0; l < 4; l++) {
			double q = (v[i + l] * inv + magic) - magic;

			q = q > 127.0 ? 127.0 : q < -127.0 ? -127.0 : q;
			q = v[i + l] - q * s;
			e[l] += q * q;
		}
	}
	for (; i < n; i++) {
		double q = (v[i] * inv + magic) - magic;

		q = q > 127.0 ? 127.0 : q < -127.0 ? -127.0 : q;
		q = v[i] - q * s;
		e[0] += q * q;
	}
	return (e[0] + e[1]) + (e[2] + e[3]);
}

/*
 * The int8 scale of an activation: from the max over all calibration
 * tokens (@mx) or from the @n values of @v (the sample), by @o->act_range.
 */
static double act_scale8(const float *v, size_t n, double mx,
			 const struct inpu_quant_opts *o)
{
	double s, best, be;

	if (!(mx > 0.0))
		return 1.0;
	if (o->act_range == INPU_RANGE_PCT && n) {
		float *a = malloc(n * sizeof(*a));
		size_t k;

		if (a) {
			for (size_t i = 0; i < n; i++)
				a[i] = fabsf(v[i]);
			qsort(a, n, sizeof(*a), cmp_float);
			k = (size_t)floor(o->pct / 100.0 * (double)(n - 1));
			if (a[k] > 0.0f)
				mx = a[k];
			free(a);
		}
	}
	if (o->act_range != INPU_RANGE_MSE || !n) {
		s = mx / 127.0;
		return o->pow2 ? pow2_up(s) : s;
	}
	/* MSE: clip ratios 0.30 .. 1.00 of the max (powers of two: 3 steps) */
	if (o->pow2) {
		best = pow2_up(mx / 127.0);
		be = q8_err(v, n, best);
		for (int k = 1; k <= 3; k++) {
			double c = pow2_up(mx / 127.0) / (double)(1 << k);
			double e = q8_err(v, n, c);

			if (e < be) {
				be = e;
				best = c;
			}
		}
		return best;
	}
	best = mx / 127.0;
	be = q8_err(v, n, best);
	for (int k = 1; k < 36; k++) {
		double c = mx * (1.0 - 0.02 * k) / 127.0;
		double e = q8_err(v, n, c);

		if (e < be) {
			be = e;
			best = c;
		}
	}
	return best;
}

/*
 * Round @t rows of @k activations to int8 as the graph does: at the static
 * scale @s, or with @s = 0 per row at the row's own scale (max |x| / 127,
 * the device's I8ROW; the int16 step before it is left out).
 */
static void fake_quant8(float *x, uint32_t t, int k, double s)
{
	for (uint32_t r = 0; r < t; r++) {
		float *row = x + (size_t)r * k;
		double sr = s, mx = 0.0;

		if (!(sr > 0.0)) {
			for (int j = 0; j < k; j++)
				if (fabsf(row[j]) > mx)
					mx = fabsf(row[j]);
			if (!(mx > 0.0))
				continue;
			sr = mx / 127.0;
		}
		for (int j = 0; j < k; j++)
			row[j] = (float)(clampi(lround(row[j] / sr), -127, 127) * sr);
	}
}

static double vmax(const float *v, size_t n)
{
	double m = 0.0;

	for (size_t i = 0; i < n; i++)
		if (fabsf(v[i]) > m)
			m = fabsf(v[i]);
	return m;
}

/* ---- weights ----------------------------------------------------------------------- */

struct qweight {
	int n, k, w4;
	int8_t *q;		/* [n][k]: int8, or int4 values -8..7 */
	uint8_t *gs;		/* W4: [n][ng] group scales 1..255 */
	int8_t *z;		/* W4 with zero points: [n][ng] in -8..7, else NULL */
	int grp;		/* W4: inputs per group (32 or 16) */
	int ng;			/* groups per row (k / grp rounded up) */
	int codes;		/* W4: gs one of the 16 levels of INPU_W4_GFMT_CODES */
	double *scale;		/* [n] channel scale */
};

/* The W4 format the options ask for: group size, zero points, codes. */
struct w4fmt {
	int group, zero, codes;
};

static struct w4fmt opts_fmt(const struct inpu_quant_opts *o)
{
	struct w4fmt f = { o->w4_group ? o->w4_group : INPU_W4_GROUP,
			   o->w4_zero || o->w4_codes, o->w4_codes };

	return f;
}

static void qweight_free(struct qweight *w)
{
	free(w->q);
	free(w->gs);
	free(w->z);
	free(w->scale);
	memset(w, 0, sizeof(*w));
}

static int qweight_alloc(struct qweight *w, int n, int k, int w4, struct w4fmt f)
{
	memset(w, 0, sizeof(*w));
	w->n = n;
	w->k = k;
	w->w4 = w4;
	w->grp = f.group;	/* int8 rows too: the tuned grids' shapes */
	w->ng = (k + w->grp - 1) / w->grp;
	w->codes = w4 && f.codes;
	w->q = calloc((size_t)n * (size_t)k, 1);
	w->scale = calloc((size_t)n, sizeof(double));
	w->gs = w4 ? calloc((size_t)n * (size_t)w->ng, 1) : NULL;
	w->z = w4 && f.zero ? calloc((size_t)n * (size_t)w->ng, 1) : NULL;
	if (!w->q || !w->scale || (w4 && !w->gs) || (w4 && f.zero && !w->z)) {
		qweight_free(w);
		return -ENOMEM;
	}
	return 0;
}

/* Group scale and zero point of weight (i, j) (1 and 0 for int8 rows). */
static int qw_gs(const struct qweight *w, int i, int j)
{
	return w->w4 ? w->gs[(size_t)i * w->ng + j / w->grp] : 1;
}

static int qw_z(const struct qweight *w, int i, int j)
{
	return w->z ? w->z[(size_t)i * w->ng + j / w->grp] : 0;
}

/* The real value of weight (i, j). */
static double qw_real(const struct qweight *w, int i, int j)
{
	return (w->q[(size_t)i * w->k + j] - qw_z(w, i, j)) * w->scale[i] *
	       qw_gs(w, i, j);
}

/*
 * Channel scale of row @r: int8 per-channel, or the unit of the W4 group
 * scales (the largest group step is 255 units).
 */
static double row_scale(const float *r, const struct qweight *qw, int pow2)
{
	int k = qw->k;
	double s;

	if (!qw->w4) {
		s = vmax(r, (size_t)k) / 127.0;
	} else {
		double dmax = 0.0;

		for (int g = 0; g < k; g += qw->grp) {
			int e = g + qw->grp < k ? g + qw->grp : k;
			double d, lo = 0.0, hi = 0.0;

			for (int j = g; j < e; j++) {
				lo = r[j] < lo ? r[j] : lo;
				hi = r[j] > hi ? r[j] : hi;
			}
			d = qw->z ? (hi - lo) / 15.0 : (hi > -lo ? hi : -lo) / 7.0;
			if (d > dmax)
				dmax = d;
		}
		s = dmax / 255.0;
	}
	if (!(s > 0.0))
		return 1.0;	/* an all-zero row */
	return pow2 ? pow2_up(s) : s;
}

/*
 * Group scale (and with @z a zero point) for the values @v[0..n) of one
 * W4 group: the clip of the range (with @search) with the least squared
 * error.  Symmetric groups take q in -7..7 around 0 (and -8 when it is
 * nearer); with zero points the range [min(v, 0), max(v, 0)] is cut into
 * 15 steps and the zero point puts its low end at -8.
 */
/* Squared error of @n values on the grid (s, g, zero point zz). */
static double group_err(const float *v, int n, double s, int g, int zz)
{
	double e = 0.0;

	for (int j = 0; j < n; j++) {
		double q = (qround(v[j], s, g, zz, 1) - zz) * g * s - v[j];

		e += q * q;
	}
	return e;
}

/*
 * A group's scale among the 16 levels of INPU_W4_GFMT_CODES and its zero
 * point: the levels from half to 1.3 times the unclipped step (at least
 * the smallest level above it), each with the zero points that put the
 * low or the high end of the range on the grid's ends (and their
 * neighbours); the least squared error wins.
 */
static int w4_fit_codes(const float *v, int n, double s, double lo, double hi,
			int8_t *z)
{
	double step = (hi - lo) / 15.0 / s, be = DBL_MAX;
	int best = inpu_w4_gs_level(0), bz = 0, above = 0;

	for (int c = 0; c < 16; c++) {
		int g = inpu_w4_gs_level((unsigned int)c), zc[6];

		if ((g < 0.5 * step || g > 1.3 * step) && !(g >= step && !above))
			continue;
		above |= g >= step;
		zc[0] = (int)lround(-lo / (g * s)) - 8;
		zc[3] = 7 - (int)lround(hi / (g * s));
		for (int i = 0; i < 2; i++) {
			zc[3 * i + 1] = zc[3 * i] - 1;
			zc[3 * i + 2] = zc[3 * i] + 1;
		}
		for (int i = 0; i < 6; i++) {
			int zz = clampi(zc[i], -8, 7);
			double e = group_err(v, n, s, g, zz);

			if (e < be) {
				be = e;
				best = g;
				bz = zz;
			}
		}
	}
	*z = (int8_t)bz;
	return best;
}

static int w4_group_fit(const float *v, int n, double s, int search, int8_t *z,
			int codes)
{
	double lo = 0.0, hi = 0.0, be = DBL_MAX;
	int best = 1, bz = 0;

	for (int j = 0; j < n; j++) {
		lo = v[j] < lo ? v[j] : lo;
		hi = v[j] > hi ? v[j] : hi;
	}
	if (codes)
		return w4_fit_codes(v, n, s, lo, hi, z);
	for (int k = 0; k < (search ? (z ? 16 : 8) : 1); k++) {
		double r = 1.0 - (z ? 0.025 : 0.05) * k, e;
		int g, zz = 0;

		if (z) {
			g = clampi(lround((hi - lo) * r / 15.0 / s), 1, 255);
			zz = clampi(lround(-lo * r / (g * s)) - 8, -8, 7);
		} else {
			g = clampi(lround((hi > -lo ? hi : -lo) * r / 7.0 / s), 1, 255);
		}
		e = group_err(v, n, s, g, zz);
		if (e < be) {
			be = e;
			best = g;
			bz = zz;
		}
	}
	if (z)
		*z = (int8_t)bz;
	return best;
}

/* The group scales (and zero points) of row @i of @qw from its float values @r. */
static void fit_groups(const float *r, struct qweight *qw, int i)
{
	for (int g = 0; g < qw->ng && qw->w4; g++) {
		int j0 = g * qw->grp;
		int n = qw->k - j0 < qw->grp ? qw->k - j0 : qw->grp;
		size_t o = (size_t)i * qw->ng + g;

		qw->gs[o] = (uint8_t)w4_group_fit(r + j0, n, qw->scale[i], 1,
						  qw->z ? qw->z + o : NULL,
						  qw->codes);
	}
}

/* Every weight rounded on the grid already in @qw (scale, gs, z): qround. */
static void round_on_grid(const float *w, struct qweight *qw)
{
	for (int i = 0; i < qw->n; i++)
		for (int j = 0; j < qw->k; j++)
			qw->q[(size_t)i * qw->k + j] =
				(int8_t)qround(w[(size_t)i * qw->k + j], qw->scale[i],
					       qw_gs(qw, i, j), qw_z(qw, i, j), qw->w4);
}

/* The float values of every weight of @qw into @out ([n][k]). */
static void dequant(const struct qweight *qw, float *out)
{
	for (int i = 0; i < qw->n; i++)
		for (int j = 0; j < qw->k; j++)
			out[(size_t)i * qw->k + j] = (float)qw_real(qw, i, j);
}

/* Round-to-nearest: int8 per channel, or int4 with integer group scales. */
static void quant_rtn(const float *w, struct qweight *qw, int pow2)
{
	for (int i = 0; i < qw->n; i++) {
		const float *r = w + (size_t)i * qw->k;

		qw->scale[i] = row_scale(r, qw, pow2);
		fit_groups(r, qw, i);
	}
	round_on_grid(w, qw);
}

int inpu_quant_matrix_ex(const float *w, uint32_t n, uint32_t k, int w4,
			 int pow2, int group, int8_t *z, int8_t *q, uint8_t *gs,
			 double *scale)
{
	return qmatrix_rtn(w, n, k, w4, pow2, group, 0, z, q, gs, scale);
}

int qmatrix_rtn(const float *w, uint32_t n, uint32_t k, int w4, int pow2,
		int group, int codes, int8_t *z, int8_t *q, uint8_t *gs,
		double *scale)
{
	struct w4fmt f = { group ? group : INPU_W4_GROUP, z != NULL, codes };
	struct qweight qw;
	int ret;

	if (!n || !k || n > INPU_QM_MAX_DIM * 8 || k > INPU_QM_MAX_DIM * 8 ||
	    (w4 && !gs) || (!w4 && z) || (codes && !z) ||
	    (f.group != INPU_W4_GROUP && f.group != INPU_W4_GROUP_SMALL))
		return -EINVAL;
	ret = qweight_alloc(&qw, (int)n, (int)k, w4, f);
	if (ret)
		return ret;
	quant_rtn(w, &qw, pow2);
	memcpy(q, qw.q, (size_t)n * k);
	memcpy(scale, qw.scale, n * sizeof(double));
	if (w4)
		memcpy(gs, qw.gs, (size_t)n * (size_t)qw.ng);
	if (z)
		memcpy(z, qw.z, (size_t)n * (size_t)qw.ng);
	qweight_free(&qw);
	return 0;
}

int inpu_quant_matrix(const float *w, uint32_t n, uint32_t k, int w4,
		      int pow2, int8_t *q, uint8_t *gs, double *scale)
{
	return inpu_quant_matrix_ex(w, n, k, w4, pow2, INPU_W4_GROUP, NULL, q, gs,
				    scale);
}

/*
 * U, the upper Cholesky factor of H^-1 (H^-1 = U^T U), which GPTQ uses:
 * LAPACK's Cholesky factor of H, the inverse from it, and that inverse's
 * factor (single-threaded, qpar_blas_init).  A row-major symmetric matrix
 * is its own column-major view, and a column-major lower factor L is the
 * row-major upper U = L^T: no copies.  -1 if H is not positive definite.
 */
static int hinv_upper(const double *h, int n, double *u)
{
	memcpy(u, h, (size_t)n * n * sizeof(double));
	qpar_blas_init();
	if (LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'L', n, u, n) ||
	    LAPACKE_dpotri(LAPACK_COL_MAJOR, 'L', n, u, n))
		return -1;
	if (LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'L', n, u, n))
		return -1;
	for (int i = 0; i < n; i++)
		for (int j = 0; j < i; j++)
			u[(size_t)i * n + j] = 0.0;
	return 0;
}

/* Column processing order: as is, or by decreasing Hessian diagonal. */
static void gptq_order(const double *hess, int k, int act_order, int *perm)
{
	for (int i = 0; i < k; i++)
		perm[i] = i;
	if (!act_order)
		return;
	for (int i = 1; i < k; i++) {	/* insertion sort: stable, k is small */
		int v = perm[i], j = i;
		double d = hess[(size_t)v * k + v];

		while (j > 0 && hess[(size_t)perm[j - 1] * k + perm[j - 1]] < d) {
			perm[j] = perm[j - 1];
			j--;
		}
		perm[j] = v;
	}
}

/*
 * The full Hessian @h and the weights @wd in the processing order, dead
 * inputs (zero diagonal) given a unit diagonal and zero weights.  Returns
 * the mean of the diagonal, the scale of the damping.
 */
static double gptq_permute(const float *w, const double *hess, const int *perm,
			   int n, int k, double *h, double *wd)
{
	double mean = 0.0;

	for (int i = 0; i < k; i++)
		for (int j = 0; j < k; j++) {
			int a = perm[i], b = perm[j];

			h[(size_t)i * k + j] = a >= b ? hess[(size_t)a * k + b] :
					       hess[(size_t)b * k + a];
		}
	for (int r = 0; r < n; r++)
		for (int j = 0; j < k; j++)
			wd[(size_t)r * k + j] = w[(size_t)r * k + perm[j]];
	for (int i = 0; i < k; i++) {
		if (h[(size_t)i * k + i] == 0.0) {	/* dead input */
			h[(size_t)i * k + i] = 1.0;
			for (int r = 0; r < n; r++)
				wd[(size_t)r * k + i] = 0.0;
		}
		mean += h[(size_t)i * k + i];
	}
	return mean / k;
}

/*
 * The upper Cholesky factor @u of the inverse of @h damped by @damp of
 * the @mean diagonal; ten times the damping per failure, up to 6 times.
 */
static int gptq_hinv(const double *h, int k, double damp, double mean, double *u)
{
	int ret = -ENOMEM;

	for (int tries = 0;; tries++) {
		double *hd = malloc((size_t)k * k * sizeof(double));

		if (!hd)
			return ret;	/* -ENOMEM, or why the last try failed */
		memcpy(hd, h, (size_t)k * k * sizeof(double));
		for (int i = 0; i < k; i++)
			hd[(size_t)i * k + i] += damp * mean * pow(10.0, tries);
		ret = hinv_upper(hd, k, u);
		free(hd);
		if (!ret)
			return 0;
		if (tries == 6)
			return -EDOM;
	}
}

/*
 * Quantize the columns in the processing order, each column's rounding
 * error spread over the later columns of @wd with the factor @u.  @grp
 * holds one W4 group of a row when its scale is chosen here.
 */
static void gptq_columns(double *wd, const double *u, const int *perm,
			 int act_order, struct qweight *qw, float *grp)
{
	int n = qw->n, k = qw->k;

	for (int i = 0; i < k; i++) {
		double uii = u[(size_t)i * k + i];
		int col = perm[i], g = col / qw->grp;

		for (int r = 0; r < n; r++) {
			double *wr = wd + (size_t)r * k, s = qw->scale[r], d, e;
			int q, z = 0;

			if (qw->w4) {
				size_t o = (size_t)r * qw->ng + g;

				if (!act_order && col % qw->grp == 0) {
					int m = k - col < qw->grp ? k - col : qw->grp;

					for (int j = 0; j < m; j++)
						grp[j] = (float)wr[i + j];
					qw->gs[o] = (uint8_t)w4_group_fit(grp, m, s, 1,
									  qw->z ? qw->z + o : NULL,
									  qw->codes);
				}
				d = s * qw->gs[o];
				z = qw->z ? qw->z[o] : 0;
				q = qround(wr[i], s, qw->gs[o], z, 1);
			} else {
				d = s;
				q = qround(wr[i], s, 1, 0, 0);
			}
			qw->q[(size_t)r * k + col] = (int8_t)q;
			e = (wr[i] - (q - z) * d) / uii;
			for (int j = i + 1; j < k; j++)
				wr[j] -= e * u[(size_t)i * k + j];
		}
	}
}

/* Rows per product of gptq_refit_scales: bounds its two [rows][k] buffers. */
#define REFIT_ROWS	256

/*
 * Each channel's scale again for the codes GPTQ chose: the s minimising
 * the layer's output error over the calibration inputs, (w - s a) H
 * (w - s a)^T with a the row's codes on their group grid and H = X^T X:
 * s = w H a^T / a H a^T.  GPTQ fixed the codes against the scale taken
 * from the float row's range; this is the least-squares scale for them.
 */
static int gptq_refit_scales(const float *w, const double *hess,
			     struct qweight *qw)
{
	int n = qw->n, k = qw->k;
	double *a = malloc((size_t)REFIT_ROWS * k * sizeof(double));
	double *y = malloc((size_t)REFIT_ROWS * k * sizeof(double));

	if (!a || !y) {
		free(a);
		free(y);
		return -ENOMEM;
	}
	for (int r0 = 0; r0 < n; r0 += REFIT_ROWS) {
		int m = n - r0 < REFIT_ROWS ? n - r0 : REFIT_ROWS;

		for (int r = 0; r < m; r++)
			for (int j = 0; j < k; j++)
				a[(size_t)r * k + j] =
					(qw->q[(size_t)(r0 + r) * k + j] -
					 qw_z(qw, r0 + r, j)) * qw_gs(qw, r0 + r, j);
		cblas_dsymm(CblasRowMajor, CblasRight, CblasLower, m, k, 1.0,
			    hess, k, a, k, 0.0, y, k);
		for (int r = 0; r < m; r++) {
			const float *wr = w + (size_t)(r0 + r) * k;
			double num = 0.0, den = 0.0;

			for (int j = 0; j < k; j++) {
				num += wr[j] * y[(size_t)r * k + j];
				den += a[(size_t)r * k + j] * y[(size_t)r * k + j];
			}
			if (den > 0.0 && num > 0.0)
				qw->scale[r0 + r] = num / den;
		}
	}
	free(a);
	free(y);
	return 0;
}

/*
 * GPTQ (Frantar et al. 2022): quantize the columns one by one, each time
 * spreading the rounding error over the columns not yet quantized with
 * the inverse Hessian of the layer's inputs (@hess: the lower triangle of
 * X^T X over every calibration token, then damped).  Channel scales come
 * from the original weights.  Without act-order, W4 group scales are
 * chosen from the updated weights when a group's first column comes;
 * with act-order (columns by decreasing Hessian diagonal) the group
 * scales are static, chosen from the original weights first.
 */
static int quant_gptq(const float *w, const double *hess, double damp,
		      int act_order, struct qweight *qw, int pow2)
{
	int n = qw->n, k = qw->k, ret = -ENOMEM;
	double *h = calloc((size_t)k * k, sizeof(double));
	double *u = calloc((size_t)k * k, sizeof(double));
	double *wd = malloc((size_t)n * k * sizeof(double));
	int *perm = malloc((size_t)k * sizeof(int));
	float *grp = malloc((size_t)qw->grp * sizeof(float));
	double mean;

	if (!h || !u || !wd || !perm || !grp)
		goto out;
	gptq_order(hess, k, act_order, perm);
	mean = gptq_permute(w, hess, perm, n, k, h, wd);
	ret = gptq_hinv(h, k, damp, mean, u);
	if (ret)
		goto out;
	for (int r = 0; r < n; r++) {
		const float *wr = w + (size_t)r * k;

		qw->scale[r] = row_scale(wr, qw, pow2);
		if (act_order)
			fit_groups(wr, qw, r);
	}
	gptq_columns(wd, u, perm, act_order, qw, grp);
	ret = pow2 ? 0 : gptq_refit_scales(w, hess, qw);
out:
	free(h);
	free(u);
	free(wd);
	free(perm);
	free(grp);
	return ret;
}

/* ---- smoothing -------------------------------------------------------------------- */

/* Per-input-channel factors a^alpha / w^(1 - alpha), geometric mean 1. */
static void smooth_factors(const double *amax, const double *wmax, int k,
			   double alpha, double *sig)
{
	double lsum = 0.0;
	int n = 0;

	for (int j = 0; j < k; j++) {
		if (amax[j] > 0.0 && wmax[j] > 0.0) {
			sig[j] = pow(amax[j], alpha) / pow(wmax[j], 1.0 - alpha);
			lsum += log(sig[j]);
			n++;
		} else {
			sig[j] = 0.0;
		}
	}
	lsum = n ? exp(lsum / n) : 1.0;
	for (int j = 0; j < k; j++)
		sig[j] = sig[j] > 0.0 ? sig[j] / lsum : 1.0;
}

/* Sample rows per product of the searches: bounds the [rows][n] buffers. */
#define SEARCH_ROWS	64

/* Y[m][n] = X[m][k] . W[n][k]^T (float, single-threaded BLAS). */
static void sgemm_nt(float *y, const float *x, const float *w, int m, int n, int k)
{
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, x, k,
		    w, k, 0.0f, y, n);
}

/*
 * Relative output error of a linear layer with inputs divided and weight
 * columns multiplied by @sig, both quantized as the graph does: the sum
 * over output blocks [blk[b], blk[b+1]) of |Y - Yq|^2 / |Y|^2, Y the
 * float outputs @y[t][n].
 */
static double linear_error(const float *x, uint32_t t, const float *w, int n,
			   int k, const double *sig, const int *blk, int nblk,
			   const struct inpu_quant_opts *o, int w4, const float *y)
{
	float *xs = malloc((size_t)t * k * sizeof(float));
	float *ws = calloc((size_t)n * k + 1, sizeof(float));
	float *wq = malloc((size_t)n * k * sizeof(float));
	float *yq = malloc((size_t)SEARCH_ROWS * n * sizeof(float));
	double *num = calloc((size_t)nblk, sizeof(double));
	double *den = calloc((size_t)nblk, sizeof(double));
	struct qweight qw;
	double s, err = 0.0;

	if (!xs || !ws || !wq || !yq || !num || !den ||
	    qweight_alloc(&qw, n, k, w4, opts_fmt(o))) {
		err = DBL_MAX;
		goto out;
	}
	for (uint32_t r = 0; r < t; r++)
		for (int j = 0; j < k; j++)
			xs[(size_t)r * k + j] = (float)(x[(size_t)r * k + j] / sig[j]);
	s = o->act_dyn ? 0.0 :
	    act_scale8(xs, (size_t)t * k, vmax(xs, (size_t)t * k), o);
	fake_quant8(xs, t, k, s);
	for (int i = 0; i < n; i++)
		for (int j = 0; j < k; j++)
			ws[(size_t)i * k + j] = (float)(w[(size_t)i * k + j] * sig[j]);
	quant_rtn(ws, &qw, o->pow2);
	dequant(&qw, wq);
	qweight_free(&qw);
	for (uint32_t r0 = 0; r0 < t; r0 += SEARCH_ROWS) {
		int m = t - r0 < SEARCH_ROWS ? (int)(t - r0) : SEARCH_ROWS;

		sgemm_nt(yq, xs + (size_t)r0 * k, wq, m, n, k);
		for (int r = 0; r < m; r++)
			for (int b = 0; b < nblk; b++)
				for (int i = blk[b]; i < blk[b + 1]; i++) {
					double ref = y[(size_t)(r0 + r) * n + i];
					double d = yq[(size_t)r * n + i] - ref;

					num[b] += d * d;
					den[b] += ref * ref;
				}
	}
	for (int b = 0; b < nblk; b++)
		err += den[b] > 0.0 ? num[b] / den[b] : 0.0;
out:
	free(xs);
	free(ws);
	free(wq);
	free(yq);
	free(num);
	free(den);
	return err;
}

/* The smoothing candidates of one site: none, then alpha 0, 0.1, .. 1. */
#define SMOOTH_CANDS	12

struct smooth_search {
	const float *x, *w, *y;
	uint32_t t;
	int n, k, kf, nblk, w4;
	const double *amax, *wmax;
	const int *blk, *tie;
	const struct inpu_quant_opts *o;
	double *sig;		/* [SMOOTH_CANDS][k] */
	double err[SMOOTH_CANDS];
};

/* Candidate @c's factors and error (a worker of qpar_for). */
static void smooth_candidate(void *ctx, uint32_t c, int worker)
{
	struct smooth_search *ss = ctx;
	double *sig = ss->sig + (size_t)c * ss->k;
	double *cand = malloc((size_t)ss->kf * sizeof(double));

	(void)worker;
	if (!cand) {
		ss->err[c] = DBL_MAX;
		return;
	}
	if (c == 0) {
		for (int j = 0; j < ss->k; j++)
			sig[j] = 1.0;
	} else {
		smooth_factors(ss->amax, ss->wmax, ss->kf, (c - 1) / 10.0, cand);
		for (int j = 0; j < ss->k; j++)
			sig[j] = cand[ss->tie ? ss->tie[j] : j];
	}
	free(cand);
	ss->err[c] = linear_error(ss->x, ss->t, ss->w, ss->n, ss->k, sig, ss->blk,
				  ss->nblk, ss->o, ss->w4, ss->y);
}

/*
 * Choose the smoothing factors of one linear input site of @k channels.
 * @amax, @wmax: maxima of the @kf factor channels (input channel j uses
 * factor tie[j], or j without @tie); @x: the float input sample, @w the
 * float weights.  Writes @sig[k] and returns the alpha (-1: none).  The
 * candidates are measured in parallel; the first best one wins.
 */
static double choose_smoothing(const float *x, uint32_t t, const float *w,
			       int n, int k, int kf, const double *amax,
			       const double *wmax, const int *blk, int nblk,
			       const struct inpu_quant_opts *o, int w4,
			       double *sig, const int *tie)
{
	struct smooth_search ss = {
		.x = x, .w = w, .t = t, .n = n, .k = k, .kf = kf, .nblk = nblk,
		.w4 = w4, .amax = amax, .wmax = wmax, .blk = blk, .tie = tie, .o = o,
	};
	float *y = NULL;
	int best = 0;

	for (int j = 0; j < k; j++)
		sig[j] = 1.0;
	if (o->smooth == 0)
		return -1.0;
	if (o->smooth == 1) {
		double *cand = malloc((size_t)kf * sizeof(double));

		if (!cand)
			return -1.0;
		smooth_factors(amax, wmax, kf, o->alpha, cand);
		for (int j = 0; j < k; j++)
			sig[j] = cand[tie ? tie[j] : j];
		free(cand);
		return o->alpha;
	}
	ss.sig = malloc((size_t)SMOOTH_CANDS * k * sizeof(double));
	y = malloc((size_t)t * n * sizeof(float) + 1);
	if (!ss.sig || !y) {
		free(ss.sig);
		free(y);
		return -1.0;
	}
	qpar_blas_init();
	sgemm_nt(y, x, w, (int)t, n, k);
	ss.y = y;
	qpar_for(SMOOTH_CANDS, smooth_candidate, &ss);
	for (int c = 1; c < SMOOTH_CANDS; c++)
		if (ss.err[c] < ss.err[best])
			best = c;
	memcpy(sig, ss.sig + (size_t)best * k, (size_t)k * sizeof(double));
	free(ss.sig);
	free(y);
	return best ? (best - 1) / 10.0 : -1.0;
}

/* Column maxima of |W| (N x K). */
static void col_max(const float *w, int n, int k, double *out)
{
	for (int j = 0; j < k; j++)
		out[j] = 0.0;
	for (int i = 0; i < n; i++)
		for (int j = 0; j < k; j++)
			if (fabsf(w[(size_t)i * k + j]) > out[j])
				out[j] = fabsf(w[(size_t)i * k + j]);
}

/* ---- the quantizer ----------------------------------------------------------------- */

struct qctx {
	const struct inpu_quant_opts *o;
	struct qprep p0, p1;		/* float model as is, and smoothed */
	struct qcalib c1, c2;		/* calibration before and after */
	struct qtokens tk;
	double alpha[INPU_QM_MAX_LAYERS][4];	/* per layer: A, O, F, D */
	uint8_t bits[INPU_QM_MAX_LAYERS][4];	/* qkv, wo, w13, w2: 4 or 8 */
	double sens[INPU_QM_MAX_LAYERS][4];	/* NLL increase at 4 bits */
	double alpha_cls;
	double *fac;			/* smoothing factors: fac_slot() */
	uint64_t stride;
	struct qtune_scales tuned;	/* fine-tuned grids (tuned.s[0][0] set) */
	int bits_chosen;		/* bits[][] set before fine-tuning */
	double w_bits;			/* their bits per weight, formats counted */
};

/*
 * The smoothing factors that divide the inputs of linear layer @li (0 qkv,
 * 1 wo, 2 w13, 3 w2) of layer @l (-1: the classifier); NULL before
 * smooth_all().
 */
static double *fac_slot(const struct qctx *q, int l, int li)
{
	size_t d = (size_t)q->p0.dim, per = 3 * d + (size_t)q->p0.hidden;

	if (!q->fac)
		return NULL;
	return q->fac + (l < 0 ? (size_t)q->p0.n_layers * per : (size_t)l * per +
			 (size_t)li * d);
}

static void keep_factors(const struct qctx *q, int l, int li, const double *sig, int k)
{
	double *f = fac_slot(q, l, li);

	if (f)
		memcpy(f, sig, (size_t)k * sizeof(double));
}

static void progress(const struct qctx *q, const char *stage, uint64_t d,
		     uint64_t n)
{
	if (q->o->progress)
		q->o->progress(q->o->progress_ctx, stage, d, n);
}

/* Scratch of the smoothing search, sized for the widest input. */
struct smooth_ws {
	double *amax, *wmax, *sig, *wcol;
	int *tie;		/* attention channel -> its v channel */
	uint32_t t;		/* sample tokens searched on */
	int w4;
};

/* A: attention RMSNorm -> qkv */
static void smooth_qkv_in(struct qctx *q, struct smooth_ws *ws, int l)
{
	const struct qprep *p = &q->p0;
	struct qprep *s = &q->p1;
	int d = p->dim, kv = p->kv;
	int blk3[4] = { 0, d, d + kv, d + 2 * kv }, n, k;
	float *wq = qprep_layer(s, l, 0, &n, &k);
	struct qsite *st = qsite_at(&q->c1, l, S_XA);
	const double *sig = ws->sig;

	for (int j = 0; j < d; j++)
		ws->amax[j] = st->chmax[j];
	col_max(wq, p->nqkv, d, ws->wmax);
	q->alpha[l][0] = choose_smoothing(st->sample, ws->t, wq, p->nqkv, d, d,
					  ws->amax, ws->wmax, blk3, 3, q->o, ws->w4,
					  ws->sig, NULL);
	keep_factors(q, l, 0, sig, d);
	for (int j = 0; j < d; j++) {
		s->g_att[(size_t)l * d + j] /= (float)sig[j];
		for (int i = 0; i < p->nqkv; i++)
			wq[(size_t)i * d + j] *= (float)sig[j];
	}
}

/* O: v rows / wo columns, channels tied by the kv heads */
static void smooth_wo_in(struct qctx *q, struct smooth_ws *ws, int l)
{
	const struct qprep *p = &q->p0;
	int d = p->dim, kv = p->kv, hs = p->hs;
	int group = p->n_heads / p->n_kv_heads;
	int blk1[2] = { 0, d }, n, k;
	float *wq = qprep_layer(&q->p1, l, 0, &n, &k);
	float *wo = qprep_layer(&q->p1, l, 1, &n, &k);
	struct qsite *st = qsite_at(&q->c1, l, S_ATT);
	const int *tie = ws->tie;
	double *amax = ws->amax, *wmax = ws->wmax;
	const double *sig = ws->sig;

	col_max(wo, d, d, ws->wcol);
	for (int c = 0; c < kv; c++)
		amax[c] = wmax[c] = 0.0;
	for (int j = 0; j < d; j++) {
		if (st->chmax[j] > amax[tie[j]])
			amax[tie[j]] = st->chmax[j];
		if (ws->wcol[j] > wmax[tie[j]])
			wmax[tie[j]] = ws->wcol[j];
	}
	q->alpha[l][1] = choose_smoothing(st->sample, ws->t, wo, d, d, kv, amax,
					  wmax, blk1, 1, q->o, ws->w4, ws->sig, tie);
	keep_factors(q, l, 1, sig, d);
	for (int j = 0; j < d; j++)
		for (int i = 0; i < d; i++)
			wo[(size_t)i * d + j] *= (float)sig[j];
	for (int j = 0; j < d; j++) {	/* one factor per v channel */
		if (j / hs % group)
			continue;
		for (int i = 0; i < d; i++)
			wq[(size_t)(d + kv + tie[j]) * d + i] /= (float)sig[j];
	}
}

/* F: FFN RMSNorm -> w1, w3 */
static void smooth_w13_in(struct qctx *q, struct smooth_ws *ws, int l)
{
	const struct qprep *p = &q->p0;
	struct qprep *s = &q->p1;
	int d = p->dim, h = p->hidden;
	int blk2[3] = { 0, h, 2 * h }, n, k;
	float *w13 = qprep_layer(s, l, 2, &n, &k);
	struct qsite *st = qsite_at(&q->c1, l, S_XF);
	const double *sig = ws->sig;

	for (int j = 0; j < d; j++)
		ws->amax[j] = st->chmax[j];
	col_max(w13, 2 * h, d, ws->wmax);
	q->alpha[l][2] = choose_smoothing(st->sample, ws->t, w13, 2 * h, d, d,
					  ws->amax, ws->wmax, blk2, 2, q->o, ws->w4,
					  ws->sig, NULL);
	keep_factors(q, l, 2, sig, d);
	for (int j = 0; j < d; j++) {
		s->g_ffn[(size_t)l * d + j] /= (float)sig[j];
		for (int i = 0; i < 2 * h; i++)
			w13[(size_t)i * d + j] *= (float)sig[j];
	}
}

/* D: w3 rows / w2 columns */
static void smooth_w2_in(struct qctx *q, struct smooth_ws *ws, int l)
{
	const struct qprep *p = &q->p0;
	int d = p->dim, h = p->hidden;
	int blk1[2] = { 0, d }, n, k;
	float *w13 = qprep_layer(&q->p1, l, 2, &n, &k);
	float *w2 = qprep_layer(&q->p1, l, 3, &n, &k);
	struct qsite *st = qsite_at(&q->c1, l, S_H);
	const double *sig = ws->sig;

	for (int j = 0; j < h; j++)
		ws->amax[j] = st->chmax[j];
	col_max(w2, d, h, ws->wmax);
	q->alpha[l][3] = choose_smoothing(st->sample, ws->t, w2, d, h, h, ws->amax,
					  ws->wmax, blk1, 1, q->o, ws->w4, ws->sig,
					  NULL);
	keep_factors(q, l, 3, sig, h);
	for (int j = 0; j < h; j++) {
		for (int i = 0; i < d; i++)
			w2[(size_t)i * h + j] *= (float)sig[j];
		for (int i = 0; i < d; i++)
			w13[(size_t)(h + j) * d + i] /= (float)sig[j];
	}
}

/* C: final RMSNorm -> classifier */
static void smooth_cls_in(struct qctx *q, struct smooth_ws *ws)
{
	const struct qprep *p = &q->p0;
	struct qprep *s = &q->p1;
	int d = p->dim;
	struct qsite *st = qsite_at(&q->c1, -1, 0);
	int blkv[2] = { 0, p->vocab };
	const double *sig = ws->sig;

	for (int j = 0; j < d; j++)
		ws->amax[j] = st->chmax[j];
	col_max(s->wcls, p->vocab, d, ws->wmax);
	q->alpha_cls = choose_smoothing(st->sample, ws->t, s->wcls, p->vocab,
					d, d, ws->amax, ws->wmax, blkv, 1, q->o,
					ws->w4 && q->o->w4_cls, ws->sig, NULL);
	keep_factors(q, -1, 0, sig, d);
	for (int j = 0; j < d; j++) {
		s->g_fin[j] /= (float)sig[j];
		for (int i = 0; i < p->vocab; i++)
			s->wcls[(size_t)i * d + j] *= (float)sig[j];
	}
}

/* Search (or set) and fold every smoothing factor into p1. */
static int smooth_all(struct qctx *q)
{
	const struct qprep *p = &q->p0;
	int d = p->dim, h = p->hidden, hs = p->hs;
	int group = p->n_heads / p->n_kv_heads;
	int kmax = h > d ? h : d;
	struct smooth_ws ws = {
		.amax = malloc((size_t)kmax * sizeof(double)),
		.wmax = malloc((size_t)kmax * sizeof(double)),
		.sig = malloc((size_t)kmax * sizeof(double)),
		.wcol = malloc((size_t)kmax * sizeof(double)),
		.tie = malloc((size_t)d * sizeof(int)),
		.t = q->c1.n_sample < SEARCH_TOKENS ? q->c1.n_sample : SEARCH_TOKENS,
		.w4 = q->o->scheme == INPU_QS_W4A8,
	};
	int ret = -ENOMEM;

	if (!ws.amax || !ws.wmax || !ws.sig || !ws.wcol || !ws.tie)
		goto out;
	for (int j = 0; j < d; j++)
		ws.tie[j] = ((j / hs) / group) * hs + j % hs;
	for (int l = 0; l < p->n_layers; l++) {
		progress(q, "smoothing search", (uint64_t)l, (uint64_t)p->n_layers);
		smooth_qkv_in(q, &ws, l);
		smooth_wo_in(q, &ws, l);
		smooth_w13_in(q, &ws, l);
		smooth_w2_in(q, &ws, l);
	}
	smooth_cls_in(q, &ws);
	progress(q, "smoothing search", (uint64_t)p->n_layers, (uint64_t)p->n_layers);
	ret = 0;
out:
	free(ws.amax);
	free(ws.wmax);
	free(ws.sig);
	free(ws.wcol);
	free(ws.tie);
	return ret;
}

/*
 * The smoothed model's calibration from the unsmoothed one's (@q->c1 into
 * @q->c2): smoothing divides the inputs of qkv, wo (and the v channels it
 * reads), w13, w2 (and the w3 outputs) and the classifier by its factors
 * and changes nothing else, so the statistics follow by division
 * (qcalib_divide) instead of a second pass over the calibration text.
 */
static int calib_smoothed(struct qctx *q)
{
	const struct qprep *p = &q->p0;
	int d = p->dim, hs = p->hs, group = p->n_heads / p->n_kv_heads;
	double *vf = malloc((size_t)p->kv * sizeof(double));
	uint32_t rows;

	if (!vf)
		return -ENOMEM;
	q->c2 = q->c1;
	memset(&q->c1, 0, sizeof(q->c1));
	rows = q->c2.n_sample;
	for (int l = 0; l < p->n_layers; l++) {
		const double *fo = fac_slot(q, l, 1), *fd = fac_slot(q, l, 3);

		for (int j = 0; j < d; j++)	/* one factor per v channel */
			vf[((j / hs) / group) * hs + j % hs] = fo[j];
		qcalib_divide(qsite_at(&q->c2, l, S_XA), rows, fac_slot(q, l, 0));
		qcalib_divide(qsite_at(&q->c2, l, S_V), rows, vf);
		qcalib_divide(qsite_at(&q->c2, l, S_ATT), rows, fo);
		qcalib_divide(qsite_at(&q->c2, l, S_XF), rows, fac_slot(q, l, 2));
		qcalib_divide(qsite_at(&q->c2, l, S_UP), rows, fd);
		qcalib_divide(qsite_at(&q->c2, l, S_H), rows, fd);
	}
	qcalib_divide(qsite_at(&q->c2, -1, 0), rows, fac_slot(q, -1, 0));
	free(vf);
	return 0;
}

/* Scales of the activations of one layer (real units per integer step). */
struct lscales {
	double xa, q, k, v, att, xf, g, u, h;
};

static double site_scale8(const struct qcalib *c, int l, int s,
			  const struct inpu_quant_opts *o)
{
	const struct qsite *st = qsite_at((struct qcalib *)c, l, s);

	return act_scale8(st->sample, (size_t)c->n_sample * st->width,
			  vmax(st->chmax, (size_t)st->width), o);
}

static double site_scale16(const struct qcalib *c, int l, int s, int pow2)
{
	const struct qsite *st = qsite_at((struct qcalib *)c, l, s);
	double v = vmax(st->chmax, (size_t)st->width) * I16_HEADROOM / 32767.0;

	if (!(v > 0.0))
		v = 1.0;
	return pow2 ? pow2_up(v) : v;
}

/*
 * The scale of the output of the op that feeds a linear layer: int8 at a
 * calibrated scale, or with per-token scales the int16 its rows are
 * quantized from on the device (I8ROW).
 */
static double in_site_scale(const struct qcalib *c, int l, int s,
			    const struct inpu_quant_opts *o)
{
	return o->act_dyn ? site_scale16(c, l, s, 0) : site_scale8(c, l, s, o);
}

/*
 * The int8 scale k would have unclipped: the int16 keys, at 1/2^QKV_SHIFT
 * of it, then cover twice the calibration maximum (as q and v do).
 */
static double key_scale16(const struct qcalib *c, int l,
			  const struct inpu_quant_opts *o)
{
	const struct qsite *st = qsite_at((struct qcalib *)c, l, S_K);
	double v = vmax(st->chmax, (size_t)st->width) / 127.0;

	if (!(v > 0.0))
		v = 1.0;
	return o->pow2 ? pow2_up(v) : v;
}

/*
 * The real value of one int8 input step of a linear layer whose feeding
 * op writes at @s: per token, one step is the row scale (an int16
 * magnitude) over 127.
 */
static double step_scale(double s, const struct inpu_quant_opts *o)
{
	return o->act_dyn ? s / 127.0 : s;
}

/*
 * Quantize one linear layer's float weights into @qw: on the grid that
 * fine-tuning trained for it (layer @l, @li) if any, else RTN or GPTQ.
 */
static int quant_linear(struct qctx *q, const float *w, int n, int k,
			const struct qsite *in, int w4, int l, int li,
			struct qweight *qw)
{
	int ret = qweight_alloc(qw, n, k, w4, opts_fmt(q->o));

	if (ret)
		return ret;
	if (l >= 0 && q->tuned.s[l][li] && q->tuned.w4[l][li] == w4) {
		memcpy(qw->scale, q->tuned.s[l][li], (size_t)n * sizeof(double));
		if (w4)
			memcpy(qw->gs, q->tuned.gs[l][li], (size_t)n * qw->ng);
		if (qw->z)
			memcpy(qw->z, q->tuned.z[l][li], (size_t)n * qw->ng);
		round_on_grid(w, qw);
		return 0;
	}
	if (q->o->gptq && in && in->hess) {
		ret = quant_gptq(w, in->hess, q->o->gptq_damp, q->o->act_order,
				 qw, q->o->pow2);
		if (ret)
			qweight_free(qw);
		return ret;
	}
	quant_rtn(w, qw, q->o->pow2);
	return 0;
}

/* One block of SEARCH_ROWS sample rows of linear_snr: its sums. */
struct snr_job {
	const float *x, *w, *wq;	/* sample [t][k], float and rounded weights */
	uint32_t t;
	int n, k;
	double sx;
	double (*sum)[3];		/* [blocks]: |Y|^2, |Y - Yw|^2, |Y - Ywa|^2 */
};

static void snr_block(void *ctx, uint32_t blkno, int worker)
{
	struct snr_job *j = ctx;
	uint32_t r0 = blkno * SEARCH_ROWS;
	int m = j->t - r0 < SEARCH_ROWS ? (int)(j->t - r0) : SEARCH_ROWS;
	size_t rn = (size_t)m * j->n;
	float *y = malloc(rn * 3 * sizeof(float));
	float *xq = malloc((size_t)m * j->k * sizeof(float));
	const float *x = j->x + (size_t)r0 * j->k;
	double *sum = j->sum[blkno];

	(void)worker;
	if (!y || !xq) {
		free(y);
		free(xq);
		sum[0] = sum[1] = sum[2] = -1.0;	/* reported as failed */
		return;
	}
	memcpy(xq, x, (size_t)m * j->k * sizeof(float));
	fake_quant8(xq, (uint32_t)m, j->k, j->sx);
	sgemm_nt(y, x, j->w, m, j->n, j->k);
	sgemm_nt(y + rn, x, j->wq, m, j->n, j->k);
	sgemm_nt(y + 2 * rn, xq, j->wq, m, j->n, j->k);
	sum[0] = sum[1] = sum[2] = 0.0;
	for (size_t i = 0; i < rn; i++) {
		double a = y[i], ew = a - y[rn + i], ewa = a - y[2 * rn + i];

		sum[0] += a * a;
		sum[1] += ew * ew;
		sum[2] += ewa * ewa;
	}
	free(y);
	free(xq);
}

/*
 * Output SNR of a linear layer against float on the calibration sample:
 * blocks of rows in parallel, their sums added in block order.
 */
static void linear_snr(const struct qsite *in, uint32_t t, const float *w,
		       const struct qweight *qw, double sx,
		       struct inpu_quant_layer_report *r)
{
	int n = qw->n, k = qw->k;
	uint32_t nb = (t + SEARCH_ROWS - 1) / SEARCH_ROWS;
	double sig = 0.0, ew = 0.0, ewa = 0.0;
	float *wq = malloc((size_t)n * k * sizeof(float));
	struct snr_job j = {
		.x = in->sample, .w = w, .wq = wq, .t = t, .n = n, .k = k, .sx = sx,
		.sum = calloc(nb ? nb : 1, sizeof(*j.sum)),
	};

	r->in_max = vmax(in->chmax, (size_t)in->width);
	/* Per token (sx 0) nothing clips. */
	r->in_clip = sx > 0.0 ? sx * 127.0 : r->in_max;
	if (!wq || !j.sum) {
		free(wq);
		free(j.sum);
		return;
	}
	dequant(qw, wq);
	qpar_for(nb, snr_block, &j);
	for (uint32_t b = 0; b < nb; b++) {
		sig += j.sum[b][0];
		ew += j.sum[b][1];
		ewa += j.sum[b][2];
	}
	r->snr_w_db = ew > 0.0 ? 10.0 * log10(sig / ew) : 999.0;
	r->snr_wa_db = ewa > 0.0 ? 10.0 * log10(sig / ewa) : 999.0;
	free(wq);
	free(j.sum);
}

/* Requant pair into *m, *s; on failure record the error. */
static int pair(double real, int pow2, int32_t *m, int32_t *s, const char *what,
		char *err, size_t errlen)
{
	int ret = inpu_requant_pair(real, pow2, m, s);

	if (ret)
		inpu_model_seterr(err, errlen,
				  "%s: rescale %g has no int32 multiplier and shift",
				  what, real);
	return ret;
}

/*
 * RMSNorm multipliers: g_i = gamma_i / s_out * 2^(shift - 15), shift such
 * that max |g| is just under 2^30.
 */
static int norm_params(const float *gamma, int n, double s_out, int32_t *g,
		       uint32_t *shift)
{
	double gm = 0.0;
	int sh;

	for (int i = 0; i < n; i++)
		if (fabs(gamma[i] / s_out) > gm)
			gm = fabs(gamma[i] / s_out);
	if (!(gm > 0.0))
		gm = 1.0;
	sh = 15 + (int)floor(log2(ldexp(1.0, 30) / gm));
	if (sh < 0 || sh > 62)
		return -ERANGE;
	for (int i = 0; i < n; i++)
		g[i] = (int32_t)llround(ldexp(gamma[i] / s_out, sh - 15));
	*shift = (uint32_t)sh;
	return 0;
}

/*
 * Every tensor of the model, in the file's order (embedding, RoPE table,
 * final norm, classifier, then layer by layer): the data section is laid
 * out once, before anything is written into it.
 */
static int declare_tensors(struct inpu_qmodel *m,
			   uint8_t (*bits)[4], int w4_cls, struct w4fmt f)
{
	const struct inpu_qconfig *c = &m->cfg;
	int d = (int)c->dim, h = (int)c->hidden_dim;
	int kv = (int)(c->head_dim * c->n_kv_heads);
	char name[INPU_QM_NAME_LEN];
	int ret;

	ret = inpu_qmodel_add(m, "embed", INPU_DT_INT16, c->vocab_size, c->dim);
	if (!ret)
		ret = inpu_qmodel_add(m, "rope", INPU_DT_INT16, c->seq_len, c->head_dim);
	if (!ret)
		ret = inpu_qmodel_add(m, "final.g", INPU_DT_INT32, 1, c->dim);
	if (!ret)
		ret = inpu_qmodel_add_linear_fmt(m, "cls", (int)c->vocab_size, d, w4_cls,
							 f.group, f.zero && !f.codes);
	for (uint32_t l = 0; l < c->n_layers && !ret; l++) {
		snprintf(name, sizeof(name), "l%u.att.g", l);
		ret = inpu_qmodel_add(m, name, INPU_DT_INT32, 1, c->dim);
		snprintf(name, sizeof(name), "l%u.qkv", l);
		if (!ret)
			ret = inpu_qmodel_add_linear_fmt(m, name, d + 2 * kv, d, bits[l][0] == 4,
							 f.group, f.zero && !f.codes);
		snprintf(name, sizeof(name), "l%u.wo", l);
		if (!ret)
			ret = inpu_qmodel_add_linear_fmt(m, name, d, d, bits[l][1] == 4,
							 f.group, f.zero && !f.codes);
		snprintf(name, sizeof(name), "l%u.ffn.g", l);
		if (!ret)
			ret = inpu_qmodel_add(m, name, INPU_DT_INT32, 1, c->dim);
		snprintf(name, sizeof(name), "l%u.w13", l);
		if (!ret)
			ret = inpu_qmodel_add_linear_fmt(m, name, 2 * h, d, bits[l][2] == 4,
							 f.group, f.zero && !f.codes);
		snprintf(name, sizeof(name), "l%u.w2", l);
		if (!ret)
			ret = inpu_qmodel_add_linear_fmt(m, name, d, h, bits[l][3] == 4,
							 f.group, f.zero && !f.codes);
	}
	return ret;
}

/* Pack a quantized linear layer into the model's PFX.w/.gs/.qp. */
/*
 * INPU_W4_GFMT_CODES: each group's scale (one of the 16 levels) and zero
 * point as the two nibbles of one byte, laid out as byte scales are.
 */
static int pack_codes(const struct qweight *qw, uint8_t *gs)
{
	size_t cnt = (size_t)qw->n * qw->ng;
	uint8_t *b = malloc(cnt);

	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < cnt; i++) {
		unsigned int c = 0;

		while (c < 15 && inpu_w4_gs_level(c) != qw->gs[i])
			c++;
		b[i] = (uint8_t)(c | (unsigned int)(qw->z[i] + 8) << 4);
	}
	inpu_pack_w4_groups(b, (uint32_t)qw->n, (uint32_t)qw->k,
			    (uint32_t)qw->grp, gs);
	free(b);
	return 0;
}

/*
 * Pack a linear layer and its per-channel pairs.  @in_scale is the real
 * value of one input step; with @dyn the input is I8ROW, one step of which
 * is the row scale (int16 units) times in_scale, and the pairs are 16-bit.
 */
static int add_linear(struct inpu_qmodel *m, const char *pfx,
		      const struct qweight *qw, const double *out_scale,
		      double in_scale, int pow2, int dyn, char *err,
		      size_t errlen)
{
	char name[INPU_QM_NAME_LEN];
	struct inpu_qparam *qp;
	uint8_t *w, *gs = NULL, *gz = NULL;
	int ret;

	snprintf(name, sizeof(name), "%s.w", pfx);
	w = inpu_qmodel_data(m, name);
	if (qw->w4) {
		snprintf(name, sizeof(name), "%s.gs", pfx);
		gs = inpu_qmodel_data(m, name);
	}
	if (qw->z && !qw->codes) {
		snprintf(name, sizeof(name), "%s.gz", pfx);
		gz = inpu_qmodel_data(m, name);
	}
	snprintf(name, sizeof(name), "%s.qp", pfx);
	qp = inpu_qmodel_data(m, name);
	if (!w || !qp || (qw->w4 && !gs) || (qw->z && !qw->codes && !gz)) {
		inpu_model_seterr(err, errlen, "%s: tensors not declared", pfx);
		return -EINVAL;
	}
	if (qw->codes) {
		inpu_pack_w4(qw->q, NULL, (uint32_t)qw->n, (uint32_t)qw->k, w, NULL);
		ret = pack_codes(qw, gs);
		if (ret) {
			inpu_model_seterr(err, errlen, "%s: out of memory", pfx);
			return ret;
		}
	} else if (qw->w4) {
		inpu_pack_w4(qw->q, NULL, (uint32_t)qw->n, (uint32_t)qw->k, w, NULL);
		inpu_pack_w4_groups(qw->gs, (uint32_t)qw->n, (uint32_t)qw->k,
				    (uint32_t)qw->grp, gs);
		if (gz)
			inpu_pack_w4_groups((const uint8_t *)qw->z, (uint32_t)qw->n,
					    (uint32_t)qw->k, (uint32_t)qw->grp, gz);
	} else
		inpu_pack_w8(qw->q, (uint32_t)qw->n, (uint32_t)qw->k, w);
	for (int i = 0; i < qw->n; i++) {
		struct inpu_qparam p;

		double real = in_scale * qw->scale[i] / out_scale[i];

		if (dyn && inpu_requant_pair16(real, &p.mult, &p.shift)) {
			inpu_model_seterr(err, errlen,
					  "%s: rescale %g has no 16-bit multiplier and shift",
					  pfx, real);
			return -ERANGE;
		}
		ret = dyn ? 0 : pair(real, pow2, &p.mult, &p.shift, pfx, err,
				     errlen);
		if (ret)
			return ret;
		memcpy(&qp[i], &p, sizeof(p));
	}
	return 0;
}

/* The number of stories choose_bits() measures on (SENS_MACS). */
static uint32_t sens_stories(const struct qctx *q)
{
	const struct qprep *p = &q->p1;
	double per_token = (4.0 * p->n_layers + 1) *
			   (double)linear_params((uint64_t)p->n_layers, (uint64_t)p->dim,
						 (uint64_t)p->kv, (uint64_t)p->hidden,
						 (uint64_t)p->vocab);
	uint64_t tokens = 0;
	uint32_t n;

	for (n = 0; n < SENS_STORIES && n < q->tk.n; n++) {
		tokens += q->tk.len[n] > 1 ? (uint64_t)q->tk.len[n] - 1 : 0;
		if (n >= SENS_MIN_STORIES && per_token * (double)tokens > SENS_MACS)
			break;
	}
	return n;
}

/* The input site of linear layer @li (qkv, wo, w13, w2) of a block. */
static const int in_sites[4] = { S_XA, S_ATT, S_XF, S_H };

/*
 * Bits of every linear layer of the blocks.  W8A8: 8.  W4A8: 4, or with
 * opts.avg_bits above the 4-bit format's bits per weight (group scales
 * and zero points counted) mixed precision: each layer's sensitivity is the NLL (on
 * calibration stories, float activations) the all-4-bit model saves when
 * that layer alone gets its float weights back (leave-one-out: it sees
 * the other layers' errors, as it will in the model); layers go to 8 bits
 * by decreasing sensitivity per weight while the average stays within
 * the budget.
 */
static int choose_bits(struct qctx *q)
{
	const struct inpu_quant_opts *o = q->o;
	int L = q->p1.n_layers, ret = 0;
	struct qprep t;
	double base, used = 0.0, total = 0.0, b4 = inpu_quant_w4_bits(o);
	uint32_t ns = sens_stories(q);
	struct qweight qw;

	if (q->bits_chosen)
		return 0;
	q->bits_chosen = 1;
	for (int l = 0; l < L; l++)
		for (int li = 0; li < 4; li++) {
			q->bits[l][li] = o->scheme == INPU_QS_W4A8 ? 4 : 8;
			q->sens[l][li] = -1.0;
		}
	q->w_bits = o->scheme == INPU_QS_W4A8 ? b4 : 8.0;
	if (!inpu_quant_mixes(o))
		return 0;
	ret = qprep_copy(&q->p1, &t);
	if (ret)
		return ret;
	/* every block layer at its 4-bit weights: the all-4-bit model */
	for (int l = 0; l < L && !ret; l++) {
		for (int li = 0; li < 4 && !ret; li++) {
			int n, k;
			float *w = qprep_layer(&t, l, li, &n, &k);
			const float *w0 = qprep_layer(&q->p1, l, li, &n, &k);

			progress(q, "sensitivity", (uint64_t)(l * 4 + li), (uint64_t)L * 8);
			ret = quant_linear(q, w0, n, k, qsite_at(&q->c2, l, in_sites[li]),
					   1, l, li, &qw);
			if (ret)
				break;
			dequant(&qw, w);
			qweight_free(&qw);
			total += (double)n * k;
		}
	}
	base = ret ? 0.0 : qcalib_nll(&t, &q->tk, ns);
	/* each layer back at full precision alone: what its 4 bits cost */
	for (int l = 0; l < L && !ret; l++) {
		for (int li = 0; li < 4 && !ret; li++) {
			int n, k;
			float *w = qprep_layer(&t, l, li, &n, &k);
			const float *w0 = qprep_layer(&q->p1, l, li, &n, &k);
			float *save = malloc((size_t)n * k * sizeof(float));

			progress(q, "sensitivity", (uint64_t)(L * 4 + l * 4 + li),
				 (uint64_t)L * 8);
			if (!save) {
				ret = -ENOMEM;
				break;
			}
			memcpy(save, w, (size_t)n * k * sizeof(float));
			memcpy(w, w0, (size_t)n * k * sizeof(float));
			q->sens[l][li] = base - qcalib_nll(&t, &q->tk, ns);
			memcpy(w, save, (size_t)n * k * sizeof(float));
			free(save);
		}
	}
	progress(q, "sensitivity", (uint64_t)L * 8, (uint64_t)L * 8);
	qprep_free(&t);
	if (ret)
		return ret;
	used = b4 * total;
	for (;;) {	/* greedy: best NLL saved per extra bit */
		int bl = -1, bi = -1, n, k;
		double best = 0.0;

		for (int l = 0; l < L; l++)
			for (int li = 0; li < 4; li++) {
				double sz;

				if (q->bits[l][li] == 8)
					continue;
				qprep_layer(&q->p1, l, li, &n, &k);
				sz = (double)n * k;
				if (used + (8.0 - b4) * sz > o->avg_bits * total)
					continue;
				if (q->sens[l][li] / sz > best) {
					best = q->sens[l][li] / sz;
					bl = l;
					bi = li;
				}
			}
		if (bl < 0)
			break;
		qprep_layer(&q->p1, bl, bi, &n, &k);
		q->bits[bl][bi] = 8;
		used += (8.0 - b4) * n * k;
	}
	q->w_bits = used / total;
	return 0;
}

/* The model being built and what the steps of build_model() share. */
struct mbuild {
	struct qctx *q;
	struct inpu_qmodel *m;
	struct inpu_quant_report *rep;	/* NULL: no report */
	uint32_t nrep;			/* entries of rep->layer[] so far */
	int rf;				/* residual: int32 at 2^-rf */
	double s_r;			/* its scale */
	double *osc;			/* output scales of one linear layer */
	char *err;
	size_t errlen;
};

/* Residual: int32 at 2^-rf, the calibration max under 2^RESID_BITS. */
static int resid_frac(const struct qctx *q)
{
	int rf = (int)floor(log2(ldexp(1.0, RESID_BITS) /
				 (q->c2.res_max > 0 ? q->c2.res_max : 1.0)));

	return rf < 0 ? 0 : rf > 24 ? 24 : rf;
}

/* Logits: int32 at 2^-lf, the calibration max under 2^24. */
static int logit_frac(const struct qctx *q)
{
	int lf = (int)floor(log2(ldexp(1.0, 24) /
				 (q->c2.logit_max > 0 ? q->c2.logit_max : 1.0)));

	return lf < 8 ? 8 : lf > 24 ? 24 : lf;
}

/* The model's configuration: shape, options and the firmware's tables. */
static int model_config(const struct qctx *q, struct inpu_qconfig *cfg)
{
	const struct qprep *p = &q->p1;
	const struct inpu_quant_opts *o = q->o;
	int w4codes = o->scheme == INPU_QS_W4A8 && o->w4_codes;
	struct inpu_tables_store tabs;

	memset(&tabs, 0, sizeof(tabs));
	if (inpu_tables_default(&tabs))
		return -ENOMEM;
	memset(cfg, 0, sizeof(*cfg));
	cfg->dim = (uint32_t)p->dim;
	cfg->hidden_dim = (uint32_t)p->hidden;
	cfg->n_layers = (uint32_t)p->n_layers;
	cfg->n_heads = (uint32_t)p->n_heads;
	cfg->n_kv_heads = (uint32_t)p->n_kv_heads;
	cfg->head_dim = (uint32_t)p->hs;
	cfg->vocab_size = (uint32_t)p->vocab;
	cfg->seq_len = (uint32_t)p->seq_len;
	cfg->scheme = (uint32_t)o->scheme;
	cfg->flags = (o->pow2 ? INPU_QF_POW2 : 0) | (o->smooth ? INPU_QF_SMOOTH : 0) |
		     (o->gptq ? INPU_QF_GPTQ : 0) | (o->rotate ? INPU_QF_ROTATE : 0) |
		     (o->ft_epochs > 0 ? INPU_QF_FINETUNE : 0) |
		     (o->act_dyn ? INPU_QF_DYN_ACT : 0) |
		     (o->key16 ? INPU_QF_KEY16 : 0) |
		     (w4codes ? INPU_QF_W4_CODES : 0);
	/* ABI 1 runtimes still read a model without the ABI 2 features. */
	cfg->fw_abi = o->act_dyn || o->key16 || w4codes ? INPU_FW_ABI_VERSION :
							  INPU_FW_ABI_MIN;
	cfg->exp_len = tabs.t.exp_len;
	cfg->exp_frac = tabs.t.exp_frac;
	cfg->silu_len = tabs.t.silu_len;
	cfg->silu_zero = tabs.t.silu_zero;
	cfg->silu_in_frac = tabs.t.silu_in_frac;
	cfg->silu_out_frac = tabs.t.silu_out_frac;
	inpu_tables_release(&tabs);
	cfg->logit_frac = (uint32_t)logit_frac(q);
	return 0;
}

/* The note the file carries: how it was quantized. */
static void model_note(struct inpu_qmodel *m, const struct inpu_quant_opts *o)
{
	int w4 = o->scheme == INPU_QS_W4A8;

	snprintf(m->note, sizeof(m->note),
		 "inpu quantize: %s%s%s,%s smooth %s%s, act %s,%s keys%s%s",
		 !w4 ? "w8a8" : inpu_quant_mixes(o) ? "w4a8 mixed" : "w4a8",
		 w4 ? (opts_fmt(o).group == INPU_W4_GROUP_SMALL ? " g16" : " g32") : "",
		 w4 && o->w4_codes ? " 4-bit codes" : w4 && o->w4_zero ? " zero points" : "",
		 o->rotate ? " rotated," : "",
		 o->smooth == 0 ? "off" : o->smooth == 2 ? "auto" : "fixed",
		 o->pow2 ? ", pow2" : "", o->act_dyn ? "per token" :
		 o->act_range == INPU_RANGE_MAX ? "range max" :
		 o->act_range == INPU_RANGE_PCT ? "range pct" : "range mse",
		 o->key16 ? " int16" : " int8",
		 o->gptq ? (o->act_order ? ", gptq act-order" : ", gptq") : ", rtn",
		 o->ft_epochs > 0 ? ", fine-tuned" : "");
}

/* EMBED: int16 table at s_r 2^ek, mult 2^ek, shift 0 (exact) */
static void model_embed(struct mbuild *b)
{
	const struct qprep *p = &b->q->p1;
	int16_t *emb = inpu_qmodel_data(b->m, "embed");
	double emax = vmax(p->emb, (size_t)p->vocab * p->dim), s_e;
	int ek;

	for (ek = 0; ek < 30 && emax / ldexp(b->s_r, ek) > 32767.0; ek++)
		;
	s_e = ldexp(b->s_r, ek);
	for (size_t i = 0; i < (size_t)p->vocab * p->dim; i++)
		emb[i] = (int16_t)clampi(lround(p->emb[i] / s_e), -32767, 32767);
	b->m->glob.embed_mult = (int32_t)1 << ek;
	b->m->glob.embed_shift = 0;
}

/* RoPE table: (cos, sin) in Q14 per position and pair */
static void model_rope(struct mbuild *b)
{
	const struct qprep *p = &b->q->p1;
	int16_t *rope = inpu_qmodel_data(b->m, "rope");

	for (int pos = 0; pos < p->seq_len; pos++)
		for (int j = 0; j < p->hs / 2; j++) {
			double th = pos * pow(p->rope_theta, -2.0 * j / p->hs);

			rope[(size_t)pos * p->hs + 2 * j] = (int16_t)lround(16384.0 * cos(th));
			rope[(size_t)pos * p->hs + 2 * j + 1] = (int16_t)lround(16384.0 * sin(th));
		}
}

/* The final norm and the classifier, logits at 2^-logit_frac. */
static int model_cls(struct mbuild *b)
{
	struct qctx *q = b->q;
	const struct qprep *p = &q->p1;
	const struct inpu_quant_opts *o = q->o;
	int w4 = o->scheme == INPU_QS_W4A8 && o->w4_cls;
	int32_t *g = inpu_qmodel_data(b->m, "final.g");
	double s_xc = in_site_scale(&q->c2, -1, 0, o);
	struct qweight qw;
	int ret;

	ret = norm_params(p->g_fin, p->dim, s_xc, g, &b->m->glob.final_shift);
	if (ret) {
		inpu_model_seterr(b->err, b->errlen, "final norm: no shift fits");
		return ret;
	}
	progress(q, "quantizing weights", 0, (uint64_t)p->n_layers + 1);
	ret = quant_linear(q, p->wcls, p->vocab, p->dim, qsite_at(&q->c2, -1, 0),
			   w4, -1, 0, &qw);
	if (ret)
		return ret;
	for (int i = 0; i < p->vocab; i++)
		b->osc[i] = ldexp(1.0, -(int)b->m->cfg.logit_frac);
	ret = add_linear(b->m, "cls", &qw, b->osc, step_scale(s_xc, o), o->pow2,
			 o->act_dyn, b->err, b->errlen);
	if (b->rep) {
		struct inpu_quant_layer_report *r = &b->rep->layer[b->nrep++];

		snprintf(r->name, sizeof(r->name), "cls");
		r->alpha = q->alpha_cls;
		r->bits = w4 ? 4 : 8;
		r->sens = -1.0;
		linear_snr(qsite_at(&q->c2, -1, 0), q->c2.n_sample, p->wcls,
			   &qw, o->act_dyn ? 0.0 : s_xc, r);
	}
	qweight_free(&qw);
	return ret;
}

static void layer_scales(const struct qctx *q, int l, struct lscales *sc)
{
	const struct inpu_quant_opts *o = q->o;

	sc->xa = in_site_scale(&q->c2, l, S_XA, o);
	sc->q = site_scale8(&q->c2, l, S_Q, o);
	/* int16 keys are RoPE's output: unclipped, 2^QKV_SHIFT steps finer */
	sc->k = o->key16 ? key_scale16(&q->c2, l, o) : site_scale8(&q->c2, l, S_K, o);
	sc->v = site_scale8(&q->c2, l, S_V, o);
	sc->att = in_site_scale(&q->c2, l, S_ATT, o);
	sc->xf = in_site_scale(&q->c2, l, S_XF, o);
	sc->h = in_site_scale(&q->c2, l, S_H, o);
	sc->g = site_scale16(&q->c2, l, S_GATE, o->pow2);
	sc->u = site_scale16(&q->c2, l, S_UP, o->pow2);
}

/* The attention and FFN RMSNorm multipliers of layer @l. */
static int layer_norms(struct mbuild *b, int l, const struct lscales *sc)
{
	const struct qprep *p = &b->q->p1;
	struct inpu_qlayer *lp = &b->m->layers[l];
	size_t off = (size_t)l * p->dim;
	char name[INPU_QM_NAME_LEN];
	int32_t *g;

	snprintf(name, sizeof(name), "l%d.att.g", l);
	g = inpu_qmodel_data(b->m, name);
	if (!g || norm_params(p->g_att + off, p->dim, sc->xa, g, &lp->att_shift)) {
		inpu_model_seterr(b->err, b->errlen, "layer %d: attention norm", l);
		return -ERANGE;
	}
	lp->att_eps = b->m->glob.final_eps;
	snprintf(name, sizeof(name), "l%d.ffn.g", l);
	g = inpu_qmodel_data(b->m, name);
	if (!g || norm_params(p->g_ffn + off, p->dim, sc->xf, g, &lp->ffn_shift)) {
		inpu_model_seterr(b->err, b->errlen, "layer %d: ffn norm", l);
		return -ERANGE;
	}
	lp->ffn_eps = b->m->glob.final_eps;
	return 0;
}

/* The rescales of layer @l between its linear layers. */
static int layer_rescales(struct mbuild *b, int l, const struct lscales *sc)
{
	const struct inpu_qconfig *cfg = &b->m->cfg;
	struct inpu_qlayer *lp = &b->m->layers[l];
	int pow2 = b->q->o->pow2, ret;

	lp->qkv_shift = QKV_SHIFT;
	ret = pair(sc->q * sc->k * ldexp(1.0, (int)cfg->exp_frac -
					 (b->q->o->key16 ? QKV_SHIFT : 0)), pow2,
		   &lp->score_mult, &lp->score_shift, "attention scores",
		   b->err, b->errlen);
	if (!ret)
		ret = pair(sc->v * ldexp(1.0, -15) / sc->att, pow2, &lp->att_mult,
			   &lp->att_shift_out, "attention output", b->err, b->errlen);
	if (!ret)
		ret = pair(sc->g * ldexp(1.0, (int)cfg->silu_in_frac), pow2,
			   &lp->silu_in_mult, &lp->silu_in_shift, "swiglu input",
			   b->err, b->errlen);
	if (!ret)
		ret = pair(sc->u * ldexp(1.0, 15 - (int)cfg->silu_out_frac) / sc->h,
			   pow2, &lp->silu_out_mult, &lp->silu_out_shift,
			   "swiglu output", b->err, b->errlen);
	return ret;
}

/*
 * The output scales of linear layer @li into b->osc (q, k, v at
 * 1/2^QKV_SHIFT of their int8 scale); returns its input scale.
 */
static double linear_scales(struct mbuild *b, int li, const struct lscales *sc)
{
	const struct qprep *p = &b->q->p1;
	int d = p->dim, h = p->hidden, kv = p->kv;

	switch (li) {
	case 0:
		for (int i = 0; i < p->nqkv; i++)
			b->osc[i] = ldexp(i < d ? sc->q : i < d + kv ? sc->k : sc->v,
					  -QKV_SHIFT);
		return sc->xa;
	case 1:
		for (int i = 0; i < d; i++)
			b->osc[i] = b->s_r;
		return sc->att;
	case 2:
		for (int i = 0; i < 2 * h; i++)
			b->osc[i] = i < h ? sc->g : sc->u;
		return sc->xf;
	default:
		for (int i = 0; i < d; i++)
			b->osc[i] = b->s_r;
		return sc->h;
	}
}

/* Quantize and pack linear layer @li (qkv, wo, w13, w2) of layer @l. */
static int layer_linear(struct mbuild *b, int l, int li, const struct lscales *sc)
{
	static const char *const nm[4] = { "qkv", "wo", "w13", "w2" };
	struct qctx *q = b->q;
	const struct qsite *in = qsite_at(&q->c2, l, in_sites[li]);
	double in_scale = linear_scales(b, li, sc);
	char pfx[INPU_QM_NAME_LEN];
	const float *w;
	struct qweight qw;
	int n, k, ret;

	w = qprep_layer(&q->p1, l, li, &n, &k);
	ret = quant_linear(q, w, n, k, in, q->bits[l][li] == 4, l, li, &qw);
	if (ret) {
		inpu_model_seterr(b->err, b->errlen,
				  "layer %d %s: weight quantization failed", l, nm[li]);
		return ret;
	}
	snprintf(pfx, sizeof(pfx), "l%d.%s", l, nm[li]);
	ret = add_linear(b->m, pfx, &qw, b->osc, step_scale(in_scale, q->o),
			 q->o->pow2, q->o->act_dyn, b->err, b->errlen);
	if (b->rep && !ret) {
		struct inpu_quant_layer_report *r = &b->rep->layer[b->nrep++];

		snprintf(r->name, sizeof(r->name), "%s", pfx);
		r->alpha = q->alpha[l][li];
		r->bits = q->bits[l][li];
		r->sens = q->sens[l][li];
		linear_snr(in, q->c2.n_sample, w, &qw,
			   q->o->act_dyn ? 0.0 : in_scale, r);
	}
	qweight_free(&qw);
	return ret;
}

/* Layer @l: its scales, norms, rescales and linear layers. */
static int model_layer(struct mbuild *b, int l)
{
	struct lscales sc;
	int ret;

	progress(b->q, "quantizing weights", (uint64_t)l + 1,
		 (uint64_t)b->q->p1.n_layers + 1);
	layer_scales(b->q, l, &sc);
	ret = layer_norms(b, l, &sc);
	if (!ret)
		ret = layer_rescales(b, l, &sc);
	for (int li = 0; li < 4 && !ret; li++)
		ret = layer_linear(b, l, li, &sc);
	return ret;
}

static int build_model(struct qctx *q, struct inpu_qmodel **out,
		       struct inpu_quant_report *rep, char *err, size_t errlen)
{
	const struct qprep *p = &q->p1;
	const struct inpu_quant_opts *o = q->o;
	int h = p->hidden, wide = 2 * h + 2 * p->kv + p->dim, ret;
	struct mbuild b = {
		.q = q, .rep = rep, .err = err, .errlen = errlen,
		.rf = resid_frac(q),
	};
	struct inpu_qconfig cfg;

	ret = model_config(q, &cfg);
	if (ret)
		return ret;
	b.s_r = ldexp(1.0, -b.rf);
	b.m = inpu_qmodel_alloc(&cfg);
	b.osc = malloc((size_t)(p->vocab > wide ? p->vocab : wide) * sizeof(double));
	if (!b.m || !b.osc) {
		free(b.osc);
		inpu_qmodel_free(b.m);
		return -ENOMEM;
	}
	model_note(b.m, o);
	ret = declare_tensors(b.m, q->bits, o->scheme == INPU_QS_W4A8 && o->w4_cls,
			      opts_fmt(o));
	if (ret) {
		inpu_model_seterr(err, errlen, "cannot lay out the tensors: %s",
				  strerror(-ret));
		goto fail;
	}
	model_embed(&b);
	model_rope(&b);
	b.m->glob.final_eps = (uint32_t)fmax(1.0, nearbyint((double)p->norm_eps * ldexp(1.0, 2 * b.rf)));
	ret = model_cls(&b);
	for (int l = 0; l < p->n_layers && !ret; l++)
		ret = model_layer(&b, l);
	if (ret)
		goto fail;
	progress(q, "quantizing weights", (uint64_t)p->n_layers + 1, (uint64_t)p->n_layers + 1);
	if (rep) {
		rep->n_layers = b.nrep;
		rep->resid_max = q->c2.res_max;
		rep->w_bits = q->w_bits;
		rep->resid_frac = (uint32_t)b.rf;
	}
	ret = inpu_qmodel_check(b.m, err, errlen);
	if (ret)
		goto fail;
	free(b.osc);
	*out = b.m;
	return 0;
fail:
	free(b.osc);
	inpu_qmodel_free(b.m);
	if (!ret)
		ret = -EINVAL;
	return ret;
}

/*
 * Fine-tuning after GPTQ: every block layer of p1 rounded by GPTQ (its
 * Hessians from a calibration pass now), the latent weights put on that
 * rounding and its grid kept in q->tuned for fine-tuning to start from.
 */
static int gptq_start(struct qctx *q)
{
	int ret;

	ret = qcalib_new(&q->p1, q->o->n_sample, 1, &q->c2);
	if (!ret)
		ret = qcalib_run(&q->p1, &q->tk, q->stride, &q->c2, q->o->progress,
				 q->o->progress_ctx, "calibration for GPTQ");
	q->tuned.group = opts_fmt(q->o).group;	/* the grids' shapes below */
	for (int l = 0; l < q->p1.n_layers && !ret; l++)
		for (int li = 0; li < 4 && !ret; li++) {
			struct qweight qw;
			int n, k, w4 = q->bits[l][li] == 4;
			float *w = qprep_layer(&q->p1, l, li, &n, &k);

			progress(q, "GPTQ", (uint64_t)(l * 4 + li), (uint64_t)q->p1.n_layers * 4);
			ret = quant_linear(q, w, n, k, qsite_at(&q->c2, l, in_sites[li]),
					   w4, -1, 0, &qw);
			if (ret)
				break;
			q->tuned.s[l][li] = malloc((size_t)n * sizeof(double));
			q->tuned.gs[l][li] = malloc((size_t)n * qw.ng);
			q->tuned.z[l][li] = calloc((size_t)n * qw.ng, 1);
			if (!q->tuned.s[l][li] || !q->tuned.gs[l][li] || !q->tuned.z[l][li]) {
				qweight_free(&qw);
				ret = -ENOMEM;
				break;
			}
			q->tuned.w4[l][li] = (uint8_t)w4;
			memcpy(q->tuned.s[l][li], qw.scale, (size_t)n * sizeof(double));
			if (w4)
				memcpy(q->tuned.gs[l][li], qw.gs, (size_t)n * qw.ng);
			else
				memset(q->tuned.gs[l][li], 1, (size_t)n * qw.ng);
			if (qw.z)
				memcpy(q->tuned.z[l][li], qw.z, (size_t)n * qw.ng);
			dequant(&qw, w);
			qweight_free(&qw);
		}
	qcalib_free(&q->c2);
	return ret;
}

/* Int8 scales of every activation site of p1 (calibrated now), for --ft-act. */
/*
 * How fine-tuning with --ft-act rounds site @s as the model will: -1 per
 * token (the inputs of the linear layers with per-token scales), 0 not at
 * all (int16 keys), else the calibrated int8 scale.
 */
static float ft_site_scale(const struct qctx *q, int l, int s)
{
	const struct inpu_quant_opts *o = q->o;
	int lin = l < 0 || s == S_XA || s == S_ATT || s == S_XF || s == S_H;

	if (o->act_dyn && lin)
		return -1.0f;
	if (o->key16 && s == S_K)
		return 0.0f;
	return (float)site_scale8(&q->c2, l, s, o);
}

static float *ft_act_scales(struct qctx *q, int *ret)
{
	const struct inpu_quant_opts *o = q->o;
	static const int s8[] = { S_XA, S_Q, S_K, S_V, S_ATT, S_XF, S_H };
	float *as = calloc((size_t)q->p1.n_layers * S_PER_LAYER + 1, sizeof(float));

	*ret = as ? qcalib_new(&q->p1, o->n_sample, 0, &q->c2) : -ENOMEM;
	if (!*ret)
		*ret = qcalib_run(&q->p1, &q->tk, q->stride, &q->c2, o->progress,
				  o->progress_ctx, "calibration for fine-tuning");
	for (int l = 0; l < q->p1.n_layers && !*ret; l++)
		for (size_t i = 0; i < sizeof(s8) / sizeof(s8[0]); i++)
			as[l * S_PER_LAYER + s8[i]] = ft_site_scale(q, l, s8[i]);
	if (!*ret)
		as[q->p1.n_layers * S_PER_LAYER] = ft_site_scale(q, -1, 0);
	qcalib_free(&q->c2);
	if (*ret) {
		free(as);
		return NULL;
	}
	return as;
}

/*
 * --finetune: the bits of every layer first (mixed precision needs a
 * calibration pass), the training stories (calibration, plus sampled
 * ones), the starting grids (round-to-nearest, or GPTQ), then qtune.c.
 * p1 ends as the tuned float model and q->tuned as its grids.
 */
static int finetune(struct qctx *q, struct inpu_quant_report *rep, char *err,
		    size_t errlen)
{
	const struct inpu_quant_opts *o = q->o;
	struct qtune_opts to = {
		.epochs = o->ft_epochs, .batch = o->ft_batch, .lr = o->ft_lr,
		.norm_lr = 0.1 * o->ft_lr, .scale_lr = 4.0 * o->ft_lr,
		.w4 = o->scheme == INPU_QS_W4A8, .pow2 = o->pow2, .bits = q->bits,
		.group = opts_fmt(o).group, .zero = opts_fmt(o).zero,
		.codes = opts_fmt(o).codes,
		.threads = o->threads,
		.progress = o->progress, .progress_ctx = o->progress_ctx,
	};
	struct qprep ref;
	struct qtokens ftk;
	float *as = NULL;
	double k0, k1;
	int ret = 0;

	memset(&ref, 0, sizeof(ref));
	memset(&ftk, 0, sizeof(ftk));
	if (inpu_quant_mixes(o)) {
		ret = qcalib_new(&q->p1, o->n_sample, o->gptq, &q->c2);
		if (!ret)
			ret = qcalib_run(&q->p1, &q->tk, q->stride, &q->c2, o->progress,
					 o->progress_ctx, "calibration for mixed precision");
	}
	if (!ret && (ret = choose_bits(q))) {
		inpu_model_seterr(err, errlen, "mixed precision: %s", strerror(-ret));
		qcalib_free(&q->c2);
		return ret;
	}
	qcalib_free(&q->c2);
	if (!ret && o->ft_act) {
		as = ft_act_scales(q, &ret);
		to.act_scale = as;
	}
	if (!ret && o->ft_generate) {
		ret = qtokens_copy(&q->tk, &ftk);
		if (!ret)
			ret = qtokens_generate(&q->p1, o->ft_generate, q->p1.seq_len,
					       0x5eedf00dull, &ftk, o->progress,
					       o->progress_ctx);
	}
	if (!ret && o->gptq) {
		ret = qprep_copy(&q->p1, &ref);
		if (!ret)
			ret = gptq_start(q);
	}
	if (!ret)
		ret = qtune_run(&q->p1, o->gptq ? &ref : NULL, o->ft_generate ? &ftk : &q->tk,
				&to, &q->tuned, &k0, &k1);
	if (!ret && rep) {
		rep->ft_kl_first = k0;
		rep->ft_kl_last = k1;
	}
	if (ret)
		inpu_model_seterr(err, errlen, "fine-tuning: %s", strerror(-ret));
	qprep_free(&ref);
	qtokens_free(&ftk);
	free(as);
	return ret;
}

/*
 * Calibration and smoothing: p1 is p0 smoothed, c2 the statistics of p1
 * (unless fine-tuning follows: it changes p1, so it calibrates again).
 * One pass over the calibration text: with smoothing, the pass on p0
 * feeds the search and then, divided by the factors, stands for p1's
 * (calib_smoothed); before fine-tuning the pass only feeds the search
 * (its first SEARCH_TOKENS sampled rows, no logits).
 */
static int calibrate(struct qctx *q)
{
	const struct inpu_quant_opts *o = q->o;
	int tune = o->ft_epochs > 0, ret;
	size_t per = 3 * (size_t)q->p0.dim + (size_t)q->p0.hidden;

	if (!o->smooth) {
		for (int l = 0; l < q->p0.n_layers; l++)
			for (int i = 0; i < 4; i++)
				q->alpha[l][i] = -1.0;
		q->alpha_cls = -1.0;
		ret = qprep_copy(&q->p0, &q->p1);
		if (!ret && !tune)
			ret = qcalib_new(&q->p1, o->n_sample, o->gptq, &q->c2);
		if (!ret && !tune)
			ret = qcalib_run(&q->p1, &q->tk, q->stride, &q->c2, o->progress,
					 o->progress_ctx, "calibration");
		return ret;
	}
	q->fac = malloc(((size_t)q->p0.n_layers + 1) * per * sizeof(double));
	if (!q->fac)
		return -ENOMEM;
	ret = qcalib_new(&q->p0, !tune ? o->n_sample : o->n_sample < SEARCH_TOKENS ?
			 o->n_sample : SEARCH_TOKENS, !tune && o->gptq, &q->c1);
	if (ret)
		return ret;
	q->c1.no_logits = tune;
	ret = qcalib_run(&q->p0, &q->tk, q->stride, &q->c1, o->progress,
			 o->progress_ctx, "calibration");
	if (!ret)
		ret = qprep_copy(&q->p0, &q->p1);
	if (!ret)
		ret = smooth_all(q);
	if (!ret && !tune)
		ret = calib_smoothed(q);
	qcalib_free(&q->c1);
	return ret;
}

int inpu_quantize(const struct inpu_model *model, const struct inpu_tokenizer *t,
		  const char *calib, size_t calib_len,
		  const struct inpu_quant_opts *opts, struct inpu_qmodel **out,
		  struct inpu_quant_report *rep, char *err, size_t errlen)
{
	struct inpu_quant_opts auto_opts = *opts;
	struct qctx q;
	int ret;

	*out = NULL;
	memset(&q, 0, sizeof(q));
	if (opts->ft_epochs == INPU_FT_AUTO)
		inpu_quant_auto_method(&model->cfg, &auto_opts);
	if (opts->act_dyn == INPU_ACT_AUTO)
		auto_opts.act_dyn = !opts->pow2;
	opts = &auto_opts;
	q.o = opts;
	if (opts->act_dyn && opts->pow2) {
		inpu_model_seterr(err, errlen,
				  "per-token activation scales cannot be powers of two: use --act-scales static with --pow2");
		return -EINVAL;
	}
	if (opts->scheme != INPU_QS_W8A8 && opts->scheme != INPU_QS_W4A8) {
		inpu_model_seterr(err, errlen, "unknown scheme %d", opts->scheme);
		return -EINVAL;
	}
	if (opts->ft_epochs > 0 && (opts->ft_batch <= 0 || !(opts->ft_lr > 0.0))) {
		inpu_model_seterr(err, errlen,
				  "fine-tuning needs a batch > 0 and a learning rate > 0");
		return -EINVAL;
	}
	if (model->cfg.n_layers > INPU_QM_MAX_LAYERS) {
		inpu_model_seterr(err, errlen, "%d layers, more than %d",
				  model->cfg.n_layers, INPU_QM_MAX_LAYERS);
		return -EINVAL;
	}
	if (rep)
		memset(rep, 0, sizeof(*rep));
	qpar_set_threads(opts->threads);
	ret = qtokens_from_text(t, calib, calib_len, model->cfg.seq_len,
				opts->max_stories, &q.tk);
	if (ret) {
		inpu_model_seterr(err, errlen, "calibration text: cannot tokenize: %s",
				  strerror(-ret));
		return ret;
	}
	if (!q.tk.total) {
		inpu_model_seterr(err, errlen, "calibration text: no tokens (no stories?)");
		ret = -EINVAL;
		goto out;
	}
	q.stride = opts->n_sample ? (q.tk.total + opts->n_sample - 1) / opts->n_sample : q.tk.total + 1;
	if (!q.stride)
		q.stride = 1;
	ret = qprep_from_model(model, opts->rotate, &q.p0);
	if (!ret)
		ret = calibrate(&q);
	/* from here on only p1 is used: one model copy less at the peak */
	qprep_free(&q.p0);
	if (ret)
		goto nomem;
	if (opts->ft_epochs > 0) {
		ret = finetune(&q, rep, err, errlen);
		if (ret)
			goto out;
		/* pass 2: the tuned model (every range, GPTQ, the report) */
		ret = qcalib_new(&q.p1, opts->n_sample, opts->gptq, &q.c2);
		if (!ret)
			ret = qcalib_run(&q.p1, &q.tk, q.stride, &q.c2, opts->progress,
					 opts->progress_ctx, "calibration pass 2");
		if (ret)
			goto nomem;
	}
	if (rep) {
		rep->calib_tokens = q.c2.tokens;
		rep->sample_tokens = q.c2.n_sample;
	}
	ret = choose_bits(&q);
	if (ret) {
		inpu_model_seterr(err, errlen, "mixed precision: %s", strerror(-ret));
		goto out;
	}
	ret = build_model(&q, out, rep, err, errlen);
	goto out;
nomem:
	inpu_model_seterr(err, errlen, "out of memory");
out:
	qcalib_free(&q.c1);
	qcalib_free(&q.c2);
	qprep_free(&q.p0);
	qprep_free(&q.p1);
	qtokens_free(&q.tk);
	qtune_scales_free(&q.tuned);
	free(q.fac);
	return ret;
}
