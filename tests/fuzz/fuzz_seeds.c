// SPDX-License-Identifier: MIT
/*
 * Seed inputs for the libFuzzer targets, written at test time (no binary
 * files in git): fuzz_seeds TARGET DIR, TARGET one of validate, qmodel,
 * checkpoint, tokenizer, gguf.  Small valid inputs, so that the fuzzers start
 * past the format checks: tiny .inpu models made by the real writer, their
 * step streams (qgraph.c) plus a stream with the ops and MATMUL forms the
 * graph does not use, a v0 and a v1 llama2.c checkpoint, a tokenizer and
 * two tiny llama GGUF files.  tests/check.sh adds the shared stories260K.bin
 * and tok512.bin (and the shared GGUF files).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <inpu/inpu_fw.h>

#include "file.h"
#include "model.h"
#include "qmodel.h"
#include "qgraph.h"
#include "tables_gen.h"

static const char *dir;
static uint32_t rng = 12345;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

static void put(const char *name, const void *a, size_t alen, const void *b,
		size_t blen)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(a, 1, alen, f) != alen ||
	    (blen && fwrite(b, 1, blen, f) != blen) || fclose(f)) {
		perror(path);
		exit(1);
	}
}

/* ---- .inpu models and their step streams ------------------------------- */

/* Every required tensor with random contents, valid parameters. */
static struct inpu_qmodel *tiny_model(int w4)
{
	struct inpu_qconfig c = {
		.dim = 8, .hidden_dim = 8, .n_layers = 1, .n_heads = 2,
		.n_kv_heads = 1, .head_dim = 4, .vocab_size = 16, .seq_len = 4,
		.scheme = w4 ? INPU_QS_W4A8 : INPU_QS_W8A8, .logit_frac = 16,
		.fw_abi = INPU_FW_ABI_VERSION,
		.exp_len = INPU_EXP_LEN, .exp_frac = INPU_EXP_FRAC,
		.silu_len = INPU_SILU_LEN, .silu_zero = INPU_SILU_LEN / 2,
		.silu_in_frac = INPU_SILU_IN_FRAC,
		.silu_out_frac = INPU_SILU_OUT_FRAC,
	};
	const struct inpu_qlayer lp = {
		.att_eps = 1000, .att_shift = 22, .qkv_shift = 7,
		.score_mult = 1 << 29, .score_shift = 30, .att_mult = 1 << 30,
		.att_shift_out = 40, .ffn_eps = 1000, .ffn_shift = 22,
		.silu_in_mult = 1 << 30, .silu_in_shift = 34,
		.silu_out_mult = 1 << 30, .silu_out_shift = 36,
	};
	struct inpu_qmodel *m = inpu_qmodel_alloc(&c);
	uint32_t kv = c.head_dim * c.n_kv_heads;

	if (!m)
		exit(1);
	inpu_qmodel_add(m, "embed", INPU_DT_INT16, c.vocab_size, c.dim);
	inpu_qmodel_add(m, "rope", INPU_DT_INT16, c.seq_len, c.head_dim);
	inpu_qmodel_add(m, "final.g", INPU_DT_INT32, 1, c.dim);
	inpu_qmodel_add_linear(m, "cls", c.vocab_size, c.dim, 0);
	inpu_qmodel_add(m, "l0.att.g", INPU_DT_INT32, 1, c.dim);
	inpu_qmodel_add_linear_fmt(m, "l0.qkv", c.dim + 2 * kv, c.dim, !!w4,
				   w4 == 2 ? 16 : 32, w4 == 2);
	inpu_qmodel_add_linear_fmt(m, "l0.wo", c.dim, c.dim, !!w4,
				   w4 == 2 ? 16 : 32, w4 == 2);
	inpu_qmodel_add(m, "l0.ffn.g", INPU_DT_INT32, 1, c.dim);
	inpu_qmodel_add_linear_fmt(m, "l0.w13", 2 * c.hidden_dim, c.dim, !!w4,
				   w4 == 2 ? 16 : 32, w4 == 2);
	inpu_qmodel_add_linear_fmt(m, "l0.w2", c.dim, c.hidden_dim, !!w4,
				   w4 == 2 ? 16 : 32, w4 == 2);
	for (uint64_t i = 0; i < m->data_size; i++)
		m->data[i] = (uint8_t)rnd();
	/* Requantization pairs: any multiplier, shifts in 0..62. */
	for (uint32_t i = 0; i < m->n_tensors; i++) {
		const struct inpu_qtensor *t = &m->tensors[i];
		struct inpu_qparam *qp = (struct inpu_qparam *)(m->data + t->offset);

		for (uint32_t j = 0; t->dtype == INPU_DT_QPARAM && j < t->cols; j++) {
			struct inpu_qparam v = { (int32_t)(rnd() >> 1),
						 20 + (int32_t)(rnd() % 30) };

			memcpy(&qp[j], &v, sizeof(v));
		}
	}
	m->layers[0] = lp;
	m->glob.embed_mult = 4;
	m->glob.final_eps = 77;
	m->glob.final_shift = 20;
	snprintf(m->note, sizeof(m->note), "fuzz seed, %s", w4 ? "W4A8" : "W8A8");
	return m;
}

