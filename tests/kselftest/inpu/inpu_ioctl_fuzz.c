// SPDX-License-Identifier: GPL-2.0-only
/*
 * A seeded ioctl fuzzer for /dev/accel: random and mutated arguments for
 * every inpu ioctl (and for ioctl numbers around them), random and mutated
 * command streams, BOs created and closed, syncobjs, files closed with
 * jobs in flight.  Nothing it does may crash or taint the kernel (the VM
 * harness checks the log); at the end the device must still run a good
 * job, checked bit for bit.  The same seed makes the same choices.
 *
 * usage: inpu_ioctl_fuzz [-s SEED] [-t SECONDS] [-n MAX_ITERATIONS]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <xf86drm.h>
#include <drm/inpu_accel.h>
#include <inpu/inpu_isa.h>

#include "inpu_job_util.h"

#define MAX_BOS		48
#define MAX_CBS		32
#define MAX_JOBS	64
#define NFILES		2

static uint64_t rng;

static uint64_t rnd64(void)
{
	uint64_t x = rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng = x;
	return x * 0x2545f4914f6cdd1dull;
}

static uint32_t below(uint32_t n)
{
	return n ? (uint32_t)(rnd64() % n) : 0;
}

static int chance(uint32_t pct)
{
	return below(100) < pct;
}

struct file_state {
	int fd;
	uint32_t bos[MAX_BOS];
	uint64_t bo_dva[MAX_BOS];
	uint64_t bo_size[MAX_BOS];
	uint32_t bo_flags[MAX_BOS];
	unsigned int n_bos;
	uint32_t cbs[MAX_CBS];
	unsigned int n_cbs;
	uint64_t jobs[MAX_JOBS];
	unsigned int n_jobs;
	uint32_t syncobj;
};

static struct file_state files[NFILES];
static unsigned long calls, errs[140];
static unsigned long cmdbufs_made, jobs_submitted;

/* A mostly plausible value: small, boundary, or random. */
static uint64_t fuzz_u64(void)
{
	static const uint64_t edge[] = {
		0, 1, 2, 4095, 4096, 4097, 0x7fffffff, 0x80000000, 0xffffffff,
		0x100000000ull, ~0ull, 1ull << 39, (1ull << 39) - 1, 1ull << 63,
	};

	switch (below(4)) {
	case 0:
		return edge[below(sizeof(edge) / sizeof(edge[0]))];
	case 1:
		return below(64);
	case 2:
		return below(1 << 20);
	default:
		return rnd64();
	}
}

/* A user pointer: mostly to the real buffer; NULL, unmapped, kernel space. */
static uint64_t fuzz_ptr(void *good)
{
	if (chance(80))
		return (uintptr_t)good;
	switch (below(5)) {
	case 0:
		return 0;
	case 1:
		return 0x1000;
	case 2:
		return 0xffff888000000000ull;
	case 3:
		return (uintptr_t)good + below(64);
	default:
		return (uintptr_t)good;
	}
}

static uint32_t pick_bo(struct file_state *f)
{
	if (f->n_bos && chance(85))
		return f->bos[below(f->n_bos)];
	return (uint32_t)fuzz_u64();
}

static int do_ioctl(int fd, unsigned long req, void *arg)
{
	int ret = ioctl(fd, req, arg) ? errno : 0;

	calls++;
	errs[ret < 140 ? ret : 139]++;
	return ret;
}

static void op_query(struct file_state *f)
{
	uint8_t buf[8192];
	struct drm_inpu_query q = {
		.type = chance(70) ? 0 : (uint32_t)fuzz_u64(),
		.size = chance(50) ? sizeof(struct drm_inpu_device_info) :
				     (uint32_t)fuzz_u64(),
		.flags = chance(80) ? 0 : (uint32_t)fuzz_u64(),
		.pad = chance(90) ? 0 : 1,
		.data = fuzz_ptr(buf),
	};

	do_ioctl(f->fd, DRM_IOCTL_INPU_QUERY, &q);
}

