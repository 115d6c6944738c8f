// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the command-stream validator (engine/validate.c):
 * the driver runs it on every command buffer userspace submits, and the
 * engine trusts whatever it accepts (it does not check again at run
 * time).  So besides ASan and UBSan this checks the validator's promises:
 *  - the status, op index and slot it reports are consistent, with or
 *    without an error report, and the ops before a rejected one pass;
 *  - an accepted stream stays accepted with more permissions;
 *  - an accepted stream (with disjoint buffers of at most 64 KiB and a
 *    bounded modelled cost), run by the engine over memory that traps on
 *    any access outside the job's buffers or against their permissions,
 *    never leaves them, with the per-submit parameters as given (the engine's
 *    parameter-range check must reject exactly the out-of-range ones) and
 *    then clamped into their declared ranges; the scalar and the SIMD
 *    kernels give the same bytes.
 *
 * Input: struct inpu_region[4] (length 0: absent), u32 params[8], then the
 * stream (uapi/inpu/inpu_isa.h).  Seeds: build/fuzz/fuzz_seeds validate DIR.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inpu_engine.h"
#include "tables_gen.h"

#include "fuzz_util.h"

#define N_REG		4
#define PREFIX		(N_REG * sizeof(struct inpu_region) + 4 * INPU_MAX_PARAMS)
/* Engine runs only over small buffers and with a bounded amount of work. */
#define RUN_REG_MAX	(64u << 10)
#define RUN_BUDGET	(1ull << 22)

static struct inpu_engine *eng_scalar, *eng_best;
static struct inpu_tables_store tables;

/* Host memory behind the regions; any other access is a validator hole. */
struct mem {
	const struct inpu_region *reg;
	uint8_t *buf[N_REG];
};

static uint8_t *find(struct mem *m, uint64_t addr, uint64_t len,
		     uint32_t need)
{
	for (int i = 0; i < N_REG; i++) {
		const struct inpu_region *r = &m->reg[i];

		if (r->len && addr >= r->start && len <= r->len &&
		    addr - r->start <= r->len - len) {
			CHECK((r->flags & need) == need);
			return m->buf[i] + (addr - r->start);
		}
	}
	CHECK(0);
	return NULL;
}

static int m_read(void *ctx, uint64_t addr, void *dst, uint64_t len)
{
	memcpy(dst, find(ctx, addr, len, INPU_REGION_READ), len);
	return 0;
}

static int m_write(void *ctx, uint64_t addr, const void *src, uint64_t len)
{
	memcpy(find(ctx, addr, len, INPU_REGION_WRITE), src, len);
	return 0;
}

static const void *m_map(void *ctx, uint64_t addr, uint64_t len)
{
	return find(ctx, addr, len, INPU_REGION_READ);
}

static const struct inpu_mem_ops mem_ops = { m_read, m_write, m_map };

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	eng_scalar = inpu_engine_new(INPU_ISA_SCALAR, NULL);
	eng_best = inpu_engine_new(INPU_ISA_AVX512_VNNI, NULL);
	CHECK(eng_scalar && eng_best && !inpu_tables_default(&tables));
	return 0;
}

/* Read-only buffers get bytes derived from @seed, writable ones zeros. */
static void mem_fill(struct mem *m, uint32_t seed)
{
	for (int i = 0; i < N_REG; i++) {
		const struct inpu_region *r = &m->reg[i];

		memset(m->buf[i], 0, r->len);
		for (uint64_t j = 0; !(r->flags & INPU_REGION_WRITE) && j < r->len; j++) {
			seed = seed * 1103515245u + 12345u;
			m->buf[i][j] = (uint8_t)(seed >> 16);
		}
	}
}

static void run(struct inpu_engine *e, struct mem *m, uint32_t seed,
		const void *s, size_t len, const uint32_t *p,
		struct inpu_run_result *res)
{
	mem_fill(m, seed);
	memset(res, 0x5a, sizeof(*res));
	inpu_engine_run(e, &tables.t, &mem_ops, m, s, len, p, res);
}

