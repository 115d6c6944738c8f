// SPDX-License-Identifier: MIT
/* Freestanding (no libc): built into inpu.ko, the QEMU device and userspace. */
/*
 * Command-stream validation (see inpu_validate.h).  Every rule here is a
 * rule of engine/ISA.md; the engine relies on them and does not check
 * again at run time.
 */
#include "inpu_validate.h"

#define MAX_DIM		(1u << 24)	/* rows and cols */
#define MAX_SHIFT	62
#define MAX_CONTEXT	65536		/* attention capacity, sample width */
#define MAX_ROW_Q	65536		/* I8ROW row length: one row is staged */

/* Operand access. */
#define A_R	INPU_REGION_READ
#define A_W	INPU_REGION_WRITE
#define A_RW	(INPU_REGION_READ | INPU_REGION_WRITE)

#define DT(x)	(1u << INPU_DT_##x)
#define DT_I8_16_32	(DT(INT8) | DT(INT16) | DT(INT32))
#define DT_PLAIN	(DT(INT8) | DT(INT16) | DT(INT32) | DT(UINT8) | \
			 DT(UINT64) | DT(QPARAM))

struct slot_rule {
	__u32 dtypes;		/* allowed dtypes; DT(NONE) = optional */
	__u32 access;
};

struct op_rule {
	unsigned int n_slots;
	unsigned int imm_bytes;	/* bytes of immediates after the tensors */
	struct slot_rule slot[7];
};

static const struct op_rule op_rules[INPU_OP_COUNT] = {
	[INPU_OP_NOP] = { 0, 0, { } },
	[INPU_OP_MATMUL] = { 7, 8, {
		{ DT(INT8) | DT(I8ROW), A_R },
		{ DT(W8_TILED) | DT(W4_TILED), A_R },
		{ DT(NONE) | DT(UINT8), A_R },
		{ DT(NONE) | DT(INT32), A_R },
		{ DT(QPARAM), A_R },
		{ DT_I8_16_32, A_W },
		{ DT(NONE) | DT(INT8), A_R } } },
	[INPU_OP_RMSNORM] = { 3, 8, {
		{ DT(INT16) | DT(INT32), A_R },
		{ DT(INT32), A_R },
		{ DT(INT8) | DT(INT16) | DT(I8ROW), A_W } } },
	[INPU_OP_ROPE] = { 3, 8, {
		{ DT(INT8) | DT(INT16), A_R },
		{ DT(INT16), A_R },
		{ DT(INT8) | DT(INT16), A_W } } },
	[INPU_OP_ATTENTION] = { 4, 28, {
		{ DT(INT8), A_R },
		{ DT(INT8) | DT(INT16), A_R },
		{ DT(INT8), A_R },
		{ DT(INT8) | DT(INT16) | DT(I8ROW), A_W } } },
	[INPU_OP_SWIGLU] = { 3, 16, {
		{ DT(INT16), A_R },
		{ DT(INT16), A_R },
		{ DT(INT8) | DT(INT16) | DT(I8ROW), A_W } } },
	[INPU_OP_ADD] = { 3, 16, {
		{ DT_I8_16_32, A_R },
		{ DT_I8_16_32, A_R },
		{ DT_I8_16_32, A_W } } },
	[INPU_OP_EMBED] = { 3, 8, {
		{ DT(INT32), A_R },
		{ DT_I8_16_32, A_R },
		{ DT(INT16) | DT(INT32), A_W } } },
	[INPU_OP_COPY] = { 2, 0, {
		{ DT_PLAIN, A_R },
		{ DT_PLAIN, A_W } } },
	[INPU_OP_ARGMAX] = { 2, 0, {
		{ DT_I8_16_32, A_R },
		{ DT(INT32), A_W } } },
	[INPU_OP_SAMPLE] = { 3, 16, {
		{ DT(INT32), A_R },
		{ DT(UINT64), A_RW },
		{ DT(INT32), A_W } } },
	[INPU_OP_FWHT] = { 2, 16, {
		{ DT_I8_16_32, A_R },
		{ DT_I8_16_32, A_W } } },
};

