// SPDX-License-Identifier: MIT
/*
 * INPU_OP_MATMUL: operand staging around the block kernels.
 *
 * Weight tiles are read in place through mem_ops->map() when the backend
 * can (one tile is one page), else copied; activations are copied into a
 * zero-padded buffer so the kernels never see a partial tile.
 */
#include <string.h>

#include "engine_internal.h"

/* Activation rows per kernel call: bounds the output buffer. */
#define ROW_CHUNK 16

int op_matmul(struct op_ctx *c, const struct inpu_op *op)
{
	const struct inpu_op_matmul *o = &op->u.matmul;
	uint32_t m_rows = o->x.rows, k = o->x.cols, n = o->w.rows;
	int w4 = o->w.dtype == INPU_DT_W4_TILED;
	uint32_t tile_k = w4 ? INPU_W4_TILE_K : INPU_W8_TILE_K;
	uint32_t kt = (k + tile_k - 1) / tile_k, kpad = kt * tile_k;
	uint32_t nblocks = (n + INPU_TILE_N - 1) / INPU_TILE_N;
	uint32_t npad = nblocks * INPU_TILE_N;
	uint64_t waddr = tensor_addr(c, &o->w);
	const uint8_t **tiles;
	struct inpu_qparam *qp;
	int8_t *xraw, *xpad;
	uint8_t *tilebuf, *gs = NULL, *gsb = NULL, *gz = NULL, *gzb = NULL;
	uint32_t group = o->group ? o->group : INPU_W4_GROUP;
	uint32_t ngroups = kt * (INPU_W4_TILE_K / group);
	int32_t *bias = NULL, *acc;
	int64_t *out;
	/* Zeroed buffers sized for M, not ROW_CHUNK: M = 1 is the common case. */
	uint32_t chunk = m_rows < ROW_CHUNK ? m_rows : ROW_CHUNK;
	uint32_t m0, mr, nb, kb, m, i, g;

	tiles = op_alloc(c, kt * sizeof(*tiles));
	tilebuf = op_alloc(c, (size_t)kt * INPU_TILE_BYTES);
	qp = op_alloc(c, (size_t)n * sizeof(*qp));
	xraw = op_alloc(c, (size_t)chunk * k);
	xpad = op_alloc(c, (size_t)chunk * kpad);
	acc = op_alloc(c, (size_t)chunk * INPU_TILE_N * 4);
	out = op_alloc(c, (size_t)chunk * n * 8);
	if (!tiles || !tilebuf || !qp || !xraw || !xpad || !acc || !out)
		return -1;
	if (read_rows(c, &o->qp, 0, 1, qp))
		return -1;
	if (o->bias.dtype != INPU_DT_NONE) {
		bias = load_i32(c, &o->bias);
		if (!bias)
			return -1;
	}
	if (w4) {
		gs = op_alloc(c, (size_t)o->gscale.rows * o->gscale.cols);
		gsb = op_alloc(c, (size_t)ngroups * INPU_TILE_N);
		if (!gs || !gsb || read_rows(c, &o->gscale, 0, o->gscale.rows, gs))
			return -1;
	}
	if (w4 && o->gzero.dtype != INPU_DT_NONE) {
		gz = op_alloc(c, (size_t)o->gzero.rows * o->gzero.cols);
		gzb = op_alloc(c, (size_t)ngroups * INPU_TILE_N);
		if (!gz || !gzb || read_rows(c, &o->gzero, 0, o->gzero.rows, gz))
			return -1;
	}

	for (m0 = 0; m0 < m_rows; m0 += ROW_CHUNK) {
		mr = m_rows - m0 < ROW_CHUNK ? m_rows - m0 : ROW_CHUNK;
		if (read_rows(c, &o->x, m0, mr, xraw))
			return -1;
		for (m = 0; m < mr; m++)
			memcpy(xpad + (size_t)m * kpad, xraw + (size_t)m * k, k);

		for (nb = 0; nb < nblocks; nb++) {
			for (kb = 0; kb < kt; kb++) {
				uint64_t a = waddr + ((uint64_t)nb * kt + kb) *
						     INPU_TILE_BYTES;
				const void *p = NULL;

				if (c->mem->map)
					p = c->mem->map(c->mem_ctx, a, INPU_TILE_BYTES);
				if (!p) {
					p = tilebuf + (size_t)kb * INPU_TILE_BYTES;
					if (mem_read(c, a, (void *)p, INPU_TILE_BYTES))
						return -1;
				}
				tiles[kb] = p;
			}
			if (w4) {
				for (g = 0; g < ngroups; g++) {
					size_t from = (size_t)g * npad + nb * INPU_TILE_N;

					memcpy(gsb + (size_t)g * INPU_TILE_N, gs + from,
					       INPU_TILE_N);
					if (gz)
						memcpy(gzb + (size_t)g * INPU_TILE_N,
						       gz + from, INPU_TILE_N);
				}
				c->e->k.w4_block(tiles, kt, group, gsb,
						 (const int8_t *)gzb, xpad, mr, kpad,
						 acc);
			} else {
				c->e->k.w8_block(tiles, kt, xpad, mr, kpad, acc);
			}

			for (m = 0; m < mr; m++) {
				for (i = 0; i < INPU_TILE_N; i++) {
					uint32_t col = nb * INPU_TILE_N + i;
					int32_t v;

					if (col >= n)
						break;
					v = acc[m * INPU_TILE_N + i];
					if (bias)
						v = wadd32(v, bias[col]);
					out[(size_t)m * n + col] =
						requant(v, qp[col].mult,
							clamp_shift(qp[col].shift));
				}
			}
		}
		if (store_rows_i64(c, &o->y, m0, mr, out))
			return -1;
	}
	return 0;
}
