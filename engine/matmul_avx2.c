// SPDX-License-Identifier: MIT
/*
 * AVX2 matmul block kernels.  Placeholder set: provides nothing yet, so
 * the scalar kernels stay in use at this level.
 */
#include "kernels.h"

int inpu_have_avx2_kernels(void)
{
	return 0;
}

void inpu_kernels_avx2(struct inpu_kernels *k)
{
	(void)k;
}
