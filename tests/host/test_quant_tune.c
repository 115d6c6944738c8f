// SPDX-License-Identifier: MIT
/*
 * Quantization-aware fine-tuning (userspace/quantizer/qtune.c): the backward
 * pass against finite differences of the KL on a small random model, and
 * the tuning itself: the rounded model ends closer to the float one.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "quant_internal.h"
#include "kselftest_harness.h"

static uint64_t rng = 0x2545f4914f6cdd1dull;

static double urand(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (double)((rng * 0x2545f4914f6cdd1dull) >> 11) / 9007199254740992.0;
}

static float *rfill(size_t n, double lo, double hi)
{
	float *v = malloc(n * sizeof(float));

	for (size_t i = 0; v && i < n; i++)
		v[i] = (float)(lo + (hi - lo) * urand());
	return v;
}

/* A random model: dim 32, hidden 40, 2 layers, 4 heads, 2 kv heads. */
static void small_model(struct qprep *p)
{
	size_t L, d, h;

	memset(p, 0, sizeof(*p));
	p->dim = 32;
	p->hidden = 40;
	p->n_layers = 2;
	p->n_heads = 4;
	p->n_kv_heads = 2;
	p->hs = 8;
	p->kv = 16;
	p->vocab = 48;
	p->seq_len = 24;
	p->nqkv = p->dim + 2 * p->kv;
	L = 2;
	d = 32;
	h = 40;
	p->emb = rfill((size_t)p->vocab * d, -1.0, 1.0);
	p->g_att = rfill(L * d, 0.5, 1.5);
	p->g_ffn = rfill(L * d, 0.5, 1.5);
	p->g_fin = rfill(d, 0.5, 1.5);
	p->wqkv = rfill(L * (size_t)p->nqkv * d, -0.3, 0.3);
	p->wo = rfill(L * d * d, -0.3, 0.3);
	p->w13 = rfill(L * 2 * h * d, -0.3, 0.3);
	p->w2 = rfill(L * d * h, -0.25, 0.25);
	p->wcls = rfill((size_t)p->vocab * d, -1.0, 1.0);
	p->rope_cos = malloc((size_t)p->seq_len * 4 * sizeof(float));
	p->rope_sin = malloc((size_t)p->seq_len * 4 * sizeof(float));
	for (int pos = 0; pos < p->seq_len; pos++)
		for (int i = 0; i < 4; i++) {
			double a = pos / pow(10000.0, 2.0 * i / 8.0);

			p->rope_cos[pos * 4 + i] = (float)cos(a);
			p->rope_sin[pos * 4 + i] = (float)sin(a);
		}
}

static float *tensor(struct qprep *p, int i, size_t *n)
{
	size_t L = (size_t)p->n_layers, d = (size_t)p->dim, h = (size_t)p->hidden;
	float *t[] = { p->wqkv, p->wo, p->w13, p->w2, p->g_att, p->g_ffn, p->g_fin };
	size_t s[] = { L * (size_t)p->nqkv * d, L * d * d, L * 2 * h * d, L * d * h,
		       L * d, L * d, d };

	*n = s[i];
	return t[i];
}

static double kl_of(const struct qprep *t, const struct qprep *s, const int *tok, int T)
{
	struct qprep g;
	double kl = -1.0;

	if (qtune_grad_alloc(s, &g))
		return -1.0;
	if (qtune_loss_grad(t, s, tok, T, &g, &kl))
		kl = -1.0;
	qprep_free(&g);
	return kl;
}

