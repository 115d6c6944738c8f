// SPDX-License-Identifier: MIT
/*
 * INPU_OP_ATTENTION (engine/ISA.md 3.4).
 *
 * The caches are streamed in blocks of rows that stay in the L2 cache,
 * and each block serves every query row and head of a pass before the
 * next is read: one sequential read of the filled cache per pass, where
 * a head-by-head loop would walk each cache row once per head (strided)
 * or need the whole cache copied first.  The order of the sums does not
 * change a bit: the scores are exact, Z is a sum of uint64, and the
 * weighted sums wrap modulo 2^32 whatever their order.
 *
 * A pass covers a chunk of query rows and heads whose scores fit in
 * SCORE_BYTES, so scratch memory does not grow with the stream's shapes.
 */
#include <string.h>

#include "engine_internal.h"

/* Cache bytes per block: small enough to stay in L2 between two uses. */
#define KV_BLOCK_BYTES (192u * 1024)
/* Scores (then exp values) of one pass: rows x heads x cache rows. */
#define SCORE_BYTES (4u * 1024 * 1024)

struct attn_state {
	const struct inpu_op_attention *o;
	uint32_t hd, nh, group, kvdim, pos0, esk;
	/* This pass: query rows [m0, m0 + mc), heads [h0, h0 + hc). */
	uint32_t m0, mc, h0, hc, ctx;
	/* The kv heads the pass's heads use: cache columns [kc0, kc0 + kcn). */
	uint32_t kc0, kcn, jb;
	int8_t *q;		/* [mc][hc * hd] */
	uint8_t *kv;		/* a block of jb cache rows, kcn columns each */
	uint32_t *s;		/* [mc][hc][ctx]: scores, then exp values */
	int32_t *mx;		/* [mc][hc] */
	uint64_t *r;		/* [mc][hc]: 2^46 / Z */
	int32_t *acc;		/* [mc][hc * hd] */
	int32_t *p;		/* a block's probabilities for one row, head */
	int64_t *y;		/* one row of the pass: hc * hd */
};

/* Cache rows [j0, j0 + n) of @t, the pass's columns, into a->kv. */
static int attn_read_block(struct op_ctx *c, struct attn_state *a,
			   const struct inpu_tensor *t, uint32_t j0,
			   uint32_t n)
{
	uint32_t es = inpu_dtype_size(t->dtype), j;

	if (a->kcn == a->kvdim)
		return inpu_eng_read_elems(c, t, (uint64_t)j0 * a->kvdim,
					   (uint64_t)n * a->kvdim, a->kv);
	for (j = 0; j < n; j++)
		if (inpu_eng_read_elems(c, t,
					(uint64_t)(j0 + j) * a->kvdim + a->kc0,
					a->kcn, a->kv + (size_t)j * a->kcn * es))
			return -1;
	return 0;
}

/* Cache rows query row @m (of the pass) attends to: 0 .. pos0 + m. */
static uint32_t attn_len(const struct attn_state *a, uint32_t m)
{
	return a->pos0 + a->m0 + m + 1;
}

typedef void (*attn_rows_fn)(struct op_ctx *c, struct attn_state *a,
			     uint32_t m, uint32_t h, uint32_t j0, uint32_t je);

/*
 * @fn for every row and head of the pass over the cache rows j0 .. je - 1
 * it attends to, one block of @t (the keys or the values) at a time.
 */
static int attn_blocks(struct op_ctx *c, struct attn_state *a,
		       const struct inpu_tensor *t, attn_rows_fn fn)
{
	uint32_t last = attn_len(a, a->mc - 1), j0, jn, m, h;

	for (j0 = 0; j0 < last; j0 += jn) {
		jn = last - j0 < a->jb ? last - j0 : a->jb;
		if (attn_read_block(c, a, t, j0, jn))
			return -1;
		for (m = 0; m < a->mc; m++) {
			uint32_t end = attn_len(a, m), je;

			if (end <= j0)
				continue;
			je = end < j0 + jn ? end : j0 + jn;
			for (h = 0; h < a->hc; h++) {
				fn(c, a, m, h, j0, je);
				if (inpu_eng_op_work(c, (uint64_t)(je - j0) * a->hd))
					return -1;
			}
		}
	}
	return 0;
}

