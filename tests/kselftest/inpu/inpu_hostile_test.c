// SPDX-License-Identifier: GPL-2.0-only
/*
 * kselftests for hostile clients (issue 19's findings): a client with a
 * render-node fd must not be able to crash the kernel, corrupt memory,
 * starve other clients or exhaust the host, whatever it does from several
 * threads and processes at once.
 *
 *  - CMDBUF_DESTROY racing SUBMIT on one fd, from four threads;
 *  - unbind with open files and jobs in flight, then rebind;
 *  - every allocation of CMDBUF_CREATE failed in turn (fail-nth; needs a
 *    kernel with fault injection, i.e. make check-debug);
 *  - the work budget: a valid stream that would run for minutes is
 *    refused, a long one within budget does not make another client's
 *    jobs time out;
 *  - per-file limits on command buffers, stream memory, queued jobs;
 *  - a BO listed twice is refused at CMDBUF_CREATE;
 *  - a job whose interrupt was lost is freed (its BOs go);
 *  - a job that completes just after being declared hung is not reset,
 *    and the job behind it is not ended;
 *  - a hang leaves a devcoredump.
 *
 * Run by hostile.sh, which loads the module with a short job_timeout_ms
 * for the tests that need one.  The kernel log is checked by the VM
 * harness: any BUG, WARNING or lockdep splat fails the run.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <drm/inpu_accel.h>
#include <inpu/inpu_isa.h>
#include <inpu/inpu_regs.h>
#include <inpu/inpu_ring.h>

#include "inpu_job_util.h"
#include "inpu_rel_util.h"
#include "kselftest_harness.h"

#define RACE_SECONDS	3

/* ---- CMDBUF_DESTROY racing SUBMIT -------------------------------------- */

struct race {
	struct inpu_dev *dev;
	struct inpu_bo *bo;
	_Atomic uint32_t handle;
	_Atomic int stop;
	_Atomic long submits, destroys, bad;
};

static int race_new_cmdbuf(struct race *r, uint32_t *cb)
{
	struct drm_inpu_bo_ref ref = {
		.handle = inpu_bo_handle(r->bo), .flags = DRM_INPU_REF_READ,
	};
	struct inpu_op op;

	memset(&op, 0, sizeof(op));
	op.opcode = INPU_OP_NOP;
	return cmdbuf_one_op(r->dev, &op, 0, 0, 0, &ref, 1, cb, NULL);
}

static void *race_submitter(void *arg)
{
	struct race *r = arg;
	struct drm_inpu_wait res;
	uint64_t id;
	int ret;

	while (!r->stop) {
		ret = inpu_submit_cmdbuf(r->dev, r->handle, NULL, 0, NULL, 0, 0,
					 &id);
		if (ret == -ENOENT)
			continue;
		if (ret || inpu_wait(r->dev, id, WAIT_NS, &res) ||
		    res.status != INPU_OK)
			r->bad++;
		r->submits++;
	}
	return NULL;
}

static void *race_destroyer(void *arg)
{
	struct race *r = arg;
	uint32_t cb, old;
	int ret;

	while (!r->stop) {
		if (race_new_cmdbuf(r, &cb)) {
			r->bad++;
			continue;
		}
		old = atomic_exchange(&r->handle, cb);
		ret = inpu_cmdbuf_destroy(r->dev, old);
		if (ret)
			r->bad++;
		r->destroys++;
	}
	return NULL;
}

TEST(cmdbuf_destroy_races_submit)
{
	pthread_t th[4];
	struct race r;
	uint32_t cb;
	int i;

	memset(&r, 0, sizeof(r));
	ASSERT_EQ(0, inpu_dev_open(NULL, &r.dev));
	ASSERT_EQ(0, inpu_bo_alloc(r.dev, 4096, 0, &r.bo));
	ASSERT_EQ(0, race_new_cmdbuf(&r, &cb));
	r.handle = cb;
	/* Widen the lookup window if the driver has the knob. */
	if (param("debug_lookup_delay_us") >= 0)
		ASSERT_EQ(0, set_param("debug_lookup_delay_us", "200"));
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, pthread_create(&th[i], NULL,
					    i % 2 ? race_destroyer : race_submitter,
					    &r));
	sleep(RACE_SECONDS);
	r.stop = 1;
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	if (param("debug_lookup_delay_us") >= 0)
		set_param("debug_lookup_delay_us", "0");
	TH_LOG("%ld submits, %ld destroys", (long)r.submits, (long)r.destroys);
	EXPECT_EQ(0, r.bad);
	EXPECT_LT(0, r.submits);
	EXPECT_LT(0, r.destroys);
	inpu_bo_free(r.bo);
	inpu_dev_close(r.dev);
}