/* The validate fuzzer's input: regions[4], params[8], then the stream. */
struct vprefix {
	struct inpu_region reg[4];
	uint32_t params[INPU_MAX_PARAMS];
};

static void qmodel_seeds(int streams)
{
	char err[INPU_MODEL_ERRLEN];

	/* int8, int4 in groups of 32, int4 in groups of 16 with zero points */
	for (int w4 = 0; w4 < 3; w4++) {
		struct inpu_qmodel *m = tiny_model(w4);
		struct inpu_qlayout lay;
		struct vprefix pre;
		uint8_t *buf;
		void *s;
		size_t len;

		if (!streams) {
			if (inpu_qmodel_serialize(m, &buf, &len, err, sizeof(err))) {
				fprintf(stderr, "fuzz_seeds: %s\n", err);
				exit(1);
			}
			put(w4 == 2 ? "w4a8-g16z.inpu" : w4 ? "w4a8.inpu" : "w8a8.inpu",
			    buf, len, NULL, 0);
			free(buf);
		} else {
			if (inpu_qgraph_layout(m, 0x10000000, 0x20000000, &lay) ||
			    inpu_qgraph_build(m, &lay, &s, &len, err, sizeof(err))) {
				fprintf(stderr, "fuzz_seeds: %s\n", err);
				exit(1);
			}
			memset(&pre, 0, sizeof(pre));
			pre.reg[0] = (struct inpu_region){ lay.wbase, lay.wsize,
							   INPU_REGION_READ, 0 };
			pre.reg[1] = (struct inpu_region){ lay.sbase, lay.ssize,
				INPU_REGION_READ | INPU_REGION_WRITE, 0 };
			pre.params[0] = 2;	/* the position */
			put(w4 == 2 ? "step-w4a8-g16z" : w4 ? "step-w4a8" : "step-w8a8",
			    &pre, sizeof(pre), s, len);
			free(s);
		}
		inpu_qmodel_free(m);
	}
}

static struct inpu_tensor ten(uint64_t addr, uint8_t dt, uint32_t rows,
			      uint32_t cols)
{
	struct inpu_tensor t = { .addr = addr, .rows = rows, .cols = cols,
				 .dtype = dt };

	t.stride = cols * inpu_dtype_size(dt);
	return t;
}

/*
 * The ops and dtypes the step stream does not use; a dynamic operand; a W4
 * MATMUL with groups of 16 and zero points (the tiny models have groups of
 * 32 and no zero points).
 */
