// SPDX-License-Identifier: MIT
/*
 * The ABI 2 additions to the ISA (engine/ISA.md), from the specification:
 *  - I8ROW outputs of RMSNORM, SWIGLU and ATTENTION: each row is the op's
 *    INT16 result quantized to int8 at the row's own scale, against the
 *    same op with an INT16 output and the section 2 formula written here;
 *  - MATMUL with an I8ROW input: the sum times the row scale, then the
 *    bias and the requantization, by hand and against an integer model;
 *  - ATTENTION with INT16 keys: equal to INT8 keys holding the same values,
 *    and to an integer model of the scores with wider keys;
 *  - W4 MATMUL with packed 4-bit group codes: equal to byte scales and
 *    zero points holding the decoded values;
 * at every kernel level this CPU has; and the validator's new rules.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine_util.h"
#include "kselftest_harness.h"

#define MEM_SIZE	(16u << 20)
#define GARBAGE		0xa5

static uint64_t rng_state = 0x1234567;

static int64_t rnd(int64_t lo, int64_t hi)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return lo + (int64_t)(rng_state % (uint64_t)(hi - lo + 1));
}

/* ISA.md 3: rshift_round, ties toward +infinity. */
static int64_t rsr(int64_t v, int s)
{
	return s ? (v + ((int64_t)1 << (s - 1))) >> s : v;
}

/* ISA.md 2: one I8ROW row from int16 values, written from the text. */
static void ref_row(const int16_t *u, uint32_t n, int32_t *a, int8_t *q)
{
	int64_t mx = 0, r;
	uint32_t i;

	for (i = 0; i < n; i++)
		if (llabs(u[i]) > mx)
			mx = llabs(u[i]);
	*a = (int32_t)mx;
	r = mx ? (int64_t)((127ull << 31) / (uint64_t)mx) : 0;
	for (i = 0; i < n; i++) {
		int64_t v = rsr(u[i] * r, 31);

		q[i] = (int8_t)(v > 127 ? 127 : v < -128 ? -128 : v);
	}
}

FIXTURE(rs) {
	struct flat_mem m;
	struct inpu_tables_store ts;
	struct stream s;
	struct inpu_run_result res;
};

FIXTURE_SETUP(rs)
{
	ASSERT_EQ(0, flat_init(&self->m, MEM_SIZE));
	ASSERT_EQ(0, inpu_tables_default(&self->ts));
	stream_init(&self->s);
}

FIXTURE_TEARDOWN(rs)
{
	inpu_tables_release(&self->ts);
	flat_free(&self->m);
}

/* An I8ROW tensor: rows of a 4-byte scale and cols values, @pad spare. */
static struct inpu_tensor rowt(struct flat_mem *m, uint32_t rows,
			       uint32_t cols, uint32_t pad)
{
	struct inpu_tensor t = tensor(0, INPU_DT_I8ROW, rows, cols);

	t.stride = (INPU_I8ROW_PREFIX + cols + pad + 3) / 4 * 4;
	t.addr = flat_alloc(m, (uint64_t)rows * t.stride);
	memset(flat_ptr(m, t.addr), GARBAGE, (size_t)rows * t.stride);
	return t;
}

static int32_t row_scale(struct flat_mem *m, const struct inpu_tensor *t,
			 uint32_t r)
{
	int32_t a;

	memcpy(&a, flat_ptr(m, t->addr + (uint64_t)r * t->stride), 4);
	return a;
}

static int8_t *row_vals(struct flat_mem *m, const struct inpu_tensor *t,
			uint32_t r)
{
	return (int8_t *)flat_ptr(m, t->addr + (uint64_t)r * t->stride +
				     INPU_I8ROW_PREFIX);
}

static int n_levels(void)
{
	return (int)inpu_cpu_isa_level() + 1;
}

static int run_at(struct __test_metadata *_metadata, FIXTURE_DATA(rs) *self,
		  int level)
{
	struct inpu_engine *e = inpu_engine_new(level, NULL);
	int ret;

	ASSERT_NE(NULL, e);
	ret = stream_run(e, &self->ts.t, &self->m, &self->s, NULL, &self->res);
	inpu_engine_free(e);
	return ret;
}

