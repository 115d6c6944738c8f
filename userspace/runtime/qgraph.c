// SPDX-License-Identifier: MIT
/*
 * The integer graph of one decode step as an INPU command stream
 * (QUANT.md, "The step stream"): the memory plan of the state region and
 * the ops, with every address a device address (DVA) in one flat space.
 * The same stream runs on the CPU backend and, later, on the device.
 *
 * Integer only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inpu_validate.h"
#include "qmodel.h"
#include "qgraph.h"
#include "util.h"

static uint32_t kv_dim(const struct inpu_qconfig *c)
{
	return c->head_dim * c->n_kv_heads;
}

/* The key cache's element: int16 with INPU_QF_KEY16, else int8. */
static uint8_t key_dtype(const struct inpu_qmodel *m)
{
	return m->cfg.flags & INPU_QF_KEY16 ? INPU_DT_INT16 : INPU_DT_INT8;
}

static uint32_t key_size(const struct inpu_qmodel *m)
{
	return inpu_dtype_size(key_dtype(m));
}

/*
 * Bytes per row of an int8 input of a linear layer: room for an I8ROW row
 * (its scale, then the values, 4-byte aligned) whatever the model uses.
 */
static uint64_t act8_row(uint32_t cols)
{
	return INPU_I8ROW_PREFIX + inpu_align_up(cols, INPU_I8ROW_PREFIX);
}

int inpu_qgraph_layout(const struct inpu_qmodel *m, uint64_t wbase,
		       uint64_t sbase, struct inpu_qlayout *lay)
{
	const struct inpu_qconfig *c = &m->cfg;
	uint64_t nqkv = (uint64_t)c->dim + 2 * kv_dim(c), off = 0;
	uint64_t cache = (uint64_t)c->n_layers * c->seq_len * kv_dim(c);
	uint64_t kbytes = cache * key_size(m);
	const uint64_t R = INPU_QGRAPH_MAX_ROWS;

	if (wbase % 4096 || sbase % 4096)
		return -EINVAL;
	memset(lay, 0, sizeof(*lay));
	lay->wbase = wbase;
	lay->wsize = m->data_size;
	lay->sbase = sbase;
#define PLACE(field, bytes, al) do { \
		off = inpu_align_up(off, al); \
		lay->field = off; \
		off += (bytes); \
	} while (0)
	/* Activations for a prefill of up to R rows (one per token). */
	PLACE(ids, 4 * R, 64);
	PLACE(next, 4, 64);
	PLACE(x, R * c->dim * 4, 64);
	PLACE(xn, R * act8_row(c->dim), 64);
	PLACE(qkv16, R * nqkv * 2, 64);
	PLACE(qkv8, R * nqkv, 64);
	PLACE(att, R * act8_row(c->dim), 64);
	PLACE(y32, R * c->dim * 4, 64);
	PLACE(gu16, R * c->hidden_dim * 4, 64);
	PLACE(h8, R * act8_row(c->hidden_dim), 64);
	PLACE(logits, (uint64_t)c->vocab_size * 4, 64);
	PLACE(kcache, kbytes, 4096);
	PLACE(vcache, cache, 4096);
#undef PLACE
	lay->ssize = inpu_align_up(off, 4096);
	return 0;
}

/* ---- operand descriptors ------------------------------------------------- */

static struct inpu_tensor ten(uint64_t addr, uint8_t dt, uint32_t rows,
			      uint32_t cols)
{
	struct inpu_tensor t;

	memset(&t, 0, sizeof(t));
	t.addr = addr;
	t.dtype = dt;
	t.rows = rows;
	t.cols = cols;
	if (dt != INPU_DT_W8_TILED && dt != INPU_DT_W4_TILED)
		t.stride = cols * inpu_dtype_size(dt);
	return t;
}

/* @rows rows of @cols elements, @stride bytes apart (a column block). */
static struct inpu_tensor tens(uint64_t addr, uint8_t dt, uint32_t rows,
			       uint32_t cols, uint32_t stride)
{
	struct inpu_tensor t = ten(addr, dt, rows, cols);

	t.stride = stride;
	return t;
}

/*
 * The int8 input of a linear layer at @addr: per-token scales (I8ROW) when
 * the model has them (INPU_QF_DYN_ACT), else INT8 at its calibrated scale.
 */
