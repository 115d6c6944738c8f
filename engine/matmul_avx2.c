// SPDX-License-Identifier: MIT
/*
 * AVX2 kernels (matmul blocks, the attention's products, saturation),
 * bit-exact with matmul_scalar.c.
 *
 * AVX2 has no vpdpbusd.  Its byte multiply, vpmaddubsw (u8 * s8, adjacent
 * pairs added into an int16), SATURATES: a W8 weight stored as u = w + 128
 * is up to 255, an activation down to -128, and 255 * -128 * 2 = -65280
 * does not fit.  A clamped sum is a wrong answer, so every vpmaddubsw
 * below is fed operands whose pair sums are proven to fit in int16:
 *
 * W8: the activation is split into nibbles, x = 16 * xh + xl with
 *     xl = x & 15 in [0, 15] and xh = x >> 4 (arithmetic) in [-8, 7].
 *     A pair u0 * xl0 + u1 * xl1 is in [0, 2 * 255 * 15] = [0, 7650], and
 *     u0 * xh0 + u1 * xh1 in [2 * 255 * -8, 2 * 255 * 7] = [-4080, 3570].
 *     Four k steps (16 inputs) are added in int16 before widening:
 *     [0, 30600] and [-16320, 14280], inside [-32768, 32767].  vpaddw
 *     cannot wrap either, for the same bounds.  vpmaddwd then widens each
 *     channel's two int16 lanes to one int32, times 1 for the low part and
 *     times 16 for the high one (|16 * 2 * 16320| < 2^31: exact).
 *     The weights are used exactly as stored (no per-weight work), since
 *     the split costs a few operations per broadcast activation word,
 *     which every one of the 64 channels then shares.
 *     Then sum(w * x) = sum(u * x) - 128 * sum(x), subtracted once per row
 *     at the end (mod 2^32 the order of wrapping additions is free).
 *
 * W4: nibbles n = q + 8 are in [0, 15]; a pair n0 * x0 + n1 * x1 is in
 *     [2 * 15 * -128, 2 * 15 * 127] = [-3840, 3810].  One group of 32
 *     inputs gives each int16 lane 8 such pairs (4 k steps, low and high
 *     nibbles): [-30720, 30480], inside int16.  So the whole group partial
 *     is formed in int16 and widened once with vpmaddwd.
 *
 * Rows are done one at a time, even when several share the weights: the
 * eight activation vectors of the current k group live in registers next
 * to the eight accumulators of the block's 64 channels, and 16 ymm
 * registers hold no second row.  Reading the activations from memory
 * instead, to reuse each weight load for several rows, measured slower
 * (the loads, not the multiplies, became the limit); a block's weights,
 * n_tiles * 4 KiB, are read again for each row, from L1 or L2 for the
 * model's sizes.
 */
#include <string.h>

#include <immintrin.h>

#include "kernels.h"

#define INLINE static inline __attribute__((always_inline))
/*
 * Loops over channel vectors and k steps are unrolled so that the small
 * arrays of vectors become registers: -O2 alone keeps them in memory.
 */
#define UNROLL _Pragma("GCC unroll 16")

INLINE int32_t ld32(const void *p)
{
	int32_t v;

	memcpy(&v, p, 4);
	return v;
}

INLINE __m256i ld256(const void *p)
{
	return _mm256_loadu_si256((const __m256i *)p);
}

INLINE void st256(void *p, __m256i v)
{
	_mm256_storeu_si256((__m256i *)p, v);
}

/*
 * Each tile is one 4 KiB page and the hardware prefetchers stop at page
 * boundaries, so every new tile would start with cache misses.  While one
 * part of a tile is multiplied, fetch the same part of the next tile, into
 * L2: fetches into L1 hold its few miss buffers, which the loads of the
 * tile being multiplied need (measured: engine/README.md).
 */
INLINE void prefetch_1k(const uint8_t *const *tiles, uint32_t t,
			uint32_t n_tiles, uint32_t off)
{
	int i;

	if (t + 1 >= n_tiles)
		return;
	UNROLL
	for (i = 0; i < 16; i++)
		_mm_prefetch((const char *)tiles[t + 1] + off + i * 64,
			     _MM_HINT_T1);
}

/*
 * sum(x[0 .. len)) mod 2^32 for len a multiple of 32.  vpsadbw adds
 * unsigned bytes, so add 128 to each (flip bit 7) and take 128 * len off.
 */
