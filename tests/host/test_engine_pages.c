// SPDX-License-Identifier: MIT
/*
 * MATMUL reads W4 weight tiles and group rows in place through map(), as
 * the device does: there every 4 KiB page of a buffer is wherever the
 * guest put it.  Here each device page is its own heap block (ASan sees a
 * read that runs past one), map() serves one page at most and may refuse
 * some, and the result must be bit-identical to a run that copies every
 * operand (no map()), at every kernel level: for scales with zero points
 * and for codes, group tensors at page, 64-byte and unaligned offsets,
 * and a K long enough to be cut into several kernel calls.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_util.h"
#include "kselftest_harness.h"

#define PAGE 4096u

/* Device memory as scattered pages (see the top of the file). */
struct page_mem {
	uint64_t base;
	uint32_t n;
	uint8_t **page;
	uint8_t *nomap;		/* map() refuses these pages */
	uint64_t watch, watch_len; /* count map() calls inside this range */
	unsigned int watch_calls, crossing;
};

static int pm_copy(struct page_mem *m, uint64_t addr, uint8_t *buf,
		   uint64_t len, int write)
{
	while (len) {
		uint64_t p = (addr - m->base) / PAGE, off = addr % PAGE;
		uint64_t l = len < PAGE - off ? len : PAGE - off;

		if (addr < m->base || p >= m->n)
			return -1;
		if (write)
			memcpy(m->page[p] + off, buf, l);
		else
			memcpy(buf, m->page[p] + off, l);
		addr += l;
		buf += l;
		len -= l;
	}
	return 0;
}

static int pm_read(void *ctx, uint64_t addr, void *dst, uint64_t len)
{
	return pm_copy(ctx, addr, dst, len, 0);
}

static int pm_write(void *ctx, uint64_t addr, const void *src, uint64_t len)
{
	return pm_copy(ctx, addr, (uint8_t *)src, len, 1);
}

static const void *pm_map(void *ctx, uint64_t addr, uint64_t len)
{
	struct page_mem *m = ctx;
	uint64_t p = (addr - m->base) / PAGE;

	if (addr >= m->watch && addr - m->watch < m->watch_len)
		m->watch_calls++;
	if (addr % PAGE + len > PAGE) {
		m->crossing++;
		return NULL;
	}
	if (addr < m->base || p >= m->n || m->nomap[p])
		return NULL;
	return m->page[p] + addr % PAGE;
}

static const struct inpu_mem_ops page_ops = {
	.read = pm_read,
	.write = pm_write,
	.map = pm_map,
};

/* The flat memory @f, page by page, each page its own heap block. */
static int pm_from_flat(struct page_mem *m, const struct flat_mem *f)
{
	uint32_t i;

	memset(m, 0, sizeof(*m));
	m->base = f->base;
	m->n = (uint32_t)((f->size + PAGE - 1) / PAGE);
	m->page = calloc(m->n, sizeof(*m->page));
	m->nomap = calloc(m->n, 1);
	if (!m->page || !m->nomap)
		return -1;
	for (i = 0; i < m->n; i++) {
		uint64_t l = f->size - (uint64_t)i * PAGE;

		m->page[i] = calloc(1, PAGE);
		if (!m->page[i])
			return -1;
		memcpy(m->page[i], f->buf + (size_t)i * PAGE, l < PAGE ? l : PAGE);
	}
	return 0;
}

static void pm_free(struct page_mem *m)
{
	uint32_t i;

	for (i = 0; m->page && i < m->n; i++)
		free(m->page[i]);
	free(m->page);
	free(m->nomap);
}

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
	rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(rng_state >> 33) % n;
}

/*
 * One W4 MATMUL, groups of 16: M x K activations, N x K weights, the
 * group tensor(s) @goff bytes into their allocation, INT32 y (the exact
 * sums: qparam 1, 0).  @codes: one code tensor, else scales and zero
 * points.
 */
struct w4_case {
	uint32_t m, k, n, goff;
	int codes;
};

static void w4_build(struct flat_mem *f, struct stream *s,
		     const struct w4_case *c, struct inpu_tensor *gs_out)
{
	uint32_t rows = (c->k + 127) / 128 * 8, npad = (c->n + 63) / 64 * 64, i;
	uint64_t wbytes = inpu_weight_bytes(INPU_DT_W4_TILED, c->n, c->k);
	uint64_t gbytes = (uint64_t)rows * npad;
	int8_t *w = malloc((size_t)c->n * c->k);
	struct inpu_op_matmul *o;
	struct inpu_qparam *qp;
	uint8_t *p;

	stream_init(s);
	o = &stream_add(s, INPU_OP_MATMUL)->u.matmul;
	o->x = flat_tensor(f, INPU_DT_INT8, c->m, c->k);
	p = flat_ptr(f, o->x.addr);
	for (i = 0; i < c->m * c->k; i++)
		p[i] = (uint8_t)rnd(256);
	for (i = 0; i < c->n * c->k; i++)
		w[i] = (int8_t)(rnd(16) - 8);
	o->w = tensor(flat_alloc(f, wbytes), INPU_DT_W4_TILED, c->n, c->k);
	inpu_pack_w4(w, NULL, c->n, c->k, flat_ptr(f, o->w.addr), NULL);
	free(w);
	o->gscale = tensor(flat_alloc(f, gbytes + c->goff) + c->goff,
			   INPU_DT_UINT8, rows, npad);
	p = flat_ptr(f, o->gscale.addr);
	for (i = 0; i < gbytes; i++)	/* any byte is a code */
		p[i] = (uint8_t)(c->codes ? rnd(256) : 1 + rnd(255));
	if (c->codes) {
		o->gfmt = INPU_W4_GFMT_CODES;
	} else {
		o->gzero = tensor(flat_alloc(f, gbytes + c->goff) + c->goff,
				  INPU_DT_INT8, rows, npad);
		p = flat_ptr(f, o->gzero.addr);
		for (i = 0; i < gbytes; i++)
			p[i] = (uint8_t)rnd(256);
	}
	o->group = 16;
	o->qp = flat_tensor(f, INPU_DT_QPARAM, 1, c->n);
	qp = flat_ptr(f, o->qp.addr);
	for (i = 0; i < c->n; i++) {
		qp[i].mult = 1;
		qp[i].shift = 0;
	}
	o->y = flat_tensor(f, INPU_DT_INT32, c->m, c->n);
	*gs_out = o->gscale;
}

