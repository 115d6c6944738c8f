/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the files of libinpu_model; not part of its API.
 */
#ifndef INPU_MODEL_INTERNAL_H
#define INPU_MODEL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the llama2.c formats are little-endian and read as host order"
#endif

/*
 * Dot product with eight partial sums, so that the compiler can vectorize
 * it (it may not reorder one sum); the same bits on every x86-64.
 */
static inline float inpu_dot8(const float *a, const float *b, int n)
{
	float acc[8] = { 0 }, sum;
	int i = 0;

	for (; i + 8 <= n; i += 8)
		for (int k = 0; k < 8; k++)
			acc[k] += a[i + k] * b[i + k];
	sum = ((acc[0] + acc[4]) + (acc[1] + acc[5])) +
	      ((acc[2] + acc[6]) + (acc[3] + acc[7]));
	for (; i < n; i++)
		sum += a[i] * b[i];
	return sum;
}

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

/* *r = a * b; returns nonzero on overflow. */
static inline int inpu_mul_ovf(uint64_t a, uint64_t b, uint64_t *r)
{
	return __builtin_mul_overflow(a, b, r);
}

static inline int inpu_add_ovf(uint64_t a, uint64_t b, uint64_t *r)
{
	return __builtin_add_overflow(a, b, r);
}

#endif /* INPU_MODEL_INTERNAL_H */
