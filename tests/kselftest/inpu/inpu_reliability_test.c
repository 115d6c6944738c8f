// SPDX-License-Identifier: GPL-2.0-only
/*
 * kselftests for the driver's error handling, with the device's fault
 * injection (the device is created with fault-inject=on; debugfs
 * fault_inject programs it): a hung job ends with a timeout and the device
 * recovers; the jobs queued behind it run; a lost interrupt is detected; a
 * corrupt completion record fails only its job; a slow job that makes
 * progress is not declared hung; an MMU fault in one client leaves another
 * running; a forced reset under load ends every job once; a client that
 * keeps hanging the device is banned; kill -9 with jobs in flight leaks
 * nothing; and a stress run of several processes with faults mixed in,
 * every good result checked bit for bit.
 *
 * Run by reliability.sh, which loads the module with a short
 * job_timeout_ms.  Every job's answer is known: a matmul with 32
 * positions, each computed from ISA.md's formula (mm_naive).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <drm/inpu_accel.h>
#include <inpu/inpu_isa.h>
#include <inpu/inpu_regs.h>
#include <inpu/inpu_ring.h>

#include "inpu_job_util.h"
#include "inpu_rel_util.h"
#include "kselftest_harness.h"

/* ---- fixture ---------------------------------------------------------------- */

FIXTURE(rel) {
	struct inpu_dev *dev;
	struct drm_inpu_device_info info;
	struct work w;
	long hang_limit;
};

FIXTURE_SETUP(rel)
{
	char path[256];

	ASSERT_EQ(0, inpu_dev_open(NULL, &self->dev));
	ASSERT_EQ(0, inpu_query_device_info(self->dev, &self->info));
	if (!(self->info.capabilities & INPU_CAP_FAULT_INJECT))
		SKIP(return, "the device was created without fault-inject=on");
	if (dbg_path(path, sizeof(path), "fault_inject"))
		SKIP(return, "no debugfs fault_inject (debugfs not mounted?)");
	ASSERT_EQ(0, fault_inject(0, 0, 0, 0));
	self->hang_limit = param("hang_limit");
	ASSERT_LE(0, self->hang_limit);
	ASSERT_EQ(0, work_init(&self->w, self->dev, 0x5eed));
}

FIXTURE_TEARDOWN(rel)
{
	char buf[32];

	fault_inject(0, 0, 0, 0);
	snprintf(buf, sizeof(buf), "%ld", self->hang_limit);
	if (self->hang_limit >= 0)
		set_param("hang_limit", buf);
	work_fini(&self->w);
	inpu_dev_close(self->dev);
}

TEST_F(rel, hang_then_recovery_then_good_job)
{
	long long r0 = counter("recoveries"), t0 = counter("timeouts");
	struct drm_inpu_wait res;

	ASSERT_EQ(0, fault_inject(INPU_FI_HANG, 1, 1, 0));
	EXPECT_EQ(DRM_INPU_JOB_TIMEOUT, work_run(&self->w, 0, &res));
	EXPECT_EQ(r0 + 1, counter("recoveries"));
	EXPECT_EQ(r0 + 1, sysfs_recoveries());
	EXPECT_EQ(t0 + 1, counter("timeouts"));
	/* The device works again, with its firmware tables. */
	ASSERT_EQ(INPU_OK, work_run(&self->w, 1, &res));
	EXPECT_TRUE(work_ok(&self->w, 1));
	EXPECT_EQ(r0 + 1, counter("recoveries"));
}

TEST_F(rel, jobs_behind_a_hang_run_after_recovery)
{
	struct drm_inpu_wait res;
	uint64_t ids[8];
	uint32_t p;

	ASSERT_EQ(0, fault_inject(INPU_FI_HANG, 1, 1, 0));
	for (p = 0; p < 8; p++)
		ASSERT_EQ(0, work_submit(&self->w, p, &ids[p]));
	for (p = 0; p < 8; p++) {
		ASSERT_EQ(0, inpu_wait(self->dev, ids[p], LONG_WAIT_NS, &res));
		if (p == 0) {
			EXPECT_EQ(DRM_INPU_JOB_TIMEOUT, res.status);
		} else {
			EXPECT_EQ(INPU_OK, res.status) TH_LOG("job %u: %s", p,
				inpu_job_status_name(res.status));
			EXPECT_TRUE(work_ok(&self->w, p));
		}
	}
}