static const char *const status_names[INPU_ERR_COUNT] = {
	[INPU_OK] = "ok",
	[INPU_ERR_HEADER] = "bad stream header or length",
	[INPU_ERR_OPCODE] = "unknown opcode",
	[INPU_ERR_RESERVED] = "reserved field not zero",
	[INPU_ERR_DTYPE] = "element type not allowed",
	[INPU_ERR_SHAPE] = "bad or inconsistent shape",
	[INPU_ERR_STRIDE] = "bad stride or alignment",
	[INPU_ERR_PARAM] = "bad parameter reference or value",
	[INPU_ERR_IMM] = "immediate out of range",
	[INPU_ERR_RANGE] = "operand outside the job's buffers",
	[INPU_ERR_ACCESS] = "write to a read-only buffer",
	[INPU_ERR_FAULT] = "memory fault",
	[INPU_ERR_INDEX] = "index out of range",
	[INPU_ERR_TABLES] = "bad firmware tables",
	[INPU_ERR_NOMEM] = "engine out of memory",
	[INPU_ERR_BUDGET] = "job exceeds the work budget",
};

const char *inpu_status_name(int status)
{
	if (status < 0 || status >= INPU_ERR_COUNT)
		return "unknown status";
	return status_names[status];
}

unsigned int inpu_op_slots(unsigned int opcode)
{
	return opcode < INPU_OP_COUNT ? op_rules[opcode].n_slots : 0;
}

static __u32 round_up(__u32 v, __u32 to)
{
	return (v + to - 1) / to * to;
}

__u64 inpu_tiled_bytes(__u8 dtype, __u32 n, __u32 k)
{
	__u64 tiles;

	if (!n || !k || n > MAX_DIM || k > MAX_DIM)
		return 0;
	if (dtype == INPU_DT_W8_TILED)
		tiles = (__u64)(round_up(n, INPU_TILE_N) / INPU_TILE_N) *
			(round_up(k, INPU_W8_TILE_K) / INPU_W8_TILE_K);
	else if (dtype == INPU_DT_W4_TILED)
		tiles = (__u64)(round_up(n, INPU_TILE_N) / INPU_TILE_N) *
			(round_up(k, INPU_W4_TILE_K) / INPU_W4_TILE_K);
	else
		return 0;
	return tiles * INPU_TILE_BYTES;
}

static int all_zero(const void *p, unsigned int n)
{
	const __u8 *b = p;
	unsigned int i;

	for (i = 0; i < n; i++)
		if (b[i])
			return 0;
	return 1;
}

struct vctx {
	const struct inpu_stream_header *hdr;
	const struct inpu_region *regions;
	unsigned int n_regions;
};

/* Value range of parameter reference @ref (0: none) as [*lo, *hi]. */
static int param_range(const struct vctx *v, unsigned int ref, __u64 *lo,
		       __u64 *hi)
{
	if (!ref) {
		*lo = 0;
		*hi = 0;
		return INPU_OK;
	}
	if (ref > v->hdr->n_params)
		return INPU_ERR_PARAM;
	*lo = v->hdr->params[ref - 1].min;
	*hi = v->hdr->params[ref - 1].max;
	return INPU_OK;
}

