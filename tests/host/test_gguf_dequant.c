// SPDX-License-Identifier: MIT
/*
 * Dequantization of GGUF tensor types (gguf_dequant.h): hand-built blocks
 * whose values follow from the ggml block definitions, blocks written by
 * an encoder here from random quants (with scales that make every value
 * exact, so the order of the float operations does not matter), and the
 * errors: unsupported types, lengths off the block grid, NaN/Inf scales
 * and values.
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gguf_dequant.h"
#include "kselftest_harness.h"

/* Half-precision bit patterns used as scales: all powers of two or ints. */
#define H_ONE 0x3c00
#define H_HALF 0x3800
#define H_QUARTER 0x3400
#define H_EIGHTH 0x3000
#define H_16TH 0x2c00
#define H_32ND 0x2800
#define H_MINUS_HALF 0xb800
#define H_MINUS_ONE 0xbc00
#define H_MINUS_3 0xc200

static uint32_t fbits(float f)
{
	uint32_t u;

	memcpy(&u, &f, sizeof(u));
	return u;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

/* Index of the first element whose bits differ, or -1. */
static long first_diff(const float *want, const float *got, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fbits(want[i]) != fbits(got[i]))
			return (long)i;
	return -1;
}

#define EXPECT_SAME(want, got, n) do {					\
	long _d = first_diff(want, got, n);				\
	EXPECT_EQ(-1, _d) {						\
		TH_LOG("element %ld: want %a got %a", _d,		\
		       (double)(want)[_d], (double)(got)[_d]);		\
	}								\
} while (0)

/* xorshift64; the state is the caller's so tests stay independent. */
static uint32_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (uint32_t)(*s >> 32);
}

TEST(type_names)
{
	static const struct { uint32_t id; const char *name; } known[] = {
		{ INPU_GGML_F32, "F32" }, { INPU_GGML_F16, "F16" },
		{ INPU_GGML_Q4_0, "Q4_0" }, { INPU_GGML_Q4_1, "Q4_1" },
		{ INPU_GGML_Q5_0, "Q5_0" }, { INPU_GGML_Q5_1, "Q5_1" },
		{ INPU_GGML_Q8_0, "Q8_0" }, { INPU_GGML_Q8_1, "Q8_1" },
		{ INPU_GGML_Q2_K, "Q2_K" }, { INPU_GGML_Q3_K, "Q3_K" },
		{ INPU_GGML_Q4_K, "Q4_K" }, { INPU_GGML_Q5_K, "Q5_K" },
		{ INPU_GGML_Q6_K, "Q6_K" }, { INPU_GGML_Q8_K, "Q8_K" },
		{ INPU_GGML_BF16, "BF16" }, { 23, "IQ4_XS" }, { 35, "TQ2_0" },
	};
	static const uint32_t unknown[] = { 4, 5, 31, 32, 33, 36, 39, 1000,
					    UINT32_MAX };

	for (size_t i = 0; i < ARRAY_SIZE(known); i++)
		EXPECT_STREQ(known[i].name, inpu_ggml_type_name(known[i].id));
	for (size_t i = 0; i < ARRAY_SIZE(unknown); i++)
		EXPECT_EQ(NULL, inpu_ggml_type_name(unknown[i]));
}

