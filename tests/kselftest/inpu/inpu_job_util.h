/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers shared by inpu_job_test.c and inpu_job_bench.c: a deterministic
 * random source, matmul problems laid out in BOs, and the engine run on
 * host copies of BOs at the same device addresses (the CPU reference).
 *
 * Functions return 0 or a negative errno and never abort, so they also
 * work in forked children where the harness's ASSERTs must not be used.
 */
#ifndef INPU_JOB_UTIL_H
#define INPU_JOB_UTIL_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <xf86drm.h>
#include <drm/inpu_accel.h>
#include <inpu/inpu_isa.h>

#include "inpu_engine.h"
#include "libinpu.h"
#include "tables_gen.h"

#define SEC_NS		1000000000ll
#define WAIT_NS		(10 * SEC_NS)

static inline uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

static inline int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * SEC_NS + ts.tv_nsec;
}

/* xorshift64*: deterministic test data. */
static inline uint32_t rnd(uint64_t *s)
{
	uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ull;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return (uint32_t)((x * 0x2545f4914f6cdd1dull) >> 32);
}

/* Uniform in [lo, hi]. */
static inline int32_t rnd_range(uint64_t *s, int32_t lo, int32_t hi)
{
	return lo + (int32_t)(rnd(s) % (uint32_t)(hi - lo + 1));
}

static inline unsigned int dt_size(uint8_t dt)
{
	switch (dt) {
	case INPU_DT_INT8:
	case INPU_DT_UINT8:
		return 1;
	case INPU_DT_INT16:
		return 2;
	case INPU_DT_INT32:
		return 4;
	default:
		return 8;
	}
}

/* ---- matmul problems ---------------------------------------------------- */

/*
 * y[M][N] = requant(x[M][K] . w[N][K]^T + bias) for each of @pos positions:
 * x and y hold @pos blocks of M rows, and a job picks block p with a
 * parameter (dyn_param) when @pos > 1.
 */
struct mm {
	uint32_t m, k, n, pos;
	uint8_t wdt;		/* INPU_DT_W8_TILED or INPU_DT_W4_TILED */
	uint8_t ydt;		/* INPU_DT_INT8/16/32 */
	int has_bias;
	int8_t *x;		/* [pos * m][k] */
	int8_t *w;		/* [n][k]: int8, or int4 values for W4 */
	uint8_t *gs;		/* W4: [n][ceil(k / 32)] group scales */
	int32_t *bias;		/* [n] */
	struct inpu_qparam *qp;	/* [n] */
	/* Byte offsets in the input BO, and its size. */
	uint64_t off_x, off_bias, off_qp, off_gs, off_w, in_size;
	/* Bytes of y for one position, and for all. */
	uint64_t y_bytes, out_size;
};

static inline uint32_t mm_groups(const struct mm *mm)
{
	return (mm->k + INPU_W4_GROUP - 1) / INPU_W4_GROUP;
}

static inline void mm_free(struct mm *mm)
{
	free(mm->x);
	free(mm->w);
	free(mm->gs);
	free(mm->bias);
	free(mm->qp);
	memset(mm, 0, sizeof(*mm));
}

/*
 * Random data and the input BO layout.  Requantization scales are chosen
 * so that outputs spread over the output type with a few saturating.
 */
