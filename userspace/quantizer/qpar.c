/* SPDX-License-Identifier: MIT */
/*
 * Parallel loops of the quantizer (offline, floating point): items (stories,
 * search candidates) handed to worker threads in increasing order, BLAS
 * kept single-threaded in each.  Every item's result is computed by the
 * same code whichever thread runs it and callers combine them in item
 * order, so the .inpu bytes do not depend on the thread count.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include <cblas.h>

#include "quant_internal.h"

/* More than this many workers is no gain on the quantizer's shapes. */
#define QPAR_MAX_THREADS 64

static atomic_int qpar_nthreads;

void qpar_set_threads(int n)
{
	atomic_store(&qpar_nthreads, n < 0 ? 0 : n);
}

int qpar_threads(void)
{
	int n = atomic_load(&qpar_nthreads);
	long ncpu;

	if (n > 0)
		return n > QPAR_MAX_THREADS ? QPAR_MAX_THREADS : n;
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	return ncpu < 1 ? 1 : ncpu > QPAR_MAX_THREADS ? QPAR_MAX_THREADS : (int)ncpu;
}

/*
 * BLAS's own threads would change nothing in the results of a single
 * call, but they would fight our workers for the cores: each BLAS call
 * runs on the thread that makes it.
 */
static void blas_serial(void)
{
	openblas_set_num_threads(1);
}

void qpar_blas_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, blas_serial);
}

struct qpar_job {
	uint32_t n;
	atomic_uint next;
	void (*fn)(void *ctx, uint32_t item, int worker);
	void *ctx;
};

struct qpar_worker {
	struct qpar_job *job;
	int id;
};

static void *qpar_main(void *arg)
{
	struct qpar_worker *w = arg;
	struct qpar_job *j = w->job;
	uint32_t i;

	while ((i = atomic_fetch_add(&j->next, 1)) < j->n)
		j->fn(j->ctx, i, w->id);
	return NULL;
}

int qpar_workers(uint32_t n)
{
	int nt = qpar_threads();

	return n < (uint32_t)nt ? (n ? (int)n : 1) : nt;
}

int qpar_for(uint32_t n, void (*fn)(void *ctx, uint32_t item, int worker),
	     void *ctx)
{
	struct qpar_job job = { .n = n, .fn = fn, .ctx = ctx };
	struct qpar_worker w[QPAR_MAX_THREADS];
	pthread_t th[QPAR_MAX_THREADS];
	int nt = qpar_workers(n), started = 1;

	qpar_blas_init();
	atomic_init(&job.next, 0);
	for (int t = 0; t < nt; t++)
		w[t] = (struct qpar_worker){ .job = &job, .id = t };
	/* worker 0 is this thread; if a thread cannot start, the rest do its share */
	for (int t = 1; t < nt; t++, started++)
		if (pthread_create(&th[t], NULL, qpar_main, &w[t]))
			break;
	qpar_main(&w[0]);
	for (int t = 1; t < started; t++)
		pthread_join(th[t], NULL);
	return 0;
}