static struct inpu_tensor act8(const struct inpu_qmodel *m, uint64_t addr,
			       uint32_t rows, uint32_t cols)
{
	if (!(m->cfg.flags & INPU_QF_DYN_ACT))
		return ten(addr, INPU_DT_INT8, rows, cols);
	return tens(addr, INPU_DT_I8ROW, rows, cols, (uint32_t)act8_row(cols));
}

/* A tensor of the weights region by name. */
static int wten(const struct inpu_qmodel *m, const struct inpu_qlayout *lay,
		const char *name, struct inpu_tensor *out)
{
	const struct inpu_qtensor *t = inpu_qmodel_find(m, name);

	if (!t)
		return -EINVAL;
	*out = ten(lay->wbase + t->offset, t->dtype, t->rows, t->cols);
	return 0;
}

struct gb {
	struct inpu_stream_header *hdr;
	struct inpu_op *ops;
	uint32_t cap;
	int ret;
};

/* The next op; on overflow the last slot is reused and the build fails. */
static struct inpu_op *emit(struct gb *g, uint16_t opcode)
{
	struct inpu_op *op;

	if (g->hdr->n_ops >= g->cap) {
		g->ret = -E2BIG;
		g->hdr->n_ops = g->cap - 1;
	}
	op = &g->ops[g->hdr->n_ops++];
	memset(op, 0, sizeof(*op));
	op->opcode = opcode;
	return op;
}

/* MATMUL x -> y with the linear layer @pfx (weights, W4 scales, qparams). */
static void matmul(struct gb *g, const struct inpu_qmodel *m,
		   const struct inpu_qlayout *lay, const char *pfx,
		   struct inpu_tensor x, struct inpu_tensor y)
{
	char name[INPU_QM_NAME_LEN + 8];
	struct inpu_op *op = emit(g, INPU_OP_MATMUL);

	op->u.matmul.x = x;
	op->u.matmul.y = y;
	snprintf(name, sizeof(name), "%s.w", pfx);
	if (wten(m, lay, name, &op->u.matmul.w))
		g->ret = -EINVAL;
	if (op->u.matmul.w.dtype == INPU_DT_W4_TILED) {
		snprintf(name, sizeof(name), "%s.gs", pfx);
		if (wten(m, lay, name, &op->u.matmul.gscale))
			g->ret = -EINVAL;
		/* Groups of 32 stay group 0, as streams had them before. */
		if (inpu_qmodel_w4_group(op->u.matmul.w.cols,
					 op->u.matmul.gscale.rows) == INPU_W4_GROUP_SMALL)
			op->u.matmul.group = INPU_W4_GROUP_SMALL;
		snprintf(name, sizeof(name), "%s.gz", pfx);
		if (m->cfg.flags & INPU_QF_W4_CODES)
			op->u.matmul.gfmt = INPU_W4_GFMT_CODES;
		else if (inpu_qmodel_find(m, name) &&
			 wten(m, lay, name, &op->u.matmul.gzero))
			g->ret = -EINVAL;
	}
	snprintf(name, sizeof(name), "%s.qp", pfx);
	if (wten(m, lay, name, &op->u.matmul.qp))
		g->ret = -EINVAL;
}

/* RMSNORM of @rows rows of x from row @first into xn. */
static void rmsnorm(struct gb *g, const struct inpu_qmodel *m,
		    const struct inpu_qlayout *lay, const char *gname,
		    uint32_t eps, uint32_t shift, uint32_t first, uint32_t rows)
{
	const struct inpu_qconfig *c = &m->cfg;
	struct inpu_op *op = emit(g, INPU_OP_RMSNORM);

	op->u.rmsnorm.x = ten(lay->sbase + lay->x + (uint64_t)first * c->dim * 4,
			      INPU_DT_INT32, rows, c->dim);
	if (wten(m, lay, gname, &op->u.rmsnorm.g))
		g->ret = -EINVAL;
	op->u.rmsnorm.y = act8(m, lay->sbase + lay->xn, rows, c->dim);
	op->u.rmsnorm.eps = eps;
	op->u.rmsnorm.shift = shift;
}

