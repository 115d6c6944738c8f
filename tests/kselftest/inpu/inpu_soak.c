// SPDX-License-Identifier: GPL-2.0-only
/*
 * The soak ('make soak', run by soak.sh in the VM): JOBS jobs from PROCS
 * processes with every kind of device fault injected, mixed with kills,
 * closes with jobs in flight and forced recoveries.  Every job that ends
 * INPU_OK must be bit-exact, every job waited for must end (else it is a
 * lost completion), and when everything has stopped no object may be left
 * (BOs, pinned pages, jobs, hardware fences, command buffers, contexts).
 *
 * usage: inpu_soak [-j JOBS] [-p PROCS]   (defaults 100000 and 4)
 * Prints one "reliability:" line; exits non-zero on any wrong result,
 * lost completion or leak.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <drm/inpu_accel.h>
#include <inpu/inpu_isa.h>
#include <inpu/inpu_regs.h>

#include "inpu_job_util.h"
#include "inpu_rel_util.h"

#define MAX_PROCS	16
#define BATCH		16
/* One job in FAULT_PERIOD gets an injected fault, kinds in turn. */
#define FAULT_PERIOD	97
/* A process closes its file (jobs in flight) every so many batches. */
#define CLOSE_EVERY	50

struct counts {
	_Atomic long submitted, ok, failed, wrong, lost, errors;
};

static struct counts *shared;	/* MAX_PROCS + 1 entries, in shared memory */

/* One batch: submit BATCH jobs, then either wait for them or close. */
static int worker_batch(struct work *w, struct counts *c, int close_now)
{
	struct drm_inpu_wait res;
	uint64_t ids[BATCH];
	int i;

	for (i = 0; i < BATCH; i++) {
		if (work_submit(w, i, &ids[i])) {
			c->errors++;
			ids[i] = 0;
			continue;
		}
		c->submitted++;
	}
	if (close_now)
		return 0;
	for (i = 0; i < BATCH; i++) {
		if (!ids[i])
			continue;
		if (inpu_wait(w->dev, ids[i], LONG_WAIT_NS, &res))
			c->lost++;
		else if (res.status != INPU_OK)
			c->failed++;
		else if (!work_ok(w, i))
			c->wrong++;
		else
			c->ok++;
	}
	return 0;
}

static void worker(struct counts *c, uint64_t seed)
{
	struct inpu_dev *dev;
	struct work w;
	long batch;

	for (;;) {
		if (inpu_dev_open(NULL, &dev) || work_init(&w, dev, seed++)) {
			c->errors++;
			_exit(2);
		}
		for (batch = 1; batch % CLOSE_EVERY; batch++)
			worker_batch(&w, c, 0);
		/* Close with a batch in flight. */
		worker_batch(&w, c, 1);
		work_fini(&w);
		inpu_dev_close(dev);
	}
}

static pid_t spawn(int slot, uint64_t seed)
{
	pid_t pid = fork();

	if (pid == 0)
		worker(&shared[slot], seed);
	return pid;
}

static long total(size_t field)
{
	long sum = 0;
	int i;

	for (i = 0; i <= MAX_PROCS; i++)
		sum += atomic_load((_Atomic long *)((char *)&shared[i] + field));
	return sum;
}

#define TOTAL(f) total(offsetof(struct counts, f))

static const char *const leak_names[] = {
	"bos", "pinned_pages", "jobs_alive", "fences_alive", "cmdbufs_alive",
	"contexts",
};
#define N_LEAK (sizeof(leak_names) / sizeof(leak_names[0]))

/* Objects left once everything has stopped (waits up to 30 s). */
static long long leaked(const long long *base)
{
	long long left = 0;
	unsigned int i;
	int tries;

	for (tries = 0; tries < 300; tries++) {
		left = 0;
		for (i = 0; i < N_LEAK; i++)
			left += llabs(counter(leak_names[i]) - base[i]);
		if (!left)
			break;
		usleep(100000);
	}
	for (i = 0; i < N_LEAK && left; i++)
		fprintf(stderr, "soak: %s %lld (was %lld)\n", leak_names[i],
			counter(leak_names[i]), base[i]);
	return left;
}