/* ---- unbind with open files ---------------------------------------------- */

static int pci_bdf(char *buf, size_t len)
{
	char link[256];
	ssize_t n = readlink("/sys/class/accel/accel0/device", link,
			     sizeof(link) - 1);
	const char *slash;

	if (n < 0)
		return -errno;
	link[n] = 0;
	slash = strrchr(link, '/');
	slash = slash ? slash + 1 : link;
	if (strlen(slash) >= len)
		return -ENAMETOOLONG;
	memcpy(buf, slash, strlen(slash) + 1);
	return 0;
}

static int wait_for_node(int present)
{
	int i;

	for (i = 0; i < 100; i++) {
		if ((access("/dev/accel/accel0", F_OK) == 0) == present)
			return 0;
		usleep(50000);
	}
	return -ETIMEDOUT;
}

/*
 * Create, submit and destroy until the device goes away: every call either
 * works, fails with -ENODEV, or (too many jobs queued behind the slow ones)
 * with -EBUSY.  Exit status 0 if so.
 */
static int unbind_racer(void)
{
	struct inpu_dev *dev;
	struct inpu_bo *bo;
	uint64_t id;
	uint32_t cb;
	int ret;

	if (inpu_dev_open(NULL, &dev))
		return 2;
	for (;;) {
		bo = NULL;
		ret = nop_cmdbuf(dev, &bo, &cb);
		if (!ret)
			ret = inpu_submit_cmdbuf(dev, cb, NULL, 0, NULL, 0, 0, &id);
		if (!ret)
			ret = inpu_cmdbuf_destroy(dev, cb);
		if (ret == -EBUSY) {
			inpu_cmdbuf_destroy(dev, cb);
			usleep(1000);
			ret = 0;
		}
		inpu_bo_free(bo);
		if (ret == -ENODEV)
			break;
		if (ret)
			return 3;
	}
	inpu_dev_close(dev);
	return 0;
}