static uint32_t row_sum(const int8_t *x, uint32_t len)
{
	const __m256i flip = _mm256_set1_epi8((char)0x80);
	__m256i s = _mm256_setzero_si256();
	uint64_t q[4];
	uint32_t i;

	for (i = 0; i < len; i += 32)
		s = _mm256_add_epi64(s, _mm256_sad_epu8(
			_mm256_xor_si256(ld256(x + i), flip),
			_mm256_setzero_si256()));
	st256(q, s);
	return (uint32_t)(q[0] + q[1] + q[2] + q[3] - (uint64_t)len * 128);
}

/*
 * The signed operands of one W8 k group (four k steps, 16 inputs): xg[2j]
 * holds the low nibbles of step j's four activations, xg[2j + 1] their
 * signed high nibbles, broadcast to all eight lanes.  The split is done
 * once on the 16 bytes copied to both 128-bit halves, and vpshufd then
 * broadcasts each 4-byte word: cheaper than splitting 8 broadcasts.  There
 * is no byte arithmetic shift: shift the 16-bit lanes, mask off the bits
 * that came from the neighbouring byte, and sign-extend the 4-bit value
 * with (h ^ 8) - 8.
 */
INLINE void w8_group_x(const int8_t *x16, __m256i *xg)
{
	const __m256i m = _mm256_set1_epi8(0x0f), eight = _mm256_set1_epi8(8);
	__m256i b = _mm256_broadcastsi128_si256(
		_mm_loadu_si128((const __m128i *)x16));
	__m256i lo = _mm256_and_si256(b, m);
	__m256i hi = _mm256_and_si256(_mm256_srli_epi16(b, 4), m);

	hi = _mm256_sub_epi8(_mm256_xor_si256(hi, eight), eight);

	xg[0] = _mm256_shuffle_epi32(lo, 0x00);
	xg[1] = _mm256_shuffle_epi32(hi, 0x00);
	xg[2] = _mm256_shuffle_epi32(lo, 0x55);
	xg[3] = _mm256_shuffle_epi32(hi, 0x55);
	xg[4] = _mm256_shuffle_epi32(lo, 0xaa);
	xg[5] = _mm256_shuffle_epi32(hi, 0xaa);
	xg[6] = _mm256_shuffle_epi32(lo, 0xff);
	xg[7] = _mm256_shuffle_epi32(hi, 0xff);
}

/*
 * One row.  The 64 channels' int32 sums (8 ymm) are carried over all
 * tiles; per k group, the group's 8 activation vectors are loaded once
 * and each of the 8 channel vectors then needs only its weight loads and
 * two int16 partials.  That is 16 live vectors at the peak, so GCC parks
 * a few accumulators in L1 between groups; that costs one load and store
 * per 16 vpmaddubsw, less than reloading activations per channel vector.
 */
static void w8_row1(const uint8_t *const *tiles, uint32_t n_tiles,
		    const int8_t *x, int32_t *acc)
{
	const __m256i one = _mm256_set1_epi16(1), sixteen = _mm256_set1_epi16(16);
	__m256i a[8], corr;
	uint32_t t;
	int g, c, j;

	UNROLL
	for (c = 0; c < 8; c++)
		a[c] = _mm256_setzero_si256();
	for (t = 0; t < n_tiles; t++) {
		const uint8_t *tile = tiles[t];

		for (g = 0; g < 4; g++) {
			const uint8_t *tg = tile + g * 1024;
			__m256i xg[8];

			w8_group_x(x + (uint64_t)t * 64 + g * 16, xg);
			prefetch_1k(tiles, t, n_tiles, g * 1024);
			UNROLL
			for (c = 0; c < 8; c++) {
				__m256i u = ld256(tg + c * 32);
				__m256i pl = _mm256_maddubs_epi16(u, xg[0]);
				__m256i ph = _mm256_maddubs_epi16(u, xg[1]);

				UNROLL
				for (j = 1; j < 4; j++) {
					u = ld256(tg + j * 256 + c * 32);
					pl = _mm256_add_epi16(pl,
						_mm256_maddubs_epi16(u, xg[2 * j]));
					ph = _mm256_add_epi16(ph,
						_mm256_maddubs_epi16(u, xg[2 * j + 1]));
				}
				a[c] = _mm256_add_epi32(a[c], _mm256_add_epi32(
					_mm256_madd_epi16(pl, one),
					_mm256_madd_epi16(ph, sixteen)));
			}
		}
	}
	corr = _mm256_set1_epi32((int32_t)(row_sum(x, n_tiles * 64) * 128u));
	UNROLL
	for (c = 0; c < 8; c++)
		st256(acc + c * 8, _mm256_sub_epi32(a[c], corr));
}

