// SPDX-License-Identifier: MIT
/*
 * The integer model of stories260K end to end: quantized here from a
 * subset of the calibration file (the sanitizer build is about 12 times
 * slower than the plain one, so the full calibration is not a host test;
 * README.md has the full-size numbers), then run by the CPU backend
 * through the engine:
 *  - the quantizer is deterministic (same options, same bytes);
 *  - the greedy text from a fixed prompt equals a pinned value;
 *  - integer and float logits agree on the dev text (top-1 rate);
 *  - perplexity on a few dev stories is close to float;
 *  - scalar and SIMD engine kernels give bit-identical logits;
 *  - the per-step code (qmodel.o, qgraph.o, qcpu.o) has no floating point.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inpu_engine.h"
#include "backend.h"
#include "file.h"
#include "generate.h"
#include "tokenizer.h"
#include "model.h"
#include "ppl.h"
#include "qmodel.h"
#include "qgraph.h"
#include "qcpu.h"
#include "qlm.h"
#include "quantize.h"
#include "model_util.h"
#include "kselftest_harness.h"

#define SHARED_CALIB	"data/tinystories-calib.txt"

/* Calibration subset of the test model: the first stories only. */
#define CALIB_STORIES	4
#define CALIB_SAMPLES	256
/* Dev stories scored by the agreement and perplexity tests. */
#define DEV_STORIES	2

/*
 * The model every test uses, quantized once before the harness forks the
 * tests (constructor below): W8A8, SmoothQuant alpha 0.5 everywhere (no
 * search, to keep the sanitizer build fast), MSE activation clipping.
 */
static struct {
	int ret;
	char err[INPU_MODEL_ERRLEN];
	struct inpu_model *m;
	struct inpu_tokenizer *t;
	char *calib, *dev;
	size_t calib_len, dev_len;
	struct inpu_qmodel *qm;
} g;

static void test_opts(struct inpu_quant_opts *o)
{
	inpu_quant_opts_default(o);
	o->smooth = 1;
	o->alpha = 0.5;
	o->max_stories = CALIB_STORIES;
	o->n_sample = CALIB_SAMPLES;
}

__attribute__((constructor)) static void setup_model(void)
{
	char path[PATH_MAX];
	struct inpu_quant_opts o;

	g.ret = -ENOENT;
	if (shared_path(SHARED_MODEL, path, sizeof(path)) ||
	    inpu_model_load(path, &g.m, g.err, sizeof(g.err)) ||
	    shared_path(SHARED_TOK, path, sizeof(path)) ||
	    inpu_tokenizer_load(path, &g.t, g.err, sizeof(g.err)) ||
	    shared_path(SHARED_CALIB, path, sizeof(path)) ||
	    inpu_read_file(path, &g.calib, &g.calib_len, g.err, sizeof(g.err)) ||
	    shared_path(SHARED_DEV, path, sizeof(path)) ||
	    inpu_read_file(path, &g.dev, &g.dev_len, g.err, sizeof(g.err))) {
		if (!g.err[0]) {
			char msg[PATH_MAX + 256];

			snprintf(msg, sizeof(msg), SHARED_HINT, path);
			memcpy(g.err, msg, sizeof(g.err) - 1);
		}
		return;
	}
	test_opts(&o);
	g.ret = inpu_quantize(g.m, g.t, g.calib, g.calib_len, &o, &g.qm, NULL,
			      g.err, sizeof(g.err));
}

__attribute__((destructor)) static void teardown_model(void)
{
	inpu_qmodel_free(g.qm);
	inpu_model_free(g.m);
	inpu_tokenizer_free(g.t);
	free(g.calib);
	free(g.dev);
}

#define NEED_MODEL() ASSERT_EQ(0, g.ret) { TH_LOG("%s", g.err); }