static void misc_stream(void)
{
	static struct {
		struct vprefix pre;
		struct inpu_stream_header hdr;
		struct inpu_op op[9];
	} s;
	const uint64_t ro = 0x100000, rw = 0x200000, wo = 0x300000;
	const uint64_t wt = 0x400000;	/* weights: a page, then the rest */
	struct inpu_op *o = s.op;

	s.pre.reg[0] = (struct inpu_region){ ro, 0x1000, INPU_REGION_READ, 0 };
	s.pre.reg[1] = (struct inpu_region){ rw, 0x1000,
		INPU_REGION_READ | INPU_REGION_WRITE, 0 };
	s.pre.reg[2] = (struct inpu_region){ wo, 0x1000, INPU_REGION_WRITE, 0 };
	s.pre.reg[3] = (struct inpu_region){ wt, 0x2000, INPU_REGION_READ, 0 };
	s.pre.params[0] = 3;
	s.hdr.magic = INPU_STREAM_MAGIC;
	s.hdr.version = INPU_STREAM_VERSION;
	s.hdr.n_params = 1;
	s.hdr.params[0].max = 7;

	o->opcode = INPU_OP_FWHT;
	o->u.fwht.x = ten(ro, INPU_DT_INT16, 2, 8);
	o->u.fwht.y = ten(wo, INPU_DT_INT32, 2, 8);
	o->u.fwht.block = 4;
	o->u.fwht.mult = 1 << 20;
	o->u.fwht.shift = 20;
	(++o)->opcode = INPU_OP_SAMPLE;
	o->u.sample.x = ten(ro + 0x100, INPU_DT_INT32, 1, 16);
	o->u.sample.state = ten(rw, INPU_DT_UINT64, 1, 1);
	o->u.sample.y = ten(wo + 0x100, INPU_DT_INT32, 1, 1);
	o->u.sample.temp_mult = 1 << 16;
	o->u.sample.temp_shift = 16;
	o->u.sample.top_p = 60000;
	(++o)->opcode = INPU_OP_COPY;	/* row params[0] of an 8-row table */
	o->u.copy.src = ten(ro + 0x200, INPU_DT_QPARAM, 1, 2);
	o->u.copy.src.dyn_param = 1;
	o->u.copy.src.dyn_mul = 16;
	o->u.copy.dst = ten(rw + 0x100, INPU_DT_QPARAM, 1, 2);
	(++o)->opcode = INPU_OP_EMBED;
	o->u.embed.ids = ten(rw + 0x200, INPU_DT_INT32, 1, 2);
	o->u.embed.table = ten(ro + 0x300, INPU_DT_INT8, 4, 8);
	o->u.embed.y = ten(rw + 0x300, INPU_DT_INT16, 2, 8);
	o->u.embed.mult = 3;
	(++o)->opcode = INPU_OP_RMSNORM;
	o->u.rmsnorm.x = ten(rw + 0x300, INPU_DT_INT16, 2, 8);
	o->u.rmsnorm.g = ten(ro + 0x400, INPU_DT_INT32, 1, 8);
	o->u.rmsnorm.y = ten(rw + 0x400, INPU_DT_INT16, 2, 8);
	o->u.rmsnorm.eps = 1;
	o->u.rmsnorm.shift = 16;
	(++o)->opcode = INPU_OP_ROPE;	/* int8, in place, strided */
	o->u.rope.x = ten(rw + 0x500, INPU_DT_INT8, 2, 8);
	o->u.rope.x.stride = 16;
	o->u.rope.cs = ten(ro + 0x500, INPU_DT_INT16, 2, 4);
	o->u.rope.y = o->u.rope.x;
	o->u.rope.head_dim = 4;
	(++o)->opcode = INPU_OP_ARGMAX;
	o->u.argmax.x = ten(rw + 0x500, INPU_DT_INT8, 2, 8);
	o->u.argmax.x.stride = 16;
	o->u.argmax.y = ten(wo + 0x200, INPU_DT_INT32, 1, 2);
	(++o)->opcode = INPU_OP_MATMUL;	/* N 8, K 40: Kpad 128 / 16, Npad 64 */
	o->u.matmul.x = ten(wt + 0x1460, INPU_DT_INT8, 2, 40);
	o->u.matmul.w = ten(wt, INPU_DT_W4_TILED, 8, 40);	/* stride 0 */
	o->u.matmul.gscale = ten(wt + 0x1000, INPU_DT_UINT8, 8, 64);
	o->u.matmul.bias = ten(wt + 0x1440, INPU_DT_INT32, 1, 8);
	o->u.matmul.qp = ten(wt + 0x1400, INPU_DT_QPARAM, 1, 8);
	o->u.matmul.y = ten(wo + 0x300, INPU_DT_INT16, 2, 8);
	o->u.matmul.gzero = ten(wt + 0x1200, INPU_DT_INT8, 8, 64);
	o->u.matmul.group = INPU_W4_GROUP_SMALL;
	(++o)->opcode = INPU_OP_NOP;
	s.hdr.n_ops = (uint32_t)(o - s.op) + 1;
	put("misc", &s, sizeof(s), NULL, 0);
}