static void w8_block_avx2(const uint8_t *const *tiles, uint32_t n_tiles,
			  const int8_t *x, uint32_t m_rows, uint32_t x_stride,
			  int32_t *acc)
{
	uint32_t m;

	for (m = 0; m < m_rows; m++)
		w8_row1(tiles, n_tiles, x + (uint64_t)m * x_stride, acc + m * 64);
}

/*
 * sum(x) over each group of a W4 tile (per_tile groups of @group inputs).
 * vpsadbw adds unsigned bytes 8 at a time, so flip bit 7 (x + 128) and
 * take group * 128 off each group again.
 */
INLINE void w4_xsum(const int8_t *xt, uint32_t group, int32_t *xsum)
{
	const __m256i flip = _mm256_set1_epi8((char)0x80);
	uint64_t q[16];
	uint32_t g, i, per8 = group / 8;

	UNROLL
	for (g = 0; g < 4; g++)
		st256(q + 4 * g, _mm256_sad_epu8(_mm256_xor_si256(
			ld256(xt + g * 32), flip), _mm256_setzero_si256()));
	for (g = 0; g < 128 / group; g++) {
		int32_t v = 0;

		for (i = 0; i < per8; i++)
			v += (int32_t)q[g * per8 + i];
		xsum[g] = v - (int32_t)group * 128;
	}
}

/*
 * The group's correction for 8 channels: the nibbles are stored as
 * q + 8 and the weight is q - z, so each sum(nib * x) is (8 + z) * sum(x)
 * too large (z = 0 without zero points).  A code's high nibble is 8 + z.
 */
INLINE __m256i w4_corr(int32_t xsum, const uint8_t *row, const int8_t *z,
		       const int Z)
{
	__m256i zz;

	if (Z == INPU_W4_SCALES)
		return _mm256_set1_epi32(8 * xsum);
	if (Z == INPU_W4_CODES)
		zz = _mm256_srli_epi32(_mm256_cvtepu8_epi32(
			_mm_loadl_epi64((const __m128i *)row)), 4);
	else
		zz = _mm256_add_epi32(_mm256_cvtepi8_epi32(
			_mm_loadl_epi64((const __m128i *)z)),
			_mm256_set1_epi32(8));
	/*
	 * 8 + z (-120..135) and sum(x) (|.| <= 4096) both fit int16: one
	 * vpmaddwd of (8 + z, 0) by (sum, 0) is their exact product, at
	 * half the cost of vpmulld.
	 */
	return _mm256_madd_epi16(zz, _mm256_set1_epi32(xsum & 0xffff));
}

/*
 * 8 channels' scales, as int32: a code's scale is a 16-entry table
 * lookup, which is what vpshufb does on the low nibbles.
 */
INLINE __m256i w4_scale(const uint8_t *row, const int Z)
{
	__m128i b = _mm_loadl_epi64((const __m128i *)row);

	if (Z == INPU_W4_CODES)
		b = _mm_shuffle_epi8(_mm_setr_epi8(
			(char)inpu_w4_gs_level(0), (char)inpu_w4_gs_level(1),
			(char)inpu_w4_gs_level(2), (char)inpu_w4_gs_level(3),
			(char)inpu_w4_gs_level(4), (char)inpu_w4_gs_level(5),
			(char)inpu_w4_gs_level(6), (char)inpu_w4_gs_level(7),
			(char)inpu_w4_gs_level(8), (char)inpu_w4_gs_level(9),
			(char)inpu_w4_gs_level(10), (char)inpu_w4_gs_level(11),
			(char)inpu_w4_gs_level(12), (char)inpu_w4_gs_level(13),
			(char)inpu_w4_gs_level(14), (char)inpu_w4_gs_level(15)),
			_mm_and_si128(b, _mm_set1_epi8(0x0f)));
	return _mm256_cvtepu8_epi32(b);
}

