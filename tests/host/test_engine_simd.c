// SPDX-License-Identifier: MIT
/*
 * The SIMD matmul kernels must be bit-exact with the scalar definition
 * (engine/matmul_scalar.c, engine/ISA.md section 3.1).  Checked three ways:
 *
 *  - the whole MATMUL op through the engine, once per ISA level this CPU
 *    has, with weight tiles read in place (map()) and copied (map() NULL);
 *  - the block kernels called directly against the scalar ones, with
 *    unaligned tiles and activations and odd row strides;
 *  - for some shapes, against a naive int64 dot product of the unpacked
 *    weights, so scalar and SIMD cannot pass by being wrong together.
 *
 * Levels the CPU lacks are reported with a "# " line, not failed.
 * Everything is drawn from a fixed seed.  No timing here: see
 * tests/bench/bench_engine.c.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_util.h"
#include "kernels.h"
#include "kselftest_harness.h"

static uint64_t rng_state;

static void rng_seed(uint64_t s)
{
	rng_state = s;
}

static uint64_t rng(void)
{
	/* splitmix64: a fixed, reproducible sequence. */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t rnd(uint32_t n)
{
	return (uint32_t)(rng() % n);
}

/* Extremes far more often than a uniform draw would give them. */
static int8_t rand_i8(void)
{
	switch (rnd(8)) {
	case 0:
		return -128;
	case 1:
		return 127;
	default:
		return (int8_t)rng();
	}
}

static int8_t rand_q4(void)
{
	switch (rnd(6)) {
	case 0:
		return -8;
	case 1:
		return 7;
	default:
		return (int8_t)(rnd(16) - 8);
	}
}

static uint8_t rand_scale(void)
{
	switch (rnd(6)) {
	case 0:
		return 0;
	case 1:
		return 255;
	default:
		return (uint8_t)rng();
	}
}

/* A raw tile byte: for W8 one weight, for W4 two nibbles. */
static uint8_t rand_tile_byte(void)
{
	static const uint8_t edge[] = { 0x00, 0xff, 0x0f, 0xf0, 0x80, 0x7f };

	return rnd(3) ? (uint8_t)rng() : edge[rnd(sizeof(edge))];
}

/*
 * A "# " line on stdout.  Each test runs in a child that leaves with
 * _exit(), which would drop what stdio still buffers.
 */
#define note(...) do {			\
	ksft_print_msg(__VA_ARGS__);	\
	fflush(stdout);			\
} while (0)

static const enum inpu_isa_level simd_levels[] = {
	INPU_ISA_AVX2, INPU_ISA_AVX512_VNNI,
};

/* @k = the kernels of SIMD level @l, or 0 (and a note) if this CPU lacks it. */
static int kernels_at(enum inpu_isa_level l, struct inpu_kernels *k)
{
	if (inpu_cpu_isa_level() < l) {
		note("%s: not supported by this CPU, kernels not called\n",
		     inpu_isa_level_name(l));
		return 0;
	}
	inpu_kernels_select(l, k);
	return 1;
}

/* ---- the MATMUL op through the engine ---------------------------------- */

/* Which levels the engine tests below compare (they skip the others). */
TEST(isa_levels)
{
	char have[64] = "", lack[64] = "";
	int l;

	for (l = INPU_ISA_SCALAR; l <= INPU_ISA_AVX512_VNNI; l++) {
		struct inpu_engine *e = inpu_engine_new(l, NULL);
		char *to;

		ASSERT_NE(NULL, e);
		EXPECT_GE(l, (int)inpu_engine_level(e));
		to = (int)inpu_engine_level(e) == l ? have : lack;
		strcat(to, " ");
		strcat(to, inpu_isa_level_name(l));
		inpu_engine_free(e);
	}
	note("levels compared:%s (CPU best: %s)\n", have,
	     inpu_isa_level_name(inpu_cpu_isa_level()));
	if (lack[0])
		note("not supported by this CPU, not compared:%s\n", lack);
}

struct mm_case {
	uint32_t m, k, n;
	int w4;
	int bias;
	uint32_t xpad;		/* extra bytes after each row of x */
	uint8_t ydt;		/* INT32 (exact acc) or INT8 (requantized) */
	int32_t mult, shift;	/* used when ydt != INT32 */
};

struct mm_data {
	int8_t *x;		/* [m][k] */
	int8_t *w;		/* [n][k]: W8 weights or W4 values */
	uint8_t *s;		/* W4: [n][groups] scales */
	int32_t *bias;		/* [n] */
	uint8_t *packed;
	uint8_t *gscale;
	uint64_t wbytes, gbytes;
	uint32_t groups;
};

