/* SPDX-License-Identifier: MIT */
/*
 * Offline generation of the nonlinear tables (uses floating point; see
 * tables_gen.c).  The firmware image carries the result.
 */
#ifndef INPU_TABLES_GEN_H
#define INPU_TABLES_GEN_H

#include "inpu_engine.h"

/*
 * Default geometry: exp over [0, 16) in steps of 1/256 (e^-16 * 32768
 * rounds to 0, so longer tables add nothing); SiLU over [-32, 32) in steps
 * of 1/64 with outputs in Q10 (silu(32) * 1024 fits easily in int32).
 */
#define INPU_EXP_FRAC		8
#define INPU_EXP_LEN		(16u << INPU_EXP_FRAC)
#define INPU_SILU_IN_FRAC	6
#define INPU_SILU_LEN		(64u << INPU_SILU_IN_FRAC)
#define INPU_SILU_OUT_FRAC	10

struct inpu_tables_store {
	struct inpu_tables t;
	uint16_t *exp;
	int32_t *silu;
};

int inpu_tables_generate(struct inpu_tables_store *s, uint32_t exp_len,
			 uint32_t exp_frac, uint32_t silu_len,
			 uint32_t silu_in_frac, uint32_t silu_out_frac);
int inpu_tables_default(struct inpu_tables_store *s);
void inpu_tables_release(struct inpu_tables_store *s);

#endif /* INPU_TABLES_GEN_H */
