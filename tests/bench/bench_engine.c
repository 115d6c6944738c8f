// SPDX-License-Identifier: MIT
/*
 * Engine matmul benchmark: G MAC/s of the whole MATMUL op (inpu_engine_run
 * over a flat host memory with map(), so weight tiles are read in place),
 * scalar against the best SIMD level of this CPU, one thread, for W8, W4
 * (groups of 32, symmetric) and W4gz (groups of 16 with zero points, the
 * W4A8 models' default) weights.  MACs = M * K * N of the op's real shape
 * (no padding).
 *
 * The SIMD numbers are also given as a share of this core's measured peak
 * of a dependency-free vpdpbusd stream (64 MACs an instruction), the
 * instruction the tile layouts were designed for, and of a vpmaddubsw
 * stream (32 byte products an instruction): AVX2's int8 ceiling, only an
 * upper bound since vpmaddubsw saturates and a bit-exact kernel cannot use
 * it alone.
 *
 * Each number is the best of 3 measurements, each repeating the op until
 * 0.3 s have passed.  Not a test: nothing here passes or fails.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <immintrin.h>

#include "../host/engine_util.h"

#define MEASURE_S 0.3
#define BEST_OF 3

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/*
 * Best rate of @fn, in units of @work per second: each of BEST_OF
 * measurements calls it until MEASURE_S have passed.
 */
static double best_rate(void (*fn)(void *), void *arg, double work)
{
	double best = 0;
	int i;

	fn(arg);	/* warm caches and page tables */
	for (i = 0; i < BEST_OF; i++) {
		double t0 = now_s(), t;
		long n = 0;

		do {
			fn(arg);
			n++;
			t = now_s() - t0;
		} while (t < MEASURE_S);
		if (n * work / t > best)
			best = n * work / t;
	}
	return best;
}

/* ---- instruction peaks -------------------------------------------------- */

#define PEAK_ITERS 4096

/*
 * 12 vpdpbusd per iteration on 12 accumulators: each chain waits only on
 * itself, so the loop runs at the instruction's throughput, not its
 * latency.  Written in asm so that nothing but the loop is measured.
 */
__attribute__((target("avx512f,avx512vnni"), noinline))
static void vpdpbusd_stream(void *arg)
{
	long n = PEAK_ITERS;

	(void)arg;
	__asm__ volatile(
		"vpternlogd $0xff, %%zmm12, %%zmm12, %%zmm12\n\t"
		"vpxord %%zmm13, %%zmm13, %%zmm13\n\t"
		"1:\n\t"
		"vpdpbusd %%zmm13, %%zmm12, %%zmm0\n\t"
		"vpdpbusd %%zmm13, %%zmm12, %%zmm1\n\t"
		"vpdpbusd %%zmm13, %%zmm12, %%zmm2\n\t"
		"vpdpbusd %%zmm13, %%zmm12, %%zmm3\n\t"
		"vpdpbusd %%zmm13, %%zmm12, %%zmm4\n\t"
		"vpdpbusd %%zmm13, %%zmm12, %%zmm5\n\t"
		"vpdpbusd %%zmm13, %%zmm12, %%zmm6\n\t"
		"vpdpbusd %%zmm13, %%zmm12, %%zmm7\n\t"
		"vpdpbusd %%zmm13, %%zmm12, %%zmm8\n\t"
		"vpdpbusd %%zmm13, %%zmm12, %%zmm9\n\t"
		"vpdpbusd %%zmm13, %%zmm12, %%zmm10\n\t"
		"vpdpbusd %%zmm13, %%zmm12, %%zmm11\n\t"
		"dec %0\n\t"
		"jnz 1b\n\t"
		"vzeroupper"
		: "+r"(n)
		:
		: "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6",
		  "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13",
		  "cc");
}