/* Structural checks of one operand and the range check of its bytes. */
static int check_tensor(const struct vctx *v, const struct inpu_tensor *t,
			const struct slot_rule *rule, __u64 *span)
{
	__u64 bytes, row_bytes, lo, hi, dlo, dhi, start, end;
	unsigned int esize, align, i;
	int ret;

	if (t->dtype >= INPU_DT_COUNT || !(rule->dtypes & (1u << t->dtype)))
		return INPU_ERR_DTYPE;
	if (t->reserved0 || t->reserved1)
		return INPU_ERR_RESERVED;
	span[0] = 0;
	span[1] = 0;
	if (t->dtype == INPU_DT_NONE)
		return all_zero(t, sizeof(*t)) ? INPU_OK : INPU_ERR_RESERVED;
	if (!t->rows || !t->cols || t->rows > MAX_DIM || t->cols > MAX_DIM)
		return INPU_ERR_SHAPE;

	if (t->dtype == INPU_DT_W8_TILED || t->dtype == INPU_DT_W4_TILED) {
		if (t->stride)
			return INPU_ERR_STRIDE;
		/* Tiles are pages: the tensor must start on a page. */
		if (t->addr % INPU_TILE_BYTES ||
		    (t->dyn_param && t->dyn_mul % INPU_TILE_BYTES))
			return INPU_ERR_STRIDE;
		bytes = inpu_tiled_bytes(t->dtype, t->rows, t->cols);
	} else {
		esize = inpu_dtype_size(t->dtype);
		/* An I8ROW row starts with its int32 scale: 4-byte aligned. */
		align = inpu_dtype_row_prefix(t->dtype) ? INPU_I8ROW_PREFIX :
							  esize;
		if (inpu_dtype_row_prefix(t->dtype) && t->cols > MAX_ROW_Q)
			return INPU_ERR_SHAPE;
		row_bytes = inpu_dtype_row_prefix(t->dtype) +
			    (__u64)t->cols * esize;
		if (t->stride < row_bytes || t->stride % align ||
		    t->addr % align || (t->dyn_param && t->dyn_mul % align))
			return INPU_ERR_STRIDE;
		bytes = (__u64)(t->rows - 1) * t->stride + row_bytes;
	}

	ret = param_range(v, t->dyn_param, &dlo, &dhi);
	if (ret)
		return ret;
	if (!t->dyn_param && t->dyn_mul)
		return INPU_ERR_RESERVED;
	/* dyn_mul < 2^32 and params < 2^32: the products fit in 64 bits. */
	lo = dlo * t->dyn_mul;
	hi = dhi * t->dyn_mul;
	if (__builtin_add_overflow(t->addr, lo, &start) ||
	    __builtin_add_overflow(t->addr, hi, &end) ||
	    __builtin_add_overflow(end, bytes, &end))
		return INPU_ERR_RANGE;
	span[0] = start;
	span[1] = end;

	for (i = 0; i < v->n_regions; i++) {
		const struct inpu_region *r = &v->regions[i];

		if (start >= r->start && end <= r->start + r->len &&
		    r->start + r->len >= r->start) {
			if ((r->flags & rule->access) != rule->access)
				return INPU_ERR_ACCESS;
			return INPU_OK;
		}
	}
	return INPU_ERR_RANGE;
}

static int same_shape(const struct inpu_tensor *a, const struct inpu_tensor *b)
{
	return a->rows == b->rows && a->cols == b->cols;
}

static int shape_is(const struct inpu_tensor *t, __u32 rows, __u32 cols)
{
	return t->rows == rows && t->cols == cols;
}

static int shift_ok(__s32 s)
{
	return s >= 0 && s <= MAX_SHIFT;
}

static int check_matmul(const struct inpu_op_matmul *o)
{
	__u32 m = o->x.rows, k = o->x.cols, n = o->w.rows;

	if (o->w.cols != k || !shape_is(&o->y, m, n) ||
	    !shape_is(&o->qp, 1, n))
		return INPU_ERR_SHAPE;
	if (o->bias.dtype != INPU_DT_NONE && !shape_is(&o->bias, 1, n))
		return INPU_ERR_SHAPE;
	/* Packed codes: W4 only, and they hold the zero points themselves. */
	if (o->gfmt > INPU_W4_GFMT_CODES ||
	    (o->gfmt && (o->w.dtype != INPU_DT_W4_TILED ||
			 o->gzero.dtype != INPU_DT_NONE)))
		return INPU_ERR_RESERVED;
	if (o->w.dtype == INPU_DT_W4_TILED) {
		__u32 g = o->group ? o->group : INPU_W4_GROUP;
		__u32 rows = round_up(k, INPU_W4_TILE_K) / g;

		if (g != INPU_W4_GROUP && g != INPU_W4_GROUP_SMALL)
			return INPU_ERR_IMM;
		if (o->gscale.dtype != INPU_DT_UINT8 ||
		    !shape_is(&o->gscale, rows, round_up(n, INPU_TILE_N)))
			return INPU_ERR_SHAPE;
		if (o->gzero.dtype != INPU_DT_NONE &&
		    !shape_is(&o->gzero, rows, round_up(n, INPU_TILE_N)))
			return INPU_ERR_SHAPE;
	} else if (o->gscale.dtype != INPU_DT_NONE ||
		   o->gzero.dtype != INPU_DT_NONE) {
		return INPU_ERR_DTYPE;
	} else if (o->group) {
		return INPU_ERR_IMM;
	}
	return INPU_OK;
}

