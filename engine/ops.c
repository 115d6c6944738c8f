// SPDX-License-Identifier: MIT
/*
 * The element-wise and reduction ops, scalar (engine/ISA.md gives each
 * formula).  Every op gives the result of reading all of its inputs before
 * writing its output, so outputs may alias inputs.
 *
 * The ops stream their operands in chunks of OP_CHUNK elements (a row
 * piece, whole FWHT blocks, whole attention heads) and write each chunk
 * of output as it is done, so their scratch memory does not grow with the
 * tensors; inpu_eng_out_hazard() says when an aliased output must be
 * staged whole instead.  What is still read whole: SAMPLE's logits (at
 * most 65536) and an FWHT block wider than a chunk (at most 2^24 int32).
 * ATTENTION is in attention.c.
 */
#include <string.h>

#include "engine_internal.h"

int inpu_eng_op_nop(struct op_ctx *c, const struct inpu_op *op)
{
	(void)c;
	(void)op;
	return 0;
}

/* Chunk length at flat element @i0 of a tensor of @count. */
static uint64_t chunk_at(uint64_t i0, uint64_t count)
{
	return inpu_eng_min_u64(OP_CHUNK, count - i0);
}

/*
 * Elements of a chunk buffer for a tensor of @count: no larger than the
 * tensor, as inpu_eng_op_alloc zeroes it for every op and decode's are
 * small.
 */
static uint64_t chunk_for(uint64_t count)
{
	return inpu_eng_min_u64(OP_CHUNK, count);
}

int inpu_eng_op_rmsnorm(struct op_ctx *c, const struct inpu_op *op)
{
	const struct inpu_op_rmsnorm *o = &op->u.rmsnorm;
	uint32_t rows = o->x.rows, n = o->x.cols, r;
	uint64_t i0, len, i, base;
	/* A row that fits one chunk is read once, and g once for all rows. */
	int whole = n <= OP_CHUNK;
	uint64_t ch = chunk_for(n);
	int32_t *x = inpu_eng_op_alloc(c, ch * 4);
	int32_t *g = inpu_eng_op_alloc(c, ch * 4);
	int64_t *v = inpu_eng_op_alloc(c, ch * 8);
	struct out_stream out;

	if (!x || !g || !v ||
	    inpu_eng_out_open(c, &out, &o->y, ch,
			      inpu_eng_out_hazard(c, &o->y, &o->x, 1) ||
			      inpu_eng_out_hazard(c, &o->y, &o->g, 0)) ||
	    (whole && inpu_eng_read_i32(c, &o->g, 0, n, g)))
		return -1;
	for (r = 0; r < rows; r++) {
		uint64_t ss = 0, s, inv;

		base = (uint64_t)r * n;
		for (i0 = 0; i0 < n; i0 += len) {
			len = chunk_at(i0, n);
			if (inpu_eng_read_i32(c, &o->x, base + i0, len, x))
				return -1;
			for (i = 0; i < len; i++)
				ss += (uint64_t)((int64_t)x[i] * x[i]);
		}
		s = isqrt64(ss / n + o->eps);
		inv = ((uint64_t)1 << 46) / s;
		for (i0 = 0; i0 < n; i0 += len) {
			len = chunk_at(i0, n);
			if (!whole &&
			    (inpu_eng_read_i32(c, &o->x, base + i0, len, x) ||
			     inpu_eng_read_i32(c, &o->g, i0, len, g)))
				return -1;
			for (i = 0; i < len; i++) {
				int64_t norm = rshift_round(wmul64(x[i], (int64_t)inv),
							    31);

				v[i] = rshift_round(wmul64(norm, g[i]), (int)o->shift);
			}
			if (inpu_eng_out_put(c, &out, base + i0, len, v) ||
			    inpu_eng_op_work(c, len))
				return -1;
		}
	}
	return inpu_eng_out_close(c, &out);
}

/*
 * One row of ROPE.  With head_dim <= OP_CHUNK the row's (cos, sin) are
 * read once and chunks are whole heads; else each chunk stays inside one
 * head and reads its piece of (cos, sin).
 */
static int rope_row(struct op_ctx *c, const struct inpu_op_rope *o,
		    uint32_t r, int32_t *x, int32_t *cs, int64_t *v,
		    struct out_stream *out)
{
	uint64_t n = o->x.cols, hd = o->head_dim, base = (uint64_t)r * n;
	uint64_t step = hd <= OP_CHUNK ? OP_CHUNK / hd * hd : OP_CHUNK;
	uint64_t i0, len, p0, j;