TEST_F(rs, rmsnorm_row_by_hand)
{
	/*
	 * x = [4, -4, 4, -4], eps 9, g = 3, shift 2: the INT16 result is
	 * [19661, -19660, 19661, -19660] (test_engine_ops.c, rmsnorm_by_hand).
	 * a = 19661, r = floor(127 * 2^31 / 19661) = 13871645, so
	 * 19661 -> 127 and -19660 -> rshift_round(-19660 r, 31) = -127
	 * (-126.9935).  Second row all zero: scale 0, values 0.
	 */
	static const int16_t xin[8] = { 4, -4, 4, -4, 0, 0, 0, 0 };
	static const int32_t g[4] = { 3, 3, 3, 3 };
	struct inpu_tensor x = flat_tensor(&self->m, INPU_DT_INT16, 2, 4);
	struct inpu_tensor gt = flat_tensor(&self->m, INPU_DT_INT32, 1, 4);
	struct inpu_tensor y = rowt(&self->m, 2, 4, 3);
	struct inpu_op *op = stream_add(&self->s, INPU_OP_RMSNORM);

	memcpy(flat_ptr(&self->m, x.addr), xin, sizeof(xin));
	memcpy(flat_ptr(&self->m, gt.addr), g, sizeof(g));
	op->u.rmsnorm.x = x;
	op->u.rmsnorm.g = gt;
	op->u.rmsnorm.y = y;
	op->u.rmsnorm.eps = 9;
	op->u.rmsnorm.shift = 2;
	ASSERT_EQ(0, run_at(_metadata, self, 0));
	EXPECT_EQ(19661, row_scale(&self->m, &y, 0));
	EXPECT_EQ(127, row_vals(&self->m, &y, 0)[0]);
	EXPECT_EQ(-127, row_vals(&self->m, &y, 0)[1]);
	EXPECT_EQ(127, row_vals(&self->m, &y, 0)[2]);
	EXPECT_EQ(-127, row_vals(&self->m, &y, 0)[3]);
	EXPECT_EQ(0, row_scale(&self->m, &y, 1));
	EXPECT_EQ(0, row_vals(&self->m, &y, 1)[3]);
	/* The spare bytes after each row are not written. */
	EXPECT_EQ(GARBAGE, (uint8_t)row_vals(&self->m, &y, 0)[4]);
}

/*
 * RMSNORM and SWIGLU with random inputs: the I8ROW output must be the
 * INT16 output of the same op put through ref_row().
 */
TEST_F(rs, row_outputs_are_the_int16_result_quantized)
{
	enum { M = 5, N = 300 };
	struct inpu_tensor x, g, y16, y8, gate, up, s16, s8;
	struct inpu_op *op;
	uint32_t r, i;
	int lvl;

	x = flat_tensor(&self->m, INPU_DT_INT32, M, N);
	g = flat_tensor(&self->m, INPU_DT_INT32, 1, N);
	y16 = flat_tensor(&self->m, INPU_DT_INT16, M, N);
	y8 = rowt(&self->m, M, N, 0);
	gate = flat_tensor(&self->m, INPU_DT_INT16, M, N);
	up = flat_tensor(&self->m, INPU_DT_INT16, M, N);
	s16 = flat_tensor(&self->m, INPU_DT_INT16, M, N);
	s8 = rowt(&self->m, M, N, 5);
	for (i = 0; i < M * N; i++) {
		/* Row 2 small, so its scale is far below the others'. */
		int64_t span = i / N == 2 ? 300 : 3000000;

		((int32_t *)flat_ptr(&self->m, x.addr))[i] = (int32_t)rnd(-span, span);
		((int16_t *)flat_ptr(&self->m, gate.addr))[i] = (int16_t)rnd(-4000, 4000);
		((int16_t *)flat_ptr(&self->m, up.addr))[i] =
			(int16_t)(i / N == 3 ? 0 : rnd(-32768, 32767));
	}
	for (i = 0; i < N; i++)
		((int32_t *)flat_ptr(&self->m, g.addr))[i] = (int32_t)rnd(-(1 << 20), 1 << 20);
	for (i = 0; i < 2; i++) {
		op = stream_add(&self->s, INPU_OP_RMSNORM);
		op->u.rmsnorm.x = x;
		op->u.rmsnorm.g = g;
		op->u.rmsnorm.y = i ? y8 : y16;
		op->u.rmsnorm.eps = 5;
		op->u.rmsnorm.shift = 22;
		op = stream_add(&self->s, INPU_OP_SWIGLU);
		op->u.swiglu.gate = gate;
		op->u.swiglu.up = up;
		op->u.swiglu.y = i ? s8 : s16;
		op->u.swiglu.in_mult = 3;
		op->u.swiglu.in_shift = 4;
		op->u.swiglu.out_mult = 5;
		op->u.swiglu.out_shift = 3;
	}
	for (lvl = 0; lvl < n_levels(); lvl++) {
		ASSERT_EQ(0, run_at(_metadata, self, lvl)) {
			TH_LOG("op %u", self->res.fault_op);
		}
		for (r = 0; r < M; r++) {
			const int16_t *u16[2] = {
				(int16_t *)flat_ptr(&self->m, y16.addr) + r * N,
				(int16_t *)flat_ptr(&self->m, s16.addr) + r * N,
			};
			const struct inpu_tensor *t8[2] = { &y8, &s8 };

			for (i = 0; i < 2; i++) {
				int8_t want[N];
				int32_t a;

				ref_row(u16[i], N, &a, want);
				EXPECT_EQ(a, row_scale(&self->m, t8[i], r));
				EXPECT_EQ(0, memcmp(want, row_vals(&self->m, t8[i], r), N)) {
					TH_LOG("level %d op %u row %u", lvl, i, r);
				}
			}
		}
	}
	/* SWIGLU's row 3 (up = 0) is all zero: scale 0. */
	EXPECT_EQ(0, row_scale(&self->m, &s8, 3));
}