TEST(unbind_with_open_files_and_jobs_then_rebind)
{
	struct drm_inpu_bo_ref ref;
	struct drm_inpu_wait res;
	struct inpu_bo *bo, *bo2;
	struct inpu_dev *dev;
	uint64_t ids[64];
	int i, status;
	char bdf[64];
	pid_t child;
	uint32_t cb;
	uint8_t *p;

	if (getuid())
		SKIP(return, "unbinding needs root");
	ASSERT_EQ(0, pci_bdf(bdf, sizeof(bdf)));
	ASSERT_EQ(0, inpu_dev_open(NULL, &dev));
	ASSERT_EQ(0, nop_cmdbuf(dev, &bo, &cb));
	p = inpu_bo_ptr(bo);
	p[0] = 0x5a;
	/* Slow jobs, so that some are on the device and some queued. */
	fault_inject(INPU_FI_SLOW, 1, 64, 20);
	for (i = 0; i < 64; i++)
		ASSERT_EQ(0, inpu_submit_cmdbuf(dev, cb, NULL, 0, NULL, 0, 0,
						&ids[i]));
	/* Another process keeps creating and submitting through the unbind. */
	child = fork();
	ASSERT_LE(0, child);
	if (child == 0)
		_exit(unbind_racer());
	usleep(200000);
	ASSERT_EQ(0, write_file("/sys/bus/pci/drivers/inpu/unbind", bdf));
	ASSERT_EQ(child, waitpid(child, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		TH_LOG("the racing process failed (status %#x)", status);
	}

	/* Nothing that needs the device works; nothing crashes. */
	EXPECT_EQ(-ENODEV, inpu_bo_alloc(dev, 4096, 0, &bo2));
	ref.handle = inpu_bo_handle(bo);
	ref.flags = DRM_INPU_REF_READ;
	{
		struct inpu_op op;
		uint32_t cb2;

		memset(&op, 0, sizeof(op));
		op.opcode = INPU_OP_NOP;
		EXPECT_EQ(-ENODEV, cmdbuf_one_op(dev, &op, 0, 0, 0, &ref, 1,
						 &cb2, NULL));
	}
	EXPECT_EQ(-ENODEV, inpu_submit_cmdbuf(dev, cb, NULL, 0, NULL, 0, 0,
					      &ids[0]));
	/* The DRM core refuses every ioctl of an unplugged device. */
	EXPECT_EQ(-ENODEV, inpu_wait(dev, ids[63], WAIT_NS, &res));
	/* The CPU mapping of a BO still reads what was written. */
	EXPECT_EQ(0x5a, p[0]);
	inpu_bo_free(bo);
	inpu_dev_close(dev);
	ASSERT_EQ(0, wait_for_node(0));

	ASSERT_EQ(0, write_file("/sys/bus/pci/drivers/inpu/bind", bdf));
	ASSERT_EQ(0, wait_for_node(1));
	fault_inject(0, 0, 0, 0);
	ASSERT_EQ(0, inpu_dev_open(NULL, &dev));
	ASSERT_EQ(0, nop_cmdbuf(dev, &bo, &cb));
	ASSERT_EQ(0, run_cmdbuf(dev, cb, NULL, 0, &res));
	EXPECT_EQ(INPU_OK, res.status);
	inpu_cmdbuf_destroy(dev, cb);
	inpu_bo_free(bo);
	inpu_dev_close(dev);
}

/* ---- every allocation of CMDBUF_CREATE fails in turn -------------------- */

static int fail_nth_setup(void)
{
	static const char *const knobs[][2] = {
		{ "/sys/kernel/debug/failslab/ignore-gfp-wait", "N" },
		{ "/sys/kernel/debug/failslab/verbose", "0" },
		{ "/sys/kernel/debug/fail_page_alloc/ignore-gfp-wait", "N" },
		{ "/sys/kernel/debug/fail_page_alloc/ignore-gfp-highmem", "N" },
		{ "/sys/kernel/debug/fail_page_alloc/min-order", "0" },
		{ "/sys/kernel/debug/fail_page_alloc/verbose", "0" },
	};
	unsigned int i;

	for (i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++)
		if (write_file(knobs[i][0], knobs[i][1]))
			return -1;
	return 0;
}

TEST(cmdbuf_create_survives_every_allocation_failure)
{
	long long bos0;
	struct drm_inpu_wait res;
	struct drm_inpu_bo_ref refs[4];
	struct inpu_bo *bo[4];
	struct inpu_dev *dev;
	struct inpu_op op;
	char path[64], got[16];
	int nth, fd, ret, i, failed = 0;
	uint32_t cb;

	snprintf(path, sizeof(path), "/proc/thread-self/fail-nth");
	if (access(path, W_OK))
		SKIP(return, "kernel without fail-nth fault injection (make check-debug has it)");
	if (fail_nth_setup())
		SKIP(return, "no failslab/fail_page_alloc in debugfs");
	ASSERT_EQ(0, inpu_dev_open(NULL, &dev));
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, inpu_bo_alloc(dev, 4096, 0, &bo[i]));
		refs[i].handle = inpu_bo_handle(bo[i]);
		refs[i].flags = DRM_INPU_REF_READ;
	}
	bos0 = counter("bos");
	memset(&op, 0, sizeof(op));
	op.opcode = INPU_OP_NOP;
	for (nth = 1; nth < 200; nth++) {
		fd = open(path, O_RDWR);
		ASSERT_LE(0, fd);
		snprintf(got, sizeof(got), "%d", nth);
		ASSERT_LT(0, write(fd, got, strlen(got)));
		ret = cmdbuf_one_op(dev, &op, 0, 0, 0, refs, 4, &cb, NULL);
		/* Still armed: the ioctl made fewer than nth allocations. */
		memset(got, 0, sizeof(got));
		ASSERT_LT(0, pread(fd, got, sizeof(got) - 1, 0));
		close(fd);
		if (!ret) {
			inpu_cmdbuf_destroy(dev, cb);
			if (atoi(got) > 0)
				break;
			continue;
		}
		EXPECT_EQ(-ENOMEM, ret) {
			TH_LOG("allocation %d: %d", nth, ret);
		}
		failed++;
	}
	TH_LOG("%d allocations failed in turn", failed);
	EXPECT_LT(0, failed);
	/* Nothing leaked, the device still works. */
	EXPECT_EQ(bos0, counter("bos"));
	ASSERT_EQ(0, cmdbuf_one_op(dev, &op, 0, 0, 0, refs, 4, &cb, NULL));
	ASSERT_EQ(0, run_cmdbuf(dev, cb, NULL, 0, &res));
	EXPECT_EQ(INPU_OK, res.status);
	for (i = 0; i < 4; i++)
		inpu_bo_free(bo[i]);
	inpu_dev_close(dev);
}

