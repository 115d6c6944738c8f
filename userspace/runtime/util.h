/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the runtime, reference and quantizer libraries; not
 * part of their API.
 */
#ifndef INPU_RT_UTIL_H
#define INPU_RT_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the llama2.c formats are little-endian and read as host order"
#endif

/* snprintf into @err if it is not NULL. */
void inpu_model_seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static inline int32_t inpu_le_i32(const void *p)
{
	int32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint32_t inpu_le_u32(const void *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline float inpu_le_f32(const void *p)
{
	float v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* @v rounded up to a multiple of @a (> 0). */
static inline uint64_t inpu_align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

/* *r = a * b; returns nonzero on overflow. */
static inline int inpu_mul_ovf(uint64_t a, uint64_t b, uint64_t *r)
{
	return __builtin_mul_overflow(a, b, r);
}

static inline int inpu_add_ovf(uint64_t a, uint64_t b, uint64_t *r)
{
	return __builtin_add_overflow(a, b, r);
}

#endif /* INPU_RT_UTIL_H */
