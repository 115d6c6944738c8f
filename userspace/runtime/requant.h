/* SPDX-License-Identifier: MIT */
/*
 * A real rescale factor as the dyadic (mult, shift) pair the ISA's
 * requantization takes.  Floating point, host side: used by the quantizer
 * and to turn a sampling temperature into SAMPLE's immediates.
 */
#ifndef INPU_RT_REQUANT_H
#define INPU_RT_REQUANT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- requantization pairs (quantize.c, float) --------------------------- */

/*
 * The (mult, shift) with mult / 2^shift closest to @real > 0: mult in
 * [2^30, 2^31) when shift allows (relative error <= 2^-31), 0 <= shift
 * <= 62.  With @pow2, mult is a power of two: 1 with a shift, or 2^k with
 * shift 0 for a real >= 1 (@real is rounded to the nearest power of two
 * in the log domain).  -ERANGE if the real is not positive or too large
 * (mult would reach 2^31) or too small (mult would be 0).
 */
int inpu_requant_pair(double real, int pow2, int32_t *mult, int32_t *shift);
/*
 * The same with mult below 2^16 (relative error <= 2^-16): the pairs of a
 * MATMUL whose input is I8ROW, where the product sum x row scale x mult
 * must fit 64 bits (QUANT.md, per-token scales).
 */
int inpu_requant_pair16(double real, int32_t *mult, int32_t *shift);
/* The real value of a pair: mult / 2^shift. */
double inpu_requant_real(int32_t mult, int32_t shift);

#ifdef __cplusplus
}
#endif

#endif /* INPU_RT_REQUANT_H */