static void mm_make(const struct mm_case *c, struct mm_data *d)
{
	uint64_t i;

	memset(d, 0, sizeof(*d));
	d->groups = (c->k + INPU_W4_GROUP - 1) / INPU_W4_GROUP;
	d->x = malloc((size_t)c->m * c->k);
	d->w = malloc((size_t)c->n * c->k);
	d->s = malloc((size_t)c->n * d->groups);
	d->bias = malloc((size_t)c->n * 4);
	for (i = 0; i < (uint64_t)c->m * c->k; i++)
		d->x[i] = rand_i8();
	for (i = 0; i < (uint64_t)c->n * c->k; i++)
		d->w[i] = c->w4 ? rand_q4() : rand_i8();
	for (i = 0; i < (uint64_t)c->n * d->groups; i++)
		d->s[i] = rand_scale();
	for (i = 0; i < c->n; i++)
		d->bias[i] = (int32_t)rng();

	d->wbytes = inpu_weight_bytes(c->w4 ? INPU_DT_W4_TILED : INPU_DT_W8_TILED,
				      c->n, c->k);
	d->packed = malloc(d->wbytes);
	if (c->w4) {
		d->gbytes = inpu_w4_gscale_bytes(c->n, c->k);
		d->gscale = malloc(d->gbytes);
		inpu_pack_w4(d->w, d->s, c->n, c->k, d->packed, d->gscale);
	} else {
		inpu_pack_w8(d->w, c->n, c->k, d->packed);
	}
}

static void mm_free(struct mm_data *d)
{
	free(d->x);
	free(d->w);
	free(d->s);
	free(d->bias);
	free(d->packed);
	free(d->gscale);
}

/*
 * Run the op on @e over a fresh flat memory; y (as int32) into @y.
 * Returns the run status.
 */
static int mm_run(struct inpu_engine *e, const struct inpu_tables *tables,
		  const struct mm_case *c, const struct mm_data *d,
		  int allow_map, int32_t *y)
{
	uint32_t xstride = c->k + c->xpad, ysz = c->ydt == INPU_DT_INT32 ? 4 : 1;
	uint64_t size = (uint64_t)c->m * xstride + d->wbytes + d->gbytes +
			(uint64_t)c->n * 12 + (uint64_t)c->m * c->n * 4 + 8 * 4096;
	struct inpu_op_matmul *o;
	struct inpu_run_result res;
	struct inpu_qparam *qp;
	struct flat_mem mem;
	static struct stream s;
	uint32_t r, i;
	int ret;

	if (flat_init(&mem, size))
		return -1;
	mem.allow_map = allow_map;
	stream_init(&s);
	o = &stream_add(&s, INPU_OP_MATMUL)->u.matmul;

	o->x = tensor(flat_alloc(&mem, (uint64_t)c->m * xstride), INPU_DT_INT8,
		      c->m, c->k);
	o->x.stride = xstride;
	for (r = 0; r < c->m; r++)
		memcpy(flat_ptr(&mem, o->x.addr + (uint64_t)r * xstride),
		       d->x + (size_t)r * c->k, c->k);

	o->w = tensor(flat_alloc(&mem, d->wbytes),
		      c->w4 ? INPU_DT_W4_TILED : INPU_DT_W8_TILED, c->n, c->k);
	memcpy(flat_ptr(&mem, o->w.addr), d->packed, d->wbytes);
	if (c->w4) {
		o->gscale = tensor(flat_alloc(&mem, d->gbytes), INPU_DT_UINT8,
				   (c->k + 127) / 128 * 4, (c->n + 63) / 64 * 64);
		memcpy(flat_ptr(&mem, o->gscale.addr), d->gscale, d->gbytes);
	}
	if (c->bias) {
		o->bias = flat_tensor(&mem, INPU_DT_INT32, 1, c->n);
		memcpy(flat_ptr(&mem, o->bias.addr), d->bias, (size_t)c->n * 4);
	}
	o->qp = flat_tensor(&mem, INPU_DT_QPARAM, 1, c->n);
	qp = flat_ptr(&mem, o->qp.addr);
	for (i = 0; i < c->n; i++) {
		qp[i].mult = c->ydt == INPU_DT_INT32 ? 1 : c->mult;
		qp[i].shift = c->ydt == INPU_DT_INT32 ? 0 : c->shift;
	}
	o->y = flat_tensor(&mem, c->ydt, c->m, c->n);

	ret = stream_run(e, tables, &mem, &s, NULL, &res);
	if (!ret) {
		for (i = 0; i < c->m * c->n; i++) {
			const uint8_t *p = (const uint8_t *)flat_ptr(&mem, o->y.addr) +
					   (size_t)i * ysz;

			if (ysz == 4)
				memcpy(&y[i], p, 4);
			else
				y[i] = (int8_t)*p;
		}
	}
	/* map() must have been offered the tiles, and used only if allowed. */
	if (!ret && !mem.map_calls)
		ret = -2;
	flat_free(&mem);
	return ret;
}