/*
 * A recovery must not allocate (it runs while fences wait): fail each
 * allocation a forced recovery could make in turn, in the writing task
 * (fail-nth), and check that the device still runs a good job after each.
 */
TEST(recovery_survives_every_allocation_failure)
{
	char path[256], got[16];
	struct drm_inpu_wait res;
	struct inpu_dev *dev;
	struct inpu_bo *bo;
	int nth, fd, rec, consumed = 0;
	uint32_t cb;

	if (access("/proc/thread-self/fail-nth", W_OK))
		SKIP(return, "kernel without fail-nth fault injection (make check-debug has it)");
	if (fail_nth_setup())
		SKIP(return, "no failslab/fail_page_alloc in debugfs");
	ASSERT_EQ(0, dbg_path(path, sizeof(path), "force_recovery"));
	ASSERT_EQ(0, inpu_dev_open(NULL, &dev));
	ASSERT_EQ(0, nop_cmdbuf(dev, &bo, &cb));
	for (nth = 1; nth <= 16; nth++) {
		rec = open(path, O_WRONLY);
		ASSERT_LE(0, rec);
		fd = open("/proc/thread-self/fail-nth", O_RDWR);
		ASSERT_LE(0, fd);
		snprintf(got, sizeof(got), "%d", nth);
		ASSERT_LT(0, write(fd, got, strlen(got)));
		EXPECT_EQ(1, write(rec, "1", 1));
		memset(got, 0, sizeof(got));
		ASSERT_LT(0, pread(fd, got, sizeof(got) - 1, 0));
		/* 0: the nth allocation happened (and failed). */
		if (atoi(got) == 0)
			consumed++;
		ASSERT_LT(0, write(fd, "0", 1));
		close(fd);
		close(rec);
		ASSERT_EQ(0, run_cmdbuf(dev, cb, NULL, 0, &res));
		EXPECT_EQ(INPU_OK, res.status) {
			TH_LOG("after failing allocation %d of a recovery: %s",
			       nth, inpu_job_status_name(res.status));
		}
	}
	TH_LOG("%d of 16 injected failures hit an allocation", consumed);
	inpu_cmdbuf_destroy(dev, cb);
	inpu_bo_free(bo);
	inpu_dev_close(dev);
}

/* ---- the work budget ------------------------------------------------------ */

#define CACHE_ROWS	65536
#define HEAD_DIM	256

struct att {
	struct inpu_bo *q, *kv, *y;
	uint32_t cb;
};

/* One ATTENTION of @heads heads over a full 65536-row cache. */
static int att_cmdbuf(struct inpu_dev *dev, struct att *a, uint32_t heads,
		      struct drm_inpu_verror *verr)
{
	uint64_t qbytes = (uint64_t)heads * HEAD_DIM;
	struct drm_inpu_bo_ref refs[3];
	struct inpu_op op;
	int ret;

