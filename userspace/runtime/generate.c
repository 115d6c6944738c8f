// SPDX-License-Identifier: MIT
/*
 * The generation loop (generate.h).  Integer only: the backend computes,
 * this only walks the positions, hands tokens to the caller and times.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "generate.h"
#include "tokenizer.h"

struct gen {
	struct inpu_backend *b;
	const struct inpu_gen_opts *o;
	struct inpu_gen_stats *st;
	const int *prompt;
	int n_prompt;
	int pos;		/* the next position to run */
	int token;		/* the token at @pos */
	int bos;		/* the model emitted BOS: stop */
};

uint64_t inpu_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int gen_fail(struct gen *g, int pos, int n)
{
	g->st->fail_pos = pos;
	g->st->fail_n = n;
	g->b->ops->why(g->b, g->st->why, sizeof(g->st->why));
	return -EIO;
}

static void gen_emit(struct gen *g, int next)
{
	if (g->o->emit)
		g->o->emit(g->o->ctx, g->token, next);
	g->token = next;
}

static void gen_flush(struct gen *g)
{
	if (g->o->flush)
		g->o->flush(g->o->ctx);
}

/*
 * The prefill jobs' batch sizes (full batches and the rest) made ready
 * before the clock starts.  A failure here is left to the job itself,
 * which fails the same way and says so.
 */
static void gen_prefill_prepare(struct gen *g)
{
	int n = g->n_prompt, batch = g->o->batch;

	if (batch < 2 || !g->b->ops->prefill || !g->b->ops->prefill_prepare)
		return;
	if (n >= batch)
		(void)g->b->ops->prefill_prepare(g->b, batch);
	if (n % batch)
		(void)g->b->ops->prefill_prepare(g->b, n % batch);
}

/*
 * @next follows the current token; BOS instead ends the run (unless
 * o->ignore_eos).
 */
static void gen_take(struct gen *g, int next)
{
	if (next == INPU_TOK_BOS && !g->o->ignore_eos)
		g->bos = 1;
	else
		gen_emit(g, next);
}

/* The token the backend chose after the last prompt or generated token. */
static void gen_chosen(struct gen *g)
{
	int next = g->b->ops->next(g->b);

	g->st->gen[g->st->n_ids++] = next;
	gen_take(g, next);
}

/*
 * Prefill: the prompt in jobs of up to o->batch tokens (matrix-matrix
 * ops); the choice of the job that ends the prompt is the first generated
 * token, as a step's would be.  A last single token runs as a step.
 */
static int gen_prefill(struct gen *g)
{
	struct inpu_gen_stats *st = g->st;

	while (g->o->batch > 1 && g->b->ops->prefill && g->pos < g->n_prompt - 1) {
		int n = g->n_prompt - g->pos, last;
		uint64_t t0 = inpu_now_ns();
		int ret;

		if (n > g->o->batch)
			n = g->o->batch;
		ret = g->b->ops->prefill(g->b, g->prompt + g->pos, n, g->pos);
		st->step_ns += inpu_now_ns() - t0;
		if (ret)
			return gen_fail(g, g->pos, n);
		st->n_prompt += (uint64_t)n;
		st->cyc_prompt += inpu_backend_cycles(g->b);
		last = g->pos + n == g->n_prompt;
		for (int i = 0; i < n - last; i++)
			gen_emit(g, g->prompt[g->pos + i + 1]);
		g->pos += n;
		if (last)
			gen_chosen(g);
		gen_flush(g);
	}
	return 0;
}