/* acc + bias (mod 2^32) from the unpacked weights, in int64. */
static void mm_naive(const struct mm_case *c, const struct mm_data *d,
		     int32_t *y)
{
	int8_t *w = malloc((size_t)c->n * c->k);
	uint8_t *s = malloc((size_t)c->n * d->groups);
	uint32_t m, n, k, g;

	/* From the packed bytes, so the layout is part of what is checked. */
	if (c->w4)
		inpu_unpack_w4(d->packed, d->gscale, c->n, c->k, w, s);
	else
		inpu_unpack_w8(d->packed, c->n, c->k, w);
	for (m = 0; m < c->m; m++) {
		for (n = 0; n < c->n; n++) {
			const int8_t *xr = d->x + (size_t)m * c->k;
			const int8_t *wr = w + (size_t)n * c->k;
			int64_t acc = 0;

			if (c->w4) {
				for (g = 0; g < d->groups; g++) {
					int64_t part = 0;

					for (k = g * 32; k < c->k && k < g * 32 + 32; k++)
						part += (int64_t)xr[k] * wr[k];
					acc += part * s[(size_t)n * d->groups + g];
				}
			} else {
				for (k = 0; k < c->k; k++)
					acc += (int64_t)xr[k] * wr[k];
			}
			if (c->bias)
				acc += d->bias[n];
			y[(size_t)m * c->n + n] = (int32_t)(uint32_t)(uint64_t)acc;
		}
	}
	free(w);
	free(s);
}

/* Index of the first difference, or -1. */
static long first_diff(const int32_t *a, const int32_t *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (a[i] != b[i])
			return (long)i;
	return -1;
}

FIXTURE(engines)
{
	struct inpu_tables_store tables;
	struct inpu_engine *e[3];	/* by level; NULL if not this CPU's */
};

FIXTURE_SETUP(engines)
{
	int l;

	ASSERT_EQ(0, inpu_tables_default(&self->tables));
	for (l = INPU_ISA_SCALAR; l <= INPU_ISA_AVX512_VNNI; l++) {
		struct inpu_engine *e = inpu_engine_new(l, NULL);

		ASSERT_NE(NULL, e);
		/* inpu_engine_new() caps the level at what the CPU has. */
		if ((int)inpu_engine_level(e) != l) {
			inpu_engine_free(e);
			e = NULL;
		}
		self->e[l] = e;
	}
	ASSERT_NE(NULL, self->e[INPU_ISA_SCALAR]);
}

FIXTURE_TEARDOWN(engines)
{
	int l;

	for (l = 0; l < 3; l++)
		inpu_engine_free(self->e[l]);
	inpu_tables_release(&self->tables);
}

/*
 * Run @c on every level, with and without map(); all must equal the
 * scalar level's output, and the naive sums if @naive.
 */
static int mm_check(struct __test_metadata *_metadata,
		    FIXTURE_DATA(engines) *self, const struct mm_case *c,
		    int naive)
{
	size_t cnt = (size_t)c->m * c->n;
	int32_t *ref = malloc(cnt * 4), *y = malloc(cnt * 4);
	struct mm_data d;
	int l, map, ret, ok = 1;
	long i;

	mm_make(c, &d);
	ret = mm_run(self->e[INPU_ISA_SCALAR], &self->tables.t, c, &d, 1, ref);
	EXPECT_EQ(0, ret);
	if (ret) {
		ok = 0;
		goto out;
	}
	if (naive) {
		mm_naive(c, &d, y);
		i = first_diff(ref, y, cnt);
		EXPECT_EQ(-1, i) {
			TH_LOG("scalar vs naive: %s m=%u k=%u n=%u at %ld: %d != %d",
			       c->w4 ? "W4" : "W8", c->m, c->k, c->n, i,
			       ref[i], y[i]);
		}
		if (i >= 0)
			ok = 0;
	}
	for (l = INPU_ISA_SCALAR; l <= INPU_ISA_AVX512_VNNI; l++) {
		for (map = 0; map < 2; map++) {
			/* The scalar level with map() is ref itself. */
			if (!self->e[l] || (l == INPU_ISA_SCALAR && map))
				continue;
			memset(y, 0x5a, cnt * 4);
			ret = mm_run(self->e[l], &self->tables.t, c, &d, map, y);
			EXPECT_EQ(0, ret);
			if (ret) {
				ok = 0;
				continue;
			}
			i = first_diff(ref, y, cnt);
			EXPECT_EQ(-1, i) {
				TH_LOG("%s map=%d %s m=%u k=%u n=%u bias=%d at %ld: %d != %d",
				       inpu_isa_level_name(l), map,
				       c->w4 ? "W4" : "W8", c->m, c->k, c->n,
				       c->bias, i, y[i], ref[i]);
			}
			if (i >= 0)
				ok = 0;
		}
	}
out:
	mm_free(&d);
	free(ref);
	free(y);
	return ok;
}

/* Sizes around the tile edges, 172 (the model's hidden size) and odd ones. */
static const uint32_t odd_sizes[] = {
	1, 3, 63, 64, 65, 127, 128, 129, 172, 200, 513,
};
#define N_ODD (sizeof(odd_sizes) / sizeof(odd_sizes[0]))

static uint32_t rand_size(void)
{
	return rnd(2) ? odd_sizes[rnd(N_ODD)] : 1 + rnd(600);
}

