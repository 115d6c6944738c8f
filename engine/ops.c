// SPDX-License-Identifier: MIT
/*
 * The element-wise and reduction ops, scalar (engine/ISA.md gives each
 * formula).  Every op reads all of its inputs before it writes its output,
 * so outputs may alias inputs.
 */
#include <string.h>

#include "engine_internal.h"

int op_nop(struct op_ctx *c, const struct inpu_op *op)
{
	(void)c;
	(void)op;
	return 0;
}

int op_rmsnorm(struct op_ctx *c, const struct inpu_op *op)
{
	const struct inpu_op_rmsnorm *o = &op->u.rmsnorm;
	uint32_t rows = o->x.rows, n = o->x.cols, r, i;
	int32_t *x = load_i32(c, &o->x), *g = load_i32(c, &o->g);
	int64_t *y = op_alloc(c, (size_t)rows * n * 8);

	if (!x || !g || !y)
		return -1;
	for (r = 0; r < rows; r++) {
		const int32_t *xr = x + (size_t)r * n;
		uint64_t ss = 0, s, inv;

		for (i = 0; i < n; i++)
			ss += (uint64_t)((int64_t)xr[i] * xr[i]);
		s = isqrt64(ss / n + o->eps);
		inv = ((uint64_t)1 << 46) / s;
		for (i = 0; i < n; i++) {
			int64_t norm = rshift_round(wmul64(xr[i], (int64_t)inv), 31);

			y[(size_t)r * n + i] = rshift_round(wmul64(norm, g[i]),
							    (int)o->shift);
		}
	}
	return store_i64(c, &o->y, y);
}

int op_rope(struct op_ctx *c, const struct inpu_op *op)
{
	const struct inpu_op_rope *o = &op->u.rope;
	uint32_t rows = o->x.rows, n = o->x.cols, hd = o->head_dim, r, i;
	int32_t *x = load_i32(c, &o->x), *cs = load_i32(c, &o->cs);
	int64_t *y = op_alloc(c, (size_t)rows * n * 8);

	if (!x || !cs || !y)
		return -1;
	for (r = 0; r < rows; r++) {
		for (i = 0; i < n; i += 2) {
			uint32_t p = i % hd;
			int64_t cv = cs[(size_t)r * hd + p];
			int64_t sv = cs[(size_t)r * hd + p + 1];
			int64_t x0 = x[(size_t)r * n + i];
			int64_t x1 = x[(size_t)r * n + i + 1];

			y[(size_t)r * n + i] = rshift_round(x0 * cv - x1 * sv, 14);
			y[(size_t)r * n + i + 1] = rshift_round(x0 * sv + x1 * cv, 14);
		}
	}
	return store_i64(c, &o->y, y);
}

static uint32_t exp_index(const struct inpu_tables *t, int64_t d, int32_t mult,
			  int shift)
{
	int64_t idx = rshift_round(wmul64(d, mult), shift);

	return idx >= (int64_t)t->exp_len ? t->exp_len - 1 :
	       idx < 0 ? 0 : (uint32_t)idx;
}

int op_attention(struct op_ctx *c, const struct inpu_op *op)
{
	const struct inpu_op_attention *o = &op->u.attention;
	const struct inpu_tables *t = c->tables;
	uint32_t rows = o->q.rows, hd = o->head_dim, nh = o->n_heads;
	uint32_t qdim = nh * hd, kvdim = o->n_kv_heads * hd;
	uint32_t group = nh / o->n_kv_heads;
	uint32_t pos0 = o->pos_param ? c->params[o->pos_param - 1] : o->pos;
	uint32_t ctx = pos0 + rows, m, h, j, d;
	int8_t *q = op_alloc(c, (size_t)rows * qdim);
	int8_t *k = op_alloc(c, (size_t)ctx * kvdim);
	int8_t *v = op_alloc(c, (size_t)ctx * kvdim);
	int32_t *s = op_alloc(c, (size_t)ctx * 4);
	uint32_t *e = op_alloc(c, (size_t)ctx * 4);
	int32_t *acc = op_alloc(c, (size_t)hd * 4);
	int64_t *y = op_alloc(c, (size_t)rows * qdim * 8);

	if (!q || !k || !v || !s || !e || !acc || !y)
		return -1;
	if (read_rows(c, &o->q, 0, rows, q) || read_rows(c, &o->k, 0, ctx, k) ||
	    read_rows(c, &o->v, 0, ctx, v))
		return -1;

	for (m = 0; m < rows; m++) {
		uint32_t len = pos0 + m + 1;

		for (h = 0; h < nh; h++) {
			const int8_t *qh = q + (size_t)m * qdim + h * hd;
			uint32_t kvo = (h / group) * hd;
			int32_t mx = INT32_MIN;
			uint64_t z = 0, r;

			for (j = 0; j < len; j++) {
				int32_t dot = c->e->k.dot_i8(qh, k + (size_t)j * kvdim + kvo, hd);

				s[j] = dot;
				if (dot > mx)
					mx = dot;
			}
			for (j = 0; j < len; j++) {
				e[j] = t->exp[exp_index(t, (int64_t)mx - s[j],
							o->score_mult,
							o->score_shift)];
				z += e[j];
			}
			/* z >= exp[0] > 0: the maximum contributes exp[0]. */
			r = ((uint64_t)1 << 46) / z;
			memset(acc, 0, (size_t)hd * 4);
			for (j = 0; j < len; j++)
				c->e->k.axpy_i8(acc, (int32_t)((e[j] * r) >> 31),
						v + (size_t)j * kvdim + kvo, hd);
			for (d = 0; d < hd; d++)
				y[(size_t)m * qdim + h * hd + d] =
					requant(acc[d], o->out_mult, o->out_shift);
		}
	}
	return store_i64(c, &o->y, y);
}

