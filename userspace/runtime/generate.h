/* SPDX-License-Identifier: MIT */
/*
 * The generation loop: BOS and the prompt, then the backend's own choice
 * of each next token, until STEPS positions in all or the model emits BOS
 * (as llama2.c run.c's generate()).  One loop for every backend and every
 * command: the prompt in prefill jobs where the backend has them, then
 * steps, then chained decoding where the backend chains.
 */
#ifndef INPU_RT_GENERATE_H
#define INPU_RT_GENERATE_H

#include <stdint.h>

#include "backend.h"

#ifdef __cplusplus
extern "C" {
#endif

struct inpu_gen_opts {
	int steps;		/* positions in all, the prompt included */
	int batch;		/* prompt tokens per prefill job; 1: steps only */
	int depth;		/* chained: steps in flight (1: no chaining) */
	int per_job;		/* chained: steps per job */
	int ignore_eos;		/* go on when the model emits BOS */
	/* Each token once it is decided: @next follows @prev (a prompt
	 * token or a generated one); @flush: a batch of them is out. */
	void (*emit)(void *ctx, int prev, int next);
	void (*flush)(void *ctx);
	void *ctx;
};

struct inpu_gen_stats {
	/* CLOCK_MONOTONIC ns: t_start once the prefill jobs' command
	 * buffers are made (prefill_prepare), t_first at the first
	 * generated position, t_end at the end */
	uint64_t t_start, t_first, t_end;
	uint64_t step_ns;		/* in the backend's operations */
	uint64_t n_prompt, n_gen;	/* tokens run as prompt, generated */
	uint64_t cyc_prompt, cyc_gen;	/* modelled device cycles */
	uint64_t bytes_gen;		/* modelled memory traffic, generating */
	uint64_t *lat;			/* per generated token (ns) */
	long n_lat;
	int *gen;			/* the generated token ids */
	long n_ids;
	int chained;			/* decoding was chained on the device */
	/* On failure: the first position of the failed operation, how many
	 * it ran (more than 1: a prefill job) and why (backend's why()). */
	int fail_pos, fail_n;
	char why[256];
};

/*
 * Run @prompt (@n_prompt >= 1 tokens, BOS first; only o->steps of them
 * run if it is longer) and
 * generate after it.  Returns 0, -ENOMEM, or -EIO with st->fail_* set.
 * Free @st with inpu_gen_stats_free() either way.
 */
int inpu_generate(struct inpu_backend *b, const int *prompt, int n_prompt,
		  const struct inpu_gen_opts *o, struct inpu_gen_stats *st);
void inpu_gen_stats_free(struct inpu_gen_stats *st);

/* CLOCK_MONOTONIC in ns. */
uint64_t inpu_now_ns(void);

#ifdef __cplusplus
}
#endif

#endif /* INPU_RT_GENERATE_H */