	memset(a, 0, sizeof(*a));
	ret = inpu_bo_alloc(dev, qbytes, DRM_INPU_BO_DEVICE_READONLY, &a->q);
	if (!ret)
		ret = inpu_bo_alloc(dev, 2ull * CACHE_ROWS * HEAD_DIM,
				    DRM_INPU_BO_DEVICE_READONLY, &a->kv);
	if (!ret)
		ret = inpu_bo_alloc(dev, qbytes, 0, &a->y);
	if (ret)
		return ret;
	memset(&op, 0, sizeof(op));
	op.opcode = INPU_OP_ATTENTION;
	op.u.attention.q = inpu_tensor_2d(inpu_bo_dva(a->q), INPU_DT_INT8, 1,
					  heads * HEAD_DIM);
	op.u.attention.k = inpu_tensor_2d(inpu_bo_dva(a->kv), INPU_DT_INT8,
					  CACHE_ROWS, HEAD_DIM);
	op.u.attention.v = inpu_tensor_2d(inpu_bo_dva(a->kv) +
					  (uint64_t)CACHE_ROWS * HEAD_DIM,
					  INPU_DT_INT8, CACHE_ROWS, HEAD_DIM);
	op.u.attention.y = inpu_tensor_2d(inpu_bo_dva(a->y), INPU_DT_INT8, 1,
					  heads * HEAD_DIM);
	op.u.attention.n_heads = heads;
	op.u.attention.n_kv_heads = 1;
	op.u.attention.head_dim = HEAD_DIM;
	op.u.attention.pos = CACHE_ROWS - 1;
	op.u.attention.score_mult = 1 << 30;
	op.u.attention.score_shift = 40;
	op.u.attention.out_mult = 1 << 30;
	op.u.attention.out_shift = 30;
	refs[0].handle = inpu_bo_handle(a->q);
	refs[0].flags = DRM_INPU_REF_READ;
	refs[1].handle = inpu_bo_handle(a->kv);
	refs[1].flags = DRM_INPU_REF_READ;
	refs[2].handle = inpu_bo_handle(a->y);
	refs[2].flags = DRM_INPU_REF_WRITE;
	return cmdbuf_one_op(dev, &op, 0, 0, 0, refs, 3, &a->cb, verr);
}

static void att_free(struct inpu_dev *dev, struct att *a)
{
	if (a->cb)
		inpu_cmdbuf_destroy(dev, a->cb);
	inpu_bo_free(a->q);
	inpu_bo_free(a->kv);
	inpu_bo_free(a->y);
}

TEST(job_beyond_the_work_budget_is_refused)
{
	struct drm_inpu_verror verr;
	struct inpu_dev *dev;
	struct att a;

	ASSERT_EQ(0, inpu_dev_open(NULL, &dev));
	/* About three minutes of device time on the host engine. */
	EXPECT_EQ(-E2BIG, att_cmdbuf(dev, &a, 65535, &verr));
	EXPECT_EQ(INPU_ERR_BUDGET, verr.status);
	att_free(dev, &a);
	inpu_dev_close(dev);
}

/*
 * Client A runs the longest job the budget allows; client B's jobs, queued
 * behind it, all succeed within their timeout, and nobody is charged with
 * a hang.
 */
TEST(long_job_within_budget_starves_nobody)
{
	long long t0 = counter("timeouts"), r0 = counter("recoveries");
	long budget = param("max_job_gwork");
	struct drm_inpu_wait res;
	struct inpu_dev *a, *b;
	struct inpu_bo *bo;
	uint64_t ida, idb[8];
	struct att at;
	uint32_t heads, cb;
	int i;

	ASSERT_LT(0, budget);
	/* work ~= 65536 keys * heads * (2 * 256 + 2): 90% of the budget. */
	heads = (uint32_t)(budget * 900000000ull / (65536ull * 514));
	if (heads > 65535)
		heads = 65535;
	ASSERT_EQ(0, inpu_dev_open(NULL, &a));
	ASSERT_EQ(0, inpu_dev_open(NULL, &b));
	ASSERT_EQ(0, att_cmdbuf(a, &at, heads, NULL));
	ASSERT_EQ(0, nop_cmdbuf(b, &bo, &cb));
	ASSERT_EQ(0, inpu_submit_cmdbuf(a, at.cb, NULL, 0, NULL, 0, 0, &ida));
	for (i = 0; i < 8; i++)
		ASSERT_EQ(0, inpu_submit_cmdbuf(b, cb, NULL, 0, NULL, 0, 0,
						&idb[i]));
	for (i = 0; i < 8; i++) {
		ASSERT_EQ(0, inpu_wait(b, idb[i], LONG_WAIT_NS, &res));
		EXPECT_EQ(INPU_OK, res.status) {
			TH_LOG("B's job %d: %s", i, inpu_job_status_name(res.status));
		}
	}
	ASSERT_EQ(0, inpu_wait(a, ida, LONG_WAIT_NS, &res));
	EXPECT_EQ(INPU_OK, res.status) {
		TH_LOG("A's job: %s", inpu_job_status_name(res.status));
	}
	EXPECT_EQ(t0, counter("timeouts"));
	EXPECT_EQ(r0, counter("recoveries"));
	att_free(a, &at);
	inpu_cmdbuf_destroy(b, cb);
	inpu_bo_free(bo);
	inpu_dev_close(a);
	inpu_dev_close(b);
}