/* ---- llama2.c checkpoints and tokenizer -------------------------------- */

static void checkpoint_seeds(void)
{
	/* dim 4, hidden 8, 1 layer, 2 heads, 1 kv head, vocab 259, seq 4 */
	const int32_t cfg[7] = { 4, 8, 1, 2, 1, 259, 4 };
	/* v0: emb, rms_att, wq, wk, wv, wo, rms_ffn, w1, w2, w3, rms_final,
	 * freq_cis_real and _imag (seq * head / 2 each); shared classifier */
	const size_t v0 = 259 * 4 + 4 + 16 + 8 + 8 + 16 + 4 + 32 * 3 + 4 + 4 + 4;
	/* v1: the same minus freq_cis, plus wcls (unshared) */
	const size_t v1 = v0 - 8 + 259 * 4;
	float w[2 * 259 * 4 + 256];
	const uint32_t v1_id[2] = { INPU_CKPT_MAGIC, 1 };	/* magic, version */
	uint8_t hdr[256] = { 0 };

	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		w[i] = (float)((int32_t)(rnd() % 2001) - 1000) / 1000.0f;
	put("v0.bin", cfg, sizeof(cfg), w, v0 * sizeof(float));
	memcpy(hdr, v1_id, sizeof(v1_id));
	memcpy(hdr + 8, cfg, sizeof(cfg));
	hdr[36] = 0;	/* separate classifier */
	put("v1.bin", hdr, sizeof(hdr), w, v1 * sizeof(float));
}

static void tokenizer_seed(void)
{
	static const char *const extra[] = {
		" ", "a", "b", "c", " a", "ab", " ab", "abc", "\xc3\xa9", " \xc3\xa9",
	};
	static uint8_t buf[8192];
	size_t n = 0;

#define PUT(p, l) do { memcpy(buf + n, p, l); n += l; } while (0)
	int32_t max_len = 8, l;
	float score;
	char piece[16];

	PUT(&max_len, 4);
	for (int i = 0; i < 259 + (int)(sizeof(extra) / sizeof(extra[0])); i++) {
		if (i < 3)
			snprintf(piece, sizeof(piece), "%s",
				 i == 0 ? "<unk>" : i == 1 ? "\n<s>\n" : "\n</s>\n");
		else if (i < 259)
			snprintf(piece, sizeof(piece), "<0x%02X>", i - 3);
		else
			snprintf(piece, sizeof(piece), "%s", extra[i - 259]);
		score = i < 259 ? 0.0f : (float)-(i - 259);
		l = (int32_t)strlen(piece);
		PUT(&score, 4);
		PUT(&l, 4);
		PUT(piece, (size_t)l);
	}
#undef PUT
	put("tiny.bin", buf, n, NULL, 0);
}

/* ---- GGUF, architecture llama ------------------------------------------ */

/*
 * A tiny llama GGUF written field by field (the reader is not linked
 * here): dim 8, 2 heads of 4, 1 kv head, hidden 32, 1 layer, context 16,
 * a character vocabulary of 8 (no byte tokens), every key the reader
 * needs and a few it checks.  @f16: matrices F16 and the classifier
 * shared (no output.weight); else F32 with ffn_down (rows of 32) in Q8_0
 * and a separate classifier.  @version 2 or 3 (the same layout).
 */
struct gbuf {
	uint8_t *b;
	size_t n, cap;
};

static void g_put(struct gbuf *g, const void *p, size_t n)
{
	if (g->n + n > g->cap) {
		fprintf(stderr, "fuzz_seeds: GGUF seed buffer too small\n");
		exit(1);
	}
	memcpy(g->b + g->n, p, n);
	g->n += n;
}

static void g_u32(struct gbuf *g, uint32_t v)
{
	g_put(g, &v, 4);
}

