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

/*
 * @real > 0 as mult / 2^shift with mult in [2^(bits-1), 2^bits) when the
 * shift allows: real = f * 2^e with f in [0.5, 1), mult = f * 2^bits,
 * shift = bits - e; below 2^-62 relative the pair has fewer bits.
 */
static int pair_bits(double real, int bits, int32_t *mult, int32_t *shift)
{
	double f;
	long long mt;
	int e;

	f = frexp(real, &e);
	*shift = bits - e;
	if (*shift > 62) {
		mt = llround(ldexp(real, 62));
		if (mt <= 0)
			return -ERANGE;
		*mult = (int32_t)mt;
		*shift = 62;
		return 0;
	}
	mt = llround(ldexp(f, bits));
	if (mt >= (1LL << bits)) {	/* rounded up to 2^bits */
		mt >>= 1;
		(*shift)--;
	}
	if (*shift < 0)
		return -ERANGE;
	*mult = (int32_t)mt;
	return 0;
}

int inpu_requant_pair(double real, int pow2, int32_t *mult, int32_t *shift)
{
	int e;

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
	return pair_bits(real, 31, mult, shift);
}

int inpu_requant_pair16(double real, int32_t *mult, int32_t *shift)
{
	*mult = 0;
	*shift = 0;
	if (!(real > 0.0) || !isfinite(real))
		return -ERANGE;
	return pair_bits(real, 16, mult, shift);
}