TEST_F(rel, lost_interrupt_detected)
{
	long long l0 = counter("lost_irqs"), r0 = counter("recoveries");
	struct drm_inpu_wait res;

	ASSERT_EQ(0, fault_inject(INPU_FI_DROP_IRQ, 1, 1, 0));
	ASSERT_EQ(INPU_OK, work_run(&self->w, 3, &res));
	EXPECT_TRUE(work_ok(&self->w, 3));
	EXPECT_EQ(l0 + 1, counter("lost_irqs"));
	EXPECT_EQ(r0, counter("recoveries"));
}

TEST_F(rel, corrupt_completion_fails_only_its_job)
{
	struct drm_inpu_wait res;

	ASSERT_EQ(0, fault_inject(INPU_FI_CORRUPT, 1, 1, 0));
	EXPECT_EQ(INPU_JOB_BAD_DESC, work_run(&self->w, 4, &res));
	ASSERT_EQ(INPU_OK, work_run(&self->w, 5, &res));
	EXPECT_TRUE(work_ok(&self->w, 5));
}

TEST_F(rel, slow_job_with_progress_is_not_a_hang)
{
	long timeout_ms = param("job_timeout_ms");
	long long r0 = counter("recoveries");
	struct drm_inpu_wait res;

	ASSERT_LT(0, timeout_ms);
	/* Three timeout periods: a hang would have been declared after two. */
	ASSERT_EQ(0, fault_inject(INPU_FI_SLOW, 1, 1, 3 * timeout_ms));
	ASSERT_EQ(INPU_OK, work_run(&self->w, 6, &res));
	EXPECT_TRUE(work_ok(&self->w, 6));
	EXPECT_EQ(r0, counter("recoveries"));
}

TEST_F(rel, injected_dma_fault_reports_the_address)
{
	struct drm_inpu_wait res;

	ASSERT_EQ(0, fault_inject(INPU_FI_DMA, 1, 1, 0));
	EXPECT_EQ(INPU_ERR_FAULT, work_run(&self->w, 7, &res));
	EXPECT_EQ(INPU_FI_DMA_ADDR, res.fault_addr);
	ASSERT_EQ(INPU_OK, work_run(&self->w, 7, &res));
	EXPECT_TRUE(work_ok(&self->w, 7));
}

/* A real MMU fault (validation off) in A while B runs 200 good jobs. */
TEST_F(rel, mmu_fault_in_one_client_other_keeps_running)
{
	struct drm_inpu_bo_ref ref;
	struct drm_inpu_wait res;
	struct inpu_op op;
	long skip = param("unsafe_skip_validation");
	uint32_t cb;
	int status;
	pid_t pid;

	if (skip < 0)
		SKIP(return, "no unsafe_skip_validation parameter");
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct inpu_dev *dev;
		struct work w;
		int i, bad = 0;

		if (inpu_dev_open(NULL, &dev) || work_init(&w, dev, 0xb0b))
			_exit(2);
		for (i = 0; i < 200; i++)
			if (work_run(&w, i % POS, &res) != INPU_OK ||
			    !work_ok(&w, i % POS))
				bad++;
		work_fini(&w);
		inpu_dev_close(dev);
		_exit(bad ? 1 : 0);
	}
	ASSERT_EQ(0, set_param("unsafe_skip_validation", "1"));
	memset(&op, 0, sizeof(op));
	op.opcode = INPU_OP_COPY;
	op.u.copy.src = inpu_tensor_2d(1ull << 38, INPU_DT_INT8, 1, 64);
	op.u.copy.dst = inpu_tensor_2d(inpu_bo_dva(self->w.out), INPU_DT_INT8,
				       1, 64);
	ref.handle = inpu_bo_handle(self->w.out);
	ref.flags = DRM_INPU_REF_READ | DRM_INPU_REF_WRITE;
	ASSERT_EQ(0, cmdbuf_one_op(self->dev, &op, 0, 0, 0, &ref, 1, &cb, NULL));
	set_param("unsafe_skip_validation", "0");
	for (int i = 0; i < 5; i++) {
		ASSERT_EQ(0, run_cmdbuf(self->dev, cb, NULL, 0, &res));
		EXPECT_EQ(INPU_ERR_FAULT, res.status);
		EXPECT_EQ(1ull << 38, res.fault_addr);
	}
	inpu_cmdbuf_destroy(self->dev, cb);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
		TH_LOG("the other client's jobs failed (status %#x)", status);
	ASSERT_EQ(INPU_OK, work_run(&self->w, 8, &res));
	EXPECT_TRUE(work_ok(&self->w, 8));
}