/*
 * One group (@steps k steps of 8 inputs) of 8 channels for one row: the
 * int16 partial, widened, less the correction, times the channels'
 * scales.  That difference is the scalar kernel's exact group sum s
 * (|s| <= 32 * 135 * 128), and vpmulld keeps the low 32 bits of
 * s * scale: its (uint32_t)s * scale.
 */
INLINE __m256i w4_group(const uint8_t *tg, const __m256i *xg, int steps,
			__m256i corr, __m256i s)
{
	const __m256i m = _mm256_set1_epi8(0x0f), one = _mm256_set1_epi16(1);
	__m256i p = _mm256_setzero_si256();
	int j;

	UNROLL
	for (j = 0; j < steps; j++) {
		__m256i v = ld256(tg + j * 256);
		__m256i lo = _mm256_and_si256(v, m);
		__m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m);

		p = _mm256_add_epi16(p, _mm256_add_epi16(
			_mm256_maddubs_epi16(lo, xg[2 * j]),
			_mm256_maddubs_epi16(hi, xg[2 * j + 1])));
	}
	return _mm256_mullo_epi32(_mm256_sub_epi32(_mm256_madd_epi16(p, one),
						   corr), s);
}

/*
 * One row, the 64 channels' sums carried over all tiles.  The signed
 * operands are the activation words themselves: for k step ko the low
 * nibbles pair with x[8ko .. 8ko + 3] and the high ones with the next
 * four, so a group's operands are its words broadcast in order.
 */
INLINE void w4_row1(const uint8_t *const *tiles, uint32_t n_tiles,
		    const int group, const struct inpu_w4_groups *gr,
		    const int8_t *x, int32_t *acc, const int Z)
{
	const int per_tile = 128 / group, steps = group / 8;
	__m256i a[8];
	int32_t xsum[8];
	uint32_t t;
	int g, c, j;

	UNROLL
	for (c = 0; c < 8; c++)
		a[c] = _mm256_setzero_si256();
	for (t = 0; t < n_tiles; t++) {
		const uint8_t *tile = tiles[t];
		const int8_t *xt = x + (uint64_t)t * 128;

		w4_xsum(xt, group, xsum);
		for (g = 0; g < per_tile; g++) {
			const uint8_t *row = gr->rows[t * per_tile + g];
			const int8_t *zero = Z == INPU_W4_SCALES_ZERO ?
					     gr->zero[t * per_tile + g] : NULL;
			__m256i xg[8];

			UNROLL
			for (j = 0; j < 2 * steps; j++)
				xg[j] = _mm256_set1_epi32(ld32(xt + g * group + j * 4));
			if (!(g * group % 32))
				prefetch_1k(tiles, t, n_tiles, g * group * 32);
			UNROLL
			for (c = 0; c < 8; c++)
				a[c] = _mm256_add_epi32(a[c], w4_group(
					tile + g * steps * 256 + c * 32, xg, steps,
					w4_corr(xsum[g], row + c * 8,
						zero ? zero + c * 8 : NULL, Z),
					w4_scale(row + c * 8, Z)));
		}
	}
	UNROLL
	for (c = 0; c < 8; c++)
		st256(acc + c * 8, a[c]);
}

/* Constant group sizes and group formats, so each variant's loops unroll. */
static void w4_block_avx2(const uint8_t *const *tiles, uint32_t n_tiles,
			  uint32_t group, const struct inpu_w4_groups *gr,
			  const int8_t *x, uint32_t m_rows, uint32_t x_stride,
			  int32_t *acc)
{
	enum inpu_w4_fmt z = inpu_w4_fmt(gr);
	uint32_t m;

	for (m = 0; m < m_rows; m++) {
		const int8_t *xm = x + (uint64_t)m * x_stride;

		if (group == 16 && z == INPU_W4_CODES)
			w4_row1(tiles, n_tiles, 16, gr, xm, acc + m * 64,
				INPU_W4_CODES);
		else if (group == 16 && z == INPU_W4_SCALES_ZERO)
			w4_row1(tiles, n_tiles, 16, gr, xm, acc + m * 64,
				INPU_W4_SCALES_ZERO);
		else if (group == 16)
			w4_row1(tiles, n_tiles, 16, gr, xm, acc + m * 64,
				INPU_W4_SCALES);
		else if (z == INPU_W4_CODES)
			w4_row1(tiles, n_tiles, 32, gr, xm, acc + m * 64,
				INPU_W4_CODES);
		else if (z == INPU_W4_SCALES_ZERO)
			w4_row1(tiles, n_tiles, 32, gr, xm, acc + m * 64,
				INPU_W4_SCALES_ZERO);
		else
			w4_row1(tiles, n_tiles, 32, gr, xm, acc + m * 64,
				INPU_W4_SCALES);
	}
}