/* ---- per-file limits ------------------------------------------------------ */

FIXTURE(limits) {
	struct inpu_dev *dev;
	struct inpu_bo *bo;
	char saved[3][32];
};

static const char *const limit_names[3] = {
	"max_cmdbufs", "max_stream_mib", "max_jobs_queued",
};

FIXTURE_SETUP(limits)
{
	int i;

	for (i = 0; i < 3; i++) {
		/* A driver without the limit fails: that is the finding. */
		ASSERT_LE(0, param(limit_names[i])) {
			TH_LOG("inpu.ko has no %s parameter", limit_names[i]);
		}
		snprintf(self->saved[i], sizeof(self->saved[i]), "%ld",
			 param(limit_names[i]));
	}
	ASSERT_EQ(0, inpu_dev_open(NULL, &self->dev));
	ASSERT_EQ(0, inpu_bo_alloc(self->dev, 4096, 0, &self->bo));
}

FIXTURE_TEARDOWN(limits)
{
	int i;

	for (i = 0; i < 3; i++)
		if (self->saved[i][0])
			set_param(limit_names[i], self->saved[i]);
	fault_inject(0, 0, 0, 0);
	inpu_bo_free(self->bo);
	inpu_dev_close(self->dev);
}

/* A command buffer of @n NOPs using the fixture's BO. */
static int nops_cmdbuf(struct inpu_dev *dev, struct inpu_bo *bo, uint32_t n,
		       uint32_t *cb)
{
	struct drm_inpu_bo_ref ref = {
		.handle = inpu_bo_handle(bo), .flags = DRM_INPU_REF_READ,
	};
	struct inpu_stream *s = inpu_stream_new();
	struct inpu_op op;
	const void *data;
	size_t len;
	int ret = 0;
	uint32_t i;

	if (!s)
		return -ENOMEM;
	memset(&op, 0, sizeof(op));
	op.opcode = INPU_OP_NOP;
	for (i = 0; i < n && ret >= 0; i++)
		ret = inpu_stream_add(s, &op);
	if (ret >= 0) {
		data = inpu_stream_data(s, &len);
		ret = inpu_cmdbuf_create(dev, data, len, &ref, 1, cb, NULL);
	}
	inpu_stream_free(s);
	return ret < 0 ? ret : 0;
}

TEST_F(limits, command_buffers_per_file)
{
	uint32_t cb[9];
	int i;

	ASSERT_EQ(0, set_param("max_cmdbufs", "8"));
	for (i = 0; i < 8; i++)
		ASSERT_EQ(0, nops_cmdbuf(self->dev, self->bo, 1, &cb[i]));
	EXPECT_EQ(-ENOSPC, nops_cmdbuf(self->dev, self->bo, 1, &cb[8]));
	ASSERT_EQ(0, inpu_cmdbuf_destroy(self->dev, cb[0]));
	ASSERT_EQ(0, nops_cmdbuf(self->dev, self->bo, 1, &cb[0]));
	for (i = 0; i < 8; i++)
		inpu_cmdbuf_destroy(self->dev, cb[i]);
}

TEST_F(limits, stream_memory_per_file)
{
	uint32_t a, b;

	ASSERT_EQ(0, set_param("max_stream_mib", "1"));
	/* 2048 ops of 256 bytes: half a MiB each. */
	ASSERT_EQ(0, nops_cmdbuf(self->dev, self->bo, 2048, &a));
	EXPECT_EQ(-ENOSPC, nops_cmdbuf(self->dev, self->bo, 2048, &b));
	ASSERT_EQ(0, inpu_cmdbuf_destroy(self->dev, a));
	ASSERT_EQ(0, nops_cmdbuf(self->dev, self->bo, 2048, &b));
	inpu_cmdbuf_destroy(self->dev, b);
}