/* x += y32 (both int32 at the residual scale). */
static void residual_add(struct gb *g, const struct inpu_qmodel *m,
			 const struct inpu_qlayout *lay, uint32_t rows)
{
	const struct inpu_qconfig *c = &m->cfg;
	struct inpu_op *op = emit(g, INPU_OP_ADD);

	op->u.add.a = ten(lay->sbase + lay->x, INPU_DT_INT32, rows, c->dim);
	op->u.add.b = ten(lay->sbase + lay->y32, INPU_DT_INT32, rows, c->dim);
	op->u.add.y = op->u.add.a;
	op->u.add.a_mult = 1;
	op->u.add.b_mult = 1;
	op->u.add.shift = 0;
}

int inpu_qgraph_build(const struct inpu_qmodel *m,
		      const struct inpu_qlayout *lay, void **stream,
		      size_t *len, char *err, size_t errlen)
{
	return inpu_qgraph_build_rows(m, lay, 1, stream, len, err, errlen);
}

/* The stream header and room for @n_ops ops (a few more: see emit()). */
static int gb_init(struct gb *g, const struct inpu_qconfig *c, uint32_t T,
		   uint32_t n_ops)
{
	g->hdr = calloc(1, sizeof(struct inpu_stream_header) +
			   (n_ops + 16) * sizeof(struct inpu_op));
	if (!g->hdr)
		return -ENOMEM;
	g->ops = (struct inpu_op *)(g->hdr + 1);
	g->cap = n_ops + 16;
	g->ret = 0;
	g->hdr->magic = INPU_STREAM_MAGIC;
	g->hdr->version = INPU_STREAM_VERSION;
	/* Parameter 0 (dyn_param / pos_param 1): the position of row 0. */
	g->hdr->n_params = 1;
	g->hdr->params[0].min = 0;
	g->hdr->params[0].max = c->seq_len - T;
	return 0;
}

static void emit_embed(struct gb *g, const struct inpu_qmodel *m,
		       const struct inpu_qlayout *lay, uint32_t T)
{
	struct inpu_op *op = emit(g, INPU_OP_EMBED);
	uint64_t s = lay->sbase;

	op->u.embed.ids = ten(s + lay->ids, INPU_DT_INT32, 1, T);
	if (wten(m, lay, "embed", &op->u.embed.table))
		g->ret = -EINVAL;
	op->u.embed.y = ten(s + lay->x, INPU_DT_INT32, T, m->cfg.dim);
	op->u.embed.mult = m->glob.embed_mult;
	op->u.embed.shift = m->glob.embed_shift;
}

/* q, k, v of layer @l: RMSNORM, MATMUL, ROPE, to int8, k and v cached. */
static void emit_qkv(struct gb *g, const struct inpu_qmodel *m,
		     const struct inpu_qlayout *lay, uint32_t l, uint32_t T)
{
	const struct inpu_qconfig *c = &m->cfg;
	const struct inpu_qlayer *p = &m->layers[l];
	uint32_t kv = kv_dim(c), nqkv = c->dim + 2 * kv;
	uint64_t s = lay->sbase, cache_bytes = (uint64_t)c->seq_len * kv;
	char name[INPU_QM_NAME_LEN];
	struct inpu_op *op;

	snprintf(name, sizeof(name), "l%u.att.g", l);
	rmsnorm(g, m, lay, name, p->att_eps, p->att_shift, 0, T);
	snprintf(name, sizeof(name), "l%u.qkv", l);
	matmul(g, m, lay, name, act8(m, s + lay->xn, T, c->dim),
	       ten(s + lay->qkv16, INPU_DT_INT16, T, nqkv));

	op = emit(g, INPU_OP_ROPE);	/* q and k heads together */
	op->u.rope.x = tens(s + lay->qkv16, INPU_DT_INT16, T, c->dim + kv,
			    nqkv * 2);
	if (wten(m, lay, "rope", &op->u.rope.cs))
		g->ret = -EINVAL;
	op->u.rope.cs.rows = T;		/* positions pos .. pos + T - 1 */
	op->u.rope.cs.dyn_param = 1;
	op->u.rope.cs.dyn_mul = c->head_dim * 2;
	op->u.rope.y = op->u.rope.x;
	op->u.rope.head_dim = c->head_dim;

	op = emit(g, INPU_OP_ADD);	/* int16 -> int8: q, k, v */
	op->u.add.a = ten(s + lay->qkv16, INPU_DT_INT16, T, nqkv);
	op->u.add.b = op->u.add.a;
	op->u.add.y = ten(s + lay->qkv8, INPU_DT_INT8, T, nqkv);
	op->u.add.a_mult = 1;
	op->u.add.b_mult = 0;
	op->u.add.shift = p->qkv_shift;

	/* k -> cache rows pos ..: int8, or int16 as RoPE left it. */
	op = emit(g, INPU_OP_COPY);
	if (key_dtype(m) == INPU_DT_INT16)
		op->u.copy.src = tens(s + lay->qkv16 + 2 * (uint64_t)c->dim,
				      INPU_DT_INT16, T, kv, nqkv * 2);
	else
		op->u.copy.src = tens(s + lay->qkv8 + c->dim, INPU_DT_INT8, T,
				      kv, nqkv);
	op->u.copy.dst = ten(s + lay->kcache + l * cache_bytes * key_size(m),
			     key_dtype(m), T, kv);
	op->u.copy.dst.dyn_param = 1;
	op->u.copy.dst.dyn_mul = kv * key_size(m);
	op = emit(g, INPU_OP_COPY);	/* v -> cache rows pos .. */
	op->u.copy.src = tens(s + lay->qkv8 + c->dim + kv, INPU_DT_INT8, T, kv,
			      nqkv);
	op->u.copy.dst = ten(s + lay->vcache + l * cache_bytes, INPU_DT_INT8,
			     T, kv);
	op->u.copy.dst.dyn_param = 1;
	op->u.copy.dst.dyn_mul = kv;
}