/* Kill and respawn a process every 2 s, force a recovery every 3 s. */
static void drive(pid_t *pids, int procs, long jobs)
{
	unsigned int tick = 0, victim = 0;
	uint64_t seed = 1000;

	while (TOTAL(submitted) < jobs) {
		usleep(100000);
		tick++;
		if (tick % 20 == 0) {
			victim = (victim + 1) % procs;
			kill(pids[victim], SIGKILL);
			waitpid(pids[victim], NULL, 0);
			/* Its counts stay; the new process counts anew. */
			shared[MAX_PROCS].submitted += shared[victim].submitted;
			shared[MAX_PROCS].ok += shared[victim].ok;
			shared[MAX_PROCS].failed += shared[victim].failed;
			shared[MAX_PROCS].wrong += shared[victim].wrong;
			shared[MAX_PROCS].lost += shared[victim].lost;
			shared[MAX_PROCS].errors += shared[victim].errors;
			memset(&shared[victim], 0, sizeof(shared[victim]));
			pids[victim] = spawn(victim, seed++);
		}
		if (tick % 30 == 0 && force_recovery())
			shared[MAX_PROCS].errors++;
	}
}

int main(int argc, char **argv)
{
	long long base[N_LEAK], f0, r0, left;
	long jobs = 100000;
	int procs = 4, i, o, rc = 0;
	pid_t pids[MAX_PROCS];
	time_t start = time(NULL);

	while ((o = getopt(argc, argv, "j:p:")) != -1) {
		if (o == 'j')
			jobs = strtol(optarg, NULL, 10);
		else if (o == 'p')
			procs = atoi(optarg);
		else
			return fprintf(stderr, "usage: inpu_soak [-j JOBS] [-p PROCS]\n"), 2;
	}
	if (procs < 1 || procs > MAX_PROCS || jobs < 1)
		return fprintf(stderr, "inpu_soak: bad -j or -p\n"), 2;
	shared = mmap(NULL, sizeof(*shared) * (MAX_PROCS + 1),
		      PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED)
		return perror("mmap"), 1;
	for (i = 0; i < (int)N_LEAK; i++)
		base[i] = counter(leak_names[i]);
	f0 = counter("faults_injected");
	r0 = counter("recoveries");
	if (base[0] < 0 || f0 < 0 ||
	    fault_inject(INPU_FI_ALL, FAULT_PERIOD, 1u << 30, 5))
		return fprintf(stderr, "inpu_soak: needs debugfs and fault-inject=on\n"), 1;

	for (i = 0; i < procs; i++)
		pids[i] = spawn(i, 1 + i);
	drive(pids, procs, jobs);
	for (i = 0; i < procs; i++) {
		kill(pids[i], SIGKILL);
		waitpid(pids[i], NULL, 0);
	}
	fault_inject(0, 0, 0, 0);
	left = leaked(base);

	printf("soak: %ld jobs submitted by %d processes in %lds: %ld ok, %ld failed (injected), %ld wrong, %ld errors\n",
	       TOTAL(submitted), procs, (long)(time(NULL) - start), TOTAL(ok),
	       TOTAL(failed), TOTAL(wrong), TOTAL(errors));
	printf("reliability: jobs %ld, faults injected %lld, recoveries %lld, lost completions %ld, leaked objects %lld\n",
	       TOTAL(submitted), counter("faults_injected") - f0,
	       counter("recoveries") - r0, TOTAL(lost), left);
	if (TOTAL(wrong) || TOTAL(lost) || left || TOTAL(errors) ||
	    TOTAL(submitted) < jobs)
		rc = 1;
	return rc;
}