/*
 * The attention's products.  dot: 16 bytes widened to int16, vpmaddwd
 * adds adjacent products (|2 * 128 * 128| < 2^31: exact) into int32 lanes,
 * vpaddd wraps as the definition does.  axpy: 8 bytes widened to int32,
 * vpmulld keeps the low 32 bits of p * v: the product modulo 2^32.
 */
/* The 256-bit lanes folded to 128, then the sum of the four (wrapping). */
static __m128i fold_epi32(__m256i s)
{
	return _mm_add_epi32(_mm256_castsi256_si128(s),
			     _mm256_extracti128_si256(s, 1));
}

static uint32_t hsum_epi32(__m128i h)
{
	h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4e));
	h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xb1));
	return (uint32_t)_mm_cvtsi128_si32(h);
}

static inline __attribute__((always_inline)) int32_t
dot1_i8(const int8_t *a, const int8_t *b, uint32_t n)
{
	__m256i s = _mm256_setzero_si256();
	__m128i h;
	uint32_t i = 0, r;

	for (; i + 16 <= n; i += 16) {
		__m256i x = _mm256_cvtepi8_epi16(_mm_loadu_si128((const void *)(a + i)));
		__m256i y = _mm256_cvtepi8_epi16(_mm_loadu_si128((const void *)(b + i)));

		s = _mm256_add_epi32(s, _mm256_madd_epi16(x, y));
	}
	h = fold_epi32(s);
	/* 8 more (a head of 8, 24, ...): the same on 128 bits. */
	if (i + 8 <= n) {
		__m128i x = _mm_cvtepi8_epi16(_mm_loadl_epi64((const void *)(a + i)));
		__m128i y = _mm_cvtepi8_epi16(_mm_loadl_epi64((const void *)(b + i)));

		h = _mm_add_epi32(h, _mm_madd_epi16(x, y));
		i += 8;
	}
	r = hsum_epi32(h);
	for (; i < n; i++)
		r += (uint32_t)(a[i] * b[i]);
	return (int32_t)r;
}

/* As dot1_i8 with 16-bit b: |2 * 128 * 32768| < 2^31, still exact. */
static inline __attribute__((always_inline)) int32_t
dot1_i8_i16(const int8_t *a, const int16_t *b, uint32_t n)
{
	__m256i s = _mm256_setzero_si256();
	__m128i h;
	uint32_t i = 0, r;

	for (; i + 16 <= n; i += 16) {
		__m256i x = _mm256_cvtepi8_epi16(_mm_loadu_si128((const void *)(a + i)));
		__m256i y = _mm256_loadu_si256((const void *)(b + i));

		s = _mm256_add_epi32(s, _mm256_madd_epi16(x, y));
	}
	h = fold_epi32(s);
	if (i + 8 <= n) {
		__m128i x = _mm_cvtepi8_epi16(_mm_loadl_epi64((const void *)(a + i)));
		__m128i y = _mm_loadu_si128((const void *)(b + i));

		h = _mm_add_epi32(h, _mm_madd_epi16(x, y));
		i += 8;
	}
	r = hsum_epi32(h);
	for (; i < n; i++)
		r += (uint32_t)((int32_t)a[i] * b[i]);
	return (int32_t)r;
}

static void dot_i8_avx2(const int8_t *q, const int8_t *k, size_t stride,
			uint32_t rows, uint32_t n, int32_t *out)
{
	uint32_t j;

	for (j = 0; j < rows; j++)
		out[j] = dot1_i8(q, k + j * stride, n);
}

static void dot_i8_i16_avx2(const int8_t *q, const int16_t *k, size_t stride,
			    uint32_t rows, uint32_t n, int32_t *out)
{
	uint32_t j;

	for (j = 0; j < rows; j++)
		out[j] = dot1_i8_i16(q, k + j * stride, n);
}

/*
 * 32 accumulators (four vectors) at a time stay in registers over all the
 * rows of the block; then by 8, then the scalar tail.
 */