/* Run an accepted stream, if its buffers and its work are small. */
static void run_checks(const void *s, size_t len,
		       const struct inpu_region *reg, const uint32_t *raw,
		       uint32_t seed)
{
	const struct inpu_stream_header *hdr = s;
	const struct inpu_op *ops = (const void *)(hdr + 1);
	struct inpu_run_result res, res2;
	uint32_t p[INPU_MAX_PARAMS] = { 0 };
	struct inpu_machine mc;
	struct inpu_cost cost;
	struct mem m, m2;
	uint64_t work = 0;
	int bad_param = 0;

	for (int i = 0; i < N_REG; i++) {
		if (reg[i].len > RUN_REG_MAX || reg[i].start + reg[i].len < reg[i].start)
			return;
		for (int j = 0; j < i; j++)
			if (reg[i].len && reg[j].len &&
			    reg[i].start < reg[j].start + reg[j].len &&
			    reg[j].start < reg[i].start + reg[i].len)
				return;
	}
	for (unsigned int i = 0; i < hdr->n_params; i++) {
		uint32_t lo = hdr->params[i].min, hi = hdr->params[i].max;

		p[i] = lo + (uint32_t)(raw[i] % ((uint64_t)hi - lo + 1));
		bad_param |= raw[i] < lo || raw[i] > hi;
	}
	inpu_machine_default(&mc);
	for (uint32_t i = 0; i < hdr->n_ops; i++) {
		inpu_op_cost(&mc, &ops[i], p, &cost);
		work += cost.macs + cost.cycles * mc.sa_cols;
	}
	if (work > RUN_BUDGET)
		return;

	m.reg = m2.reg = reg;
	for (int i = 0; i < N_REG; i++) {
		m.buf[i] = malloc(reg[i].len ? reg[i].len : 1);
		m2.buf[i] = malloc(reg[i].len ? reg[i].len : 1);
		CHECK(m.buf[i] && m2.buf[i]);
	}
	if (bad_param) {
		/* The engine's parameter check: rejected before any op. */
		run(eng_scalar, &m, seed, s, len, raw, &res);
		CHECK(res.status == INPU_ERR_PARAM && res.ops_done == 0);
	}
	run(eng_scalar, &m, seed, s, len, p, &res);
	/* No faults (the mem ops never fail), no parameter errors. */
	CHECK(res.status == INPU_OK || res.status == INPU_ERR_INDEX);
	CHECK(res.status != INPU_OK ? res.ops_done < hdr->n_ops :
	      res.ops_done == hdr->n_ops);
	if (inpu_engine_level(eng_best) != INPU_ISA_SCALAR) {
		run(eng_best, &m2, seed, s, len, p, &res2);
		CHECK(res2.status == res.status && res2.ops_done == res.ops_done);
		CHECK(res2.cost.cycles == res.cost.cycles &&
		      res2.cost.energy_fj == res.cost.energy_fj);
		for (int i = 0; i < N_REG; i++)
			CHECK(!memcmp(m.buf[i], m2.buf[i], reg[i].len));
	}
	for (int i = 0; i < N_REG; i++) {
		free(m.buf[i]);
		free(m2.buf[i]);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t pre[PREFIX] = { 0 };
	struct inpu_region reg[N_REG], rw[N_REG];
	uint32_t params[INPU_MAX_PARAMS], seed = 2166136261u;
	const struct inpu_stream_header *hdr;
	struct inpu_verror err;
	size_t len = size > PREFIX ? size - PREFIX : 0;
	uint8_t *s;
	int rc;

	memcpy(pre, data, size < PREFIX ? size : PREFIX);
	memcpy(reg, pre, sizeof(reg));
	memcpy(params, pre + sizeof(reg), sizeof(params));
	/* An exact-size copy (malloc alignment, as the driver's): any
	 * overread is an ASan error.
	 */
	s = malloc(len ? len : 1);
	CHECK(s);
	if (len)
		memcpy(s, data + PREFIX, len);
	hdr = (const void *)s;

	memset(&err, 0xa5, sizeof(err));
	rc = inpu_validate_stream(s, len, reg, N_REG, &err);
	CHECK(rc == err.status);
	/* Only validation statuses; the run-time ones never come from here. */
	CHECK(rc >= INPU_OK && rc < INPU_ERR_FAULT);
	CHECK(strcmp(inpu_status_name(rc), "unknown status") != 0);
	CHECK(inpu_validate_stream(s, len, reg, N_REG, NULL) == rc);

	if (rc == INPU_OK) {
		CHECK(err.op == 0 && err.slot == -1);
		memcpy(rw, reg, sizeof(rw));
		for (int i = 0; i < N_REG; i++)
			rw[i].flags |= INPU_REGION_READ | INPU_REGION_WRITE;
		CHECK(inpu_validate_stream(s, len, rw, N_REG, NULL) == INPU_OK);
		for (size_t i = 0; i < size; i++)
			seed = (seed ^ data[i]) * 16777619u;
		run_checks(s, len, reg, params, seed);
	} else if (err.op == ~0u) {
		/* The header. */
		CHECK(err.slot == -1);
		CHECK(rc == INPU_ERR_HEADER || rc == INPU_ERR_RESERVED ||
		      rc == INPU_ERR_PARAM);
	} else {
		const struct inpu_op *op = (const void *)(hdr + 1);
		unsigned int slots;

		CHECK(len >= sizeof(*hdr) && err.op < hdr->n_ops);
		op += err.op;
		slots = inpu_op_slots(op->opcode);
		CHECK(err.slot == -1 || (unsigned int)err.slot < slots);
		if (rc == INPU_ERR_OPCODE)
			CHECK(op->opcode >= INPU_OP_COUNT && err.slot == -1);
		if (rc == INPU_ERR_RANGE || rc == INPU_ERR_ACCESS ||
		    rc == INPU_ERR_STRIDE)
			CHECK(err.slot >= 0);
		/* Ops are checked one by one: the ones before pass. */
		if (err.op) {
			struct inpu_stream_header *h = (void *)s;

			h->n_ops = err.op;
			CHECK(inpu_validate_stream(s, sizeof(*h) +
						   err.op * sizeof(struct inpu_op),
						   reg, N_REG, NULL) == INPU_OK);
		}
	}
	free(s);
	return 0;
}