static inline int mm_init(struct mm *mm, uint32_t m, uint32_t k, uint32_t n,
			  uint32_t pos, uint8_t wdt, uint8_t ydt, int has_bias,
			  uint64_t seed)
{
	uint64_t s = seed, wbytes, gsbytes = 0, est, target;
	uint32_t i, groups;
	int shift;
	int w4 = wdt == INPU_DT_W4_TILED;

	memset(mm, 0, sizeof(*mm));
	mm->m = m;
	mm->k = k;
	mm->n = n;
	mm->pos = pos;
	mm->wdt = wdt;
	mm->ydt = ydt;
	mm->has_bias = has_bias;
	groups = mm_groups(mm);
	mm->x = malloc((size_t)pos * m * k);
	mm->w = malloc((size_t)n * k);
	mm->gs = malloc((size_t)n * groups);
	mm->bias = malloc((size_t)n * sizeof(*mm->bias));
	mm->qp = malloc((size_t)n * sizeof(*mm->qp));
	if (!mm->x || !mm->w || !mm->gs || !mm->bias || !mm->qp) {
		mm_free(mm);
		return -ENOMEM;
	}
	for (i = 0; i < pos * m * k; i++)
		mm->x[i] = (int8_t)rnd_range(&s, -128, 127);
	for (i = 0; i < n * k; i++)
		mm->w[i] = (int8_t)(w4 ? rnd_range(&s, -8, 7) :
				   rnd_range(&s, -128, 127));
	for (i = 0; i < n * groups; i++)
		mm->gs[i] = (uint8_t)rnd_range(&s, 1, 40);
	/*
	 * Typical |acc|: 73 * 73 * sqrt(K) for W8 (uniform int8 has a
	 * standard deviation of 73), 73 * 4.6 * 20 * sqrt(K) for W4 (int4:
	 * 4.6, group scales about 20).  Aim the typical |y| at a third of
	 * the output range with mult about 1000.
	 */
	est = (w4 ? 73ull * 92 : 73ull * 73);
	for (i = 1; (uint64_t)i * i <= k; i++)
		;
	est *= i - 1;
	target = ydt == INPU_DT_INT8 ? 40 : ydt == INPU_DT_INT16 ? 10000 :
		 700000000ull;
	for (shift = 0; (est * 1000) >> shift > target; shift++)
		;
	for (i = 0; i < n; i++) {
		mm->bias[i] = has_bias ? rnd_range(&s, -60000, 60000) : 0;
		mm->qp[i].mult = rnd_range(&s, 400, 1600);
		mm->qp[i].shift = shift ? shift + rnd_range(&s, -1, 1) : 0;
	}
	/* A channel with a negative scale, and one that saturates. */
	mm->qp[0].mult = -mm->qp[0].mult;
	if (n > 1) {
		mm->qp[1].mult = 1;
		mm->qp[1].shift = 0;
	}

	wbytes = inpu_weight_bytes(wdt, n, k);
	if (w4)
		gsbytes = inpu_w4_gscale_bytes(n, k);
	mm->off_x = 0;
	mm->off_bias = align_up((uint64_t)pos * m * k, 64);
	mm->off_qp = align_up(mm->off_bias + 4ull * n, 64);
	mm->off_gs = align_up(mm->off_qp + 8ull * n, 64);
	mm->off_w = align_up(mm->off_gs + gsbytes, INPU_TILE_BYTES);
	mm->in_size = mm->off_w + wbytes;
	mm->y_bytes = (uint64_t)m * n * dt_size(ydt);
	mm->out_size = mm->y_bytes * pos;
	return 0;
}

/* Write the input BO's bytes (packed weights included) at @p. */
static inline void mm_fill(const struct mm *mm, uint8_t *p)
{
	memset(p, 0, mm->in_size);
	memcpy(p + mm->off_x, mm->x, (size_t)mm->pos * mm->m * mm->k);
	memcpy(p + mm->off_bias, mm->bias, 4ull * mm->n);
	memcpy(p + mm->off_qp, mm->qp, 8ull * mm->n);
	if (mm->wdt == INPU_DT_W4_TILED)
		inpu_pack_w4(mm->w, mm->gs, mm->n, mm->k, p + mm->off_w,
			     p + mm->off_gs);
	else
		inpu_pack_w8(mm->w, mm->n, mm->k, p + mm->off_w);
}

/*
 * The MATMUL op for inputs at @in_dva and y at @y_dva.  With @param (a
 * dyn_param reference, 1-based) x and y follow the position parameter.
 */
