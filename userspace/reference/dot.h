/* SPDX-License-Identifier: MIT */
/*
 * The float dot product and RMSNorm of the reference forward pass, shared
 * with the quantizer's calibration and fine-tuning so that all three sum
 * alike.
 */
#ifndef INPU_REF_DOT_H
#define INPU_REF_DOT_H

#include <math.h>

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

/* run.c's rmsnorm() (whose eps is 1e-5), in this order of operations. */
static inline void inpu_rmsnorm(float *o, const float *x, const float *w, int n,
				float eps)
{
	float ss = 0.0f;

	for (int j = 0; j < n; j++)
		ss += x[j] * x[j];
	ss /= (float)n;
	ss += eps;
	ss = 1.0f / sqrtf(ss);
	for (int j = 0; j < n; j++)
		o[j] = w[j] * (ss * x[j]);
}

#endif /* INPU_REF_DOT_H */