/* One position per operation: the rest of the prompt, then generation. */
static int gen_steps(struct gen *g)
{
	struct inpu_gen_stats *st = g->st;

	for (; g->pos < g->o->steps; g->pos++) {
		uint64_t t0 = inpu_now_ns(), cyc;
		int ret;

		if (g->pos == g->n_prompt)
			st->t_first = t0;
		if (st->chained && g->pos == g->n_prompt)
			break;		/* gen_chained() takes over */
		ret = g->b->ops->step(g->b, g->token, g->pos);
		cyc = inpu_backend_cycles(g->b);
		st->step_ns += inpu_now_ns() - t0;
		if (g->pos >= g->n_prompt)
			st->lat[st->n_lat++] = inpu_now_ns() - t0;
		if (ret)
			return gen_fail(g, g->pos, 1);
		if (g->pos < g->n_prompt) {
			st->n_prompt++;
			st->cyc_prompt += cyc;
		} else {
			st->n_gen++;
			st->cyc_gen += cyc;
			st->bytes_gen += inpu_backend_dram_bytes(g->b);
		}
		/*
		 * Every step makes the backend's choice (a SAMPLE draw too);
		 * within the prompt the next prompt token overrides it.
		 */
		if (g->pos < g->n_prompt - 1)
			gen_take(g, g->prompt[g->pos + 1]);
		else
			gen_chosen(g);
		gen_flush(g);
		if (g->bos)
			break;
	}
	return 0;
}

/*
 * Chained decoding: each step reads the token the previous one chose, so
 * up to o->depth steps are queued ahead (o->per_job in one job where they
 * fit) and the host only retires them in order.
 */
static int gen_chained(struct gen *g)
{
	struct inpu_gen_stats *st = g->st;
	int steps = g->o->steps, depth = g->o->depth, k = g->o->per_job;
	int q = g->pos, inflight = 0, p, n;

	if (k > g->b->ops->chain_max(g->b))
		k = g->b->ops->chain_max(g->b);
	if (k < 1)
		k = 1;
	if (depth < k)
		depth = k;
	while (g->pos < steps) {
		uint64_t t0 = inpu_now_ns();

		while (q < steps && inflight < depth) {
			int m = steps - q >= k && inflight + k <= depth ? k : 1;

			if (g->b->ops->queue(g->b, q, m))
				return gen_fail(g, g->pos, 1);
			q += m;
			inflight += m;
		}
		if (g->b->ops->retire(g->b, &p, &n))
			return gen_fail(g, g->pos, 1);
		st->step_ns += inpu_now_ns() - t0;
		/* Tokens retired together share the wait. */
		for (int i = 0; i < n && st->n_lat < steps; i++)
			st->lat[st->n_lat++] = (inpu_now_ns() - t0) / (uint64_t)n;
		inflight -= n;
		st->cyc_gen += inpu_backend_cycles(g->b);
		st->bytes_gen += inpu_backend_dram_bytes(g->b);
		for (int i = 0; i < n && !g->bos; i++) {
			int next = g->b->ops->token(g->b, p + i);

			g->pos++;
			st->n_gen++;
			st->gen[st->n_ids++] = next;
			if (next == INPU_TOK_BOS && !g->o->ignore_eos)
				g->bos = 1;
			else
				gen_emit(g, next);
		}
		gen_flush(g);
		if (g->bos)
			break;
	}
	return 0;
}

int inpu_generate(struct inpu_backend *b, const int *prompt, int n_prompt,
		  const struct inpu_gen_opts *o, struct inpu_gen_stats *st)
{
	struct gen g = {
		.b = b, .o = o, .st = st, .prompt = prompt,
		.n_prompt = n_prompt, .token = prompt[0],
	};
	int ret;

	memset(st, 0, sizeof(*st));
	st->lat = malloc((size_t)o->steps * sizeof(*st->lat));
	st->gen = malloc((size_t)o->steps * sizeof(*st->gen));
	if (!st->lat || !st->gen)
		return -ENOMEM;
	st->chained = inpu_backend_can_chain(b) && (o->depth > 1 || o->per_job > 1);
	gen_prefill_prepare(&g);
	st->t_start = inpu_now_ns();
	ret = gen_prefill(&g);
	if (!ret && !g.bos)
		ret = gen_steps(&g);
	if (!ret && st->chained && !g.bos && g.pos == n_prompt && g.pos < o->steps)
		ret = gen_chained(&g);
	st->t_end = inpu_now_ns();
	if (!st->t_first)
		st->t_first = st->t_end;
	return ret;
}

void inpu_gen_stats_free(struct inpu_gen_stats *st)
{
	free(st->lat);
	free(st->gen);
	st->lat = NULL;
	st->gen = NULL;
}