TEST(block_sizes_and_row_bytes)
{
	/* Sizes from the ggml block structs: scales + quants. */
	static const struct { uint32_t id, elems, bytes; } sz[] = {
		{ INPU_GGML_F32, 1, 4 }, { INPU_GGML_F16, 1, 2 },
		{ INPU_GGML_BF16, 1, 2 }, { INPU_GGML_Q8_0, 32, 2 + 32 },
		{ INPU_GGML_Q4_0, 32, 2 + 16 }, { INPU_GGML_Q4_1, 32, 4 + 16 },
		{ INPU_GGML_Q5_0, 32, 2 + 4 + 16 },
		{ INPU_GGML_Q5_1, 32, 4 + 4 + 16 },
		{ INPU_GGML_Q4_K, 256, 4 + 12 + 128 },
		{ INPU_GGML_Q5_K, 256, 4 + 12 + 32 + 128 },
		{ INPU_GGML_Q6_K, 256, 128 + 64 + 16 + 2 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(sz); i++) {
		uint32_t e = 0, b = 0;

		EXPECT_EQ(1, inpu_ggml_block(sz[i].id, &e, &b));
		EXPECT_EQ(sz[i].elems, e);
		EXPECT_EQ(sz[i].bytes, b);
		EXPECT_EQ(3ull * sz[i].bytes,
			  inpu_ggml_row_bytes(sz[i].id, 3ull * sz[i].elems));
		EXPECT_EQ(0, inpu_ggml_row_bytes(sz[i].id, 0));
		if (sz[i].elems > 1)
			EXPECT_EQ(0, inpu_ggml_row_bytes(sz[i].id,
							 sz[i].elems + 1));
	}
	EXPECT_EQ(36, inpu_ggml_row_bytes(INPU_GGML_Q4_0, 64));
	EXPECT_EQ(420, inpu_ggml_row_bytes(INPU_GGML_Q6_K, 512));
	/* A size that does not fit in 64 bits is no size. */
	EXPECT_EQ(0, inpu_ggml_row_bytes(INPU_GGML_F32, UINT64_MAX / 2));
	EXPECT_EQ(UINT64_MAX / 2 * 2,
		  inpu_ggml_row_bytes(INPU_GGML_F16, UINT64_MAX / 2));
}

TEST(f32_passthrough)
{
	const float want[] = { 1.5f, -0.0f, 0x1p-149f, -3.4028235e38f, 0.1f };
	float got[5];

	EXPECT_EQ(0, inpu_ggml_dequant(INPU_GGML_F32, want, 5, got));
	EXPECT_SAME(want, got, 5);
}

TEST(f16_known_values)
{
	static const struct { uint16_t h; float f; } v[] = {
		{ 0x0000, 0.0f }, { 0x8000, -0.0f },
		{ 0x3c00, 1.0f }, { 0xc000, -2.0f },
		{ 0x3555, 0x1.554p-2f },	/* nearest half to 1/3 */
		{ 0x7bff, 65504.0f },		/* largest half */
		{ 0xfbff, -65504.0f },
		{ 0x0400, 0x1p-14f },		/* smallest normal */
		{ 0x0001, 0x1p-24f },		/* smallest subnormal */
		{ 0x8001, -0x1p-24f },
		{ 0x0200, 0x1p-15f },
		{ 0x03ff, 0x1.ff8p-15f },	/* largest subnormal: 1023/2^24 */
		{ 0x8155, -0x155p-24f },
	};
	const size_t n = ARRAY_SIZE(v);
	uint8_t src[2 * 13];
	float want[13], got[13];

	ASSERT_EQ(13, n);
	for (size_t i = 0; i < n; i++) {
		put16(src + 2 * i, v[i].h);
		want[i] = v[i].f;
	}
	EXPECT_EQ(0, inpu_ggml_dequant(INPU_GGML_F16, src, n, got));
	EXPECT_SAME(want, got, n);
}

TEST(bf16_known_values)
{
	static const struct { uint16_t h; float f; } v[] = {
		{ 0x3f80, 1.0f }, { 0xc040, -3.0f }, { 0x8000, -0.0f },
		{ 0x4049, 3.140625f },
		{ 0x0001, 0x1p-133f },		/* subnormal */
		{ 0x807f, -0x7fp-133f },	/* largest subnormal, negative */
		{ 0x7f7f, 0x1.fep127f },	/* largest finite */
	};
	const size_t n = ARRAY_SIZE(v);
	uint8_t src[2 * 7];
	float want[7], got[7];

	ASSERT_EQ(7, n);
	for (size_t i = 0; i < n; i++) {
		put16(src + 2 * i, v[i].h);
		want[i] = v[i].f;
	}
	EXPECT_EQ(0, inpu_ggml_dequant(INPU_GGML_BF16, src, n, got));
	EXPECT_SAME(want, got, n);
}

/*
 * Q8_0: d = -0.5, q[j] = 8j - 128, so x[j] = 64 - 4j; x[16] = 0 * -0.5 is
 * -0: the comparisons are on bits, and x = q * d decides the zero's sign.
 */
TEST(q8_0_block)
{
	uint8_t b[34];
	float want[32], got[32];

	put16(b, H_MINUS_HALF);
	for (int j = 0; j < 32; j++) {
		b[2 + j] = (uint8_t)(int8_t)(8 * j - 128);
		want[j] = (float)(8 * j - 128) * -0.5f;
	}
	EXPECT_EQ(0, inpu_ggml_dequant(INPU_GGML_Q8_0, b, 32, got));
	EXPECT_SAME(want, got, 32);
	EXPECT_EQ(64.0f, got[0]);
	EXPECT_EQ(-60.0f, got[31]);
	EXPECT_TRUE(signbit(got[16]));
}

/*
 * Q4_0: d = 0.5; byte j holds j (low nibble, element j) and 15 - j (high
 * nibble, element j + 16); x = (q - 8) * d.
 */
TEST(q4_0_block)
{
	uint8_t b[18];
	float want[32], got[32];

	put16(b, H_HALF);
	for (int j = 0; j < 16; j++) {
		b[2 + j] = (uint8_t)(j | (15 - j) << 4);
		want[j] = (float)(j - 8) * 0.5f;
		want[j + 16] = (float)(7 - j) * 0.5f;
	}
	EXPECT_EQ(0, inpu_ggml_dequant(INPU_GGML_Q4_0, b, 32, got));
	EXPECT_SAME(want, got, 32);
	EXPECT_EQ(-4.0f, got[0]);	/* low nibble 0 of byte 0 */
	EXPECT_EQ(3.5f, got[16]);	/* high nibble 15 of byte 0 */
	EXPECT_EQ(-4.0f, got[31]);	/* high nibble 0 of byte 15 */
}

/* Q4_1: d = 0.25, m = -1, same nibbles as above; x = q * d + m. */
TEST(q4_1_block)
{
	uint8_t b[20];
	float want[32], got[32];

	put16(b, H_QUARTER);
	put16(b + 2, H_MINUS_ONE);
	for (int j = 0; j < 16; j++) {
		b[4 + j] = (uint8_t)(j | (15 - j) << 4);
		want[j] = (float)j * 0.25f - 1.0f;
		want[j + 16] = (float)(15 - j) * 0.25f - 1.0f;
	}
	EXPECT_EQ(0, inpu_ggml_dequant(INPU_GGML_Q4_1, b, 32, got));
	EXPECT_SAME(want, got, 32);
	EXPECT_EQ(-1.0f, got[0]);
	EXPECT_EQ(2.75f, got[16]);
}

/*
 * The 5-bit quants of a Q5 block from the definition: element e is the
 * nibble of byte e % 16 (low for e < 16) with bit e of the little-endian
 * 32-bit high mask on top.
 */
static int q5_quant(const uint8_t qh[4], const uint8_t qs[16], int e)
{
	int nib = e < 16 ? qs[e] & 0xf : qs[e - 16] >> 4;

	return nib | ((qh[e / 8] >> (e % 8)) & 1) << 4;
}

/* Q5_0: hand-set high bits on elements 0 and 31, then random blocks. */
TEST(q5_0_block)
{
	uint64_t rs = 0x5eed0005;
	uint8_t b[22] = { 0 };
	float want[32], got[32];

	put16(b, H_HALF);
	b[2] = 0x01;		/* fifth bit of element 0 */
	b[5] = 0x80;		/* fifth bit of element 31 */
	b[6] = 0xf3;		/* element 0: low 3, element 16: high 15 */
	b[21] = 0xa0;		/* element 15: low 0, element 31: high 10 */
	EXPECT_EQ(0, inpu_ggml_dequant(INPU_GGML_Q5_0, b, 32, got));
	EXPECT_EQ((19 - 16) * 0.5f, got[0]);
	EXPECT_EQ((15 - 16) * 0.5f, got[16]);
	EXPECT_EQ((0 - 16) * 0.5f, got[15]);
	EXPECT_EQ((26 - 16) * 0.5f, got[31]);
	EXPECT_EQ(-8.0f, got[1]);

	for (int it = 0; it < 50; it++) {
		for (int i = 2; i < 22; i++)
			b[i] = (uint8_t)rnd(&rs);
		for (int e = 0; e < 32; e++)
			want[e] = (float)(q5_quant(b + 2, b + 6, e) - 16) * 0.5f;
		EXPECT_EQ(0, inpu_ggml_dequant(INPU_GGML_Q5_0, b, 32, got));
		EXPECT_SAME(want, got, 32);
	}
}

/* Q5_1: d = 0.25, m = -3; x = q * d + m. */
TEST(q5_1_block)
{
	uint64_t rs = 0x5eed0051;
	uint8_t b[24] = { 0 };
	float want[32], got[32];

	put16(b, H_QUARTER);
	put16(b + 2, H_MINUS_3);
	b[7] = 0x40;		/* fifth bit of element 30 */
	b[23] = 0x9f;		/* element 15: 15, element 31: 9 */
	EXPECT_EQ(0, inpu_ggml_dequant(INPU_GGML_Q5_1, b, 32, got));
	EXPECT_EQ(-3.0f, got[0]);
	EXPECT_EQ(16 * 0.25f - 3.0f, got[30]);
	EXPECT_EQ(15 * 0.25f - 3.0f, got[15]);
	EXPECT_EQ(9 * 0.25f - 3.0f, got[31]);

	for (int it = 0; it < 50; it++) {
		for (int i = 4; i < 24; i++)
			b[i] = (uint8_t)rnd(&rs);
		for (int e = 0; e < 32; e++)
			want[e] = (float)q5_quant(b + 4, b + 8, e) * 0.25f - 3.0f;
		EXPECT_EQ(0, inpu_ggml_dequant(INPU_GGML_Q5_1, b, 32, got));
		EXPECT_SAME(want, got, 32);
	}
}

/*
 * Q4_K by hand.  d = dmin = 1.  Scale bytes 0-3 = 0xc1: scale 1 for
 * sub-blocks 0-3, top bits 3 for the scales of 4-7; bytes 4-7 = 0x42: min
 * 2 for 0-3, top bits 1 for the mins of 4-7; bytes 8-11 = 0x5a: low bits
 * 10 (scales) and 5 (mins) of 4-7.  So sub-blocks 4-7 have scale
 * 10 + 3 * 16 = 58 and min 5 + 1 * 16 = 21.  Every quant byte is 0x31:
 * even sub-blocks read the low nibble 1, odd ones the high nibble 3.
 */
TEST(q4_k_hand_block)
{
	uint8_t b[144];
	float got[256];

	put16(b, H_ONE);
	put16(b + 2, H_ONE);
	memset(b + 4, 0xc1, 4);
	memset(b + 8, 0x42, 4);
	memset(b + 12, 0x5a, 4);
	memset(b + 16, 0x31, 128);
	b[16 + 32 + 5] = 0xf0;	/* sub-block 2 element 5 = 0, 3/5 = 15 */
	EXPECT_EQ(0, inpu_ggml_dequant(INPU_GGML_Q4_K, b, 256, got));
	for (int e = 0; e < 256; e++) {
		static const float sub[8] = { 1 - 2, 3 - 2, 1 - 2, 3 - 2,
			58 - 21, 174 - 21, 58 - 21, 174 - 21 };
		float want = sub[e / 32];

		if (e == 2 * 32 + 5)
			want = 0 - 2;
		if (e == 3 * 32 + 5)
			want = 15 - 2;
		EXPECT_EQ(want, got[e]) { TH_LOG("element %d", e); }
	}
}

/* Inverse of the 12-byte packing of 6-bit scales and mins. */
static void pack_k_scales(const uint8_t sc[8], const uint8_t mn[8],
			  uint8_t s[12])
{
	for (int j = 0; j < 4; j++) {
		s[j] = (uint8_t)(sc[j] | (sc[j + 4] >> 4) << 6);
		s[j + 4] = (uint8_t)(mn[j] | (mn[j + 4] >> 4) << 6);
		s[j + 8] = (uint8_t)((sc[j + 4] & 0xf) | (mn[j + 4] & 0xf) << 4);
	}
}

/*
 * A random Q4_K (@qh NULL) or Q5_K block: d = 1/16, dmin = 1/8; element
 * e lies in sub-block e / 32 at position l = e % 32, its low 4 bits in
 * the low (even sub-block) or high (odd) nibble of quant byte
 * 32 * (sub / 2) + l, its fifth bit in bit sub of qh[l].
 */
static void make_k_block(uint64_t *rs, uint8_t *b, uint8_t *qh,
			 uint8_t *qs, float want[256])
{
	uint8_t sc[8], mn[8];

	put16(b, H_16TH);
	put16(b + 2, H_EIGHTH);
	for (int s = 0; s < 8; s++) {
		sc[s] = (uint8_t)(rnd(rs) & 0x3f);
		mn[s] = (uint8_t)(rnd(rs) & 0x3f);
	}
	pack_k_scales(sc, mn, b + 4);
	memset(qs, 0, 128);
	if (qh)
		memset(qh, 0, 32);
	for (int e = 0; e < 256; e++) {
		int sub = e / 32, l = e % 32, q = (int)(rnd(rs) & (qh ? 31 : 15));

		qs[32 * (sub / 2) + l] |= (uint8_t)((q & 0xf) << (4 * (sub & 1)));
		if (qh)
			qh[l] |= (uint8_t)((q >> 4) << sub);
		want[e] = (float)(sc[sub] * q) / 16 - (float)mn[sub] / 8;
	}
}

TEST(q4_k_q5_k_random)
{
	uint64_t rs = 0x5eed004b;
	uint8_t b4[144], b5[176];
	float want[256], got[256];

	for (int it = 0; it < 50; it++) {
		make_k_block(&rs, b4, NULL, b4 + 16, want);
		EXPECT_EQ(0, inpu_ggml_dequant(INPU_GGML_Q4_K, b4, 256, got));
		EXPECT_SAME(want, got, 256);

		make_k_block(&rs, b5, b5 + 16, b5 + 48, want);
		EXPECT_EQ(0, inpu_ggml_dequant(INPU_GGML_Q5_K, b5, 256, got));
		EXPECT_SAME(want, got, 256);
	}
}

/*
 * Q6_K by hand, d = 1.  In the first half, element 32k + l takes the
 * low (k < 2) or high (k >= 2) nibble of ql[l + 32 * (k % 2)], bits
 * 2k..2k+1 of qh[l] and scale (32k + l) / 16; the second half does the
 * same from ql[64], qh[32], scales[8].  x = d * scale * (q - 32).
 */
TEST(q6_k_hand_block)
{
	uint8_t b[210] = { 0 };
	int8_t *sc = (int8_t *)(b + 192);
	float got[256];

	put16(b + 208, H_ONE);
	b[0] = 0x21;		/* element 0 low 1, element 64 low 2 */
	b[32] = 0x43;		/* element 32 low 3, element 96 low 4 */
	b[128] = 0xe4;		/* high bits: 0, 1, 2, 3 for k = 0..3 */
	sc[0] = -1;
	sc[1] = 5;		/* elements 16-31 */
	sc[2] = 2;
	sc[4] = -3;
	sc[6] = 4;
	b[64] = 0x0f;		/* element 128 low 15 */
	b[160] = 0x03;		/* element 128 high 3 */
	sc[8] = 7;
	sc[15] = -128;		/* elements 240-255, all q = 0 */
	EXPECT_EQ(0, inpu_ggml_dequant(INPU_GGML_Q6_K, b, 256, got));
	EXPECT_EQ(-1.0f * (1 - 32), got[0]);
	EXPECT_EQ(5.0f * -32, got[16]);
	EXPECT_EQ(2.0f * (3 + 16 - 32), got[32]);
	EXPECT_EQ(-3.0f * (2 + 32 - 32), got[64]);
	EXPECT_EQ(4.0f * (4 + 48 - 32), got[96]);
	EXPECT_EQ(7.0f * (15 + 48 - 32), got[128]);
	EXPECT_EQ(4096.0f, got[255]);
	EXPECT_EQ(-0.0f, got[48]);	/* scale 0 */
}

/*
 * Random Q6_K blocks, d = 1/32, built element by element: element e sits
 * in half h = e / 128 at k = e % 128 / 32, l = e % 32 as in the hand
 * test, and uses scale e / 16.
 */
TEST(q6_k_random)
{
	uint64_t rs = 0x5eed006b;
	uint8_t b[210];
	float want[256], got[256];

	for (int it = 0; it < 50; it++) {
		memset(b, 0, sizeof(b));
		put16(b + 208, H_32ND);
		for (int i = 0; i < 16; i++)
			b[192 + i] = (uint8_t)rnd(&rs);
		for (int e = 0; e < 256; e++) {
			int h = e / 128, k = e % 128 / 32, l = e % 32;
			int q = (int)(rnd(&rs) & 63);
			int8_t s = (int8_t)b[192 + e / 16];

			b[64 * h + 32 * (k % 2) + l] |=
				(uint8_t)((q & 0xf) << (4 * (k / 2)));
			b[128 + 32 * h + l] |= (uint8_t)((q >> 4) << (2 * k));
			/* Float ops as in x = d * scale * q for the sign of 0. */
			want[e] = 0x1p-5f * (float)s * (float)(q - 32);
		}
		EXPECT_EQ(0, inpu_ggml_dequant(INPU_GGML_Q6_K, b, 256, got));
		EXPECT_SAME(want, got, 256);
	}
}

/* Several blocks at an odd address decode as each block alone. */
TEST(rows_of_blocks_unaligned)
{
	static const uint32_t types[] = { INPU_GGML_F32, INPU_GGML_F16,
		INPU_GGML_BF16, INPU_GGML_Q8_0, INPU_GGML_Q4_0,
		INPU_GGML_Q4_1, INPU_GGML_Q5_0, INPU_GGML_Q5_1,
		INPU_GGML_Q4_K, INPU_GGML_Q5_K, INPU_GGML_Q6_K };
	uint64_t rs = 0x5eed0a11;
	uint8_t *buf = malloc(3 * 256 + 1);
	float *row = malloc(3 * 256 * sizeof(float)), one[256];

	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, row);
	for (size_t t = 0; t < ARRAY_SIZE(types); t++) {
		uint32_t el, by;

		ASSERT_EQ(1, inpu_ggml_block(types[t], &el, &by));
		/* Small exponents: random bytes but finite scales/values. */
		for (uint32_t i = 0; i < 3 * by + 1; i++)
			buf[i] = (uint8_t)(rnd(&rs) & 0x3f);
		EXPECT_EQ(0, inpu_ggml_dequant(types[t], buf + 1, 3 * el, row));
		for (int k = 0; k < 3; k++) {
			EXPECT_EQ(0, inpu_ggml_dequant(types[t], buf + 1 + k * by,
						       el, one));
			EXPECT_SAME(one, row + k * el, el);
		}
	}
	free(row);
	free(buf);
}