/* Attention of layer @l over its caches, wo, and the residual add. */
static void emit_attention(struct gb *g, const struct inpu_qmodel *m,
			   const struct inpu_qlayout *lay, uint32_t l,
			   uint32_t T)
{
	const struct inpu_qconfig *c = &m->cfg;
	const struct inpu_qlayer *p = &m->layers[l];
	uint32_t kv = kv_dim(c), nqkv = c->dim + 2 * kv;
	uint64_t s = lay->sbase, cache_bytes = (uint64_t)c->seq_len * kv;
	char name[INPU_QM_NAME_LEN];
	struct inpu_op *op;

	/* Row m attends to cache rows 0 .. pos + m: causal. */
	op = emit(g, INPU_OP_ATTENTION);
	op->u.attention.q = tens(s + lay->qkv8, INPU_DT_INT8, T, c->dim, nqkv);
	op->u.attention.k = ten(s + lay->kcache + l * cache_bytes * key_size(m),
				key_dtype(m), c->seq_len, kv);
	op->u.attention.v = ten(s + lay->vcache + l * cache_bytes, INPU_DT_INT8,
				c->seq_len, kv);
	op->u.attention.y = act8(m, s + lay->att, T, c->dim);
	op->u.attention.n_heads = (uint16_t)c->n_heads;
	op->u.attention.n_kv_heads = (uint16_t)c->n_kv_heads;
	op->u.attention.head_dim = (uint16_t)c->head_dim;
	op->u.attention.pos_param = 1;
	op->u.attention.score_mult = p->score_mult;
	op->u.attention.score_shift = p->score_shift;
	op->u.attention.out_mult = p->att_mult;
	op->u.attention.out_shift = p->att_shift_out;

	snprintf(name, sizeof(name), "l%u.wo", l);
	matmul(g, m, lay, name, act8(m, s + lay->att, T, c->dim),
	       ten(s + lay->y32, INPU_DT_INT32, T, c->dim));
	residual_add(g, m, lay, T);
}

/* The feed-forward block of layer @l and its residual add. */
static void emit_ffn(struct gb *g, const struct inpu_qmodel *m,
		     const struct inpu_qlayout *lay, uint32_t l, uint32_t T)
{
	const struct inpu_qconfig *c = &m->cfg;
	const struct inpu_qlayer *p = &m->layers[l];
	uint32_t h = c->hidden_dim;
	uint64_t s = lay->sbase;
	char name[INPU_QM_NAME_LEN];
	struct inpu_op *op;

	snprintf(name, sizeof(name), "l%u.ffn.g", l);
	rmsnorm(g, m, lay, name, p->ffn_eps, p->ffn_shift, 0, T);
	snprintf(name, sizeof(name), "l%u.w13", l);
	matmul(g, m, lay, name, act8(m, s + lay->xn, T, c->dim),
	       ten(s + lay->gu16, INPU_DT_INT16, T, 2 * h));
	op = emit(g, INPU_OP_SWIGLU);
	op->u.swiglu.gate = tens(s + lay->gu16, INPU_DT_INT16, T, h, 4 * h);
	op->u.swiglu.up = tens(s + lay->gu16 + 2 * (uint64_t)h, INPU_DT_INT16,
			       T, h, 4 * h);
	op->u.swiglu.y = act8(m, s + lay->h8, T, h);
	op->u.swiglu.in_mult = p->silu_in_mult;
	op->u.swiglu.in_shift = p->silu_in_shift;
	op->u.swiglu.out_mult = p->silu_out_mult;
	op->u.swiglu.out_shift = p->silu_out_shift;
	snprintf(name, sizeof(name), "l%u.w2", l);
	matmul(g, m, lay, name, act8(m, s + lay->h8, T, h),
	       ten(s + lay->y32, INPU_DT_INT32, T, c->dim));
	residual_add(g, m, lay, T);
}

