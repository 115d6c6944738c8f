// SPDX-License-Identifier: MIT
/*
 * The quantizer's arithmetic: real rescales as (mult, shift) pairs with
 * their error bounds (also when the engine's requant() applies them), the
 * power-of-two variant, and quantize-dequantize error bounds of every
 * weight tensor of stories260K in W8 and W4.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "int_math.h"
#include "file.h"
#include "model.h"
#include "requant.h"
#include "quantize.h"
#include "model_util.h"
#include "kselftest_harness.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd64(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

static double urand(void)
{
	return (double)(rnd64() >> 11) / 9007199254740992.0;
}

TEST(requant_pair_precision)
{
	for (int i = 0; i < 200000; i++) {
		double real = exp2(-40.0 + 70.0 * urand());
		int32_t m, s;

		ASSERT_EQ(0, inpu_requant_pair(real, 0, &m, &s));
		ASSERT_GE(s, 0);
		ASSERT_LE(s, 62);
		ASSERT_GT(m, 0);
		if (real >= ldexp(1.0, -32)) {
			/* full 31-bit precision: |mult / 2^shift - real| <=
			 * real 2^-31 (half a unit of mult >= 2^30)
			 */
			ASSERT_GE(m, 1 << 30);
			ASSERT_LE(fabs(inpu_requant_real(m, s) - real),
				  real * ldexp(1.0, -31) * 1.000001) {
				TH_LOG("real %.17g -> %d / 2^%d", real, m, s);
			}
		} else {
			/* below 2^-32 the shift is capped at 62: half a unit of 2^-62 */
			ASSERT_EQ(62, s);
			ASSERT_LE(fabs(inpu_requant_real(m, s) - real), ldexp(1.0, -63));
		}
	}
}

TEST(requant_pair_edges)
{
	int32_t m, s;

	/* exact powers of two and values next to 2^31 rounding */
	ASSERT_EQ(0, inpu_requant_pair(1.0, 0, &m, &s));
	EXPECT_EQ(1 << 30, m);
	EXPECT_EQ(30, s);
	ASSERT_EQ(0, inpu_requant_pair(0.125, 0, &m, &s));
	EXPECT_EQ(1 << 30, m);
	EXPECT_EQ(33, s);
	ASSERT_EQ(0, inpu_requant_pair(nextafter(1.0, 0.0), 0, &m, &s));
	EXPECT_EQ(1 << 30, m);		/* 2^31 / 2^31 rounded up: renormalised */
	EXPECT_EQ(30, s);
	ASSERT_EQ(0, inpu_requant_pair(2147483647.0, 0, &m, &s));
	EXPECT_EQ(2147483647, m);
	EXPECT_EQ(0, s);
	/* very small: fewer bits at shift 62, still within half a unit */
	ASSERT_EQ(0, inpu_requant_pair(1e-15, 0, &m, &s));
	EXPECT_EQ(62, s);
	EXPECT_LE(fabs(inpu_requant_real(m, s) - 1e-15), ldexp(1.0, -63));
	/* impossible */
	EXPECT_EQ(-ERANGE, inpu_requant_pair(0.0, 0, &m, &s));
	EXPECT_EQ(-ERANGE, inpu_requant_pair(-1.0, 0, &m, &s));
	EXPECT_EQ(-ERANGE, inpu_requant_pair(NAN, 0, &m, &s));
	EXPECT_EQ(-ERANGE, inpu_requant_pair(INFINITY, 0, &m, &s));
	EXPECT_EQ(-ERANGE, inpu_requant_pair(2147483648.0, 0, &m, &s));
	EXPECT_EQ(-ERANGE, inpu_requant_pair(1e-30, 0, &m, &s));
}

/*
 * Applied by the engine's requant() to any int32 value, a pair is within
 * one rounding (0.5) plus the pair's own relative error of x * real.
 */