TEST(unsupported_types)
{
	static const uint32_t ids[] = { INPU_GGML_Q8_1, INPU_GGML_Q2_K,
		INPU_GGML_Q3_K, INPU_GGML_Q8_K, 4, 5, 16, 20, 23, 24, 28, 29,
		31, 34, 35, 39, 1000, UINT32_MAX };
	uint8_t src[512] = { 0 };
	float dst[256];

	for (size_t i = 0; i < ARRAY_SIZE(ids); i++) {
		uint32_t e = 77, b = 77;

		dst[0] = 42.0f;
		EXPECT_EQ(-ENOTSUP, inpu_ggml_dequant(ids[i], src, 256, dst));
		EXPECT_EQ(-ENOTSUP, inpu_ggml_dequant(ids[i], src, 7, dst));
		EXPECT_EQ(42.0f, dst[0]);
		EXPECT_EQ(0, inpu_ggml_block(ids[i], &e, &b));
		EXPECT_EQ(77, e);
		EXPECT_EQ(77, b);
		EXPECT_EQ(0, inpu_ggml_row_bytes(ids[i], 256));
	}
}

TEST(length_not_multiple)
{
	uint8_t src[512] = { 0 };
	float dst[256];

	dst[0] = 42.0f;
	EXPECT_EQ(-EINVAL, inpu_ggml_dequant(INPU_GGML_Q4_0, src, 31, dst));
	EXPECT_EQ(-EINVAL, inpu_ggml_dequant(INPU_GGML_Q8_0, src, 33, dst));
	EXPECT_EQ(-EINVAL, inpu_ggml_dequant(INPU_GGML_Q4_K, src, 32, dst));
	EXPECT_EQ(-EINVAL, inpu_ggml_dequant(INPU_GGML_Q6_K, src, 255, dst));
	EXPECT_EQ(42.0f, dst[0]);
	/* Nothing to do is fine, whatever the pointers. */
	EXPECT_EQ(0, inpu_ggml_dequant(INPU_GGML_Q4_K, NULL, 0, NULL));
	EXPECT_EQ(0, inpu_ggml_dequant(INPU_GGML_F32, src, 1, dst));
}

