// SPDX-License-Identifier: MIT
/*
 * Portable kernels (the matmul blocks and their requantization, the
 * attention's vector products, saturation): the definition the SIMD
 * kernels match.
 */
#include <stddef.h>

#include "kernels.h"
#include "int_math.h"

void inpu_w8_block_scalar(const uint8_t *const *tiles, uint32_t n_tiles,
			  const int8_t *x, uint32_t m_rows, uint32_t x_stride,
			  int32_t *acc)
{
	uint32_t m, t, kq, n, r;

	for (m = 0; m < m_rows; m++) {
		const int8_t *xr = x + (uint64_t)m * x_stride;
		int32_t *a = acc + (uint64_t)m * 64;

		for (n = 0; n < 64; n++)
			a[n] = 0;
		for (t = 0; t < n_tiles; t++) {
			const uint8_t *tile = tiles[t];
			const int8_t *xt = xr + t * 64;

			for (kq = 0; kq < 16; kq++) {
				for (n = 0; n < 64; n++) {
					const uint8_t *w = tile + kq * 256 + n * 4;
					int32_t s = 0;

					for (r = 0; r < 4; r++)
						s += (w[r] - 128) * xt[kq * 4 + r];
					a[n] = wadd32(a[n], s);
				}
			}
		}
	}
}

/* Channel @n's scale and zero point in group row @g (kernels.h). */
static void w4_group_consts(const struct inpu_w4_groups *gr, uint32_t g,
			    uint32_t n, int32_t *s, int32_t *z)
{
	uint8_t b = gr->rows[g][n];

	if (gr->codes) {
		*s = inpu_w4_gs_level(b & 15);
		*z = (b >> 4) - 8;
	} else {
		*s = b;
		*z = gr->zero ? gr->zero[g][n] : 0;
	}
}

void inpu_w4_block_scalar(const uint8_t *const *tiles, uint32_t n_tiles,
			  uint32_t group, const struct inpu_w4_groups *gr,
			  const int8_t *x, uint32_t m_rows, uint32_t x_stride,
			  int32_t *acc)
{
	uint32_t per_tile = 128 / group, steps = group / 8;
	uint32_t m, t, g, ko, n, j;

	for (m = 0; m < m_rows; m++) {
		const int8_t *xr = x + (uint64_t)m * x_stride;
		int32_t *a = acc + (uint64_t)m * 64;

		for (n = 0; n < 64; n++)
			a[n] = 0;
		for (t = 0; t < n_tiles; t++) {
			const uint8_t *tile = tiles[t];

			/* A group is group / 8 k steps of 8 inputs. */
			for (g = 0; g < per_tile; g++) {
				for (n = 0; n < 64; n++) {
					int32_t scale, z, s = 0;

					w4_group_consts(gr, t * per_tile + g, n,
							&scale, &z);
					for (ko = g * steps; ko < (g + 1) * steps; ko++) {
						const uint8_t *w = tile + ko * 256 + n * 4;
						const int8_t *xk = xr + t * 128 + ko * 8;

						for (j = 0; j < 4; j++) {
							s += ((w[j] & 0xf) - 8 - z) * xk[j];
							s += ((w[j] >> 4) - 8 - z) * xk[4 + j];
						}
					}
					a[n] = wadd32(a[n], (int32_t)((uint32_t)s *
								      (uint32_t)scale));
				}
			}
		}
	}
}

/* Unsigned arithmetic: wrapping modulo 2^32 is defined. */
void inpu_dot_i8_scalar(const int8_t *q, const int8_t *k, size_t stride,
			uint32_t rows, uint32_t n, int32_t *out)
{
	uint32_t j, i;

	for (j = 0; j < rows; j++, k += stride) {
		uint32_t s = 0;

		for (i = 0; i < n; i++)
			s += (uint32_t)(q[i] * k[i]);
		out[j] = (int32_t)s;
	}
}

void inpu_dot_i8_i16_scalar(const int8_t *q, const int16_t *k, size_t stride,
			    uint32_t rows, uint32_t n, int32_t *out)
{
	uint32_t j, i;

	for (j = 0; j < rows; j++, k += stride) {
		uint32_t s = 0;

		for (i = 0; i < n; i++)
			s += (uint32_t)((int32_t)q[i] * k[i]);
		out[j] = (int32_t)s;
	}
}

void inpu_axpy_i8_scalar(int32_t *acc, const int32_t *p, const int8_t *v,
			 size_t stride, uint32_t rows, uint32_t n)
{
	uint32_t j, i;

	for (j = 0; j < rows; j++, v += stride)
		for (i = 0; i < n; i++)
			acc[i] = (int32_t)((uint32_t)acc[i] +
					   (uint32_t)p[j] * (uint32_t)(int32_t)v[i]);
}

/* One loop per type: each is a plain clamp-and-store loop. */
void inpu_saturate_scalar(const int64_t *v, uint64_t n, uint8_t dtype,
			  uint8_t *raw)
{
	uint64_t i;

	if (dtype == INPU_DT_INT8) {
		for (i = 0; i < n; i++)
			((int8_t *)raw)[i] = sat8(v[i]);
	} else if (dtype == INPU_DT_INT16) {
		for (i = 0; i < n; i++)
			((int16_t *)raw)[i] = sat16(v[i]);
	} else {
		for (i = 0; i < n; i++)
			((int32_t *)raw)[i] = sat32(v[i]);
	}
}

void inpu_mm_requant_scalar(const int32_t *acc, uint32_t n, int xscaled,
			    int32_t xscale, const int32_t *bias,
			    const struct inpu_qparam *qp, int64_t *v)
{
	uint32_t i;

	for (i = 0; i < n; i++) {
		int64_t a;

		if (xscaled) {
			a = wmul64(acc[i], xscale);
			if (bias)
				a = wadd64(a, bias[i]);
		} else {
			a = bias ? wadd32(acc[i], bias[i]) : acc[i];
		}
		v[i] = requant(a, qp[i].mult, clamp_shift(qp[i].shift));
	}
}