static void axpy_i8_avx2(int32_t *acc, const int32_t *p, const int8_t *v,
			 size_t stride, uint32_t rows, uint32_t n)
{
	uint32_t i = 0, j, c;

	for (; i + 32 <= n; i += 32) {
		__m256i a[4];

		for (c = 0; c < 4; c++)
			a[c] = _mm256_loadu_si256((const void *)(acc + i + 8 * c));
		for (j = 0; j < rows; j++) {
			__m256i pv = _mm256_set1_epi32(p[j]);
			const int8_t *vj = v + j * stride + i;

			for (c = 0; c < 4; c++)
				a[c] = _mm256_add_epi32(a[c], _mm256_mullo_epi32(pv,
					_mm256_cvtepi8_epi32(_mm_loadl_epi64(
						(const void *)(vj + 8 * c)))));
		}
		for (c = 0; c < 4; c++)
			_mm256_storeu_si256((void *)(acc + i + 8 * c), a[c]);
	}
	for (; i + 8 <= n; i += 8) {
		__m256i a = _mm256_loadu_si256((const void *)(acc + i));

		for (j = 0; j < rows; j++)
			a = _mm256_add_epi32(a, _mm256_mullo_epi32(
				_mm256_set1_epi32(p[j]), _mm256_cvtepi8_epi32(
				_mm_loadl_epi64((const void *)(v + j * stride + i)))));
		_mm256_storeu_si256((void *)(acc + i), a);
	}
	if (i < n)
		inpu_axpy_i8_scalar(acc + i, p, v + i, stride, rows, n - i);
}

/*
 * Four int64 clamped to [lo, hi] with 64-bit compares, then their low
 * halves gathered into the low 128 bits as int32 (now exact).
 */
static inline __attribute__((always_inline)) __m128i
clamp4_epi64(const int64_t *v, __m256i lo, __m256i hi)
{
	__m256i x = _mm256_loadu_si256((const void *)v);

	x = _mm256_blendv_epi8(x, hi, _mm256_cmpgt_epi64(x, hi));
	x = _mm256_blendv_epi8(x, lo, _mm256_cmpgt_epi64(lo, x));
	return _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(x,
		_mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6)));
}

/*
 * Eight values a step: clamped to the type's range first, so the packs
 * that follow (themselves saturating) only narrow.
 */
static void saturate_avx2(const int64_t *v, uint64_t n, uint8_t dtype,
			  uint8_t *raw)
{
	int64_t lo = dtype == INPU_DT_INT8 ? INT8_MIN :
		     dtype == INPU_DT_INT16 ? INT16_MIN : INT32_MIN;
	int64_t hi = dtype == INPU_DT_INT8 ? INT8_MAX :
		     dtype == INPU_DT_INT16 ? INT16_MAX : INT32_MAX;
	__m256i vlo = _mm256_set1_epi64x(lo), vhi = _mm256_set1_epi64x(hi);
	uint32_t es = dtype == INPU_DT_INT8 ? 1 : dtype == INPU_DT_INT16 ? 2 : 4;
	uint64_t i = 0;

	for (; i + 8 <= n; i += 8) {
		__m128i a = clamp4_epi64(v + i, vlo, vhi);
		__m128i b = clamp4_epi64(v + i + 4, vlo, vhi);
		__m128i w = _mm_packs_epi32(a, b);

		if (dtype == INPU_DT_INT8)
			_mm_storel_epi64((void *)(raw + i), _mm_packs_epi16(w, w));
		else if (dtype == INPU_DT_INT16)
			_mm_storeu_si128((void *)(raw + 2 * i), w);
		else
			_mm256_storeu_si256((void *)(raw + 4 * i),
					    _mm256_set_m128i(b, a));
	}
	if (i < n)
		inpu_saturate_scalar(v + i, n - i, dtype, raw + i * es);
}

int inpu_have_avx2_kernels(void)
{
	return 1;
}

void inpu_kernels_avx2(struct inpu_kernels *k)
{
	k->w8_block = w8_block_avx2;
	k->w4_block = w4_block_avx2;
	k->dot_i8 = dot_i8_avx2;
	k->dot_i8_i16 = dot_i8_i16_avx2;
	k->axpy_i8 = axpy_i8_avx2;
	k->saturate = saturate_avx2;
}