static void op_bo_create(struct file_state *f)
{
	struct drm_inpu_bo_create c = {
		.size = chance(90) ? 1 + below(64 << 10) : fuzz_u64(),
		.flags = chance(70) ? (chance(30) ? DRM_INPU_BO_DEVICE_READONLY : 0) :
				      (uint32_t)fuzz_u64(),
	};

	if (f->n_bos == MAX_BOS)
		return;
	if (!do_ioctl(f->fd, DRM_IOCTL_INPU_BO_CREATE, &c)) {
		f->bos[f->n_bos] = c.handle;
		f->bo_dva[f->n_bos] = c.dva;
		f->bo_size[f->n_bos] = c.size;
		f->bo_flags[f->n_bos] = c.flags;
		f->n_bos++;
	}
}

static void op_bo_info(struct file_state *f)
{
	struct drm_inpu_bo_info i = { .handle = pick_bo(f) };

	if (chance(10))
		i.flags = (uint32_t)fuzz_u64();
	do_ioctl(f->fd, DRM_IOCTL_INPU_BO_INFO, &i);
}

static void op_gem_close(struct file_state *f)
{
	struct drm_gem_close c = { .handle = pick_bo(f) };
	unsigned int i;

	if (!do_ioctl(f->fd, DRM_IOCTL_GEM_CLOSE, &c)) {
		for (i = 0; i < f->n_bos; i++) {
			if (f->bos[i] == c.handle) {
				f->n_bos--;
				f->bos[i] = f->bos[f->n_bos];
				f->bo_dva[i] = f->bo_dva[f->n_bos];
				f->bo_size[i] = f->bo_size[f->n_bos];
				f->bo_flags[i] = f->bo_flags[f->n_bos];
				break;
			}
		}
	}
}

/* A tensor at a BO of the file (or anywhere), with a plausible shape. */
static struct inpu_tensor fuzz_tensor(struct file_state *f)
{
	uint32_t rows = 1 + below(8), cols = 1 + below(256);
	uint64_t addr = fuzz_u64();
	uint8_t dt = (uint8_t)below(10);
	struct inpu_tensor t;

	if (f->n_bos && chance(80)) {
		unsigned int b = below(f->n_bos);

		addr = f->bo_dva[b] + below((uint32_t)f->bo_size[b]);
	}
	t = inpu_tensor_2d(addr, dt, rows, cols);
	if (chance(10))
		((uint8_t *)&t)[below(sizeof(t))] ^= (uint8_t)(1u << below(8));
	return t;
}

/*
 * A valid stream: NOPs and COPYs between the file's first eight BOs
 * (the ones fuzz_refs() lists in order when @valid), so that jobs do run.
 */
static size_t valid_stream(struct file_state *f, uint8_t *buf)
{
	struct inpu_stream_header *h = (void *)buf;
	uint32_t n = 1 + below(4), i, nb = f->n_bos < 8 ? f->n_bos : 8;
	size_t len = sizeof(*h) + n * sizeof(struct inpu_op);

	memset(buf, 0, len);
	h->magic = INPU_STREAM_MAGIC;
	h->version = INPU_STREAM_VERSION;
	h->n_ops = n;
	for (i = 0; i < n; i++) {
		struct inpu_op *op = (void *)(buf + sizeof(*h) + i * sizeof(*op));
		unsigned int a = below(nb), b = below(nb);
		uint64_t bytes;

		if (!nb || f->bo_flags[b] & DRM_INPU_BO_DEVICE_READONLY ||
		    chance(20)) {
			op->opcode = INPU_OP_NOP;
			continue;
		}
		bytes = f->bo_size[a] < f->bo_size[b] ? f->bo_size[a] :
							f->bo_size[b];
		bytes = 1 + below((uint32_t)bytes);
		op->opcode = INPU_OP_COPY;
		op->u.copy.src = inpu_tensor_2d(f->bo_dva[a], INPU_DT_INT8, 1,
						(uint32_t)bytes);
		op->u.copy.dst = inpu_tensor_2d(f->bo_dva[b], INPU_DT_INT8, 1,
						(uint32_t)bytes);
	}
	return len;
}