TEST(requant_applied_error)
{
	for (int i = 0; i < 100000; i++) {
		double real = exp2(-30.0 + 40.0 * urand());
		int32_t m, s, x = (int32_t)(uint32_t)rnd64();
		double want, bound;
		int64_t got;

		if (i % 3 == 0)
			x >>= (int)(rnd64() % 31);	/* small values too */
		ASSERT_EQ(0, inpu_requant_pair(real, 0, &m, &s));
		got = requant(x, m, s);
		want = (double)x * real;
		bound = 0.5 + fabs(want) * ldexp(1.0, -31) * 1.000001 + 1e-9;
		ASSERT_LE(fabs((double)got - want), bound) {
			TH_LOG("x %d real %.17g pair %d/2^%d: %lld vs %.6f", x, real,
			       m, s, (long long)got, want);
		}
	}
}

TEST(requant_pow2)
{
	int32_t m, s;

	for (int e = -62; e <= 30; e++) {
		ASSERT_EQ(0, inpu_requant_pair(ldexp(1.0, e), 1, &m, &s));
		EXPECT_EQ(ldexp(1.0, e), inpu_requant_real(m, s));
		EXPECT_EQ(0, m & (m - 1));	/* a power of two */
		if (e < 0) {
			EXPECT_EQ(1, m);
		} else {
			EXPECT_EQ(0, s);
		}
	}
	/* other values: the nearest power of two in the log domain */
	ASSERT_EQ(0, inpu_requant_pair(3.0, 1, &m, &s));
	EXPECT_EQ(4.0, inpu_requant_real(m, s));
	ASSERT_EQ(0, inpu_requant_pair(0.7, 1, &m, &s));
	EXPECT_EQ(0.5, inpu_requant_real(m, s));
	ASSERT_EQ(0, inpu_requant_pair(0.72, 1, &m, &s));
	EXPECT_EQ(1.0, inpu_requant_real(m, s));
	EXPECT_EQ(-ERANGE, inpu_requant_pair(ldexp(1.0, 31), 1, &m, &s));
	EXPECT_EQ(-ERANGE, inpu_requant_pair(ldexp(1.0, -63), 1, &m, &s));
}

FIXTURE(wq) {
	struct inpu_model *m;
	char err[INPU_MODEL_ERRLEN];
};

FIXTURE_SETUP(wq)
{
	char path[PATH_MAX];

	ASSERT_EQ(0, shared_path(SHARED_MODEL, path, sizeof(path))) {
		TH_LOG(SHARED_HINT, path);
	}
	ASSERT_EQ(0, inpu_model_load(path, &self->m, self->err, sizeof(self->err)));
}

FIXTURE_TEARDOWN(wq)
{
	inpu_model_free(self->m);
}

struct wt {
	const char *name;
	const float *w;
	int n, k, layers;
};

static int tensors(const struct inpu_model *m, struct wt *t)
{
	const struct inpu_model_config *c = &m->cfg;
	int d = c->dim, h = c->hidden_dim, kv = inpu_model_kv_dim(c), L = c->n_layers;
	struct wt all[] = {
		{ "wq", m->wq, d, d, L }, { "wk", m->wk, kv, d, L },
		{ "wv", m->wv, kv, d, L }, { "wo", m->wo, d, d, L },
		{ "w1", m->w1, h, d, L }, { "w2", m->w2, d, h, L },
		{ "w3", m->w3, h, d, L }, { "wcls", m->wcls, c->vocab_size, d, 1 },
	};

	memcpy(t, all, sizeof(all));
	return (int)(sizeof(all) / sizeof(all[0]));
}

static double snr_db(double sig, double err)
{
	return err > 0 ? 10.0 * log10(sig / err) : 999.0;
}

/*
 * W8: every element within half a step of its channel (round to nearest,
 * no clipping: the step is max|row| / 127), and the per-tensor SNR.
 * Plain 8-bit per-channel rounding of these weights gives 40-44 dB; the
 * bound 38 dB leaves room, a broken rounding would be far below.
 */