static int check_rmsnorm(const struct inpu_op_rmsnorm *o)
{
	if (!shape_is(&o->g, 1, o->x.cols) || !same_shape(&o->x, &o->y))
		return INPU_ERR_SHAPE;
	if (!o->eps || o->shift > MAX_SHIFT)
		return INPU_ERR_IMM;
	return INPU_OK;
}

static int check_rope(const struct inpu_op_rope *o)
{
	if (o->head_dim < 2 || o->head_dim % 2 || o->reserved)
		return o->reserved ? INPU_ERR_RESERVED : INPU_ERR_IMM;
	if (o->x.cols % o->head_dim || !same_shape(&o->x, &o->y) ||
	    !shape_is(&o->cs, o->x.rows, o->head_dim))
		return INPU_ERR_SHAPE;
	if (o->x.dtype != o->y.dtype)
		return INPU_ERR_DTYPE;
	return INPU_OK;
}

static int check_attention(const struct vctx *v,
			   const struct inpu_op_attention *o)
{
	__u32 qdim, kvdim;
	__u64 lo, hi;
	int ret;

	if (o->reserved0)
		return INPU_ERR_RESERVED;
	if (!o->n_heads || !o->n_kv_heads || !o->head_dim ||
	    o->n_heads % o->n_kv_heads)
		return INPU_ERR_IMM;
	if (o->score_mult <= 0 || !shift_ok(o->score_shift) ||
	    !shift_ok(o->out_shift))
		return INPU_ERR_IMM;
	qdim = (__u32)o->n_heads * o->head_dim;
	kvdim = (__u32)o->n_kv_heads * o->head_dim;
	if (o->q.cols != qdim || !same_shape(&o->q, &o->y) ||
	    o->k.cols != kvdim || !same_shape(&o->k, &o->v) ||
	    o->k.rows > MAX_CONTEXT)
		return INPU_ERR_SHAPE;
	ret = param_range(v, o->pos_param, &lo, &hi);
	if (ret)
		return ret;
	if (o->pos_param && o->pos)
		return INPU_ERR_RESERVED;
	hi += o->pos;
	/* Every query row's position must have its key in the cache. */
	if (hi + o->q.rows > o->k.rows)
		return INPU_ERR_SHAPE;
	return INPU_OK;
}

static int check_swiglu(const struct inpu_op_swiglu *o)
{
	if (!same_shape(&o->gate, &o->up) || !same_shape(&o->gate, &o->y))
		return INPU_ERR_SHAPE;
	if (!shift_ok(o->in_shift) || !shift_ok(o->out_shift))
		return INPU_ERR_IMM;
	return INPU_OK;
}

static int check_add(const struct inpu_op_add *o)
{
	if (o->reserved)
		return INPU_ERR_RESERVED;
	if (!same_shape(&o->a, &o->b) || !same_shape(&o->a, &o->y))
		return INPU_ERR_SHAPE;
	return shift_ok(o->shift) ? INPU_OK : INPU_ERR_IMM;
}

static int check_embed(const struct inpu_op_embed *o)
{
	if (o->ids.rows != 1 || !shape_is(&o->y, o->ids.cols, o->table.cols))
		return INPU_ERR_SHAPE;
	return shift_ok(o->shift) ? INPU_OK : INPU_ERR_IMM;
}

static int check_copy(const struct inpu_op_copy *o)
{
	if (o->src.dtype != o->dst.dtype)
		return INPU_ERR_DTYPE;
	return same_shape(&o->src, &o->dst) ? INPU_OK : INPU_ERR_SHAPE;
}

static int check_argmax(const struct inpu_op_argmax *o)
{
	return shape_is(&o->y, 1, o->x.rows) ? INPU_OK : INPU_ERR_SHAPE;
}