static void rand_case(struct mm_case *c, int w4)
{
	memset(c, 0, sizeof(*c));
	c->m = 1 + rnd(17);
	c->k = rand_size();
	c->n = rand_size();
	c->w4 = w4;
	c->bias = rnd(2);
	c->xpad = rnd(3) ? 0 : rnd(70);
	c->ydt = INPU_DT_INT32;
	if (!rnd(5)) {
		c->ydt = INPU_DT_INT8;
		c->mult = 1 + rnd(1 << 20);
		c->shift = 10 + rnd(30);
	}
}

TEST_F(engines, w8_random_shapes)
{
	struct mm_case c;
	int i;

	rng_seed(8);
	for (i = 0; i < 120; i++) {
		rand_case(&c, 0);
		/* The naive sums are acc + bias: only for the exact INT32 y. */
		if (!mm_check(_metadata, self, &c,
			      i < 20 && c.ydt == INPU_DT_INT32))
			break;
	}
}

TEST_F(engines, w4_random_shapes)
{
	struct mm_case c;
	int i;

	rng_seed(4);
	for (i = 0; i < 120; i++) {
		rand_case(&c, 1);
		/* The naive sums are acc + bias: only for the exact INT32 y. */
		if (!mm_check(_metadata, self, &c,
			      i < 20 && c.ydt == INPU_DT_INT32))
			break;
	}
}

/* Every M across the 16-row chunks the engine hands the kernels. */
TEST_F(engines, every_row_count)
{
	struct mm_case c;
	uint32_t m;
	int w4;

	rng_seed(17);
	for (w4 = 0; w4 < 2; w4++) {
		for (m = 1; m <= 17; m++) {
			memset(&c, 0, sizeof(c));
			c.m = m;
			c.k = w4 ? 200 : 172;
			c.n = 65;
			c.w4 = w4;
			c.bias = 1;
			c.ydt = INPU_DT_INT32;
			if (!mm_check(_metadata, self, &c, m == 17))
				return;
		}
	}
}

/* Every odd size as K and as N, against the naive sums too. */
TEST_F(engines, odd_sizes_naive)
{
	struct mm_case c;
	uint32_t i;
	int w4;

	rng_seed(513);
	for (w4 = 0; w4 < 2; w4++) {
		for (i = 0; i < N_ODD; i++) {
			memset(&c, 0, sizeof(c));
			c.m = 1 + rnd(17);
			c.k = odd_sizes[i];
			c.n = odd_sizes[N_ODD - 1 - i];
			c.w4 = w4;
			c.bias = 1;
			c.ydt = INPU_DT_INT32;
			if (!mm_check(_metadata, self, &c, 1))
				return;
		}
	}
}

/*
 * Sums that leave int32: every level must wrap exactly as the scalar
 * kernel does.  W8 needs K > 2^31 / 128^2 = 131072 inputs of -128 * -128;
 * W4 needs more than 2^31 / (32 * 8 * 128 * 255) = 256.6 groups of
 * -128 * -8 at scale 255.
 */
TEST_F(engines, wrapping_sums)
{
	struct mm_case c;
	struct mm_data d;
	int32_t *ref, *y;
	uint64_t i;
	int l, w4;

	for (w4 = 0; w4 < 2; w4++) {
		memset(&c, 0, sizeof(c));
		c.m = 2;
		c.k = w4 ? 260 * 32 : 131136;
		c.n = 3;
		c.w4 = w4;
		c.ydt = INPU_DT_INT32;
		rng_seed(31);
		mm_make(&c, &d);
		memset(d.x, 0x80, (size_t)c.m * c.k);
		for (i = 0; i < (uint64_t)c.n * c.k; i++)
			d.w[i] = w4 ? -8 : -128;
		memset(d.s, 255, (size_t)c.n * d.groups);
		if (w4)
			inpu_pack_w4(d.w, d.s, c.n, c.k, d.packed, d.gscale);
		else
			inpu_pack_w8(d.w, c.n, c.k, d.packed);

		ref = malloc((size_t)c.m * c.n * 4);
		y = malloc((size_t)c.m * c.n * 4);
		mm_naive(&c, &d, ref);
		/* It did leave int32: 2^31 < true sum < 2^32, so negative. */
		EXPECT_GT(0, ref[0]);
		for (l = 0; l <= INPU_ISA_AVX512_VNNI; l++) {
			if (!self->e[l])
				continue;
			EXPECT_EQ(0, mm_run(self->e[l], &self->tables.t, &c, &d, 1, y));
			EXPECT_EQ(-1, first_diff(ref, y, (size_t)c.m * c.n)) {
				TH_LOG("%s %s", inpu_isa_level_name(l), w4 ? "W4" : "W8");
			}
		}
		free(ref);
		free(y);
		mm_free(&d);
	}
}

/* ---- the block kernels called directly -------------------------------- */

/*
 * @w4 of block_check: bit 0 W4, bit 1 groups of 16, bit 2 zero points,
 * bit 3 codes (INPU_W4_GFMT_CODES: scale and zero point in one byte).
 */