/* Greedy decoding with the integer model: the stream's own ARGMAX. */
static int greedy(struct inpu_qcpu *c, const char *prompt, int steps,
		  char *out, size_t cap)
{
	int tok[64];
	long n = inpu_tokenizer_encode(g.t, prompt, strlen(prompt), 1, 0, tok, 64);
	size_t len = 0;
	int token;

	if (n < 1)
		return -1;
	token = tok[0];
	for (int pos = 0; pos < steps; pos++) {
		const char *piece;
		size_t pl;
		int next;

		if (!inpu_qcpu_step(c, token, pos))
			return -1;
		next = pos < n - 1 ? tok[pos + 1] : inpu_qcpu_next(c);
		if (next == INPU_TOK_BOS)
			break;
		piece = inpu_tokenizer_piece(g.t, token, next, &pl);
		if (len + pl + 1 > cap)
			break;
		memcpy(out + len, piece, pl);
		len += pl;
		token = next;
	}
	out[len] = '\0';
	return 0;
}

/*
 * A regression pin, not a correctness oracle: this is what the integer
 * model quantized with test_opts() writes today.  It was generated once
 * by this test and checked in; any change to the quantizer, the graph or
 * the engine that changes a single logit enough to flip an argmax changes
 * it.  If such a change is intended, check the perplexity (README.md) and
 * update the pin.  (The float model's text, for comparison: "Once upon a
 * time, there was a little girl named Lily. She loved to play outside in
 * the park. One day, she saw a big, red ball..."; with static scales and
 * int8 keys the integer model went "...play with her toys and eat cars".)
 */
#define PINNED_PROMPT	"Once upon a time"
#define PINNED_STEPS	48
#define PINNED_TEXT \
	"Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball. She wanted to"

TEST(greedy_text_is_pinned)
{
	char err[INPU_MODEL_ERRLEN], text[1024];
	struct inpu_qcpu *c;

	NEED_MODEL();
	ASSERT_EQ(0, inpu_qcpu_new(g.qm, -1, &c, err, sizeof(err))) {
		TH_LOG("%s", err);
	}
	ASSERT_EQ(0, greedy(c, PINNED_PROMPT, PINNED_STEPS, text, sizeof(text)));
	TH_LOG("greedy: %s", text);
	EXPECT_STREQ(PINNED_TEXT, text);
	inpu_qcpu_free(c);
}

/*
 * Top-1 agreement of @c with the float model on the first DEV_STORIES dev
 * stories, every position (teacher forcing with the dev tokens), in
 * percent; -1 on an error.
 */
static double agreement(struct inpu_qcpu *c, double *logit_err)
{
	const char *pos = g.dev, *end = g.dev + g.dev_len, *s;
	struct inpu_float_state *fs;
	long agree = 0, total = 0;
	double dl = 0.0;
	int stories = 0;
	size_t l;

	if (inpu_float_state_new(g.m, &fs))
		return -1.0;
	while (stories < DEV_STORIES && inpu_story_next(&pos, end, &s, &l)) {
		char *buf = malloc(l + 1);
		int *tok = malloc(inpu_tokenizer_max_tokens(l) * sizeof(int));
		long n = -1;

		if (buf && tok)
			n = inpu_tokenizer_encode(g.t, buf, inpu_story_normalize(s, l, buf),
						  1, 0, tok, inpu_tokenizer_max_tokens(l));
		if (n > g.m->cfg.seq_len)
			n = g.m->cfg.seq_len;
		for (long p = 0; p + 1 < n; p++) {
			const float *fl = inpu_float_forward(fs, tok[p], (int)p);
			const int32_t *il = inpu_qcpu_step(c, tok[p], (int)p);
			int fa;

			if (!fl || !il) {
				n = -1;
				break;
			}
			fa = inpu_argmax(fl, g.m->cfg.vocab_size);
			agree += fa == inpu_qcpu_next(c);
			/* the logit of the float model's choice, in nats */
			dl += fabs(fl[fa] - il[fa] / ldexp(1.0, (int)g.qm->cfg.logit_frac));
			total++;
		}
		free(buf);
		free(tok);
		if (n < 0) {
			inpu_float_state_free(fs);
			return -1.0;
		}
		stories++;
	}
	inpu_float_state_free(fs);
	if (logit_err)
		*logit_err = total ? dl / total : 0.0;
	return total ? 100.0 * agree / total : -1.0;
}