static int check_sample(const struct inpu_op_sample *o)
{
	if (o->reserved)
		return INPU_ERR_RESERVED;
	if (o->x.rows != 1 || o->x.cols > MAX_CONTEXT ||
	    !shape_is(&o->state, 1, 1) || !shape_is(&o->y, 1, 1))
		return INPU_ERR_SHAPE;
	if (o->temp_mult <= 0 || !shift_ok(o->temp_shift) || !o->top_p ||
	    o->top_p > 65536)
		return INPU_ERR_IMM;
	return INPU_OK;
}

static int check_fwht(const struct inpu_op_fwht *o)
{
	if (o->reserved)
		return INPU_ERR_RESERVED;
	if (!same_shape(&o->x, &o->y))
		return INPU_ERR_SHAPE;
	if (o->block < 2 || (o->block & (o->block - 1)) ||
	    o->x.cols % o->block || !shift_ok(o->shift))
		return INPU_ERR_IMM;
	return INPU_OK;
}

/* MATMUL writes y (slot 5) while it still reads every other operand. */
static int check_matmul_overlap(__u64 span[7][2], int *slot)
{
	unsigned int i;

	for (i = 0; i < 7; i++) {
		if (i != 5 && span[i][0] < span[5][1] && span[5][0] < span[i][1]) {
			*slot = 5;
			return INPU_ERR_RANGE;
		}
	}
	return INPU_OK;
}

static int check_op(const struct vctx *v, const struct inpu_op *op, int *slot)
{
	__u64 span[7][2];
	const struct op_rule *rule;
	const struct inpu_tensor *t;
	unsigned int i, used;
	int ret;

	*slot = -1;
	if (op->opcode >= INPU_OP_COUNT)
		return INPU_ERR_OPCODE;
	if (op->flags || op->reserved)
		return INPU_ERR_RESERVED;
	rule = &op_rules[op->opcode];
	used = rule->n_slots * sizeof(struct inpu_tensor) + rule->imm_bytes;
	if (!all_zero(op->u.raw + used, sizeof(op->u.raw) - used))
		return INPU_ERR_RESERVED;

	t = (const struct inpu_tensor *)op->u.raw;
	for (i = 0; i < rule->n_slots; i++) {
		ret = check_tensor(v, &t[i], &rule->slot[i], span[i]);
		if (ret) {
			*slot = i;
			return ret;
		}
	}

	switch (op->opcode) {
	case INPU_OP_MATMUL:
		ret = check_matmul(&op->u.matmul);
		return ret ? ret : check_matmul_overlap(span, slot);
	case INPU_OP_RMSNORM:
		return check_rmsnorm(&op->u.rmsnorm);
	case INPU_OP_ROPE:
		return check_rope(&op->u.rope);
	case INPU_OP_ATTENTION:
		return check_attention(v, &op->u.attention);
	case INPU_OP_SWIGLU:
		return check_swiglu(&op->u.swiglu);
	case INPU_OP_ADD:
		return check_add(&op->u.add);
	case INPU_OP_EMBED:
		return check_embed(&op->u.embed);
	case INPU_OP_COPY:
		return check_copy(&op->u.copy);
	case INPU_OP_ARGMAX:
		return check_argmax(&op->u.argmax);
	case INPU_OP_SAMPLE:
		return check_sample(&op->u.sample);
	case INPU_OP_FWHT:
		return check_fwht(&op->u.fwht);
	default:
		return INPU_OK;
	}
}

static int fail(struct inpu_verror *err, int status, __u32 op, int slot)
{
	if (err) {
		err->status = status;
		err->op = op;
		err->slot = slot;
	}
	return status;
}

