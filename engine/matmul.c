// SPDX-License-Identifier: MIT
/*
 * INPU_OP_MATMUL: operand staging around the block kernels.
 *
 * Weight tiles and W4 group rows are read in place through mem_ops->map()
 * when the backend can (one tile is one page; a page holds whole group
 * rows), else copied; activations are copied into a zero-padded buffer so
 * the kernels never see a partial tile.
 */
#include "engine_internal.h"

/* Activation rows per kernel call. */
#define ROW_CHUNK 64
/*
 * Weight tiles per kernel call: the k range is cut so that one call is a
 * few million MACs at most (a poll interval), whatever K is; the partial
 * sums add up modulo 2^32 exactly as the kernel's own do.
 */
#define KT_CHUNK 64

/*
 * A W4 group tensor (scales, zero points or codes), read where it is: the
 * host address of each 4 KiB page it spans, or, when the backend cannot
 * map it so (or the tensor is not dense, or a 64-channel row of a block
 * could straddle a page), one copy of the whole tensor.
 */
struct gtensor {
	uint64_t addr;
	const uint8_t *whole;	/* the copy, or NULL */
	const uint8_t **page;	/* page i starts at addr for i = 0 */
};

struct mm_state {
	const struct inpu_op_matmul *o;
	uint32_t k, n, kt, kpad, npad, group;
	int w4;
	uint64_t waddr;
	const uint8_t **tiles;	/* KT_CHUNK */
	uint8_t *tilebuf;	/* KT_CHUNK tiles, when map() cannot serve */
	const struct inpu_qparam *qp;
	const int32_t *bias;
	int32_t *xscale;	/* I8ROW x: the chunk's row scales, else NULL */
	struct gtensor gs, gz;	/* W4: scales or codes (gfmt 1); zero points */
	const uint8_t **grows;	/* this block's group rows, KT_CHUNK tiles */
	const int8_t **gzrows;
	struct inpu_w4_groups groups;
	int32_t *acc, *part;
};

/* Tiles [kb0, kb0 + kn) of column block @nb, in place when possible. */
static int mm_tiles(struct op_ctx *c, struct mm_state *st, uint32_t nb,
		    uint32_t kb0, uint32_t kn)
{
	uint32_t kb;

	for (kb = 0; kb < kn; kb++) {
		uint64_t a = st->waddr + ((uint64_t)nb * st->kt + kb0 + kb) *
					 INPU_TILE_BYTES;
		const void *p = NULL;

		if (c->mem->map)
			p = c->mem->map(c->mem_ctx, a, INPU_TILE_BYTES);
		if (!p) {
			if (!st->tilebuf) {
				st->tilebuf = inpu_eng_op_alloc(c,
					(size_t)KT_CHUNK * INPU_TILE_BYTES);
				if (!st->tilebuf)
					return -1;
			}
			p = st->tilebuf + (size_t)kb * INPU_TILE_BYTES;
			if (inpu_eng_mem_read(c, a, (void *)p, INPU_TILE_BYTES))
				return -1;
		}
		st->tiles[kb] = p;
	}
	return 0;
}

/* Host address of @t's byte @off (kernels read 64 from there). */
static const uint8_t *gt_at(const struct gtensor *t, uint64_t off)
{
	uint64_t a = t->addr + off, i;

	if (t->whole)
		return t->whole + off;
	i = a / INPU_TILE_BYTES - t->addr / INPU_TILE_BYTES;
	return t->page[i] + (i ? a % INPU_TILE_BYTES : off);
}

/*
 * The group rows of column block @nb for @ng groups from tile @kb0 on,
 * as the block kernel takes them (kernels.h): pointers, no copies.
 */
static void mm_groups(struct mm_state *st, uint32_t nb, uint32_t kb0,
		      uint32_t ng)
{
	uint32_t per_tile = INPU_W4_TILE_K / st->group, g;

	for (g = 0; g < ng; g++) {
		uint64_t off = (uint64_t)(kb0 * per_tile + g) * st->npad +
			       nb * INPU_TILE_N;

		st->grows[g] = gt_at(&st->gs, off);
		if (st->gzrows)
			st->gzrows[g] = (const int8_t *)gt_at(&st->gz, off);
	}
}