/*
 * With the full calibration the agreement is about 94.5% (README.md);
 * this 4-story calibration model reaches about 94% on these stories.
 * The threshold, 90%, leaves that margin for harmless changes (another
 * calibration subset, another rounding choice) and still fails a broken
 * integer path: broken_scale_is_caught below doubles one rescale of one
 * layer, which costs about 6.5 points (93.9% -> 87.4%).
 */
#define AGREE_MIN	90.0

TEST(integer_and_float_logits_agree)
{
	char err[INPU_MODEL_ERRLEN];
	struct inpu_qcpu *c;
	double rate, dl;

	NEED_MODEL();
	ASSERT_EQ(0, inpu_qcpu_new(g.qm, -1, &c, err, sizeof(err)));
	rate = agreement(c, &dl);
	TH_LOG("top-1 agreement %.1f%%, mean |logit error| %.3f", rate, dl);
	EXPECT_GE(rate, AGREE_MIN);
	inpu_qcpu_free(c);
}

/*
 * The agreement test has teeth: the same model with the attention output
 * rescale of layer 1 doubled (a plausible bug: a factor 2 taken twice or
 * a shift off by one) falls below the threshold.
 */
TEST(broken_scale_is_caught)
{
	char err[INPU_MODEL_ERRLEN];
	struct inpu_qcpu *c;
	double rate;

	NEED_MODEL();
	g.qm->layers[1].att_shift_out--;	/* x2: this child's copy only */
	ASSERT_EQ(0, inpu_qcpu_new(g.qm, -1, &c, err, sizeof(err)));
	rate = agreement(c, NULL);
	TH_LOG("broken model: top-1 agreement %.1f%%", rate);
	EXPECT_GE(rate, 0.0);
	EXPECT_LT(rate, AGREE_MIN);
	inpu_qcpu_free(c);
}

/*
 * Perplexity on the first dev stories through the inpu_lm interface, the
 * code path of 'inpu ppl --backend cpu'.  Within 5% of float even with
 * this small calibration (the full-size W8A8 model is within 1%).
 */
TEST(perplexity_close_to_float)
{
	char err[INPU_MODEL_ERRLEN];
	struct inpu_float_state *fs;
	struct inpu_qcpu *c;
	struct inpu_qlm *q;
	struct inpu_ppl pf, pi;
	struct inpu_lm lf, li;

	NEED_MODEL();
	ASSERT_EQ(0, inpu_qcpu_new(g.qm, -1, &c, err, sizeof(err)));
	ASSERT_EQ(0, inpu_qlm_new(c, g.qm, &q));
	ASSERT_EQ(0, inpu_float_state_new(g.m, &fs));
	lf = (struct inpu_lm){ inpu_float_lm_forward, fs, g.m->cfg.vocab_size,
			       g.m->cfg.seq_len };
	inpu_qlm_lm(q, &li);
	ASSERT_EQ(0, inpu_ppl_text(g.t, &lf, g.dev, g.dev_len, DEV_STORIES,
				   NULL, NULL, &pf));
	ASSERT_EQ(0, inpu_ppl_text(g.t, &li, g.dev, g.dev_len, DEV_STORIES,
				   NULL, NULL, &pi));
	EXPECT_EQ(pf.tokens, pi.tokens);
	TH_LOG("%llu tokens: float ppl %.4f, integer ppl %.4f (%+.2f%%)",
	       (unsigned long long)pf.tokens, inpu_ppl_value(&pf),
	       inpu_ppl_value(&pi),
	       100.0 * (inpu_ppl_value(&pi) / inpu_ppl_value(&pf) - 1.0));
	EXPECT_LT(inpu_ppl_value(&pi), inpu_ppl_value(&pf) * 1.05);
	inpu_float_state_free(fs);
	inpu_qlm_free(q);
	inpu_qcpu_free(c);
}