/* Every half scale of every quantized type, set to NaN, +Inf or -Inf. */
TEST(non_finite_scales)
{
	static const struct { uint32_t id; int n, bytes, off[2]; } ty[] = {
		{ INPU_GGML_Q8_0, 32, 34, { 0, -1 } },
		{ INPU_GGML_Q4_0, 32, 18, { 0, -1 } },
		{ INPU_GGML_Q4_1, 32, 20, { 0, 2 } },
		{ INPU_GGML_Q5_0, 32, 22, { 0, -1 } },
		{ INPU_GGML_Q5_1, 32, 24, { 0, 2 } },
		{ INPU_GGML_Q4_K, 256, 144, { 0, 2 } },
		{ INPU_GGML_Q5_K, 256, 176, { 0, 2 } },
		{ INPU_GGML_Q6_K, 256, 210, { 208, -1 } },
	};
	static const uint16_t bad[] = { 0x7e00, 0x7c01, 0x7c00, 0xfc00 };
	uint8_t b[2 * 210];
	float dst[512];

	for (size_t t = 0; t < ARRAY_SIZE(ty); t++) {
		for (int s = 0; s < 2 && ty[t].off[s] >= 0; s++) {
			for (size_t k = 0; k < ARRAY_SIZE(bad); k++) {
				memset(b, 0x11, sizeof(b));
				EXPECT_EQ(0, inpu_ggml_dequant(ty[t].id, b,
							       2 * ty[t].n, dst));
				/* Second block bad: the first is still decoded. */
				put16(b + ty[t].bytes + ty[t].off[s], bad[k]);
				dst[0] = 42.0f;
				EXPECT_EQ(-EINVAL, inpu_ggml_dequant(ty[t].id, b,
							2 * ty[t].n, dst)) {
					TH_LOG("type %u scale %d bits %04x",
					       ty[t].id, s, bad[k]);
				}
				EXPECT_NE(42.0f, dst[0]);
			}
		}
	}
}