TEST_F(wq, w8_error_bounds)
{
	struct wt t[8];
	int nt = tensors(self->m, t);

	for (int i = 0; i < nt; i++) {
		for (int pow2 = 0; pow2 <= 1; pow2++) {
			double sig = 0, err = 0;

			for (int l = 0; l < t[i].layers; l++) {
				const float *w = t[i].w + (size_t)l * t[i].n * t[i].k;
				int8_t *q = malloc((size_t)t[i].n * t[i].k);
				double *s = malloc((size_t)t[i].n * sizeof(double));

				ASSERT_EQ(0, inpu_quant_matrix(w, (uint32_t)t[i].n, (uint32_t)t[i].k,
							       0, pow2, q, NULL, s));
				for (int r = 0; r < t[i].n; r++) {
					double mx = 0;

					for (int j = 0; j < t[i].k; j++)
						mx = fmax(mx, fabs(w[(size_t)r * t[i].k + j]));
					if (pow2) {
						EXPECT_EQ(0.0, fmod(log2(s[r]), 1.0));
						EXPECT_GE(s[r] * 127, mx);
						EXPECT_LT(s[r] * 63.5, mx);
					} else {
						EXPECT_LE(fabs(s[r] * 127 - mx), mx * 1e-12);
					}
					for (int j = 0; j < t[i].k; j++) {
						double v = w[(size_t)r * t[i].k + j];
						double e = v - q[(size_t)r * t[i].k + j] * s[r];

						ASSERT_LE(fabs(e), s[r] * 0.5000001) {
							TH_LOG("%s l%d [%d][%d]", t[i].name, l, r, j);
						}
						sig += v * v;
						err += e * e;
					}
				}
				free(q);
				free(s);
			}
			TH_LOG("W8%s %-5s SNR %.1f dB", pow2 ? " pow2" : "     ",
			       t[i].name, snr_db(sig, err));
			EXPECT_GE(snr_db(sig, err), pow2 ? 33.0 : 38.0);
		}
	}
}

/*
 * W4: q in -8..7, integer group scales 1..255; each element within half a
 * step d = gs * unit of its group unless it lies beyond the group's
 * (searched) clip, where the error is at most |w| - 7 d.  Group-wise
 * 4-bit rounding gives about 19-21 dB on these weights; bound 17 dB.
 */
TEST_F(wq, w4_error_bounds)
{
	struct wt t[8];
	int nt = tensors(self->m, t);

	for (int i = 0; i < nt; i++) {
		double sig = 0, err = 0;
		int ng = (t[i].k + 31) / 32;

		for (int l = 0; l < t[i].layers; l++) {
			const float *w = t[i].w + (size_t)l * t[i].n * t[i].k;
			int8_t *q = malloc((size_t)t[i].n * t[i].k);
			uint8_t *gs = malloc((size_t)t[i].n * ng);
			double *s = malloc((size_t)t[i].n * sizeof(double));

			ASSERT_EQ(0, inpu_quant_matrix(w, (uint32_t)t[i].n, (uint32_t)t[i].k,
						       1, 0, q, gs, s));
			for (int r = 0; r < t[i].n; r++) {
				for (int j = 0; j < t[i].k; j++) {
					int g = gs[(size_t)r * ng + j / 32];
					double d = g * s[r];
					double v = w[(size_t)r * t[i].k + j];
					int qv = q[(size_t)r * t[i].k + j];
					double e = v - qv * d;

					ASSERT_GE(g, 1);
					ASSERT_GE(qv, -8);
					ASSERT_LE(qv, 7);
					ASSERT_LE(fabs(e), fmax(d * 0.5000001, fabs(v) - 7 * d + 1e-12)) {
						TH_LOG("%s l%d [%d][%d]", t[i].name, l, r, j);
					}
					sig += v * v;
					err += e * e;
				}
			}
			free(q);
			free(gs);
			free(s);
		}
		TH_LOG("W4      %-5s SNR %.1f dB", t[i].name, snr_db(sig, err));
		EXPECT_GE(snr_db(sig, err), 17.0);
	}
}

/*
 * W4 with groups of 16 and/or a zero point per group (the real weight is
 * (q - z) * d): q and z in -8..7, each element within half a step of the
 * grid unless it lies beyond the grid's ends (-8 - z) d .. (7 - z) d,
 * where the error is its distance to the nearer end.  Each richer format
 * must have a smaller error than the plainer one on the same weights
 * (measured: symmetric 32 < zero points 32 < symmetric 16 < both by
 * 0.8-1.2 dB; the test asks 0.3 dB).
 */
