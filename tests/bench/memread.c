// SPDX-License-Identifier: MIT
/*
 * memread: how fast one core reads memory, the ceiling of decode speed
 * (make bench, tests/bench/run-bench.sh): decoding one token reads every
 * weight once, so no decoder on this core beats bandwidth / bytes per
 * token.  A buffer well past the last-level cache is read end to end with
 * 256-bit loads, and the best of the passes counts (the machine is
 * shared: the best pass is the one least disturbed).
 *
 * usage: memread [MiB [PASSES]]  (default 512 MiB, 8 passes)
 * prints: {"read_gb_s":G,"mib":M,"passes":P}
 */
#define _POSIX_C_SOURCE 200809L
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * Four independent accumulators keep four loads in flight per iteration;
 * the xor result is returned so that the compiler cannot drop the reads.
 */
__attribute__((target("avx2")))
static uint64_t read_all(const __m256i *p, size_t n)
{
	__m256i a = _mm256_setzero_si256(), b = a, c = a, d = a;
	uint64_t out[4];

	for (size_t i = 0; i + 4 <= n; i += 4) {
		a = _mm256_xor_si256(a, _mm256_load_si256(p + i));
		b = _mm256_xor_si256(b, _mm256_load_si256(p + i + 1));
		c = _mm256_xor_si256(c, _mm256_load_si256(p + i + 2));
		d = _mm256_xor_si256(d, _mm256_load_si256(p + i + 3));
	}
	a = _mm256_xor_si256(_mm256_xor_si256(a, b), _mm256_xor_si256(c, d));
	_mm256_storeu_si256((__m256i *)out, a);
	return out[0] ^ out[1] ^ out[2] ^ out[3];
}

static long arg(int argc, char **argv, int i, long def, long lo, long hi)
{
	char *end;
	long v;

	if (argc <= i)
		return def;
	v = strtol(argv[i], &end, 10);
	if (*end || v < lo || v > hi) {
		fprintf(stderr, "memread: '%s' is not a number in %ld..%ld\n",
			argv[i], lo, hi);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	long mib = arg(argc, argv, 1, 512, 64, 16384);
	long passes = arg(argc, argv, 2, 8, 1, 1000);
	size_t bytes = (size_t)mib << 20;
	uint64_t best = UINT64_MAX, sink = 0;
	__m256i *buf;

	if (!__builtin_cpu_supports("avx2")) {
		fprintf(stderr, "memread: this CPU has no AVX2\n");
		return 1;
	}
	buf = aligned_alloc(64, bytes);
	if (!buf) {
		fprintf(stderr, "memread: cannot allocate %ld MiB\n", mib);
		return 1;
	}
	memset(buf, 0x5a, bytes);	/* every page backed before timing */
	for (long i = 0; i < passes; i++) {
		uint64_t t0 = now_ns(), dt;

		sink ^= read_all(buf, bytes / sizeof(*buf));
		dt = now_ns() - t0;
		if (dt < best)
			best = dt;
	}
	free(buf);
	printf("{\"read_gb_s\":%.2f,\"mib\":%ld,\"passes\":%ld,\"check\":%llu}\n",
	       (double)bytes / (double)best, mib, passes,
	       (unsigned long long)(sink & 1));
	return 0;
}
