// SPDX-License-Identifier: MIT
/*
 * AVX-512 VNNI matmul block kernels, their requantization and
 * saturation, bit-exact with matmul_scalar.c.
 *
 * The tile layouts (layout.c) were made for vpdpbusd: one 32-bit word is
 * four consecutive inputs of one channel, stored unsigned (w + 128, or
 * q + 8 per nibble), and 64 bytes are 16 channels.  So a weight vector is
 * vpdpbusd's unsigned operand as it sits in memory, and four activation
 * bytes broadcast to every lane are its signed operand.
 *
 * Why this is exact: vpdpbusd forms u8 * s8 products (at most 255 * 128,
 * which a 16-bit word holds) and adds them to the 32-bit lane without
 * saturation, so each lane is sum(u * x) mod 2^32.  With u = w + 128,
 * sum(w * x) = sum(u * x) - 128 * sum(x), and mod 2^32 the subtraction
 * can be done once per row at the end: the scalar kernel's wrapping sum
 * is the same residue whatever the order of the additions.
 */
#include <string.h>

#include <immintrin.h>

#include "kernels.h"

#define INLINE static inline __attribute__((always_inline))
/*
 * Loops over rows, channel vectors and phases are unrolled so that the
 * accumulator arrays become registers: -O2 alone keeps them in memory.
 */
#define UNROLL _Pragma("GCC unroll 16")

INLINE int32_t ld32(const void *p)
{
	int32_t v;

	memcpy(&v, p, 4);
	return v;
}

/*
 * acc += vpdpbusd(u, x), in place.  GCC 12 expands the intrinsic into a
 * register copy before and after most vpdpbusd of these loops (it does
 * not coalesce the tied accumulator operand), which doubles the
 * instructions in the hot loop; the asm pins the accumulator.
 */
INLINE __m512i dpbusd(__m512i acc, __m512i u, __m512i x)
{
	__asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(u), "v"(x));
	return acc;
}

/* Four activation bytes in every lane: one vpbroadcastd, shared by 4 vpdpbusd. */
INLINE __m512i bcast4(const int8_t *p)
{
	return _mm512_set1_epi32(ld32(p));
}

/*
 * Each tile is one 4 KiB page and the hardware prefetchers stop at page
 * boundaries, so every new tile would start with cache misses.  While one
 * part of a tile is multiplied, fetch the same part of the next tile, into
 * L2: fetches into L1 hold its few miss buffers, which the loads of the
 * tile being multiplied need (measured: engine/README.md).
 */
INLINE void prefetch_next(const uint8_t *const *tiles, uint32_t t,
			  uint32_t n_tiles, uint32_t off, const int lines)
{
	int i;

	if (t + 1 >= n_tiles)
		return;
	UNROLL
	for (i = 0; i < lines; i++)
		_mm_prefetch((const char *)tiles[t + 1] + off + i * 64,
			     _MM_HINT_T1);
}

/*
 * sum(x[0 .. len)) for len a multiple of 64.  vpsadbw adds unsigned
 * bytes, so add 128 to each (flip bit 7) and take 128 * len off again.
 */
static uint32_t row_sum(const int8_t *x, uint32_t len)
{
	const __m512i flip = _mm512_set1_epi8((char)0x80);
	__m512i s = _mm512_setzero_si512();
	uint32_t i;

	for (i = 0; i < len; i += 64)
		s = _mm512_add_epi64(s, _mm512_sad_epu8(
			_mm512_xor_si512(_mm512_loadu_si512(x + i), flip),
			_mm512_setzero_si512()));
	return (uint32_t)((uint64_t)_mm512_reduce_add_epi64(s) -
			  (uint64_t)len * 128);
}

/*
 * W8, rows r0 .. r0 + R - 1.  All 64 channels x R rows stay in
 * registers over every tile; each weight vector is loaded once and used
 * by R vpdpbusd.  P phases split the k steps over P independent
 * accumulator sets: with few rows, 4 chains per phase would leave
 * vpdpbusd waiting on its own latency instead of its throughput.
 * P * R * 4 <= 16 accumulators, plus the 4 weight vectors, fit in the 32
 * zmm registers.
 */