#define BK_W4		1
#define BK_G16		2
#define BK_ZERO		4
#define BK_CODES	8

/* @n group rows of 64 bytes, each its own heap block (ASan sees past one). */
static uint8_t **group_rows(uint32_t n)
{
	uint8_t **r = calloc(n, sizeof(*r));
	uint32_t i;

	for (i = 0; r && i < n; i++)
		r[i] = malloc(64);
	return r;
}

static void group_rows_free(uint8_t **r, uint32_t n)
{
	uint32_t i;

	for (i = 0; r && i < n; i++)
		free(r[i]);
	free(r);
}

/*
 * One direct call of both kernels of @k against the scalar ones.  Tiles,
 * activations and each group row sit in exactly sized heap blocks (ASan
 * sees any read past them), @skew bytes off alignment.  Zero points are
 * random, or with a fixed weight fill the extremes -128 and 127 in turn;
 * codes are random bytes (each is a code), or the largest scale with the
 * zero points -8 and 7 in turn.
 */
static int block_check(struct __test_metadata *_metadata,
		       const struct inpu_kernels *k, const char *name,
		       uint32_t n_tiles, uint32_t m_rows, uint32_t x_stride,
		       int w4, uint32_t skew, int fill_w, int fill_x)
{
	uint32_t tile_k = w4 ? INPU_W4_TILE_K : INPU_W8_TILE_K, i;
	size_t xbytes = (size_t)(m_rows - 1) * x_stride + n_tiles * tile_k;
	uint8_t *pool = malloc((size_t)n_tiles * 4096 + skew);
	const uint8_t **tiles = malloc(n_tiles * sizeof(*tiles));
	int8_t *xbuf = malloc(xbytes + skew), *x = xbuf + skew;
	uint32_t group = w4 & BK_G16 ? 16 : 32, ng = n_tiles * (128 / group);
	int codes = !!(w4 & BK_CODES), zero = !codes && (w4 & BK_ZERO);
	uint8_t **gs = group_rows(ng), **gz = zero ? group_rows(ng) : NULL;
	struct inpu_w4_groups gr = {
		(const uint8_t *const *)gs, (const int8_t *const *)gz, codes
	};
	int32_t *ref = malloc((size_t)m_rows * 64 * 4);
	int32_t *got = malloc((size_t)m_rows * 64 * 4);
	long d;
	int ok;

	for (i = 0; i < n_tiles * 4096; i++)
		pool[skew + i] = fill_w < 0 ? rand_tile_byte() : (uint8_t)fill_w;
	for (i = 0; i < xbytes; i++)
		x[i] = fill_x < -128 ? rand_i8() : (int8_t)fill_x;
	for (i = 0; i < ng * 64; i++) {
		if (codes)
			gs[i / 64][i % 64] = fill_w < 0 ? (uint8_t)rnd(256) :
					     i & 1 ? 0xff : 0x0f;
		else
			gs[i / 64][i % 64] = fill_w < 0 ? rand_scale() : 255;
		if (gz)
			gz[i / 64][i % 64] = fill_w < 0 ? (uint8_t)rnd(256) :
					     i & 1 ? 127 : 0x80;
	}
	/* Tiles in any order: the kernels must follow the pointers. */
	for (i = 0; i < n_tiles; i++)
		tiles[i] = pool + skew + (size_t)((i * 7 + 3) % n_tiles) * 4096;
	memset(ref, 0xa5, (size_t)m_rows * 64 * 4);
	memset(got, 0x5a, (size_t)m_rows * 64 * 4);

	if (w4) {
		inpu_w4_block_scalar(tiles, n_tiles, group, &gr, x, m_rows,
				     x_stride, ref);
		k->w4_block(tiles, n_tiles, group, &gr, x, m_rows, x_stride,
			    got);
	} else {
		inpu_w8_block_scalar(tiles, n_tiles, x, m_rows, x_stride, ref);
		k->w8_block(tiles, n_tiles, x, m_rows, x_stride, got);
	}
	d = first_diff(ref, got, (size_t)m_rows * 64);
	EXPECT_EQ(-1, d) {
		TH_LOG("%s %s group=%u zero=%d codes=%d tiles=%u rows=%u stride=%u skew=%u fill=%d/%d: acc[%ld] %d != %d",
		       name, w4 ? "W4" : "W8", group, zero, codes, n_tiles, m_rows, x_stride,
		       skew, fill_w, fill_x, d, got[d], ref[d]);
	}
	ok = d < 0;
	free(pool);
	free(tiles);
	free(xbuf);
	group_rows_free(gs, ng);
	group_rows_free(gz, ng);
	free(ref);
	free(got);
	return ok;
}

