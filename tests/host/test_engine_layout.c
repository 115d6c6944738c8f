// SPDX-License-Identifier: MIT
/*
 * The weight tile layouts (engine/ISA.md section 4), checked against the
 * byte formulas of the specification rather than against engine/layout.c:
 * every byte of a packed tensor is decoded here with the formula read
 * backwards (tile -> channel, input), so padding, order and bit flips are
 * all checked, and pack + unpack must be the identity.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "inpu_engine.h"
#include "kselftest_harness.h"

/* The shapes of the brief: 172 is the real model's hidden size. */
static const uint32_t shapes[] = { 1, 63, 64, 65, 127, 128, 129, 172 };
#define N_SHAPES (sizeof(shapes) / sizeof(shapes[0]))

static uint64_t rng_state = 0x0123456789abcdefull;

static uint64_t rng(void)
{
	/* splitmix64: a fixed, reproducible sequence. */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t up(uint32_t v, uint32_t to)
{
	return (v + to - 1) / to * to;
}

TEST(tile_is_one_page)
{
	/* Section 4: "tiles of exactly 4096 bytes". */
	EXPECT_EQ(4096, INPU_TILE_BYTES);
	/* W8 tile: 64 channels x 64 inputs x 1 byte. */
	EXPECT_EQ(4096, INPU_TILE_N * INPU_W8_TILE_K);
	/* W4 tile: 64 channels x 128 inputs x 1/2 byte. */
	EXPECT_EQ(4096, INPU_TILE_N * INPU_W4_TILE_K / 2);
	EXPECT_EQ(4096, inpu_weight_bytes(INPU_DT_W8_TILED, 64, 64));
	EXPECT_EQ(4096, inpu_weight_bytes(INPU_DT_W4_TILED, 64, 128));
	/* One more input or channel needs a second tile. */
	EXPECT_EQ(8192, inpu_weight_bytes(INPU_DT_W8_TILED, 64, 65));
	EXPECT_EQ(8192, inpu_weight_bytes(INPU_DT_W8_TILED, 65, 64));
	EXPECT_EQ(8192, inpu_weight_bytes(INPU_DT_W4_TILED, 64, 129));
	EXPECT_EQ(8192, inpu_weight_bytes(INPU_DT_W4_TILED, 65, 128));
}

TEST(sizes_by_hand)
{
	/* 1 x 1: one tile each; gscale (128/32 = 4 groups) x 64 channels. */
	EXPECT_EQ(4096, inpu_weight_bytes(INPU_DT_W8_TILED, 1, 1));
	EXPECT_EQ(4096, inpu_weight_bytes(INPU_DT_W4_TILED, 1, 1));
	EXPECT_EQ(256, inpu_w4_gscale_bytes(1, 1));
	/* 172 x 172. W8: Npad = Kpad = 192, 3 x 3 tiles = 9 * 4096 = 36864.
	 * W4: Npad 192 (3 blocks), Kpad 256 (2 tiles): 6 * 4096 = 24576.
	 * gscale: Kpad/32 = 8 rows x Npad 192 = 1536.
	 */
	EXPECT_EQ(36864, inpu_weight_bytes(INPU_DT_W8_TILED, 172, 172));
	EXPECT_EQ(24576, inpu_weight_bytes(INPU_DT_W4_TILED, 172, 172));
	EXPECT_EQ(1536, inpu_w4_gscale_bytes(172, 172));
	/* N 172, K 460. W8: 3 x ceil(460/64) = 3 x 8 = 24 tiles = 98304.
	 * W4: 3 x ceil(460/128) = 3 x 4 = 12 tiles = 49152.
	 * gscale: 512/32 = 16 rows x 192 = 3072.
	 */
	EXPECT_EQ(98304, inpu_weight_bytes(INPU_DT_W8_TILED, 172, 460));
	EXPECT_EQ(49152, inpu_weight_bytes(INPU_DT_W4_TILED, 172, 460));
	EXPECT_EQ(3072, inpu_w4_gscale_bytes(172, 460));
	/* N 460, K 172 (the transposed projection).
	 * W8: ceil(460/64) = 8 x 3 = 24 tiles; W4: 8 x 2 = 16 tiles = 65536.
	 * gscale: 8 rows x Npad 512 = 4096.
	 */
	EXPECT_EQ(98304, inpu_weight_bytes(INPU_DT_W8_TILED, 460, 172));
	EXPECT_EQ(65536, inpu_weight_bytes(INPU_DT_W4_TILED, 460, 172));
	EXPECT_EQ(4096, inpu_w4_gscale_bytes(460, 172));
	/* Not a weight type, zero or oversized dimensions: 0. */
	EXPECT_EQ(0, inpu_weight_bytes(INPU_DT_INT8, 64, 64));
	EXPECT_EQ(0, inpu_weight_bytes(INPU_DT_W8_TILED, 0, 64));
	EXPECT_EQ(0, inpu_weight_bytes(INPU_DT_W4_TILED, 64, 0));
	EXPECT_EQ(0, inpu_weight_bytes(INPU_DT_W8_TILED, (1u << 24) + 1, 64));
	/* The largest shape: 2^18 x 2^18 tiles of 2^12 bytes = 2^48 bytes. */
	EXPECT_EQ(1ull << 48,
		  inpu_weight_bytes(INPU_DT_W8_TILED, 1u << 24, 1u << 24));
}

/*
 * Decode one W8 byte with the section 4 formula read backwards:
 * tile = b / 4096 = nb * Kt + kb; inside, b % 4096 = 256 kq + 4 ni + r.
 */
static void w8_pos(uint64_t b, uint32_t kt, uint32_t *n, uint32_t *k)
{
	uint64_t tile = b / 4096, off = b % 4096;
	uint32_t nb = tile / kt, kb = tile % kt;
	uint32_t kq = off / 256, ni = (off % 256) / 4, r = off % 4;

	*n = 64 * nb + ni;
	*k = 64 * kb + 4 * kq + r;
}

TEST(w8_roundtrip_and_every_byte)
{
	unsigned int a, b, bad;

	for (a = 0; a < N_SHAPES; a++) {
		for (b = 0; b < N_SHAPES; b++) {
			uint32_t n = shapes[a], k = shapes[b], kt = up(k, 64) / 64;
			uint64_t bytes = (uint64_t)up(n, 64) / 64 * kt * 4096, i;
			int8_t *w = malloc((size_t)n * k), *back = malloc((size_t)n * k);
			uint8_t *p = malloc(bytes);

			ASSERT_NE(NULL, w);
			ASSERT_NE(NULL, back);
			ASSERT_NE(NULL, p);
			ASSERT_EQ(bytes, inpu_weight_bytes(INPU_DT_W8_TILED, n, k));
			for (i = 0; i < (uint64_t)n * k; i++)
				w[i] = (int8_t)rng();
			/* Extreme values where the bit flip matters. */
			w[0] = -128;
			w[(uint64_t)n * k - 1] = 127;
			memset(p, 0x5a, bytes);
			inpu_pack_w8(w, n, k, p);
			bad = 0;
			for (i = 0; i < bytes; i++) {
				uint32_t ch, in;
				uint8_t want;

				w8_pos(i, kt, &ch, &in);
				/* w + 128: weight 0 (padding) is 0x80. */
				want = ch < n && in < k ?
				       (uint8_t)(w[(size_t)ch * k + in] + 128) : 0x80;
				if (p[i] != want && bad++ < 5)
					TH_LOG("W8 %ux%u byte %llu (n %u k %u): %#x, want %#x",
					       n, k, (unsigned long long)i, ch, in,
					       p[i], want);
			}
			EXPECT_EQ(0, bad);
			memset(back, 0x11, (size_t)n * k);
			inpu_unpack_w8(p, n, k, back);
			EXPECT_EQ(0, memcmp(w, back, (size_t)n * k));
			free(w);
			free(back);
			free(p);
		}
	}
}

/*
 * Decode one W4 byte: tile (nb, kb), inside 256 ko + 4 ni + j, low nibble
 * input 8 ko + j, high nibble input 8 ko + 4 + j (of that tile).
 */
static void w4_pos(uint64_t b, uint32_t kt, uint32_t *n, uint32_t *k_lo,
		   uint32_t *k_hi)
{
	uint64_t tile = b / 4096, off = b % 4096;
	uint32_t nb = tile / kt, kb = tile % kt;
	uint32_t ko = off / 256, ni = (off % 256) / 4, j = off % 4;

	*n = 64 * nb + ni;
	*k_lo = 128 * kb + 8 * ko + j;
	*k_hi = *k_lo + 4;
}

TEST(w4_roundtrip_and_every_byte)
{
	unsigned int a, b, bad;

	for (a = 0; a < N_SHAPES; a++) {
		for (b = 0; b < N_SHAPES; b++) {
			uint32_t n = shapes[a], k = shapes[b], kt = up(k, 128) / 128;
			uint32_t groups = up(k, 32) / 32, npad = up(n, 64);
			uint32_t gsrows = kt * 4;
			uint64_t bytes = (uint64_t)npad / 64 * kt * 4096, i;
			uint64_t gbytes = (uint64_t)gsrows * npad;
			int8_t *q = malloc((size_t)n * k), *qb = malloc((size_t)n * k);
			uint8_t *s = malloc((size_t)n * groups);
			uint8_t *sb = malloc((size_t)n * groups);
			uint8_t *p = malloc(bytes), *gs = malloc(gbytes);

			ASSERT_NE(NULL, q);
			ASSERT_NE(NULL, qb);
			ASSERT_NE(NULL, s);
			ASSERT_NE(NULL, sb);
			ASSERT_NE(NULL, p);
			ASSERT_NE(NULL, gs);
			ASSERT_EQ(bytes, inpu_weight_bytes(INPU_DT_W4_TILED, n, k));
			ASSERT_EQ(gbytes, inpu_w4_gscale_bytes(n, k));
			for (i = 0; i < (uint64_t)n * k; i++)
				q[i] = (int8_t)(rng() % 16) - 8;
			q[0] = -8;
			q[(uint64_t)n * k - 1] = 7;
			for (i = 0; i < (uint64_t)n * groups; i++)
				s[i] = (uint8_t)(1 + rng() % 255);	/* nonzero */
			memset(p, 0x5a, bytes);
			memset(gs, 0x5a, gbytes);
			inpu_pack_w4(q, s, n, k, p, gs);
			bad = 0;
			for (i = 0; i < bytes; i++) {
				uint32_t ch, klo, khi;
				uint8_t lo = 8, hi = 8;

				w4_pos(i, kt, &ch, &klo, &khi);
				/* q + 8; padding (weight 0) is nibble 8. */
				if (ch < n && klo < k)
					lo = (uint8_t)(q[(size_t)ch * k + klo] + 8);
				if (ch < n && khi < k)
					hi = (uint8_t)(q[(size_t)ch * k + khi] + 8);
				if (p[i] != (uint8_t)(lo | hi << 4) && bad++ < 5)
					TH_LOG("W4 %ux%u byte %llu: %#x, want %#x", n, k,
					       (unsigned long long)i, p[i], lo | hi << 4);
			}
			EXPECT_EQ(0, bad);
			/* gs[g][n]: group-major, padding groups and channels 0. */
			bad = 0;
			for (i = 0; i < gbytes; i++) {
				uint32_t g = i / npad, ch = i % npad;
				uint8_t want = g < groups && ch < n ?
					       s[(size_t)ch * groups + g] : 0;

				if (gs[i] != want && bad++ < 5)
					TH_LOG("gscale %ux%u [%u][%u]: %u, want %u", n,
					       k, g, ch, gs[i], want);
			}
			EXPECT_EQ(0, bad);
			inpu_unpack_w4(p, gs, n, k, qb, sb);
			EXPECT_EQ(0, memcmp(q, qb, (size_t)n * k));
			EXPECT_EQ(0, memcmp(s, sb, (size_t)n * groups));
			free(q);
			free(qb);
			free(s);
			free(sb);
			free(p);
			free(gs);
		}
	}
}

TEST(w8_positions_by_hand)
{
	/* N 130, K 200: Kt = ceil(200 / 64) = 4, 3 x 4 = 12 tiles. */
	enum { N = 130, K = 200 };
	static int8_t w[N * K];
	static uint8_t p[12 * 4096];
	unsigned int i;

	for (i = 0; i < N * K; i++)
		w[i] = (int8_t)(i * 7 + 3);
	w[0 * K + 0] = -128;
	w[63 * K + 63] = 127;
	w[64 * K + 0] = -1;
	w[129 * K + 150] = 5;
	w[129 * K + 199] = -77;
	inpu_pack_w8(w, N, K, p);
	/* (0, 0): tile 0, kq 0, ni 0, r 0 -> byte 0, -128 + 128 = 0x00. */
	EXPECT_EQ(0x00, p[0]);
	/* (63, 63): tile 0, ki 63 = 4*15 + 3 -> 256*15 + 4*63 + 3 = 4095. */
	EXPECT_EQ(127 + 128, p[4095]);
	/* (64, 0): nb 1 -> tile 1*4 + 0 = 4 -> byte 16384; -1 + 128 = 127. */
	EXPECT_EQ(127, p[16384]);
	/* (129, 150): nb 2, ni 1, kb 2, ki 22 = 4*5 + 2:
	 * (2*4 + 2) * 4096 + 256*5 + 4*1 + 2 = 40960 + 1280 + 6 = 42246.
	 */
	EXPECT_EQ(5 + 128, p[42246]);
	/* (129, 199): kb 3, ki 7 = 4*1 + 3: 11*4096 + 256 + 4 + 3 = 45319. */
	EXPECT_EQ(-77 + 128, p[45319]);
	/* (129, 200) is padding: ki 8 = 4*2 + 0 -> 11*4096 + 512 + 4 = 45572. */
	EXPECT_EQ(0x80, p[45572]);
	/* Channel 130 (padding), input 0: tile 8, 4*2 = 8 -> 32776. */
	EXPECT_EQ(0x80, p[8 * 4096 + 8]);
}

TEST(w4_positions_by_hand)
{
	/* N 130, K 300: Kt = ceil(300 / 128) = 3, 3 x 3 = 9 tiles;
	 * groups = ceil(300 / 32) = 10, gscale [12][192].
	 */
	enum { N = 130, K = 300, G = 10 };
	static int8_t q[N * K];
	static uint8_t s[N * G], p[9 * 4096], gs[12 * 192];

	memset(q, 0, sizeof(q));
	memset(s, 1, sizeof(s));
	q[0 * K + 0] = -8;		/* byte 0 low nibble: 0 */
	q[0 * K + 4] = 7;		/* byte 0 high nibble: 15 */
	q[5 * K + 3] = -3;		/* ko 0, j 3: 4*5 + 3 = 23, low: 5 */
	q[129 * K + 277] = 6;		/* see below */
	q[129 * K + 273] = -5;
	s[129 * G + 8] = 200;		/* group 8 = inputs 256..287 */
	s[0 * G + 9] = 17;		/* group 9 = inputs 288..299 */
	inpu_pack_w4(q, s, N, K, p, gs);
	EXPECT_EQ(0xf0, p[0]);
	EXPECT_EQ(0x85, p[23]);
	/* (129, 277): nb 2, ni 1, kb 2, ki 21 = 8*2 + 5, j = 5 - 4 = 1, high;
	 * (2*3 + 2)*4096 + 256*2 + 4*1 + 1 = 32768 + 512 + 5 = 33285.
	 * (129, 273): ki 17 = 8*2 + 1, low nibble of the same byte.
	 * high 6 + 8 = 14, low -5 + 8 = 3 -> 0xe3.
	 */
	EXPECT_EQ(0xe3, p[33285]);
	/* Group scales: gs[8][129] at 8*192 + 129 = 1665; gs[9][0] = 1728. */
	EXPECT_EQ(200, gs[1665]);
	EXPECT_EQ(17, gs[1728]);
	/* Padding group 10 and 11 (inputs 320..383) and channel 130: 0. */
	EXPECT_EQ(0, gs[10 * 192 + 0]);
	EXPECT_EQ(0, gs[11 * 192 + 5]);
	EXPECT_EQ(0, gs[0 * 192 + 130]);
	EXPECT_EQ(1, gs[0 * 192 + 129]);
	/* (0, 300) padding: kb 2, ki 44 = 8*5 + 4 high; (0*3+2)*4096 + 1280. */
	EXPECT_EQ(0x88, p[2 * 4096 + 1280]);
}

TEST(group_bytes_by_hand)
{
	/*
	 * (Kpad / G) x Npad, Kpad = K rounded up to 128, Npad = N to 64.
	 * 172 x 172: Kpad 256, Npad 192: G 32 8 x 192 = 1536, G 16 3072.
	 * N 70, K 172: Npad 128: G 32 8 x 128 = 1024, G 16 2048.
	 * 1 x 1: Kpad 128, Npad 64: G 32 256, G 16 512.
	 * N 172, K 460: Kpad 512: G 32 16 x 192 = 3072, G 16 6144.
	 * N 460, K 172: Npad 512: G 32 8 x 512 = 4096, G 16 8192.
	 */
	EXPECT_EQ(1536, inpu_w4_group_bytes(172, 172, 32));
	EXPECT_EQ(3072, inpu_w4_group_bytes(172, 172, 16));
	EXPECT_EQ(1024, inpu_w4_group_bytes(70, 172, 32));
	EXPECT_EQ(2048, inpu_w4_group_bytes(70, 172, 16));
	EXPECT_EQ(256, inpu_w4_group_bytes(1, 1, 32));
	EXPECT_EQ(512, inpu_w4_group_bytes(1, 1, 16));
	EXPECT_EQ(3072, inpu_w4_group_bytes(172, 460, 32));
	EXPECT_EQ(6144, inpu_w4_group_bytes(172, 460, 16));
	EXPECT_EQ(4096, inpu_w4_group_bytes(460, 172, 32));
	EXPECT_EQ(8192, inpu_w4_group_bytes(460, 172, 16));
	/* Only the two group sizes of the ISA (the op's 0 is not a size). */
	EXPECT_EQ(0, inpu_w4_group_bytes(172, 172, 0));
	EXPECT_EQ(0, inpu_w4_group_bytes(172, 172, 8));
	EXPECT_EQ(0, inpu_w4_group_bytes(172, 172, 24));
	EXPECT_EQ(0, inpu_w4_group_bytes(172, 172, 64));
	EXPECT_EQ(0, inpu_w4_group_bytes(172, 172, 128));
	EXPECT_EQ(0, inpu_w4_group_bytes(172, 172, 0xffffffffu));
}

TEST(group_bytes_match_the_formula)
{
	unsigned int a, b;

	for (a = 0; a < N_SHAPES; a++) {
		for (b = 0; b < N_SHAPES; b++) {
			uint32_t n = shapes[a], k = shapes[b];
			uint64_t g32 = (uint64_t)up(k, 128) / 32 * up(n, 64);

			EXPECT_EQ(g32, inpu_w4_group_bytes(n, k, 32));
			EXPECT_EQ(2 * g32, inpu_w4_group_bytes(n, k, 16));
			EXPECT_EQ(inpu_w4_gscale_bytes(n, k),
				  inpu_w4_group_bytes(n, k, 32));
		}
	}
}

/*
 * Per-group tensors of both sizes, every byte: v[n][g] is at g * Npad + n
 * (section 4, group-major); the padding groups and channels are 0.
 */
TEST(w4_groups_roundtrip_and_every_byte)
{
	static const uint32_t sizes[] = { 16, 32 };
	unsigned int a, b, gi, bad;

	for (gi = 0; gi < 2; gi++) {
		for (a = 0; a < N_SHAPES; a++) {
			for (b = 0; b < N_SHAPES; b++) {
				uint32_t n = shapes[a], k = shapes[b], g_in = sizes[gi];
				uint32_t groups = up(k, g_in) / g_in, npad = up(n, 64);
				uint64_t bytes = (uint64_t)up(k, 128) / g_in * npad, i;
				size_t nv = (size_t)n * groups;
				uint8_t *v = malloc(nv), *back = malloc(nv);
				uint8_t *p = malloc(bytes);

				ASSERT_NE(NULL, v);
				ASSERT_NE(NULL, back);
				ASSERT_NE(NULL, p);
				ASSERT_EQ(bytes, inpu_w4_group_bytes(n, k, g_in));
				/* Nonzero, so that a missed byte shows. */
				for (i = 0; i < nv; i++)
					v[i] = (uint8_t)(1 + rng() % 255);
				memset(p, 0x5a, bytes);
				inpu_pack_w4_groups(v, n, k, g_in, p);
				bad = 0;
				for (i = 0; i < bytes; i++) {
					uint32_t g = i / npad, ch = i % npad;
					uint8_t want = g < groups && ch < n ?
						       v[(size_t)ch * groups + g] : 0;

					if (p[i] != want && bad++ < 5)
						TH_LOG("G %u %ux%u [%u][%u]: %u, want %u",
						       g_in, n, k, g, ch, p[i], want);
				}
				EXPECT_EQ(0, bad);
				memset(back, 0, nv);
				inpu_unpack_w4_groups(p, n, k, g_in, back);
				EXPECT_EQ(0, memcmp(v, back, nv));
				free(v);
				free(back);
				free(p);
			}
		}
	}
}

TEST(w4_g16_positions_by_hand)
{
	/*
	 * N 70, K 172, G 16: ceil(172 / 16) = 11 groups, Kpad 256 -> 16
	 * rows, Npad 128: [16][128] = 2048 bytes.  v[n][g] at 128 g + n.
	 */
	enum { N = 70, K = 172, G = 11 };
	static uint8_t v[N * G], p[16 * 128], back[N * G];
	int8_t z;

	memset(v, 3, sizeof(v));
	v[0 * G + 0] = 200;		/* [0][0] -> 0 */
	v[69 * G + 10] = 0x80;		/* zero point -128 -> 10*128 + 69 = 1349 */
	v[5 * G + 1] = 0x7f;		/* 127 -> 128 + 5 = 133 */
	memset(p, 0x5a, sizeof(p));
	inpu_pack_w4_groups(v, N, K, 16, p);
	EXPECT_EQ(200, p[0]);
	EXPECT_EQ(0x80, p[1349]);
	EXPECT_EQ(0x7f, p[133]);
	memcpy(&z, &p[1349], 1);
	EXPECT_EQ(-128, z);
	/* Channel 70 (padding), group 11 (inputs 176.., padding), row 15. */
	EXPECT_EQ(0, p[70]);
	EXPECT_EQ(0, p[127]);
	EXPECT_EQ(0, p[11 * 128 + 0]);
	EXPECT_EQ(0, p[15 * 128 + 69]);
	EXPECT_EQ(3, p[10 * 128 + 68]);
	inpu_unpack_w4_groups(p, N, K, 16, back);
	EXPECT_EQ(0, memcmp(v, back, sizeof(v)));
}

/* Weights alone (scales NULL): the same bytes as with the scales. */
TEST(w4_pack_without_scales)
{
	enum { N = 70, K = 172, G32 = 6 };
	static int8_t q[N * K], qb[N * K];
	static uint8_t s[N * G32], p1[2 * 2 * 4096], p2[2 * 2 * 4096];
	static uint8_t gs[8 * 128], gs2[8 * 128], sb[N * G32];
	unsigned int i;

	ASSERT_EQ(sizeof(p1), inpu_weight_bytes(INPU_DT_W4_TILED, N, K));
	ASSERT_EQ(sizeof(gs), inpu_w4_gscale_bytes(N, K));
	for (i = 0; i < N * K; i++)
		q[i] = (int8_t)(rng() % 16) - 8;
	for (i = 0; i < N * G32; i++)
		s[i] = (uint8_t)rng();
	memset(p1, 0x5a, sizeof(p1));
	memset(p2, 0xa5, sizeof(p2));
	memset(gs2, 0x5a, sizeof(gs2));
	inpu_pack_w4(q, s, N, K, p1, gs);
	inpu_pack_w4(q, NULL, N, K, p2, NULL);
	EXPECT_EQ(0, memcmp(p1, p2, sizeof(p1)));
	/* The scales of inpu_pack_w4 are the groups of 32 of the new API. */
	inpu_pack_w4_groups(s, N, K, 32, gs2);
	EXPECT_EQ(0, memcmp(gs, gs2, sizeof(gs)));
	memset(qb, 0x11, sizeof(qb));
	inpu_unpack_w4(p2, NULL, N, K, qb, NULL);
	EXPECT_EQ(0, memcmp(q, qb, sizeof(q)));
	inpu_unpack_w4(p1, gs, N, K, qb, sb);
	EXPECT_EQ(0, memcmp(s, sb, sizeof(s)));
}

TEST_HARNESS_MAIN