/* SAMPLE over the logits @x: PRNG state at DVA @prng, the token into @y. */
static void sample_op(struct inpu_op *op, struct inpu_tensor x, uint64_t prng,
		      struct inpu_tensor y, const struct inpu_qsample *smp)
{
	memset(op, 0, sizeof(*op));
	op->opcode = INPU_OP_SAMPLE;
	op->u.sample.x = x;
	op->u.sample.state = ten(prng, INPU_DT_UINT64, 1, 1);
	op->u.sample.y = y;
	op->u.sample.temp_mult = smp->temp_mult;
	op->u.sample.temp_shift = smp->temp_shift;
	op->u.sample.top_p = smp->top_p;
}

/*
 * The logits of the last row only (the next token's) and the choice of
 * the next token.  Without @tail: ARGMAX into lay->next.  With it (the
 * device's chained steps, DEVICE.md): ARGMAX, or SAMPLE with tail->samp
 * and its PRNG state at tail->prng, writes the token into ids, the next
 * step's EMBED input, and a COPY appends it to the history at tail->hist,
 * row pos + T - 1.  So a step needs nothing from the host but its
 * position.
 */
static void emit_head(struct gb *g, const struct inpu_qmodel *m,
		      const struct inpu_qlayout *lay, uint32_t T,
		      const struct inpu_qgraph_tail *tail)
{
	const struct inpu_qconfig *c = &m->cfg;
	uint64_t s = lay->sbase;
	struct inpu_tensor x, ids;
	struct inpu_op *op;

	rmsnorm(g, m, lay, "final.g", m->glob.final_eps, m->glob.final_shift,
		T - 1, 1);
	matmul(g, m, lay, "cls", act8(m, s + lay->xn, 1, c->dim),
	       ten(s + lay->logits, INPU_DT_INT32, 1, c->vocab_size));
	x = ten(s + lay->logits, INPU_DT_INT32, 1, c->vocab_size);
	ids = ten(s + lay->ids, INPU_DT_INT32, 1, 1);
	if (tail && tail->samp) {
		sample_op(emit(g, INPU_OP_SAMPLE), x, tail->prng, ids, tail->samp);
	} else {
		op = emit(g, INPU_OP_ARGMAX);
		op->u.argmax.x = x;
		op->u.argmax.y = tail ? ids : ten(s + lay->next, INPU_DT_INT32, 1, 1);
	}
	if (!tail)
		return;
	op = emit(g, INPU_OP_COPY);
	op->u.copy.src = ids;
	op->u.copy.dst = ten(tail->hist + 4 * (uint64_t)(T - 1), INPU_DT_INT32, 1, 1);
	op->u.copy.dst.dyn_param = 1;
	op->u.copy.dst.dyn_mul = 4;
}

int inpu_qgraph_build_rows(const struct inpu_qmodel *m,
			   const struct inpu_qlayout *lay, uint32_t T,
			   void **stream, size_t *len, char *err,
			   size_t errlen)
{
	return inpu_qgraph_build_tail(m, lay, T, NULL, stream, len, err,
				      errlen);
}