/* A stream of a few ops with operands in the file's BOs, then mutated. */
static size_t fuzz_stream(struct file_state *f, uint8_t *buf, size_t cap)
{
	struct inpu_stream_header *h = (void *)buf;
	uint32_t n = 1 + below(4), i, flips;
	size_t len = sizeof(*h) + n * sizeof(struct inpu_op);

	if (chance(40)) {
		len = valid_stream(f, buf);
		if (chance(70))
			return len;
		buf[below((uint32_t)len)] ^= (uint8_t)(1u << below(8));
		return len;
	}
	memset(buf, 0, len);
	h->magic = INPU_STREAM_MAGIC;
	h->version = INPU_STREAM_VERSION;
	h->n_ops = n;
	if (chance(20)) {
		h->n_params = 1;
		h->params[0].min = 0;
		h->params[0].max = below(16);
	}
	for (i = 0; i < n; i++) {
		struct inpu_op *op = (void *)(buf + sizeof(*h) + i * sizeof(*op));
		struct inpu_tensor *t = (void *)&op->u;
		unsigned int k, slots = sizeof(op->u) / sizeof(*t);

		op->opcode = (uint16_t)below(INPU_OP_FWHT + 2);
		for (k = 0; k < slots && k < 5; k++)
			if (chance(60))
				t[k] = fuzz_tensor(f);
	}
	flips = chance(50) ? 0 : 1 + below(8);
	for (i = 0; i < flips; i++)
		buf[below((uint32_t)len)] ^= (uint8_t)(1u << below(8));
	if (chance(10))
		len = below((uint32_t)len + 1);
	if (chance(5))
		len = cap;
	return len;
}

static uint32_t fuzz_refs(struct file_state *f, struct drm_inpu_bo_ref *refs,
			  uint32_t max)
{
	uint32_t n = chance(90) ? below(max + 1) : (uint32_t)fuzz_u64(), i;

	/* Mostly the first BOs in order, as valid_stream() uses them. */
	if (chance(60)) {
		n = f->n_bos < max ? f->n_bos : max;
		for (i = 0; i < n; i++) {
			refs[i].handle = f->bos[i];
			refs[i].flags = f->bo_flags[i] & DRM_INPU_BO_DEVICE_READONLY ?
					DRM_INPU_REF_READ :
					DRM_INPU_REF_READ | DRM_INPU_REF_WRITE;
		}
		return n ? n : 1;
	}

	for (i = 0; i < n && i < max; i++) {
		refs[i].handle = pick_bo(f);
		refs[i].flags = chance(85) ? 1 + below(3) : (uint32_t)fuzz_u64();
	}
	return n;
}

static void op_cmdbuf_forget(struct file_state *f, uint32_t handle)
{
	struct drm_inpu_cmdbuf_destroy d = { .handle = handle };

	do_ioctl(f->fd, DRM_IOCTL_INPU_CMDBUF_DESTROY, &d);
}

static void op_cmdbuf_create(struct file_state *f)
{
	static uint8_t stream[1 << 16];
	struct drm_inpu_bo_ref refs[8];
	struct drm_inpu_cmdbuf_create c = { 0 };
	size_t len = fuzz_stream(f, stream, sizeof(stream));

	c.stream = fuzz_ptr(stream);
	c.stream_len = chance(90) ? (uint32_t)len : (uint32_t)fuzz_u64();
	c.n_bos = fuzz_refs(f, refs, 8);
	c.bos = fuzz_ptr(refs);
	c.flags = chance(90) ? 0 : (uint32_t)fuzz_u64();
	if (!do_ioctl(f->fd, DRM_IOCTL_INPU_CMDBUF_CREATE, &c)) {
		cmdbufs_made++;
		if (f->n_cbs < MAX_CBS)
			f->cbs[f->n_cbs++] = c.handle;
		else
			op_cmdbuf_forget(f, c.handle);
	}
}

static void op_cmdbuf_destroy(struct file_state *f)
{
	struct drm_inpu_cmdbuf_destroy d = {
		.handle = f->n_cbs && chance(80) ? f->cbs[below(f->n_cbs)] :
						   (uint32_t)fuzz_u64(),
		.pad = chance(90) ? 0 : 1,
	};
	unsigned int i;

	if (!do_ioctl(f->fd, DRM_IOCTL_INPU_CMDBUF_DESTROY, &d)) {
		for (i = 0; i < f->n_cbs; i++) {
			if (f->cbs[i] == d.handle) {
				f->cbs[i] = f->cbs[--f->n_cbs];
				break;
			}
		}
	}
}