static inline void mm_op(const struct mm *mm, uint64_t in_dva, uint64_t y_dva,
			 int param, struct inpu_op *op)
{
	struct inpu_op_matmul *o = &op->u.matmul;
	uint32_t npad = (uint32_t)align_up(mm->n, INPU_TILE_N);
	uint32_t kpad = (uint32_t)align_up(mm->k, INPU_W4_TILE_K);

	memset(op, 0, sizeof(*op));
	op->opcode = INPU_OP_MATMUL;
	o->x = inpu_tensor_2d(in_dva + mm->off_x, INPU_DT_INT8, mm->m, mm->k);
	o->w = inpu_tensor_2d(in_dva + mm->off_w, mm->wdt, mm->n, mm->k);
	if (mm->wdt == INPU_DT_W4_TILED)
		o->gscale = inpu_tensor_2d(in_dva + mm->off_gs, INPU_DT_UINT8,
					   kpad / INPU_W4_GROUP, npad);
	if (mm->has_bias)
		o->bias = inpu_tensor_2d(in_dva + mm->off_bias, INPU_DT_INT32,
					 1, mm->n);
	o->qp = inpu_tensor_2d(in_dva + mm->off_qp, INPU_DT_QPARAM, 1, mm->n);
	o->y = inpu_tensor_2d(y_dva, mm->ydt, mm->m, mm->n);
	if (param) {
		o->x.dyn_param = (uint8_t)param;
		o->x.dyn_mul = mm->m * mm->k;
		o->y.dyn_param = (uint8_t)param;
		o->y.dyn_mul = (uint32_t)mm->y_bytes;
	}
}

static inline int64_t isa_rshift_round(int64_t v, int s)
{
	if (!s)
		return v;
	return (int64_t)((uint64_t)v + (1ull << (s - 1))) >> s;
}

/*
 * engine/ISA.md section 3.1 written out plainly, independent of the tile
 * layouts and of the engine: y for position @p into @y (y_bytes).
 */
static inline void mm_naive(const struct mm *mm, uint32_t p, void *y)
{
	uint32_t groups = mm_groups(mm), r, c, i, g;
	int64_t lo, hi;

	switch (mm->ydt) {
	case INPU_DT_INT8:
		lo = INT8_MIN;
		hi = INT8_MAX;
		break;
	case INPU_DT_INT16:
		lo = INT16_MIN;
		hi = INT16_MAX;
		break;
	default:
		lo = INT32_MIN;
		hi = INT32_MAX;
		break;
	}
	for (r = 0; r < mm->m; r++) {
		const int8_t *x = mm->x + ((size_t)p * mm->m + r) * mm->k;

		for (c = 0; c < mm->n; c++) {
			const int8_t *w = mm->w + (size_t)c * mm->k;
			uint32_t acc = 0;
			int64_t v;
			int shift;

			if (mm->wdt == INPU_DT_W8_TILED) {
				for (i = 0; i < mm->k; i++)
					acc += (uint32_t)(x[i] * w[i]);
			} else {
				for (g = 0; g < groups; g++) {
					uint32_t part = 0;

					for (i = g * INPU_W4_GROUP;
					     i < mm->k && i < (g + 1) * INPU_W4_GROUP; i++)
						part += (uint32_t)(x[i] * w[i]);
					acc += mm->gs[(size_t)c * groups + g] * part;
				}
			}
			if (mm->has_bias)
				acc += (uint32_t)mm->bias[c];
			shift = mm->qp[c].shift < 0 ? 0 :
				mm->qp[c].shift > 62 ? 62 : mm->qp[c].shift;
			v = (int64_t)((uint64_t)(int64_t)(int32_t)acc *
				      (uint64_t)(int64_t)mm->qp[c].mult);
			v = isa_rshift_round(v, shift);
			v = v < lo ? lo : v > hi ? hi : v;
			switch (mm->ydt) {
			case INPU_DT_INT8:
				((int8_t *)y)[r * mm->n + c] = (int8_t)v;
				break;
			case INPU_DT_INT16:
				((int16_t *)y)[r * mm->n + c] = (int16_t)v;
				break;
			default:
				((int32_t *)y)[r * mm->n + c] = (int32_t)v;
				break;
			}
		}
	}
}

