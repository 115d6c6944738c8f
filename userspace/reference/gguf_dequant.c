// SPDX-License-Identifier: MIT
/*
 * GGUF tensor dequantization (see gguf_dequant.h).  Block layouts follow
 * ggml's definitions (ggml-common.h of llama.cpp); every multi-byte field
 * is little-endian and read byte by byte.  Each product and sum is spelt
 * in the same order as ggml's reference dequantizers, because float
 * arithmetic is not associative and the goal is bit-identical output.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "gguf_dequant.h"

#define QK 32		/* elements of a Q4_0/Q4_1/Q5_0/Q5_1/Q8_0 block */
#define QK_K 256	/* elements of a K-quant super-block */

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static float bits_to_float(uint32_t u)
{
	float f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

/*
 * IEEE half to float, exact for every input.  Done on the bits rather
 * than with _Float16 so that it builds with any C11 compiler and cannot
 * go through an FPU mode that flushes subnormals.
 */
static float half_to_float(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
	uint32_t exp = (h >> 10) & 0x1fu;
	uint32_t man = h & 0x3ffu;

	if (exp == 0x1f)	/* Inf/NaN: keep the payload */
		return bits_to_float(sign | 0x7f800000u | man << 13);
	if (exp != 0)		/* rebias 15 -> 127 */
		return bits_to_float(sign | (exp + 112) << 23 | man << 13);
	if (man == 0)
		return bits_to_float(sign);
	/*
	 * Subnormal half, man * 2^-24: every one is a normal float.  Shift
	 * the leading one up to the implicit bit, one exponent step each.
	 */
	exp = 113;
	while (!(man & 0x400u)) {
		man <<= 1;
		exp--;
	}
	return bits_to_float(sign | exp << 23 | (man & 0x3ffu) << 13);
}

static int half_finite(uint16_t h)
{
	return (h & 0x7c00u) != 0x7c00u;
}

/* Read a half scale at @p into @out; -EINVAL if it is NaN or Inf. */
static int rd_scale(const uint8_t *p, float *out)
{
	uint16_t h = rd16(p);

	*out = half_to_float(h);
	return half_finite(h) ? 0 : -EINVAL;
}

/* Store the float with bits @u; -EINVAL if it is NaN or Inf. */
static int put_finite(uint32_t u, float *y)
{
	*y = bits_to_float(u);
	return (u & 0x7f800000u) != 0x7f800000u ? 0 : -EINVAL;
}

static int deq_f32(const uint8_t *b, float *y)
{
	return put_finite(rd32(b), y);
}

static int deq_f16(const uint8_t *b, float *y)
{
	return rd_scale(b, y);
}

/* bfloat16 is the top half of a float32. */
static int deq_bf16(const uint8_t *b, float *y)
{
	return put_finite((uint32_t)rd16(b) << 16, y);
}

/* Q8_0: half d, 32 x int8; x = q * d. */
static int deq_q8_0(const uint8_t *b, float *y)
{
	float d;
	int rc = rd_scale(b, &d);

	for (int j = 0; j < QK; j++)
		y[j] = (float)(int8_t)b[2 + j] * d;
	return rc;
}

/*
 * Q4_0: half d, 16 bytes.  Byte j holds element j in its low nibble and
 * element j + 16 in its high nibble; x = (q - 8) * d.
 */
static int deq_q4_0(const uint8_t *b, float *y)
{
	const uint8_t *qs = b + 2;
	float d;
	int rc = rd_scale(b, &d);

	for (int j = 0; j < QK / 2; j++) {
		y[j] = (float)((qs[j] & 0xf) - 8) * d;
		y[j + QK / 2] = (float)((qs[j] >> 4) - 8) * d;
	}
	return rc;
}

/* Q4_1: half d, half m, nibbles as Q4_0; x = q * d + m. */
static int deq_q4_1(const uint8_t *b, float *y)
{
	const uint8_t *qs = b + 4;
	float d, m;
	int rc = rd_scale(b, &d) | rd_scale(b + 2, &m);

	for (int j = 0; j < QK / 2; j++) {
		y[j] = (float)(qs[j] & 0xf) * d + m;
		y[j + QK / 2] = (float)(qs[j] >> 4) * d + m;
	}
	return rc ? -EINVAL : 0;
}

/*
 * The 5-bit quants of Q5_0/Q5_1 into @q: nibbles as Q4_0, and bit i of
 * the little-endian 32-bit @qh is the fifth bit of element i.
 */
static void q5_quants(const uint8_t *qh_bytes, const uint8_t *qs, int q[QK])
{
	uint32_t qh = rd32(qh_bytes);

	for (int j = 0; j < QK / 2; j++) {
		q[j] = (qs[j] & 0xf) | (int)((qh >> j) & 1) << 4;
		q[j + QK / 2] = (qs[j] >> 4) |
				(int)((qh >> (j + QK / 2)) & 1) << 4;
	}
}

/* Q5_0: half d, 4 bytes high bits, 16 bytes nibbles; x = (q - 16) * d. */
static int deq_q5_0(const uint8_t *b, float *y)
{
	int q[QK];
	float d;
	int rc = rd_scale(b, &d);

	q5_quants(b + 2, b + 6, q);
	for (int j = 0; j < QK; j++)
		y[j] = (float)(q[j] - 16) * d;
	return rc;
}

/* Q5_1: half d, half m, 4 bytes high bits, nibbles; x = q * d + m. */
static int deq_q5_1(const uint8_t *b, float *y)
{
	int q[QK];
	float d, m;
	int rc = rd_scale(b, &d) | rd_scale(b + 2, &m);

	q5_quants(b + 4, b + 8, q);
	for (int j = 0; j < QK; j++)
		y[j] = (float)q[j] * d + m;
	return rc ? -EINVAL : 0;
}

/*
 * The 6-bit scales and mins of the 8 sub-blocks of Q4_K/Q5_K, packed in
 * 12 bytes: bytes 0-3 hold scales 0-3 in their low 6 bits, bytes 4-7
 * mins 0-3 likewise; sub-blocks 4-7 take their low 4 bits from the
 * nibbles of bytes 8-11 (scale low, min high) and their top 2 bits from
 * the spare top bits of bytes 0-3 (scales) and 4-7 (mins).
 */
static void k4_scales(const uint8_t s[12], uint8_t sc[8], uint8_t mn[8])
{
	for (int j = 0; j < 4; j++) {
		sc[j] = s[j] & 0x3f;
		mn[j] = s[j + 4] & 0x3f;
		sc[j + 4] = (uint8_t)((s[j + 8] & 0xf) | (s[j] >> 6) << 4);
		mn[j + 4] = (uint8_t)((s[j + 8] >> 4) | (s[j + 4] >> 6) << 4);
	}
}

/*
 * Q4_K and Q5_K: half d, half dmin, 12 bytes of scales, [Q5_K: 32 bytes
 * high bits], 128 bytes of nibbles.  Sub-block s (32 elements) sits in
 * nibble bytes 32 * (s / 2) .. +31, low nibbles for even s, high for odd;
 * with Q5_K, bit s of high-bit byte l is the fifth bit of element l of
 * sub-block s.  x = (d * sc[s]) * q - dmin * mn[s].  @qh is NULL for Q4_K.
 */
static int deq_k4(const uint8_t *b, const uint8_t *qh, const uint8_t *qs,
		  float *y)
{
	uint8_t sc[8], mn[8];
	float d, dmin;
	int rc = rd_scale(b, &d) | rd_scale(b + 2, &dmin);

	k4_scales(b + 4, sc, mn);
	for (int s = 0; s < 8; s++) {
		const uint8_t *q = qs + 32 * (s / 2);
		int shift = (s & 1) * 4;
		float ds = d * sc[s], ms = dmin * mn[s];

		for (int l = 0; l < 32; l++) {
			int v = (q[l] >> shift) & 0xf;

			if (qh)
				v += ((qh[l] >> s) & 1) << 4;
			y[32 * s + l] = ds * (float)v - ms;
		}
	}
	return rc ? -EINVAL : 0;
}

static int deq_q4_k(const uint8_t *b, float *y)
{
	return deq_k4(b, NULL, b + 16, y);
}

static int deq_q5_k(const uint8_t *b, float *y)
{
	return deq_k4(b, b + 16, b + 48, y);
}

/*
 * 32 elements of Q6_K: low 4 bits from ql[l] >> @lshift, high 2 bits
 * from qh[l] >> @hshift, scale sc[l / 16].
 */
static void q6_group(const uint8_t *ql, int lshift, const uint8_t *qh,
		     int hshift, float d, const int8_t *sc, float *y)
{
	for (int l = 0; l < 32; l++) {
		int q = ((ql[l] >> lshift) & 0xf) |
			((qh[l] >> hshift) & 3) << 4;

		y[l] = d * (float)sc[l / 16] * (float)(q - 32);
	}
}

/*
 * Q6_K: 128 bytes low nibbles ql, 64 bytes high 2-bit pairs qh, 16 int8
 * scales, half d.  Each half of 128 elements uses 64 ql, 32 qh bytes and
 * 8 scales; within it, element 32 * k + l (k < 4, l < 32) takes the low
 * nibble of ql[l + 32 * (k & 1)] for k < 2 and the high one for k >= 2,
 * bits 2k..2k+1 of qh[l] on top, and scale 2k + l / 16;
 * x = d * sc * (q - 32).
 */
static int deq_q6_k(const uint8_t *b, float *y)
{
	float d;
	int rc = rd_scale(b + 208, &d);

	for (int h = 0; h < 2; h++) {
		const uint8_t *ql = b + 64 * h, *qh = b + 128 + 32 * h;
		const int8_t *sc = (const int8_t *)(b + 192 + 8 * h);

		for (int k = 0; k < 4; k++)
			q6_group(ql + 32 * (k & 1), 4 * (k >> 1), qh, 2 * k,
				 d, sc + 2 * k, y + 128 * h + 32 * k);
	}
	return rc;
}

struct dq_type {
	uint32_t id;
	uint32_t elems, bytes;
	int (*block)(const uint8_t *b, float *y);	/* 0 or -EINVAL */
};

static const struct dq_type dq_types[] = {
	{ INPU_GGML_F32, 1, 4, deq_f32 },
	{ INPU_GGML_F16, 1, 2, deq_f16 },
	{ INPU_GGML_BF16, 1, 2, deq_bf16 },
	{ INPU_GGML_Q4_0, QK, 2 + QK / 2, deq_q4_0 },
	{ INPU_GGML_Q4_1, QK, 4 + QK / 2, deq_q4_1 },
	{ INPU_GGML_Q5_0, QK, 6 + QK / 2, deq_q5_0 },
	{ INPU_GGML_Q5_1, QK, 8 + QK / 2, deq_q5_1 },
	{ INPU_GGML_Q8_0, QK, 2 + QK, deq_q8_0 },
	{ INPU_GGML_Q4_K, QK_K, 4 + 12 + QK_K / 2, deq_q4_k },
	{ INPU_GGML_Q5_K, QK_K, 4 + 12 + QK_K / 8 + QK_K / 2, deq_q5_k },
	{ INPU_GGML_Q6_K, QK_K, QK_K / 2 + QK_K / 4 + QK_K / 16 + 2, deq_q6_k },
};

static const struct dq_type *dq_find(uint32_t type)
{
	for (size_t i = 0; i < ARRAY_SIZE(dq_types); i++)
		if (dq_types[i].id == type)
			return &dq_types[i];
	return NULL;
}

/* ggml's type list; the holes are ids ggml has retired. */
static const char *const type_names[] = {
	[0] = "F32", [1] = "F16", [2] = "Q4_0", [3] = "Q4_1",
	[6] = "Q5_0", [7] = "Q5_1", [8] = "Q8_0", [9] = "Q8_1",
	[10] = "Q2_K", [11] = "Q3_K", [12] = "Q4_K", [13] = "Q5_K",
	[14] = "Q6_K", [15] = "Q8_K", [16] = "IQ2_XXS", [17] = "IQ2_XS",
	[18] = "IQ3_XXS", [19] = "IQ1_S", [20] = "IQ4_NL", [21] = "IQ3_S",
	[22] = "IQ2_S", [23] = "IQ4_XS", [24] = "I8", [25] = "I16",
	[26] = "I32", [27] = "I64", [28] = "F64", [29] = "IQ1_M",
	[30] = "BF16", [34] = "TQ1_0", [35] = "TQ2_0",
};

const char *inpu_ggml_type_name(uint32_t type)
{
	if (type >= ARRAY_SIZE(type_names))
		return NULL;
	return type_names[type];
}

int inpu_ggml_block(uint32_t type, uint32_t *elems, uint32_t *bytes)
{
	const struct dq_type *t = dq_find(type);

	if (!t)
		return 0;
	*elems = t->elems;
	*bytes = t->bytes;
	return 1;
}

uint64_t inpu_ggml_row_bytes(uint32_t type, uint64_t n)
{
	const struct dq_type *t = dq_find(type);
	uint64_t blocks;

	if (!t || n % t->elems)
		return 0;
	blocks = n / t->elems;
	if (blocks > UINT64_MAX / t->bytes)
		return 0;
	return blocks * t->bytes;
}

int inpu_ggml_dequant(uint32_t type, const void *src, uint64_t n, float *dst)
{
	const struct dq_type *t = dq_find(type);
	const uint8_t *b = src;

	if (!t)
		return -ENOTSUP;
	if (n % t->elems)
		return -EINVAL;
	for (uint64_t i = 0; i < n / t->elems; i++) {
		if (t->block(b, dst))
			return -EINVAL;
		b += t->bytes;
		dst += t->elems;
	}
	return 0;
}