int inpu_qgraph_build_tail(const struct inpu_qmodel *m,
			   const struct inpu_qlayout *lay, uint32_t T,
			   const struct inpu_qgraph_tail *tail,
			   void **stream, size_t *len, char *err,
			   size_t errlen)
{
	const struct inpu_qconfig *c = &m->cfg;
	/* EMBED, 14 per layer, RMSNORM, MATMUL, ARGMAX (+ COPY: the tail) */
	uint32_t n_ops = 4 + 14 * c->n_layers + (tail ? 1 : 0);
	struct gb g;

	*stream = NULL;
	*len = 0;
	if (!T || T > INPU_QGRAPH_MAX_ROWS || T > c->seq_len) {
		inpu_model_seterr(err, errlen,
				  "graph: %u rows per step, outside 1..%u", T,
				  c->seq_len < INPU_QGRAPH_MAX_ROWS ?
				  c->seq_len : INPU_QGRAPH_MAX_ROWS);
		return -EINVAL;
	}
	if (n_ops > INPU_MAX_OPS) {
		inpu_model_seterr(err, errlen,
				  "graph: %u ops, more than a stream holds (%u)",
				  n_ops, INPU_MAX_OPS);
		return -E2BIG;
	}
	if (gb_init(&g, c, T, n_ops))
		return -ENOMEM;
	emit_embed(&g, m, lay, T);
	for (uint32_t l = 0; l < c->n_layers && !g.ret; l++) {
		emit_qkv(&g, m, lay, l, T);
		emit_attention(&g, m, lay, l, T);
		emit_ffn(&g, m, lay, l, T);
	}
	if (!g.ret)
		emit_head(&g, m, lay, T, tail);
	if (!g.ret && g.hdr->n_ops != n_ops)
		g.ret = -EINVAL;
	if (g.ret) {
		inpu_model_seterr(err, errlen,
				  "graph: cannot build the step stream (a tensor is missing)");
		free(g.hdr);
		return g.ret;
	}
	*stream = g.hdr;
	*len = sizeof(struct inpu_stream_header) + n_ops * sizeof(struct inpu_op);
	return 0;
}

/*
 * @k steps in one stream: the one-step stream @one repeated, copy i with
 * its position parameter (1) renamed to parameter i + 1, which the host
 * sets to pos + i.  Each copy reads the token the previous one chose.
 * The engine says which operands an op has (inpu_op_slots()).
 */
void *inpu_qgraph_repeat(const void *one, int k, uint32_t seq_len,
			 size_t *len)
{
	const struct inpu_stream_header *h1 = one;
	const struct inpu_op *o1 = (const struct inpu_op *)(h1 + 1);
	struct inpu_stream_header *h;
	struct inpu_op *o;
	uint32_t n = h1->n_ops;

	if (k < 1 || k > INPU_MAX_PARAMS)
		return NULL;
	*len = sizeof(*h) + (size_t)k * n * sizeof(*o);
	h = calloc(1, *len);
	if (!h)
		return NULL;
	*h = *h1;
	h->n_params = (uint16_t)k;
	for (int i = 0; i < k; i++) {
		h->params[i].min = 0;
		h->params[i].max = seq_len - 1;
	}
	h->n_ops = (uint32_t)k * n;
	o = (struct inpu_op *)(h + 1);
	for (int i = 0; i < k; i++) {
		for (uint32_t j = 0; j < n; j++) {
			struct inpu_op *op = &o[(uint32_t)i * n + j];
			struct inpu_tensor *t = (struct inpu_tensor *)&op->u;

			*op = o1[j];
			for (unsigned int sl = 0; sl < inpu_op_slots(op->opcode); sl++)
				if (t[sl].dyn_param == 1)
					t[sl].dyn_param = (uint8_t)(i + 1);
			if (op->opcode == INPU_OP_ATTENTION &&
			    op->u.attention.pos_param == 1)
				op->u.attention.pos_param = (uint8_t)(i + 1);
		}
	}
	return h;
}

int inpu_qgraph_build_sample(uint32_t vocab, uint64_t logits, uint64_t prng,
			     uint64_t y, const struct inpu_qsample *smp,
			     void **stream, size_t *len)
{
	struct inpu_stream_header *h;

	*len = sizeof(*h) + sizeof(struct inpu_op);
	h = calloc(1, *len);
	*stream = h;
	if (!h)
		return -ENOMEM;
	h->magic = INPU_STREAM_MAGIC;
	h->version = INPU_STREAM_VERSION;
	h->n_ops = 1;
	sample_op((struct inpu_op *)(h + 1),
		  ten(logits, INPU_DT_INT32, 1, vocab), prng,
		  ten(y, INPU_DT_INT32, 1, 1), smp);
	return 0;
}