static void g_u64(struct gbuf *g, uint64_t v)
{
	g_put(g, &v, 8);
}

static void g_str(struct gbuf *g, const char *s)
{
	g_u64(g, strlen(s));
	g_put(g, s, strlen(s));
}

enum { GG_U32 = 4, GG_I32 = 5, GG_F32 = 6, GG_BOOL = 7, GG_STR = 8, GG_ARR = 9 };

static void g_kv_u32(struct gbuf *g, const char *k, uint32_t v)
{
	g_str(g, k);
	g_u32(g, GG_U32);
	g_u32(g, v);
}

static void g_kv_f32(struct gbuf *g, const char *k, float v)
{
	g_str(g, k);
	g_u32(g, GG_F32);
	g_put(g, &v, 4);
}

static void g_kv_str(struct gbuf *g, const char *k, const char *v)
{
	g_str(g, k);
	g_u32(g, GG_STR);
	g_str(g, v);
}

/* An array of @n elements of type @t, each @size bytes of @v (strings: @s). */
static void g_kv_arr(struct gbuf *g, const char *k, uint32_t t, uint64_t n,
		     const void *v, size_t size, const char *const *s)
{
	g_str(g, k);
	g_u32(g, GG_ARR);
	g_u32(g, t);
	g_u64(g, n);
	for (uint64_t i = 0; i < n; i++) {
		if (s)
			g_str(g, s[i]);
		else
			g_put(g, (const uint8_t *)v + i * size, size);
	}
}

enum { GT_F32 = 0, GT_F16 = 1, GT_Q8_0 = 8 };

struct gtensor {
	char name[32];
	uint64_t ne0, ne1;	/* ne1 0: a vector */
	uint32_t type;
};

static uint64_t gt_bytes(const struct gtensor *t)
{
	uint64_t n = t->ne0 * (t->ne1 ? t->ne1 : 1);

	return t->type == GT_F32 ? 4 * n : t->type == GT_F16 ? 2 * n : n / 32 * 34;
}

/* Random data for @t: floats in [-1, 1], halves of magnitude 2^-5..1. */
static void gt_data(struct gbuf *g, const struct gtensor *t)
{
	uint64_t n = t->ne0 * (t->ne1 ? t->ne1 : 1);

	for (uint64_t i = 0; i < n; i++) {
		if (t->type == GT_F32) {
			float f = (float)((int32_t)(rnd() % 2001) - 1000) / 1000.0f;

			g_put(g, &f, 4);
		} else if (t->type == GT_F16) {
			uint16_t h = (uint16_t)((rnd() & 0x8000) | ((10 + rnd() % 5) << 10) |
						(rnd() & 0x3ff));

			g_put(g, &h, 2);
		} else {
			if (i % 32 == 0) {
				uint16_t d = 0x2000;	/* 2^-7 */

				g_put(g, &d, 2);
			}
			g_put(g, &(int8_t){ (int8_t)rnd() }, 1);
		}
	}
}

static int gg_tensors(struct gtensor *t, int f16)
{
	static const struct { const char *n; int cols, rows; } s[] = {
		{ "token_embd", 8, 8 }, { "output_norm", 8, 0 }, { "output", 8, 8 },
		{ "blk.0.attn_norm", 8, 0 }, { "blk.0.attn_q", 8, 8 },
		{ "blk.0.attn_k", 8, 4 }, { "blk.0.attn_v", 8, 4 },
		{ "blk.0.attn_output", 8, 8 }, { "blk.0.ffn_norm", 8, 0 },
		{ "blk.0.ffn_gate", 8, 32 }, { "blk.0.ffn_down", 32, 8 },
		{ "blk.0.ffn_up", 8, 32 },
	};
	int n = 0;

	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		if (f16 && !strcmp(s[i].n, "output"))
			continue;	/* shared classifier */
		snprintf(t[n].name, sizeof(t[n].name), "%s.weight", s[i].n);
		t[n].ne0 = (uint64_t)s[i].cols;
		t[n].ne1 = (uint64_t)s[i].rows;
		t[n].type = !s[i].rows ? GT_F32 : f16 ? GT_F16 :
			    !strcmp(s[i].n, "blk.0.ffn_down") ? GT_Q8_0 : GT_F32;
		n++;
	}
	return n;
}

