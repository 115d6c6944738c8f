// SPDX-License-Identifier: MIT
/*
 * AVX-512 VNNI matmul block kernels.  Placeholder set: provides nothing
 * yet, so the scalar kernels stay in use at this level.
 */
#include "kernels.h"

int inpu_have_avx512_kernels(void)
{
	return 0;
}

void inpu_kernels_avx512(struct inpu_kernels *k)
{
	(void)k;
}