TEST(gradient_matches_finite_differences)
{
	static const char *const names[] = { "wqkv", "wo", "w13", "w2", "g_att",
					     "g_ffn", "g_fin" };
	struct qprep t, s, g;
	int tok[20], T = 20, checked = 0;
	double kl;

	small_model(&t);
	ASSERT_EQ(0, qprep_copy(&t, &s));
	for (int i = 0; i < 7; i++) {
		size_t n;
		float *v = tensor(&s, i, &n);

		for (size_t j = 0; j < n; j++)
			v[j] *= (float)(1.0 + 0.3 * (urand() - 0.5));
	}
	for (int i = 0; i < T; i++)
		tok[i] = (int)(urand() * t.vocab);
	ASSERT_EQ(0, qtune_grad_alloc(&s, &g));
	ASSERT_EQ(0, qtune_loss_grad(&t, &s, tok, T, &g, &kl));
	ASSERT_GT(kl, 1e-3);
	for (int i = 0; i < 7; i++) {
		size_t n;
		float *v = tensor(&s, i, &n), *gv = tensor(&g, i, &n);

		/* the largest gradients of each tensor: clear of float noise */
		for (int r = 0; r < 6; r++) {
			size_t j = 0;
			double gmax = -1.0, h = 1e-2, num, lp, lm;
			float v0;

			for (size_t k = 0; k < n; k++)
				if (fabs(gv[k]) > gmax && fabs(gv[k]) < 1e30) {
					gmax = fabs(gv[k]);
					j = k;
				}
			v0 = v[j];
			v[j] = (float)(v0 + h);
			lp = kl_of(&t, &s, tok, T);
			v[j] = (float)(v0 - h);
			lm = kl_of(&t, &s, tok, T);
			v[j] = v0;
			num = (lp - lm) / (2 * h);
			EXPECT_LE(fabs(num - gv[j]), 0.03 * fabs(num) + 2e-4) {
				TH_LOG("%s[%zu]: backward %.6g, finite difference %.6g",
				       names[i], j, gv[j], num);
			}
			gv[j] = 1e31f;	/* next largest on the next round */
			checked++;
		}
	}
	EXPECT_EQ(42, checked);
	qprep_free(&g);
	qprep_free(&s);
	qprep_free(&t);
}

/*
 * KL(float || rounded) of the model over its stories: rounded on the
 * grids @sc, or if @sc is NULL on the quantizer's round-to-nearest grids
 * (int4 in groups of @group, with zero points if @zero).
 */
static double rounded_kl(const struct qprep *ref, const struct qprep *lat,
			 const struct qtune_scales *sc, const struct qtokens *tk,
			 int group, int zero)
{
	struct qprep st;
	double sum = 0.0, kl;
	uint64_t n = 0;

	if (qprep_copy(lat, &st))
		return -1.0;
	for (int l = 0; l < lat->n_layers; l++)
		for (int li = 0; li < 4; li++) {
			int rn, rk, ng;
			float *src = qprep_layer((struct qprep *)lat, l, li, &rn, &rk);
			float *dst = qprep_layer(&st, l, li, &rn, &rk);
			double s[96];
			uint8_t gs[96 * 3];
			int8_t q[96 * 40], z[96 * 3];

			ng = (rk + group - 1) / group;
			memset(z, 0, sizeof(z));
			if (!sc && inpu_quant_matrix_ex(src, (uint32_t)rn, (uint32_t)rk, 1, 0,
							group, zero ? z : NULL, q, gs, s))
				return -1.0;
			for (int i = 0; i < rn; i++)
				for (int j = 0; j < rk; j++) {
					double si = sc ? sc->s[l][li][i] : s[i];
					int g = sc ? sc->gs[l][li][i * ng + j / group] :
						     gs[i * ng + j / group];
					int zz = sc ? sc->z[l][li][i * ng + j / group] :
						      z[i * ng + j / group];

					dst[i * rk + j] = (float)((qround(src[i * rk + j], si, g, zz,
									  1) - zz) * (g * si));
				}
		}
	for (uint32_t i = 0; i < tk->n; i++) {
		kl = kl_of(ref, &st, tk->story[i], tk->len[i] - 1);
		if (kl < 0)
			return -1.0;
		sum += kl;
		n += (uint64_t)(tk->len[i] - 1);
	}
	qprep_free(&st);
	return sum / (double)n;
}

/* Eight random stories of 10..17 tokens. */
static void stories(const struct qprep *ref, struct qtokens *tk)
{
	memset(tk, 0, sizeof(*tk));
	tk->n = 8;
	tk->story = calloc(tk->n, sizeof(*tk->story));
	tk->len = calloc(tk->n, sizeof(*tk->len));
	for (uint32_t i = 0; i < tk->n; i++) {
		tk->len[i] = 10 + (int)i;
		tk->story[i] = malloc((size_t)tk->len[i] * sizeof(int));
		for (int j = 0; j < tk->len[i]; j++)
			tk->story[i][j] = (int)(urand() * ref->vocab);
		tk->total += (uint64_t)(tk->len[i] - 1);
	}
}