TEST(block_kernels_random)
{
	struct inpu_kernels k;
	unsigned int li;
	int it;

	for (li = 0; li < sizeof(simd_levels) / sizeof(simd_levels[0]); li++) {
		enum inpu_isa_level l = simd_levels[li];

		if (!kernels_at(l, &k))
			continue;
		rng_seed(64 + l);
		for (it = 0; it < 800; it++) {
			/*
			 * W8, then W4 with each group size: no zero points,
			 * zero points, codes.
			 */
			static const int fmt[] = { 0, BK_ZERO, BK_CODES };
			int w4 = it & 1 ? BK_W4 | (it & 2 ? BK_G16 : 0) |
					  fmt[it / 4 % 3] : 0;
			uint32_t tile_k = w4 ? INPU_W4_TILE_K : INPU_W8_TILE_K;
			uint32_t n_tiles = 1 + rnd(it % 50 ? 12 : 70);
			uint32_t m_rows = 1 + rnd(16);
			uint32_t stride = n_tiles * tile_k + (rnd(3) ? 0 : rnd(200));

			if (!block_check(_metadata, &k, inpu_isa_level_name(l),
					 n_tiles, m_rows, stride, w4, rnd(4) ? 0 : 1 + rnd(63),
					 -1, -129))
				return;
		}
	}
}

/*
 * The attention's block products against the scalar definition: every
 * length around the vector widths, blocks of 0 to 5 rows at a stride
 * wider than a row, random bytes and the extremes (-128 * -128
 * everywhere, p at its ends), accumulators that wrap.
 */
#define ATT_ROWS 5
#define ATT_STRIDE 260
TEST(attention_kernels)
{
	static const uint32_t lens[] = { 0, 1, 7, 8, 9, 15, 16, 17, 23, 24, 25, 31, 32, 33,
					 48, 63, 64, 65, 100, 128, 257 };
	static const int32_t ps[] = { 0, 1, -1, 32768, INT32_MAX, INT32_MIN };
	int8_t q[257], kv[ATT_ROWS * ATT_STRIDE];
	int16_t k16[ATT_ROWS * ATT_STRIDE];
	int32_t p[ATT_ROWS], ref[257], got[257];
	struct inpu_kernels k;
	unsigned int li, i, n, rows;

	for (li = 0; li < sizeof(simd_levels) / sizeof(simd_levels[0]); li++) {
		enum inpu_isa_level l = simd_levels[li];

		if (!kernels_at(l, &k))
			continue;
		rng_seed(99 + l);
		for (int fill = 0; fill < 3; fill++) {
			for (i = 0; i < 257; i++)
				q[i] = fill == 0 ? (int8_t)rnd(256) : -128;
			for (i = 0; i < ATT_ROWS * ATT_STRIDE; i++) {
				kv[i] = fill == 0 ? (int8_t)rnd(256) : fill == 1 ? -128 : 127;
				/* 16-bit keys: the whole int16 range */
				k16[i] = (int16_t)(fill == 0 ? rnd(65536) - 32768 :
						   fill == 1 ? -32768 : 32767);
			}
			for (n = 0; n < sizeof(lens) / sizeof(lens[0]); n++) {
				uint32_t len = lens[n];

				for (rows = 0; rows <= ATT_ROWS; rows++) {
					inpu_dot_i8_scalar(q, kv, ATT_STRIDE, rows, len, ref);
					k.dot_i8(q, kv, ATT_STRIDE, rows, len, got);
					ASSERT_EQ(0, memcmp(ref, got, rows * 4)) {
						TH_LOG("%s dot, fill %d, n %u, rows %u",
						       inpu_isa_level_name(l), fill, len, rows);
					}
					inpu_dot_i8_i16_scalar(q, k16, ATT_STRIDE, rows, len, ref);
					k.dot_i8_i16(q, k16, ATT_STRIDE, rows, len, got);
					ASSERT_EQ(0, memcmp(ref, got, rows * 4)) {
						TH_LOG("%s dot int16, fill %d, n %u, rows %u",
						       inpu_isa_level_name(l), fill, len, rows);
					}
					for (unsigned int pi = 0; pi < sizeof(ps) / sizeof(ps[0]);
					     pi++) {
						for (i = 0; i < ATT_ROWS; i++)
							p[i] = i ? (int32_t)rnd(65536) : ps[pi];
						for (i = 0; i < 257; i++)
							ref[i] = got[i] =
								(int32_t)(rnd(1u << 31) * 2 + i);
						inpu_axpy_i8_scalar(ref, p, kv, ATT_STRIDE, rows, len);
						k.axpy_i8(got, p, kv, ATT_STRIDE, rows, len);
						ASSERT_EQ(0, memcmp(ref, got, sizeof(got))) {
							TH_LOG("%s axpy, fill %d, n %u, rows %u, p %d",
							       inpu_isa_level_name(l), fill, len,
							       rows, ps[pi]);
						}
					}
				}
			}
		}
	}
}

/*
 * Saturation to each output type: values at, just inside and just past
 * every type's limits and the int64 extremes, at every length around the
 * vector widths, against the scalar kernel and against the clamp itself.
 */