int op_swiglu(struct op_ctx *c, const struct inpu_op *op)
{
	const struct inpu_op_swiglu *o = &op->u.swiglu;
	const struct inpu_tables *t = c->tables;
	uint64_t count = (uint64_t)o->gate.rows * o->gate.cols, i;
	int32_t *g = load_i32(c, &o->gate), *u = load_i32(c, &o->up);
	int64_t *y = op_alloc(c, count * 8);

	if (!g || !u || !y)
		return -1;
	for (i = 0; i < count; i++) {
		int64_t idx = rshift_round(wmul64(g[i], o->in_mult), o->in_shift) +
			      t->silu_zero;
		int64_t sv, prod;

		idx = clamp64(idx, 0, (int64_t)t->silu_len - 1);
		sv = t->silu[idx];
		prod = rshift_round(wmul64(sv, u[i]), 15);
		y[i] = requant(prod, o->out_mult, o->out_shift);
	}
	return store_i64(c, &o->y, y);
}

int op_add(struct op_ctx *c, const struct inpu_op *op)
{
	const struct inpu_op_add *o = &op->u.add;
	uint64_t count = (uint64_t)o->a.rows * o->a.cols, i;
	int32_t *a = load_i32(c, &o->a), *b = load_i32(c, &o->b);
	int64_t *y = op_alloc(c, count * 8);

	if (!a || !b || !y)
		return -1;
	for (i = 0; i < count; i++)
		y[i] = rshift_round(wadd64(wmul64(a[i], o->a_mult),
					   wmul64(b[i], o->b_mult)), o->shift);
	return store_i64(c, &o->y, y);
}

int op_embed(struct op_ctx *c, const struct inpu_op *op)
{
	const struct inpu_op_embed *o = &op->u.embed;
	uint32_t rows = o->ids.cols, dim = o->table.cols, m, i;
	int32_t *ids = load_i32(c, &o->ids);
	int64_t *y = op_alloc(c, (size_t)rows * dim * 8);
	struct inpu_tensor row;
	int32_t *tv;

	if (!ids || !y)
		return -1;
	for (m = 0; m < rows; m++) {
		if (ids[m] < 0 || (uint32_t)ids[m] >= o->table.rows) {
			c->status = INPU_ERR_INDEX;
			return -1;
		}
		/* One table row as a 1 x dim tensor. */
		row = o->table;
		row.addr = tensor_addr(c, &o->table) +
			   (uint64_t)ids[m] * o->table.stride;
		row.dyn_param = 0;
		row.rows = 1;
		tv = load_i32(c, &row);
		if (!tv)
			return -1;
		for (i = 0; i < dim; i++)
			y[(size_t)m * dim + i] = requant(tv[i], o->mult, o->shift);
		op_release(c, tv);
	}
	return store_i64(c, &o->y, y);
}

int op_copy(struct op_ctx *c, const struct inpu_op *op)
{
	const struct inpu_op_copy *o = &op->u.copy;
	uint64_t row = (uint64_t)o->src.cols * inpu_dtype_size(o->src.dtype);
	uint64_t dst = tensor_addr(c, &o->dst);
	uint8_t *buf = op_alloc(c, row * o->src.rows);
	uint32_t r;

	if (!buf || read_rows(c, &o->src, 0, o->src.rows, buf))
		return -1;
	for (r = 0; r < o->src.rows; r++)
		if (mem_write(c, dst + (uint64_t)r * o->dst.stride, buf + r * row,
			      row))
			return -1;
	return 0;
}

