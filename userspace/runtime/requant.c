// SPDX-License-Identifier: MIT
/*
 * Real rescale factors as dyadic (mult, shift) pairs (requant.h).
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>

#include "requant.h"

double inpu_requant_real(int32_t mult, int32_t shift)
{
	return ldexp((double)mult, -shift);
}

int inpu_requant_pair(double real, int pow2, int32_t *mult, int32_t *shift)
{
	int e;
	double f;
	long long mt;

	*mult = 0;
	*shift = 0;
	if (!(real > 0.0) || !isfinite(real))
		return -ERANGE;
	if (pow2) {
		/* nearest power of two in the log domain */
		e = (int)lround(log2(real));
		if (e >= 31 || e < -62)
			return -ERANGE;
		if (e >= 0) {
			*mult = (int32_t)1 << e;
			*shift = 0;
		} else {
			*mult = 1;
			*shift = -e;
		}
		return 0;
	}
	/* real = f * 2^e with f in [0.5, 1): mult = f * 2^31, shift = 31 - e */
	f = frexp(real, &e);
	*shift = 31 - e;
	if (*shift > 62) {
		mt = llround(ldexp(real, 62));
		if (mt <= 0)
			return -ERANGE;
		*mult = (int32_t)mt;
		*shift = 62;
		return 0;
	}
	if (*shift < 0)
		return -ERANGE;
	mt = llround(ldexp(f, 31));
	if (mt >= (1LL << 31)) {	/* rounded up to 2^31 */
		mt >>= 1;
		(*shift)--;
		if (*shift < 0)
			return -ERANGE;
	}
	*mult = (int32_t)mt;
	return 0;
}

int inpu_requant_pair16(double real, int32_t *mult, int32_t *shift)
{
	int e;
	double f;
	long long mt;

	*mult = 0;
	*shift = 0;
	if (!(real > 0.0) || !isfinite(real))
		return -ERANGE;
	/* real = f * 2^e with f in [0.5, 1): mult = f * 2^16, shift = 16 - e */
	f = frexp(real, &e);
	*shift = 16 - e;
	if (*shift > 62) {
		mt = llround(ldexp(real, 62));
		if (mt <= 0)
			return -ERANGE;
		*mult = (int32_t)mt;
		*shift = 62;
		return 0;
	}
	mt = llround(ldexp(f, 16));
	if (mt >= (1LL << 16)) {	/* rounded up to 2^16 */
		mt >>= 1;
		(*shift)--;
	}
	if (*shift < 0)
		return -ERANGE;
	*mult = (int32_t)mt;
	return 0;
}