/* MATMUL integer model with an I8ROW input (ISA.md 3.1). */
static int64_t ref_mm(const int8_t *x, int32_t a, const int8_t *w, uint32_t k,
		      int32_t bias, struct inpu_qparam qp)
{
	uint32_t acc = 0, i;
	int64_t v;

	for (i = 0; i < k; i++)
		acc += (uint32_t)(x[i] * w[i]);
	v = (int64_t)(int32_t)acc * a + bias;
	v = rsr(v * qp.mult, qp.shift);
	return v > 32767 ? 32767 : v < -32768 ? -32768 : v;
}

TEST_F(rs, matmul_row_scaled_input)
{
	enum { M = 19, K = 200, N = 70 };
	static int8_t xv[M][K], wv[N][K];
	struct inpu_tensor x, w, bias, qp, y;
	struct inpu_qparam q[N];
	int32_t a[M], b[N];
	struct inpu_op *op;
	uint32_t i, j;
	int lvl;

	x = rowt(&self->m, M, K, 0);
	for (i = 0; i < M; i++) {
		/* Row 0 by hand below; row 1 scale 0: every output the bias. */
		a[i] = i == 0 ? 3 : i == 1 ? 0 : (int32_t)rnd(1, 32768);
		memcpy(flat_ptr(&self->m, x.addr + (uint64_t)i * x.stride), &a[i], 4);
		for (j = 0; j < K; j++)
			xv[i][j] = (int8_t)(i == 0 ? (j == 0 ? 5 : 0) : rnd(-128, 127));
		memcpy(row_vals(&self->m, &x, i), xv[i], K);
	}
	for (i = 0; i < N; i++) {
		for (j = 0; j < K; j++)
			wv[i][j] = (int8_t)(i == 0 ? (j == 0 ? 7 : 0) : rnd(-127, 127));
		b[i] = i == 0 ? 1 : (int32_t)rnd(-100000, 100000);
		q[i] = (struct inpu_qparam){ (int32_t)rnd(32768, 65535), (int32_t)rnd(20, 34) };
	}
	/* Row 0, channel 0 by hand: 5 * 7 = 35, * 3 = 105, + 1 = 106, * 2 / 2^2 = 53. */
	q[0] = (struct inpu_qparam){ 2, 2 };
	w = tensor(flat_alloc(&self->m, inpu_weight_bytes(INPU_DT_W8_TILED, N, K)),
		   INPU_DT_W8_TILED, N, K);
	inpu_pack_w8(&wv[0][0], N, K, flat_ptr(&self->m, w.addr));
	bias = flat_tensor(&self->m, INPU_DT_INT32, 1, N);
	memcpy(flat_ptr(&self->m, bias.addr), b, sizeof(b));
	qp = flat_tensor(&self->m, INPU_DT_QPARAM, 1, N);
	memcpy(flat_ptr(&self->m, qp.addr), q, sizeof(q));
	y = flat_tensor(&self->m, INPU_DT_INT16, M, N);
	op = stream_add(&self->s, INPU_OP_MATMUL);
	op->u.matmul.x = x;
	op->u.matmul.w = w;
	op->u.matmul.bias = bias;
	op->u.matmul.qp = qp;
	op->u.matmul.y = y;
	for (lvl = 0; lvl < n_levels(); lvl++) {
		const int16_t *out = flat_ptr(&self->m, y.addr);

		memset(flat_ptr(&self->m, y.addr), 0, (size_t)M * N * 2);
		ASSERT_EQ(0, run_at(_metadata, self, lvl));
		EXPECT_EQ(53, out[0]);
		for (i = 0; i < M; i++)
			for (j = 0; j < N; j++)
				ASSERT_EQ(ref_mm(xv[i], a[i], wv[j], K, b[j], q[j]),
					  out[(size_t)i * N + j]) {
					TH_LOG("level %d row %u col %u", lvl, i, j);
				}
	}
}