INLINE void w8_rows(const uint8_t *const *tiles, uint32_t n_tiles,
		    const int8_t *x, uint32_t x_stride, int32_t *acc,
		    const int R, const int P)
{
	__m512i a[4][4][4];
	uint32_t t, kq;
	int p, r, c;

	UNROLL
	for (p = 0; p < P; p++)
		UNROLL
		for (r = 0; r < R; r++)
			UNROLL
			for (c = 0; c < 4; c++)
				a[p][r][c] = _mm512_setzero_si512();

	for (t = 0; t < n_tiles; t++) {
		const uint8_t *tile = tiles[t];
		const int8_t *xt = x + (uint64_t)t * 64;

		for (kq = 0; kq < 16; kq += P) {
			prefetch_next(tiles, t, n_tiles, kq * 256, 4 * P);
			UNROLL
			for (p = 0; p < P; p++) {
				const uint8_t *wq = tile + (kq + p) * 256;
				__m512i w[4];

				UNROLL
				for (c = 0; c < 4; c++)
					w[c] = _mm512_loadu_si512(wq + c * 64);
				UNROLL
				for (r = 0; r < R; r++) {
					__m512i xb = bcast4(xt + (uint64_t)r * x_stride +
							    (kq + p) * 4);

					UNROLL
					for (c = 0; c < 4; c++)
						a[p][r][c] = dpbusd(
							a[p][r][c], w[c], xb);
				}
			}
		}
	}

	UNROLL
	for (r = 0; r < R; r++) {
		const int8_t *xr = x + (uint64_t)r * x_stride;
		__m512i corr = _mm512_set1_epi32(
			(int32_t)(row_sum(xr, n_tiles * 64) * 128u));

		UNROLL
		for (c = 0; c < 4; c++) {
			__m512i s = a[0][r][c];

			UNROLL
			for (p = 1; p < P; p++)
				s = _mm512_add_epi32(s, a[p][r][c]);
			_mm512_storeu_si512(acc + r * 64 + c * 16,
					    _mm512_sub_epi32(s, corr));
		}
	}
}

static void w8_block_avx512(const uint8_t *const *tiles, uint32_t n_tiles,
			    const int8_t *x, uint32_t m_rows,
			    uint32_t x_stride, int32_t *acc)
{
	uint32_t m = 0;

	/* Four rows reuse each weight load four times; the tail goes by 1-3. */
	for (; m + 4 <= m_rows; m += 4)
		w8_rows(tiles, n_tiles, x + (uint64_t)m * x_stride, x_stride,
			acc + m * 64, 4, 1);
	switch (m_rows - m) {
	case 3:
		w8_rows(tiles, n_tiles, x + (uint64_t)m * x_stride, x_stride,
			acc + m * 64, 3, 1);
		break;
	case 2:
		w8_rows(tiles, n_tiles, x + (uint64_t)m * x_stride, x_stride,
			acc + m * 64, 2, 2);
		break;
	case 1:
		w8_rows(tiles, n_tiles, x + (uint64_t)m * x_stride, x_stride,
			acc + m * 64, 1, 4);
		break;
	}
}

/*
 * sum(x) for each group of @group inputs of a W4 tile.  vpsadbw leaves
 * one sum of 8 bytes (flipped to unsigned: x + 128) per qword.
 */
INLINE void group_xsum(const int8_t *xt, int group, int32_t *out)
{
	const __m512i flip = _mm512_set1_epi8((char)0x80);
	uint64_t q[16];
	int g, i, per8 = group / 8;

	_mm512_storeu_si512(q, _mm512_sad_epu8(_mm512_xor_si512(
		_mm512_loadu_si512(xt), flip), _mm512_setzero_si512()));
	_mm512_storeu_si512(q + 8, _mm512_sad_epu8(_mm512_xor_si512(
		_mm512_loadu_si512(xt + 64), flip), _mm512_setzero_si512()));
	for (g = 0; g < 128 / group; g++) {
		int32_t v = 0;

		for (i = 0; i < per8; i++)
			v += (int32_t)q[g * per8 + i];
		out[g] = v - group * 128;
	}
}

