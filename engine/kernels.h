/* SPDX-License-Identifier: MIT */
/*
 * Compute kernels chosen at run time from CPU features.
 *
 * Matmul block kernels: one block of 64 output channels over all its
 * weight tiles, for m_rows activation rows.  Every implementation must be
 * bit-exact with the scalar one (matmul_scalar.c), which is the
 * definition.
 *
 *  tiles:  n_tiles pointers to the 4096-byte tiles of the block, in k order
 *  x:      m_rows rows of int8 activations, row r at x + r * x_stride,
 *          zero-padded to n_tiles * tile_k inputs
 *  group:  W4 only: inputs per group, 32 or 16 (128 / group groups a tile)
 *  gr:     W4 only: the block's group constants (struct inpu_w4_groups)
 *  acc:    out: [m_rows][64] int32 sums, wrapping modulo 2^32
 */
#ifndef INPU_KERNELS_H
#define INPU_KERNELS_H

#include <stdint.h>

#include <inpu/inpu_isa.h>

typedef void (*inpu_w8_block_fn)(const uint8_t *const *tiles,
				 uint32_t n_tiles, const int8_t *x,
				 uint32_t m_rows, uint32_t x_stride,
				 int32_t *acc);

/*
 * The group constants of one W4 block: n_tiles * 128 / group rows of 64
 * channels in k order, each through its own pointer, so that the kernel
 * reads them where they are (one page of device memory holds whole rows,
 * consecutive rows are a tensor row apart).  The weight of channel n in
 * group g is (q - z) * s, with
 *  codes:  INPU_W4_GFMT_CODES: byte b = rows[g][n],
 *          s = inpu_w4_gs_level(b & 15), z = (b >> 4) - 8; zero unused
 *  else:   s = rows[g][n], z = zero ? zero[g][n] : 0
 */
struct inpu_w4_groups {
	const uint8_t *const *rows;
	const int8_t *const *zero;
	int codes;
};

/* Which of the three ways a kernel reads @gr's rows. */
enum inpu_w4_fmt { INPU_W4_SCALES, INPU_W4_SCALES_ZERO, INPU_W4_CODES };

static inline enum inpu_w4_fmt inpu_w4_fmt(const struct inpu_w4_groups *gr)
{
	return gr->codes ? INPU_W4_CODES :
	       gr->zero ? INPU_W4_SCALES_ZERO : INPU_W4_SCALES;
}

typedef void (*inpu_w4_block_fn)(const uint8_t *const *tiles,
				 uint32_t n_tiles, uint32_t group,
				 const struct inpu_w4_groups *gr,
				 const int8_t *x, uint32_t m_rows,
				 uint32_t x_stride, int32_t *acc);

/*
 * The attention's vector products (ATTENTION in engine/ISA.md) over a
 * block of @rows cache rows, row j at @k + j * @stride elements; every
 * sum wraps modulo 2^32.  dot: out[j] = sum_i q[i] * k_j[i] (8- or
 * 16-bit keys); axpy: acc[i] += sum_j p[j] * v_j[i].  One call per block
 * rather than per row: the rows of a head are short (8 to 128 values),
 * and the query, the accumulators and the call stay put across them.
 */
typedef void (*inpu_dot_i8_fn)(const int8_t *q, const int8_t *k,
			       size_t stride, uint32_t rows, uint32_t n,
			       int32_t *out);
typedef void (*inpu_dot_i8_i16_fn)(const int8_t *q, const int16_t *k,
				   size_t stride, uint32_t rows, uint32_t n,
				   int32_t *out);
typedef void (*inpu_axpy_i8_fn)(int32_t *acc, const int32_t *p,
				const int8_t *v, size_t stride, uint32_t rows,
				uint32_t n);
/*
 * Values to an op's output type: raw[i] = sat(v[i]) for @dtype INT8,
 * INT16 or INT32 (saturating, int_math.h), raw elements packed.
 */
typedef void (*inpu_saturate_fn)(const int64_t *v, uint64_t n, uint8_t dtype,
				 uint8_t *raw);

/*
 * MATMUL's output values for @n channels of one row (ISA.md 3.1):
 * v[i] = requant(a_i, qp[i].mult, clamp_shift(qp[i].shift)) with
 * a_i = acc[i] + bias[i] in int32 (wrapping), or with a row scale
 * (@xscaled) a_i = acc[i] * xscale + bias[i] in int64; @bias may be NULL.
 */
typedef void (*inpu_mm_requant_fn)(const int32_t *acc, uint32_t n,
				   int xscaled, int32_t xscale,
				   const int32_t *bias,
				   const struct inpu_qparam *qp, int64_t *v);

struct inpu_kernels {
	inpu_w8_block_fn w8_block;
	inpu_w4_block_fn w4_block;
	inpu_dot_i8_fn dot_i8;
	inpu_dot_i8_i16_fn dot_i8_i16;
	inpu_axpy_i8_fn axpy_i8;
	inpu_saturate_fn saturate;
	inpu_mm_requant_fn mm_requant;
};

void inpu_w8_block_scalar(const uint8_t *const *tiles, uint32_t n_tiles,
			  const int8_t *x, uint32_t m_rows, uint32_t x_stride,
			  int32_t *acc);
void inpu_w4_block_scalar(const uint8_t *const *tiles, uint32_t n_tiles,
			  uint32_t group, const struct inpu_w4_groups *gr,
			  const int8_t *x, uint32_t m_rows, uint32_t x_stride,
			  int32_t *acc);
void inpu_dot_i8_scalar(const int8_t *q, const int8_t *k, size_t stride,
			uint32_t rows, uint32_t n, int32_t *out);
void inpu_dot_i8_i16_scalar(const int8_t *q, const int16_t *k, size_t stride,
			    uint32_t rows, uint32_t n, int32_t *out);
void inpu_axpy_i8_scalar(int32_t *acc, const int32_t *p, const int8_t *v,
			 size_t stride, uint32_t rows, uint32_t n);
void inpu_saturate_scalar(const int64_t *v, uint64_t n, uint8_t dtype,
			  uint8_t *raw);
void inpu_mm_requant_scalar(const int32_t *acc, uint32_t n, int xscaled,
			    int32_t xscale, const int32_t *bias,
			    const struct inpu_qparam *qp, int64_t *v);

/*
 * SIMD kernel sets (matmul_avx2.c, matmul_avx512.c).  Each file is built
 * with its own target flags; inpu_have_*() say whether this build has them.
 * inpu_kernels_*() overwrite the entries they provide.
 */
int inpu_have_avx2_kernels(void);
int inpu_have_avx512_kernels(void);
void inpu_kernels_avx2(struct inpu_kernels *k);
void inpu_kernels_avx512(struct inpu_kernels *k);

/* Fill @k with the kernels of @level (which the CPU must support). */
void inpu_kernels_select(int level, struct inpu_kernels *k);

#endif /* INPU_KERNELS_H */
