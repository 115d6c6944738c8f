// SPDX-License-Identifier: MIT
/*
 * Every op of the engine against engine/ISA.md, written from the
 * specification only:
 *  - small cases computed by hand (the arithmetic is in the comments):
 *    rounding ties, saturation, negative values, shift 0, wrapping;
 *  - random cases against a double-precision reference of the op's
 *    mathematical meaning (real matmul, RMSNorm, rotation, softmax
 *    attention, silu * up, Hadamard transform), within an error bound
 *    derived for each op in the comment of its reference;
 *  - SAMPLE also against an integer model written from section 3.10 and
 *    statistically against the real (nucleus) distribution;
 *  - W4 MATMUL with groups of 16 and zero points exactly against an
 *    integer model written from section 3.1.
 * MATMUL runs at every kernel level this CPU has (scalar, AVX2, ...).
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine_util.h"
#include "int_math.h"
#include "kselftest_harness.h"

#define MEM_SIZE	(64u << 20)
#define GARBAGE		0xa5	/* fill of fresh memory: unwritten = visible */

/* ---- helpers ------------------------------------------------------------ */

static uint64_t rng_state;

static void rng_seed(uint64_t s)
{
	rng_state = s;
}

static uint64_t rng(void)
{
	/* splitmix64: fixed seeds give the same inputs on every run. */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [lo, hi]. */
static int64_t rnd(int64_t lo, int64_t hi)
{
	return lo + (int64_t)(rng() % (uint64_t)(hi - lo + 1));
}

struct env {
	struct flat_mem m;
	struct inpu_tables_store ts;
	struct inpu_engine *e;
	struct stream s;
	struct inpu_run_result res;
};

FIXTURE(ops) {
	struct env v;
};

FIXTURE_SETUP(ops)
{
	ASSERT_EQ(0, flat_init(&self->v.m, MEM_SIZE));
	ASSERT_EQ(0, inpu_tables_default(&self->v.ts));
	/* The default geometry the hand computations below assume. */
	ASSERT_EQ(4096, self->v.ts.t.exp_len);
	ASSERT_EQ(8, self->v.ts.t.exp_frac);
	ASSERT_EQ(4096, self->v.ts.t.silu_len);
	ASSERT_EQ(2048, self->v.ts.t.silu_zero);
	ASSERT_EQ(6, self->v.ts.t.silu_in_frac);
	ASSERT_EQ(10, self->v.ts.t.silu_out_frac);
	self->v.e = inpu_engine_new(inpu_cpu_isa_level(), NULL);
	ASSERT_NE(NULL, self->v.e);
	stream_init(&self->v.s);
}

FIXTURE_TEARDOWN(ops)
{
	inpu_engine_free(self->v.e);
	inpu_tables_release(&self->v.ts);
	flat_free(&self->v.m);
}

/* Start a new case: empty stream, memory reused from the start. */
static void reset(struct env *v)
{
	stream_init(&v->s);
	v->m.next = v->m.base;
}

/* A tensor with @pad extra elements per row, filled with garbage. */
static struct inpu_tensor talloc(struct env *v, uint8_t dt, uint32_t rows,
				 uint32_t cols, uint32_t pad)
{
	uint32_t es = inpu_dtype_size(dt);
	struct inpu_tensor t = tensor(0, dt, rows, cols);

	t.stride = (cols + pad) * es;
	t.addr = flat_alloc(&v->m, (uint64_t)rows * t.stride);
	memset(flat_ptr(&v->m, t.addr), GARBAGE, (size_t)rows * t.stride);
	return t;
}

static void *eptr(struct env *v, const struct inpu_tensor *t, uint32_t r,
		  uint32_t c)
{
	return flat_ptr(&v->m, t->addr + (uint64_t)r * t->stride +
				(uint64_t)c * inpu_dtype_size(t->dtype));
}

static void tset(struct env *v, const struct inpu_tensor *t, uint32_t r,
		 uint32_t c, int64_t val)
{
	void *p = eptr(v, t, r, c);
	int8_t i8 = (int8_t)val;
	int16_t i16 = (int16_t)val;
	int32_t i32 = (int32_t)val;
	uint64_t u64 = (uint64_t)val;

	switch (t->dtype) {
	case INPU_DT_INT8:
	case INPU_DT_UINT8:
		memcpy(p, &i8, 1);
		break;
	case INPU_DT_INT16:
		memcpy(p, &i16, 2);
		break;
	case INPU_DT_INT32:
		memcpy(p, &i32, 4);
		break;
	default:
		memcpy(p, &u64, 8);
		break;
	}
}

static int64_t tget(struct env *v, const struct inpu_tensor *t, uint32_t r,
		    uint32_t c)
{
	const void *p = eptr(v, t, r, c);
	int8_t i8;
	uint8_t u8;
	int16_t i16;
	int32_t i32;
	uint64_t u64;

	switch (t->dtype) {
	case INPU_DT_INT8:
		memcpy(&i8, p, 1);
		return i8;
	case INPU_DT_UINT8:
		memcpy(&u8, p, 1);
		return u8;
	case INPU_DT_INT16:
		memcpy(&i16, p, 2);
		return i16;
	case INPU_DT_INT32:
		memcpy(&i32, p, 4);
		return i32;
	default:
		memcpy(&u64, p, 8);
		return (int64_t)u64;
	}
}

/* Row-major host values into a (possibly strided) tensor. */
static void tfill(struct env *v, const struct inpu_tensor *t, const int64_t *vals)
{
	uint32_t r, c;

	for (r = 0; r < t->rows; r++)
		for (c = 0; c < t->cols; c++)
			tset(v, t, r, c, vals[(size_t)r * t->cols + c]);
}

static int run(struct env *v, const uint32_t *params)
{
	return stream_run(v->e, &v->ts.t, &v->m, &v->s, params, &v->res);
}

static int run_level(struct env *v, int level, const uint32_t *params)
{
	struct inpu_engine *e = inpu_engine_new(level, NULL);
	int ret;

	if (!e)
		return -1;
	ret = stream_run(e, &v->ts.t, &v->m, &v->s, params, &v->res);
	inpu_engine_free(e);
	return ret;
}

static double dt_min(uint8_t dt)
{
	return dt == INPU_DT_INT8 ? -128.0 : dt == INPU_DT_INT16 ? -32768.0 :
	       -2147483648.0;
}

static double dt_max(uint8_t dt)
{
	return dt == INPU_DT_INT8 ? 127.0 : dt == INPU_DT_INT16 ? 32767.0 :
	       2147483647.0;
}

/* sat_T of a real value (clamping is 1-Lipschitz: it never adds error). */
static double satd(double x, uint8_t dt)
{
	return x < dt_min(dt) ? dt_min(dt) : x > dt_max(dt) ? dt_max(dt) : x;
}

/*
 * Compare an engine output with sat(reference) within @bound; logs the
 * first few misses and counts them.
 */
static void near(struct __test_metadata *_metadata, const char *what,
		 unsigned int i, int64_t got, double ref, uint8_t dt,
		 double bound, unsigned int *fails)
{
	double want = satd(ref, dt);

	if (fabs((double)got - want) <= bound)
		return;
	if ((*fails)++ < 8)
		TH_LOG("%s [%u]: got %lld, reference %.4f (sat %.4f), bound %.4f",
		       what, i, (long long)got, ref, want, bound);
}

static const uint8_t out_types[] = { INPU_DT_INT8, INPU_DT_INT16, INPU_DT_INT32 };

/* ---- MATMUL ------------------------------------------------------------- */

struct mm_case {
	int w4;
	uint32_t m, k, n;
	const int8_t *x;		/* [m][k] */
	const int8_t *w;		/* [n][k]: W8 weights or W4 values -8..7 */
	const uint8_t *s;		/* W4: [n][ceil(k/32)] group scales */
	const int32_t *bias;		/* [n] or NULL */
	const struct inpu_qparam *qp;	/* [n] */
	uint8_t ydt;
	uint32_t xpad, ypad;		/* extra elements per row */
};

/*
 * The W4 extensions of section 3.1, for mm_run_ext: groups of @group
 * inputs (the op's field: 0 means 32) and zero points (NULL: gzero NONE).
 * @s and @z are [n][ceil(k / G)], row-major; they replace mm_case.s.
 */
struct mm_ext {
	uint32_t group;
	const uint8_t *s;
	const int8_t *z;
};

/*
 * A per-group tensor (UINT8 scales or INT8 zero points) [Kpad/G][Npad],
 * filled from v[n][ceil(k / G)] by the section 4 formula (group-major,
 * padding 0) rather than by engine/layout.c; rows padded by @pad bytes.
 */
static struct inpu_tensor group_tensor(struct env *v, uint8_t dt,
				       const void *vals, uint32_t n, uint32_t k,
				       uint32_t g_in, uint32_t pad)
{
	uint32_t groups = (k + g_in - 1) / g_in, npad = (n + 63) / 64 * 64;
	uint32_t rows = (k + 127) / 128 * (128 / g_in), g, j;
	struct inpu_tensor t = talloc(v, dt, rows, npad, pad);

	for (g = 0; g < rows; g++) {
		for (j = 0; j < npad; j++) {
			int64_t e = 0;

			if (g < groups && j < n)
				e = dt == INPU_DT_INT8 ?
				    ((const int8_t *)vals)[(size_t)j * groups + g] :
				    ((const uint8_t *)vals)[(size_t)j * groups + g];
			tset(v, &t, g, j, e);
		}
	}
	return t;
}

/* Lay out one MATMUL in fresh memory, run it at @level, read y back. */
static int mm_run_ext(struct env *v, const struct mm_case *c,
		      const struct mm_ext *ext, int level, int64_t *y)
{
	struct inpu_tensor x, w, gs, gz, bias, qp, yt;
	struct inpu_op *op;
	uint32_t i, j;
	int ret;

	reset(v);
	x = talloc(v, INPU_DT_INT8, c->m, c->k, c->xpad);
	for (i = 0; i < c->m; i++)
		for (j = 0; j < c->k; j++)
			tset(v, &x, i, j, c->x[(size_t)i * c->k + j]);
	memset(&gs, 0, sizeof(gs));
	memset(&gz, 0, sizeof(gz));
	memset(&bias, 0, sizeof(bias));
	if (c->w4 && ext) {
		uint32_t g_in = ext->group ? ext->group : 32;

		w = tensor(flat_alloc(&v->m, inpu_weight_bytes(INPU_DT_W4_TILED,
							       c->n, c->k)),
			   INPU_DT_W4_TILED, c->n, c->k);
		inpu_pack_w4(c->w, NULL, c->n, c->k, flat_ptr(&v->m, w.addr),
			     NULL);
		gs = group_tensor(v, INPU_DT_UINT8, ext->s, c->n, c->k, g_in,
				  c->xpad);
		if (ext->z)
			gz = group_tensor(v, INPU_DT_INT8, ext->z, c->n, c->k,
					  g_in, c->ypad);
	} else if (c->w4) {
		uint32_t rows = (c->k + 127) / 128 * 4, cols = (c->n + 63) / 64 * 64;

		w = tensor(flat_alloc(&v->m, inpu_weight_bytes(INPU_DT_W4_TILED,
							       c->n, c->k)),
			   INPU_DT_W4_TILED, c->n, c->k);
		gs = talloc(v, INPU_DT_UINT8, rows, cols, 0);
		inpu_pack_w4(c->w, c->s, c->n, c->k, flat_ptr(&v->m, w.addr),
			     flat_ptr(&v->m, gs.addr));
	} else {
		w = tensor(flat_alloc(&v->m, inpu_weight_bytes(INPU_DT_W8_TILED,
							       c->n, c->k)),
			   INPU_DT_W8_TILED, c->n, c->k);
		inpu_pack_w8(c->w, c->n, c->k, flat_ptr(&v->m, w.addr));
	}
	if (c->bias) {
		bias = talloc(v, INPU_DT_INT32, 1, c->n, 0);
		for (j = 0; j < c->n; j++)
			tset(v, &bias, 0, j, c->bias[j]);
	}
	qp = talloc(v, INPU_DT_QPARAM, 1, c->n, 0);
	memcpy(flat_ptr(&v->m, qp.addr), c->qp, (size_t)c->n * sizeof(*c->qp));
	yt = talloc(v, c->ydt, c->m, c->n, c->ypad);

	op = stream_add(&v->s, INPU_OP_MATMUL);
	op->u.matmul.x = x;
	op->u.matmul.w = w;
	op->u.matmul.gscale = gs;
	op->u.matmul.bias = bias;
	op->u.matmul.qp = qp;
	op->u.matmul.y = yt;
	op->u.matmul.gzero = gz;
	op->u.matmul.group = ext ? ext->group : 0;
	ret = run_level(v, level, NULL);
	if (ret)
		return ret;
	for (i = 0; i < c->m; i++) {
		for (j = 0; j < c->n; j++)
			y[(size_t)i * c->n + j] = tget(v, &yt, i, j);
		/* The row padding of y is never written. */
		for (j = c->n * inpu_dtype_size(c->ydt); j < yt.stride; j++)
			if (((uint8_t *)eptr(v, &yt, i, 0))[j] != GARBAGE)
				return -1000;
	}
	return 0;
}

static int mm_run(struct env *v, const struct mm_case *c, int level,
		  int64_t *y)
{
	return mm_run_ext(v, c, NULL, level, y);
}

static int n_levels(void)
{
	return (int)inpu_cpu_isa_level() + 1;
}

TEST_F(ops, matmul_w8_by_hand)
{
	/*
	 * x = [1, -2, 3]; K = 3, N = 4.
	 *  w0 = [4, 5, 6]:    acc = 4 - 10 + 18 = 12;  bias -7 -> 5
	 *  w1 = [-1, -1, -1]: acc = -1 + 2 - 3 = -2;   bias -3 -> -5
	 *  w2 = [0, 0, 1]:    acc = 3;                 bias 0  -> 3
	 *  w3 = [1, 0, 0]:    acc = 1;                 bias 0  -> 1
	 * qp = {1,1}, {1,1}, {3,0}, {-7,0}:
	 *  with bias:    5/2 = 2.5 -> 3 (tie up), -5/2 = -2.5 -> -2 (tie up),
	 *                3 * 3 = 9 (shift 0), 1 * -7 = -7 (negative mult)
	 *  without bias: 12/2 = 6, -2/2 = -1, 9, -7
	 */
	static const int8_t x[3] = { 1, -2, 3 };
	static const int8_t w[12] = { 4, 5, 6, -1, -1, -1, 0, 0, 1, 1, 0, 0 };
	static const int32_t bias[4] = { -7, -3, 0, 0 };
	static const struct inpu_qparam qp[4] = { { 1, 1 }, { 1, 1 }, { 3, 0 },
						  { -7, 0 } };
	static const int64_t want_b[4] = { 3, -2, 9, -7 };
	static const int64_t want_nb[4] = { 6, -1, 9, -7 };
	struct mm_case c = { 0, 1, 3, 4, x, w, NULL, NULL, qp, 0, 0, 0 };
	int64_t y[4];
	unsigned int t, b;
	int lvl;

	for (lvl = 0; lvl < n_levels(); lvl++) {
		for (t = 0; t < 3; t++) {
			for (b = 0; b < 2; b++) {
				c.ydt = out_types[t];
				c.bias = b ? bias : NULL;
				c.xpad = b;
				c.ypad = b * 3;
				ASSERT_EQ(0, mm_run(&self->v, &c, lvl, y)) {
					TH_LOG("level %d", lvl);
				}
				EXPECT_EQ(0, memcmp(y, b ? want_b : want_nb, sizeof(y))) {
					TH_LOG("level %d type %u bias %u: %lld %lld %lld %lld",
					       lvl, out_types[t], b, (long long)y[0],
					       (long long)y[1], (long long)y[2],
					       (long long)y[3]);
				}
			}
		}
	}
}

TEST_F(ops, matmul_saturation)
{
	/*
	 * K = 64, x = 127 everywhere.
	 *  w0 = 127: acc = 64 * 127 * 127 = 1032256
	 *  w1 = -128: acc = -64 * 127 * 128 = -1040384
	 * qp {1, 0}: INT8 -> 127, -128; INT16 -> 32767, -32768; INT32 exact.
	 * qp {1, 5}: 1032256 / 32 = 32258, -1040384 / 32 = -32512 (exact):
	 *  the shift comes before the saturation, INT16 holds them.
	 */
	static int8_t x[64], w[128];
	static struct inpu_qparam qp0[2] = { { 1, 0 }, { 1, 0 } };
	static struct inpu_qparam qp5[2] = { { 1, 5 }, { 1, 5 } };
	struct mm_case c = { 0, 1, 64, 2, x, w, NULL, NULL, qp0, 0, 0, 0 };
	int64_t y[2];
	int lvl;

	memset(x, 127, sizeof(x));
	memset(w, 127, 64);
	memset(w + 64, -128, 64);
	for (lvl = 0; lvl < n_levels(); lvl++) {
		c.qp = qp0;
		c.ydt = INPU_DT_INT8;
		ASSERT_EQ(0, mm_run(&self->v, &c, lvl, y));
		EXPECT_EQ(127, y[0]);
		EXPECT_EQ(-128, y[1]);
		c.ydt = INPU_DT_INT16;
		ASSERT_EQ(0, mm_run(&self->v, &c, lvl, y));
		EXPECT_EQ(32767, y[0]);
		EXPECT_EQ(-32768, y[1]);
		c.ydt = INPU_DT_INT32;
		ASSERT_EQ(0, mm_run(&self->v, &c, lvl, y));
		EXPECT_EQ(1032256, y[0]);
		EXPECT_EQ(-1040384, y[1]);
		c.qp = qp5;
		c.ydt = INPU_DT_INT16;
		ASSERT_EQ(0, mm_run(&self->v, &c, lvl, y));
		EXPECT_EQ(32258, y[0]);
		EXPECT_EQ(-32512, y[1]);
	}
}

TEST_F(ops, matmul_bias_wraps_and_qparam_shift_clamps)
{
	/*
	 * Channel 0: x = [1], w = [1], acc = 1, bias = INT32_MAX:
	 *   acc + bias = 2^31 mod 2^32 = -2^31 (the sum wraps, section 3.1),
	 *   qp {1, 0} -> INT32 -2147483648 (a 64-bit sum would saturate to
	 *   +2147483647).
	 * Channel 1: w = [0], acc = 0, bias = INT32_MIN, qp {INT32_MIN, 100}:
	 *   shifts from memory are clamped to 0..62, so shift = 62:
	 *   (-2^31) * (-2^31) = 2^62, 2^62 / 2^62 = 1.
	 *   (Unclamped 100 is undefined; 100 & 63 = 36 would give 2^26.)
	 * Channel 2: w = [3], acc = 3, bias 0, qp {5, -7}: shift clamped to 0:
	 *   15.
	 */
	static const int8_t x[1] = { 1 }, w[3] = { 1, 0, 3 };
	static const int32_t bias[3] = { INT32_MAX, INT32_MIN, 0 };
	static const struct inpu_qparam qp[3] = { { 1, 0 }, { INT32_MIN, 100 },
						  { 5, -7 } };
	struct mm_case c = { 0, 1, 1, 3, x, w, NULL, bias, qp, INPU_DT_INT32,
			     0, 0 };
	int64_t y[3];
	int lvl;

	for (lvl = 0; lvl < n_levels(); lvl++) {
		ASSERT_EQ(0, mm_run(&self->v, &c, lvl, y));
		EXPECT_EQ(INT32_MIN, y[0]);
		EXPECT_EQ(1, y[1]);
		EXPECT_EQ(15, y[2]);
	}
}

TEST_F(ops, matmul_w4_by_hand)
{
	/*
	 * K = 40: group 0 = inputs 0..31, group 1 = inputs 32..39 (partial).
	 * x[k] = k - 20, so sum_{k<32} x = 496 - 640 = -144 and
	 * sum_{32..39} x = 12 + ... + 19 = 124.
	 *  ch0: q = 1 (k < 32), -2 (k >= 32); gs = 3, 5:
	 *       3 * (-144) + 5 * (-2 * 124) = -432 - 1240 = -1672
	 *  ch1: q = -8, 7; gs = 2, 255:
	 *       2 * (-8 * -144) + 255 * (7 * 124) = 2304 + 221340 = 223644
	 *  ch2: q = 7, 7; gs = 0, 1: group 0 scaled by 0: 7 * 124 = 868
	 * qp {1, 0} INT32; then qp {1, 3} INT16: -1672/8 = -209,
	 * 223644/8 = 27955.5 -> 27956 (tie up), 868/8 = 108.5 -> 109.
	 */
	static int8_t x[40], q[120];
	static const uint8_t s[6] = { 3, 5, 2, 255, 0, 1 };
	static const struct inpu_qparam qp0[3] = { { 1, 0 }, { 1, 0 }, { 1, 0 } };
	static const struct inpu_qparam qp3[3] = { { 1, 3 }, { 1, 3 }, { 1, 3 } };
	struct mm_case c = { 1, 1, 40, 3, x, q, s, NULL, qp0, INPU_DT_INT32,
			     0, 0 };
	int64_t y[3];
	int k, lvl;

	for (k = 0; k < 40; k++) {
		x[k] = (int8_t)(k - 20);
		q[k] = k < 32 ? 1 : -2;
		q[40 + k] = k < 32 ? -8 : 7;
		q[80 + k] = 7;
	}
	for (lvl = 0; lvl < n_levels(); lvl++) {
		c.qp = qp0;
		c.ydt = INPU_DT_INT32;
		ASSERT_EQ(0, mm_run(&self->v, &c, lvl, y));
		EXPECT_EQ(-1672, y[0]);
		EXPECT_EQ(223644, y[1]);
		EXPECT_EQ(868, y[2]);
		c.qp = qp3;
		c.ydt = INPU_DT_INT16;
		ASSERT_EQ(0, mm_run(&self->v, &c, lvl, y));
		EXPECT_EQ(-209, y[0]);
		EXPECT_EQ(27956, y[1]);
		EXPECT_EQ(109, y[2]);
	}
}

TEST_F(ops, matmul_w4_accumulator_wraps)
{
	/*
	 * K = 8448 = 66 tiles of 128 = 264 groups; x = -128, q = -8, gs = 255.
	 * One group: 32 * (-8 * -128) = 32768, * 255 = 8355840.
	 * 264 groups: 2205941760 > 2^31 - 1; mod 2^32:
	 * 2205941760 - 4294967296 = -2089025536 (qp {1, 0}, INT32).
	 */
	enum { K = 8448, G = K / 32 };
	static int8_t x[K], q[K];
	static uint8_t s[G];
	static const struct inpu_qparam qp[1] = { { 1, 0 } };
	struct mm_case c = { 1, 1, K, 1, x, q, s, NULL, qp, INPU_DT_INT32, 0, 0 };
	int64_t y[1];
	int lvl;

	memset(x, -128, sizeof(x));
	memset(q, -8, sizeof(q));
	memset(s, 255, sizeof(s));
	for (lvl = 0; lvl < n_levels(); lvl++) {
		ASSERT_EQ(0, mm_run(&self->v, &c, lvl, y));
		EXPECT_EQ(-2089025536, y[0]);
	}
}

/*
 * Reference: y = sat((sum_k x * w_real + bias) * mult / 2^shift) with
 * w_real = w (W8) or q * gs[group] (W4): the real matmul with the real
 * two-level scale.  All terms are integers below 2^47 here, exact in a
 * double, so the only difference allowed is the final rounding: bound
 * 0.5 LSB of the output (ties included).
 */
TEST_F(ops, matmul_vs_float)
{
	static const uint32_t shapes[][3] = {	/* M, K, N */
		{ 1, 172, 172 }, { 3, 64, 65 }, { 17, 200, 1 }, { 2, 1, 3 },
		{ 5, 460, 172 }, { 1, 129, 127 }, { 20, 33, 64 },
	};
	unsigned int si, t, fails = 0;
	int w4, b, lvl;

	rng_seed(1);
	for (si = 0; si < sizeof(shapes) / sizeof(shapes[0]); si++) {
		uint32_t m = shapes[si][0], k = shapes[si][1], n = shapes[si][2];
		uint32_t groups = (k + 31) / 32, i, j, kk;
		int8_t *x = malloc((size_t)m * k), *w = malloc((size_t)n * k);
		uint8_t *s = malloc((size_t)n * groups);
		int32_t *bias = malloc((size_t)n * 4);
		struct inpu_qparam *qp = malloc((size_t)n * sizeof(*qp));
		int64_t *y = malloc((size_t)m * n * 8);

		ASSERT_NE(NULL, x);
		ASSERT_NE(NULL, w);
		ASSERT_NE(NULL, s);
		ASSERT_NE(NULL, bias);
		ASSERT_NE(NULL, qp);
		ASSERT_NE(NULL, y);
		for (w4 = 0; w4 < 2; w4++) {
			/* Typical |acc|: sqrt(K) * std(x * w_real). */
			double typ = sqrt((double)k) * (w4 ? 74.0 * 4.6 * 147 : 74.0 * 74.0);

			for (i = 0; i < m * k; i++)
				x[i] = (int8_t)rnd(-128, 127);
			for (i = 0; i < n * k; i++)
				w[i] = (int8_t)(w4 ? rnd(-8, 7) : rnd(-128, 127));
			for (i = 0; i < n * groups; i++)
				s[i] = (uint8_t)rnd(0, 255);
			for (i = 0; i < n; i++)
				bias[i] = (int32_t)rnd(-(int64_t)typ, (int64_t)typ);
			for (t = 0; t < 3; t++) {
				double target = t == 0 ? 60 : t == 1 ? 12000 : 3e6;
				int base = (int)lround(log2(typ * 24576 / target));

				for (i = 0; i < n; i++) {
					qp[i].mult = (int32_t)rnd(16384, 32767);
					qp[i].shift = base + (int32_t)rnd(-1, 1);
				}
				for (b = 0; b < 2; b++) {
					struct mm_case c = { w4, m, k, n, x, w, s,
							     b ? bias : NULL, qp,
							     out_types[t], si % 3,
							     (si + b) % 2 * 7 };

					for (lvl = 0; lvl < n_levels(); lvl++) {
						ASSERT_EQ(0, mm_run(&self->v, &c, lvl, y));
						for (i = 0; i < m; i++) {
							for (j = 0; j < n; j++) {
								double acc = b ? bias[j] : 0;

								for (kk = 0; kk < k; kk++)
									acc += (double)x[i * k + kk] *
									       w[j * k + kk] *
									       (w4 ? s[j * groups + kk / 32] : 1);
								acc = acc * qp[j].mult /
								      ldexp(1.0, qp[j].shift);
								near(_metadata, "matmul", i * n + j,
								     y[i * n + j], acc, out_types[t],
								     0.5, &fails);
							}
						}
					}
				}
			}
		}
		free(x);
		free(w);
		free(s);
		free(bias);
		free(qp);
		free(y);
	}
	EXPECT_EQ(0, fails);
}

/* ---- MATMUL: W4 groups of 16 and zero points (section 3.1) --------------- */

/* v mod 2^32 as a signed 32-bit value. */
static int64_t wrap32(int64_t v)
{
	uint64_t u = (uint64_t)v & 0xffffffffu;

	return u >= 0x80000000u ? (int64_t)u - 0x100000000ll : (int64_t)u;
}

/*
 * y = sat(requant(acc, mult, shift)) read literally from section 3: the
 * shift clamped into 0..62, floor((v + 2^(s-1)) / 2^s) by division.
 * |acc * mult| <= 2^62: no overflow in 64 bits.
 */
static int64_t ref_requant(int64_t acc, const struct inpu_qparam *qp,
			   uint8_t dt)
{
	int32_t s = qp->shift < 0 ? 0 : qp->shift > 62 ? 62 : qp->shift;
	int64_t v = acc * qp->mult, d, q;

	if (s) {
		d = (int64_t)1 << s;
		v += d / 2;
		q = v / d;
		if (v % d < 0)
			q--;
		v = q;
	}
	return (int64_t)satd((double)v, dt);
}

/*
 * The W4 formula of section 3.1 with plain loops in 64-bit integers:
 * acc = sum_g gs[g][n] * sum_{k in g} x[m][k] * (q[n][k] - z[g][n]),
 * then + bias, each mod 2^32.  Group g holds inputs G g .. G g + G - 1.
 */
static void ref_w4(const struct mm_case *c, const struct mm_ext *e,
		   int64_t *y)
{
	uint32_t g_in = e->group ? e->group : 32;
	uint32_t groups = (c->k + g_in - 1) / g_in, m, n, g, kk;

	for (m = 0; m < c->m; m++) {
		for (n = 0; n < c->n; n++) {
			int64_t acc = 0;

			for (g = 0; g < groups; g++) {
				int64_t inner = 0;
				int64_t z = e->z ? e->z[(size_t)n * groups + g] : 0;

				for (kk = g * g_in; kk < (g + 1) * g_in && kk < c->k;
				     kk++)
					inner += (int64_t)c->x[(size_t)m * c->k + kk] *
						 (c->w[(size_t)n * c->k + kk] - z);
				acc = wrap32(acc + inner *
					     e->s[(size_t)n * groups + g]);
			}
			if (c->bias)
				acc = wrap32(acc + c->bias[n]);
			y[(size_t)m * c->n + n] = ref_requant(acc, &c->qp[n], c->ydt);
		}
	}
}

TEST_F(ops, matmul_w4_g16_zero_points_by_hand)
{
	/*
	 * K = 40, G = 16: group 0 = inputs 0..15, 1 = 16..31, 2 = 32..39
	 * (partial); Kpad 128 -> gscale and gzero [8][64], groups 3..7 pad.
	 * x[k] = k - 20: S0 = 120 - 320 = -200, S1 = 376 - 320 = 56,
	 * S2 = 284 - 160 = 124 (S0 + S1 = -144, the group of 32 below).
	 *  ch0: q = 1, z = 0, 0, 0, gs = 1, 2, 3:
	 *       -200 + 2 * 56 + 3 * 124 = 284 (with or without gzero)
	 *  ch1: q = 0, z = -128, 127, 5, gs = 1, 1, 2:
	 *       128 * -200 - 127 * 56 + 2 * (-5 * 124)
	 *       = -25600 - 7112 - 1240 = -33952;  without gzero 0
	 *  ch2: q = 7 (k < 16), -8; z = -128, 127, -8; gs = 255, 255, 200:
	 *       255 * 135 * -200 + 255 * -135 * 56 + 200 * 0 * 124
	 *       = -6885000 - 1927800 = -8812800;
	 *       without gzero 255 * 7 * -200 + 255 * -8 * 56 + 200 * -8 * 124
	 *       = -357000 - 114240 - 198400 = -669640
	 * Then bias 16, -40, 800 and qp {1, 4} to INT16: 300 / 16 = 18.75
	 * -> 19; -33992 / 16 = -2124.5 -> -2124 (tie up); -8812000 / 16 =
	 * -550750 -> -32768.
	 */
	static int8_t x[40], q[120];
	static const uint8_t s[9] = { 1, 2, 3, 1, 1, 2, 255, 255, 200 };
	static const int8_t z[9] = { 0, 0, 0, -128, 127, 5, -128, 127, -8 };
	static const int32_t bias[3] = { 16, -40, 800 };
	static const struct inpu_qparam qp0[3] = { { 1, 0 }, { 1, 0 }, { 1, 0 } };
	static const struct inpu_qparam qp4[3] = { { 1, 4 }, { 1, 4 }, { 1, 4 } };
	static const int64_t want_z[3] = { 284, -33952, -8812800 };
	static const int64_t want_nz[3] = { 284, 0, -669640 };
	static const int64_t want_b[3] = { 19, -2124, -32768 };
	struct mm_case c = { 1, 1, 40, 3, x, q, NULL, NULL, qp0, INPU_DT_INT32,
			     0, 0 };
	struct mm_ext e = { 16, s, z }, enz = { 16, s, NULL };
	int64_t y[3], r[3];
	int k, lvl;

	for (k = 0; k < 40; k++) {
		x[k] = (int8_t)(k - 20);
		q[k] = 1;
		q[40 + k] = 0;
		q[80 + k] = k < 16 ? 7 : -8;
	}
	/* The reference agrees with the hand computation. */
	ref_w4(&c, &e, r);
	EXPECT_EQ(0, memcmp(r, want_z, sizeof(r)));
	ref_w4(&c, &enz, r);
	EXPECT_EQ(0, memcmp(r, want_nz, sizeof(r)));
	for (lvl = 0; lvl < n_levels(); lvl++) {
		c.qp = qp0;
		c.bias = NULL;
		c.ydt = INPU_DT_INT32;
		ASSERT_EQ(0, mm_run_ext(&self->v, &c, &e, lvl, y));
		EXPECT_EQ(0, memcmp(y, want_z, sizeof(y))) {
			TH_LOG("level %d: %lld %lld %lld", lvl, (long long)y[0],
			       (long long)y[1], (long long)y[2]);
		}
		ASSERT_EQ(0, mm_run_ext(&self->v, &c, &enz, lvl, y));
		EXPECT_EQ(0, memcmp(y, want_nz, sizeof(y))) {
			TH_LOG("level %d no gzero: %lld %lld %lld", lvl,
			       (long long)y[0], (long long)y[1], (long long)y[2]);
		}
		c.qp = qp4;
		c.bias = bias;
		c.ydt = INPU_DT_INT16;
		c.xpad = 5;
		c.ypad = 3;
		ASSERT_EQ(0, mm_run_ext(&self->v, &c, &e, lvl, y));
		EXPECT_EQ(0, memcmp(y, want_b, sizeof(y))) {
			TH_LOG("level %d bias: %lld %lld %lld", lvl,
			       (long long)y[0], (long long)y[1], (long long)y[2]);
		}
		c.xpad = 0;
		c.ypad = 0;
	}
}

TEST_F(ops, matmul_w4_zero_points_by_hand)
{
	/*
	 * K = 40, groups of 32 (group field 0 and 32 alike): S0 = sum of
	 * x[0..31] = -144, S1 = sum of x[32..39] = 124, x[k] = k - 20.
	 *  ch0: q = 1, -2; z = -128, 127; gs = 1, 2:
	 *       129 * -144 + 2 * -129 * 124 = -18576 - 31992 = -50568
	 *  ch1: q = 7, -8; z = 7, -1; gs = 255, 3: 0 + 3 * -7 * 124 = -2604
	 *  ch2: q = 3; z = 0, 0; gs = 10, 0: 10 * 3 * -144 = -4320
	 * Without gzero: -144 - 496 = -640, 255 * 7 * -144 + 3 * -8 * 124
	 * = -260016, -4320: the values of the layout before zero points.
	 */
	static int8_t x[40], q[120];
	static const uint8_t s[6] = { 1, 2, 255, 3, 10, 0 };
	static const int8_t z[6] = { -128, 127, 7, -1, 0, 0 };
	static const struct inpu_qparam qp[3] = { { 1, 0 }, { 1, 0 }, { 1, 0 } };
	static const int64_t want_z[3] = { -50568, -2604, -4320 };
	static const int64_t want_nz[3] = { -640, -260016, -4320 };
	struct mm_case c = { 1, 1, 40, 3, x, q, s, NULL, qp, INPU_DT_INT32, 0, 0 };
	int64_t y[3], r[3];
	uint32_t group;
	int k, lvl;

	for (k = 0; k < 40; k++) {
		x[k] = (int8_t)(k - 20);
		q[k] = k < 32 ? 1 : -2;
		q[40 + k] = k < 32 ? 7 : -8;
		q[80 + k] = 3;
	}
	for (group = 0; group <= 32; group += 32) {
		struct mm_ext e = { group, s, z }, enz = { group, s, NULL };

		ref_w4(&c, &e, r);
		EXPECT_EQ(0, memcmp(r, want_z, sizeof(r)));
		for (lvl = 0; lvl < n_levels(); lvl++) {
			ASSERT_EQ(0, mm_run_ext(&self->v, &c, &e, lvl, y));
			EXPECT_EQ(0, memcmp(y, want_z, sizeof(y))) {
				TH_LOG("group %u level %d: %lld %lld %lld", group,
				       lvl, (long long)y[0], (long long)y[1],
				       (long long)y[2]);
			}
			ASSERT_EQ(0, mm_run_ext(&self->v, &c, &enz, lvl, y));
			EXPECT_EQ(0, memcmp(y, want_nz, sizeof(y)));
			/* The old path (inpu_pack_w4, no fields) agrees. */
			ASSERT_EQ(0, mm_run(&self->v, &c, lvl, y));
			EXPECT_EQ(0, memcmp(y, want_nz, sizeof(y)));
		}
	}
}

TEST_F(ops, matmul_w4_g16_zero_points_accumulator_wraps)
{
	/*
	 * K = 8448 = 66 tiles = 528 groups of 16; x = -128, q = -8, z = 127,
	 * gs = 255.  One group: 16 * -128 * (-8 - 127) = 276480, * 255 =
	 * 70502400; 528 groups: 37225267200 = 8 * 2^32 + 2865528832, and
	 * 2865528832 - 2^32 = -1429438464 (qp {1, 0}, INT32).
	 */
	enum { K = 8448, G = K / 16 };
	static int8_t x[K], q[K], z[G];
	static uint8_t s[G];
	static const struct inpu_qparam qp[1] = { { 1, 0 } };
	struct mm_case c = { 1, 1, K, 1, x, q, NULL, NULL, qp, INPU_DT_INT32,
			     0, 0 };
	struct mm_ext e = { 16, s, z };
	int64_t y[1];
	int lvl;

	memset(x, -128, sizeof(x));
	memset(q, -8, sizeof(q));
	memset(z, 127, sizeof(z));
	memset(s, 255, sizeof(s));
	ref_w4(&c, &e, y);
	EXPECT_EQ(-1429438464, y[0]);
	for (lvl = 0; lvl < n_levels(); lvl++) {
		ASSERT_EQ(0, mm_run_ext(&self->v, &c, &e, lvl, y));
		EXPECT_EQ(-1429438464, y[0]);
	}
}

/* Random W4 values: uniform, or only the extremes of each range. */
static void w4_fill(int8_t *x, size_t nx, int8_t *q, size_t nq, uint8_t *s,
		    int8_t *z, size_t ng, int extreme)
{
	size_t i;

	for (i = 0; i < nx; i++)
		x[i] = (int8_t)(extreme ? (rng() & 1 ? 127 : -128) : rnd(-128, 127));
	for (i = 0; i < nq; i++)
		q[i] = (int8_t)(extreme ? (rng() & 1 ? 7 : -8) : rnd(-8, 7));
	for (i = 0; i < ng; i++) {
		s[i] = (uint8_t)(extreme ? (rng() & 1 ? 255 : 0) : rnd(0, 255));
		z[i] = (int8_t)(extreme ? (rng() & 1 ? 127 : -128) : rnd(-128, 127));
	}
}

/*
 * Every combination of group field (0, 16, 32) and zero points (none,
 * random, the extremes -128 / 127 with extreme x, q and scales, all 0)
 * over shapes with partial groups, tiles and channel blocks (K 172 and
 * N 70 are padded to 256 and 128), with and without bias, to every
 * output type, at every kernel level: exactly the integer reference.
 */
TEST_F(ops, matmul_w4_groups_zero_points_vs_reference)
{
	static const uint32_t shapes[][3] = {	/* M, K, N */
		{ 1, 172, 70 }, { 3, 172, 172 }, { 2, 40, 8 }, { 17, 300, 130 },
		{ 5, 129, 65 }, { 1, 16, 1 }, { 4, 460, 64 }, { 20, 17, 3 },
		{ 1, 1, 1 },
	};
	static const uint32_t group_fields[] = { 0, 16, 32 };
	unsigned int si, gi, zm, fails = 0, runs = 0;
	int lvl;

	rng_seed(7);
	for (si = 0; si < sizeof(shapes) / sizeof(shapes[0]); si++) {
		uint32_t m = shapes[si][0], k = shapes[si][1], n = shapes[si][2];
		uint32_t ng = n * ((k + 15) / 16), i;
		int8_t *x = malloc((size_t)m * k), *w = malloc((size_t)n * k);
		int8_t *z = malloc(ng);
		uint8_t *s = malloc(ng);
		int32_t *bias = malloc((size_t)n * 4);
		struct inpu_qparam *qp = malloc((size_t)n * sizeof(*qp));
		int64_t *y = malloc((size_t)m * n * 8);
		int64_t *want = malloc((size_t)m * n * 8);

		ASSERT_NE(NULL, x);
		ASSERT_NE(NULL, w);
		ASSERT_NE(NULL, z);
		ASSERT_NE(NULL, s);
		ASSERT_NE(NULL, bias);
		ASSERT_NE(NULL, qp);
		ASSERT_NE(NULL, y);
		ASSERT_NE(NULL, want);
		for (gi = 0; gi < 3; gi++) {
			for (zm = 0; zm < 4; zm++) {
				unsigned int t = (si + gi + zm) % 3, b = (si + zm) % 2;
				/* Typical |acc|: sqrt(K) * 74 * std(q - z) * 147. */
				double typ = sqrt((double)k) * 74.0 *
					     (zm == 1 || zm == 2 ? 75.0 : 4.6) * 147;
				double target = t == 0 ? 60 : t == 1 ? 12000 : 3e6;
				int base = (int)lround(log2(typ * 24576 / target));
				struct mm_ext e = { group_fields[gi], s,
						    zm ? z : NULL };
				struct mm_case c = { 1, m, k, n, x, w, NULL,
						     b ? bias : NULL, qp,
						     out_types[t], si % 3,
						     (si + 1) % 2 * 7 };

				w4_fill(x, (size_t)m * k, w, (size_t)n * k, s, z,
					ng, zm == 2);
				if (zm == 3)
					memset(z, 0, ng);
				for (i = 0; i < n; i++) {
					bias[i] = (int32_t)rnd(-(int64_t)typ,
							       (int64_t)typ);
					qp[i].mult = (int32_t)rnd(16384, 32767);
					qp[i].shift = base + (int32_t)rnd(-1, 1);
					/* INT32 without bias: acc itself. */
					if (t == 2 && !b) {
						qp[i].mult = 1;
						qp[i].shift = 0;
					}
				}
				ref_w4(&c, &e, want);
				for (lvl = 0; lvl < n_levels(); lvl++) {
					ASSERT_EQ(0, mm_run_ext(&self->v, &c, &e,
								lvl, y));
					runs++;
					for (i = 0; i < m * n; i++) {
						if (y[i] == want[i])
							continue;
						if (fails++ < 8)
							TH_LOG("M %u K %u N %u group %u z %u "
							       "level %d [%u]: %lld, want %lld",
							       m, k, n, e.group, zm, lvl,
							       i, (long long)y[i],
							       (long long)want[i]);
					}
				}
			}
		}
		free(x);
		free(w);
		free(z);
		free(s);
		free(bias);
		free(qp);
		free(y);
		free(want);
	}
	EXPECT_EQ(9 * 3 * 4 * n_levels(), runs);
	EXPECT_EQ(0, fails);
}

/*
 * Streams written before the extension (gzero NONE, group 0, the bytes
 * past y zero) keep their result: the group-of-32 formula without zero
 * points.  So do the explicit group 32, an all-zero gzero, and groups of
 * 16 whose two halves carry the scale of their group of 32.
 */
TEST_F(ops, matmul_w4_old_streams_unchanged)
{
	static const uint32_t shapes[][3] = {	/* M, K, N */
		{ 1, 172, 70 }, { 3, 460, 172 }, { 2, 33, 1 }, { 16, 256, 64 },
	};
	unsigned int si, fails = 0;
	int lvl, vi;

	rng_seed(11);
	for (si = 0; si < sizeof(shapes) / sizeof(shapes[0]); si++) {
		uint32_t m = shapes[si][0], k = shapes[si][1], n = shapes[si][2];
		uint32_t g32 = (k + 31) / 32, g16 = (k + 15) / 16, i, j;
		int8_t *x = malloc((size_t)m * k), *w = malloc((size_t)n * k);
		uint8_t *s = malloc((size_t)n * g32), *s16 = malloc((size_t)n * g16);
		int8_t *zero = calloc((size_t)n * g32, 1);
		int32_t *bias = malloc((size_t)n * 4);
		struct inpu_qparam *qp = malloc((size_t)n * sizeof(*qp));
		int64_t *y = malloc((size_t)m * n * 8);
		int64_t *want = malloc((size_t)m * n * 8);
		struct mm_ext old = { 0, s, NULL };
		struct mm_case c = { 1, m, k, n, x, w, s, bias, qp, INPU_DT_INT32,
				     1, 2 };
		const uint8_t *body;

		ASSERT_NE(NULL, x);
		ASSERT_NE(NULL, w);
		ASSERT_NE(NULL, s);
		ASSERT_NE(NULL, s16);
		ASSERT_NE(NULL, zero);
		ASSERT_NE(NULL, bias);
		ASSERT_NE(NULL, qp);
		ASSERT_NE(NULL, y);
		ASSERT_NE(NULL, want);
		for (i = 0; i < m * k; i++)
			x[i] = (int8_t)rnd(-128, 127);
		for (i = 0; i < n * k; i++)
			w[i] = (int8_t)rnd(-8, 7);
		for (i = 0; i < n * g32; i++)
			s[i] = (uint8_t)rnd(0, 255);
		for (i = 0; i < n; i++) {
			for (j = 0; j < g16; j++)
				s16[(size_t)i * g16 + j] = s[(size_t)i * g32 + j / 2];
			bias[i] = (int32_t)rnd(-1000000, 1000000);
			qp[i].mult = (int32_t)rnd(1, 3) * (rng() & 1 ? -1 : 1);
			qp[i].shift = (int32_t)rnd(0, 2);
		}
		ref_w4(&c, &old, want);
		for (lvl = 0; lvl < n_levels(); lvl++) {
			for (vi = 0; vi < 4; vi++) {
				struct mm_ext e32 = { 32, s, NULL };
				struct mm_ext ez = { 0, s, zero };
				struct mm_ext e16 = { 16, s16, NULL };

				if (vi == 0) {
					ASSERT_EQ(0, mm_run(&self->v, &c, lvl, y));
					/* Byte for byte an old stream. */
					body = self->v.s.ops[0].u.raw;
					for (i = offsetof(struct inpu_op_matmul, gzero);
					     i < sizeof(self->v.s.ops[0].u.raw); i++)
						EXPECT_EQ(0, body[i]);
				} else {
					ASSERT_EQ(0, mm_run_ext(&self->v, &c,
							vi == 1 ? &e32 :
							vi == 2 ? &ez : &e16,
							lvl, y));
				}
				for (i = 0; i < m * n; i++) {
					if (y[i] == want[i])
						continue;
					if (fails++ < 8)
						TH_LOG("M %u K %u N %u variant %d "
						       "level %d [%u]: %lld, want %lld",
						       m, k, n, vi, lvl, i,
						       (long long)y[i],
						       (long long)want[i]);
				}
			}
		}
		free(x);
		free(w);
		free(s);
		free(s16);
		free(zero);
		free(bias);
		free(qp);
		free(y);
		free(want);
	}
	EXPECT_EQ(0, fails);
}

/* ---- RMSNORM ------------------------------------------------------------ */

static struct inpu_op *add_rmsnorm(struct stream *s, struct inpu_tensor x,
				   struct inpu_tensor g, struct inpu_tensor y,
				   uint32_t eps, uint32_t shift)
{
	struct inpu_op *op = stream_add(s, INPU_OP_RMSNORM);

	op->u.rmsnorm.x = x;
	op->u.rmsnorm.g = g;
	op->u.rmsnorm.y = y;
	op->u.rmsnorm.eps = eps;
	op->u.rmsnorm.shift = shift;
	return op;
}

TEST_F(ops, rmsnorm_by_hand)
{
	struct env *v = &self->v;
	struct inpu_tensor x, g, y, x2, g2, y2, y3, x4, g4, y4;
	static const int64_t xa[4] = { 4, -4, 4, -4 }, ga[4] = { 3, 3, 3, 3 };
	static const int64_t xb[4] = { 3, -3, 3, -3 }, gb[4] = { 1, 1, 1, 1 };
	static const int64_t xc[2] = { 100000, -100000 }, gc[2] = { 1, 1 };
	static const int64_t z[4] = { 0, 0, 0, 0 };

	reset(v);
	/*
	 * Row [4, -4, 4, -4], eps 9: ss = 64, ss / n = 16, + 9 = 25, s = 5,
	 * inv = 2^46 / 5 = 14073748835532 (floor of ...532.8).
	 * norm(4) = rshift_round(4 * inv, 31) = round(26214.39999...) = 26214
	 * norm(-4) = round(-26214.39999...) = -26214
	 * g = 3, shift 2: 26214 * 3 / 4 = 19660.5 -> 19661 (tie up),
	 *                -26214 * 3 / 4 = -19660.5 -> -19660 (tie up). INT16.
	 * Second row all 0: ss = 0, s = isqrt(9) = 3, every output 0.
	 */
	x = talloc(v, INPU_DT_INT16, 2, 4, 1);
	g = talloc(v, INPU_DT_INT32, 1, 4, 0);
	y = talloc(v, INPU_DT_INT16, 2, 4, 2);
	tfill(v, &g, ga);
	{
		int64_t both[8];

		memcpy(both, xa, sizeof(xa));
		memcpy(both + 4, z, sizeof(z));
		tfill(v, &x, both);
	}
	add_rmsnorm(&v->s, x, g, y, 9, 2);
	/*
	 * Row [3, -3, 3, -3], eps 1: ss / n = 9, + 1 = 10, s = isqrt(10) = 3,
	 * inv = 2^46 / 3 = 23456248059221,
	 * norm(3) = round(70368744177663 / 2^31) = round(32767.9999999995) =
	 * 32768, norm(-3) = -32768; g = 1, shift 8: 128 and -128.
	 * INT8 output: 128 saturates to 127, -128 fits. INT16: 128, -128.
	 * shift 0: INT16 32768 -> 32767, -32768.
	 */
	x2 = talloc(v, INPU_DT_INT16, 1, 4, 0);
	g2 = talloc(v, INPU_DT_INT32, 1, 4, 0);
	y2 = talloc(v, INPU_DT_INT8, 1, 4, 0);
	y3 = talloc(v, INPU_DT_INT16, 1, 4, 0);
	tfill(v, &x2, xb);
	tfill(v, &g2, gb);
	add_rmsnorm(&v->s, x2, g2, y2, 1, 8);
	add_rmsnorm(&v->s, x2, g2, y3, 1, 0);
	/*
	 * INT32 row [100000, -100000], eps 1: ss = 2 * 10^10, / 2 = 10^10,
	 * + 1: isqrt(10000000001) = 100000; inv = 2^46 / 10^5 = 703687441;
	 * norm = round(70368744100000 / 2^31) = round(32767.99996) = 32768,
	 * -32768; g = 1, shift 0 -> INT16: 32767 (saturated), -32768.
	 */
	x4 = talloc(v, INPU_DT_INT32, 1, 2, 0);
	g4 = talloc(v, INPU_DT_INT32, 1, 2, 0);
	y4 = talloc(v, INPU_DT_INT16, 1, 2, 0);
	tfill(v, &x4, xc);
	tfill(v, &g4, gc);
	add_rmsnorm(&v->s, x4, g4, y4, 1, 0);

	ASSERT_EQ(0, run(v, NULL));
	EXPECT_EQ(19661, tget(v, &y, 0, 0));
	EXPECT_EQ(-19660, tget(v, &y, 0, 1));
	EXPECT_EQ(19661, tget(v, &y, 0, 2));
	EXPECT_EQ(-19660, tget(v, &y, 0, 3));
	EXPECT_EQ(0, tget(v, &y, 1, 0));
	EXPECT_EQ(0, tget(v, &y, 1, 3));
	EXPECT_EQ(127, tget(v, &y2, 0, 0));
	EXPECT_EQ(-128, tget(v, &y2, 0, 1));
	EXPECT_EQ(32767, tget(v, &y3, 0, 0));
	EXPECT_EQ(-32768, tget(v, &y3, 0, 3));
	EXPECT_EQ(32767, tget(v, &y4, 0, 0));
	EXPECT_EQ(-32768, tget(v, &y4, 0, 1));
	/* Row padding of y (stride 6 elements) untouched. */
	EXPECT_EQ(GARBAGE, *(uint8_t *)eptr(v, &y, 0, 4));
}

/*
 * Reference: y_i = x_i / sqrt(ss / n + eps) * 2^15 * g_i / 2^shift, the
 * real RMSNorm (x_i / rms in Q15, times the folded weight g_i / 2^shift).
 * Bound, with v = ss / n + eps and R the reference:
 *  - s = isqrt(floor(ss / n) + eps) lies in (sqrt(v - 1) - 1, sqrt(v)], so
 *    x / s differs from x / sqrt(v) by a factor in
 *    [1, sqrt(v) / (sqrt(v - 1) - 1)): |R| * (that factor - 1);
 *  - inv = floor(2^46 / s) is below 2^46 / s by < 1: |x| / 2^31 in norm;
 *  - norm is rounded: 0.5; both scaled by |g| / 2^shift;
 *  - the final rounding: 0.5.
 * B = 0.5 + |g| / 2^shift * (0.5 + |x| / 2^31) + |R| * rel.
 */
TEST_F(ops, rmsnorm_vs_float)
{
	struct env *v = &self->v;
	static const struct { uint8_t xdt, ydt; uint32_t m, n, eps, shift;
			      int64_t xmax, gmax; } cs[] = {
		{ INPU_DT_INT16, INPU_DT_INT8, 4, 172, 3, 22, 3000, 16384 },
		{ INPU_DT_INT16, INPU_DT_INT16, 3, 64, 100, 15, 32767, 8192 },
		{ INPU_DT_INT32, INPU_DT_INT8, 2, 172, 5, 22, 1 << 24, 16384 },
		{ INPU_DT_INT32, INPU_DT_INT16, 3, 7, 1000, 14, 1 << 30, 4096 },
		{ INPU_DT_INT16, INPU_DT_INT16, 2, 16, 3, 16, 12, 30000 },
	};
	unsigned int ci, fails = 0;

	rng_seed(2);
	for (ci = 0; ci < sizeof(cs) / sizeof(cs[0]); ci++) {
		struct inpu_tensor x, g, y;
		uint32_t r, i;

		reset(v);
		x = talloc(v, cs[ci].xdt, cs[ci].m, cs[ci].n, ci % 2);
		g = talloc(v, INPU_DT_INT32, 1, cs[ci].n, 0);
		y = talloc(v, cs[ci].ydt, cs[ci].m, cs[ci].n, 0);
		for (r = 0; r < cs[ci].m; r++) {
			/* Row r gets a smaller amplitude: different rms. */
			int64_t amp = cs[ci].xmax >> (2 * r);

			for (i = 0; i < cs[ci].n; i++)
				tset(v, &x, r, i, rnd(-amp, amp));
		}
		for (i = 0; i < cs[ci].n; i++)
			tset(v, &g, 0, i, rnd(-cs[ci].gmax, cs[ci].gmax));
		add_rmsnorm(&v->s, x, g, y, cs[ci].eps, cs[ci].shift);
		ASSERT_EQ(0, run(v, NULL));
		for (r = 0; r < cs[ci].m; r++) {
			double ss = 0, vv, rms, rel;

			for (i = 0; i < cs[ci].n; i++)
				ss += (double)tget(v, &x, r, i) * tget(v, &x, r, i);
			vv = ss / cs[ci].n + cs[ci].eps;
			rms = sqrt(vv);
			rel = rms / (sqrt(vv - 1) - 1) - 1;
			for (i = 0; i < cs[ci].n; i++) {
				double xi = tget(v, &x, r, i), gi = tget(v, &g, 0, i);
				double sc = fabs(gi) / ldexp(1.0, cs[ci].shift);
				double ref = xi / rms * 32768 * gi /
					     ldexp(1.0, cs[ci].shift);
				double bound = 0.5 + sc * (0.5 + fabs(xi) / 2147483648.0) +
					       fabs(ref) * rel + 1e-9;

				near(_metadata, "rmsnorm", r * cs[ci].n + i,
				     tget(v, &y, r, i), ref, cs[ci].ydt, bound, &fails);
			}
		}
	}
	EXPECT_EQ(0, fails);
}

/* ---- ROPE --------------------------------------------------------------- */

static struct inpu_op *add_rope(struct stream *s, struct inpu_tensor x,
				struct inpu_tensor cs, struct inpu_tensor y,
				uint32_t head_dim)
{
	struct inpu_op *op = stream_add(s, INPU_OP_ROPE);

	op->u.rope.x = x;
	op->u.rope.cs = cs;
	op->u.rope.y = y;
	op->u.rope.head_dim = head_dim;
	return op;
}

TEST_F(ops, rope_by_hand)
{
	struct env *v = &self->v;
	struct inpu_tensor x1, c1, y1, x2, c2, y2, x3, c3, y3, x4, c4, y4;
	/*
	 * head_dim 4, two heads; cs = [16384, 0, 0, 16384]:
	 * pair 0: cos 1, sin 0 (identity); pair 1: cos 0, sin 1:
	 * y2 = x2 * 0 - x3 * 16384 >> 14 = -x3, y3 = x2 * 16384 >> 14 = x2.
	 * The second head uses the same cs columns (p = i mod head_dim).
	 * x = [10, 20, 30, 40, 50, 60, 70, 80] ->
	 * y = [10, 20, -40, 30, 50, 60, -80, 70]
	 */
	static const int64_t xa[8] = { 10, 20, 30, 40, 50, 60, 70, 80 };
	static const int64_t ca[4] = { 16384, 0, 0, 16384 };
	static const int64_t ya[8] = { 10, 20, -40, 30, 50, 60, -80, 70 };
	/*
	 * Ties, INT8, head_dim 2, cs = [8192, 0] (cos 1/2):
	 * x = [5, -5, 3, -3]: pair (5, -5): y0 = 5 * 8192 / 16384 = 2.5 -> 3,
	 * y1 = (5 * 0 + -5 * 8192) / 16384 = -2.5 -> -2;
	 * pair (3, -3): 1.5 -> 2, -1.5 -> -1.
	 */
	static const int64_t xb[4] = { 5, -5, 3, -3 }, cb[2] = { 8192, 0 };
	static const int64_t yb[4] = { 3, -2, 2, -1 };
	/*
	 * Saturation, INT8, cs = [16384, 16384] (cos = sin = 1):
	 * (127, -128): y0 = 127 + 128 = 255 -> 127, y1 = 127 - 128 = -1;
	 * (-128, 127): y0 = -128 - 127 = -255 -> -128, y1 = -1.
	 */
	static const int64_t xc[4] = { 127, -128, -128, 127 };
	static const int64_t cc[2] = { 16384, 16384 };
	static const int64_t yc[4] = { 127, -1, -128, -1 };
	/*
	 * INT16, cs = [32767, -32768] (about 2 and -2), in place (y = x):
	 * (32767, 1): y0 = (32767 * 32767 + 32768) / 16384 = 65534.0... -> 32767;
	 *             y1 = (32767 * -32768 + 32767) / 16384 = -65533.99... -> -32768
	 * (-3, 2):    y0 = (-3 * 32767 + 2 * 32768) / 16384 = -32765/16384
	 *                = -1.99987 -> -2;
	 *             y1 = (-3 * -32768 + 2 * 32767) / 16384 = 163838/16384
	 *                = 9.99987 -> 10
	 */
	static const int64_t xd[4] = { 32767, 1, -3, 2 };
	static const int64_t cd[2] = { 32767, -32768 };
	static const int64_t yd[4] = { 32767, -32768, -2, 10 };
	unsigned int i;

	reset(v);
	x1 = talloc(v, INPU_DT_INT16, 1, 8, 0);
	c1 = talloc(v, INPU_DT_INT16, 1, 4, 0);
	y1 = talloc(v, INPU_DT_INT16, 1, 8, 0);
	tfill(v, &x1, xa);
	tfill(v, &c1, ca);
	add_rope(&v->s, x1, c1, y1, 4);
	x2 = talloc(v, INPU_DT_INT8, 1, 4, 0);
	c2 = talloc(v, INPU_DT_INT16, 1, 2, 0);
	y2 = talloc(v, INPU_DT_INT8, 1, 4, 0);
	tfill(v, &x2, xb);
	tfill(v, &c2, cb);
	add_rope(&v->s, x2, c2, y2, 2);
	x3 = talloc(v, INPU_DT_INT8, 1, 4, 0);
	c3 = talloc(v, INPU_DT_INT16, 1, 2, 0);
	y3 = talloc(v, INPU_DT_INT8, 1, 4, 0);
	tfill(v, &x3, xc);
	tfill(v, &c3, cc);
	add_rope(&v->s, x3, c3, y3, 2);
	x4 = talloc(v, INPU_DT_INT16, 1, 4, 0);
	c4 = talloc(v, INPU_DT_INT16, 1, 2, 0);
	y4 = x4;
	tfill(v, &x4, xd);
	tfill(v, &c4, cd);
	add_rope(&v->s, x4, c4, y4, 2);
	ASSERT_EQ(0, run(v, NULL));
	for (i = 0; i < 8; i++)
		EXPECT_EQ(ya[i], tget(v, &y1, 0, i));
	for (i = 0; i < 4; i++) {
		EXPECT_EQ(yb[i], tget(v, &y2, 0, i));
		EXPECT_EQ(yc[i], tget(v, &y3, 0, i));
		EXPECT_EQ(yd[i], tget(v, &y4, 0, i));
	}
}

/*
 * Reference: the real rotation of each pair by pos * theta_j,
 * theta_j = 10000^(-2j / head_dim), position pos0 + m for row m (the cs
 * operand points at row pos0 of a table with a dynamic address).
 * The table holds round(16384 cos), round(16384 sin): each is within
 * 0.5 / 16384 of the real value, so
 * B = 0.5 (final rounding) + (|x0| + |x1|) * 0.5 / 16384.
 */
TEST_F(ops, rope_vs_float_with_position_param)
{
	struct env *v = &self->v;
	enum { P = 64, HD = 16, N = 64, M = 3 };
	static const uint32_t positions[] = { 0, 1, 7, 30, P - M };
	struct inpu_tensor table, x, y, cs, x8, y8;
	unsigned int pi, fails = 0;
	uint32_t p, j, r, i;

	rng_seed(3);
	reset(v);
	table = talloc(v, INPU_DT_INT16, P, HD, 2);	/* padded rows */
	for (p = 0; p < P; p++) {
		for (j = 0; j < HD / 2; j++) {
			double th = p * pow(10000.0, -2.0 * j / HD);

			tset(v, &table, p, 2 * j, lround(16384 * cos(th)));
			tset(v, &table, p, 2 * j + 1, lround(16384 * sin(th)));
		}
	}
	x = talloc(v, INPU_DT_INT16, M, N, 0);
	y = talloc(v, INPU_DT_INT16, M, N, 3);
	x8 = talloc(v, INPU_DT_INT8, M, N, 0);
	y8 = x8;					/* in place */
	cs = table;
	cs.rows = M;
	cs.dyn_param = 1;
	cs.dyn_mul = table.stride;
	stream_param(&v->s, 0, P - M);
	add_rope(&v->s, x, cs, y, HD);
	add_rope(&v->s, x8, cs, y8, HD);
	for (pi = 0; pi < sizeof(positions) / sizeof(positions[0]); pi++) {
		int64_t xs[M][N], x8s[M][N];

		for (r = 0; r < M; r++) {
			for (i = 0; i < N; i++) {
				xs[r][i] = rnd(-32768, 32767);
				x8s[r][i] = rnd(-128, 127);
				tset(v, &x, r, i, xs[r][i]);
				tset(v, &x8, r, i, x8s[r][i]);
			}
		}
		ASSERT_EQ(0, run(v, &positions[pi]));
		for (r = 0; r < M; r++) {
			for (i = 0; i < N; i += 2) {
				double th = (positions[pi] + r) *
					    pow(10000.0, -2.0 * ((i % HD) / 2) / HD);
				double c = cos(th), s = sin(th);
				double a = xs[r][i], b = xs[r][i + 1];
				double a8 = x8s[r][i], b8 = x8s[r][i + 1];
				double bnd = 0.5 + (fabs(a) + fabs(b)) * 0.5 / 16384 + 1e-9;
				double bnd8 = 0.5 + (fabs(a8) + fabs(b8)) * 0.5 / 16384 + 1e-9;

				near(_metadata, "rope16 y0", i, tget(v, &y, r, i),
				     a * c - b * s, INPU_DT_INT16, bnd, &fails);
				near(_metadata, "rope16 y1", i, tget(v, &y, r, i + 1),
				     a * s + b * c, INPU_DT_INT16, bnd, &fails);
				near(_metadata, "rope8 y0", i, tget(v, &y8, r, i),
				     a8 * c - b8 * s, INPU_DT_INT8, bnd8, &fails);
				near(_metadata, "rope8 y1", i, tget(v, &y8, r, i + 1),
				     a8 * s + b8 * c, INPU_DT_INT8, bnd8, &fails);
			}
		}
	}
	EXPECT_EQ(0, fails);
}

/* ---- ATTENTION ---------------------------------------------------------- */

struct attn {
	struct inpu_tensor q, k, v, y;
	uint16_t h, kv, d;
	uint32_t m, c;
};

static struct inpu_op *attn_setup(struct env *e, struct attn *a, uint32_t m,
				  uint32_t c, uint16_t h, uint16_t kv, uint16_t d,
				  uint8_t pos_param, uint32_t pos, int32_t smult,
				  int32_t sshift, int32_t omult, int32_t oshift)
{
	struct inpu_op *op = stream_add(&e->s, INPU_OP_ATTENTION);

	a->h = h;
	a->kv = kv;
	a->d = d;
	a->m = m;
	a->c = c;
	a->q = talloc(e, INPU_DT_INT8, m, h * d, 0);
	a->k = talloc(e, INPU_DT_INT8, c, kv * d, 1);
	a->v = talloc(e, INPU_DT_INT8, c, kv * d, 0);
	a->y = talloc(e, INPU_DT_INT8, m, h * d, 2);
	op->u.attention.q = a->q;
	op->u.attention.k = a->k;
	op->u.attention.v = a->v;
	op->u.attention.y = a->y;
	op->u.attention.n_heads = h;
	op->u.attention.n_kv_heads = kv;
	op->u.attention.head_dim = d;
	op->u.attention.pos_param = pos_param;
	op->u.attention.pos = pos;
	op->u.attention.score_mult = smult;
	op->u.attention.score_shift = sshift;
	op->u.attention.out_mult = omult;
	op->u.attention.out_shift = oshift;
	return op;
}

static void fill_rand(struct env *e, const struct inpu_tensor *t, int64_t lo,
		      int64_t hi)
{
	uint32_t r, c;

	for (r = 0; r < t->rows; r++)
		for (c = 0; c < t->cols; c++)
			tset(e, t, r, c, rnd(lo, hi));
}

TEST_F(ops, attention_by_hand)
{
	struct env *e = &self->v;
	struct attn a1, a2, a3, a4;
	static const int64_t v0[4] = { 3, -3, 100, -128 };
	static const int64_t v1[4] = { 2, -2, 101, -128 };
	static const int64_t want4[8] = { 10, 20, 10, 20, -30, -40, -30, -40 };
	unsigned int i;

	reset(e);
	/*
	 * 1. pos 0: one key. s_0 = mx, e_0 = exp[0] = 32768, Z = 32768,
	 * r = 2^46 / 2^15 = 2^31, p_0 = 32768 * 2^31 >> 31 = 32768,
	 * a = 32768 * v, out {1, 15}: y = v exactly, whatever q is.
	 */
	attn_setup(e, &a1, 1, 4, 1, 1, 4, 0, 0, 1, 0, 1, 15);
	fill_rand(e, &a1.q, -128, 127);
	fill_rand(e, &a1.k, -128, 127);
	fill_rand(e, &a1.v, -128, 127);
	for (i = 0; i < 4; i++)
		tset(e, &a1.v, 0, i, v0[i]);
	/*
	 * 2. pos 1, q = 0: s_0 = s_1 = 0, e = 32768 each, Z = 65536,
	 * r = 2^46 / 2^16 = 2^30, p = 32768 * 2^30 >> 31 = 16384 each,
	 * a = 16384 * (v0 + v1), y = rshift_round(a, 15) = (v0 + v1) / 2:
	 * [5/2, -5/2, 201/2, -256/2] = [2.5 -> 3, -2.5 -> -2, 100.5 -> 101,
	 * -128].  Rows 2, 3 of the cache (future) hold 127s: not summed.
	 */
	attn_setup(e, &a2, 1, 4, 1, 1, 4, 0, 1, 1, 0, 1, 15);
	for (i = 0; i < 4; i++) {
		tset(e, &a2.q, 0, i, 0);
		tset(e, &a2.k, 0, i, (int64_t)i - 2);
		tset(e, &a2.k, 1, i, 7);
		tset(e, &a2.v, 0, i, v0[i]);
		tset(e, &a2.v, 1, i, v1[i]);
		tset(e, &a2.k, 2, i, 127);
		tset(e, &a2.v, 2, i, 127);
		tset(e, &a2.k, 3, i, 127);
		tset(e, &a2.v, 3, i, 127);
	}
	/*
	 * 3. pos 1, q = [1, 0, 0, 0], k0 = 0, k1 = [1, 0, 0, 0]: s = [0, 1],
	 * mx = 1; score {256, 0}: EXPIDX = (1 - s_j) * 256 = [256, 0]:
	 * e = [exp[256], exp[0]] = [round(32768 / e) = 12055, 32768],
	 * Z = 44823, r = floor(2^46 / 44823) = 1569924908,
	 * p0 = 12055 * r >> 31 = 8812, p1 = 32768 * r >> 31 = 23955.
	 * v0 = [100, -100, 7, 0], v1 = [-50, 20, 7, 1]:
	 * a = [881200 - 1197750, -881200 + 479100, 7 * 32767, 23955]
	 *   = [-316550, -402100, 229369, 23955];
	 * / 2^15 rounded: [-9.66 -> -10, -12.27 -> -12, 6.9998 -> 7, 0.73 -> 1]
	 */
	attn_setup(e, &a3, 1, 2, 1, 1, 4, 0, 1, 256, 0, 1, 15);
	{
		static const int64_t q[4] = { 1, 0, 0, 0 };
		static const int64_t k[8] = { 0, 0, 0, 0, 1, 0, 0, 0 };
		static const int64_t vv[8] = { 100, -100, 7, 0, -50, 20, 7, 1 };

		tfill(e, &a3.q, q);
		tfill(e, &a3.k, k);
		tfill(e, &a3.v, vv);
	}
	/*
	 * 4. Grouped-query heads: H = 4, KV = 2, D = 2, pos 0: head h uses kv
	 * head h / (4 / 2): heads 0, 1 -> kv 0; heads 2, 3 -> kv 1.
	 * One key: y of head h = v[0][kvh * 2 + d] (case 1).
	 * v row 0 = [10, 20, -30, -40] -> y = [10, 20, 10, 20, -30, -40, -30, -40]
	 */
	attn_setup(e, &a4, 1, 1, 4, 2, 2, 0, 0, 1, 0, 1, 15);
	{
		static const int64_t vv[4] = { 10, 20, -30, -40 };

		fill_rand(e, &a4.q, -128, 127);
		fill_rand(e, &a4.k, -128, 127);
		tfill(e, &a4.v, vv);
	}
	ASSERT_EQ(0, run(e, NULL));
	for (i = 0; i < 4; i++)
		EXPECT_EQ(v0[i], tget(e, &a1.y, 0, i));
	EXPECT_EQ(3, tget(e, &a2.y, 0, 0));
	EXPECT_EQ(-2, tget(e, &a2.y, 0, 1));
	EXPECT_EQ(101, tget(e, &a2.y, 0, 2));
	EXPECT_EQ(-128, tget(e, &a2.y, 0, 3));
	EXPECT_EQ(-10, tget(e, &a3.y, 0, 0));
	EXPECT_EQ(-12, tget(e, &a3.y, 0, 1));
	EXPECT_EQ(7, tget(e, &a3.y, 0, 2));
	EXPECT_EQ(1, tget(e, &a3.y, 0, 3));
	for (i = 0; i < 8; i++)
		EXPECT_EQ(want4[i], tget(e, &a4.y, 0, i));
}

static void read_all(struct env *e, const struct inpu_tensor *t, int64_t *out)
{
	uint32_t r, c;

	for (r = 0; r < t->rows; r++)
		for (c = 0; c < t->cols; c++)
			out[(size_t)r * t->cols + c] = tget(e, t, r, c);
}

TEST_F(ops, attention_future_positions_ignored)
{
	struct env *e = &self->v;
	enum { C = 8, H = 2, KV = 1, D = 8, M = 4 };
	struct attn a;
	int64_t y0[M * H * D], y1[M * H * D];
	uint32_t pos = 1, r, i, d;
	unsigned int changed;

	rng_seed(4);
	reset(e);
	/* Rows at positions 1..4 via the position parameter. */
	stream_param(&e->s, 0, C - M);
	attn_setup(e, &a, M, C, H, KV, D, 1, 0, 40, 10, 1, 15);
	fill_rand(e, &a.q, -128, 127);
	fill_rand(e, &a.k, -128, 127);
	fill_rand(e, &a.v, -128, 127);
	ASSERT_EQ(0, run(e, &pos));
	read_all(e, &a.y, y0);

	/* Rows 5..7 are in nobody's past: nothing may change. */
	for (r = 5; r < C; r++) {
		for (i = 0; i < KV * D; i++) {
			tset(e, &a.k, r, i, 127);
			tset(e, &a.v, r, i, (r + i) % 2 ? 127 : -128);
		}
	}
	ASSERT_EQ(0, run(e, &pos));
	read_all(e, &a.y, y1);
	EXPECT_EQ(0, memcmp(y0, y1, sizeof(y0)));

	/*
	 * Row 4 is the current position of query row 3 only: rows 0..2 keep
	 * their outputs, row 3 changes (make key 4 dominate with v = 127 so
	 * the test cannot pass vacuously).
	 */
	for (i = 0; i < KV * D; i++) {
		tset(e, &a.v, 4, i, 127);
		for (d = 0; d < H; d++)
			tset(e, &a.k, 4, i, tget(e, &a.q, 3, d * D + i) >= 0 ? 127 : -128);
	}
	ASSERT_EQ(0, run(e, &pos));
	read_all(e, &a.y, y1);
	EXPECT_EQ(0, memcmp(y0, y1, 3 * H * D * sizeof(int64_t)));
	changed = 0;
	for (i = 3 * H * D; i < M * H * D; i++)
		changed += y0[i] != y1[i];
	EXPECT_LT(0, changed);
}

/*
 * Reference: real softmax attention. With alpha = score_mult /
 * 2^score_shift / 2^exp_frac (score units to nats),
 *   P_j = exp(alpha * (s_j - mx)) / sum, R = S * 32768 * sum_j P_j v_j,
 *   S = out_mult / 2^out_shift (Q15 probabilities, hence the 32768).
 * Bound, per output, with E_j = 32768 exp(alpha (s_j - mx)), L keys and
 * Vmax = max |v_j|:
 *  - e_j = exp[EXPIDX]: the index is within 0.5 of the real one and the
 *    table entry within 0.5 of its value (a clamped index gives e = 0
 *    against E < 0.004), so |e_j - E_j| <= 0.5 + c1 E_j, c1 = e^(1/512) - 1;
 *    err = sum of those;
 *  - normalised weights: sum |e_j / Z - E_j / sum E| <= 2 err / Z with
 *    Z >= max(sum E - err, 32768);
 *  - p_j = floor(e_j * floor(2^46 / Z) / 2^31) is within 1 + 2^-16 of
 *    32768 e_j / Z: L (1 + 2^-16) Vmax in a;
 *  - the final rounding: 0.5.
 * B = 0.5 + S * Vmax * (32768 * 2 err / Zmin + L (1 + 2^-16)).
 */
static unsigned int attn_check(struct __test_metadata *_metadata, struct env *e,
			       const struct attn *a, uint32_t pos0, int32_t smult,
			       int32_t sshift, int32_t omult, int32_t oshift)
{
	double alpha = smult / ldexp(1.0, sshift) / ldexp(1.0, e->ts.t.exp_frac);
	double sc = omult / ldexp(1.0, oshift), c1 = exp(1.0 / 512) - 1;
	uint32_t m, h, j, d, group = a->h / a->kv;
	unsigned int fails = 0;

	for (m = 0; m < a->m; m++) {
		uint32_t len = pos0 + m + 1;

		for (h = 0; h < a->h; h++) {
			uint32_t kvh = h / group;
			double s[256], E[256], se = 0, err = 0, mx = -1e300, zmin;

			for (j = 0; j < len; j++) {
				s[j] = 0;
				for (d = 0; d < a->d; d++)
					s[j] += (double)tget(e, &a->q, m, h * a->d + d) *
						tget(e, &a->k, j, kvh * a->d + d);
				mx = s[j] > mx ? s[j] : mx;
			}
			for (j = 0; j < len; j++) {
				E[j] = 32768 * exp(alpha * (s[j] - mx));
				se += E[j];
				err += 0.5 + c1 * E[j];
			}
			zmin = se - err > 32768 ? se - err : 32768;
			for (d = 0; d < a->d; d++) {
				double ref = 0, vmax = 0, bound;

				for (j = 0; j < len; j++) {
					double vj = tget(e, &a->v, j, kvh * a->d + d);

					ref += E[j] / se * vj;
					vmax = fabs(vj) > vmax ? fabs(vj) : vmax;
				}
				ref *= 32768 * sc;
				bound = 0.5 + sc * vmax * (32768 * 2 * err / zmin +
							   len * (1 + 1.0 / 65536)) + 1e-9;
				near(_metadata, "attention", (m * a->h + h) * a->d + d,
				     tget(e, &a->y, m, h * a->d + d), ref, INPU_DT_INT8,
				     bound, &fails);
			}
		}
	}
	return fails;
}

TEST_F(ops, attention_vs_float_gqa_prefill)
{
	struct env *e = &self->v;
	static const struct { uint32_t m; uint16_t h, kv, d; int32_t sm, ss, om, os;
			      uint32_t pos[4]; } cs[] = {
		/* decode, GQA 4:2, position parameter */
		{ 1, 4, 2, 16, 26, 10, 1, 15, { 0, 5, 17, 31 } },
		/* prefill of 4 rows, GQA 4:1, sharper softmax */
		{ 4, 4, 1, 16, 100, 10, 3, 16, { 0, 3, 12, 28 } },
		/* prefill of 7 rows, no grouping, odd head_dim */
		{ 7, 2, 2, 5, 9, 6, 1, 15, { 0, 1, 10, 25 } },
	};
	unsigned int ci, pi, fails = 0;

	rng_seed(5);
	for (ci = 0; ci < sizeof(cs) / sizeof(cs[0]); ci++) {
		struct attn a;

		reset(e);
		stream_param(&e->s, 0, 32 - cs[ci].m);
		attn_setup(e, &a, cs[ci].m, 32, cs[ci].h, cs[ci].kv, cs[ci].d, 1, 0,
			   cs[ci].sm, cs[ci].ss, cs[ci].om, cs[ci].os);
		for (pi = 0; pi < 4; pi++) {
			fill_rand(e, &a.q, -128, 127);
			fill_rand(e, &a.k, -128, 127);
			fill_rand(e, &a.v, -128, 127);
			ASSERT_EQ(0, run(e, &cs[ci].pos[pi]));
			fails += attn_check(_metadata, e, &a, cs[ci].pos[pi], cs[ci].sm,
					    cs[ci].ss, cs[ci].om, cs[ci].os);
		}
	}
	/* A static position (pos_param 0): same reference. */
	{
		struct attn a;

		reset(e);
		attn_setup(e, &a, 2, 16, 2, 1, 8, 0, 9, 30, 8, 1, 15);
		fill_rand(e, &a.q, -128, 127);
		fill_rand(e, &a.k, -128, 127);
		fill_rand(e, &a.v, -128, 127);
		ASSERT_EQ(0, run(e, NULL));
		fails += attn_check(_metadata, e, &a, 9, 30, 8, 1, 15);
	}
	EXPECT_EQ(0, fails);
}

/*
 * engine/ISA.md 3.4 written out literally, row by row and head by head,
 * into @out ([M][H*D] values before saturation to y's type).
 */
static void attn_isa(struct env *e, const struct attn *a, uint32_t pos0,
		     int32_t smult, int32_t sshift, int32_t omult,
		     int32_t oshift, int64_t *out)
{
	const struct inpu_tables *t = &e->ts.t;
	uint32_t m, h, j, d, group = a->h / a->kv;
	uint32_t *s = calloc(a->c, 4), *ev = calloc(a->c, 4);

	for (m = 0; m < a->m; m++) {
		for (h = 0; h < a->h; h++) {
			uint32_t kvh = h / group, len = pos0 + m + 1;
			int32_t mx = INT32_MIN;
			uint64_t z = 0, r;

			for (j = 0; j < len; j++) {
				uint32_t dot = 0;

				for (d = 0; d < a->d; d++)
					dot += (uint32_t)(tget(e, &a->q, m, h * a->d + d) *
							  tget(e, &a->k, j, kvh * a->d + d));
				s[j] = dot;
				mx = (int32_t)dot > mx ? (int32_t)dot : mx;
			}
			for (j = 0; j < len; j++) {
				int64_t idx = rshift_round(((int64_t)mx - (int32_t)s[j]) *
							   smult, sshift);

				idx = idx < 0 ? 0 : idx >= t->exp_len ? t->exp_len - 1 : idx;
				ev[j] = t->exp[idx];
				z += ev[j];
			}
			r = ((uint64_t)1 << 46) / z;
			for (d = 0; d < a->d; d++) {
				uint32_t acc = 0;

				for (j = 0; j < len; j++)
					acc += (uint32_t)((int32_t)((ev[j] * r) >> 31) *
						tget(e, &a->v, j, kvh * a->d + d));
				out[((size_t)m * a->h + h) * a->d + d] =
					requant((int32_t)acc, omult, oshift);
			}
		}
	}
	free(s);
	free(ev);
}

/*
 * The engine streams the caches in blocks and splits rows and heads into
 * passes (attention.c): every shape here takes several of each, and must
 * give the formula's bits.  Wide heads force one row and few heads per
 * pass; INT16 keys, GQA, a cache longer than one block, a position past
 * the first block, y on q (in place) and y on the key cache (staged).
 */
TEST_F(ops, attention_bit_exact_in_blocks_and_passes)
{
	struct env *e = &self->v;
	static const struct { uint32_t m, c, pos; uint16_t h, kv, d; uint8_t k16;
			      int alias; } cs[] = {
		{ 1, 600, 577, 12, 12, 64, 0, 0 },	/* decode, 110M-like */
		{ 37, 300, 200, 4, 2, 96, 1, 0 },	/* prefill, INT16 keys */
		{ 3, 40, 20, 16, 2, 2048, 0, 0 },	/* wide heads: passes */
		{ 2, 64, 40, 8, 1, 4096, 1, 0 },	/* 8 KiB key rows */
		{ 5, 64, 30, 6, 3, 16, 0, 1 },		/* y on q */
		{ 4, 64, 30, 6, 6, 16, 0, 2 },		/* y on k */
	};
	unsigned int ci, i, bad;

	rng_seed(11);
	for (ci = 0; ci < sizeof(cs) / sizeof(cs[0]); ci++) {
		uint32_t n = cs[ci].m * cs[ci].h * cs[ci].d;
		int64_t *ref = calloc(n, 8);
		struct inpu_op *op;
		struct attn a;

		ASSERT_NE(NULL, ref);
		reset(e);
		op = attn_setup(e, &a, cs[ci].m, cs[ci].c, cs[ci].h, cs[ci].kv,
				cs[ci].d, 0, cs[ci].pos, 40, 12, 3, 17);
		if (cs[ci].k16) {
			a.k = talloc(e, INPU_DT_INT16, cs[ci].c, cs[ci].kv * cs[ci].d, 3);
			op->u.attention.k = a.k;
		}
		fill_rand(e, &a.q, -128, 127);
		fill_rand(e, &a.k, cs[ci].k16 ? -32768 : -128, cs[ci].k16 ? 32767 : 127);
		fill_rand(e, &a.v, -128, 127);
		attn_isa(e, &a, cs[ci].pos, 40, 12, 3, 17, ref);
		if (cs[ci].alias == 1)
			a.y = a.q;
		if (cs[ci].alias == 2) {
			/* y over the first rows of k: both are [.][H*D] INT8 here */
			ASSERT_EQ(cs[ci].h, cs[ci].kv);
			a.y = a.k;
			a.y.rows = cs[ci].m;
		}
		op->u.attention.y = a.y;
		ASSERT_EQ(0, run(e, NULL));
		for (i = bad = 0; i < n; i++)
			bad += tget(e, &a.y, i / (cs[ci].h * cs[ci].d),
				    i % (cs[ci].h * cs[ci].d)) != sat8(ref[i]);
		EXPECT_EQ(0, bad) TH_LOG("case %u: %u values differ", ci, bad);
		free(ref);
	}
}

/* ---- SWIGLU ------------------------------------------------------------- */

static struct inpu_op *add_swiglu(struct stream *s, struct inpu_tensor g,
				  struct inpu_tensor u, struct inpu_tensor y,
				  int32_t im, int32_t is, int32_t om, int32_t os)
{
	struct inpu_op *op = stream_add(s, INPU_OP_SWIGLU);

	op->u.swiglu.gate = g;
	op->u.swiglu.up = u;
	op->u.swiglu.y = y;
	op->u.swiglu.in_mult = im;
	op->u.swiglu.in_shift = is;
	op->u.swiglu.out_mult = om;
	op->u.swiglu.out_shift = os;
	return op;
}

TEST_F(ops, swiglu_by_hand)
{
	struct env *v = &self->v;
	struct inpu_tensor g, u, y, g2, u2, y2;
	/*
	 * in {1, 0}: idx = gate + 2048 (silu_zero), x = (idx - 2048) / 64;
	 * silu table entries, round(1024 * x / (1 + e^-x)):
	 *  gate 0:      silu 0                        -> t = 0
	 *  gate 64:     x = 1: 748.604 -> 749;  up 4096: 749 * 4096 / 2^15 =
	 *               93.625 -> 94
	 *  gate -64:    x = -1: -275.396 -> -275; up 4096: -34.375 -> -34
	 *  gate 10000:  idx 12048 clamps to 4095, x = 2047/64 = 31.984375:
	 *               32751.9999... -> 32752; up 32767: 32751.0005 -> 32751
	 *               -> INT8 127
	 *  gate -10000: idx clamps to 0, x = -32: -4e-10 -> 0 -> 0
	 *  gate 64, up -32768: 749 * -32768 / 32768 = -749 -> INT8 -128
	 *  gate 3:      x = 3/64: 24.5624 -> 25; up 16384: 12.5 -> 13 (tie up)
	 *  gate -3:     -23.4376 -> -23; up 16384: -11.5 -> -11 (tie up)
	 * out {1, 0}.
	 */
	static const int64_t gv[8] = { 0, 64, -64, 10000, -10000, 64, 3, -3 };
	static const int64_t uv[8] = { 5000, 4096, 4096, 32767, 32767, -32768,
				       16384, 16384 };
	static const int64_t yv[8] = { 0, 94, -34, 127, 0, -128, 13, -11 };
	/*
	 * in {3, 2}: gate 85 -> 255 / 4 = 63.75 -> 64 -> x = 1 -> 749;
	 *            gate -85 -> -63.75 -> -64 -> -275.
	 * up 4096 -> t = 94 and -34; out {5, 1}: 94 * 5 / 2 = 235 -> 127,
	 * -34 * 5 / 2 = -85; out {-1, 1} (second op): -47, 17.
	 */
	static const int64_t gv2[2] = { 85, -85 }, uv2[2] = { 4096, 4096 };
	unsigned int i;

	reset(v);
	g = talloc(v, INPU_DT_INT16, 2, 4, 1);
	u = talloc(v, INPU_DT_INT16, 2, 4, 0);
	y = talloc(v, INPU_DT_INT8, 2, 4, 3);
	tfill(v, &g, gv);
	tfill(v, &u, uv);
	add_swiglu(&v->s, g, u, y, 1, 0, 1, 0);
	g2 = talloc(v, INPU_DT_INT16, 1, 2, 0);
	u2 = talloc(v, INPU_DT_INT16, 1, 2, 0);
	y2 = talloc(v, INPU_DT_INT8, 2, 2, 0);
	tfill(v, &g2, gv2);
	tfill(v, &u2, uv2);
	y2.rows = 1;
	add_swiglu(&v->s, g2, u2, y2, 3, 2, 5, 1);
	y2.addr += y2.stride;
	add_swiglu(&v->s, g2, u2, y2, 3, 2, -1, 1);
	y2.addr -= y2.stride;
	y2.rows = 2;
	ASSERT_EQ(0, run(v, NULL));
	for (i = 0; i < 8; i++)
		EXPECT_EQ(yv[i], tget(v, &y, i / 4, i % 4));
	EXPECT_EQ(127, tget(v, &y2, 0, 0));
	EXPECT_EQ(-85, tget(v, &y2, 0, 1));
	EXPECT_EQ(-47, tget(v, &y2, 1, 0));
	EXPECT_EQ(17, tget(v, &y2, 1, 1));
}

/*
 * Reference: y = silu(x) * up_real * scale, with x = gate * in_mult /
 * 2^(in_shift + silu_in_frac) (kept inside the table, |x| <= 31) and
 * R = silu(x) * 2^silu_out_frac * up / 2^15 * out_mult / 2^out_shift.
 * Bound, S = out_mult / 2^out_shift:
 *  - the table index is within 0.5 of the real one: x off by 0.5 / 64, and
 *    |silu'| < 1.1, so 1024 * 1.1 * 0.5 / 64; the entry is rounded: 0.5;
 *    both times |up| / 2^15 in t;
 *  - t is rounded: 0.5, times S; the output is rounded: 0.5.
 * B = 0.5 + S * (0.5 + |up| / 2^15 * (1024 * 1.1 * 0.5 / 64 + 0.5)).
 */
TEST_F(ops, swiglu_vs_float)
{
	struct env *v = &self->v;
	enum { M = 3, N = 172 };
	static const int32_t params[][4] = {
		{ 1, 4, 1, 6 }, { 3, 6, 5, 9 }, { 1, 0, 1, 8 }, { 7, 8, 3, 7 },
	};
	unsigned int pi, fails = 0;

	rng_seed(6);
	for (pi = 0; pi < sizeof(params) / sizeof(params[0]); pi++) {
		struct inpu_tensor g, u, y;
		double xs = params[pi][0] / ldexp(1.0, params[pi][1] + 6);
		double sc = params[pi][2] / ldexp(1.0, params[pi][3]);
		int64_t gmax = (int64_t)(31.0 / xs);
		uint32_t r, i;

		if (gmax > 32767)
			gmax = 32767;
		reset(v);
		g = talloc(v, INPU_DT_INT16, M, N, 0);
		u = talloc(v, INPU_DT_INT16, M, N, 2);
		y = talloc(v, INPU_DT_INT8, M, N, 0);
		fill_rand(v, &g, -gmax, gmax);
		fill_rand(v, &u, -32768, 32767);
		add_swiglu(&v->s, g, u, y, params[pi][0], params[pi][1],
			   params[pi][2], params[pi][3]);
		ASSERT_EQ(0, run(v, NULL));
		for (r = 0; r < M; r++) {
			for (i = 0; i < N; i++) {
				double x = tget(v, &g, r, i) * xs;
				double up = tget(v, &u, r, i);
				double ref = x / (1 + exp(-x)) * 1024 * up / 32768 * sc;
				double bound = 0.5 + sc * (0.5 + fabs(up) / 32768 *
							   (1024 * 1.1 * 0.5 / 64 + 0.5)) + 1e-9;

				near(_metadata, "swiglu", r * N + i, tget(v, &y, r, i),
				     ref, INPU_DT_INT8, bound, &fails);
			}
		}
	}
	EXPECT_EQ(0, fails);
}

/* ---- ADD ---------------------------------------------------------------- */

static struct inpu_op *add_add(struct stream *s, struct inpu_tensor a,
			       struct inpu_tensor b, struct inpu_tensor y,
			       int32_t am, int32_t bm, int32_t shift)
{
	struct inpu_op *op = stream_add(s, INPU_OP_ADD);

	op->u.add.a = a;
	op->u.add.b = b;
	op->u.add.y = y;
	op->u.add.a_mult = am;
	op->u.add.b_mult = bm;
	op->u.add.shift = shift;
	return op;
}

TEST_F(ops, add_by_hand)
{
	struct env *v = &self->v;
	struct inpu_tensor a, b, y1, y2, y3, a4, y4, a5, b5, y5;
	static const int64_t av[6] = { 5, -5, 100, -100, 3, 7 };
	static const int64_t bv[6] = { 0, 0, 100, -100, 4, -1 };
	/* {1, 1} shift 1: [5, -5, 200, -200, 7, 6] / 2 =
	 * [2.5 -> 3, -2.5 -> -2, 100, -100, 3.5 -> 4, 3]  (INT8) */
	static const int64_t w1[6] = { 3, -2, 100, -100, 4, 3 };
	/* {1, 1} shift 0: 200 -> 127, -200 -> -128 (INT8) */
	static const int64_t w2[6] = { 5, -5, 127, -128, 7, 6 };
	/* {3, -2} shift 0 (INT32): [15, -15, 100, -100, 1, 23] */
	static const int64_t w3[6] = { 15, -15, 100, -100, 1, 23 };
	unsigned int i;

	reset(v);
	a = talloc(v, INPU_DT_INT16, 2, 3, 0);
	b = talloc(v, INPU_DT_INT8, 2, 3, 1);
	y1 = talloc(v, INPU_DT_INT8, 2, 3, 0);
	y2 = talloc(v, INPU_DT_INT8, 2, 3, 0);
	y3 = talloc(v, INPU_DT_INT32, 2, 3, 1);
	tfill(v, &a, av);
	tfill(v, &b, bv);
	add_add(&v->s, a, b, y1, 1, 1, 1);
	add_add(&v->s, a, b, y2, 1, 1, 0);
	add_add(&v->s, a, b, y3, 3, -2, 0);
	/*
	 * INT32 INT32_MAX * INT32_MAX = 2^62 - 2^32 + 1; shift 0, INT16
	 * output: 32767. And a * 1 + b * 0 with a = INT32_MIN, INT32 out:
	 * -2147483648.
	 */
	a4 = talloc(v, INPU_DT_INT32, 1, 2, 0);
	y4 = talloc(v, INPU_DT_INT16, 1, 2, 0);
	tset(v, &a4, 0, 0, INT32_MAX);
	tset(v, &a4, 0, 1, 0);
	add_add(&v->s, a4, a4, y4, INT32_MAX, 0, 0);
	/*
	 * 64-bit wrapping: a = b = INT32_MIN, a_mult = b_mult = INT32_MIN:
	 * 2^62 + 2^62 = 2^63 wraps to -2^63; shift 62:
	 * floor((-2^63 + 2^61) / 2^62) = floor(-1.5) = -2 (INT32).
	 * (Without the wrap it would be +2.)
	 */
	a5 = talloc(v, INPU_DT_INT32, 1, 1, 0);
	b5 = talloc(v, INPU_DT_INT32, 1, 1, 0);
	y5 = talloc(v, INPU_DT_INT32, 1, 1, 0);
	tset(v, &a5, 0, 0, INT32_MIN);
	tset(v, &b5, 0, 0, INT32_MIN);
	add_add(&v->s, a5, b5, y5, INT32_MIN, INT32_MIN, 62);
	ASSERT_EQ(0, run(v, NULL));
	for (i = 0; i < 6; i++) {
		EXPECT_EQ(w1[i], tget(v, &y1, i / 3, i % 3));
		EXPECT_EQ(w2[i], tget(v, &y2, i / 3, i % 3));
		EXPECT_EQ(w3[i], tget(v, &y3, i / 3, i % 3));
	}
	EXPECT_EQ(32767, tget(v, &y4, 0, 0));
	EXPECT_EQ(0, tget(v, &y4, 0, 1));
	EXPECT_EQ(-2, tget(v, &y5, 0, 0));
}

/*
 * Reference: (a * a_mult + b * b_mult) / 2^shift in a double; every term
 * is below 2^52 here, so the value is exact: bound 0.5 (rounding only).
 * Includes y aliasing a (in place).
 */
TEST_F(ops, add_vs_float)
{
	struct env *v = &self->v;
	static const uint8_t types[][3] = {
		{ INPU_DT_INT32, INPU_DT_INT8, INPU_DT_INT16 },
		{ INPU_DT_INT16, INPU_DT_INT16, INPU_DT_INT16 },	/* y = a */
		{ INPU_DT_INT8, INPU_DT_INT32, INPU_DT_INT32 },
	};
	unsigned int ti, fails = 0;

	rng_seed(7);
	for (ti = 0; ti < 3; ti++) {
		struct inpu_tensor a, b, y;
		int32_t am = (int32_t)rnd(-1024, 1024), bm = (int32_t)rnd(-1024, 1024);
		int32_t shift = ti == 2 ? 0 : (int32_t)rnd(4, 12);
		int64_t amax = ti == 0 ? 1 << 20 : 30000;
		int64_t aval[5 * 64], bval[5 * 64];
		uint32_t i;

		reset(v);
		a = talloc(v, types[ti][0], 5, 64, ti);
		b = talloc(v, types[ti][1], 5, 64, 0);
		y = ti == 1 ? a : talloc(v, types[ti][2], 5, 64, 1);
		for (i = 0; i < 5 * 64; i++) {
			aval[i] = types[ti][0] == INPU_DT_INT8 ? rnd(-128, 127) :
				  rnd(-amax, amax);
			bval[i] = types[ti][1] == INPU_DT_INT8 ? rnd(-128, 127) :
				  rnd(-30000, 30000);
		}
		tfill(v, &a, aval);
		tfill(v, &b, bval);
		add_add(&v->s, a, b, y, am, bm, shift);
		ASSERT_EQ(0, run(v, NULL));
		for (i = 0; i < 5 * 64; i++)
			near(_metadata, "add", i, tget(v, &y, i / 64, i % 64),
			     ((double)aval[i] * am + (double)bval[i] * bm) /
			     ldexp(1.0, shift), y.dtype, 0.5, &fails);
	}
	EXPECT_EQ(0, fails);
}

/* ---- EMBED -------------------------------------------------------------- */

static struct inpu_op *add_embed(struct stream *s, struct inpu_tensor ids,
				 struct inpu_tensor table, struct inpu_tensor y,
				 int32_t mult, int32_t shift)
{
	struct inpu_op *op = stream_add(s, INPU_OP_EMBED);

	op->u.embed.ids = ids;
	op->u.embed.table = table;
	op->u.embed.y = y;
	op->u.embed.mult = mult;
	op->u.embed.shift = shift;
	return op;
}

static struct inpu_op *add_copy(struct stream *s, struct inpu_tensor src,
				struct inpu_tensor dst)
{
	struct inpu_op *op = stream_add(s, INPU_OP_COPY);

	op->u.copy.src = src;
	op->u.copy.dst = dst;
	return op;
}

TEST_F(ops, embed_by_hand)
{
	struct env *v = &self->v;
	struct inpu_tensor ids, table, y, ids2, t2, y2, y3;
	static const int64_t tv[12] = { 1, 2, 3, 5, -5, 7, -128, 127, 0, 9, -9, 10 };
	static const int64_t iv[4] = { 1, 0, 3, 1 };
	/*
	 * mult 3, shift 1 (y INT16):
	 * row 1 [5, -5, 7]  -> [15/2 = 7.5 -> 8, -7.5 -> -7, 21/2 = 10.5 -> 11]
	 * row 0 [1, 2, 3]   -> [1.5 -> 2, 3, 4.5 -> 5]
	 * row 3 [9, -9, 10] -> [13.5 -> 14, -13.5 -> -13, 15]
	 */
	static const int64_t want[12] = { 8, -7, 11, 2, 3, 5, 14, -13, 15, 8, -7, 11 };
	unsigned int i;

	reset(v);
	ids = talloc(v, INPU_DT_INT32, 1, 4, 0);
	table = talloc(v, INPU_DT_INT8, 4, 3, 5);
	y = talloc(v, INPU_DT_INT16, 4, 3, 1);
	tfill(v, &ids, iv);
	tfill(v, &table, tv);
	add_embed(&v->s, ids, table, y, 3, 1);
	/*
	 * INT32 table [100000, -100000], mult 1, shift 0:
	 * INT16 output saturates: 32767, -32768; INT32 output: exact.
	 */
	ids2 = talloc(v, INPU_DT_INT32, 1, 1, 0);
	t2 = talloc(v, INPU_DT_INT32, 2, 2, 0);
	y2 = talloc(v, INPU_DT_INT16, 1, 2, 0);
	y3 = talloc(v, INPU_DT_INT32, 1, 2, 0);
	tset(v, &ids2, 0, 0, 1);
	tset(v, &t2, 0, 0, 1);
	tset(v, &t2, 0, 1, 1);
	tset(v, &t2, 1, 0, 100000);
	tset(v, &t2, 1, 1, -100000);
	add_embed(&v->s, ids2, t2, y2, 1, 0);
	add_embed(&v->s, ids2, t2, y3, 1, 0);
	ASSERT_EQ(0, run(v, NULL));
	for (i = 0; i < 12; i++)
		EXPECT_EQ(want[i], tget(v, &y, i / 3, i % 3));
	EXPECT_EQ(32767, tget(v, &y2, 0, 0));
	EXPECT_EQ(-32768, tget(v, &y2, 0, 1));
	EXPECT_EQ(100000, tget(v, &y3, 0, 0));
	EXPECT_EQ(-100000, tget(v, &y3, 0, 1));
}

TEST_F(ops, embed_out_of_range_id)
{
	struct env *v = &self->v;
	static const int32_t bad_ids[] = { 4, -1, INT32_MIN, INT32_MAX };
	struct inpu_tensor ids, table, y, src, d1, d2;
	unsigned int bi;

	for (bi = 0; bi < sizeof(bad_ids) / sizeof(bad_ids[0]); bi++) {
		reset(v);
		ids = talloc(v, INPU_DT_INT32, 1, 3, 0);
		table = talloc(v, INPU_DT_INT16, 4, 8, 0);
		y = talloc(v, INPU_DT_INT16, 3, 8, 0);
		src = talloc(v, INPU_DT_INT8, 1, 16, 0);
		d1 = talloc(v, INPU_DT_INT8, 1, 16, 0);
		d2 = talloc(v, INPU_DT_INT8, 1, 16, 0);
		memset(flat_ptr(&v->m, src.addr), 0x11, 16);
		fill_rand(v, &table, -1000, 1000);
		/* V = 4: ids 0..3 are valid; the third id is not. */
		tset(v, &ids, 0, 0, 3);
		tset(v, &ids, 0, 1, 0);
		tset(v, &ids, 0, 2, bad_ids[bi]);
		add_copy(&v->s, src, d1);		/* op 0: runs */
		add_embed(&v->s, ids, table, y, 1, 0);	/* op 1: fails */
		add_copy(&v->s, src, d2);		/* op 2: never runs */
		EXPECT_EQ(INPU_ERR_INDEX, run(v, NULL));
		EXPECT_EQ(INPU_ERR_INDEX, v->res.status);
		EXPECT_EQ(1, v->res.fault_op);
		EXPECT_EQ(1, v->res.ops_done);
		/* "the ops before it have taken effect", the ones after not. */
		EXPECT_EQ(0x11, *(uint8_t *)flat_ptr(&v->m, d1.addr));
		EXPECT_EQ(GARBAGE, *(uint8_t *)flat_ptr(&v->m, d2.addr + 15));
	}
}

/*
 * Reference: table[ids[m]] * mult / 2^shift, exact in a double: bound 0.5.
 * A prefill-sized gather (M = 40 ids) from INT8 and INT16 tables.
 */
TEST_F(ops, embed_vs_float_many_ids)
{
	struct env *v = &self->v;
	static const uint8_t tdt[] = { INPU_DT_INT8, INPU_DT_INT16, INPU_DT_INT32 };
	enum { V = 50, DIM = 172, M = 40 };
	unsigned int ti, fails = 0;

	rng_seed(8);
	for (ti = 0; ti < 3; ti++) {
		struct inpu_tensor ids, table, y;
		int32_t mult = (int32_t)rnd(1, 5000), shift = (int32_t)rnd(0, 10);
		uint32_t m, i;
		int ret;

		reset(v);
		ids = talloc(v, INPU_DT_INT32, 1, M, 0);
		table = talloc(v, tdt[ti], V, DIM, ti);
		y = talloc(v, ti ? INPU_DT_INT32 : INPU_DT_INT16, M, DIM, 0);
		fill_rand(v, &ids, 0, V - 1);
		fill_rand(v, &table, tdt[ti] == INPU_DT_INT8 ? -128 : -30000,
			  tdt[ti] == INPU_DT_INT8 ? 127 : 30000);
		add_embed(&v->s, ids, table, y, mult, shift);
		ret = run(v, NULL);
		ASSERT_EQ(0, ret) {
			TH_LOG("EMBED of %u ids from a %s table: %s", M,
			       ti == 0 ? "INT8" : ti == 1 ? "INT16" : "INT32",
			       inpu_status_name(ret));
		}
		for (m = 0; m < M; m++) {
			uint32_t id = (uint32_t)tget(v, &ids, 0, m);

			for (i = 0; i < DIM; i++)
				near(_metadata, "embed", m * DIM + i, tget(v, &y, m, i),
				     (double)tget(v, &table, id, i) * mult /
				     ldexp(1.0, shift), y.dtype, 0.5, &fails);
		}
	}
	EXPECT_EQ(0, fails);
}

/* ---- COPY --------------------------------------------------------------- */

TEST_F(ops, copy_kv_append_dynamic_destination)
{
	struct env *v = &self->v;
	enum { C = 8, W = 6 };
	struct inpu_tensor cache, src, dst, cache16, src16, dst16;
	int64_t want[C][W], want16[C][W];
	uint32_t pos, r, i;

	rng_seed(9);
	reset(v);
	/* INT8 cache, dense rows; INT16 cache with 3 elements of row gap. */
	cache = talloc(v, INPU_DT_INT8, C, W, 0);
	cache16 = talloc(v, INPU_DT_INT16, C, W, 3);
	src = talloc(v, INPU_DT_INT8, 1, W, 0);
	src16 = talloc(v, INPU_DT_INT16, 1, W, 0);
	memset(flat_ptr(&v->m, cache.addr), 0, C * W);
	for (r = 0; r < C; r++)
		for (i = 0; i < W; i++)
			tset(v, &cache16, r, i, 0);
	memset(want, 0, sizeof(want));
	memset(want16, 0, sizeof(want16));
	dst = cache;
	dst.rows = 1;
	dst.dyn_param = 1;
	dst.dyn_mul = cache.stride;
	dst16 = cache16;
	dst16.rows = 1;
	dst16.dyn_param = 1;
	dst16.dyn_mul = cache16.stride;
	stream_param(&v->s, 0, C - 1);
	add_copy(&v->s, src, dst);
	add_copy(&v->s, src16, dst16);
	/* Append in a scrambled order: each step writes row pos only. */
	for (r = 0; r < C; r++) {
		pos = (r * 3 + 1) % C;
		for (i = 0; i < W; i++) {
			want[pos][i] = rnd(-128, 127);
			want16[pos][i] = rnd(-32768, 32767);
			tset(v, &src, 0, i, want[pos][i]);
			tset(v, &src16, 0, i, want16[pos][i]);
		}
		ASSERT_EQ(0, run(v, &pos));
		for (i = 0; i < C * W; i++) {
			EXPECT_EQ(want[i / W][i % W], tget(v, &cache, i / W, i % W));
			EXPECT_EQ(want16[i / W][i % W], tget(v, &cache16, i / W, i % W));
		}
		/* The gaps between INT16 rows are never written. */
		for (i = 0; i < C; i++)
			EXPECT_EQ(GARBAGE, *(uint8_t *)eptr(v, &cache16, i, W + 2));
	}
	/* A position outside the declared range fails before any op. */
	pos = C;
	EXPECT_EQ(INPU_ERR_PARAM, run(v, &pos));
	EXPECT_EQ(0, v->res.ops_done);
}

TEST_F(ops, copy_overlapping_and_other_types)
{
	struct env *v = &self->v;
	struct inpu_tensor buf, src, dst, q1, q2, u1, u2;
	static const struct inpu_qparam qp[2] = { { -5, 7 }, { 123456, 62 } };
	uint64_t st = 0xfedcba9876543210ull;
	uint32_t r, i;

	reset(v);
	/*
	 * Rows 0..2 of a 4-row buffer copied onto rows 1..3: an op reads all
	 * of its inputs before writing, so the result is the old rows 0..2
	 * (a forward row-by-row copy that re-reads would smear row 0).
	 */
	buf = talloc(v, INPU_DT_INT32, 4, 5, 0);
	for (r = 0; r < 4; r++)
		for (i = 0; i < 5; i++)
			tset(v, &buf, r, i, (int64_t)r * 100 + i);
	src = buf;
	src.rows = 3;
	dst = src;
	dst.addr += buf.stride;
	add_copy(&v->s, src, dst);
	q1 = talloc(v, INPU_DT_QPARAM, 1, 2, 0);
	q2 = talloc(v, INPU_DT_QPARAM, 1, 2, 0);
	memcpy(flat_ptr(&v->m, q1.addr), qp, sizeof(qp));
	add_copy(&v->s, q1, q2);
	u1 = talloc(v, INPU_DT_UINT64, 1, 1, 0);
	u2 = talloc(v, INPU_DT_UINT64, 1, 1, 0);
	memcpy(flat_ptr(&v->m, u1.addr), &st, 8);
	add_copy(&v->s, u1, u2);
	ASSERT_EQ(0, run(v, NULL));
	for (i = 0; i < 5; i++)
		EXPECT_EQ(i, tget(v, &buf, 0, i));
	for (r = 1; r < 4; r++)
		for (i = 0; i < 5; i++)
			EXPECT_EQ((int64_t)(r - 1) * 100 + i, tget(v, &buf, r, i));
	EXPECT_EQ(0, memcmp(flat_ptr(&v->m, q2.addr), qp, sizeof(qp)));
	EXPECT_EQ(0, memcmp(flat_ptr(&v->m, u2.addr), &st, 8));
}

/* ---- ARGMAX ------------------------------------------------------------- */

TEST_F(ops, argmax_ties_and_types)
{
	struct env *v = &self->v;
	struct inpu_tensor x8, y8, x16, y16, x32, y32, xr, yr;
	/* Ties go to the lowest index. */
	static const int64_t a8[5][4] = {
		{ 3, 7, 7, 1 },		/* 1: tie between 1 and 2 */
		{ -5, -5, -6, -7 },	/* 0 */
		{ 0, 0, 0, 0 },		/* 0 */
		{ -128, -128, -128, 127 },	/* 3 */
		{ -128, -128, -128, -128 },	/* 0 */
	};
	static const int64_t w8[5] = { 1, 0, 0, 3, 0 };
	static const int64_t a16[2][3] = { { -32768, 32767, 32767 }, { 1, 2, 3 } };
	static const int64_t a32[2][3] = {
		{ INT32_MIN, INT32_MIN, INT32_MIN }, { -1, INT32_MAX, INT32_MAX } };
	uint32_t r, i;
	unsigned int fails = 0;

	rng_seed(10);
	reset(v);
	x8 = talloc(v, INPU_DT_INT8, 5, 4, 2);
	y8 = talloc(v, INPU_DT_INT32, 1, 5, 0);
	tfill(v, &x8, &a8[0][0]);
	x16 = talloc(v, INPU_DT_INT16, 2, 3, 0);
	y16 = talloc(v, INPU_DT_INT32, 1, 2, 0);
	tfill(v, &x16, &a16[0][0]);
	x32 = talloc(v, INPU_DT_INT32, 2, 3, 0);
	y32 = talloc(v, INPU_DT_INT32, 1, 2, 0);
	tfill(v, &x32, &a32[0][0]);
	/* Random rows of small values (many ties), checked directly. */
	xr = talloc(v, INPU_DT_INT16, 20, 300, 0);
	yr = talloc(v, INPU_DT_INT32, 1, 20, 0);
	fill_rand(v, &xr, -40, 40);
	{
		struct inpu_op *op;

		op = stream_add(&v->s, INPU_OP_ARGMAX);
		op->u.argmax.x = x8;
		op->u.argmax.y = y8;
		op = stream_add(&v->s, INPU_OP_ARGMAX);
		op->u.argmax.x = x16;
		op->u.argmax.y = y16;
		op = stream_add(&v->s, INPU_OP_ARGMAX);
		op->u.argmax.x = x32;
		op->u.argmax.y = y32;
		op = stream_add(&v->s, INPU_OP_ARGMAX);
		op->u.argmax.x = xr;
		op->u.argmax.y = yr;
	}
	ASSERT_EQ(0, run(v, NULL));
	for (r = 0; r < 5; r++)
		EXPECT_EQ(w8[r], tget(v, &y8, 0, r));
	EXPECT_EQ(1, tget(v, &y16, 0, 0));
	EXPECT_EQ(2, tget(v, &y16, 0, 1));
	EXPECT_EQ(0, tget(v, &y32, 0, 0));
	EXPECT_EQ(1, tget(v, &y32, 0, 1));
	for (r = 0; r < 20; r++) {
		uint32_t best = 0;

		for (i = 1; i < 300; i++)
			if (tget(v, &xr, r, i) > tget(v, &xr, r, best))
				best = i;
		if (tget(v, &yr, 0, r) != best && fails++ < 5)
			TH_LOG("row %u: %lld, want %u", r,
			       (long long)tget(v, &yr, 0, r), best);
	}
	EXPECT_EQ(0, fails);
}

/* ---- SAMPLE ------------------------------------------------------------- */

/* xorshift64* exactly as section 3.10 words it. */
static uint32_t spec_next(uint64_t *state)
{
	uint64_t s = *state ? *state : 0x9e3779b97f4a7c15ull;

	s ^= s >> 12;
	s ^= s << 25;
	s ^= s >> 27;
	*state = s;
	return (uint32_t)((s * 0x2545f4914f6cdd1dull) >> 32);
}

struct sample_ops {
	struct inpu_tensor x, state, y[64];
	unsigned int n_ops;
};

/* @n_ops SAMPLE ops in one stream sharing x and the state. */
static void sample_setup(struct env *v, struct sample_ops *so, uint32_t n,
			 unsigned int n_ops, int32_t tm, int32_t ts,
			 uint32_t top_p)
{
	unsigned int i;

	reset(v);
	so->n_ops = n_ops;
	so->x = talloc(v, INPU_DT_INT32, 1, n, 0);
	so->state = talloc(v, INPU_DT_UINT64, 1, 1, 0);
	for (i = 0; i < n_ops; i++) {
		struct inpu_op *op = stream_add(&v->s, INPU_OP_SAMPLE);

		so->y[i] = talloc(v, INPU_DT_INT32, 1, 1, 0);
		op->u.sample.x = so->x;
		op->u.sample.state = so->state;
		op->u.sample.y = so->y[i];
		op->u.sample.temp_mult = tm;
		op->u.sample.temp_shift = ts;
		op->u.sample.top_p = top_p;
	}
}

static void set_state(struct env *v, struct sample_ops *so, uint64_t s)
{
	memcpy(flat_ptr(&v->m, so->state.addr), &s, 8);
}

static uint64_t get_state(struct env *v, struct sample_ops *so)
{
	uint64_t s;

	memcpy(&s, flat_ptr(&v->m, so->state.addr), 8);
	return s;
}

TEST_F(ops, sample_by_hand)
{
	struct env *v = &self->v;
	static const uint64_t seeds[] = { 0, 1, 42, 0x9e3779b97f4a7c15ull,
					  0xffffffffffffffffull, 123456789 };
	struct sample_ops so;
	unsigned int si, i;

	/*
	 * top_p = 1: K = the smallest k with e_order[0..k) * 65536 >= 1 * Z:
	 * k = 1, so the pick is order[0] = the largest logit, ties to the
	 * lowest index: x = [5, 9, 9, 2] -> 1, whatever the state.  The state
	 * still advances: one next() per op.
	 */
	sample_setup(v, &so, 4, 3, 1, 0, 1);
	tset(v, &so.x, 0, 0, 5);
	tset(v, &so.x, 0, 1, 9);
	tset(v, &so.x, 0, 2, 9);
	tset(v, &so.x, 0, 3, 2);
	for (si = 0; si < sizeof(seeds) / sizeof(seeds[0]); si++) {
		uint64_t st = seeds[si];

		set_state(v, &so, st);
		ASSERT_EQ(0, run(v, NULL));
		for (i = 0; i < 3; i++) {
			EXPECT_EQ(1, tget(v, &so.y[i], 0, 0));
			spec_next(&st);
		}
		EXPECT_EQ(st, get_state(v, &so));
	}

	/*
	 * Four equal logits: e_j = exp[0] = 32768, Z = 131072, order = 0..3.
	 * top_p = 65536: K = 4, Zk = 131072, thr = r * 2^17 >> 32 = r >> 15;
	 * the pick is the first i with 32768 (i + 1) > thr: i = r >> 30.
	 */
	sample_setup(v, &so, 4, 8, 1000, 3, 65536);
	for (i = 0; i < 4; i++)
		tset(v, &so.x, 0, i, -77);
	for (si = 0; si < sizeof(seeds) / sizeof(seeds[0]); si++) {
		uint64_t st = seeds[si];

		set_state(v, &so, st);
		ASSERT_EQ(0, run(v, NULL));
		for (i = 0; i < 8; i++)
			EXPECT_EQ(spec_next(&st) >> 30, tget(v, &so.y[i], 0, 0));
		EXPECT_EQ(st, get_state(v, &so));
	}
	/*
	 * top_p = 32768 (one half): K = smallest k with 32768 k * 65536 >=
	 * 32768 * 131072: k = 2, Zk = 65536, thr = r >> 16, pick i = thr >>
	 * 15 = r >> 31.  top_p = 32769: k * 65536 >= 131072 + 4 -> k = 3,
	 * Zk = 98304, thr = r * 98304 >> 32, i = thr / 32768.
	 */
	sample_setup(v, &so, 4, 8, 1, 0, 32768);
	for (i = 0; i < 4; i++)
		tset(v, &so.x, 0, i, 1000);
	for (si = 0; si < sizeof(seeds) / sizeof(seeds[0]); si++) {
		uint64_t st = seeds[si];

		set_state(v, &so, st);
		ASSERT_EQ(0, run(v, NULL));
		for (i = 0; i < 8; i++)
			EXPECT_EQ(spec_next(&st) >> 31, tget(v, &so.y[i], 0, 0));
	}
	sample_setup(v, &so, 4, 8, 1, 0, 32769);
	for (i = 0; i < 4; i++)
		tset(v, &so.x, 0, i, 1000);
	for (si = 0; si < sizeof(seeds) / sizeof(seeds[0]); si++) {
		uint64_t st = seeds[si];

		set_state(v, &so, st);
		ASSERT_EQ(0, run(v, NULL));
		for (i = 0; i < 8; i++)
			EXPECT_EQ(((uint64_t)spec_next(&st) * 98304 >> 32) / 32768,
				  tget(v, &so.y[i], 0, 0));
	}
}

TEST_F(ops, sample_state_zero_and_determinism)
{
	struct env *v = &self->v;
	struct sample_ops so;
	int64_t first[16];
	uint64_t st, after;
	unsigned int i;

	/*
	 * State 0 is replaced by 0x9e3779b97f4a7c15 before the step:
	 * s = 0x9e3779b97f4a7c15; s ^= s >> 12; s ^= s << 25; s ^= s >> 27.
	 */
	st = 0x9e3779b97f4a7c15ull;
	st ^= st >> 12;
	st ^= st << 25;
	st ^= st >> 27;
	sample_setup(v, &so, 50, 1, 3, 0, 65536);
	fill_rand(v, &so.x, -300, 300);
	set_state(v, &so, 0);
	ASSERT_EQ(0, run(v, NULL));
	EXPECT_EQ(st, get_state(v, &so));

	/* Same state, same stream: same picks and same final state. */
	sample_setup(v, &so, 50, 16, 3, 0, 50000);
	rng_seed(11);
	fill_rand(v, &so.x, -300, 300);
	set_state(v, &so, 0x1234);
	ASSERT_EQ(0, run(v, NULL));
	for (i = 0; i < 16; i++)
		first[i] = tget(v, &so.y[i], 0, 0);
	after = get_state(v, &so);
	EXPECT_NE(0x1234, after);
	set_state(v, &so, 0x1234);
	ASSERT_EQ(0, run(v, NULL));
	for (i = 0; i < 16; i++)
		EXPECT_EQ(first[i], tget(v, &so.y[i], 0, 0));
	EXPECT_EQ(after, get_state(v, &so));
}

static const uint32_t *sort_e;

static int cmp_order(const void *a, const void *b)
{
	uint32_t i = *(const uint32_t *)a, j = *(const uint32_t *)b;

	if (sort_e[i] != sort_e[j])
		return sort_e[i] > sort_e[j] ? -1 : 1;
	return i < j ? -1 : 1;
}

/* Section 3.10 step by step (integers, independent of engine/ops.c). */
static uint32_t spec_sample(const struct inpu_tables *t, const int32_t *x,
			    uint32_t n, int32_t tm, int32_t ts, uint32_t top_p,
			    uint64_t *state)
{
	static uint32_t e[65536], order[65536];
	int32_t mx = x[0];
	uint64_t z = 0, zk = 0, thr, cum = 0;
	uint32_t i, k;

	for (i = 1; i < n; i++)
		mx = x[i] > mx ? x[i] : mx;
	for (i = 0; i < n; i++) {
		int64_t d = ((int64_t)mx - x[i]) * tm;	/* < 2^63 */
		int64_t idx = ts ? (d + ((int64_t)1 << (ts - 1))) >> ts : d;

		idx = idx < 0 ? 0 : idx > t->exp_len - 1 ? t->exp_len - 1 : idx;
		e[i] = t->exp[idx];
		z += e[i];
		order[i] = i;
	}
	sort_e = e;
	qsort(order, n, sizeof(order[0]), cmp_order);
	for (k = 1; k <= n; k++) {
		zk += e[order[k - 1]];
		if (zk * 65536 >= (uint64_t)top_p * z)
			break;
	}
	thr = ((uint64_t)spec_next(state) * zk) >> 32;
	for (i = 0; i < k; i++) {
		cum += e[order[i]];
		if (cum > thr)
			return order[i];
	}
	return ~0u;	/* unreachable: thr < Zk */
}

TEST_F(ops, sample_matches_spec_model)
{
	struct env *v = &self->v;
	static const struct { uint32_t n; int32_t tm, ts; uint32_t top_p; } cs[] = {
		{ 300, 40, 4, 65536 }, { 300, 40, 4, 58982 }, { 1000, 3, 0, 30000 },
		{ 32, 1, 0, 1 }, { 5000, 200, 10, 62259 }, { 2, 1, 0, 65535 },
	};
	unsigned int ci, i, fails = 0;

	rng_seed(12);
	for (ci = 0; ci < sizeof(cs) / sizeof(cs[0]); ci++) {
		struct sample_ops so;
		int32_t *x = malloc(cs[ci].n * 4);
		uint64_t st = rng(), mst;

		ASSERT_NE(NULL, x);
		sample_setup(v, &so, cs[ci].n, 64, cs[ci].tm, cs[ci].ts, cs[ci].top_p);
		/* Logits with repeats (ties in the sort). */
		for (i = 0; i < cs[ci].n; i++) {
			x[i] = (int32_t)rnd(-2000, 2000) / 8 * 8;
			tset(v, &so.x, 0, i, x[i]);
		}
		set_state(v, &so, st);
		ASSERT_EQ(0, run(v, NULL));
		mst = st;
		for (i = 0; i < 64; i++) {
			uint32_t want = spec_sample(&v->ts.t, x, cs[ci].n, cs[ci].tm,
						    cs[ci].ts, cs[ci].top_p, &mst);

			if (tget(v, &so.y[i], 0, 0) != want && fails++ < 8)
				TH_LOG("case %u op %u: %lld, spec %u", ci, i,
				       (long long)tget(v, &so.y[i], 0, 0), want);
		}
		EXPECT_EQ(mst, get_state(v, &so));
		free(x);
	}
	EXPECT_EQ(0, fails);
}

/*
 * Reference: real temperature sampling, P_j = softmax(x_j * temp_mult /
 * 2^temp_shift / 2^exp_frac), restricted to the smallest top set with mass
 * >= top_p and renormalised.  Logits are 256 table steps apart, so e_j
 * = exp[256 j] = round(32768 e^-j) (relative error < 0.5 / 1631 = 0.0003)
 * and the nucleus boundary is far from top_p.  For S samples the
 * frequency of each index is within 5 standard deviations
 * (5 sqrt(P (1 - P) / S)) + 0.002 (table and threshold quantisation) of P.
 */
TEST_F(ops, sample_frequencies_vs_float)
{
	struct env *v = &self->v;
	static const uint32_t top_ps[] = { 65536, 45875 /* 0.7 */ };
	enum { N = 4, RUNS = 400 };
	unsigned int pi, i, r, fails = 0;

	for (pi = 0; pi < 2; pi++) {
		struct sample_ops so;
		double p[N], sum = 0, cum = 0, keep = 0;
		unsigned int count[N] = { 0 }, k;
		uint64_t st = 777;

		sample_setup(v, &so, N, 64, 1, 0, top_ps[pi]);
		for (i = 0; i < N; i++) {
			tset(v, &so.x, 0, i, 5000 - 256 * (int32_t)i);
			p[i] = exp(-(double)i);	/* (x_i - max) * 1 / 2^0 / 2^8 */
			sum += p[i];
		}
		/* Nucleus: smallest prefix (already sorted) with mass >= top_p. */
		for (k = 0; k < N; k++) {
			cum += p[k] / sum;
			if (cum * 65536 >= top_ps[pi])
				break;
		}
		for (i = 0; i < N; i++) {
			p[i] = i <= k ? p[i] / sum : 0;
			keep += p[i];
		}
		set_state(v, &so, st);
		for (r = 0; r < RUNS; r++) {
			ASSERT_EQ(0, run(v, NULL));
			for (i = 0; i < 64; i++) {
				int64_t y = tget(v, &so.y[i], 0, 0);

				ASSERT_LE(0, y);
				ASSERT_GT(N, y);
				count[y]++;
			}
		}
		for (i = 0; i < N; i++) {
			double pr = p[i] / keep, f = count[i] / (double)(RUNS * 64);
			double bound = 5 * sqrt(pr * (1 - pr) / (RUNS * 64)) + 0.002;

			if (fabs(f - pr) > bound && fails++ < 8)
				TH_LOG("top_p %u index %u: frequency %.4f, P %.4f (bound %.4f)",
				       top_ps[pi], i, f, pr, bound);
		}
	}
	EXPECT_EQ(0, fails);
}

/* ---- FWHT --------------------------------------------------------------- */

static struct inpu_op *add_fwht(struct stream *s, struct inpu_tensor x,
				struct inpu_tensor y, uint32_t block,
				int32_t mult, int32_t shift)
{
	struct inpu_op *op = stream_add(s, INPU_OP_FWHT);

	op->u.fwht.x = x;
	op->u.fwht.y = y;
	op->u.fwht.block = block;
	op->u.fwht.mult = mult;
	op->u.fwht.shift = shift;
	return op;
}

TEST_F(ops, fwht_by_hand)
{
	struct env *v = &self->v;
	struct inpu_tensor x1, y1, y1b, x2, y2, x3, y3, x4, y4, x5, y5;
	unsigned int i;
	/*
	 * Block 4, Sylvester order H[i][j] = (-1)^popcount(i & j):
	 * x = [1, 2, 3, 4]: [1+2+3+4, 1-2+3-4, 1+2-3-4, 1-2-3+4] = [10, -2, -4, 0]
	 * x = [0, 0, 0, 1]: the last column of H: [1, -1, -1, 1]
	 * mult 1 shift 0 as is; shift 1: [5, -1, -2, 0], [0.5 -> 1, -0.5 -> 0,
	 * -0.5 -> 0, 0.5 -> 1].
	 */
	static const int64_t xa[8] = { 1, 2, 3, 4, 0, 0, 0, 1 };
	static const int64_t ya[8] = { 10, -2, -4, 0, 1, -1, -1, 1 };
	static const int64_t yab[8] = { 5, -1, -2, 0, 1, 0, 0, 1 };
	/* Block 2 ties, shift 1: [3, 2] -> [5, 1] -> [2.5 -> 3, 0.5 -> 1];
	 * [-3, -2] -> [-5, -1] -> [-2.5 -> -2, -0.5 -> 0]. */
	static const int64_t xb[4] = { 3, 2, -3, -2 };
	static const int64_t yb[4] = { 3, 1, -2, 0 };
	/* INT8 saturation, block 2: [127, 127] -> [254 -> 127, 0];
	 * [-128, 127] -> [-1, -255 -> -128]. */
	static const int64_t xc[4] = { 127, 127, -128, 127 };
	static const int64_t yc[4] = { 127, 0, -1, -128 };
	/* INT32 32-bit wrap, block 2: [INT32_MAX, 1] ->
	 * [2^31 mod 2^32 = INT32_MIN, INT32_MAX - 1]. */
	static const int64_t xd[2] = { INT32_MAX, 1 };
	static const int64_t yd[2] = { INT32_MIN, INT32_MAX - 1 };
	/* mult 3, shift 1, block 2: [1, 2] -> [3, -1] * 3 = [9, -3] / 2 =
	 * [4.5 -> 5, -1.5 -> -1]; in place (y = x). */
	static const int64_t xe[2] = { 1, 2 };
	static const int64_t ye[2] = { 5, -1 };

	reset(v);
	x1 = talloc(v, INPU_DT_INT16, 1, 8, 0);
	y1 = talloc(v, INPU_DT_INT32, 1, 8, 0);
	y1b = talloc(v, INPU_DT_INT8, 1, 8, 0);
	tfill(v, &x1, xa);
	add_fwht(&v->s, x1, y1, 4, 1, 0);
	add_fwht(&v->s, x1, y1b, 4, 1, 1);
	x2 = talloc(v, INPU_DT_INT8, 2, 2, 0);
	y2 = talloc(v, INPU_DT_INT8, 2, 2, 0);
	tfill(v, &x2, xb);
	add_fwht(&v->s, x2, y2, 2, 1, 1);
	x3 = talloc(v, INPU_DT_INT8, 1, 4, 0);
	y3 = talloc(v, INPU_DT_INT8, 1, 4, 0);
	tfill(v, &x3, xc);
	add_fwht(&v->s, x3, y3, 2, 1, 0);
	x4 = talloc(v, INPU_DT_INT32, 1, 2, 0);
	y4 = talloc(v, INPU_DT_INT32, 1, 2, 0);
	tfill(v, &x4, xd);
	add_fwht(&v->s, x4, y4, 2, 1, 0);
	x5 = talloc(v, INPU_DT_INT16, 1, 2, 0);
	y5 = x5;
	tfill(v, &x5, xe);
	add_fwht(&v->s, x5, y5, 2, 3, 1);
	ASSERT_EQ(0, run(v, NULL));
	for (i = 0; i < 8; i++) {
		EXPECT_EQ(ya[i], tget(v, &y1, 0, i));
		EXPECT_EQ(yab[i], tget(v, &y1b, 0, i));
	}
	for (i = 0; i < 4; i++) {
		EXPECT_EQ(yb[i], tget(v, &y2, i / 2, i % 2));
		EXPECT_EQ(yc[i], tget(v, &y3, 0, i));
	}
	for (i = 0; i < 2; i++) {
		EXPECT_EQ(yd[i], tget(v, &y4, 0, i));
		EXPECT_EQ(ye[i], tget(v, &y5, 0, i));
	}
}

/*
 * Reference: y = H_block x per block (H[i][j] = (-1)^popcount(i & j), the
 * Sylvester-ordered matrix, as a plain matrix product, not butterflies)
 * times mult / 2^shift.  Integer sums below 2^31, exact in a double:
 * bound 0.5.  shift = log2(block) / 2 with mult 1 is the orthonormal
 * transform; for 16 and 64 that is exact in the reference too.
 */
TEST_F(ops, fwht_vs_float)
{
	struct env *v = &self->v;
	static const struct { uint32_t n, block; int32_t mult, shift;
			      uint8_t xdt, ydt; } cs[] = {
		{ 64, 16, 1, 2, INPU_DT_INT16, INPU_DT_INT16 },
		{ 64, 64, 1, 3, INPU_DT_INT8, INPU_DT_INT8 },
		{ 172 * 2, 8, 5, 3, INPU_DT_INT32, INPU_DT_INT16 },
		{ 256, 256, 1, 0, INPU_DT_INT16, INPU_DT_INT32 },
		{ 12, 4, -3, 1, INPU_DT_INT8, INPU_DT_INT8 },
	};
	unsigned int ci, fails = 0;

	rng_seed(13);
	for (ci = 0; ci < sizeof(cs) / sizeof(cs[0]); ci++) {
		struct inpu_tensor x, y;
		uint32_t r, i, j, b = cs[ci].block;

		reset(v);
		x = talloc(v, cs[ci].xdt, 3, cs[ci].n, ci % 2);
		y = talloc(v, cs[ci].ydt, 3, cs[ci].n, 1);
		fill_rand(v, &x, cs[ci].xdt == INPU_DT_INT8 ? -128 : -32768,
			  cs[ci].xdt == INPU_DT_INT8 ? 127 : 32767);
		add_fwht(&v->s, x, y, b, cs[ci].mult, cs[ci].shift);
		ASSERT_EQ(0, run(v, NULL));
		for (r = 0; r < 3; r++) {
			for (i = 0; i < cs[ci].n; i++) {
				uint32_t base = i / b * b;
				double acc = 0;

				for (j = 0; j < b; j++)
					acc += (__builtin_popcount((i - base) & j) & 1 ?
						-1.0 : 1.0) *
					       (double)tget(v, &x, r, base + j);
				near(_metadata, "fwht", r * cs[ci].n + i,
				     tget(v, &y, r, i),
				     acc * cs[ci].mult / ldexp(1.0, cs[ci].shift),
				     cs[ci].ydt, 0.5, &fails);
			}
		}
	}
	EXPECT_EQ(0, fails);
}

/* ---- a small end-to-end chain ------------------------------------------- */

/*
 * EMBED -> RMSNORM -> MATMUL -> ARGMAX in one stream: outputs of one op
 * feed the next (ops run in order).  Checked against the references above
 * step by step is overkill here; what matters is the data flow: the
 * argmax of a matmul with one dominant channel.
 */
TEST_F(ops, chained_ops_run_in_order)
{
	struct env *v = &self->v;
	enum { DIM = 64, V = 10 };
	struct inpu_tensor ids, table, h, g, hn, w, qp, logits, tok;
	static int8_t wv[V * DIM];
	uint32_t i;
	struct inpu_op *op;

	reset(v);
	ids = talloc(v, INPU_DT_INT32, 1, 1, 0);
	table = talloc(v, INPU_DT_INT16, V, DIM, 0);
	h = talloc(v, INPU_DT_INT16, 1, DIM, 0);
	g = talloc(v, INPU_DT_INT32, 1, DIM, 0);
	hn = talloc(v, INPU_DT_INT8, 1, DIM, 0);
	qp = talloc(v, INPU_DT_QPARAM, 1, V, 0);
	logits = talloc(v, INPU_DT_INT32, 1, V, 0);
	tok = talloc(v, INPU_DT_INT32, 1, 1, 0);
	w = tensor(flat_alloc(&v->m, inpu_weight_bytes(INPU_DT_W8_TILED, V, DIM)),
		   INPU_DT_W8_TILED, V, DIM);
	/* Token 6's embedding is +1000 everywhere; weight row 8 is all 1,
	 * row 3 all -1, the others 0: the next token must be 8.
	 */
	tset(v, &ids, 0, 0, 6);
	fill_rand(v, &table, -5, 5);
	for (i = 0; i < DIM; i++) {
		tset(v, &table, 6, i, 1000);
		tset(v, &g, 0, i, 1 << 10);
		wv[8 * DIM + i] = 1;
		wv[3 * DIM + i] = -1;
	}
	inpu_pack_w8(wv, V, DIM, flat_ptr(&v->m, w.addr));
	for (i = 0; i < V; i++) {
		struct inpu_qparam q = { 1, 0 };

		memcpy(eptr(v, &qp, 0, i), &q, sizeof(q));
	}
	add_embed(&v->s, ids, table, h, 1, 0);
	/* norm = 32768 (x / rms = 1), * 2^10 / 2^18 = 128 -> 127 */
	add_rmsnorm(&v->s, h, g, hn, 1, 18);
	op = stream_add(&v->s, INPU_OP_MATMUL);
	op->u.matmul.x = hn;
	op->u.matmul.w = w;
	op->u.matmul.qp = qp;
	op->u.matmul.y = logits;
	op = stream_add(&v->s, INPU_OP_ARGMAX);
	op->u.argmax.x = logits;
	op->u.argmax.y = tok;
	ASSERT_EQ(0, run(v, NULL));
	EXPECT_EQ(4, v->res.ops_done);
	EXPECT_EQ(127 * DIM, tget(v, &logits, 0, 8));
	EXPECT_EQ(-127 * DIM, tget(v, &logits, 0, 3));
	EXPECT_EQ(0, tget(v, &logits, 0, 0));
	EXPECT_EQ(8, tget(v, &tok, 0, 0));
}

TEST_HARNESS_MAIN