/* ---- the CPU reference: the engine over host copies of BOs ------------ */

#define REF_MAX_REGIONS 8

struct ref_mem {
	unsigned int n;
	struct {
		uint64_t dva, len;
		uint8_t *buf;
	} r[REF_MAX_REGIONS];
};

static inline uint8_t *ref_at(struct ref_mem *m, uint64_t addr, uint64_t len)
{
	unsigned int i;

	for (i = 0; i < m->n; i++) {
		if (addr >= m->r[i].dva && len <= m->r[i].len &&
		    addr - m->r[i].dva <= m->r[i].len - len)
			return m->r[i].buf + (addr - m->r[i].dva);
	}
	return NULL;
}

static inline int ref_read(void *ctx, uint64_t addr, void *dst, uint64_t len)
{
	uint8_t *p = ref_at(ctx, addr, len);

	if (!p)
		return -1;
	memcpy(dst, p, len);
	return 0;
}

static inline int ref_write(void *ctx, uint64_t addr, const void *src,
			    uint64_t len)
{
	uint8_t *p = ref_at(ctx, addr, len);

	if (!p)
		return -1;
	memcpy(p, src, len);
	return 0;
}

static const struct inpu_mem_ops ref_ops = {
	.read = ref_read,
	.write = ref_write,
	.map = NULL,
};

/* Add a host copy of @bo's current contents at the BO's DVA. */
static inline int ref_add(struct ref_mem *m, const struct inpu_bo *bo)
{
	uint8_t *buf;

	if (m->n == REF_MAX_REGIONS)
		return -ENOSPC;
	buf = malloc(inpu_bo_size(bo));
	if (!buf)
		return -ENOMEM;
	memcpy(buf, inpu_bo_ptr(bo), inpu_bo_size(bo));
	m->r[m->n].dva = inpu_bo_dva(bo);
	m->r[m->n].len = inpu_bo_size(bo);
	m->r[m->n].buf = buf;
	m->n++;
	return 0;
}

/* The host copy of @bo. */
static inline uint8_t *ref_buf(struct ref_mem *m, const struct inpu_bo *bo)
{
	return ref_at(m, inpu_bo_dva(bo), inpu_bo_size(bo));
}

static inline void ref_free(struct ref_mem *m)
{
	unsigned int i;

	for (i = 0; i < m->n; i++)
		free(m->r[i].buf);
	m->n = 0;
}

struct ref_engine {
	struct inpu_tables_store tables;
	struct inpu_engine *e;
};

/* The scalar kernels, with the device's systolic array for the model. */
static inline int ref_engine_init(struct ref_engine *re,
				  const struct drm_inpu_device_info *info)
{
	struct inpu_machine mach;

	memset(re, 0, sizeof(*re));
	if (inpu_tables_default(&re->tables))
		return -ENOMEM;
	inpu_machine_default(&mach);
	if (info->sa_rows)
		mach.sa_rows = info->sa_rows;
	if (info->sa_cols)
		mach.sa_cols = info->sa_cols;
	re->e = inpu_engine_new(INPU_ISA_SCALAR, &mach);
	if (!re->e) {
		inpu_tables_release(&re->tables);
		return -ENOMEM;
	}
	return 0;
}

static inline void ref_engine_fini(struct ref_engine *re)
{
	if (re->e)
		inpu_engine_free(re->e);
	inpu_tables_release(&re->tables);
	re->e = NULL;
}