/* The engine's scalar and SIMD kernels give the same integers. */
TEST(scalar_and_simd_bit_exact)
{
	char err[INPU_MODEL_ERRLEN];
	struct inpu_qcpu *a, *b;
	int toks[] = { 1, 403, 407, 261, 378, 322, 275, 289 };

	NEED_MODEL();
	ASSERT_EQ(0, inpu_qcpu_new(g.qm, INPU_ISA_SCALAR, &a, err, sizeof(err)));
	ASSERT_EQ(0, inpu_qcpu_new(g.qm, -1, &b, err, sizeof(err)));
	TH_LOG("comparing scalar with %s", inpu_isa_level_name(inpu_cpu_isa_level()));
	for (int pos = 0; pos < 64; pos++) {
		int tok = pos < 8 ? toks[pos] : inpu_qcpu_next(a);
		const int32_t *la = inpu_qcpu_step(a, tok, pos);
		const int32_t *lb = inpu_qcpu_step(b, tok, pos);

		ASSERT_NE(NULL, la);
		ASSERT_NE(NULL, lb);
		ASSERT_EQ(0, memcmp(la, lb, g.qm->cfg.vocab_size * sizeof(*la))) {
			TH_LOG("position %d", pos);
		}
	}
	inpu_qcpu_free(a);
	inpu_qcpu_free(b);
}

/*
 * Prefill (inpu_qcpu_prefill: n tokens per run of the matrix-matrix
 * stream) leaves the KV caches and the logits exactly as n steps do, for
 * batches of small sizes, both sides of the engine's row chunk (64) and
 * the maximum, each at a later position.
 */
TEST(prefill_matches_steps)
{
	const struct inpu_qconfig *c;
	char err[INPU_MODEL_ERRLEN];
	struct inpu_qcpu *a, *b;
	const struct inpu_qlayout *la;
	const int32_t *lga = NULL, *lgb = NULL;
	static const int sizes[] = { 1, 2, 3, 7, 16, 63, 64, 65, 127,
				     INPU_QGRAPH_MAX_ROWS };
	int toks[512], pos = 0, n;
	uint64_t cache;

	NEED_MODEL();
	c = &g.qm->cfg;
	for (int i = 0; i < 512; i++)
		toks[i] = i ? 259 + (i * 37) % 250 : 1;
	ASSERT_EQ(0, inpu_qcpu_new(g.qm, -1, &a, err, sizeof(err)));
	ASSERT_EQ(0, inpu_qcpu_new(g.qm, -1, &b, err, sizeof(err)));
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		n = sizes[s];
		ASSERT_LE((uint32_t)(pos + n), c->seq_len);
		for (int i = 0; i < n; i++)
			ASSERT_NE(NULL, lga = inpu_qcpu_step(a, toks[pos + i], pos + i));
		lgb = inpu_qcpu_prefill(b, toks + pos, n, pos);
		ASSERT_NE(NULL, lgb) {
			TH_LOG("prefill of %d at %d: status %d", n, pos,
			       inpu_qcpu_status(b));
		}
		ASSERT_EQ(0, memcmp(lga, lgb, c->vocab_size * sizeof(*lga))) {
			TH_LOG("logits after a batch of %d at %d", n, pos);
		}
		ASSERT_EQ(inpu_qcpu_next(a), inpu_qcpu_next(b));
		pos += n;
	}
	la = inpu_qcpu_layout(a);
	cache = (uint64_t)c->n_layers * c->seq_len * c->head_dim * c->n_kv_heads;
	EXPECT_EQ(0, memcmp(inpu_qcpu_state(a, la->kcache),
			    inpu_qcpu_state(b, la->kcache), cache));
	EXPECT_EQ(0, memcmp(inpu_qcpu_state(a, la->vcache),
			    inpu_qcpu_state(b, la->vcache), cache));
	/* A batch reaching past seq_len is refused. */
	EXPECT_EQ(NULL, inpu_qcpu_prefill(b, toks, 4, c->seq_len - 3));
	EXPECT_EQ(NULL, inpu_qcpu_prefill(b, toks, INPU_QGRAPH_MAX_ROWS + 1, 0));
	inpu_qcpu_free(a);
	inpu_qcpu_free(b);
}