	if (hd <= OP_CHUNK &&
	    inpu_eng_read_i32(c, &o->cs, (uint64_t)r * hd, hd, cs))
		return -1;
	for (i0 = 0; i0 < n; i0 += len) {
		p0 = hd <= OP_CHUNK ? 0 : i0 % hd;
		len = hd <= OP_CHUNK ? inpu_eng_min_u64(step, n - i0) :
				       inpu_eng_min_u64(step, hd - p0);
		if ((hd > OP_CHUNK &&
		     inpu_eng_read_i32(c, &o->cs, (uint64_t)r * hd + p0, len,
				       cs)) ||
		    inpu_eng_read_i32(c, &o->x, base + i0, len, x))
			return -1;
		/* Chunks start at even elements: pairs stay together. */
		for (j = 0; j < len; j += 2) {
			uint64_t p = (i0 + j) % hd - p0;
			int64_t cv = cs[p], sv = cs[p + 1];
			int64_t x0 = x[j], x1 = x[j + 1];

			v[j] = rshift_round(x0 * cv - x1 * sv, 14);
			v[j + 1] = rshift_round(x0 * sv + x1 * cv, 14);
		}
		if (inpu_eng_out_put(c, out, base + i0, len, v) ||
		    inpu_eng_op_work(c, len))
			return -1;
	}
	return 0;
}

int inpu_eng_op_rope(struct op_ctx *c, const struct inpu_op *op)
{
	const struct inpu_op_rope *o = &op->u.rope;
	uint64_t hd = o->head_dim;
	/* rope_row's chunks: whole heads, or pieces of one. */
	uint64_t ch = inpu_eng_min_u64(hd <= OP_CHUNK ?
				       OP_CHUNK / hd * hd : OP_CHUNK,
				       o->x.cols);
	int32_t *x = inpu_eng_op_alloc(c, ch * 4);
	int32_t *cs = inpu_eng_op_alloc(c, chunk_for(hd) * 4);
	int64_t *v = inpu_eng_op_alloc(c, ch * 8);
	struct out_stream out;
	uint32_t r;

	if (!x || !cs || !v ||
	    inpu_eng_out_open(c, &out, &o->y, ch,
			      inpu_eng_out_hazard(c, &o->y, &o->x, 1) ||
			      inpu_eng_out_hazard(c, &o->y, &o->cs, 0)))
		return -1;
	for (r = 0; r < o->x.rows; r++)
		if (rope_row(c, o, r, x, cs, v, &out))
			return -1;
	return inpu_eng_out_close(c, &out);
}

int inpu_eng_op_swiglu(struct op_ctx *c, const struct inpu_op *op)
{
	const struct inpu_op_swiglu *o = &op->u.swiglu;
	const struct inpu_tables *t = c->tables;
	uint64_t count = (uint64_t)o->gate.rows * o->gate.cols, i0, len, i;
	uint64_t ch = chunk_for(count);
	int32_t *g = inpu_eng_op_alloc(c, ch * 4);
	int32_t *u = inpu_eng_op_alloc(c, ch * 4);
	int64_t *y = inpu_eng_op_alloc(c, ch * 8);
	struct out_stream out;

	if (!g || !u || !y ||
	    inpu_eng_out_open(c, &out, &o->y, ch,
			      inpu_eng_out_hazard(c, &o->y, &o->gate, 1) ||
			      inpu_eng_out_hazard(c, &o->y, &o->up, 1)))
		return -1;
	for (i0 = 0; i0 < count; i0 += len) {
		len = chunk_at(i0, count);
		if (inpu_eng_read_i32(c, &o->gate, i0, len, g) ||
		    inpu_eng_read_i32(c, &o->up, i0, len, u))
			return -1;
		for (i = 0; i < len; i++) {
			int64_t idx = rshift_round(wmul64(g[i], o->in_mult),
						   o->in_shift) + t->silu_zero;
			int64_t sv, prod;

			idx = clamp64(idx, 0, (int64_t)t->silu_len - 1);
			sv = t->silu[idx];
			prod = rshift_round(wmul64(sv, u[i]), 15);
			y[i] = requant(prod, o->out_mult, o->out_shift);
		}
		if (inpu_eng_out_put(c, &out, i0, len, y) ||
		    inpu_eng_op_work(c, len))
			return -1;
	}
	return inpu_eng_out_close(c, &out);
}