/* The same for vpmaddubsw, which has no accumulator to chain on. */
__attribute__((target("avx2"), noinline))
static void vpmaddubsw_stream(void *arg)
{
	long n = PEAK_ITERS;

	(void)arg;
	__asm__ volatile(
		"vpcmpeqd %%ymm12, %%ymm12, %%ymm12\n\t"
		"vpxor %%ymm13, %%ymm13, %%ymm13\n\t"
		"1:\n\t"
		"vpmaddubsw %%ymm13, %%ymm12, %%ymm0\n\t"
		"vpmaddubsw %%ymm13, %%ymm12, %%ymm1\n\t"
		"vpmaddubsw %%ymm13, %%ymm12, %%ymm2\n\t"
		"vpmaddubsw %%ymm13, %%ymm12, %%ymm3\n\t"
		"vpmaddubsw %%ymm13, %%ymm12, %%ymm4\n\t"
		"vpmaddubsw %%ymm13, %%ymm12, %%ymm5\n\t"
		"vpmaddubsw %%ymm13, %%ymm12, %%ymm6\n\t"
		"vpmaddubsw %%ymm13, %%ymm12, %%ymm7\n\t"
		"vpmaddubsw %%ymm13, %%ymm12, %%ymm8\n\t"
		"vpmaddubsw %%ymm13, %%ymm12, %%ymm9\n\t"
		"vpmaddubsw %%ymm13, %%ymm12, %%ymm10\n\t"
		"vpmaddubsw %%ymm13, %%ymm12, %%ymm11\n\t"
		"dec %0\n\t"
		"jnz 1b\n\t"
		"vzeroupper"
		: "+r"(n)
		:
		: "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6",
		  "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13",
		  "cc");
}

/* ---- the MATMUL op ------------------------------------------------------- */

/* The engine needs valid tables to run; MATMUL never reads them. */
static const uint16_t exp_one[1] = { 32768 };
static const int32_t silu_zero[1] = { 0 };
static const struct inpu_tables tables = {
	.exp = exp_one, .exp_len = 1, .silu = silu_zero, .silu_len = 1,
};

struct run {
	struct inpu_engine *e;
	struct flat_mem *mem;
	struct stream *s;
};

static void run_op(void *arg)
{
	struct run *r = arg;
	struct inpu_run_result res;

	inpu_engine_run(r->e, &tables, &flat_ops, r->mem, r->s,
			stream_len(r->s), NULL, &res);
	if (res.status) {
		fprintf(stderr, "bench: run failed with status %d\n", res.status);
		exit(1);
	}
}

static uint64_t rng_state = 0x243f6a8885a308d3ull;

static uint64_t rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/*
 * One flat memory holding x [16][K], W8 and W4 weights of N x K, the W4
 * scales (groups of 32; groups of 16 with zero points, as bytes or the
 * same bytes read as codes), qp and y [16][N]
 * (INT32, so requantization stays cheap and the kernels dominate).
 * Streams for M rows read the first M rows of x.
 */
struct shape_mem {
	struct flat_mem mem;
	struct inpu_tensor x, w8, w4, gs, gs16, gz16, qp, y;
};