/* One ATTENTION over caches whose keys are @kdt; returns the output. */
static void attn_keys(struct __test_metadata *_metadata,
		      FIXTURE_DATA(rs) *self, uint8_t kdt, const int8_t *qv,
		      const int16_t *kv, const int8_t *vv, int level, int8_t *out)
{
	enum { H = 4, KV = 2, D = 24, C = 40 };
	struct inpu_tensor q, k, v, y;
	struct inpu_op *op;
	uint32_t i;

	self->m.next = self->m.base;
	stream_init(&self->s);
	q = flat_tensor(&self->m, INPU_DT_INT8, 3, H * D);
	k = flat_tensor(&self->m, kdt, C, KV * D);
	v = flat_tensor(&self->m, INPU_DT_INT8, C, KV * D);
	y = flat_tensor(&self->m, INPU_DT_INT8, 3, H * D);
	memcpy(flat_ptr(&self->m, q.addr), qv, 3 * H * D);
	memcpy(flat_ptr(&self->m, v.addr), vv, C * KV * D);
	for (i = 0; i < C * KV * D; i++) {
		if (kdt == INPU_DT_INT16)
			((int16_t *)flat_ptr(&self->m, k.addr))[i] = kv[i];
		else
			((int8_t *)flat_ptr(&self->m, k.addr))[i] = (int8_t)kv[i];
	}
	op = stream_add(&self->s, INPU_OP_ATTENTION);
	op->u.attention.q = q;
	op->u.attention.k = k;
	op->u.attention.v = v;
	op->u.attention.y = y;
	op->u.attention.n_heads = H;
	op->u.attention.n_kv_heads = KV;
	op->u.attention.head_dim = D;
	op->u.attention.pos = 20;
	op->u.attention.score_mult = kdt == INPU_DT_INT16 ? 3 : 3 << 8;
	op->u.attention.score_shift = 18;
	op->u.attention.out_mult = 1;
	op->u.attention.out_shift = 15;
	ASSERT_EQ(0, run_at(_metadata, self, level));
	memcpy(out, flat_ptr(&self->m, y.addr), 3 * H * D);
}

/*
 * Keys 256 times the int8 ones in INT16, with a score rescale 256 times
 * smaller, give exactly the INT8 result (every score is 256 times larger
 * and the rescale takes it back exactly); a key that only 16 bits hold
 * changes the result.  At every kernel level, and the levels agree.
 */