/* Greedy ids of inpu_generate() on the cpu backend with @batch. */
static int gen_run(const int *tok, int n, int steps, int batch,
		   struct inpu_gen_stats *st)
{
	struct inpu_gen_opts o = { .steps = steps, .batch = batch,
				   .depth = 1, .per_job = 1,
				   .ignore_eos = 1 };
	char err[INPU_MODEL_ERRLEN];
	struct inpu_backend *b;
	int ret;

	if (inpu_backend_cpu_new(g.qm, NULL, &b, err, sizeof(err)))
		return -1;
	ret = inpu_generate(b, tok, n, &o, st);
	inpu_backend_free(b);
	return ret;
}

/*
 * The generation loop with prefill jobs (the last one choosing the first
 * generated token, a last single prompt token as a step) gives the ids
 * and counts of one step per position: prompts that end a batch, leave
 * one token, or fill every position.
 */
TEST(generation_with_prefill_matches_steps)
{
	static const int cases[][3] = {	/* prompt, positions, batch */
		{ 11, 30, 5 }, { 10, 30, 5 }, { 11, 11, 5 }, { 40, 60, 128 },
		{ 2, 12, 128 }, { 1, 8, 128 },
	};
	int tok[64];

	NEED_MODEL();
	for (int i = 0; i < 64; i++)
		tok[i] = i ? 259 + (i * 37) % 250 : 1;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct inpu_gen_stats a, b;
		int n = cases[c][0], steps = cases[c][1];

		ASSERT_EQ(0, gen_run(tok, n, steps, 1, &a));
		ASSERT_EQ(0, gen_run(tok, n, steps, cases[c][2], &b));
		EXPECT_EQ(a.n_prompt, b.n_prompt);
		EXPECT_EQ(a.n_gen, b.n_gen);
		EXPECT_EQ(steps - n + 1, b.n_ids);
		ASSERT_EQ(a.n_ids, b.n_ids);
		EXPECT_EQ(0, memcmp(a.gen, b.gen, (size_t)a.n_ids * sizeof(int))) {
			TH_LOG("prompt %d, %d positions, batch %d", n, steps,
			       cases[c][2]);
		}
		inpu_gen_stats_free(&a);
		inpu_gen_stats_free(&b);
	}
}

/*
 * Chained steps (DEVICE.md): k copies of the step stream validate for
 * every k a job can hold, and a k past the parameters a stream has is
 * refused rather than written past them.
 */