TEST_F(limits, queued_jobs_per_file)
{
	struct drm_inpu_wait res;
	uint64_t ids[5], extra;
	uint32_t cb;
	int i;

	ASSERT_EQ(0, nops_cmdbuf(self->dev, self->bo, 1, &cb));
	ASSERT_EQ(0, set_param("max_jobs_queued", "4"));
	/* The first job runs for a second: the others wait behind it. */
	ASSERT_EQ(0, fault_inject(INPU_FI_SLOW, 1, 1, 1000));
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, inpu_submit_cmdbuf(self->dev, cb, NULL, 0, NULL, 0,
						0, &ids[i]));
	EXPECT_EQ(-EBUSY, inpu_submit_cmdbuf(self->dev, cb, NULL, 0, NULL, 0,
					     0, &extra));
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, inpu_wait(self->dev, ids[i], LONG_WAIT_NS, &res));
		EXPECT_EQ(INPU_OK, res.status);
	}
	/* Retired jobs give their places back (freed asynchronously). */
	for (i = 0; i < 100; i++) {
		if (!inpu_submit_cmdbuf(self->dev, cb, NULL, 0, NULL, 0, 0,
					&ids[4]))
			break;
		usleep(10000);
	}
	ASSERT_GT(100, i);
	ASSERT_EQ(0, inpu_wait(self->dev, ids[4], LONG_WAIT_NS, &res));
	inpu_cmdbuf_destroy(self->dev, cb);
}

/* ---- smaller findings ----------------------------------------------------- */

TEST(bo_listed_twice_is_refused_at_create)
{
	struct drm_inpu_bo_ref refs[2];
	struct inpu_dev *dev;
	struct inpu_bo *bo;
	struct inpu_op op;
	uint32_t cb;

	ASSERT_EQ(0, inpu_dev_open(NULL, &dev));
	ASSERT_EQ(0, inpu_bo_alloc(dev, 4096, 0, &bo));
	refs[0].handle = refs[1].handle = inpu_bo_handle(bo);
	refs[0].flags = DRM_INPU_REF_READ;
	refs[1].flags = DRM_INPU_REF_WRITE;
	memset(&op, 0, sizeof(op));
	op.opcode = INPU_OP_NOP;
	EXPECT_EQ(-EINVAL, cmdbuf_one_op(dev, &op, 0, 0, 0, refs, 2, &cb, NULL));
	inpu_bo_free(bo);
	inpu_dev_close(dev);
}

/*
 * A job whose interrupt was lost, found by the timeout handler, must be
 * freed (and with it the last reference to its BOs) without waiting for
 * another job to complete.
 */
TEST(lost_interrupt_job_is_freed)
{
	long long bos0 = counter("bos");
	struct drm_inpu_wait res;
	struct inpu_dev *dev;
	struct inpu_bo *bo;
	uint64_t id;
	uint32_t cb;
	int i;

	ASSERT_LE(0, bos0);
	/* Let the free worker run while the handler holds the job. */
	ASSERT_EQ(0, set_param("debug_lost_irq_delay_ms", "200"));
	ASSERT_EQ(0, inpu_dev_open(NULL, &dev));
	ASSERT_EQ(0, nop_cmdbuf(dev, &bo, &cb));
	ASSERT_EQ(0, fault_inject(INPU_FI_DROP_IRQ, 1, 1, 0));
	ASSERT_EQ(0, inpu_submit_cmdbuf(dev, cb, NULL, 0, NULL, 0, 0, &id));
	ASSERT_EQ(0, inpu_wait(dev, id, LONG_WAIT_NS, &res));
	EXPECT_EQ(INPU_OK, res.status);
	inpu_cmdbuf_destroy(dev, cb);
	inpu_bo_free(bo);
	for (i = 0; i < 50 && counter("bos") != bos0; i++)
		usleep(100000);
	set_param("debug_lost_irq_delay_ms", "0");
	EXPECT_EQ(bos0, counter("bos"));
	inpu_dev_close(dev);
}

/*
 * A job that stalls with no progress is declared hung, then completes
 * before the reset (widened with debug_tdr_delay_ms): it ends normally, no
 * reset happens, and the job queued behind it is not ended in its place.
 */