/* 16 channels' zero points plus 8 from their group rows, as int32. */
INLINE __m512i group_zz(const uint8_t *row, const int8_t *zero, const int Z)
{
	if (Z == INPU_W4_CODES)
		return _mm512_srli_epi32(_mm512_cvtepu8_epi32(
			_mm_loadu_si128((const __m128i *)row)), 4);
	return _mm512_add_epi32(_mm512_cvtepi8_epi32(_mm_loadu_si128(
		(const __m128i *)zero)), _mm512_set1_epi32(8));
}

/*
 * 16 channels' scales, as int32.  A code's scale is a 16-entry table
 * lookup; vpermd on a zmm looks at the low 4 bits of each index only,
 * so the code byte itself is the index.
 */
INLINE __m512i group_scale(const uint8_t *row, const int Z)
{
	__m512i b = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)row));

	if (Z != INPU_W4_CODES)
		return b;
	return _mm512_permutexvar_epi32(b, _mm512_setr_epi32(
		inpu_w4_gs_level(0), inpu_w4_gs_level(1), inpu_w4_gs_level(2),
		inpu_w4_gs_level(3), inpu_w4_gs_level(4), inpu_w4_gs_level(5),
		inpu_w4_gs_level(6), inpu_w4_gs_level(7), inpu_w4_gs_level(8),
		inpu_w4_gs_level(9), inpu_w4_gs_level(10), inpu_w4_gs_level(11),
		inpu_w4_gs_level(12), inpu_w4_gs_level(13), inpu_w4_gs_level(14),
		inpu_w4_gs_level(15)));
}

/*
 * The start of a group accumulator of 16 channels: the nibbles are
 * stored as q + 8 and the weight is q - z, so each sum(nib * x) is
 * (8 + z) * sum(x) too large (z = 0 without zero points).
 */
INLINE __m512i group_start(int32_t xsum, const uint8_t *row,
			   const int8_t *zero, const int Z)
{
	if (Z == INPU_W4_SCALES)
		return _mm512_set1_epi32(-8 * xsum);
	return _mm512_mullo_epi32(group_zz(row, zero, Z),
				  _mm512_set1_epi32(-xsum));
}

/*
 * W4, rows r0 .. r0 + R - 1 (R <= 2), groups of G inputs (G / 8 k steps).
 * Per group each channel's partial sum gets its own int32 scale, so the
 * partials are separate accumulators that start at -(8 + z) * sum(x) and
 * are folded into the result with vpmulld after the group's k steps.
 *
 * The high nibbles are not shifted down: vpdpbusd on (v & 0xf0) gives
 * exactly 16 times the sum for the nibble values (each product is still
 * at most 240 * 128, a 16-bit word), and that sum is small (|.| < 2^20 for
 * 16 products a lane), so one arithmetic shift per group divides it back
 * exactly, instead of one shift per weight vector.
 *
 * The group partial is at most 32 * 135 * 128 in magnitude, so it is the
 * exact sum the scalar kernel forms; vpmulld keeps the low 32 bits of the
 * product, which is the scalar (uint32_t)s * scale.
 */