TEST(repeated_steps_validate_up_to_the_parameter_limit)
{
	char err[INPU_MODEL_ERRLEN];
	struct inpu_region regions[2];
	struct inpu_qlayout lay;
	struct inpu_verror verr;
	size_t len, klen;
	void *one, *ms;

	NEED_MODEL();
	memset(regions, 0, sizeof(regions));
	ASSERT_EQ(0, inpu_qgraph_layout(g.qm, 1u << 20, 1u << 30, &lay));
	ASSERT_EQ(0, inpu_qgraph_build(g.qm, &lay, &one, &len, err, sizeof(err)));
	regions[0].start = lay.wbase;
	regions[0].len = lay.wsize;
	regions[0].flags = INPU_REGION_READ;
	regions[1].start = lay.sbase;
	regions[1].len = lay.ssize;
	regions[1].flags = INPU_REGION_READ | INPU_REGION_WRITE;
	for (int k = 1; k <= INPU_MAX_PARAMS; k++) {
		ms = inpu_qgraph_repeat(one, k, g.qm->cfg.seq_len, &klen);
		ASSERT_NE(NULL, ms);
		EXPECT_EQ(0, inpu_validate_stream(ms, klen, regions, 2, &verr)) {
			TH_LOG("%d steps: %s at op %u", k,
			       inpu_status_name(inpu_validate_stream(ms, klen, regions, 2, &verr)),
			       verr.op);
		}
		free(ms);
	}
	EXPECT_EQ(NULL, inpu_qgraph_repeat(one, INPU_MAX_PARAMS + 1,
					   g.qm->cfg.seq_len, &klen));
	EXPECT_EQ(NULL, inpu_qgraph_repeat(one, 0, g.qm->cfg.seq_len, &klen));
	free(one);
}

/* Linear layers of the blocks with int4 weights. */
static uint32_t count_w4(const struct inpu_qmodel *m)
{
	static const char *const lin[] = { "qkv", "wo", "w13", "w2" };
	uint32_t n = 0;
	char name[64];

	for (uint32_t l = 0; l < m->cfg.n_layers; l++)
		for (int i = 0; i < 4; i++) {
			const struct inpu_qtensor *t;

			snprintf(name, sizeof(name), "l%u.%s.w", l, lin[i]);
			t = inpu_qmodel_find(m, name);
			n += t && t->dtype == INPU_DT_W4_TILED;
		}
	return n;
}

/*
 * Same inputs and options, same bytes: here with the searched smoothing,
 * GPTQ and W4A8, on a smaller calibration subset (two quantizations).
 */
TEST(quantizer_is_deterministic)
{
	struct inpu_quant_opts o;
	struct inpu_qmodel *a, *b;
	char err[INPU_MODEL_ERRLEN];
	uint8_t *ba, *bb;
	size_t la, lb;

	NEED_MODEL();
	test_opts(&o);
	o.scheme = INPU_QS_W4A8;
	o.smooth = 2;
	o.gptq = 1;
	o.max_stories = 1;
	o.n_sample = 32;
	ASSERT_EQ(0, inpu_quantize(g.m, g.t, g.calib, g.calib_len, &o, &a, NULL,
				   err, sizeof(err))) {
		TH_LOG("%s", err);
	}
	ASSERT_EQ(0, inpu_quantize(g.m, g.t, g.calib, g.calib_len, &o, &b, NULL,
				   err, sizeof(err)));
	ASSERT_EQ(0, inpu_qmodel_serialize(a, &ba, &la, err, sizeof(err)));
	ASSERT_EQ(0, inpu_qmodel_serialize(b, &bb, &lb, err, sizeof(err)));
	ASSERT_EQ(la, lb);
	EXPECT_EQ(0, memcmp(ba, bb, la));
	EXPECT_EQ((uint32_t)INPU_QS_W4A8, a->cfg.scheme);
	/* the default budget mixes: most block layers 4-bit, some 8-bit */
	EXPECT_GT(count_w4(a), a->cfg.n_layers * 2);
	EXPECT_LT(count_w4(a), a->cfg.n_layers * 4);
	EXPECT_EQ(INPU_DT_W8_TILED, inpu_qmodel_find(a, "cls.w")->dtype);
	free(ba);
	free(bb);
	inpu_qmodel_free(a);
	inpu_qmodel_free(b);
}