int inpu_validate_stream(const void *stream, size_t len,
			 const struct inpu_region *regions,
			 unsigned int n_regions, struct inpu_verror *err)
{
	const struct inpu_stream_header *hdr = stream;
	const struct inpu_op *ops;
	struct vctx v;
	unsigned int i;
	int slot, ret;

	if (!stream || len < sizeof(*hdr))
		return fail(err, INPU_ERR_HEADER, ~0u, -1);
	if (hdr->magic != INPU_STREAM_MAGIC ||
	    hdr->version != INPU_STREAM_VERSION ||
	    hdr->n_params > INPU_MAX_PARAMS || !hdr->n_ops ||
	    hdr->n_ops > INPU_MAX_OPS ||
	    len != sizeof(*hdr) + (size_t)hdr->n_ops * sizeof(struct inpu_op))
		return fail(err, INPU_ERR_HEADER, ~0u, -1);
	if (hdr->reserved)
		return fail(err, INPU_ERR_RESERVED, ~0u, -1);
	for (i = 0; i < INPU_MAX_PARAMS; i++) {
		const struct inpu_param_decl *p = &hdr->params[i];

		if (i >= hdr->n_params ? (p->min || p->max) : p->min > p->max)
			return fail(err, INPU_ERR_PARAM, ~0u, -1);
	}

	v.hdr = hdr;
	v.regions = regions;
	v.n_regions = n_regions;
	ops = (const struct inpu_op *)(hdr + 1);
	for (i = 0; i < hdr->n_ops; i++) {
		ret = check_op(&v, &ops[i], &slot);
		if (ret)
			return fail(err, ret, i, slot);
	}
	return fail(err, INPU_OK, 0, -1);
}

/* ---- work bound (ISA.md, "Work bound") ------------------------------- */

static __u64 sat_add(__u64 a, __u64 b)
{
	return a + b < a ? ~0ull : a + b;
}

static __u64 sat_mul(__u64 a, __u64 b)
{
	return a && b > ~0ull / a ? ~0ull : a * b;
}

static __u32 ilog2_ceil(__u64 v)
{
	__u32 l = 0;

	while (l < 63 && ((__u64)1 << l) < v)
		l++;
	return l;
}

/* Elements of every operand of @op, the bound of an element-wise op. */
static __u64 op_elems(const struct inpu_op *op)
{
	const struct inpu_tensor *t = (const struct inpu_tensor *)op->u.raw;
	unsigned int i, n = inpu_op_slots(op->opcode);
	__u64 e = 0;

	for (i = 0; i < n; i++)
		e = sat_add(e, sat_mul(t[i].rows, t[i].cols));
	return e;
}

static __u64 attention_work(const struct inpu_stream_header *hdr,
			    const struct inpu_op_attention *o)
{
	__u64 pos = o->pos_param ? hdr->params[o->pos_param - 1].max : o->pos;
	__u64 rows = o->q.rows;
	/* Keys each query row attends to, summed over the rows (causal). */
	__u64 keys = sat_add(sat_mul(rows, pos), rows * (rows + 1) / 2);
	/* A dot product and an accumulation per key and head dimension,
	 * and the softmax's exp and sum per key.
	 */
	__u64 per_key = sat_add(sat_mul(2, o->head_dim), 2);

	return sat_mul(sat_mul(keys, o->n_heads), per_key);
}

static __u64 op_work(const struct inpu_stream_header *hdr,
		     const struct inpu_op *op)
{
	switch (op->opcode) {
	case INPU_OP_MATMUL:
		return sat_add(sat_mul(sat_mul(op->u.matmul.x.rows,
					       op->u.matmul.x.cols),
				       op->u.matmul.w.rows),
			       op_elems(op));
	case INPU_OP_ATTENTION:
		return sat_add(attention_work(hdr, &op->u.attention),
			       op_elems(op));
	case INPU_OP_SAMPLE:
		return sat_mul(op->u.sample.x.cols,
			       2 + ilog2_ceil(op->u.sample.x.cols));
	case INPU_OP_FWHT:
		return sat_mul(op_elems(op), 1 + ilog2_ceil(op->u.fwht.block));
	default:
		return op_elems(op);
	}
}

__u64 inpu_stream_work(const void *stream)
{
	const struct inpu_stream_header *hdr = stream;
	const struct inpu_op *ops = (const struct inpu_op *)(hdr + 1);
	__u64 work = 0;
	unsigned int i;

	for (i = 0; i < hdr->n_ops; i++)
		work = sat_add(work, sat_add(op_work(hdr, &ops[i]), 1));
	return work;
}