TEST(saturate_kernels)
{
	static const int64_t edge[] = { 0, 1, -1, 127, 128, -128, -129, 32767, 32768,
					-32768, -32769, INT32_MAX, (int64_t)INT32_MAX + 1,
					INT32_MIN, (int64_t)INT32_MIN - 1, INT64_MAX,
					INT64_MIN, 1ll << 40, -(1ll << 40) };
	static const uint8_t dts[] = { INPU_DT_INT8, INPU_DT_INT16, INPU_DT_INT32 };
	int64_t v[70];
	uint8_t ref[70 * 4], got[70 * 4 + 1];
	struct inpu_kernels k;
	unsigned int li, di, i, n;

	rng_seed(7);
	for (i = 0; i < 70; i++)
		v[i] = i < sizeof(edge) / sizeof(edge[0]) ? edge[i] :
		       (int64_t)(rnd(1u << 31) * 2 + rnd(2)) * (i % 3 ? 1 : 65537) -
		       (1ll << 31);
	for (di = 0; di < 3; di++) {
		int64_t lo = di == 0 ? INT8_MIN : di == 1 ? INT16_MIN : INT32_MIN;
		int64_t hi = di == 0 ? INT8_MAX : di == 1 ? INT16_MAX : INT32_MAX;

		inpu_saturate_scalar(v, 70, dts[di], ref);
		for (i = 0; i < 70; i++) {
			int64_t want = v[i] < lo ? lo : v[i] > hi ? hi : v[i];
			int64_t have = di == 0 ? ((int8_t *)ref)[i] :
				       di == 1 ? ((int16_t *)ref)[i] : ((int32_t *)ref)[i];

			ASSERT_EQ(want, have);
		}
	}
	for (li = 0; li < sizeof(simd_levels) / sizeof(simd_levels[0]); li++) {
		enum inpu_isa_level l = simd_levels[li];

		if (!kernels_at(l, &k))
			continue;
		for (di = 0; di < 3; di++) {
			unsigned int es = 1u << di;

			inpu_saturate_scalar(v, 70, dts[di], ref);
			for (n = 0; n <= 70; n++) {
				memset(got, 0xa5, sizeof(got));
				k.saturate(v, n, dts[di], got);
				ASSERT_EQ(0, memcmp(ref, got, n * es)) {
					TH_LOG("%s saturate, type %u, n %u",
					       inpu_isa_level_name(l), dts[di], n);
				}
				/* nothing past the n values is written */
				ASSERT_EQ(0xa5, got[n * es]);
			}
		}
	}
}

/*
 * MATMUL's requantization: every length around the vector width, with
 * and without a row scale and a bias, accumulators, scales and
 * multipliers over their whole range and their extremes, and shifts
 * below 0 and above 62 (clamped), against the scalar kernel.
 */
TEST(mm_requant_kernels)
{
	static const int32_t ext[] = { 0, 1, -1, INT32_MAX, INT32_MIN };
	struct inpu_qparam qp[70];
	int32_t acc[70], bias[70];
	int64_t ref[70], got[71];
	struct inpu_kernels k;
	unsigned int li, i, n, rep;

	for (li = 0; li < sizeof(simd_levels) / sizeof(simd_levels[0]); li++) {
		enum inpu_isa_level l = simd_levels[li];

		if (!kernels_at(l, &k))
			continue;
		rng_seed(3 + l);
		for (rep = 0; rep < 40; rep++) {
			int xscaled = rep & 1, with_bias = rep & 2;
			int32_t xs = rep < 10 ? ext[rep % 5] : (int32_t)(rnd(1u << 31) * 2 + rnd(2));

			for (i = 0; i < 70; i++) {
				acc[i] = rep % 7 == 0 ? ext[i % 5] :
					 (int32_t)(rnd(1u << 31) * 2 + rnd(2));
				bias[i] = (int32_t)(rnd(1u << 31) * 2 + rnd(2));
				qp[i].mult = i % 9 == 0 ? ext[i % 5] :
					     (int32_t)(rnd(1u << 31) * 2 + rnd(2));
				qp[i].shift = (int32_t)rnd(76) - 5;
			}
			for (n = 0; n <= 70; n++) {
				got[n] = 0x5a5a5a5a5a5a5a5all;
				inpu_mm_requant_scalar(acc, n, xscaled, xs,
						       with_bias ? bias : NULL, qp, ref);
				k.mm_requant(acc, n, xscaled, xs, with_bias ? bias : NULL,
					     qp, got);
				ASSERT_EQ(0, memcmp(ref, got, n * 8)) {
					TH_LOG("%s requant, n %u, row scale %d, bias %d",
					       inpu_isa_level_name(l), n, xscaled,
					       !!with_bias);
				}
				ASSERT_EQ(0x5a5a5a5a5a5a5a5all, got[n]);
			}
		}
	}
}

/*
 * Constant fills at the limits of every operand: where a saturating or
 * overflowing formulation (e.g. vpmaddubsw on raw W8 bytes, whose pair
 * sums reach -65280) would show.
 */
