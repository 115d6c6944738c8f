// SPDX-License-Identifier: GPL-2.0-only
/*
 * Job throughput through the whole stack (libinpu, ioctls, drm_sched, the
 * ring, the device's worker): not a test, it prints numbers.
 *
 *  nop serial      one NOP op, submit + wait, one job at a time
 *  nop pipelined   batches of jobs submitted back to back, then a wait
 *                  for the last (the ring runs them in order)
 *  matmul          768 inputs x 2048 outputs, W8, M = 1, INT8 out, from
 *                  one command buffer; serial and pipelined
 *
 * usage: inpu_job_bench [-n NOP_JOBS] [-b BATCH] [-m MATMUL_JOBS]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "inpu_job_util.h"

static int die(const char *what, int err)
{
	fprintf(stderr, "inpu_job_bench: %s: %s\n", what, inpu_strerror(err));
	exit(1);
}

static void report(const char *name, unsigned int jobs, int64_t ns,
		   uint64_t macs)
{
	double s = ns / 1e9;

	printf("%-28s %6u jobs %8.3f s %10.1f jobs/s %9.1f us/job", name, jobs,
	       s, jobs / s, ns / 1e3 / jobs);
	if (macs)
		printf(" %8.3f GMAC/s", (double)macs * jobs / s / 1e9);
	printf("\n");
	fflush(stdout);
}

static void check(struct drm_inpu_wait *res, const char *what)
{
	if (res->status != INPU_OK) {
		fprintf(stderr, "inpu_job_bench: %s: job status %u (%s)\n", what,
			res->status, inpu_job_status_name(res->status));
		exit(1);
	}
}

/* @n jobs of @cb one at a time. */
static int64_t serial(struct inpu_dev *dev, uint32_t cb, unsigned int n,
		      const char *what)
{
	struct drm_inpu_wait res;
	int64_t t0 = now_ns();
	unsigned int i;
	int ret;

	for (i = 0; i < n; i++) {
		ret = run_cmdbuf(dev, cb, NULL, 0, &res);
		if (ret)
			die(what, ret);
		check(&res, what);
	}
	return now_ns() - t0;
}

/* @n jobs in batches of @batch: submit the batch, wait for its last. */
static int64_t pipelined(struct inpu_dev *dev, uint32_t cb, unsigned int n,
			 unsigned int batch, const char *what)
{
	struct drm_inpu_wait res;
	int64_t t0 = now_ns();
	unsigned int i, done = 0;
	uint64_t id = 0, first;
	int ret;

	while (done < n) {
		unsigned int k = n - done < batch ? n - done : batch;

		first = 0;
		for (i = 0; i < k; i++) {
			ret = inpu_submit_cmdbuf(dev, cb, NULL, 0, NULL, 0, 0, &id);
			if (ret)
				die(what, ret);
			if (!first)
				first = id;
		}
		ret = inpu_wait(dev, id, 60 * SEC_NS, &res);
		if (ret)
			die(what, ret);
		check(&res, what);
		/* In order: all of the batch is done; check them all. */
		for (; first < id; first++) {
			ret = inpu_wait(dev, first, 0, &res);
			if (ret)
				die(what, ret);
			check(&res, what);
		}
		done += k;
	}
	return now_ns() - t0;
}

int main(int argc, char **argv)
{
	unsigned int n_nop = 2000, batch = 200, n_mm = 2000;
	struct drm_inpu_device_info info;
	struct drm_inpu_wait res;
	struct inpu_bo *in, *out, *tiny;
	struct inpu_dev *dev;
	uint32_t nop_cb, mm_cb;
	char caps[128], name[64];
	int64_t ns;
	struct mm mm;
	int ret, c;

	while ((c = getopt(argc, argv, "n:b:m:")) != -1) {
		switch (c) {
		case 'n':
			n_nop = strtoul(optarg, NULL, 0);
			break;
		case 'b':
			batch = strtoul(optarg, NULL, 0);
			break;
		case 'm':
			n_mm = strtoul(optarg, NULL, 0);
			break;
		default:
			fprintf(stderr, "usage: %s [-n NOP_JOBS] [-b BATCH] [-m MATMUL_JOBS]\n",
				argv[0]);
			return 2;
		}
	}
	if (!batch)
		batch = 1;

	ret = inpu_dev_open(NULL, &dev);
	if (ret)
		die("open", ret);
	ret = inpu_query_device_info(dev, &info);
	if (ret)
		die("query", ret);
	inpu_format_caps(info.capabilities, caps, sizeof(caps));
	printf("inpu_job_bench: %s, hw %#x, fw %#x, array %ux%u, caps %s\n",
	       inpu_dev_path(dev), info.hw_version, info.fw_version,
	       info.sa_rows, info.sa_cols, caps);
	if (!(info.capabilities & DRM_INPU_CAP_RING)) {
		fprintf(stderr, "inpu_job_bench: the device has no command ring\n");
		return 1;
	}

	ret = nop_cmdbuf(dev, &tiny, &nop_cb);
	if (ret)
		die("NOP command buffer", ret);

	/* 768 x 2048 W8 matmul, M = 1. */
	ret = mm_init(&mm, 1, 768, 2048, 1, INPU_DT_W8_TILED, INPU_DT_INT8, 1, 7);
	if (ret)
		die("matmul data", ret);
	ret = mm_cmdbuf(dev, &mm, &in, &out, &mm_cb);
	if (ret)
		die("matmul command buffer", ret);

	/* Warm up (and check the matmul's result once). */
	serial(dev, nop_cb, 20, "nop warm-up");
	ret = run_cmdbuf(dev, mm_cb, NULL, 0, &res);
	if (ret)
		die("matmul", ret);
	check(&res, "matmul");
	{
		int8_t *y = malloc(mm.y_bytes);

		if (!y)
			die("malloc", -ENOMEM);
		mm_naive(&mm, 0, y);
		if (memcmp(y, inpu_bo_ptr(out), mm.y_bytes)) {
			fprintf(stderr, "inpu_job_bench: wrong matmul result\n");
			return 1;
		}
		free(y);
		printf("matmul 768x2048 W8: %llu modelled cycles per job, %.1f us at 1 GHz\n",
		       (unsigned long long)res.cycles, res.cycles / 1e3);
	}

	ns = serial(dev, nop_cb, n_nop, "nop serial");
	report("nop serial (submit+wait)", n_nop, ns, 0);
	ns = pipelined(dev, nop_cb, n_nop, batch, "nop pipelined");
	snprintf(name, sizeof(name), "nop pipelined (%u/wait)", batch);
	report(name, n_nop, ns, 0);
	ns = serial(dev, mm_cb, n_mm, "matmul serial");
	report("matmul 768x2048 serial", n_mm, ns, 768ull * 2048);
	ns = pipelined(dev, mm_cb, n_mm, batch, "matmul pipelined");
	snprintf(name, sizeof(name), "matmul pipelined (%u/wait)", batch);
	report(name, n_mm, ns, 768ull * 2048);

	inpu_cmdbuf_destroy(dev, nop_cb);
	inpu_cmdbuf_destroy(dev, mm_cb);
	inpu_bo_free(in);
	inpu_bo_free(out);
	inpu_bo_free(tiny);
	inpu_dev_close(dev);
	mm_free(&mm);
	return 0;
}