/* acc[mr][64] of column block @nb over all of K, for rows in @xpad. */
static int mm_block(struct op_ctx *c, struct mm_state *st, uint32_t nb,
		    const int8_t *xpad, uint32_t mr)
{
	uint32_t tile_k = st->w4 ? INPU_W4_TILE_K : INPU_W8_TILE_K;
	uint32_t per_tile = INPU_W4_TILE_K / st->group, kb0, kn, i;

	for (kb0 = 0; kb0 < st->kt; kb0 += kn) {
		int32_t *dst = kb0 ? st->part : st->acc;
		const int8_t *x = xpad + (size_t)kb0 * tile_k;

		kn = st->kt - kb0 < KT_CHUNK ? st->kt - kb0 : KT_CHUNK;
		if (mm_tiles(c, st, nb, kb0, kn))
			return -1;
		if (st->w4) {
			mm_groups(st, nb, kb0, kn * per_tile);
			c->e->k.w4_block(st->tiles, kn, st->group, &st->groups,
					 x, mr, st->kpad, dst);
		} else {
			c->e->k.w8_block(st->tiles, kn, x, mr, st->kpad, dst);
		}
		for (i = 0; kb0 && i < mr * INPU_TILE_N; i++)
			st->acc[i] = wadd32(st->acc[i], st->part[i]);
		if (inpu_eng_op_work(c, (uint64_t)mr * kn * tile_k *
					INPU_TILE_N))
			return -1;
	}
	return 0;
}

/*
 * Group tensor @t in place, page by page (gtensor), or else copied.  A
 * failed map() records nothing: the copy then reads it, and faults.
 */
static int gt_open(struct op_ctx *c, const struct inpu_tensor *t,
		   struct gtensor *g)
{
	uint64_t bytes = (uint64_t)t->rows * t->cols, first, n, i;
	uint8_t *whole;

	g->addr = inpu_eng_tensor_addr(c, t);
	first = g->addr / INPU_TILE_BYTES;
	n = (g->addr + bytes - 1) / INPU_TILE_BYTES - first + 1;
	if (c->mem->map && t->stride == t->cols && !(g->addr % INPU_TILE_N) &&
	    !(t->cols % INPU_TILE_N) && bytes) {
		g->page = inpu_eng_op_alloc(c, n * sizeof(*g->page));
		if (!g->page)
			return -1;
		for (i = 0; i < n; i++) {
			uint64_t a = i ? (first + i) * INPU_TILE_BYTES : g->addr;
			uint64_t end = (first + i + 1) * INPU_TILE_BYTES;

			if (end > g->addr + bytes)
				end = g->addr + bytes;
			g->page[i] = c->mem->map(c->mem_ctx, a, end - a);
			if (!g->page[i])
				break;
		}
		if (i == n)
			return 0;
	}
	whole = inpu_eng_op_alloc(c, bytes);
	g->whole = whole;
	return !whole || inpu_eng_read_elems(c, t, 0, bytes, whole) ? -1 : 0;
}

/* The op's whole-tensor operands: per-channel and per-group constants. */
static int mm_load(struct op_ctx *c, struct mm_state *st)
{
	const struct inpu_op_matmul *o = st->o;
	struct inpu_qparam *qp = inpu_eng_op_alloc(c, (size_t)st->n *
						       sizeof(*qp));
	size_t nrows = (size_t)(st->kt < KT_CHUNK ? st->kt : KT_CHUNK) *
		       (INPU_W4_TILE_K / st->group);

	st->qp = qp;
	if (!qp || inpu_eng_read_elems(c, &o->qp, 0, st->n, qp))
		return -1;
	if (o->bias.dtype != INPU_DT_NONE) {
		st->bias = inpu_eng_load_i32(c, &o->bias);
		if (!st->bias)
			return -1;
	}
	if (!st->w4)
		return 0;
	st->grows = inpu_eng_op_alloc(c, nrows * sizeof(*st->grows));
	if (!st->grows || gt_open(c, &o->gscale, &st->gs))
		return -1;
	st->groups.rows = st->grows;
	st->groups.codes = o->gfmt == INPU_W4_GFMT_CODES;
	if (o->gfmt == INPU_W4_GFMT_CODES || o->gzero.dtype == INPU_DT_NONE)
		return 0;
	st->gzrows = inpu_eng_op_alloc(c, nrows * sizeof(*st->gzrows));
	if (!st->gzrows || gt_open(c, &o->gzero, &st->gz))
		return -1;
	st->groups.zero = st->gzrows;
	return 0;
}

/*
 * Row @m of the block @nb's sums to output values (ISA.md 3.1); v[0] is
 * output column @col0.
 */