TEST(block_kernels_extremes)
{
	static const int wfill[] = { 0x00, 0xff, 0x0f, 0xf0, 0x80, 0x7f };
	static const int xfill[] = { -128, 127, -1, 1 };
	struct inpu_kernels k;
	unsigned int li, a, b;
	int w4;

	for (li = 0; li < sizeof(simd_levels) / sizeof(simd_levels[0]); li++) {
		enum inpu_isa_level l = simd_levels[li];

		if (!kernels_at(l, &k))
			continue;
		/* W8; W4 each group size, no zero points, zero points, codes */
		for (w4 = 0; w4 < 12; w4 += w4 ? 2 : 1)
			for (a = 0; a < sizeof(wfill) / sizeof(wfill[0]); a++)
				for (b = 0; b < sizeof(xfill) / sizeof(xfill[0]); b++)
					if (!block_check(_metadata, &k,
							 inpu_isa_level_name(l), 3,
							 16, w4 ? 384 : 192, w4, 0,
							 wfill[a], xfill[b]))
						return;
	}
}

/* @n group rows of 64 bytes in @buf, as the kernels take them. */
static void rows_of(const uint8_t *buf, const uint8_t **rows, int n)
{
	int i;

	for (i = 0; i < n; i++)
		rows[i] = buf + i * 64;
}

/* The scalar kernels themselves against the naive formula, by hand. */
TEST(scalar_block_by_hand)
{
	uint8_t *tile = malloc(4096);
	const uint8_t *tiles[1] = { tile }, *rows[8], *zrows[8];
	int8_t x[128], gz[8 * 64];
	uint8_t gs[8 * 64];
	struct inpu_w4_groups gr = { rows, NULL, 0 };
	int32_t acc[64];
	int i;

	/* W8: w[n][k] = (n % 3) - 1 via the layout formula, x[k] = k - 32. */
	for (i = 0; i < 4096; i++)
		tile[i] = (uint8_t)((i / 4 % 64) % 3 - 1 + 128);
	for (i = 0; i < 64; i++)
		x[i] = (int8_t)(i - 32);
	inpu_w8_block_scalar(tiles, 1, x, 1, 64, acc);
	/* sum(k - 32, k < 64) = -32 */
	EXPECT_EQ(32, acc[0]);
	EXPECT_EQ(0, acc[1]);
	EXPECT_EQ(-32, acc[2]);

	/* W4: every nibble 15 (q = 7), x = 1, scales g + 1: 7 * 32 * 10. */
	memset(tile, 0xff, 4096);
	memset(x, 1, sizeof(x));
	for (i = 0; i < 4 * 64; i++)
		gs[i] = (uint8_t)(i / 64 + 1);
	rows_of(gs, rows, 4);
	inpu_w4_block_scalar(tiles, 1, 32, &gr, x, 1, 128, acc);
	EXPECT_EQ(7 * 32 * 10, acc[0]);
	EXPECT_EQ(7 * 32 * 10, acc[63]);

	/*
	 * Groups of 16 with zero points: scales g + 1 (1..8), zero point
	 * -g - 1 in channel 0 and 7 in channel 1 (weight q - z: 8 + g, 0).
	 */
	for (i = 0; i < 8 * 64; i++) {
		gs[i] = (uint8_t)(i / 64 + 1);
		gz[i] = (int8_t)(i % 64 == 1 ? 7 : -(int)(i / 64) - 1);
	}
	rows_of(gs, rows, 8);
	rows_of((const uint8_t *)gz, zrows, 8);
	gr.zero = (const int8_t *const *)zrows;
	inpu_w4_block_scalar(tiles, 1, 16, &gr, x, 1, 128, acc);
	/* sum over g < 8 of 16 * (g + 1) * (8 + g) = 16 * 456 */
	EXPECT_EQ(16 * 456, acc[0]);
	EXPECT_EQ(0, acc[1]);

	/*
	 * Codes (ISA: low nibble the scale level, high nibble 8 + z), groups
	 * of 16, q = 7: code 0x8c is scale 128, z 0 (weight 7); 0xf0 scale 8,
	 * z 7 (weight 0); 0x0f scale 255, z -8 (weight 15); 0x45 in group 3
	 * only (scale 25, z -4, weight 11), 0x8c elsewhere.
	 */
	for (i = 0; i < 8 * 64; i++)
		gs[i] = i % 64 == 1 ? 0xf0 : i % 64 == 2 ? 0x0f :
			i % 64 == 3 && i / 64 == 3 ? 0x45 : 0x8c;
	gr.zero = NULL;
	gr.codes = 1;
	inpu_w4_block_scalar(tiles, 1, 16, &gr, x, 1, 128, acc);
	EXPECT_EQ(8 * 16 * 7 * 128, acc[0]);
	EXPECT_EQ(0, acc[1]);
	EXPECT_EQ(8 * 16 * 15 * 255, acc[2]);
	EXPECT_EQ(7 * 16 * 7 * 128 + 16 * 11 * 25, acc[3]);
	free(tile);
}

TEST_HARNESS_MAIN