static void op_submit(struct file_state *f)
{
	static uint8_t stream[4096];
	struct drm_inpu_bo_ref refs[8];
	struct drm_inpu_submit s = { 0 };
	uint32_t syncs[4], i;

	if (f->n_cbs && chance(60)) {
		s.cmdbuf = f->cbs[below(f->n_cbs)];
	} else if (chance(70) && f->n_bos) {
		/* A stream in a BO: write one there first. */
		unsigned int b = below(f->n_bos);
		size_t len = fuzz_stream(f, stream, sizeof(stream));

		s.stream_bo = f->bos[b];
		s.stream_offset = chance(80) ? 0 : fuzz_u64();
		s.stream_len = (uint32_t)len;
		s.n_bos = fuzz_refs(f, refs, 8);
		s.bos = fuzz_ptr(refs);
		(void)stream;
	} else {
		s.cmdbuf = (uint32_t)fuzz_u64();
	}
	s.n_params = chance(80) ? below(2) : (uint32_t)fuzz_u64();
	for (i = 0; i < 8; i++)
		if (i < s.n_params || chance(5))
			s.params[i] = chance(80) ? below(4) : (uint32_t)fuzz_u64();
	s.flags = chance(95) ? 0 : (uint32_t)fuzz_u64();
	if (chance(20)) {
		s.n_in_syncobjs = below(5);
		for (i = 0; i < 4; i++)
			syncs[i] = chance(70) ? f->syncobj : (uint32_t)fuzz_u64();
		s.in_syncobjs = fuzz_ptr(syncs);
	}
	if (chance(20))
		s.out_syncobj = chance(70) ? f->syncobj : (uint32_t)fuzz_u64();
	if (!do_ioctl(f->fd, DRM_IOCTL_INPU_SUBMIT, &s)) {
		jobs_submitted++;
		if (f->n_jobs < MAX_JOBS)
			f->jobs[f->n_jobs++] = s.job_id;
		else
			f->jobs[below(MAX_JOBS)] = s.job_id;
	}
}

static void op_wait(struct file_state *f)
{
	struct drm_inpu_wait w = { 0 };

	w.job_id = f->n_jobs && chance(80) ? f->jobs[below(f->n_jobs)] :
					     fuzz_u64();
	/* Absolute: mostly already past or a few ms ahead, never forever. */
	w.timeout_ns = chance(50) ? 0 : now_ns() + below(1000000);
	if (chance(10))
		w.timeout_ns = -(int64_t)below(1000);
	if (chance(15)) {
		w.flags = DRM_INPU_WAIT_BO;
		w.handle = pick_bo(f);
	} else if (chance(5)) {
		w.flags = (uint32_t)fuzz_u64();
	}
	do_ioctl(f->fd, DRM_IOCTL_INPU_WAIT, &w);
}

/* Driver ioctl numbers, including unused ones, with random sizes. */
static void op_raw(struct file_state *f)
{
	static uint8_t arg[512];
	unsigned int nr = DRM_COMMAND_BASE + below(16);
	unsigned int size = below(sizeof(arg));
	unsigned long req;
	uint32_t i;

	for (i = 0; i < size; i++)
		arg[i] = (uint8_t)rnd64();
	switch (below(4)) {
	case 0:
		req = _IOC(_IOC_READ | _IOC_WRITE, DRM_IOCTL_BASE, nr, size);
		break;
	case 1:
		req = _IOC(_IOC_WRITE, DRM_IOCTL_BASE, nr, size);
		break;
	case 2:
		req = _IOC(_IOC_READ, DRM_IOCTL_BASE, nr, size);
		break;
	default:
		req = _IOC(_IOC_NONE, DRM_IOCTL_BASE, nr, 0);
		break;
	}
	/* Waits with random absolute timeouts could sleep for ages. */
	if (nr == DRM_COMMAND_BASE + DRM_INPU_WAIT)
		return;
	do_ioctl(f->fd, req, arg);
}

static int open_file(struct file_state *f)
{
	memset(f, 0, sizeof(*f));
	f->fd = open("/dev/accel/accel0", O_RDWR | O_CLOEXEC);
	if (f->fd < 0)
		return -errno;
	if (drmSyncobjCreate(f->fd, 0, &f->syncobj))
		f->syncobj = 0;
	return 0;
}