int op_argmax(struct op_ctx *c, const struct inpu_op *op)
{
	const struct inpu_op_argmax *o = &op->u.argmax;
	uint32_t rows = o->x.rows, n = o->x.cols, r, i;
	int32_t *x = load_i32(c, &o->x);
	int64_t *y = op_alloc(c, (size_t)rows * 8);

	if (!x || !y)
		return -1;
	for (r = 0; r < rows; r++) {
		const int32_t *xr = x + (size_t)r * n;
		uint32_t best = 0;

		for (i = 1; i < n; i++)
			if (xr[i] > xr[best])
				best = i;
		y[r] = best;
	}
	return store_i64(c, &o->y, y);
}

/* xorshift64* (Vigna): the device's PRNG; state 0 is replaced first. */
static uint32_t prng_next(uint64_t *state)
{
	uint64_t x = *state ? *state : 0x9e3779b97f4a7c15ull;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return (uint32_t)((x * 0x2545f4914f6cdd1dull) >> 32);
}

/* Sort indices by weight, largest first, ties by lower index (heap sort:
 * bounded time and no recursion).
 */
static int before(const uint32_t *w, uint32_t a, uint32_t b)
{
	return w[a] > w[b] || (w[a] == w[b] && a < b);
}

static void sift_down(uint32_t *idx, const uint32_t *w, uint32_t root,
		      uint32_t n)
{
	for (;;) {
		uint32_t child = 2 * root + 1, tmp;

		if (child >= n)
			return;
		/* A min-heap under before(): the root comes last in order. */
		if (child + 1 < n && before(w, idx[child], idx[child + 1]))
			child++;
		if (!before(w, idx[root], idx[child]))
			return;
		tmp = idx[root];
		idx[root] = idx[child];
		idx[child] = tmp;
		root = child;
	}
}

static void sort_by_weight(uint32_t *idx, const uint32_t *w, uint32_t n)
{
	uint32_t i, tmp;

	for (i = n / 2; i-- > 0;)
		sift_down(idx, w, i, n);
	for (i = n; i-- > 1;) {
		tmp = idx[0];
		idx[0] = idx[i];
		idx[i] = tmp;
		sift_down(idx, w, 0, i);
	}
}

int op_sample(struct op_ctx *c, const struct inpu_op *op)
{
	const struct inpu_op_sample *o = &op->u.sample;
	const struct inpu_tables *t = c->tables;
	uint32_t n = o->x.cols, i, pick;
	int32_t *x = load_i32(c, &o->x), mx = INT32_MIN;
	uint32_t *e = op_alloc(c, (size_t)n * 4);
	uint32_t *idx = op_alloc(c, (size_t)n * 4);
	uint64_t z = 0, ztop = 0, thr, cum, state;
	uint64_t saddr = tensor_addr(c, &o->state);
	int64_t out;

	if (!x || !e || !idx || mem_read(c, saddr, &state, 8))
		return -1;
	for (i = 0; i < n; i++)
		if (x[i] > mx)
			mx = x[i];
	for (i = 0; i < n; i++) {
		e[i] = t->exp[exp_index(t, (int64_t)mx - x[i], o->temp_mult,
					o->temp_shift)];
		z += e[i];
		idx[i] = i;
	}
	sort_by_weight(idx, e, n);
	/* The smallest prefix holding at least top_p of the mass. */
	for (i = 0; i < n; i++) {
		ztop += e[idx[i]];
		if (ztop * 65536 >= (uint64_t)o->top_p * z)
			break;
	}
	thr = ((uint64_t)prng_next(&state) * ztop) >> 32;
	cum = 0;
	pick = idx[0];
	for (i = 0; i < n; i++) {
		cum += e[idx[i]];
		if (cum > thr) {
			pick = idx[i];
			break;
		}
	}
	out = pick;
	if (mem_write(c, saddr, &state, 8))
		return -1;
	return store_i64(c, &o->y, &out);
}

int op_fwht(struct op_ctx *c, const struct inpu_op *op)
{
	const struct inpu_op_fwht *o = &op->u.fwht;
	uint64_t count = (uint64_t)o->x.rows * o->x.cols, i;
	uint32_t n = o->x.cols, b = o->block, r, s, len, j, l;
	int32_t *x = load_i32(c, &o->x);
	int64_t *y = op_alloc(c, count * 8);

	if (!x || !y)
		return -1;
	for (r = 0; r < o->x.rows; r++) {
		for (s = 0; s < n; s += b) {
			int32_t *v = x + (size_t)r * n + s;

			for (len = 1; len < b; len <<= 1) {
				for (j = 0; j < b; j += 2 * len) {
					for (l = j; l < j + len; l++) {
						int32_t a0 = v[l], a1 = v[l + len];

						v[l] = wadd32(a0, a1);
						v[l + len] = (int32_t)((uint32_t)a0 -
								       (uint32_t)a1);
					}
				}
			}
		}
	}
	for (i = 0; i < count; i++)
		y[i] = requant(x[i], o->mult, o->shift);
	return store_i64(c, &o->y, y);
}