static double w4_fmt_snr(struct __test_metadata *_metadata, const struct wt *t,
			 int nt, int group, int zero)
{
	double sig = 0, err = 0;

	for (int i = 0; i < nt; i++) {
		int ng = (t[i].k + group - 1) / group;

		for (int l = 0; l < t[i].layers; l++) {
			const float *w = t[i].w + (size_t)l * t[i].n * t[i].k;
			int8_t *q = malloc((size_t)t[i].n * t[i].k);
			uint8_t *gs = malloc((size_t)t[i].n * ng);
			int8_t *z = zero ? malloc((size_t)t[i].n * ng) : NULL;
			double *s = malloc((size_t)t[i].n * sizeof(double));

			EXPECT_EQ(0, inpu_quant_matrix_ex(w, (uint32_t)t[i].n,
							  (uint32_t)t[i].k, 1, 0, group, z,
							  q, gs, s));
			for (int r = 0; r < t[i].n; r++) {
				for (int j = 0; j < t[i].k; j++) {
					int g = gs[(size_t)r * ng + j / group];
					int zz = z ? z[(size_t)r * ng + j / group] : 0;
					double d = g * s[r], lo = (-8 - zz) * d, hi = (7 - zz) * d;
					double v = w[(size_t)r * t[i].k + j];
					int qv = q[(size_t)r * t[i].k + j];
					double e = v - (qv - zz) * d;

					EXPECT_GE(g, 1);
					EXPECT_GE(zz, -8);
					EXPECT_LE(zz, 7);
					EXPECT_GE(qv, -8);
					EXPECT_LE(qv, 7);
					EXPECT_LE(fabs(e), fmax(d * 0.5000001,
								fmax(v - hi, lo - v) + 1e-12)) {
						TH_LOG("%s l%d [%d][%d] group %d zero %d", t[i].name,
						       l, r, j, group, zero);
						free(q);
						free(gs);
						free(z);
						free(s);
						return -1.0;
					}
					sig += v * v;
					err += e * e;
				}
			}
			free(q);
			free(gs);
			free(z);
			free(s);
		}
	}
	return snr_db(sig, err);
}

TEST_F(wq, w4_groups_and_zero_points)
{
	struct wt t[8];
	int nt = tensors(self->m, t);
	double s32 = w4_fmt_snr(_metadata, t, nt, 32, 0);
	double z32 = w4_fmt_snr(_metadata, t, nt, 32, 1);
	double s16 = w4_fmt_snr(_metadata, t, nt, 16, 0);
	double z16 = w4_fmt_snr(_metadata, t, nt, 16, 1);
	int8_t q[4], z[1];
	uint8_t gs[1];
	double sc[1];
	const float w[4] = { 0.5f, 1.0f, 2.0f, 3.0f };

	TH_LOG("W4 SNR: groups of 32 %.2f dB, + zero points %.2f dB; groups of 16 %.2f dB, + zero points %.2f dB",
	       s32, z32, s16, z16);
	EXPECT_GT(z32, s32 + 0.3);
	EXPECT_GT(s16, s32 + 0.3);
	EXPECT_GT(z16, s16 + 0.3);
	EXPECT_GT(z16, z32 + 0.3);
	/* All positive: the zero point puts the grid's low end at 0 (z = -8). */
	ASSERT_EQ(0, inpu_quant_matrix_ex(w, 1, 4, 1, 0, 16, z, q, gs, sc));
	EXPECT_EQ(-8, z[0]);
	EXPECT_EQ(7, q[3]);
	/* Groups of 24 and zero points for int8 rows are refused. */
	EXPECT_EQ(-EINVAL, inpu_quant_matrix_ex(w, 1, 4, 1, 0, 24, z, q, gs, sc));
	EXPECT_EQ(-EINVAL, inpu_quant_matrix_ex(w, 1, 4, 0, 0, 32, z, q, gs, sc));
}

TEST_HARNESS_MAIN
