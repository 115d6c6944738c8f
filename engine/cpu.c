// SPDX-License-Identifier: MIT
/*
 * Run-time choice of the matmul kernels from CPU features.
 */
#include "engine_internal.h"

#if defined(__x86_64__)
#include <cpuid.h>

static int os_saves_zmm(void)
{
	uint32_t lo, hi;

	/* XCR0: SSE, AVX and the three AVX-512 state components. */
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return (lo & 0xe6) == 0xe6;
}

static int os_saves_ymm(void)
{
	uint32_t lo, hi;

	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return (lo & 0x6) == 0x6;
}
#endif

enum inpu_isa_level inpu_cpu_isa_level(void)
{
#if defined(__x86_64__)
	unsigned int a, b, c, d;

	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE))
		return INPU_ISA_SCALAR;
	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
		return INPU_ISA_SCALAR;
	if ((b & bit_AVX512F) && (b & bit_AVX512BW) && (b & bit_AVX512DQ) &&
	    (c & bit_AVX512VNNI) &&
	    os_saves_zmm() && inpu_have_avx512_kernels())
		return INPU_ISA_AVX512_VNNI;
	if ((b & bit_AVX2) && os_saves_ymm() && inpu_have_avx2_kernels())
		return INPU_ISA_AVX2;
#endif
	return INPU_ISA_SCALAR;
}

const char *inpu_isa_level_name(enum inpu_isa_level l)
{
	switch (l) {
	case INPU_ISA_AVX512_VNNI:
		return "avx512-vnni";
	case INPU_ISA_AVX2:
		return "avx2";
	default:
		return "scalar";
	}
}

void inpu_kernels_select(int level, struct inpu_kernels *k)
{
	k->w8_block = inpu_w8_block_scalar;
	k->w4_block = inpu_w4_block_scalar;
	k->dot_i8 = inpu_dot_i8_scalar;
	k->dot_i8_i16 = inpu_dot_i8_i16_scalar;
	k->axpy_i8 = inpu_axpy_i8_scalar;
	k->saturate = inpu_saturate_scalar;
	k->mm_requant = inpu_mm_requant_scalar;
	if (level >= INPU_ISA_AVX2)
		inpu_kernels_avx2(k);
	if (level >= INPU_ISA_AVX512_VNNI)
		inpu_kernels_avx512(k);
}