TEST(job_completing_as_declared_hung_spares_the_next)
{
	long timeout_ms = param("job_timeout_ms");
	long long r0 = counter("recoveries");
	struct drm_inpu_wait res;
	struct inpu_dev *dev;
	struct inpu_bo *bo;
	uint64_t id[2];
	uint32_t cb;
	char buf[32];

	ASSERT_LE(0, param("debug_tdr_delay_ms"));
	ASSERT_LT(0, timeout_ms);
	ASSERT_EQ(0, inpu_dev_open(NULL, &dev));
	ASSERT_EQ(0, nop_cmdbuf(dev, &bo, &cb));
	/*
	 * Both jobs stall for three periods: the first is declared hung
	 * after two and completes during the delay, while the second,
	 * started then, is still running when the delay ends.
	 */
	ASSERT_EQ(0, fault_inject(INPU_FI_STALL, 1, 2, 3 * timeout_ms));
	snprintf(buf, sizeof(buf), "%ld", 3 * timeout_ms);
	ASSERT_EQ(0, set_param("debug_tdr_delay_ms", buf));
	ASSERT_EQ(0, inpu_submit_cmdbuf(dev, cb, NULL, 0, NULL, 0, 0, &id[0]));
	ASSERT_EQ(0, inpu_submit_cmdbuf(dev, cb, NULL, 0, NULL, 0, 0, &id[1]));
	ASSERT_EQ(0, inpu_wait(dev, id[0], LONG_WAIT_NS, &res));
	EXPECT_EQ(INPU_OK, res.status) {
		TH_LOG("stalled job: %s", inpu_job_status_name(res.status));
	}
	ASSERT_EQ(0, inpu_wait(dev, id[1], LONG_WAIT_NS, &res));
	EXPECT_EQ(INPU_OK, res.status) {
		TH_LOG("job behind it: %s", inpu_job_status_name(res.status));
	}
	EXPECT_EQ(r0, counter("recoveries"));
	set_param("debug_tdr_delay_ms", "0");
	inpu_cmdbuf_destroy(dev, cb);
	inpu_bo_free(bo);
	inpu_dev_close(dev);
}

/* ---- devcoredump ------------------------------------------------------------ */

/* The data of the first devcoredump of an inpu device, or NULL. */
static char *read_coredump(char *name, size_t len)
{
	const char *root = "/sys/class/devcoredump";
	char path[512], *buf = NULL;
	struct dirent *e;
	DIR *d = opendir(root);

	if (!d)
		return NULL;
	while (!buf && (e = readdir(d))) {
		FILE *f;
		size_t n;

		if (strncmp(e->d_name, "devcd", 5))
			continue;
		snprintf(path, sizeof(path), "%s/%s/data", root, e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		buf = calloc(1, 65536);
		n = buf ? fread(buf, 1, 65535, f) : 0;
		fclose(f);
		if (!buf || strncmp(buf, "inpu devcoredump", 16)) {
			free(buf);
			buf = NULL;
			continue;
		}
		(void)n;
		snprintf(name, len, "%s/%s/data", root, e->d_name);
	}
	closedir(d);
	return buf;
}

TEST(hang_leaves_a_devcoredump)
{
	struct drm_inpu_wait res;
	char name[512], want[64];
	struct inpu_dev *dev;
	struct inpu_bo *bo;
	uint64_t id;
	uint32_t cb;
	char *dump;

	if (access("/sys/class/devcoredump", F_OK))
		SKIP(return, "kernel without devcoredump");
	/* Discard older dumps: only one per device is kept. */
	while ((dump = read_coredump(name, sizeof(name)))) {
		free(dump);
		ASSERT_EQ(0, write_file(name, "1"));
	}
	ASSERT_EQ(0, inpu_dev_open(NULL, &dev));
	ASSERT_EQ(0, nop_cmdbuf(dev, &bo, &cb));
	ASSERT_EQ(0, fault_inject(INPU_FI_HANG, 1, 1, 0));
	ASSERT_EQ(0, inpu_submit_cmdbuf(dev, cb, NULL, 0, NULL, 0, 0, &id));
	ASSERT_EQ(0, inpu_wait(dev, id, LONG_WAIT_NS, &res));
	EXPECT_EQ(DRM_INPU_JOB_TIMEOUT, res.status);
	dump = read_coredump(name, sizeof(name));
	ASSERT_NE(NULL, dump);
	EXPECT_NE(NULL, strstr(dump, "reason hang"));
	snprintf(want, sizeof(want), "guilty job %llu ", (unsigned long long)id);
	EXPECT_NE(NULL, strstr(dump, want)) {
		TH_LOG("%s", dump);
	}
	EXPECT_NE(NULL, strstr(dump, "guilty stream len "));
	EXPECT_NE(NULL, strstr(dump, "reg RING_HEAD "));
	EXPECT_NE(NULL, strstr(dump, "\nend\n"));
	free(dump);
	write_file(name, "1");
	inpu_cmdbuf_destroy(dev, cb);
	inpu_bo_free(bo);
	inpu_dev_close(dev);
}

TEST_HARNESS_MAIN