INLINE void w4_rows(const uint8_t *const *tiles, uint32_t n_tiles,
		    const struct inpu_w4_groups *gr, const int8_t *x,
		    uint32_t x_stride, int32_t *acc, const int R, const int G,
		    const int Z)
{
	const __m512i lo_mask = _mm512_set1_epi8(0x0f);
	const __m512i hi_mask = _mm512_set1_epi8((char)0xf0);
	const int per_tile = 128 / G, steps = G / 8;
	__m512i a[2][4];
	uint32_t t;
	int r, c, g, ko;

	UNROLL
	for (r = 0; r < R; r++)
		UNROLL
		for (c = 0; c < 4; c++)
			a[r][c] = _mm512_setzero_si512();

	for (t = 0; t < n_tiles; t++) {
		const uint8_t *tile = tiles[t];
		int32_t xsum[2][8];

		UNROLL
		for (r = 0; r < R; r++)
			group_xsum(x + (uint64_t)r * x_stride + (uint64_t)t * 128,
				   G, xsum[r]);

		for (g = 0; g < per_tile; g++) {
			const uint8_t *row = gr->rows[t * per_tile + g];
			const int8_t *zero = Z == INPU_W4_SCALES_ZERO ?
					     gr->zero[t * per_tile + g] : NULL;
			__m512i lo[2][4], hi[2][4];

			UNROLL
			for (r = 0; r < R; r++) {
				UNROLL
				for (c = 0; c < 4; c++) {
					lo[r][c] = group_start(xsum[r][g],
						row + c * 16,
						zero ? zero + c * 16 : NULL, Z);
					hi[r][c] = _mm512_setzero_si512();
				}
			}
			if (!(g * G % 32))
				prefetch_next(tiles, t, n_tiles, g * G * 32, 16);
			UNROLL
			for (ko = g * steps; ko < (g + 1) * steps; ko++) {
				__m512i xl[2], xh[2];

				UNROLL
				for (r = 0; r < R; r++) {
					const int8_t *xk = x + (uint64_t)r * x_stride +
							   (uint64_t)t * 128 + ko * 8;

					xl[r] = bcast4(xk);
					xh[r] = bcast4(xk + 4);
				}
				UNROLL
				for (c = 0; c < 4; c++) {
					__m512i v = _mm512_loadu_si512(tile + ko * 256 +
								       c * 64);
					__m512i vl = _mm512_and_si512(v, lo_mask);
					__m512i vh = _mm512_and_si512(v, hi_mask);

					UNROLL
					for (r = 0; r < R; r++) {
						lo[r][c] = dpbusd(
							lo[r][c], vl, xl[r]);
						hi[r][c] = dpbusd(
							hi[r][c], vh, xh[r]);
					}
				}
			}
			UNROLL
			for (c = 0; c < 4; c++) {
				__m512i s = group_scale(row + c * 16, Z);

				UNROLL
				for (r = 0; r < R; r++) {
					__m512i p = _mm512_add_epi32(
						lo[r][c], _mm512_srai_epi32(hi[r][c], 4));

					a[r][c] = _mm512_add_epi32(
						a[r][c], _mm512_mullo_epi32(p, s));
				}
			}
		}
	}

	UNROLL
	for (r = 0; r < R; r++)
		UNROLL
		for (c = 0; c < 4; c++)
			_mm512_storeu_si512(acc + r * 64 + c * 16, a[r][c]);
}

/* Constant row counts, group sizes and group formats: loops unroll. */
INLINE void w4_rows_g(const uint8_t *const *tiles, uint32_t n_tiles,
		      uint32_t group, const struct inpu_w4_groups *gr,
		      const int8_t *x, uint32_t x_stride, int32_t *acc,
		      const int R)
{
	enum inpu_w4_fmt z = inpu_w4_fmt(gr);

	if (group == 16 && z == INPU_W4_CODES)
		w4_rows(tiles, n_tiles, gr, x, x_stride, acc, R, 16,
			INPU_W4_CODES);
	else if (group == 16 && z == INPU_W4_SCALES_ZERO)
		w4_rows(tiles, n_tiles, gr, x, x_stride, acc, R, 16,
			INPU_W4_SCALES_ZERO);
	else if (group == 16)
		w4_rows(tiles, n_tiles, gr, x, x_stride, acc, R, 16,
			INPU_W4_SCALES);
	else if (z == INPU_W4_CODES)
		w4_rows(tiles, n_tiles, gr, x, x_stride, acc, R, 32,
			INPU_W4_CODES);
	else if (z == INPU_W4_SCALES_ZERO)
		w4_rows(tiles, n_tiles, gr, x, x_stride, acc, R, 32,
			INPU_W4_SCALES_ZERO);
	else
		w4_rows(tiles, n_tiles, gr, x, x_stride, acc, R, 32,
			INPU_W4_SCALES);
}