/* Perplexity of @qm on the first stories of @text (the cpu backend). */
static double text_ppl(struct inpu_qmodel *qm, const char *text, size_t len, int stories)
{
	char err[INPU_MODEL_ERRLEN];
	struct inpu_qcpu *c;
	struct inpu_qlm *q;
	struct inpu_ppl pi;
	struct inpu_lm li;
	double v = -1.0;

	if (inpu_qcpu_new(qm, -1, &c, err, sizeof(err)))
		return -1.0;
	if (!inpu_qlm_new(c, qm, &q)) {
		inpu_qlm_lm(q, &li);
		if (!inpu_ppl_text(g.t, &li, text, len, stories, NULL, NULL, &pi))
			v = inpu_ppl_value(&pi);
		inpu_qlm_free(q);
	}
	inpu_qcpu_free(c);
	return v;
}

/*
 * Fine-tuning (--finetune) on a few calibration stories gives a W4A8
 * integer model with a lower perplexity on those stories than round-to-
 * nearest: what was tuned in float is what the .inpu model computes
 * (on so few stories it does not carry over to the dev text; the full
 * calibration file does, README.md).
 */
TEST(finetuning_beats_round_to_nearest)
{
	struct inpu_quant_opts o;
	struct inpu_qmodel *rtn, *ft, *bad = NULL;
	struct inpu_quant_report *rep = calloc(1, sizeof(*rep));
	char err[INPU_MODEL_ERRLEN];
	double p_rtn, p_ft;

	NEED_MODEL();
	ASSERT_NE(NULL, rep);
	test_opts(&o);
	o.scheme = INPU_QS_W4A8;
	o.smooth = 0;
	o.max_stories = 2;
	/*
	 * Byte scales and zero points, every layer 4-bit: on two stories and
	 * two passes the default 4-bit codes, whose coarser grids stay as
	 * round-to-nearest chose them, measured no better than rounding
	 * (3.7824 against 3.7558); on the whole calibration text fine-tuning
	 * wins for both formats (README.md).
	 */
	o.w4_codes = 0;
	ASSERT_EQ(0, inpu_quantize(g.m, g.t, g.calib, g.calib_len, &o, &rtn, NULL,
				   err, sizeof(err)));
	o.ft_epochs = 2;
	ASSERT_EQ(0, inpu_quantize(g.m, g.t, g.calib, g.calib_len, &o, &ft, rep,
				   err, sizeof(err))) {
		TH_LOG("%s", err);
	}
	EXPECT_LT(rep->ft_kl_last, rep->ft_kl_first);
	p_rtn = text_ppl(rtn, g.calib, g.calib_len, 2);
	p_ft = text_ppl(ft, g.calib, g.calib_len, 2);
	TH_LOG("calibration stories ppl: rtn %.4f, fine-tuned %.4f; KL %.5f -> %.5f", p_rtn, p_ft,
	       rep->ft_kl_first, rep->ft_kl_last);
	ASSERT_GT(p_rtn, 0.0);
	ASSERT_GT(p_ft, 0.0);
	EXPECT_LT(p_ft, p_rtn);
	/* a learning rate of 0 is refused with a message */
	o.ft_lr = 0.0;
	EXPECT_EQ(-EINVAL, inpu_quantize(g.m, g.t, g.calib, g.calib_len, &o, &bad, NULL,
					 err, sizeof(err)));
	EXPECT_EQ(NULL, bad);
	EXPECT_NE(NULL, strstr(err, "learning rate"));
	free(rep);
	inpu_qmodel_free(ft);
	inpu_qmodel_free(rtn);
}

/*
 * The objects of the per-step path contain no floating-point instruction
 * (the gate of tests/host/check_no_float.sh, on the sanitizer build this
 * test links).
 */
TEST(step_path_has_no_floating_point)
{
	char root[PATH_MAX], cmd[4 * PATH_MAX];

	ASSERT_EQ(0, repo_root(root, sizeof(root)));
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && bash tests/host/check_no_float.sh build/asan/runtime/qmodel.o "
		 "build/asan/runtime/qgraph.o build/asan/runtime/qcpu.o >&2", root);
	EXPECT_EQ(0, system(cmd));
}

TEST_HARNESS_MAIN