static int run_on(struct inpu_engine *e, const struct inpu_tables *t,
		  const struct inpu_mem_ops *ops, void *mem,
		  const struct stream *s)
{
	struct inpu_run_result res;

	inpu_engine_run(e, t, ops, mem, s, stream_len(s), NULL, &res);
	return res.status;
}

FIXTURE(pages) {
	struct inpu_tables_store tables;
	struct inpu_engine *e[INPU_ISA_AVX512_VNNI + 1];
};

FIXTURE_SETUP(pages)
{
	int l;

	ASSERT_EQ(0, inpu_tables_default(&self->tables));
	for (l = INPU_ISA_SCALAR; l <= INPU_ISA_AVX512_VNNI; l++) {
		self->e[l] = inpu_engine_new(l, NULL);
		ASSERT_NE(NULL, self->e[l]);
		/* inpu_engine_new() caps the level at what the CPU has. */
		if ((int)inpu_engine_level(self->e[l]) != l) {
			TH_LOG("%s: not on this CPU", inpu_isa_level_name(l));
			inpu_engine_free(self->e[l]);
			self->e[l] = NULL;
		}
	}
}

FIXTURE_TEARDOWN(pages)
{
	int l;

	for (l = INPU_ISA_SCALAR; l <= INPU_ISA_AVX512_VNNI; l++)
		inpu_engine_free(self->e[l]);
	inpu_tables_release(&self->tables);
}

/*
 * @c copied (no map) by the scalar engine, then in place at every level,
 * with map() refusing nothing or one page of the group tensor.  Group
 * rows are read in place exactly when the tensor sits 64-byte aligned.
 */
static void w4_check(struct __test_metadata *_metadata, FIXTURE_DATA(pages) *self,
		     const struct w4_case *c)
{
	uint64_t ybytes = (uint64_t)c->m * c->n * 4;
	struct inpu_tensor gs;
	struct flat_mem f;
	struct stream s;
	uint8_t *ref = malloc(ybytes), *got = malloc(ybytes);
	int l, refuse;

	ASSERT_EQ(0, flat_init(&f, 32ull * PAGE + 3ull * c->k * c->n));
	w4_build(&f, &s, c, &gs);
	f.allow_map = 0;
	ASSERT_EQ(0, run_on(self->e[INPU_ISA_SCALAR], &self->tables.t, &flat_ops,
			    &f, &s));
	memcpy(ref, flat_ptr(&f, s.ops[0].u.matmul.y.addr), ybytes);

	for (l = INPU_ISA_SCALAR; l <= INPU_ISA_AVX512_VNNI; l++) {
		for (refuse = 0; refuse < 2 && self->e[l]; refuse++) {
			struct page_mem pm;
			uint64_t gpage = (gs.addr - f.base) / PAGE;
			int aligned = !(c->goff % 64);

			ASSERT_EQ(0, pm_from_flat(&pm, &f));
			memset(pm.page[(s.ops[0].u.matmul.y.addr - f.base) / PAGE], 0x5a,
			       PAGE);
			pm.watch = gs.addr;
			pm.watch_len = (uint64_t)gs.rows * gs.cols;
			if (refuse)
				pm.nomap[gpage + 1] = 1;
			EXPECT_EQ(0, run_on(self->e[l], &self->tables.t, &page_ops,
					    &pm, &s));
			ASSERT_EQ(0, pm_read(&pm, s.ops[0].u.matmul.y.addr, got, ybytes));
			EXPECT_EQ(0, memcmp(ref, got, ybytes)) {
				TH_LOG("%s: M %u K %u N %u goff %u codes %d refuse %d",
				       inpu_isa_level_name(l), c->m, c->k, c->n,
				       c->goff, c->codes, refuse);
			}
			EXPECT_EQ(0u, pm.crossing);
			/* in place when aligned, else copied without asking */
			EXPECT_EQ(aligned, pm.watch_calls > 0);
			pm_free(&pm);
		}
	}
	flat_free(&f);
	free(ref);
	free(got);
}

TEST_F(pages, w4_group_rows_in_place)
{
	static const uint32_t goffs[] = { 0, 64, 4032, 32 };
	/* y rows of N = 192 span pages; K = 8320 is 65 tiles, two calls */
	static const struct { uint32_t m, k, n; } shapes[] = {
		{ 1, 768, 192 }, { 3, 768, 192 }, { 2, 8320, 64 },
	};
	unsigned int si, gi;
	int codes;

	rng_state = 42;
	for (si = 0; si < sizeof(shapes) / sizeof(shapes[0]); si++)
		for (gi = 0; gi < sizeof(goffs) / sizeof(goffs[0]); gi++)
			for (codes = 0; codes < 2; codes++) {
				struct w4_case c = {
					shapes[si].m, shapes[si].k, shapes[si].n,
					goffs[gi], codes
				};

				w4_check(_metadata, self, &c);
			}
}

TEST_HARNESS_MAIN