TEST(tuning_brings_the_rounded_model_closer)
{
	struct qtune_opts o = { .epochs = 30, .batch = 3, .lr = 2e-3,
				.norm_lr = 2e-4, .scale_lr = 4e-3, .w4 = 1, .threads = 2 };
	struct qtune_scales sc, sc2;
	struct qprep ref, lat, lat2;
	struct qtokens tk;
	double before, after, k0, k1, j0, j1;

	small_model(&ref);
	ASSERT_EQ(0, qprep_copy(&ref, &lat));
	stories(&ref, &tk);
	ASSERT_NE(NULL, tk.story[tk.n - 1]);
	before = rounded_kl(&ref, &lat, NULL, &tk, 32, 0);
	ASSERT_GT(before, 0.0);
	ASSERT_EQ(0, qtune_run(&lat, NULL, &tk, &o, &sc, &k0, &k1));
	after = rounded_kl(&ref, &lat, &sc, &tk, 32, 0);
	TH_LOG("KL(float || rounded) per token: %.5f before, %.5f after "
	       "(first pass %.5f, last %.5f)", before, after, k0, k1);
	ASSERT_GT(after, 0.0);
	EXPECT_LT(after, 0.5 * before);
	EXPECT_LT(k1, k0);
	/*
	 * deterministic: the same run again gives the same bits, on one
	 * thread as on several (each story's gradient is summed in order)
	 */
	o.threads = 1;
	ASSERT_EQ(0, qprep_copy(&ref, &lat2));
	ASSERT_EQ(0, qtune_run(&lat2, NULL, &tk, &o, &sc2, &j0, &j1));
	EXPECT_EQ(0, memcmp(lat.w13, lat2.w13, (size_t)2 * 2 * ref.hidden *
			    ref.dim * sizeof(float)));
	EXPECT_EQ(0, memcmp(lat.g_fin, lat2.g_fin, (size_t)ref.dim * sizeof(float)));
	EXPECT_EQ(0, memcmp(sc.s[1][3], sc2.s[1][3], (size_t)ref.dim * sizeof(double)));
	EXPECT_EQ(k1, j1);
	qtune_scales_free(&sc2);
	qprep_free(&lat2);
	/* the embedding and the classifier are not trained */
	EXPECT_EQ(0, memcmp(ref.emb, lat.emb, (size_t)ref.vocab * ref.dim * sizeof(float)));
	EXPECT_EQ(0, memcmp(ref.wcls, lat.wcls, (size_t)ref.vocab * ref.dim * sizeof(float)));
	qtune_scales_free(&sc);
	qtokens_free(&tk);
	qprep_free(&lat);
	qprep_free(&ref);
}

/*
 * The same with int4 groups of 16 and zero points: the grids keep the
 * round-to-nearest zero points (in -8..7), which already round closer
 * than symmetric groups of 32, and tuning halves the KL again.
 */
TEST(tuning_with_zero_points_and_small_groups)
{
	struct qtune_opts o = { .epochs = 30, .batch = 3, .lr = 2e-3,
				.norm_lr = 2e-4, .scale_lr = 4e-3, .w4 = 1, .threads = 2,
				.group = 16, .zero = 1 };
	struct qtune_scales sc;
	struct qprep ref, lat;
	struct qtokens tk;
	double sym, before, after, k0, k1;
	int8_t q[96 * 40], z[96 * 3];
	uint8_t gs[96 * 3];
	double s[96];
	const float *w;
	int n, k;

	small_model(&ref);
	ASSERT_EQ(0, qprep_copy(&ref, &lat));
	stories(&ref, &tk);
	ASSERT_NE(NULL, tk.story[tk.n - 1]);
	sym = rounded_kl(&ref, &lat, NULL, &tk, 32, 0);
	before = rounded_kl(&ref, &lat, NULL, &tk, 16, 1);
	ASSERT_GT(before, 0.0);
	EXPECT_LT(before, sym);
	ASSERT_EQ(0, qtune_run(&lat, NULL, &tk, &o, &sc, &k0, &k1));
	after = rounded_kl(&ref, &lat, &sc, &tk, 16, 1);
	TH_LOG("KL per token: symmetric groups of 32 %.5f; groups of 16 with zero points %.5f before, %.5f after tuning",
	       sym, before, after);
	EXPECT_EQ(16, sc.group);
	EXPECT_LT(after, 0.5 * before);
	/* the zero points are the round-to-nearest ones of the float weights */
	w = qprep_layer(&ref, 1, 2, &n, &k);
	ASSERT_EQ(0, inpu_quant_matrix_ex(w, (uint32_t)n, (uint32_t)k, 1, 0, 16, z, q, gs,
					  s));
	EXPECT_EQ(0, memcmp(z, sc.z[1][2], (size_t)n * ((k + 15) / 16)));
	for (int i = 0; i < n * ((k + 15) / 16); i++) {
		ASSERT_GE(z[i], -8);
		ASSERT_LE(z[i], 7);
	}
	qtune_scales_free(&sc);
	qtokens_free(&tk);
	qprep_free(&lat);
	qprep_free(&ref);
}

TEST_HARNESS_MAIN