/* One known job on a fresh file: the device must still be right. */
static int final_check(void)
{
	struct drm_inpu_device_info info;
	struct drm_inpu_wait res;
	struct inpu_bo *in, *out;
	struct inpu_dev *dev;
	uint8_t *want;
	uint32_t cb;
	struct mm mm;
	int ret;

	ret = inpu_dev_open(NULL, &dev);
	if (ret)
		return ret;
	ret = inpu_query_device_info(dev, &info);
	if (!ret)
		ret = mm_init(&mm, 2, 96, 64, 1, INPU_DT_W8_TILED, INPU_DT_INT8, 1, 77);
	if (ret)
		return ret;
	ret = mm_cmdbuf(dev, &mm, &in, &out, &cb);
	if (!ret)
		ret = run_cmdbuf(dev, cb, NULL, 0, &res);
	if (ret)
		return ret;
	want = malloc(mm.y_bytes);
	if (!want)
		return -ENOMEM;
	mm_naive(&mm, 0, want);
	ret = res.status != INPU_OK ? -EIO :
	      memcmp(want, inpu_bo_ptr(out), mm.y_bytes) ? -EBADMSG : 0;
	free(want);
	inpu_cmdbuf_destroy(dev, cb);
	inpu_bo_free(in);
	inpu_bo_free(out);
	inpu_dev_close(dev);
	mm_free(&mm);
	return ret;
}

int main(int argc, char **argv)
{
	uint64_t seed = 1, max_iter = ~0ull, i;
	int64_t end, seconds = 20;
	int c, ret, k;

	while ((c = getopt(argc, argv, "s:t:n:")) != -1) {
		switch (c) {
		case 's':
			seed = strtoull(optarg, NULL, 0);
			break;
		case 't':
			seconds = strtoll(optarg, NULL, 0);
			break;
		case 'n':
			max_iter = strtoull(optarg, NULL, 0);
			break;
		default:
			fprintf(stderr, "usage: %s [-s SEED] [-t SECONDS] [-n MAX_ITERATIONS]\n",
				argv[0]);
			return 2;
		}
	}
	rng = seed * 0x9e3779b97f4a7c15ull + 1;
	for (k = 0; k < NFILES; k++) {
		ret = open_file(&files[k]);
		if (ret) {
			fprintf(stderr, "inpu_ioctl_fuzz: /dev/accel/accel0: %s\n",
				strerror(-ret));
			return 1;
		}
	}
	end = now_ns() + seconds * SEC_NS;
	for (i = 0; i < max_iter && now_ns() < end; i++) {
		struct file_state *f = &files[below(NFILES)];

		switch (below(20)) {
		case 0:
			op_query(f);
			break;
		case 1: case 2: case 3:
			op_bo_create(f);
			break;
		case 4:
			op_bo_info(f);
			break;
		case 5:
			op_gem_close(f);
			break;
		case 6: case 7: case 8:
			op_cmdbuf_create(f);
			break;
		case 9:
			op_cmdbuf_destroy(f);
			break;
		case 10: case 11: case 12: case 13:
			op_submit(f);
			break;
		case 14: case 15:
			op_wait(f);
			break;
		case 16: case 17:
			op_raw(f);
			break;
		case 18:
			/* Close with whatever is in flight, start afresh. */
			if (chance(10)) {
				close(f->fd);
				if (open_file(f))
					return 1;
			}
			break;
		default:
			op_submit(f);
			break;
		}
	}
	for (k = 0; k < NFILES; k++)
		close(files[k].fd);

	printf("# ioctl fuzz: seed %llu, %llu iterations, %lu ioctls, %lu command buffers and %lu jobs accepted, errno:",
	       (unsigned long long)seed, (unsigned long long)i, calls,
	       cmdbufs_made, jobs_submitted);
	for (k = 0; k < 140; k++)
		if (errs[k])
			printf(" %s=%lu", k ? strerrorname_np(k) ? strerrorname_np(k) : "?" : "0", errs[k]);
	printf("\n");
	ret = final_check();
	if (ret) {
		printf("not ok - the device runs a good job after fuzzing: %s\n",
		       strerror(-ret));
		return 1;
	}
	printf("ok - the device runs a good job after fuzzing\n");
	return 0;
}