/* Scores of row @m, head @h against the keys of the block, and their max. */
static void attn_score_rows(struct op_ctx *c, struct attn_state *a,
			    uint32_t m, uint32_t h, uint32_t j0, uint32_t je)
{
	uint32_t hd = a->hd, j;
	const int8_t *qh = a->q + ((size_t)m * a->hc + h) * hd;
	uint32_t kvo = (a->h0 + h) / a->group * hd - a->kc0;
	int32_t *s = (int32_t *)a->s + ((size_t)m * a->hc + h) * a->ctx;
	int32_t *mx = &a->mx[m * a->hc + h];
	const uint8_t *kb = a->kv + (size_t)kvo * a->esk;

	if (a->esk == 2)
		c->e->k.dot_i8_i16(qh, (const int16_t *)kb, a->kcn, je - j0, hd,
				   s + j0);
	else
		c->e->k.dot_i8(qh, (const int8_t *)kb, a->kcn, je - j0, hd,
			       s + j0);
	for (j = j0; j < je; j++)
		if (s[j] > *mx)
			*mx = s[j];
}

/* Scores to exp values, and each row and head's 2^46 / Z. */
static void attn_softmax(struct op_ctx *c, struct attn_state *a)
{
	const struct inpu_tables *t = c->tables;
	const struct inpu_op_attention *o = a->o;
	uint32_t m, h, j;

	for (m = 0; m < a->mc; m++) {
		for (h = 0; h < a->hc; h++) {
			uint32_t *s = a->s + ((size_t)m * a->hc + h) * a->ctx;
			int64_t mx = a->mx[m * a->hc + h];
			uint64_t z = 0;

			for (j = 0; j < attn_len(a, m); j++) {
				s[j] = t->exp[inpu_eng_exp_index(t,
					mx - (int32_t)s[j], o->score_mult,
					o->score_shift)];
				z += s[j];
			}
			/* z >= exp[0] > 0: the maximum contributes exp[0]. */
			a->r[m * a->hc + h] = ((uint64_t)1 << 46) / z;
		}
	}
}

/* Row @m, head @h: the block's values weighted by their probabilities. */
static void attn_value_rows(struct op_ctx *c, struct attn_state *a,
			    uint32_t m, uint32_t h, uint32_t j0, uint32_t je)
{
	size_t mh = (size_t)m * a->hc + h;
	uint32_t kvo = (a->h0 + h) / a->group * a->hd - a->kc0, j;
	const uint32_t *e = a->s + mh * a->ctx;
	uint64_t r = a->r[mh];

	for (j = j0; j < je; j++)
		a->p[j - j0] = (int32_t)((e[j] * r) >> 31);
	c->e->k.axpy_i8(a->acc + mh * a->hd, a->p, (const int8_t *)a->kv + kvo,
			a->kcn, je - j0, a->hd);
}

/* One pass: read its queries, attend, write its outputs. */
static int attn_pass(struct op_ctx *c, struct attn_state *a,
		     struct out_stream *out)
{
	const struct inpu_op_attention *o = a->o;
	uint32_t qdim = a->nh * a->hd, w = a->hc * a->hd, m, i;

	for (m = 0; m < a->mc; m++)
		if (inpu_eng_read_elems(c, &o->q, (uint64_t)(a->m0 + m) * qdim +
					(uint64_t)a->h0 * a->hd, w,
					a->q + (size_t)m * w))
			return -1;
	for (i = 0; i < a->mc * a->hc; i++)
		a->mx[i] = INT32_MIN;
	memset(a->acc, 0, (size_t)a->mc * w * 4);
	a->kc0 = a->h0 / a->group * a->hd;
	a->kcn = ((a->h0 + a->hc - 1) / a->group + 1) * a->hd - a->kc0;
	a->jb = KV_BLOCK_BYTES / (a->kcn * a->esk);
	if (!a->jb)
		a->jb = 1;
	if (attn_blocks(c, a, &o->k, attn_score_rows))
		return -1;
	attn_softmax(c, a);
	if (attn_blocks(c, a, &o->v, attn_value_rows))
		return -1;
	for (m = 0; m < a->mc; m++) {
		for (i = 0; i < w; i++)
			a->y[i] = requant(a->acc[(size_t)m * w + i], o->out_mult,
					  o->out_shift);
		if (inpu_eng_out_put(c, out, (uint64_t)(a->m0 + m) * qdim +
				     (uint64_t)a->h0 * a->hd, w, a->y))
			return -1;
	}
	return 0;
}