int inpu_eng_op_add(struct op_ctx *c, const struct inpu_op *op)
{
	const struct inpu_op_add *o = &op->u.add;
	uint64_t count = (uint64_t)o->a.rows * o->a.cols, i0, len, i;
	uint64_t ch = chunk_for(count);
	int32_t *a = inpu_eng_op_alloc(c, ch * 4);
	int32_t *b = inpu_eng_op_alloc(c, ch * 4);
	int64_t *y = inpu_eng_op_alloc(c, ch * 8);
	struct out_stream out;

	if (!a || !b || !y ||
	    inpu_eng_out_open(c, &out, &o->y, ch,
			      inpu_eng_out_hazard(c, &o->y, &o->a, 1) ||
			      inpu_eng_out_hazard(c, &o->y, &o->b, 1)))
		return -1;
	for (i0 = 0; i0 < count; i0 += len) {
		len = chunk_at(i0, count);
		if (inpu_eng_read_i32(c, &o->a, i0, len, a) ||
		    inpu_eng_read_i32(c, &o->b, i0, len, b))
			return -1;
		for (i = 0; i < len; i++)
			y[i] = rshift_round(wadd64(wmul64(a[i], o->a_mult),
						   wmul64(b[i], o->b_mult)),
					    o->shift);
		if (inpu_eng_out_put(c, &out, i0, len, y) ||
		    inpu_eng_op_work(c, len))
			return -1;
	}
	return inpu_eng_out_close(c, &out);
}

/*
 * Every id is checked before anything is written (a bad id fails the op
 * with its output untouched); then rows are copied a chunk at a time.
 */
int inpu_eng_op_embed(struct op_ctx *c, const struct inpu_op *op)
{
	const struct inpu_op_embed *o = &op->u.embed;
	uint64_t rows = o->ids.cols, dim = o->table.cols, m0, mn, m, i0, len, i;
	int32_t *ids = inpu_eng_op_alloc(c, chunk_for(rows) * 4);
	int32_t *tv = inpu_eng_op_alloc(c, chunk_for(dim) * 4);
	int64_t *y = inpu_eng_op_alloc(c, chunk_for(dim) * 8);
	struct out_stream out;

	if (!ids || !tv || !y)
		return -1;
	for (m0 = 0; m0 < rows; m0 += mn) {
		mn = chunk_at(m0, rows);
		if (inpu_eng_read_i32(c, &o->ids, m0, mn, ids))
			return -1;
		for (m = 0; m < mn; m++) {
			if (ids[m] < 0 || (uint32_t)ids[m] >= o->table.rows) {
				c->status = INPU_ERR_INDEX;
				return -1;
			}
		}
	}
	if (inpu_eng_out_open(c, &out, &o->y, chunk_for(dim),
			      inpu_eng_out_hazard(c, &o->y, &o->ids, 0) ||
			      inpu_eng_out_hazard(c, &o->y, &o->table, 0)))
		return -1;
	for (m0 = 0; m0 < rows; m0 += mn) {
		mn = chunk_at(m0, rows);
		/* One chunk of ids is still there from the check. */
		if (rows > OP_CHUNK &&
		    inpu_eng_read_i32(c, &o->ids, m0, mn, ids))
			return -1;
		for (m = 0; m < mn; m++) {
			/* Guest memory may change under a running job. */
			if (ids[m] < 0 || (uint32_t)ids[m] >= o->table.rows) {
				c->status = INPU_ERR_INDEX;
				return -1;
			}
			for (i0 = 0; i0 < dim; i0 += len) {
				len = chunk_at(i0, dim);
				if (inpu_eng_read_i32(c, &o->table,
						      (uint64_t)ids[m] * dim +
						      i0, len, tv))
					return -1;
				for (i = 0; i < len; i++)
					y[i] = requant(tv[i], o->mult, o->shift);
				if (inpu_eng_out_put(c, &out,
						     (m0 + m) * dim + i0, len,
						     y) ||
				    inpu_eng_op_work(c, len))
					return -1;
			}
		}
	}
	return inpu_eng_out_close(c, &out);
}

/* Staged, a chunk is read straight into its place in the staging copy. */
int inpu_eng_op_copy(struct op_ctx *c, const struct inpu_op *op)
{
	const struct inpu_op_copy *o = &op->u.copy;
	uint64_t count = (uint64_t)o->src.rows * o->src.cols, i0, len;
	struct out_stream out;

	if (inpu_eng_out_open(c, &out, &o->dst, chunk_for(count),
			      inpu_eng_out_hazard(c, &o->dst, &o->src, 1)))
		return -1;
	for (i0 = 0; i0 < count; i0 += len) {
		len = chunk_at(i0, count);
		if (inpu_eng_read_elems(c, &o->src, i0, len,
					inpu_eng_out_slot(&out, i0)) ||
		    inpu_eng_out_commit(c, &out, i0, len) ||
		    inpu_eng_op_work(c, len))
			return -1;
	}
	return inpu_eng_out_close(c, &out);
}