static int shape_setup(struct shape_mem *sm, uint32_t k, uint32_t n)
{
	uint64_t w8b = inpu_weight_bytes(INPU_DT_W8_TILED, n, k);
	uint64_t w4b = inpu_weight_bytes(INPU_DT_W4_TILED, n, k);
	uint64_t gsb = inpu_w4_gscale_bytes(n, k);
	uint64_t g16b = inpu_w4_group_bytes(n, k, 16);
	uint32_t groups = (k + 15) / 16, i;
	int8_t *w = malloc((size_t)n * k);
	uint8_t *s = malloc((size_t)n * groups);
	struct inpu_qparam *qp;
	uint64_t j;

	if (!w || !s || flat_init(&sm->mem, 16ull * k + w8b + w4b + gsb +
				  2 * g16b + (uint64_t)n * 8 + 16ull * n * 4 +
				  10 * 4096))
		return -1;
	for (j = 0; j < (uint64_t)n * k; j++)
		w[j] = (int8_t)rng();
	for (j = 0; j < (uint64_t)n * groups; j++)
		s[j] = (uint8_t)rng();

	sm->x = flat_tensor(&sm->mem, INPU_DT_INT8, 16, k);
	for (j = 0; j < 16ull * k; j++)
		((int8_t *)flat_ptr(&sm->mem, sm->x.addr))[j] = (int8_t)rng();
	sm->w8 = tensor(flat_alloc(&sm->mem, w8b), INPU_DT_W8_TILED, n, k);
	inpu_pack_w8(w, n, k, flat_ptr(&sm->mem, sm->w8.addr));
	for (j = 0; j < (uint64_t)n * k; j++)
		w[j] = (int8_t)(w[j] >> 4);	/* int4 range */
	sm->w4 = tensor(flat_alloc(&sm->mem, w4b), INPU_DT_W4_TILED, n, k);
	sm->gs = tensor(flat_alloc(&sm->mem, gsb), INPU_DT_UINT8,
			(k + 127) / 128 * 4, (n + 63) / 64 * 64);
	inpu_pack_w4(w, s, n, k, flat_ptr(&sm->mem, sm->w4.addr),
		     flat_ptr(&sm->mem, sm->gs.addr));
	sm->gs16 = tensor(flat_alloc(&sm->mem, g16b), INPU_DT_UINT8,
			  (k + 127) / 128 * 8, (n + 63) / 64 * 64);
	inpu_pack_w4_groups(s, n, k, 16, flat_ptr(&sm->mem, sm->gs16.addr));
	for (j = 0; j < (uint64_t)n * groups; j++)
		s[j] = (uint8_t)(rng() % 16 - 8);	/* zero points -8..7 */
	sm->gz16 = tensor(flat_alloc(&sm->mem, g16b), INPU_DT_INT8,
			  (k + 127) / 128 * 8, (n + 63) / 64 * 64);
	inpu_pack_w4_groups(s, n, k, 16, flat_ptr(&sm->mem, sm->gz16.addr));
	sm->qp = flat_tensor(&sm->mem, INPU_DT_QPARAM, 1, n);
	qp = flat_ptr(&sm->mem, sm->qp.addr);
	for (i = 0; i < n; i++) {
		qp[i].mult = 1;
		qp[i].shift = 0;
	}
	sm->y = flat_tensor(&sm->mem, INPU_DT_INT32, 16, n);
	free(w);
	free(s);
	return 0;
}

static void make_stream(struct stream *st, const struct shape_mem *sm,
			uint32_t m, int w4)
{
	struct inpu_op_matmul *o;
	struct inpu_region r = {
		.start = sm->mem.base, .len = sm->mem.size,
		.flags = INPU_REGION_READ | INPU_REGION_WRITE,
	};
	struct inpu_verror err;

	stream_init(st);
	o = &stream_add(st, INPU_OP_MATMUL)->u.matmul;
	o->x = sm->x;
	o->x.rows = m;
	o->w = w4 ? sm->w4 : sm->w8;
	if (w4 == 1)
		o->gscale = sm->gs;
	if (w4 == 2) {
		o->gscale = sm->gs16;
		o->gzero = sm->gz16;
		o->group = 16;
	}
	if (w4 == 3) {
		/* any byte is a code: a scale level and a zero point */
		o->gscale = sm->gs16;
		o->gfmt = INPU_W4_GFMT_CODES;
		o->group = 16;
	}
	o->qp = sm->qp;
	o->y = sm->y;
	o->y.rows = m;
	/* Validated once here; the timed loop calls inpu_engine_run() only. */
	if (inpu_validate_stream(st, stream_len(st), &r, 1, &err)) {
		fprintf(stderr, "bench: stream rejected (op %u)\n", err.op);
		exit(1);
	}
}

static void print_pct(double v, double peak)
{
	if (peak > 0)
		printf(" %9.1f%%", 100 * v / peak);
	else
		printf(" %10s", "n/a");
}