TEST_F(rs, attention_int16_keys)
{
	enum { H = 4, KV = 2, D = 24, C = 40 };
	static int8_t qv[3 * H * D], vv[C * KV * D];
	static int16_t k8[C * KV * D], k16[C * KV * D];
	int8_t want[3 * H * D], got[3 * H * D], first[3 * H * D];
	uint32_t i;
	int lvl;

	for (i = 0; i < 3 * H * D; i++)
		qv[i] = (int8_t)rnd(-128, 127);
	for (i = 0; i < C * KV * D; i++) {
		k8[i] = (int16_t)(i == 5 ? -100 : i == 6 ? 100 : rnd(-128, 127));
		k16[i] = (int16_t)(k8[i] * 256);
		vv[i] = (int8_t)rnd(-128, 127);
	}
	for (lvl = 0; lvl < n_levels(); lvl++) {
		attn_keys(_metadata, self, INPU_DT_INT8, qv, k8, vv, lvl, want);
		attn_keys(_metadata, self, INPU_DT_INT16, qv, k16, vv, lvl, got);
		EXPECT_EQ(0, memcmp(want, got, sizeof(got))) {
			TH_LOG("level %d", lvl);
		}
		k16[5] = 32767;
		k16[6] = -32768;
		attn_keys(_metadata, self, INPU_DT_INT16, qv, k16, vv, lvl, got);
		k16[5] = (int16_t)(k8[5] * 256);
		k16[6] = (int16_t)(k8[6] * 256);
		if (!lvl)
			memcpy(first, got, sizeof(got));
		EXPECT_NE(0, memcmp(want, got, sizeof(got)));
		EXPECT_EQ(0, memcmp(first, got, sizeof(got))) {
			TH_LOG("level %d differs from the scalar kernels", lvl);
		}
	}
}

/*
 * W4 with packed 4-bit group codes (gfmt 1) against the same matmul with
 * byte scales and an INT8 zero-point tensor holding the decoded values
 * (ISA.md 3.1), groups of 16 and 32, every kernel level.
 */
TEST_F(rs, matmul_w4_group_codes_equal_decoded_bytes)
{
	enum { M = 3, K = 200, N = 70, KP = 256, NP = 128 };
	static int8_t xv[M * K], wv[N * K];
	static uint8_t codes[(KP / 16) * NP], sdec[(KP / 16) * NP];
	static int8_t zdec[(KP / 16) * NP];
	struct inpu_qparam q[N];
	int16_t want[M * N];
	uint32_t i, grp;
	int lvl;

	for (i = 0; i < M * K; i++)
		xv[i] = (int8_t)rnd(-128, 127);
	for (i = 0; i < N * K; i++)
		wv[i] = (int8_t)rnd(-8, 7);
	for (i = 0; i < N; i++)
		q[i] = (struct inpu_qparam){ (int32_t)rnd(1 << 20, 1 << 22), 30 };
	for (grp = 16; grp <= 32; grp += 16) {
		uint32_t rows = KP / grp;

		for (i = 0; i < rows * NP; i++) {
			codes[i] = (uint8_t)rnd(0, 255);
			sdec[i] = inpu_w4_gs_level(codes[i] & 15);
			zdec[i] = (int8_t)((codes[i] >> 4) - 8);
		}
		for (lvl = 0; lvl < n_levels(); lvl++) {
			for (int fmt = 0; fmt < 2; fmt++) {
				struct inpu_tensor x, w, gs, gz, qp, y;
				struct inpu_op *op;

				self->m.next = self->m.base;
				stream_init(&self->s);
				x = flat_tensor(&self->m, INPU_DT_INT8, M, K);
				memcpy(flat_ptr(&self->m, x.addr), xv, sizeof(xv));
				w = tensor(flat_alloc(&self->m, inpu_weight_bytes(INPU_DT_W4_TILED, N, K)),
					   INPU_DT_W4_TILED, N, K);
				inpu_pack_w4(wv, NULL, N, K, flat_ptr(&self->m, w.addr), NULL);
				gs = flat_tensor(&self->m, INPU_DT_UINT8, rows, NP);
				memcpy(flat_ptr(&self->m, gs.addr), fmt ? codes : sdec, rows * NP);
				memset(&gz, 0, sizeof(gz));
				if (!fmt) {
					gz = flat_tensor(&self->m, INPU_DT_INT8, rows, NP);
					memcpy(flat_ptr(&self->m, gz.addr), zdec, rows * NP);
				}
				qp = flat_tensor(&self->m, INPU_DT_QPARAM, 1, N);
				memcpy(flat_ptr(&self->m, qp.addr), q, sizeof(q));
				y = flat_tensor(&self->m, INPU_DT_INT16, M, N);
				op = stream_add(&self->s, INPU_OP_MATMUL);
				op->u.matmul.x = x;
				op->u.matmul.w = w;
				op->u.matmul.gscale = gs;
				op->u.matmul.gzero = gz;
				op->u.matmul.qp = qp;
				op->u.matmul.y = y;
				op->u.matmul.group = grp;
				op->u.matmul.gfmt = (uint32_t)fmt;
				ASSERT_EQ(0, run_at(_metadata, self, lvl));
				if (!fmt && !lvl)
					memcpy(want, flat_ptr(&self->m, y.addr), sizeof(want));
				EXPECT_EQ(0, memcmp(want, flat_ptr(&self->m, y.addr), sizeof(want))) {
					TH_LOG("group %u level %d gfmt %d", grp, lvl, fmt);
				}
			}
		}
	}
}