static void w4_block_avx512(const uint8_t *const *tiles, uint32_t n_tiles,
			    uint32_t group, const struct inpu_w4_groups *gr,
			    const int8_t *x, uint32_t m_rows,
			    uint32_t x_stride, int32_t *acc)
{
	uint32_t m = 0;

	/*
	 * Two rows: 8 final + 16 group accumulators.  One row still has 8
	 * independent vpdpbusd chains per group (4 vectors x lo/hi).
	 */
	for (; m + 2 <= m_rows; m += 2)
		w4_rows_g(tiles, n_tiles, group, gr, x + (uint64_t)m * x_stride,
			  x_stride, acc + m * 64, 2);
	if (m < m_rows)
		w4_rows_g(tiles, n_tiles, group, gr, x + (uint64_t)m * x_stride,
			  x_stride, acc + m * 64, 1);
}

/*
 * vpmovsqb/w/d convert int64 to int8/16/32 with signed saturation: the
 * definition's clamp, eight values an instruction.
 */
static void saturate_avx512(const int64_t *v, uint64_t n, uint8_t dtype,
			    uint8_t *raw)
{
	uint64_t i = 0;

	for (; i + 8 <= n; i += 8) {
		__m512i x = _mm512_loadu_si512(v + i);

		if (dtype == INPU_DT_INT8)
			_mm_storel_epi64((__m128i *)(raw + i),
					 _mm512_cvtsepi64_epi8(x));
		else if (dtype == INPU_DT_INT16)
			_mm_storeu_si128((__m128i *)(raw + 2 * i),
					 _mm512_cvtsepi64_epi16(x));
		else
			_mm256_storeu_si256((__m256i *)(raw + 4 * i),
					    _mm512_cvtsepi64_epi32(x));
	}
	if (i < n)
		inpu_saturate_scalar(v + i, n - i, dtype,
				     raw + i * (dtype == INPU_DT_INT8 ? 1 :
						dtype == INPU_DT_INT16 ? 2 : 4));
}

/*
 * Eight channels a step in 64-bit lanes: vpmullq keeps the low 64 bits of
 * the product (the definition's wrapping multiply), and the rounding
 * shift is per lane.  A qparam is { mult, shift } in one qword: mult the
 * sign-extended low half, shift the high half clamped to 0..62.  For
 * shift 0 the rounding term is 1 << -1, which vpsllvq makes 0.
 */
static void mm_requant_avx512(const int32_t *acc, uint32_t n, int xscaled,
			      int32_t xscale, const int32_t *bias,
			      const struct inpu_qparam *qp, int64_t *v)
{
	const __m512i one = _mm512_set1_epi64(1), xs = _mm512_set1_epi64(xscale);
	uint32_t i = 0;

	for (; i + 8 <= n; i += 8) {
		__m256i a32 = _mm256_loadu_si256((const __m256i *)(acc + i));
		__m512i q = _mm512_loadu_si512(qp + i), a, mult, sh;

		if (xscaled) {
			a = _mm512_mullo_epi64(_mm512_cvtepi32_epi64(a32), xs);
			if (bias)
				a = _mm512_add_epi64(a, _mm512_cvtepi32_epi64(
					_mm256_loadu_si256((const __m256i *)(bias + i))));
		} else {
			if (bias)
				a32 = _mm256_add_epi32(a32, _mm256_loadu_si256(
					(const __m256i *)(bias + i)));
			a = _mm512_cvtepi32_epi64(a32);
		}
		mult = _mm512_srai_epi64(_mm512_slli_epi64(q, 32), 32);
		sh = _mm512_min_epi64(_mm512_max_epi64(_mm512_srai_epi64(q, 32),
						       _mm512_setzero_si512()),
				      _mm512_set1_epi64(62));
		a = _mm512_mullo_epi64(a, mult);
		a = _mm512_add_epi64(a, _mm512_sllv_epi64(one,
					_mm512_sub_epi64(sh, one)));
		_mm512_storeu_si512(v + i, _mm512_srav_epi64(a, sh));
	}
	if (i < n)
		inpu_mm_requant_scalar(acc + i, n - i, xscaled, xscale,
				       bias ? bias + i : NULL, qp + i, v + i);
}

int inpu_have_avx512_kernels(void)
{
	return 1;
}

void inpu_kernels_avx512(struct inpu_kernels *k)
{
	k->w8_block = w8_block_avx512;
	k->w4_block = w4_block_avx512;
	k->saturate = saturate_avx512;
	k->mm_requant = mm_requant_avx512;
}