int main(void)
{
	/*
	 * The last shape's weights are past the last-level cache (56 MiB in
	 * W4): it streams them from memory, M = 1 only (decode).
	 */
	static const struct { uint32_t k, n, m_max; } shapes[] = {
		{ 64, 512, 16 }, { 288, 768, 16 }, { 768, 2048, 16 },
		{ 288, 32000, 16 }, { 768, 32000, 16 }, { 768, 131072, 1 },
	};
	static const uint32_t rows[] = { 1, 16 };
	enum inpu_isa_level best = inpu_cpu_isa_level();
	struct inpu_engine *scalar = inpu_engine_new(INPU_ISA_SCALAR, NULL);
	struct inpu_engine *simd = inpu_engine_new(best, NULL);
	double vnni_peak = 0, mubs_peak = 0, t0 = now_s();
	static struct stream st;
	unsigned int si, ri;
	int w4;

	if (!scalar || !simd)
		return 1;
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f") &&
	    __builtin_cpu_supports("avx512vnni"))
		vnni_peak = best_rate(vpdpbusd_stream, NULL,
				      PEAK_ITERS * 12 * 64.0) * 1e-9;
	if (__builtin_cpu_supports("avx2"))
		mubs_peak = best_rate(vpmaddubsw_stream, NULL,
				      PEAK_ITERS * 12 * 32.0) * 1e-9;

	printf("inpu engine MATMUL, 1 thread, G MAC/s (M*K*N / s), best of %d x %.1f s\n",
	       BEST_OF, MEASURE_S);
	printf("levels: scalar vs %s (the best this CPU and build have)\n",
	       inpu_isa_level_name(best));
	if (vnni_peak > 0)
		printf("peak vpdpbusd (zmm, 12 chains, 64 MAC/instr): %.1f G MAC/s\n",
		       vnni_peak);
	else
		printf("peak vpdpbusd (zmm, 12 chains, 64 MAC/instr): n/a (no AVX512-VNNI)\n");
	if (mubs_peak > 0)
		printf("peak vpmaddubsw (ymm, 12 streams, 32 MAC/instr, saturating: a bound only): %.1f G MAC/s\n",
		       mubs_peak);
	else
		printf("peak vpmaddubsw: n/a (no AVX2)\n");
	printf("\n%-4s %-10s %3s %9s %9s %10s %10s\n", "w", "K x N", "M",
	       "scalar", inpu_isa_level_name(best), "%vpdpbusd", "%vpmaddub");

	for (si = 0; si < sizeof(shapes) / sizeof(shapes[0]); si++) {
		struct shape_mem sm;
		char name[32];

		if (shape_setup(&sm, shapes[si].k, shapes[si].n)) {
			fprintf(stderr, "bench: out of memory\n");
			return 1;
		}
		snprintf(name, sizeof(name), "%ux%u", shapes[si].k, shapes[si].n);
		for (w4 = 0; w4 < 4; w4++) {
			for (ri = 0; ri < sizeof(rows) / sizeof(rows[0]); ri++) {
				double macs = (double)rows[ri] * shapes[si].k *
					      shapes[si].n;
				struct run r = { scalar, &sm.mem, &st };
				double vs, vv;

				if (rows[ri] > shapes[si].m_max)
					continue;
				make_stream(&st, &sm, rows[ri], w4);
				vs = best_rate(run_op, &r, macs) * 1e-9;
				r.e = simd;
				vv = best_rate(run_op, &r, macs) * 1e-9;
				printf("%-4s %-10s %3u %9.2f %9.2f",
				       w4 == 3 ? "W4c" : w4 == 2 ? "W4gz" :
				       w4 ? "W4" : "W8",
				       name, rows[ri], vs, vv);
				print_pct(vv, vnni_peak);
				print_pct(vv, mubs_peak);
				printf("\n");
				fflush(stdout);
			}
		}
		flat_free(&sm.mem);
	}
	printf("\ntotal %.0f s\n", now_s() - t0);
	inpu_engine_free(scalar);
	inpu_engine_free(simd);
	return 0;
}