/* Validate (every region read-write) and run; returns the run status. */
static inline int ref_run(struct ref_engine *re, struct ref_mem *m,
			  const void *stream, size_t len,
			  const uint32_t *params, struct inpu_run_result *res)
{
	struct inpu_region regions[REF_MAX_REGIONS];
	struct inpu_verror err;
	unsigned int i;
	int ret;

	memset(regions, 0, sizeof(regions));
	for (i = 0; i < m->n; i++) {
		regions[i].start = m->r[i].dva;
		regions[i].len = m->r[i].len;
		regions[i].flags = INPU_REGION_READ | INPU_REGION_WRITE;
	}
	ret = inpu_validate_stream(stream, len, regions, m->n, &err);
	if (ret) {
		memset(res, 0, sizeof(*res));
		res->status = ret;
		res->fault_op = err.op;
		return ret;
	}
	inpu_engine_run(re->e, &re->tables.t, &ref_ops, m, stream, len, params,
			res);
	return res->status;
}

/* ---- jobs ---------------------------------------------------------------- */

/* Submit a command buffer and wait for it (10 s). */
static inline int run_cmdbuf(struct inpu_dev *dev, uint32_t cb,
			     const uint32_t *params, uint32_t n_params,
			     struct drm_inpu_wait *res)
{
	uint64_t id;
	int ret;

	ret = inpu_submit_cmdbuf(dev, cb, params, n_params, NULL, 0, 0, &id);
	if (ret)
		return ret;
	return inpu_wait(dev, id, WAIT_NS, res);
}

/* A stream of one op, from libinpu's builder, into a command buffer. */
static inline int cmdbuf_one_op(struct inpu_dev *dev, const struct inpu_op *op,
				uint32_t pmin, uint32_t pmax, int with_param,
				const struct drm_inpu_bo_ref *refs, uint32_t n,
				uint32_t *cb, struct drm_inpu_verror *verr)
{
	struct inpu_stream *s = inpu_stream_new();
	const void *data;
	size_t len;
	int ret = 0;

	if (!s)
		return -ENOMEM;
	if (with_param)
		ret = inpu_stream_param(s, pmin, pmax);
	if (ret >= 0)
		ret = inpu_stream_add(s, op);
	if (ret >= 0) {
		data = inpu_stream_data(s, &len);
		ret = inpu_cmdbuf_create(dev, data, len, refs, n, cb, verr);
	}
	inpu_stream_free(s);
	return ret < 0 ? ret : 0;
}

/* The empty job: one NOP, with a 4 KiB BO (a command buffer lists one). */
static inline int nop_cmdbuf(struct inpu_dev *dev, struct inpu_bo **bo,
			     uint32_t *cb)
{
	struct drm_inpu_bo_ref ref;
	struct inpu_op op;
	int ret = inpu_bo_alloc(dev, 4096, 0, bo);

	if (ret)
		return ret;
	memset(&op, 0, sizeof(op));
	op.opcode = INPU_OP_NOP;
	ref.handle = inpu_bo_handle(*bo);
	ref.flags = DRM_INPU_REF_READ;
	return cmdbuf_one_op(dev, &op, 0, 0, 0, &ref, 1, cb, NULL);
}

/*
 * @mm's input BO (filled, device read-only), output BO and a command
 * buffer of its MATMUL (one position).
 */
static inline int mm_cmdbuf(struct inpu_dev *dev, const struct mm *mm,
			    struct inpu_bo **in, struct inpu_bo **out,
			    uint32_t *cb)
{
	struct drm_inpu_bo_ref refs[2];
	struct inpu_op op;
	int ret;

	ret = inpu_bo_alloc(dev, mm->in_size, DRM_INPU_BO_DEVICE_READONLY, in);
	if (!ret)
		ret = inpu_bo_alloc(dev, mm->out_size, 0, out);
	if (ret)
		return ret;
	mm_fill(mm, inpu_bo_ptr(*in));
	mm_op(mm, inpu_bo_dva(*in), inpu_bo_dva(*out), 0, &op);
	refs[0].handle = inpu_bo_handle(*in);
	refs[0].flags = DRM_INPU_REF_READ;
	refs[1].handle = inpu_bo_handle(*out);
	refs[1].flags = DRM_INPU_REF_WRITE;
	return cmdbuf_one_op(dev, &op, 0, 0, 0, refs, 2, cb, NULL);
}

#endif /* INPU_JOB_UTIL_H */