int inpu_eng_op_argmax(struct op_ctx *c, const struct inpu_op *op)
{
	const struct inpu_op_argmax *o = &op->u.argmax;
	uint64_t rows = o->x.rows, n = o->x.cols, r, i0, len, i;
	int32_t *x = inpu_eng_op_alloc(c, chunk_for(n) * 4);
	int64_t *y = inpu_eng_op_alloc(c, chunk_for(rows) * 8);
	struct out_stream out;

	if (!x || !y ||
	    inpu_eng_out_open(c, &out, &o->y, chunk_for(rows),
			      inpu_eng_out_hazard(c, &o->y, &o->x, 0)))
		return -1;
	for (r = 0; r < rows; r++) {
		int32_t mx = INT32_MIN;
		uint64_t best = 0;

		for (i0 = 0; i0 < n; i0 += len) {
			len = chunk_at(i0, n);
			if (inpu_eng_read_i32(c, &o->x, r * n + i0, len, x))
				return -1;
			/* Strictly greater: ties keep the lowest index. */
			for (i = 0; i < len; i++) {
				if (x[i] > mx) {
					mx = x[i];
					best = i0 + i;
				}
			}
			if (inpu_eng_op_work(c, len))
				return -1;
		}
		y[r % OP_CHUNK] = (int64_t)best;
		if ((r + 1) % OP_CHUNK == 0 || r + 1 == rows) {
			uint64_t first = r / OP_CHUNK * OP_CHUNK;

			if (inpu_eng_out_put(c, &out, first, r + 1 - first, y))
				return -1;
		}
	}
	return inpu_eng_out_close(c, &out);
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

int inpu_eng_op_sample(struct op_ctx *c, const struct inpu_op *op)
{
	const struct inpu_op_sample *o = &op->u.sample;
	const struct inpu_tables *t = c->tables;
	uint32_t n = o->x.cols, i, pick;
	int32_t *x = inpu_eng_load_i32(c, &o->x), mx = INT32_MIN;
	uint32_t *e = inpu_eng_op_alloc(c, (size_t)n * 4);
	uint32_t *idx = inpu_eng_op_alloc(c, (size_t)n * 4);
	uint64_t z = 0, ztop = 0, thr, cum, state;
	uint64_t saddr = inpu_eng_tensor_addr(c, &o->state);
	int64_t out;

	if (!x || !e || !idx || inpu_eng_mem_read(c, saddr, &state, 8))
		return -1;
	for (i = 0; i < n; i++)
		if (x[i] > mx)
			mx = x[i];
	for (i = 0; i < n; i++) {
		e[i] = t->exp[inpu_eng_exp_index(t, (int64_t)mx - x[i], o->temp_mult,
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
	if (inpu_eng_mem_write(c, saddr, &state, 8))
		return -1;
	return inpu_eng_store_i64(c, &o->y, &out);
}

/* The transform of one block in place, wrapping (engine/ISA.md). */
static int fwht_block(struct op_ctx *c, int32_t *v, uint32_t b)
{
	uint32_t len, j, l;

	for (len = 1; len < b; len <<= 1) {
		for (j = 0; j < b; j += 2 * len) {
			for (l = j; l < j + len; l++) {
				int32_t a0 = v[l], a1 = v[l + len];

				v[l] = wadd32(a0, a1);
				v[l + len] = (int32_t)((uint32_t)a0 - (uint32_t)a1);
			}
		}
		/* One stage of a block of 2^24 is tens of milliseconds. */
		if (inpu_eng_op_work(c, b))
			return -1;
	}
	return 0;
}

/*
 * Chunks of whole blocks; a block wider than a chunk is one chunk (the
 * butterflies need all of it: up to 2^24 int32, 64 MiB).
 */
int inpu_eng_op_fwht(struct op_ctx *c, const struct inpu_op *op)
{
	const struct inpu_op_fwht *o = &op->u.fwht;
	uint64_t count = (uint64_t)o->x.rows * o->x.cols, i0, len, k, kn, i;
	uint32_t b = o->block;
	uint64_t step = inpu_eng_min_u64(b <= OP_CHUNK ? OP_CHUNK / b * b : b,
					 count);
	int32_t *x = inpu_eng_op_alloc(c, step * 4);
	int64_t *y = inpu_eng_op_alloc(c, chunk_for(step) * 8);
	struct out_stream out;

	if (!x || !y ||
	    inpu_eng_out_open(c, &out, &o->y, chunk_for(step),
			      inpu_eng_out_hazard(c, &o->y, &o->x, 1)))
		return -1;
	/* Blocks divide rows, so a chunk of whole blocks never splits one. */
	for (i0 = 0; i0 < count; i0 += len) {
		len = inpu_eng_min_u64(step, count - i0);
		if (inpu_eng_read_i32(c, &o->x, i0, len, x))
			return -1;
		for (i = 0; i < len; i += b)
			if (fwht_block(c, x + i, b))
				return -1;
		for (k = 0; k < len; k += kn) {
			kn = chunk_at(k, len);
			for (i = 0; i < kn; i++)
				y[i] = requant(x[k + i], o->mult, o->shift);
			if (inpu_eng_out_put(c, &out, i0 + k, kn, y))
				return -1;
		}
	}
	return inpu_eng_out_close(c, &out);
}