TEST_F(rel, forced_recovery_under_load_ends_every_job_once)
{
	long long r0 = counter("recoveries");
	struct drm_inpu_wait res;
	uint64_t ids[POS];
	int ok = 0, aborted = 0, other = 0;
	uint32_t p;

	for (p = 0; p < POS; p++)
		ASSERT_EQ(0, work_submit(&self->w, p, &ids[p]));
	ASSERT_EQ(0, force_recovery());
	for (p = 0; p < POS; p++) {
		ASSERT_EQ(0, inpu_wait(self->dev, ids[p], LONG_WAIT_NS, &res))
			TH_LOG("job %u never completed", p);
		if (res.status == INPU_OK && work_ok(&self->w, p))
			ok++;
		else if (res.status == DRM_INPU_JOB_ABORTED)
			aborted++;
		else
			other++;
	}
	EXPECT_EQ(0, other);
	EXPECT_GE(1, aborted);
	EXPECT_EQ(POS, ok + aborted);
	EXPECT_EQ(r0 + 1, counter("recoveries"));
	ASSERT_EQ(INPU_OK, work_run(&self->w, 9, &res));
	EXPECT_TRUE(work_ok(&self->w, 9));
}

TEST_F(rel, client_that_keeps_hanging_is_banned)
{
	long long b0 = counter("banned_files");
	struct drm_inpu_wait res;
	struct inpu_dev *dev2;
	struct work w2;
	uint64_t id;

	ASSERT_EQ(0, set_param("hang_limit", "2"));
	ASSERT_EQ(0, inpu_dev_open(NULL, &dev2));
	ASSERT_EQ(0, work_init(&w2, dev2, 0xbad));
	for (int i = 0; i < 2; i++) {
		ASSERT_EQ(0, fault_inject(INPU_FI_HANG, 1, 1, 0));
		EXPECT_EQ(DRM_INPU_JOB_TIMEOUT, work_run(&w2, i, &res));
	}
	EXPECT_EQ(-EIO, work_submit(&w2, 2, &id));
	EXPECT_EQ(b0 + 1, counter("banned_files"));
	/* Everybody else is fine. */
	ASSERT_EQ(INPU_OK, work_run(&self->w, 10, &res));
	EXPECT_TRUE(work_ok(&self->w, 10));
	work_fini(&w2);
	inpu_dev_close(dev2);
}

TEST_F(rel, kill9_with_jobs_in_flight_leaks_nothing)
{
	long long bos0 = counter("bos"), pinned0 = counter("pinned_pages");
	struct drm_inpu_wait res;
	int status, i;
	pid_t pid;

	/* Slow jobs keep the child's work in flight when it dies. */
	ASSERT_EQ(0, fault_inject(INPU_FI_SLOW, 4, 1000, 20));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct inpu_dev *dev;
		struct work w;
		uint64_t id;

		if (inpu_dev_open(NULL, &dev) || work_init(&w, dev, 0x9))
			_exit(2);
		for (i = 0;; i++)
			if (work_submit(&w, i % POS, &id))
				usleep(1000);
	}
	usleep(500000);
	ASSERT_GT(counter("bos"), bos0);
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	/* The jobs drain, then the BOs go. */
	for (i = 0; i < 300; i++) {
		if (counter("bos") == bos0 && counter("pinned_pages") == pinned0)
			break;
		usleep(100000);
	}
	EXPECT_EQ(bos0, counter("bos"));
	EXPECT_EQ(pinned0, counter("pinned_pages"));
	ASSERT_EQ(0, fault_inject(0, 0, 0, 0));
	ASSERT_EQ(INPU_OK, work_run(&self->w, 11, &res));
	EXPECT_TRUE(work_ok(&self->w, 11));
}

/*
 * STRESS_PROCS processes, STRESS_JOBS jobs each in batches, one job in
 * STRESS_PERIOD with an injected fault of each kind in turn.  A job that
 * ends INPU_OK must be bit-exact; every job must end (lost completions);
 * nothing may be left allocated.
 */
