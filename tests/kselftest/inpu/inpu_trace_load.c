// SPDX-License-Identifier: GPL-2.0-only
/*
 * A job load of known size for the tracing tests (inpu_trace_test.sh):
 * N one-NOP jobs, one at a time or in batches, and optionally one job that
 * faults in the device MMU (needs the module parameter
 * unsafe_skip_validation=1, which the test sets).  Prints its pid and what
 * it ran; exits non-zero unless every job ended as expected.
 *
 * usage: inpu_trace_load [-n JOBS] [-b BATCH] [-f] [-g GO_FILE]
 *   -g  wait until GO_FILE exists before submitting (so a tracer can be
 *       started with this process's pid first)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "inpu_job_util.h"

static void die(const char *what, int err)
{
	fprintf(stderr, "inpu_trace_load: %s: %s\n", what, inpu_strerror(err));
	exit(1);
}

static void expect(const struct drm_inpu_wait *res, uint32_t status)
{
	if (res->status != status) {
		fprintf(stderr, "inpu_trace_load: job status %#x (%s), want %#x\n",
			res->status, inpu_job_status_name(res->status), status);
		exit(1);
	}
}

/* One COPY reading far outside every mapping: the device MMU faults. */
static void fault_job(struct inpu_dev *dev, struct inpu_bo *bo)
{
	struct drm_inpu_bo_ref ref = {
		.handle = inpu_bo_handle(bo),
		.flags = DRM_INPU_REF_READ | DRM_INPU_REF_WRITE,
	};
	struct drm_inpu_wait res;
	struct inpu_op op;
	uint32_t cb;
	int ret;

	memset(&op, 0, sizeof(op));
	op.opcode = INPU_OP_COPY;
	op.u.copy.src = inpu_tensor_2d(1ull << 38, INPU_DT_INT8, 1, 64);
	op.u.copy.dst = inpu_tensor_2d(inpu_bo_dva(bo), INPU_DT_INT8, 1, 64);
	ret = cmdbuf_one_op(dev, &op, 0, 0, 0, &ref, 1, &cb, NULL);
	if (ret)
		die("faulting command buffer (is unsafe_skip_validation set?)", ret);
	ret = run_cmdbuf(dev, cb, NULL, 0, &res);
	if (ret)
		die("faulting job", ret);
	expect(&res, INPU_ERR_FAULT);
	inpu_cmdbuf_destroy(dev, cb);
}

int main(int argc, char **argv)
{
	unsigned int n = 100, batch = 1, done = 0, i;
	const char *go = NULL;
	struct drm_inpu_wait res;
	struct inpu_bo *bo;
	struct inpu_dev *dev;
	uint64_t id = 0, first;
	uint32_t cb;
	int ret, c, fault = 0;

	while ((c = getopt(argc, argv, "n:b:fg:")) != -1) {
		switch (c) {
		case 'n':
			n = strtoul(optarg, NULL, 0);
			break;
		case 'b':
			batch = strtoul(optarg, NULL, 0);
			break;
		case 'f':
			fault = 1;
			break;
		case 'g':
			go = optarg;
			break;
		default:
			fprintf(stderr, "usage: %s [-n JOBS] [-b BATCH] [-f] [-g GO_FILE]\n",
				argv[0]);
			return 2;
		}
	}
	if (!batch || batch > 200) {
		fprintf(stderr, "inpu_trace_load: -b: 1..200\n");
		return 2;
	}

	ret = inpu_dev_open(NULL, &dev);
	if (ret)
		die("open", ret);
	ret = nop_cmdbuf(dev, &bo, &cb);
	if (ret)
		die("NOP command buffer", ret);

	while (go && access(go, F_OK))
		usleep(10000);

	while (done < n) {
		unsigned int k = n - done < batch ? n - done : batch;

		first = 0;
		for (i = 0; i < k; i++) {
			ret = inpu_submit_cmdbuf(dev, cb, NULL, 0, NULL, 0, 0, &id);
			if (ret)
				die("submit", ret);
			if (!first)
				first = id;
		}
		for (; first <= id; first++) {
			ret = inpu_wait(dev, first, 60 * SEC_NS, &res);
			if (ret)
				die("wait", ret);
			expect(&res, INPU_OK);
		}
		done += k;
	}
	if (fault)
		fault_job(dev, bo);
	printf("pid %d jobs %u faults %d\n", getpid(), n + fault, fault);
	inpu_cmdbuf_destroy(dev, cb);
	inpu_bo_free(bo);
	inpu_dev_close(dev);
	return 0;
}
