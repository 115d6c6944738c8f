// SPDX-License-Identifier: MIT
/*
 * Device-native weight layouts (engine/ISA.md, "Weight layouts").
 *
 * W8 tile (64 channels x 64 inputs, 4096 bytes): byte
 *   kq * 256 + n * 4 + r   holds w[n][kq * 4 + r] + 128   (kq < 16, r < 4)
 * W4 tile (64 channels x 128 inputs, 4096 bytes): byte
 *   ko * 256 + n * 4 + j   holds q[n][ko * 8 + j] + 8 in its low nibble and
 *                          q[n][ko * 8 + 4 + j] + 8 in its high nibble
 * Tiles are stored block-row by block-row: tile (nb, kb) at
 * (nb * k_tiles + kb) * 4096.  Padding holds weight 0.
 *
 * Both layouts put four consecutive inputs of one channel in one 32-bit
 * word and 16 channels in 64 bytes: the operand shape of vpdpbusd.
 */
#include <string.h>

#include "inpu_engine.h"

static uint32_t div_up(uint32_t v, uint32_t d)
{
	return (v + d - 1) / d;
}

uint64_t inpu_weight_bytes(uint8_t dtype, uint32_t n, uint32_t k)
{
	return inpu_tiled_bytes(dtype, n, k);
}

uint64_t inpu_w4_group_bytes(uint32_t n, uint32_t k, uint32_t group)
{
	if (group != INPU_W4_GROUP && group != INPU_W4_GROUP_SMALL)
		return 0;
	return (uint64_t)div_up(k, INPU_W4_TILE_K) * (INPU_W4_TILE_K / group) *
	       div_up(n, INPU_TILE_N) * INPU_TILE_N;
}

uint64_t inpu_w4_gscale_bytes(uint32_t n, uint32_t k)
{
	return inpu_w4_group_bytes(n, k, INPU_W4_GROUP);
}

void inpu_pack_w4_groups(const uint8_t *v, uint32_t n, uint32_t k,
			 uint32_t group, uint8_t *out)
{
	uint32_t npad = div_up(n, INPU_TILE_N) * INPU_TILE_N, groups, i, j;

	if (!inpu_w4_group_bytes(n, k, group))
		return;		/* not a group size: nothing to write */
	groups = div_up(k, group);
	memset(out, 0, inpu_w4_group_bytes(n, k, group));
	for (i = 0; i < n; i++)
		for (j = 0; j < groups; j++)
			out[(size_t)j * npad + i] = v[(size_t)i * groups + j];
}

void inpu_unpack_w4_groups(const uint8_t *packed, uint32_t n, uint32_t k,
			   uint32_t group, uint8_t *v)
{
	uint32_t npad = div_up(n, INPU_TILE_N) * INPU_TILE_N, groups, i, j;

	if (!inpu_w4_group_bytes(n, k, group))
		return;
	groups = div_up(k, group);
	for (i = 0; i < n; i++)
		for (j = 0; j < groups; j++)
			v[(size_t)i * groups + j] = packed[(size_t)j * npad + i];
}

static size_t w8_offset(uint32_t k_tiles, uint32_t n, uint32_t k)
{
	uint32_t nb = n / INPU_TILE_N, kb = k / INPU_W8_TILE_K;
	uint32_t ni = n % INPU_TILE_N, ki = k % INPU_W8_TILE_K;

	return ((size_t)nb * k_tiles + kb) * INPU_TILE_BYTES +
	       (ki / 4) * 256 + ni * 4 + ki % 4;
}

void inpu_pack_w8(const int8_t *w, uint32_t n, uint32_t k, uint8_t *out)
{
	uint32_t k_tiles = div_up(k, INPU_W8_TILE_K), i, j;

	memset(out, 0x80, inpu_weight_bytes(INPU_DT_W8_TILED, n, k));
	for (i = 0; i < n; i++)
		for (j = 0; j < k; j++)
			out[w8_offset(k_tiles, i, j)] =
				(uint8_t)(w[(size_t)i * k + j] + 128);
}

void inpu_unpack_w8(const uint8_t *packed, uint32_t n, uint32_t k, int8_t *w)
{
	uint32_t k_tiles = div_up(k, INPU_W8_TILE_K), i, j;

	for (i = 0; i < n; i++)
		for (j = 0; j < k; j++)
			w[(size_t)i * k + j] =
				(int8_t)(packed[w8_offset(k_tiles, i, j)] - 128);
}

/* Byte offset of q[n][k] and whether it is the high nibble. */
static size_t w4_offset(uint32_t k_tiles, uint32_t n, uint32_t k, int *high)
{
	uint32_t nb = n / INPU_TILE_N, kb = k / INPU_W4_TILE_K;
	uint32_t ni = n % INPU_TILE_N, ki = k % INPU_W4_TILE_K;

	*high = (ki % 8) >= 4;
	return ((size_t)nb * k_tiles + kb) * INPU_TILE_BYTES +
	       (ki / 8) * 256 + ni * 4 + ki % 4;
}

void inpu_pack_w4(const int8_t *q, const uint8_t *s, uint32_t n, uint32_t k,
		  uint8_t *out, uint8_t *gscale_out)
{
	uint32_t k_tiles = div_up(k, INPU_W4_TILE_K), i, j;
	int high;

	memset(out, 0x88, inpu_weight_bytes(INPU_DT_W4_TILED, n, k));
	for (i = 0; i < n; i++) {
		for (j = 0; j < k; j++) {
			size_t off = w4_offset(k_tiles, i, j, &high);
			uint8_t nib = (uint8_t)((q[(size_t)i * k + j] + 8) & 0xf);

			out[off] = high ? (uint8_t)((out[off] & 0x0f) | nib << 4) :
					  (uint8_t)((out[off] & 0xf0) | nib);
		}
	}
	if (gscale_out)
		inpu_pack_w4_groups(s, n, k, INPU_W4_GROUP, gscale_out);
}

void inpu_unpack_w4(const uint8_t *packed, const uint8_t *gscale, uint32_t n,
		    uint32_t k, int8_t *q, uint8_t *s)
{
	uint32_t k_tiles = div_up(k, INPU_W4_TILE_K), i, j;
	int high;

	for (i = 0; i < n; i++) {
		for (j = 0; j < k; j++) {
			size_t off = w4_offset(k_tiles, i, j, &high);
			uint8_t nib = high ? packed[off] >> 4 : packed[off] & 0xf;

			q[(size_t)i * k + j] = (int8_t)(nib - 8);
		}
	}
	if (s)
		inpu_unpack_w4_groups(gscale, n, k, INPU_W4_GROUP, s);
}
