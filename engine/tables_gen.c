// SPDX-License-Identifier: MIT
/*
 * Generation of the engine's nonlinear tables from their mathematical
 * definitions.  Offline code (firmware image build, tests): it uses
 * floating point and is never part of the device or the inference path.
 */
#include <math.h>
#include <stdlib.h>

#include "tables_gen.h"

int inpu_tables_generate(struct inpu_tables_store *s, uint32_t exp_len,
			 uint32_t exp_frac, uint32_t silu_len,
			 uint32_t silu_in_frac, uint32_t silu_out_frac)
{
	uint32_t i;

	s->exp = calloc(exp_len, sizeof(*s->exp));
	s->silu = calloc(silu_len, sizeof(*s->silu));
	if (!s->exp || !s->silu) {
		inpu_tables_release(s);
		return -1;
	}
	for (i = 0; i < exp_len; i++)
		s->exp[i] = (uint16_t)lround(32768.0 *
					     exp(-(double)i / (1u << exp_frac)));
	for (i = 0; i < silu_len; i++) {
		double x = ((double)i - silu_len / 2) / (1u << silu_in_frac);

		s->silu[i] = (int32_t)lround((1u << silu_out_frac) * x /
					     (1.0 + exp(-x)));
	}
	s->t.exp = s->exp;
	s->t.exp_len = exp_len;
	s->t.exp_frac = exp_frac;
	s->t.silu = s->silu;
	s->t.silu_len = silu_len;
	s->t.silu_zero = silu_len / 2;
	s->t.silu_in_frac = silu_in_frac;
	s->t.silu_out_frac = silu_out_frac;
	return 0;
}

int inpu_tables_default(struct inpu_tables_store *s)
{
	return inpu_tables_generate(s, INPU_EXP_LEN, INPU_EXP_FRAC,
				    INPU_SILU_LEN, INPU_SILU_IN_FRAC,
				    INPU_SILU_OUT_FRAC);
}

void inpu_tables_release(struct inpu_tables_store *s)
{
	free(s->exp);
	free(s->silu);
	s->exp = NULL;
	s->silu = NULL;
}