TEST(non_finite_values)
{
	const float f32[] = { 1.0f, NAN, INFINITY, -INFINITY };
	static const uint16_t f16[] = { 0x3c00, 0x7c00, 0xfc00, 0x7e00 };
	static const uint16_t bf16[] = { 0x3f80, 0x7f80, 0xff80, 0x7fc0 };
	uint8_t b[2];
	float dst, row[4];

	EXPECT_EQ(0, inpu_ggml_dequant(INPU_GGML_F32, &f32[0], 1, &dst));
	for (int i = 1; i < 4; i++) {
		EXPECT_EQ(-EINVAL,
			  inpu_ggml_dequant(INPU_GGML_F32, &f32[i], 1, &dst));
		/* A bad value after good ones fails the whole row. */
		EXPECT_EQ(-EINVAL, inpu_ggml_dequant(INPU_GGML_F32, f32,
						     (uint64_t)i + 1, row));
	}
	for (int i = 0; i < 4; i++) {
		put16(b, f16[i]);
		EXPECT_EQ(i ? -EINVAL : 0,
			  inpu_ggml_dequant(INPU_GGML_F16, b, 1, &dst));
		put16(b, bf16[i]);
		EXPECT_EQ(i ? -EINVAL : 0,
			  inpu_ggml_dequant(INPU_GGML_BF16, b, 1, &dst));
	}
}

TEST_HARNESS_MAIN