#define STRESS_PROCS	4
#define STRESS_JOBS	600
#define STRESS_PERIOD	23

struct stress_result {
	int jobs, ok, failed, wrong, lost, errors;
};

static void stress_child(int fd_out, uint64_t seed)
{
	struct stress_result r = { 0 };
	struct drm_inpu_wait res;
	struct inpu_dev *dev;
	uint64_t ids[POS];
	struct work w;
	int done = 0;

	if (inpu_dev_open(NULL, &dev) || work_init(&w, dev, seed))
		_exit(2);
	while (done < STRESS_JOBS) {
		int n = STRESS_JOBS - done < 16 ? STRESS_JOBS - done : 16, i;

		for (i = 0; i < n; i++)
			if (work_submit(&w, i, &ids[i]))
				r.errors++, ids[i] = 0;
		for (i = 0; i < n; i++) {
			if (!ids[i])
				continue;
			r.jobs++;
			if (inpu_wait(dev, ids[i], LONG_WAIT_NS, &res)) {
				r.lost++;
				continue;
			}
			if (res.status != INPU_OK)
				r.failed++;
			else if (!work_ok(&w, i))
				r.wrong++;
			else
				r.ok++;
		}
		done += n;
	}
	work_fini(&w);
	inpu_dev_close(dev);
	if (write(fd_out, &r, sizeof(r)) != sizeof(r))
		_exit(3);
	_exit(0);
}

TEST_F(rel, stress_processes_with_faults_mixed_in)
{
	long long bos0 = counter("bos"), pinned0 = counter("pinned_pages");
	long long r0 = counter("recoveries"), f0 = counter("faults_injected");
	long long jobs0 = counter("jobs_completed");
	struct stress_result sum = { 0 }, r;
	int pipefd[2], status, i, children_ok = 1;
	pid_t pids[STRESS_PROCS];

	ASSERT_EQ(0, set_param("hang_limit", "0"));
	ASSERT_EQ(0, pipe(pipefd));
	ASSERT_EQ(0, fault_inject(INPU_FI_ALL, STRESS_PERIOD, 100000, 30));
	for (i = 0; i < STRESS_PROCS; i++) {
		pids[i] = fork();
		ASSERT_LE(0, pids[i]);
		if (pids[i] == 0) {
			close(pipefd[0]);
			stress_child(pipefd[1], 0x1000 + i);
		}
	}
	close(pipefd[1]);
	for (i = 0; i < STRESS_PROCS; i++) {
		ASSERT_EQ(pids[i], waitpid(pids[i], &status, 0));
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			children_ok = 0;
	}
	ASSERT_EQ(0, fault_inject(0, 0, 0, 0));
	while (read(pipefd[0], &r, sizeof(r)) == sizeof(r)) {
		sum.jobs += r.jobs;
		sum.ok += r.ok;
		sum.failed += r.failed;
		sum.wrong += r.wrong;
		sum.lost += r.lost;
		sum.errors += r.errors;
	}
	close(pipefd[0]);
	for (i = 0; i < 100 && counter("bos") != bos0; i++)
		usleep(100000);

	ksft_print_msg("reliability: jobs %lld, faults injected %lld, recoveries %lld, lost completions %d, leaked objects %lld, wrong results %d, failed %d, ok %d\n",
		       counter("jobs_completed") - jobs0,
		       counter("faults_injected") - f0,
		       counter("recoveries") - r0, sum.lost,
		       (counter("bos") - bos0) + (counter("pinned_pages") - pinned0),
		       sum.wrong, sum.failed, sum.ok);
	EXPECT_TRUE(children_ok);
	EXPECT_EQ(STRESS_PROCS * STRESS_JOBS, sum.jobs);
	EXPECT_EQ(0, sum.errors);
	EXPECT_EQ(0, sum.lost);
	EXPECT_EQ(0, sum.wrong);
	/* The injections hit some jobs, and no more than them. */
	EXPECT_LT(0, counter("faults_injected") - f0);
	EXPECT_GE(counter("faults_injected") - f0, sum.failed);
	EXPECT_LT(0, counter("recoveries") - r0);
	EXPECT_EQ(bos0, counter("bos"));
	EXPECT_EQ(pinned0, counter("pinned_pages"));
}

TEST_HARNESS_MAIN