/* A one-op stream with @op's operands validated against all memory. */
static int check(FIXTURE_DATA(rs) *self)
{
	struct inpu_region r = {
		.start = self->m.base, .len = self->m.size,
		.flags = INPU_REGION_READ | INPU_REGION_WRITE,
	};
	struct inpu_verror err;

	return inpu_validate_stream(&self->s, stream_len(&self->s), &r, 1, &err);
}

TEST_F(rs, validator_rules)
{
	struct inpu_tensor x = flat_tensor(&self->m, INPU_DT_INT16, 2, 8);
	struct inpu_tensor g = flat_tensor(&self->m, INPU_DT_INT32, 1, 8);
	struct inpu_tensor y = rowt(&self->m, 2, 8, 0);
	struct inpu_op *op = stream_add(&self->s, INPU_OP_RMSNORM);

	op->u.rmsnorm.x = x;
	op->u.rmsnorm.g = g;
	op->u.rmsnorm.y = y;
	op->u.rmsnorm.eps = 1;
	EXPECT_EQ(INPU_OK, check(self));
	/* A row must hold its scale and its values, 4-byte aligned. */
	op->u.rmsnorm.y.stride = 11;
	EXPECT_EQ(INPU_ERR_STRIDE, check(self));
	op->u.rmsnorm.y.stride = 10;
	EXPECT_EQ(INPU_ERR_STRIDE, check(self));
	op->u.rmsnorm.y.stride = 12;
	op->u.rmsnorm.y.addr = y.addr + 2;
	EXPECT_EQ(INPU_ERR_STRIDE, check(self));
	/* The last row's scale and values count: 4 + 8 bytes past row 1. */
	op->u.rmsnorm.y.addr = self->m.base + self->m.size - 20;
	EXPECT_EQ(INPU_ERR_RANGE, check(self));
	op->u.rmsnorm.y.addr = self->m.base + self->m.size - 12 - 12;
	EXPECT_EQ(INPU_OK, check(self));
	op->u.rmsnorm.y = y;
	/* Rows longer than the staging bound. */
	op->u.rmsnorm.y.cols = 65537;
	op->u.rmsnorm.y.stride = 65544;
	EXPECT_EQ(INPU_ERR_SHAPE, check(self));
	/* Only where the ISA allows it: not ADD's output, not a value cache. */
	stream_init(&self->s);
	op = stream_add(&self->s, INPU_OP_ADD);
	op->u.add.a = x;
	op->u.add.b = x;
	op->u.add.y = y;
	EXPECT_EQ(INPU_ERR_DTYPE, check(self));
	stream_init(&self->s);
	op = stream_add(&self->s, INPU_OP_ATTENTION);
	op->u.attention.q = flat_tensor(&self->m, INPU_DT_INT8, 1, 8);
	op->u.attention.k = flat_tensor(&self->m, INPU_DT_INT16, 4, 8);
	op->u.attention.v = flat_tensor(&self->m, INPU_DT_INT16, 4, 8);
	op->u.attention.y = flat_tensor(&self->m, INPU_DT_INT8, 1, 8);
	op->u.attention.n_heads = 1;
	op->u.attention.n_kv_heads = 1;
	op->u.attention.head_dim = 8;
	op->u.attention.score_mult = 1;
	EXPECT_EQ(INPU_ERR_DTYPE, check(self));
	op->u.attention.v.dtype = INPU_DT_INT8;
	EXPECT_EQ(INPU_OK, check(self));
}

TEST_HARNESS_MAIN