/*
 * Heads per pass: at most OP_CHUNK query values and SCORE_BYTES of one
 * row's scores; then as many query rows as the scores allow.
 */
static int attn_alloc(struct op_ctx *c, struct attn_state *a, uint32_t rows)
{
	uint64_t per_head = (uint64_t)a->ctx * 4, hcap = SCORE_BYTES / per_head;
	uint64_t row, blk;
	uint32_t w;

	a->hc = OP_CHUNK / a->hd ? OP_CHUNK / a->hd : 1;
	if (a->hc > hcap)
		a->hc = hcap ? (uint32_t)hcap : 1;
	if (a->hc > a->nh)
		a->hc = a->nh;
	/* hc divides into whole kv-head groups where it can: fewer columns. */
	if (a->hc > a->group)
		a->hc -= a->hc % a->group;
	w = a->hc * a->hd;
	a->mc = (uint32_t)inpu_eng_min_u64(rows, inpu_eng_min_u64(
		SCORE_BYTES / (per_head * a->hc), OP_CHUNK / w));
	if (!a->mc)
		a->mc = 1;
	a->q = inpu_eng_op_alloc(c, (size_t)a->mc * w);
	/*
	 * A block: at most KV_BLOCK_BYTES and the whole cache, at least one
	 * row of the columns hc heads use (their kv heads, aligned or not).
	 */
	row = inpu_eng_min_u64(a->kvdim, (uint64_t)(a->hc / a->group + 2) *
			       a->hd) * a->esk;
	blk = inpu_eng_min_u64(KV_BLOCK_BYTES, (uint64_t)a->ctx * row);
	a->kv = inpu_eng_op_alloc(c, blk > row ? blk : row);
	a->s = inpu_eng_op_alloc(c, (size_t)a->mc * a->hc * per_head);
	a->mx = inpu_eng_op_alloc(c, (size_t)a->mc * a->hc * 4);
	a->r = inpu_eng_op_alloc(c, (size_t)a->mc * a->hc * 8);
	a->acc = inpu_eng_op_alloc(c, (size_t)a->mc * w * 4);
	/* jb <= KV_BLOCK_BYTES / hd: kcn >= hd (attn_pass) */
	a->p = inpu_eng_op_alloc(c, (size_t)inpu_eng_min_u64(a->ctx,
			KV_BLOCK_BYTES / a->hd + 1) * 4);
	a->y = inpu_eng_op_alloc(c, (size_t)w * 8);
	return a->q && a->kv && a->s && a->mx && a->r && a->acc && a->p &&
	       a->y ?
	       0 : -1;
}

int inpu_eng_op_attention(struct op_ctx *c, const struct inpu_op *op)
{
	const struct inpu_op_attention *o = &op->u.attention;
	struct attn_state a = {
		.o = o, .hd = o->head_dim, .nh = o->n_heads,
		.group = o->n_heads / o->n_kv_heads,
		.kvdim = o->n_kv_heads * o->head_dim,
		.pos0 = o->pos_param ? c->params[o->pos_param - 1] : o->pos,
		.esk = o->k.dtype == INPU_DT_INT16 ? 2 : 1,
	};
	uint32_t rows = o->q.rows, rn;
	struct out_stream out;
	int staged;

	a.ctx = a.pos0 + rows;
	/*
	 * q is read head by head before that head's y is written; the caches
	 * are read again by later passes, so y on them must be staged.
	 */
	staged = inpu_eng_out_hazard(c, &o->y, &o->q, 1) ||
		 inpu_eng_out_hazard(c, &o->y, &o->k, 0) ||
		 inpu_eng_out_hazard(c, &o->y, &o->v, 0);
	if (attn_alloc(c, &a, rows) ||
	    inpu_eng_out_open(c, &out, &o->y, (uint64_t)a.hc * a.hd, staged))
		return -1;
	for (a.m0 = 0; a.m0 < rows; a.m0 += rn) {
		rn = a.mc;
		if (a.m0 + rn > rows)
			a.mc = rn = rows - a.m0;
		for (a.h0 = 0; a.h0 < a.nh; a.h0 += a.hc) {
			uint32_t hc = a.hc;

			if (a.h0 + a.hc > a.nh)
				a.hc = a.nh - a.h0;
			if (attn_pass(c, &a, &out))
				return -1;
			a.hc = hc;
		}
	}
	return inpu_eng_out_close(c, &out);
}