static void mm_requant(struct op_ctx *c, const struct mm_state *st,
		       const int32_t *acc, uint32_t nb, uint32_t m,
		       uint32_t col0, int64_t *v)
{
	uint32_t col = nb * INPU_TILE_N;
	uint32_t n = st->n - col < INPU_TILE_N ? st->n - col : INPU_TILE_N;

	c->e->k.mm_requant(acc, n, st->xscale != NULL,
			   st->xscale ? st->xscale[m] : 0,
			   st->bias ? st->bias + col : NULL, st->qp + col,
			   v + (col - col0));
}

/*
 * Rows in chunks of ROW_CHUNK, output columns by OP_CHUNK values, K by
 * KT_CHUNK tiles: the scratch memory is the padded activation rows and the
 * per-channel constants, never M x N.  y never overlaps an input (the
 * validator's rule), so each piece is written when done.
 */
int inpu_eng_op_matmul(struct op_ctx *c, const struct inpu_op *op)
{
	const struct inpu_op_matmul *o = &op->u.matmul;
	struct mm_state st = { .o = o, .k = o->x.cols, .n = o->w.rows };
	uint32_t m_rows = o->x.rows, tile_k, nblocks, chunk, m0, mr, m, nb;
	uint32_t col0, ncols, colc;
	struct out_stream out;
	int8_t *xpad;
	int64_t *v;

	st.w4 = o->w.dtype == INPU_DT_W4_TILED;
	tile_k = st.w4 ? INPU_W4_TILE_K : INPU_W8_TILE_K;
	st.kt = (st.k + tile_k - 1) / tile_k;
	st.kpad = st.kt * tile_k;
	nblocks = (st.n + INPU_TILE_N - 1) / INPU_TILE_N;
	st.npad = nblocks * INPU_TILE_N;
	st.group = st.w4 && o->group ? o->group : INPU_W4_GROUP;
	st.waddr = inpu_eng_tensor_addr(c, &o->w);
	/* Zeroed buffers sized for M, not ROW_CHUNK: M = 1 is the common case. */
	chunk = m_rows < ROW_CHUNK ? m_rows : ROW_CHUNK;
	st.tiles = inpu_eng_op_alloc(c, KT_CHUNK * sizeof(*st.tiles));
	st.acc = inpu_eng_op_alloc(c, (size_t)chunk * INPU_TILE_N * 4);
	st.part = inpu_eng_op_alloc(c, (size_t)chunk * INPU_TILE_N * 4);
	xpad = inpu_eng_op_alloc(c, (size_t)chunk * st.kpad);
	/*
	 * Output columns at once: whole blocks, OP_CHUNK values or one block,
	 * and no more than there are (every buffer is zeroed, per op).
	 */
	colc = OP_CHUNK / chunk / INPU_TILE_N * INPU_TILE_N;
	if (!colc)
		colc = INPU_TILE_N;
	if (colc > st.npad)
		colc = st.npad;
	v = inpu_eng_op_alloc(c, (size_t)chunk * colc * 8);
	if (o->x.dtype == INPU_DT_I8ROW) {
		st.xscale = inpu_eng_op_alloc(c, (size_t)chunk * 4);
		if (!st.xscale)
			return -1;
	}
	if (!st.tiles || !st.acc || !st.part || !xpad || !v ||
	    inpu_eng_out_open(c, &out, &o->y, colc, 0) || mm_load(c, &st))
		return -1;

	for (m0 = 0; m0 < m_rows; m0 += ROW_CHUNK) {
		mr = m_rows - m0 < ROW_CHUNK ? m_rows - m0 : ROW_CHUNK;
		/* Row m at xpad + m * kpad; its padding stays zero. */
		for (m = 0; m < mr; m++)
			if (inpu_eng_read_elems(c, &o->x,
						(uint64_t)(m0 + m) * st.k, st.k,
						xpad + (size_t)m * st.kpad))
				return -1;
		if (st.xscale &&
		    inpu_eng_read_row_scales(c, &o->x, m0, mr, st.xscale))
			return -1;
		for (col0 = 0; col0 < st.n; col0 += colc) {
			ncols = st.n - col0 < colc ? st.n - col0 : colc;
			for (nb = col0 / INPU_TILE_N;
			     nb * INPU_TILE_N < col0 + ncols; nb++) {
				if (mm_block(c, &st, nb, xpad, mr))
					return -1;
				for (m = 0; m < mr; m++)
					mm_requant(c, &st, st.acc + m * INPU_TILE_N,
						   nb, m, col0,
						   v + (size_t)m * colc);
			}
			for (m = 0; m < mr; m++)
				if (inpu_eng_out_put(c, &out,
						     (uint64_t)(m0 + m) * st.n +
						     col0, ncols,
						     v + (size_t)m * colc))
					return -1;
		}
	}
	return 0;
}
