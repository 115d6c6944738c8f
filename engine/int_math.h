/* SPDX-License-Identifier: MIT */
/*
 * The integer primitives every op is defined with (engine/ISA.md,
 * "Arithmetic").  Wrapping arithmetic goes through unsigned types so it is
 * defined C, and the SIMD kernels wrap the same way.
 */
#ifndef INPU_INT_MATH_H
#define INPU_INT_MATH_H

#include <stdint.h>

/* Two's complement wrapping operations on 64 bits. */
static inline int64_t wadd64(int64_t a, int64_t b)
{
	return (int64_t)((uint64_t)a + (uint64_t)b);
}

static inline int64_t wmul64(int64_t a, int64_t b)
{
	return (int64_t)((uint64_t)a * (uint64_t)b);
}

static inline int32_t wadd32(int32_t a, int32_t b)
{
	return (int32_t)((uint32_t)a + (uint32_t)b);
}

/*
 * Round-half-up right shift: floor((v + 2^(s-1)) / 2^s) for s in 1..62,
 * v for s == 0.  Ties go toward +infinity (2.5 -> 3, -2.5 -> -2).
 */
static inline int64_t rshift_round(int64_t v, int s)
{
	if (s <= 0)
		return v;
	return wadd64(v, (int64_t)1 << (s - 1)) >> s;
}

/* Requantize: rshift_round(x * mult, shift), 64-bit wrapping product. */
static inline int64_t requant(int64_t x, int32_t mult, int shift)
{
	return rshift_round(wmul64(x, mult), shift);
}

/* Shifts that come from memory (qparams) are clamped into 0..62. */
static inline int clamp_shift(int32_t s)
{
	return s < 0 ? 0 : s > 62 ? 62 : s;
}

static inline int64_t clamp64(int64_t v, int64_t lo, int64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

static inline int8_t sat8(int64_t v)
{
	return (int8_t)clamp64(v, INT8_MIN, INT8_MAX);
}

static inline int16_t sat16(int64_t v)
{
	return (int16_t)clamp64(v, INT16_MIN, INT16_MAX);
}

static inline int32_t sat32(int64_t v)
{
	return (int32_t)clamp64(v, INT32_MIN, INT32_MAX);
}

/* floor(sqrt(v)), exact for every uint64_t. */
static inline uint64_t isqrt64(uint64_t v)
{
	uint64_t r = 0, bit = (uint64_t)1 << 62;

	while (bit > v)
		bit >>= 2;
	while (bit) {
		if (v >= r + bit) {
			v -= r + bit;
			r = (r >> 1) + bit;
		} else {
			r >>= 1;
		}
		bit >>= 2;
	}
	return r;
}

#endif /* INPU_INT_MATH_H */