static void gg_keys(struct gbuf *g)
{
	static const char *const tok[] = {
		"<unk>", "<s>", "</s>", "\xe2\x96\x81", "a", "b", "\xe2\x96\x81" "a", "ab",
	};
	const float score[8] = { 0, 0, 0, -1, -2, -3, -4, -5 };
	const int32_t type[8] = { 2, 3, 3, 1, 1, 1, 1, 1 };

	g_kv_str(g, "general.architecture", "llama");
	g_kv_str(g, "general.name", "fuzz seed");
	g_kv_u32(g, "llama.context_length", 16);
	g_kv_u32(g, "llama.embedding_length", 8);
	g_kv_u32(g, "llama.feed_forward_length", 32);
	g_kv_u32(g, "llama.block_count", 1);
	g_kv_u32(g, "llama.attention.head_count", 2);
	g_kv_u32(g, "llama.attention.head_count_kv", 1);
	g_kv_u32(g, "llama.rope.dimension_count", 4);
	g_kv_f32(g, "llama.rope.freq_base", 10000.0f);
	g_kv_f32(g, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
	g_kv_str(g, "tokenizer.ggml.model", "llama");
	g_kv_arr(g, "tokenizer.ggml.tokens", GG_STR, 8, NULL, 0, tok);
	g_kv_arr(g, "tokenizer.ggml.scores", GG_F32, 8, score, 4, NULL);
	g_kv_arr(g, "tokenizer.ggml.token_type", GG_I32, 8, type, 4, NULL);
	g_kv_u32(g, "tokenizer.ggml.unknown_token_id", 0);
	g_kv_u32(g, "tokenizer.ggml.bos_token_id", 1);
	g_kv_u32(g, "tokenizer.ggml.eos_token_id", 2);
	g_str(g, "tokenizer.ggml.add_space_prefix");
	g_u32(g, GG_BOOL);
	g_put(g, &(uint8_t){ 1 }, 1);
}

#define GG_N_KEYS 19

static void gguf_seed(const char *name, int f16, uint32_t version)
{
	struct gtensor t[16];
	struct gbuf g = { calloc(1, 16384), 0, 16384 };
	int n = gg_tensors(t, f16);
	uint64_t off = 0;

	if (!g.b)
		exit(1);
	g_u32(&g, 0x46554747u);	/* "GGUF" */
	g_u32(&g, version);
	g_u64(&g, (uint64_t)n);
	g_u64(&g, GG_N_KEYS);
	gg_keys(&g);
	for (int i = 0; i < n; i++) {	/* each tensor 32-byte aligned */
		g_str(&g, t[i].name);
		g_u32(&g, t[i].ne1 ? 2 : 1);
		g_u64(&g, t[i].ne0);
		if (t[i].ne1)
			g_u64(&g, t[i].ne1);
		g_u32(&g, t[i].type);
		g_u64(&g, off);
		off += (gt_bytes(&t[i]) + 31) & ~31ull;
	}
	for (int i = 0; i < n; i++) {
		g.n = (g.n + 31) & ~(size_t)31;	/* calloc'ed: zero padding */
		gt_data(&g, &t[i]);
	}
	put(name, g.b, g.n, NULL, 0);
	free(g.b);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: fuzz_seeds validate|qmodel|checkpoint|tokenizer|gguf DIR\n");
		return 2;
	}
	dir = argv[2];
	if (!strcmp(argv[1], "validate")) {
		qmodel_seeds(1);
		misc_stream();
	} else if (!strcmp(argv[1], "qmodel")) {
		qmodel_seeds(0);
	} else if (!strcmp(argv[1], "checkpoint")) {
		checkpoint_seeds();
	} else if (!strcmp(argv[1], "tokenizer")) {
		tokenizer_seed();
	} else if (!strcmp(argv[1], "gguf")) {
		gguf_seed("tiny-f32-q8_0.gguf", 0, 3);
		gguf_seed("tiny-f16-v2.gguf", 1, 2);
	} else {
		fprintf(stderr, "fuzz_seeds: unknown target %s\n", argv[1]);
		return 2;
	}
	return 0;
}
