// SPDX-License-Identifier: GPL-2.0-only
/*
 * kselftests for the inpu data path: buffer objects, command buffers,
 * jobs run by the device and checked byte for byte against the engine run
 * on the CPU (the same code the device runs, here with its scalar kernels,
 * and against ISA.md written out plainly), syncobj chains, concurrent
 * processes, the exact errno and validation error of bad input, and
 * isolation by the device MMU alone (validation switched off).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <xf86drm.h>
#include <drm/inpu_accel.h>
#include <inpu/inpu_isa.h>
#include <inpu/inpu_ring.h>

#include "inpu_job_util.h"
#include "kselftest_harness.h"

#define SKIP_PARAM "/sys/module/inpu/parameters/unsafe_skip_validation"
#define PAGE 4096ull
#define NOP_LEN (sizeof(struct inpu_stream_header) + sizeof(struct inpu_op))

static int xioctl(int fd, unsigned long req, void *arg)
{
	return drmIoctl(fd, req, arg) ? -errno : 0;
}

static int bo_create(int fd, uint64_t size, uint32_t flags, uint32_t *handle,
		     uint64_t *dva)
{
	struct drm_inpu_bo_create c = { .size = size, .flags = flags };
	int ret = xioctl(fd, DRM_IOCTL_INPU_BO_CREATE, &c);

	if (!ret) {
		*handle = c.handle;
		if (dva)
			*dva = c.dva;
	}
	return ret;
}

static int bo_info(int fd, uint32_t handle, struct drm_inpu_bo_info *info)
{
	memset(info, 0, sizeof(*info));
	info->handle = handle;
	return xioctl(fd, DRM_IOCTL_INPU_BO_INFO, info);
}

static int gem_close(int fd, uint32_t handle)
{
	struct drm_gem_close c = { .handle = handle };

	return xioctl(fd, DRM_IOCTL_GEM_CLOSE, &c);
}

/* Open a device file; 1 if it has no ring (jobs impossible), 0, -errno. */
static int open_dev(struct inpu_dev **dev, struct drm_inpu_device_info *info)
{
	int ret = inpu_dev_open(NULL, dev);

	if (ret)
		return ret;
	ret = inpu_query_device_info(*dev, info);
	if (ret) {
		inpu_dev_close(*dev);
		*dev = NULL;
		return ret;
	}
	return info->capabilities & DRM_INPU_CAP_RING ? 0 : 1;
}

static int write_param(const char *val)
{
	int fd = open(SKIP_PARAM, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -EIO;
}

static char read_param(void)
{
	char c = '?';
	int fd = open(SKIP_PARAM, O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		if (read(fd, &c, 1) != 1)
			c = '?';
		close(fd);
	}
	return c;
}

/* ---- raw streams, for the bad-input tests ------------------------------- */

struct raw {
	struct inpu_stream_header hdr;
	struct inpu_op ops[4];
};

static void raw_init(struct raw *s)
{
	memset(s, 0, sizeof(*s));
	s->hdr.magic = INPU_STREAM_MAGIC;
	s->hdr.version = INPU_STREAM_VERSION;
}

static struct inpu_op *raw_add(struct raw *s, uint16_t opcode)
{
	struct inpu_op *op = &s->ops[s->hdr.n_ops++];

	memset(op, 0, sizeof(*op));
	op->opcode = opcode;
	return op;
}

static uint32_t raw_len(const struct raw *s)
{
	return sizeof(s->hdr) + s->hdr.n_ops * sizeof(struct inpu_op);
}

static void copy_op(struct inpu_op *op, uint64_t src, uint64_t dst,
		    uint8_t dt, uint32_t rows, uint32_t cols)
{
	op->u.copy.src = inpu_tensor_2d(src, dt, rows, cols);
	op->u.copy.dst = inpu_tensor_2d(dst, dt, rows, cols);
}

/* A one-op COPY stream. */
static void raw_copy(struct raw *s, uint64_t src, uint64_t dst, uint8_t dt,
		     uint32_t rows, uint32_t cols)
{
	raw_init(s);
	copy_op(raw_add(s, INPU_OP_COPY), src, dst, dt, rows, cols);
}

/* ---- fixture: one device file with a few BOs ---------------------------- */

FIXTURE(job) {
	struct inpu_dev *dev;
	int fd;
	struct drm_inpu_device_info info;
	struct inpu_bo *stream;	/* 64 KiB: streams for the stream_bo path */
	struct inpu_bo *a;	/* 64 KiB read-write */
	struct inpu_bo *b;	/* 64 KiB read-write */
	struct inpu_bo *ro;	/* 16 KiB DEVICE_READONLY */
	uint32_t nop_cb;	/* a NOP command buffer */
};

FIXTURE_SETUP(job)
{
	struct drm_inpu_bo_ref ref;
	struct raw s;
	int ret;

	ret = open_dev(&self->dev, &self->info);
	ASSERT_LE(0, ret) TH_LOG("open: %s", strerror(-ret));
	if (ret == 1)
		SKIP(return, "device has no command ring: jobs disabled");
	self->fd = inpu_dev_fd(self->dev);
	ASSERT_EQ(0, inpu_bo_alloc(self->dev, 65536, 0, &self->stream));
	ASSERT_EQ(0, inpu_bo_alloc(self->dev, 65536, 0, &self->a));
	ASSERT_EQ(0, inpu_bo_alloc(self->dev, 65536, 0, &self->b));
	ASSERT_EQ(0, inpu_bo_alloc(self->dev, 16384,
				   DRM_INPU_BO_DEVICE_READONLY, &self->ro));
	raw_init(&s);
	raw_add(&s, INPU_OP_NOP);
	ref.handle = inpu_bo_handle(self->a);
	ref.flags = DRM_INPU_REF_READ;
	ASSERT_EQ(0, inpu_cmdbuf_create(self->dev, &s, raw_len(&s), &ref, 1,
					&self->nop_cb, NULL));
	ASSERT_NE(0, self->nop_cb);
}

FIXTURE_TEARDOWN(job)
{
	if (!self->dev)
		return;
	inpu_bo_free(self->stream);
	inpu_bo_free(self->a);
	inpu_bo_free(self->b);
	inpu_bo_free(self->ro);
	inpu_dev_close(self->dev);
}

/* The device still runs a good job: the NOP command buffer. */
static int nop_ok(struct inpu_dev *dev, uint32_t cb)
{
	struct drm_inpu_wait res;
	int ret = run_cmdbuf(dev, cb, NULL, 0, &res);

	if (ret)
		return ret;
	return res.status == INPU_OK && res.ops_done == 1 ? 0 : -EIO;
}

/*
 * Submit @stream from the fixture's stream BO (at offset 0), and create a
 * command buffer from it: both must fail alike, with the same verr.
 * Returns their common result (0 or -errno), or 1 if they differ.
 */
static int both_paths(struct __test_metadata *_metadata,
		      FIXTURE_DATA(job) *self, const void *stream,
		      uint32_t len, const struct drm_inpu_bo_ref *refs,
		      uint32_t n, struct drm_inpu_verror *verr)
{
	struct drm_inpu_cmdbuf_create c;
	struct drm_inpu_submit s;
	int r1, r2;

	memcpy(inpu_bo_ptr(self->stream), stream, len);
	memset(&s, 0, sizeof(s));
	s.stream_bo = inpu_bo_handle(self->stream);
	s.stream_len = len;
	s.bos = (uintptr_t)refs;
	s.n_bos = n;
	r1 = xioctl(self->fd, DRM_IOCTL_INPU_SUBMIT, &s);

	memset(&c, 0, sizeof(c));
	c.stream = (uintptr_t)stream;
	c.stream_len = len;
	c.bos = (uintptr_t)refs;
	c.n_bos = n;
	r2 = xioctl(self->fd, DRM_IOCTL_INPU_CMDBUF_CREATE, &c);
	EXPECT_EQ(0, s.job_id);
	EXPECT_EQ(0, c.handle);
	EXPECT_EQ(r1, r2);
	EXPECT_EQ(0, memcmp(&s.verr, &c.verr, sizeof(s.verr)))
		TH_LOG("submit verr %u/%u/%d, cmdbuf verr %u/%u/%d",
		       s.verr.status, s.verr.op, s.verr.slot,
		       c.verr.status, c.verr.op, c.verr.slot);
	*verr = s.verr;
	return r1 == r2 ? r1 : 1;
}

#define EXPECT_VERR(v, st, o, sl) do { \
	EXPECT_EQ((uint32_t)(st), (v).status); \
	EXPECT_EQ((uint32_t)(o), (v).op); \
	EXPECT_EQ((int32_t)(sl), (v).slot); \
	EXPECT_EQ(0, (v).pad); \
} while (0)

/* ---- buffer objects ------------------------------------------------------ */

TEST_F(job, bo_lifecycle)
{
	static const uint64_t sizes[] = { 1, 4096, 4097, 65536, 1 << 20,
					  (3 << 20) + 5 };
	enum { NB = ARRAY_SIZE(sizes) };
	uint32_t h[NB];
	uint64_t dva[NB], rounded[NB];
	struct drm_inpu_bo_info info;
	unsigned int i, j;

	for (i = 0; i < NB; i++) {
		uint32_t flags = i % 2 ? DRM_INPU_BO_DEVICE_READONLY : 0;

		ASSERT_EQ(0, bo_create(self->fd, sizes[i], flags, &h[i], &dva[i]));
		rounded[i] = align_up(sizes[i], PAGE);
		EXPECT_NE(0, h[i]);
		EXPECT_EQ(0, dva[i] % PAGE);
		EXPECT_LE(1ull << 20, dva[i]);
		EXPECT_GE(1ull << 39, dva[i] + rounded[i]);

		ASSERT_EQ(0, bo_info(self->fd, h[i], &info));
		EXPECT_EQ(h[i], info.handle);
		EXPECT_EQ(flags, info.flags);
		EXPECT_EQ(dva[i], info.dva);
		EXPECT_EQ(rounded[i], info.size);
		EXPECT_NE(0, info.mmap_offset);
		EXPECT_EQ(0, info.mmap_offset % PAGE);
	}
	/* Distinct BOs, distinct device addresses (the fixture's too). */
	for (i = 0; i < NB; i++) {
		unsigned int overlap = NB;

		for (j = 0; j < NB; j++) {
			if (j != i && dva[i] < dva[j] + rounded[j] &&
			    dva[j] < dva[i] + rounded[i])
				overlap = j;
		}
		EXPECT_EQ(NB, overlap) TH_LOG("BO %u at %#llx overlaps another",
					      i, (unsigned long long)dva[i]);
		EXPECT_TRUE(dva[i] + rounded[i] <= inpu_bo_dva(self->a) ||
			    inpu_bo_dva(self->a) + 65536 <= dva[i]);
	}

	/* CPU mappings: what is written is read back, by another mapping too. */
	for (i = 0; i < NB; i++) {
		uint8_t *p, *q;
		uint64_t k;
		int bad = 0;

		ASSERT_EQ(0, bo_info(self->fd, h[i], &info));
		p = mmap(NULL, info.size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 self->fd, info.mmap_offset);
		ASSERT_NE(MAP_FAILED, p);
		for (k = 0; k < info.size; k++)
			bad |= p[k];
		EXPECT_EQ(0, bad) TH_LOG("new BO %u is not zeroed", i);
		for (k = 0; k < info.size; k++)
			p[k] = (uint8_t)(k * 7 + i);
		q = mmap(NULL, info.size, PROT_READ, MAP_SHARED, self->fd,
			 info.mmap_offset);
		ASSERT_NE(MAP_FAILED, q);
		EXPECT_EQ(0, memcmp(p, q, info.size));
		munmap(p, info.size);
		for (k = 0; k < info.size; k++)
			bad |= q[k] != (uint8_t)(k * 7 + i);
		EXPECT_EQ(0, bad);
		munmap(q, info.size);
	}

	for (i = 0; i < NB; i++) {
		EXPECT_EQ(0, gem_close(self->fd, h[i]));
		EXPECT_EQ(-ENOENT, bo_info(self->fd, h[i], &info));
		EXPECT_EQ(-EINVAL, gem_close(self->fd, h[i]));
	}
	/* The address space is reused once BOs are gone. */
	ASSERT_EQ(0, bo_create(self->fd, 1 << 20, 0, &h[0], &dva[0]));
	EXPECT_EQ(0, gem_close(self->fd, h[0]));
}

TEST_F(job, bo_bad_args)
{
	struct drm_inpu_bo_create c;
	struct drm_inpu_bo_info info;
	uint32_t h;

	EXPECT_EQ(-EINVAL, bo_create(self->fd, 0, 0, &h, NULL));
	EXPECT_EQ(-EINVAL, bo_create(self->fd, DRM_INPU_BO_MAX_SIZE + 1, 0, &h,
				     NULL));
	EXPECT_EQ(-EINVAL, bo_create(self->fd, ~0ull, 0, &h, NULL));
	EXPECT_EQ(-EINVAL, bo_create(self->fd, 4096, 1u << 1, &h, NULL));
	EXPECT_EQ(-EINVAL, bo_create(self->fd, 4096, 1u << 31, &h, NULL));
	/* Nothing was created by the failures. */
	memset(&c, 0, sizeof(c));
	c.size = 4096;
	ASSERT_EQ(0, xioctl(self->fd, DRM_IOCTL_INPU_BO_CREATE, &c));
	EXPECT_EQ(5, c.handle);	/* the fixture holds 1..4 */
	EXPECT_EQ(0, gem_close(self->fd, c.handle));

	EXPECT_EQ(-ENOENT, bo_info(self->fd, 0, &info));
	EXPECT_EQ(-ENOENT, bo_info(self->fd, 0x7fff, &info));
	memset(&info, 0, sizeof(info));
	info.handle = inpu_bo_handle(self->a);
	info.flags = 1;
	EXPECT_EQ(-EINVAL, xioctl(self->fd, DRM_IOCTL_INPU_BO_INFO, &info));
	EXPECT_EQ(0, bo_info(self->fd, inpu_bo_handle(self->ro), &info));
	EXPECT_EQ(DRM_INPU_BO_DEVICE_READONLY, info.flags);
}

/* ---- matmul against the CPU reference ----------------------------------- */

/*
 * Run @mm on the device (command buffer, and the stream_bo path) and on
 * the CPU; the output BO, prefilled with a pattern, must equal the
 * reference's copy byte for byte, and y must equal ISA.md's formula.
 */
static void matmul_vs_ref(struct __test_metadata *_metadata,
			  FIXTURE_DATA(job) *self, struct mm *mm)
{
	struct drm_inpu_bo_ref refs[2];
	struct inpu_bo *in, *out;
	struct drm_inpu_wait res;
	struct inpu_run_result rr;
	struct drm_inpu_submit sub;
	struct ref_engine re;
	struct ref_mem m = { 0 };
	struct inpu_op op;
	struct raw s;
	uint8_t *naive, *want;
	uint32_t cb, i, distinct = 0;
	uint8_t seen[256] = { 0 };

	ASSERT_EQ(0, inpu_bo_alloc(self->dev, mm->in_size,
				   DRM_INPU_BO_DEVICE_READONLY, &in));
	ASSERT_EQ(0, inpu_bo_alloc(self->dev, mm->out_size + 100, 0, &out));
	mm_fill(mm, inpu_bo_ptr(in));
	memset(inpu_bo_ptr(out), 0xa5, inpu_bo_size(out));
	/* y not at the start of its BO: bytes before and after stay. */
	mm_op(mm, inpu_bo_dva(in), inpu_bo_dva(out) + 64, 0, &op);

	ASSERT_EQ(0, ref_engine_init(&re, &self->info));
	ASSERT_EQ(0, ref_add(&m, in));
	ASSERT_EQ(0, ref_add(&m, out));
	raw_init(&s);
	s.ops[s.hdr.n_ops++] = op;
	ASSERT_EQ(INPU_OK, ref_run(&re, &m, &s, raw_len(&s), NULL, &rr));
	EXPECT_EQ(1, rr.ops_done);

	/* Independent of the engine: the formula over the unpacked data. */
	naive = malloc(mm->y_bytes);
	ASSERT_NE(NULL, naive);
	mm_naive(mm, 0, naive);
	want = ref_buf(&m, out);
	EXPECT_EQ(0, memcmp(naive, want + 64, mm->y_bytes));
	for (i = 0; i < mm->y_bytes; i++) {
		distinct += !seen[want[64 + i]];
		seen[want[64 + i]] = 1;
	}
	EXPECT_LT(40, distinct) TH_LOG("degenerate outputs: tune the scales");

	refs[0].handle = inpu_bo_handle(in);
	refs[0].flags = DRM_INPU_REF_READ;
	refs[1].handle = inpu_bo_handle(out);
	refs[1].flags = DRM_INPU_REF_READ | DRM_INPU_REF_WRITE;
	ASSERT_EQ(0, cmdbuf_one_op(self->dev, &op, 0, 0, 0, refs, 2, &cb, NULL));
	ASSERT_EQ(0, run_cmdbuf(self->dev, cb, NULL, 0, &res));
	EXPECT_EQ(INPU_OK, res.status) TH_LOG("status %u (%s)", res.status,
					      inpu_job_status_name(res.status));
	EXPECT_EQ(1, res.ops_done);
	EXPECT_EQ(rr.cost.cycles, res.cycles);
	EXPECT_EQ(rr.cost.energy_fj, res.energy_fj);
	EXPECT_LT(0, res.cycles);
	EXPECT_EQ(0, memcmp(inpu_bo_ptr(out), want, inpu_bo_size(out)));
	EXPECT_EQ(0, inpu_cmdbuf_destroy(self->dev, cb));

	/* The same stream from a BO, at an unaligned offset. */
	memset(inpu_bo_ptr(out), 0xa5, inpu_bo_size(out));
	memcpy((uint8_t *)inpu_bo_ptr(self->stream) + 1000, &s, raw_len(&s));
	memset(&sub, 0, sizeof(sub));
	sub.stream_bo = inpu_bo_handle(self->stream);
	sub.stream_offset = 1000;
	sub.stream_len = raw_len(&s);
	sub.bos = (uintptr_t)refs;
	sub.n_bos = 2;
	ASSERT_EQ(0, inpu_submit(self->dev, &sub));
	EXPECT_NE(0, sub.job_id);
	EXPECT_VERR(sub.verr, 0, 0, 0);
	ASSERT_EQ(0, inpu_wait(self->dev, sub.job_id, WAIT_NS, &res));
	EXPECT_EQ(INPU_OK, res.status);
	EXPECT_EQ(0, memcmp(inpu_bo_ptr(out), want, inpu_bo_size(out)));

	free(naive);
	ref_free(&m);
	ref_engine_fini(&re);
	inpu_bo_free(in);
	inpu_bo_free(out);
}

TEST_F(job, matmul_w8_matches_cpu)
{
	struct mm mm;

	ASSERT_EQ(0, mm_init(&mm, 3, 200, 100, 1, INPU_DT_W8_TILED,
			     INPU_DT_INT8, 1, 0x1234));
	matmul_vs_ref(_metadata, self, &mm);
	mm_free(&mm);
}

TEST_F(job, matmul_w4_matches_cpu)
{
	struct mm mm;

	ASSERT_EQ(0, mm_init(&mm, 2, 300, 70, 1, INPU_DT_W4_TILED,
			     INPU_DT_INT16, 1, 0x4321));
	matmul_vs_ref(_metadata, self, &mm);
	mm_free(&mm);
}

TEST_F(job, matmul_w8_no_bias_int32)
{
	struct mm mm;

	ASSERT_EQ(0, mm_init(&mm, 4, 64, 64, 1, INPU_DT_W8_TILED,
			     INPU_DT_INT32, 0, 0x777));
	matmul_vs_ref(_metadata, self, &mm);
	mm_free(&mm);
}

/*
 * One command buffer, validated once, submitted 24 times with a position
 * parameter that moves x and y: after every job the whole output BO is
 * what the rows submitted so far make it.
 */
TEST_F(job, cmdbuf_dyn_param)
{
	enum { P = 8 };
	static const uint32_t order[] = { 5, 0, 7, 3, 3, 1, 6, 2, 4, 0, 7, 5,
					  1, 2, 6, 4, 0, 0, 7, 3, 5, 2, 6, 1 };
	struct drm_inpu_bo_ref refs[2];
	struct drm_inpu_verror verr;
	struct drm_inpu_submit sub;
	struct drm_inpu_wait res;
	struct inpu_run_result rr;
	struct inpu_bo *in, *out;
	struct ref_engine re;
	struct ref_mem m = { 0 };
	struct inpu_op op;
	struct inpu_stream *st;
	const void *data;
	uint8_t *expect, *want, *naive;
	uint32_t cb, p, i;
	size_t len;
	struct mm mm;

	ASSERT_EQ(0, mm_init(&mm, 1, 128, 64, P, INPU_DT_W8_TILED,
			     INPU_DT_INT8, 1, 0xd1));
	ASSERT_EQ(0, inpu_bo_alloc(self->dev, mm.in_size, 0, &in));
	ASSERT_EQ(0, inpu_bo_alloc(self->dev, mm.out_size, 0, &out));
	mm_fill(&mm, inpu_bo_ptr(in));
	memset(inpu_bo_ptr(out), 0x5a, inpu_bo_size(out));
	mm_op(&mm, inpu_bo_dva(in), inpu_bo_dva(out), 1, &op);

	st = inpu_stream_new();
	ASSERT_NE(NULL, st);
	ASSERT_EQ(1, inpu_stream_param(st, 0, P - 1));
	ASSERT_EQ(0, inpu_stream_add(st, &op));
	data = inpu_stream_data(st, &len);

	/* The reference: every position once, rows do not interfere. */
	ASSERT_EQ(0, ref_engine_init(&re, &self->info));
	ASSERT_EQ(0, ref_add(&m, in));
	ASSERT_EQ(0, ref_add(&m, out));
	naive = malloc(mm.y_bytes);
	ASSERT_NE(NULL, naive);
	want = ref_buf(&m, out);
	for (p = 0; p < P; p++) {
		ASSERT_EQ(INPU_OK, ref_run(&re, &m, data, len, &p, &rr));
		mm_naive(&mm, p, naive);
		EXPECT_EQ(0, memcmp(naive, want + p * mm.y_bytes, mm.y_bytes));
	}
	/* A position outside the declared range fails in the engine too. */
	p = P;
	EXPECT_EQ(INPU_ERR_PARAM, ref_run(&re, &m, data, len, &p, &rr));

	refs[0].handle = inpu_bo_handle(in);
	refs[0].flags = DRM_INPU_REF_READ;
	refs[1].handle = inpu_bo_handle(out);
	refs[1].flags = DRM_INPU_REF_WRITE;
	ASSERT_EQ(0, inpu_cmdbuf_create(self->dev, data, len, refs, 2, &cb,
					&verr));
	EXPECT_VERR(verr, 0, 0, 0);

	expect = malloc(mm.out_size);
	ASSERT_NE(NULL, expect);
	memset(expect, 0x5a, mm.out_size);
	for (i = 0; i < ARRAY_SIZE(order); i++) {
		p = order[i];
		ASSERT_EQ(0, run_cmdbuf(self->dev, cb, &p, 1, &res));
		ASSERT_EQ(INPU_OK, res.status) TH_LOG("job %u (p=%u): %s", i, p,
						      inpu_job_status_name(res.status));
		memcpy(expect + p * mm.y_bytes, want + p * mm.y_bytes,
		       mm.y_bytes);
		ASSERT_EQ(0, memcmp(inpu_bo_ptr(out), expect, mm.out_size))
			TH_LOG("output wrong after job %u (p=%u)", i, p);
	}

	/* Outside the declared range: -ERANGE, nothing runs. */
	memset(&sub, 0, sizeof(sub));
	sub.cmdbuf = cb;
	sub.n_params = 1;
	sub.params[0] = P;
	EXPECT_EQ(-ERANGE, inpu_submit(self->dev, &sub));
	EXPECT_EQ(0, sub.job_id);
	EXPECT_VERR(sub.verr, INPU_ERR_PARAM, ~0u, -1);
	sub.params[0] = ~0u;
	EXPECT_EQ(-ERANGE, inpu_submit(self->dev, &sub));
	/* The stream declares one parameter: n_params must be 1, and the
	 * values past it zero.
	 */
	sub.params[0] = 1;
	sub.n_params = 0;
	EXPECT_EQ(-EINVAL, inpu_submit(self->dev, &sub));
	sub.n_params = 2;
	EXPECT_EQ(-EINVAL, inpu_submit(self->dev, &sub));
	sub.n_params = 9;
	EXPECT_EQ(-EINVAL, inpu_submit(self->dev, &sub));
	sub.n_params = 1;
	sub.params[1] = 3;
	EXPECT_EQ(-EINVAL, inpu_submit(self->dev, &sub));
	EXPECT_EQ(0, memcmp(inpu_bo_ptr(out), expect, mm.out_size));

	/* BOs stay referenced by the command buffer after their handles go. */
	inpu_bo_free(in);
	memset(inpu_bo_ptr(out), 0x5a, mm.out_size);
	p = 6;
	ASSERT_EQ(0, run_cmdbuf(self->dev, cb, &p, 1, &res));
	EXPECT_EQ(INPU_OK, res.status);
	EXPECT_EQ(0, memcmp((uint8_t *)inpu_bo_ptr(out) + 6 * mm.y_bytes,
			    want + 6 * mm.y_bytes, mm.y_bytes));

	EXPECT_EQ(0, inpu_cmdbuf_destroy(self->dev, cb));
	EXPECT_EQ(-ENOENT, inpu_cmdbuf_destroy(self->dev, cb));
	EXPECT_EQ(-ENOENT, run_cmdbuf(self->dev, cb, &p, 1, &res));
	free(expect);
	free(naive);
	inpu_stream_free(st);
	ref_free(&m);
	ref_engine_fini(&re);
	inpu_bo_free(out);
	mm_free(&mm);
}

/* ---- syncobj chains ------------------------------------------------------ */

/*
 * copy src -> x; matmul x -> y; add y + y -> z (INT16), submitted back to
 * back, each job waiting on the previous one's out syncobj.  Waiting on
 * the last syncobj alone must be enough to read the right z.
 */
TEST_F(job, syncobj_chain)
{
	struct drm_inpu_bo_ref r1[2], r2[3], r3[2];
	struct inpu_bo *src, *x, *wb, *y, *z;
	struct inpu_run_result rr;
	struct drm_inpu_wait res;
	struct ref_engine re;
	struct ref_mem m = { 0 };
	struct inpu_op op;
	struct raw s1, s2, s3;
	uint32_t cb[3], sync[3], bad = 0x7777;
	uint64_t id[3];
	int round, i;
	struct mm mm;

	ASSERT_EQ(0, mm_init(&mm, 2, 256, 96, 1, INPU_DT_W8_TILED,
			     INPU_DT_INT8, 1, 0xc4a1));
	ASSERT_EQ(0, inpu_bo_alloc(self->dev, 512, 0, &src));
	ASSERT_EQ(0, inpu_bo_alloc(self->dev, 512, 0, &x));
	ASSERT_EQ(0, inpu_bo_alloc(self->dev, mm.in_size, 0, &wb));
	ASSERT_EQ(0, inpu_bo_alloc(self->dev, mm.y_bytes, 0, &y));
	ASSERT_EQ(0, inpu_bo_alloc(self->dev, mm.y_bytes * 2, 0, &z));
	mm_fill(&mm, inpu_bo_ptr(wb));

	raw_copy(&s1, inpu_bo_dva(src), inpu_bo_dva(x), INPU_DT_INT8, 2, 256);
	/* The matmul's x is the copy's destination, not wb's own x. */
	mm_op(&mm, inpu_bo_dva(wb), inpu_bo_dva(y), 0, &op);
	op.u.matmul.x.addr = inpu_bo_dva(x);
	raw_init(&s2);
	s2.ops[s2.hdr.n_ops++] = op;
	raw_init(&s3);
	memset(&op, 0, sizeof(op));
	op.opcode = INPU_OP_ADD;
	op.u.add.a = inpu_tensor_2d(inpu_bo_dva(y), INPU_DT_INT8, 2, 96);
	op.u.add.b = op.u.add.a;
	op.u.add.y = inpu_tensor_2d(inpu_bo_dva(z), INPU_DT_INT16, 2, 96);
	op.u.add.a_mult = 1;
	op.u.add.b_mult = 1;
	s3.ops[s3.hdr.n_ops++] = op;

	r1[0] = (struct drm_inpu_bo_ref){ inpu_bo_handle(src), DRM_INPU_REF_READ };
	r1[1] = (struct drm_inpu_bo_ref){ inpu_bo_handle(x), DRM_INPU_REF_WRITE };
	r2[0] = (struct drm_inpu_bo_ref){ inpu_bo_handle(x), DRM_INPU_REF_READ };
	r2[1] = (struct drm_inpu_bo_ref){ inpu_bo_handle(wb), DRM_INPU_REF_READ };
	r2[2] = (struct drm_inpu_bo_ref){ inpu_bo_handle(y), DRM_INPU_REF_WRITE };
	r3[0] = (struct drm_inpu_bo_ref){ inpu_bo_handle(y), DRM_INPU_REF_READ };
	r3[1] = (struct drm_inpu_bo_ref){ inpu_bo_handle(z), DRM_INPU_REF_WRITE };
	ASSERT_EQ(0, inpu_cmdbuf_create(self->dev, &s1, raw_len(&s1), r1, 2,
					&cb[0], NULL));
	ASSERT_EQ(0, inpu_cmdbuf_create(self->dev, &s2, raw_len(&s2), r2, 3,
					&cb[1], NULL));
	ASSERT_EQ(0, inpu_cmdbuf_create(self->dev, &s3, raw_len(&s3), r3, 2,
					&cb[2], NULL));
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, drmSyncobjCreate(self->fd, 0, &sync[i]));
	ASSERT_EQ(0, ref_engine_init(&re, &self->info));

	for (round = 0; round < 3; round++) {
		uint64_t seed = 99 + round;
		uint8_t *p = inpu_bo_ptr(src);
		int k;

		for (k = 0; k < 512; k++)
			p[k] = (uint8_t)rnd(&seed);
		memset(inpu_bo_ptr(x), 0, 512);
		memset(inpu_bo_ptr(y), 0, mm.y_bytes);
		memset(inpu_bo_ptr(z), 0, mm.y_bytes * 2);

		ref_free(&m);
		ASSERT_EQ(0, ref_add(&m, src));
		ASSERT_EQ(0, ref_add(&m, x));
		ASSERT_EQ(0, ref_add(&m, wb));
		ASSERT_EQ(0, ref_add(&m, y));
		ASSERT_EQ(0, ref_add(&m, z));
		ASSERT_EQ(0, ref_run(&re, &m, &s1, raw_len(&s1), NULL, &rr));
		ASSERT_EQ(0, ref_run(&re, &m, &s2, raw_len(&s2), NULL, &rr));
		ASSERT_EQ(0, ref_run(&re, &m, &s3, raw_len(&s3), NULL, &rr));

		ASSERT_EQ(0, inpu_submit_cmdbuf(self->dev, cb[0], NULL, 0, NULL,
						0, sync[0], &id[0]));
		ASSERT_EQ(0, inpu_submit_cmdbuf(self->dev, cb[1], NULL, 0,
						&sync[0], 1, sync[1], &id[1]));
		ASSERT_EQ(0, inpu_submit_cmdbuf(self->dev, cb[2], NULL, 0,
						&sync[1], 1, sync[2], &id[2]));
		EXPECT_LT(id[0], id[1]);
		EXPECT_LT(id[1], id[2]);
		ASSERT_EQ(0, drmSyncobjWait(self->fd, &sync[2], 1,
					    now_ns() + WAIT_NS, 0, NULL));
		EXPECT_EQ(0, memcmp(inpu_bo_ptr(z), ref_buf(&m, z),
				    mm.y_bytes * 2)) TH_LOG("round %d", round);
		EXPECT_EQ(0, memcmp(inpu_bo_ptr(x), ref_buf(&m, x), 512));
		EXPECT_EQ(0, memcmp(inpu_bo_ptr(y), ref_buf(&m, y), mm.y_bytes));
		for (i = 0; i < 3; i++) {
			ASSERT_EQ(0, inpu_wait(self->dev, id[i], 0, &res));
			EXPECT_EQ(INPU_OK, res.status);
			EXPECT_EQ(1, res.ops_done);
		}
	}
	/* Unknown syncobjs: -ENOENT, in or out. */
	EXPECT_EQ(-ENOENT, inpu_submit_cmdbuf(self->dev, cb[0], NULL, 0, &bad,
					      1, 0, &id[0]));
	EXPECT_EQ(-ENOENT, inpu_submit_cmdbuf(self->dev, cb[0], NULL, 0, NULL,
					      0, bad, &id[0]));
	/* A syncobj that holds no fence yet cannot be waited for (DRM core). */
	ASSERT_EQ(0, drmSyncobjCreate(self->fd, 0, &bad));
	EXPECT_EQ(-EINVAL, inpu_submit_cmdbuf(self->dev, cb[0], NULL, 0, &bad,
					      1, 0, &id[0]));
	drmSyncobjDestroy(self->fd, bad);

	for (i = 0; i < 3; i++) {
		drmSyncobjDestroy(self->fd, sync[i]);
		inpu_cmdbuf_destroy(self->dev, cb[i]);
	}
	ref_free(&m);
	ref_engine_fini(&re);
	inpu_bo_free(src);
	inpu_bo_free(x);
	inpu_bo_free(wb);
	inpu_bo_free(y);
	inpu_bo_free(z);
	mm_free(&mm);
}

/* ---- two processes at once ------------------------------------------------ */

#define CHILD_CHECK(cond, ...) do { \
	if (!(cond)) { \
		fprintf(stderr, "# child %d line %d: ", id, __LINE__); \
		fprintf(stderr, __VA_ARGS__); \
		fputc('\n', stderr); \
		ret = __LINE__; \
		goto out; \
	} \
} while (0)

/*
 * One process: its own device file, a 16-position matmul command buffer
 * with its own data; 160 jobs queued in batches of 32 then waited for,
 * then 16 more one by one.  Returns 0 or the failing line.
 */
static int child_jobs(int id, int go_fd)
{
	enum { P = 16, QUEUED = 160, BATCH = 32 };
	struct drm_inpu_device_info info;
	struct drm_inpu_bo_ref refs[2];
	struct inpu_bo *in = NULL, *out = NULL;
	struct inpu_run_result rr;
	struct drm_inpu_wait res;
	struct inpu_dev *dev = NULL;
	struct ref_engine re = { 0 };
	struct ref_mem m = { 0 };
	struct inpu_op op;
	struct raw s;
	uint64_t jobs[QUEUED];
	uint32_t cb = 0, p, i, j;
	uint8_t *want;
	char c;
	int ret = 0;
	struct mm mm = { 0 };

	CHILD_CHECK(!mm_init(&mm, 1, 192, 80, P, INPU_DT_W8_TILED,
			     INPU_DT_INT8, 1, 1000 + id), "mm_init");
	CHILD_CHECK(!open_dev(&dev, &info), "open");
	CHILD_CHECK(!inpu_bo_alloc(dev, mm.in_size, 0, &in), "alloc in");
	CHILD_CHECK(!inpu_bo_alloc(dev, mm.out_size, 0, &out), "alloc out");
	mm_fill(&mm, inpu_bo_ptr(in));
	memset(inpu_bo_ptr(out), id, mm.out_size);
	mm_op(&mm, inpu_bo_dva(in), inpu_bo_dva(out), 1, &op);
	raw_init(&s);
	s.hdr.n_params = 1;
	s.hdr.params[0].max = P - 1;
	s.ops[s.hdr.n_ops++] = op;

	CHILD_CHECK(!ref_engine_init(&re, &info), "engine");
	CHILD_CHECK(!ref_add(&m, in) && !ref_add(&m, out), "ref_add");
	for (p = 0; p < P; p++)
		CHILD_CHECK(!ref_run(&re, &m, &s, raw_len(&s), &p, &rr),
			    "reference run %u: %d", p, rr.status);
	want = ref_buf(&m, out);

	refs[0] = (struct drm_inpu_bo_ref){ inpu_bo_handle(in), DRM_INPU_REF_READ };
	refs[1] = (struct drm_inpu_bo_ref){ inpu_bo_handle(out), DRM_INPU_REF_WRITE };
	CHILD_CHECK(!inpu_cmdbuf_create(dev, &s, raw_len(&s), refs, 2, &cb,
					NULL), "cmdbuf");

	/* Both processes start together. */
	CHILD_CHECK(read(go_fd, &c, 1) == 0, "start");

	for (i = 0; i < QUEUED; i += BATCH) {
		for (j = i; j < i + BATCH; j++) {
			p = (j * 7 + id) % P;
			CHILD_CHECK(!inpu_submit_cmdbuf(dev, cb, &p, 1, NULL, 0,
							0, &jobs[j]), "submit %u", j);
			CHILD_CHECK(!j || jobs[j] == jobs[j - 1] + 1,
				    "job ids not consecutive");
		}
		for (j = i; j < i + BATCH; j++) {
			CHILD_CHECK(!inpu_wait(dev, jobs[j], WAIT_NS, &res),
				    "wait %u", j);
			CHILD_CHECK(res.status == INPU_OK, "job %u status %u", j,
				    res.status);
			CHILD_CHECK(res.ops_done == 1, "job %u ops_done %u", j,
				    res.ops_done);
		}
	}
	CHILD_CHECK(!memcmp(inpu_bo_ptr(out), want, mm.out_size),
		    "pipelined output differs");

	memset(inpu_bo_ptr(out), id, mm.out_size);
	for (p = 0; p < P; p++) {
		uint32_t q = P - 1 - p;

		CHILD_CHECK(!run_cmdbuf(dev, cb, &q, 1, &res), "run %u", q);
		CHILD_CHECK(res.status == INPU_OK, "job %u status %u", q,
			    res.status);
		CHILD_CHECK(!memcmp((uint8_t *)inpu_bo_ptr(out) + q * mm.y_bytes,
				    want + q * mm.y_bytes, mm.y_bytes),
			    "output of position %u differs", q);
	}
	CHILD_CHECK(!memcmp(inpu_bo_ptr(out), want, mm.out_size),
		    "serial output differs");
out:
	if (cb)
		inpu_cmdbuf_destroy(dev, cb);
	inpu_bo_free(in);
	inpu_bo_free(out);
	inpu_dev_close(dev);
	ref_free(&m);
	if (re.e)
		ref_engine_fini(&re);
	mm_free(&mm);
	return ret;
}

TEST_F(job, two_processes)
{
	enum { NPROC = 2 };
	pid_t pid[NPROC];
	int go[2], i, status;

	ASSERT_EQ(0, pipe(go));
	for (i = 0; i < NPROC; i++) {
		pid[i] = fork();
		ASSERT_LE(0, pid[i]);
		if (!pid[i]) {
			close(go[1]);
			_exit(child_jobs(i + 1, go[0]) ? 1 : 0);
		}
	}
	close(go[0]);
	/* Meanwhile this file keeps working too. */
	EXPECT_EQ(0, nop_ok(self->dev, self->nop_cb));
	close(go[1]);
	for (i = 0; i < NPROC; i++) {
		ASSERT_EQ(pid[i], waitpid(pid[i], &status, 0));
		EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
			TH_LOG("child %d: status %#x", i + 1, status);
	}
	EXPECT_EQ(0, nop_ok(self->dev, self->nop_cb));
}

/*
 * Closing a file with jobs queued and its BOs already released: the jobs
 * keep what they use alive, run or are dropped, and nothing leaks into
 * other files or the kernel log.
 */
TEST_F(job, close_with_jobs_in_flight)
{
	struct drm_inpu_device_info info2;
	struct drm_inpu_bo_ref refs[2];
	struct inpu_bo *in, *out;
	struct inpu_dev *dev2;
	struct inpu_op op;
	uint32_t cb, i;
	uint64_t id;
	struct mm mm;
	int round;

	ASSERT_EQ(0, mm_init(&mm, 1, 768, 2048, 1, INPU_DT_W8_TILED,
			     INPU_DT_INT8, 1, 0xc105e));
	for (round = 0; round < 3; round++) {
		ASSERT_EQ(0, open_dev(&dev2, &info2));
		ASSERT_EQ(0, inpu_bo_alloc(dev2, mm.in_size, 0, &in));
		ASSERT_EQ(0, inpu_bo_alloc(dev2, mm.out_size, 0, &out));
		mm_fill(&mm, inpu_bo_ptr(in));
		mm_op(&mm, inpu_bo_dva(in), inpu_bo_dva(out), 0, &op);
		refs[0] = (struct drm_inpu_bo_ref){ inpu_bo_handle(in),
						    DRM_INPU_REF_READ };
		refs[1] = (struct drm_inpu_bo_ref){ inpu_bo_handle(out),
						    DRM_INPU_REF_WRITE };
		ASSERT_EQ(0, cmdbuf_one_op(dev2, &op, 0, 0, 0, refs, 2, &cb,
					   NULL));
		for (i = 0; i < 64; i++)
			ASSERT_EQ(0, inpu_submit_cmdbuf(dev2, cb, NULL, 0, NULL,
							0, 0, &id));
		inpu_bo_free(in);
		inpu_bo_free(out);
		if (round == 1)
			inpu_cmdbuf_destroy(dev2, cb);
		inpu_dev_close(dev2);
		EXPECT_EQ(0, nop_ok(self->dev, self->nop_cb));
	}
	mm_free(&mm);
}

/* The last 4096 results of a file are kept; older job ids are forgotten. */
TEST_F(job, wait_forgets_old_results)
{
	enum { KEPT = 4096, BATCH = 256 };
	struct drm_inpu_wait res;
	uint64_t id = 0, first = 0;
	unsigned int i;

	for (i = 0; i < KEPT + 1; i++) {
		ASSERT_EQ(0, inpu_submit_cmdbuf(self->dev, self->nop_cb, NULL, 0,
						NULL, 0, 0, &id));
		if (!first)
			first = id;
		if (i % BATCH == BATCH - 1 || i == KEPT) {
			ASSERT_EQ(0, inpu_wait(self->dev, id, WAIT_NS, &res));
			ASSERT_EQ(INPU_OK, res.status);
		}
	}
	EXPECT_EQ(1, first);
	EXPECT_EQ(first + KEPT, id);
	EXPECT_EQ(-ENOENT, inpu_wait(self->dev, first, 0, &res));
	EXPECT_EQ(0, inpu_wait(self->dev, first + 1, 0, &res));
	EXPECT_EQ(INPU_OK, res.status);
	EXPECT_EQ(1, res.ops_done);
}

/* ---- bad input --------------------------------------------------------------- */

TEST_F(job, submit_bad_flags_and_counts)
{
	struct drm_inpu_bo_ref refs[1] = { { inpu_bo_handle(self->a),
					     DRM_INPU_REF_READ } };
	struct drm_inpu_submit s;
	uint32_t syncs[1000];
	struct raw r;

	memset(&s, 0, sizeof(s));
	s.cmdbuf = self->nop_cb;
	s.flags = 1;
	EXPECT_EQ(-EINVAL, inpu_submit(self->dev, &s));
	s.flags = 1u << 31;
	EXPECT_EQ(-EINVAL, inpu_submit(self->dev, &s));
	EXPECT_EQ(0, s.job_id);
	s.flags = 0;
	s.n_params = INPU_MAX_PARAMS + 1;
	EXPECT_EQ(-EINVAL, inpu_submit(self->dev, &s));
	s.n_params = 0;

	/* 1000 in-syncobjs (the limit is 64): refused before any lookup. */
	memset(syncs, 0, sizeof(syncs));
	s.in_syncobjs = (uintptr_t)syncs;
	s.n_in_syncobjs = 1000;
	EXPECT_EQ(-EINVAL, inpu_submit(self->dev, &s));
	s.n_in_syncobjs = DRM_INPU_MAX_IN_SYNCOBJS + 1;
	EXPECT_EQ(-EINVAL, inpu_submit(self->dev, &s));
	s.in_syncobjs = 8;
	s.n_in_syncobjs = 1;
	EXPECT_EQ(-EFAULT, inpu_submit(self->dev, &s));
	s.in_syncobjs = 0;
	s.n_in_syncobjs = 0;

	/* 100000 BOs (the limit is 256), and none. */
	raw_init(&r);
	raw_add(&r, INPU_OP_NOP);
	memcpy(inpu_bo_ptr(self->stream), &r, raw_len(&r));
	memset(&s, 0, sizeof(s));
	s.stream_bo = inpu_bo_handle(self->stream);
	s.stream_len = raw_len(&r);
	s.bos = (uintptr_t)refs;
	s.n_bos = 100000;
	EXPECT_EQ(-EINVAL, inpu_submit(self->dev, &s));
	s.n_bos = DRM_INPU_MAX_BOS_PER_JOB + 1;
	EXPECT_EQ(-EINVAL, inpu_submit(self->dev, &s));
	s.n_bos = 0;
	EXPECT_EQ(-EINVAL, inpu_submit(self->dev, &s));
	/* A bad user pointer. */
	s.n_bos = 1;
	s.bos = 8;
	EXPECT_EQ(-EFAULT, inpu_submit(self->dev, &s));
	s.bos = (uintptr_t)refs;
	/* Reference flags: neither or unknown. */
	refs[0].flags = 0;
	EXPECT_EQ(-EINVAL, inpu_submit(self->dev, &s));
	refs[0].flags = 4;
	EXPECT_EQ(-EINVAL, inpu_submit(self->dev, &s));
	refs[0].flags = DRM_INPU_REF_READ;
	ASSERT_EQ(0, inpu_submit(self->dev, &s));
	EXPECT_NE(0, s.job_id);
	EXPECT_EQ(0, nop_ok(self->dev, self->nop_cb));
}

TEST_F(job, stream_len_and_range)
{
	struct drm_inpu_bo_ref refs[1] = { { inpu_bo_handle(self->a),
					     DRM_INPU_REF_READ } };
	struct drm_inpu_cmdbuf_create c;
	struct drm_inpu_submit s;
	struct drm_inpu_wait res;
	struct inpu_bo *small;
	struct raw r;

	raw_init(&r);
	raw_add(&r, INPU_OP_NOP);
	memset(&s, 0, sizeof(s));
	s.stream_bo = inpu_bo_handle(self->stream);
	s.bos = (uintptr_t)refs;
	s.n_bos = 1;
	s.stream_len = 0;
	EXPECT_EQ(-EINVAL, inpu_submit(self->dev, &s));
	s.stream_len = DRM_INPU_MAX_STREAM_BYTES + 1;
	EXPECT_EQ(-EINVAL, inpu_submit(self->dev, &s));

	memset(&c, 0, sizeof(c));
	c.stream = (uintptr_t)&r;
	c.bos = (uintptr_t)refs;
	c.n_bos = 1;
	c.stream_len = 0;
	EXPECT_EQ(-EINVAL, xioctl(self->fd, DRM_IOCTL_INPU_CMDBUF_CREATE, &c));
	c.stream_len = DRM_INPU_MAX_STREAM_BYTES + 1;
	EXPECT_EQ(-EINVAL, xioctl(self->fd, DRM_IOCTL_INPU_CMDBUF_CREATE, &c));
	c.stream_len = raw_len(&r);
	c.flags = 1;
	EXPECT_EQ(-EINVAL, xioctl(self->fd, DRM_IOCTL_INPU_CMDBUF_CREATE, &c));
	c.flags = 0;
	c.handle = 5;	/* out only: must come in as zero */
	EXPECT_EQ(-EINVAL, xioctl(self->fd, DRM_IOCTL_INPU_CMDBUF_CREATE, &c));
	c.handle = 0;
	c.stream = 8;
	EXPECT_EQ(-EFAULT, xioctl(self->fd, DRM_IOCTL_INPU_CMDBUF_CREATE, &c));

	/* The stream must lie inside its BO (one page here). */
	ASSERT_EQ(0, inpu_bo_alloc(self->dev, PAGE, 0, &small));
	s.stream_bo = inpu_bo_handle(small);
	s.stream_len = NOP_LEN;
	s.stream_offset = PAGE - NOP_LEN + 1;
	EXPECT_EQ(-EINVAL, inpu_submit(self->dev, &s));
	s.stream_offset = PAGE + 1;
	EXPECT_EQ(-EINVAL, inpu_submit(self->dev, &s));
	s.stream_offset = ~0ull - 10;
	EXPECT_EQ(-EINVAL, inpu_submit(self->dev, &s));
	s.stream_offset = 0;
	s.stream_len = PAGE + 256;
	EXPECT_EQ(-EINVAL, inpu_submit(self->dev, &s));
	EXPECT_EQ(0, s.job_id);
	/* Exactly at the end is fine. */
	memcpy((uint8_t *)inpu_bo_ptr(small) + PAGE - NOP_LEN, &r, NOP_LEN);
	s.stream_offset = PAGE - NOP_LEN;
	s.stream_len = NOP_LEN;
	ASSERT_EQ(0, inpu_submit(self->dev, &s));
	ASSERT_EQ(0, inpu_wait(self->dev, s.job_id, WAIT_NS, &res));
	EXPECT_EQ(INPU_OK, res.status);
	EXPECT_EQ(1, res.ops_done);
	inpu_bo_free(small);
}

TEST_F(job, bad_handles)
{
	struct drm_inpu_bo_ref refs[2] = {
		{ inpu_bo_handle(self->a), DRM_INPU_REF_READ },
		{ 0xdead, DRM_INPU_REF_READ },
	};
	struct drm_inpu_device_info info2;
	struct drm_inpu_bo_info info;
	struct drm_inpu_verror verr;
	struct drm_inpu_submit s;
	struct inpu_dev *dev2;
	uint32_t h2[5], foreign, cb;
	struct raw r;
	int i;

	raw_init(&r);
	raw_add(&r, INPU_OP_NOP);
	EXPECT_EQ(-ENOENT, both_paths(_metadata, self, &r, raw_len(&r), refs, 2,
				      &verr));
	EXPECT_VERR(verr, 0, 0, 0);
	EXPECT_EQ(-ENOENT, inpu_cmdbuf_create(self->dev, &r, raw_len(&r),
					      refs + 1, 1, &cb, NULL));

	/* An unknown stream BO. */
	memset(&s, 0, sizeof(s));
	s.stream_bo = 0xdead;
	s.stream_len = raw_len(&r);
	s.bos = (uintptr_t)refs;
	s.n_bos = 1;
	EXPECT_EQ(-ENOENT, inpu_submit(self->dev, &s));
	s.stream_bo = 0;
	EXPECT_EQ(-ENOENT, inpu_submit(self->dev, &s));

	/*
	 * A handle of another open file: handle numbers are per file, so
	 * file 2's fifth BO has a number this file (handles 1..4) lacks.
	 */
	ASSERT_EQ(0, open_dev(&dev2, &info2));
	for (i = 0; i < 5; i++)
		ASSERT_EQ(0, bo_create(inpu_dev_fd(dev2), PAGE, 0, &h2[i], NULL));
	foreign = h2[4];
	ASSERT_EQ(-ENOENT, bo_info(self->fd, foreign, &info));
	refs[1].handle = foreign;
	EXPECT_EQ(-ENOENT, both_paths(_metadata, self, &r, raw_len(&r), refs, 2,
				      &verr));
	s.stream_bo = foreign;
	EXPECT_EQ(-ENOENT, inpu_submit(self->dev, &s));
	inpu_dev_close(dev2);
	EXPECT_EQ(0, nop_ok(self->dev, self->nop_cb));
}

TEST_F(job, operand_outside_bo)
{
	struct drm_inpu_bo_ref refs[2] = {
		{ inpu_bo_handle(self->a), DRM_INPU_REF_READ },
		{ inpu_bo_handle(self->b), DRM_INPU_REF_WRITE },
	};
	uint64_t a = inpu_bo_dva(self->a), b = inpu_bo_dva(self->b);
	struct drm_inpu_verror verr;
	struct drm_inpu_wait res;
	uint32_t cb;
	struct raw r;

	/* Source runs one byte past the end of a. */
	raw_copy(&r, a + 65536 - 63, b, INPU_DT_INT8, 1, 64);
	EXPECT_EQ(-EINVAL, both_paths(_metadata, self, &r, raw_len(&r), refs,
				      2, &verr));
	EXPECT_VERR(verr, INPU_ERR_RANGE, 0, 0);
	/* Destination past the end of b, as the second op. */
	raw_init(&r);
	raw_add(&r, INPU_OP_NOP);
	copy_op(raw_add(&r, INPU_OP_COPY), a, b + 65536 - 32, INPU_DT_INT16,
		2, 16);
	r.ops[1].u.copy.dst.stride = 34;
	EXPECT_EQ(-EINVAL, both_paths(_metadata, self, &r, raw_len(&r), refs,
				      2, &verr));
	EXPECT_VERR(verr, INPU_ERR_RANGE, 1, 1);
	/* Below every BO, and in the unmapped first megabyte. */
	raw_copy(&r, 0x1000, b, INPU_DT_INT8, 1, 64);
	EXPECT_EQ(-EINVAL, both_paths(_metadata, self, &r, raw_len(&r), refs,
				      2, &verr));
	EXPECT_VERR(verr, INPU_ERR_RANGE, 0, 0);
	/* In the fixture's read-only BO, which this job does not list. */
	raw_copy(&r, inpu_bo_dva(self->ro), b, INPU_DT_INT8, 1, 64);
	EXPECT_EQ(-EINVAL, both_paths(_metadata, self, &r, raw_len(&r), refs,
				      2, &verr));
	EXPECT_VERR(verr, INPU_ERR_RANGE, 0, 0);
	/* Address arithmetic that wraps. */
	raw_copy(&r, ~0ull - 63, b, INPU_DT_INT8, 1, 128);
	EXPECT_EQ(-EINVAL, both_paths(_metadata, self, &r, raw_len(&r), refs,
				      2, &verr));
	EXPECT_VERR(verr, INPU_ERR_RANGE, 0, 0);

	/* Exactly up to the last byte of both BOs is fine, and runs. */
	memset(inpu_bo_ptr(self->a), 0x3c, 65536);
	memset(inpu_bo_ptr(self->b), 0, 65536);
	raw_copy(&r, a + 65536 - 64, b + 65536 - 64, INPU_DT_INT8, 1, 64);
	ASSERT_EQ(0, inpu_cmdbuf_create(self->dev, &r, raw_len(&r), refs, 2,
					&cb, &verr));
	ASSERT_EQ(0, run_cmdbuf(self->dev, cb, NULL, 0, &res));
	EXPECT_EQ(INPU_OK, res.status);
	EXPECT_EQ(0x3c, ((uint8_t *)inpu_bo_ptr(self->b))[65535]);
	EXPECT_EQ(0x3c, ((uint8_t *)inpu_bo_ptr(self->b))[65536 - 64]);
	EXPECT_EQ(0, ((uint8_t *)inpu_bo_ptr(self->b))[65536 - 65]);
	EXPECT_EQ(0, inpu_cmdbuf_destroy(self->dev, cb));
}

TEST_F(job, write_to_readonly)
{
	struct drm_inpu_bo_ref refs[2] = {
		{ inpu_bo_handle(self->a), DRM_INPU_REF_READ },
		{ inpu_bo_handle(self->ro), DRM_INPU_REF_READ },
	};
	uint64_t a = inpu_bo_dva(self->a), ro = inpu_bo_dva(self->ro);
	struct drm_inpu_verror verr;
	struct drm_inpu_wait res;
	uint32_t cb;
	struct raw r;

	/* The validator: the destination lies in a BO listed read-only. */
	raw_copy(&r, a, ro + 100, INPU_DT_INT8, 1, 64);
	EXPECT_EQ(-EACCES, both_paths(_metadata, self, &r, raw_len(&r), refs,
				      2, &verr));
	EXPECT_VERR(verr, INPU_ERR_ACCESS, 0, 1);
	/* Also for a writable BO that the job lists for reading only. */
	raw_copy(&r, ro, a + 100, INPU_DT_INT8, 1, 64);
	EXPECT_EQ(-EACCES, both_paths(_metadata, self, &r, raw_len(&r), refs,
				      2, &verr));
	EXPECT_VERR(verr, INPU_ERR_ACCESS, 0, 1);

	/* Listing a DEVICE_READONLY BO for writing: -EACCES, no verr. */
	refs[1].flags = DRM_INPU_REF_READ | DRM_INPU_REF_WRITE;
	raw_copy(&r, a, ro, INPU_DT_INT8, 1, 64);
	EXPECT_EQ(-EACCES, both_paths(_metadata, self, &r, raw_len(&r), refs,
				      2, &verr));
	EXPECT_VERR(verr, 0, 0, 0);
	refs[1].flags = DRM_INPU_REF_WRITE;
	EXPECT_EQ(-EACCES, both_paths(_metadata, self, &r, raw_len(&r), refs,
				      2, &verr));

	/* Reading it is fine. */
	memset(inpu_bo_ptr(self->ro), 0x42, 16384);
	refs[0].flags = DRM_INPU_REF_WRITE;
	refs[1].flags = DRM_INPU_REF_READ;
	raw_copy(&r, ro + 16384 - 64, a, INPU_DT_INT8, 1, 64);
	ASSERT_EQ(0, inpu_cmdbuf_create(self->dev, &r, raw_len(&r), refs, 2,
					&cb, &verr));
	ASSERT_EQ(0, run_cmdbuf(self->dev, cb, NULL, 0, &res));
	EXPECT_EQ(INPU_OK, res.status);
	EXPECT_EQ(0x42, ((uint8_t *)inpu_bo_ptr(self->a))[63]);
}

TEST_F(job, bad_streams)
{
	struct drm_inpu_bo_ref refs[2] = {
		{ inpu_bo_handle(self->a), DRM_INPU_REF_READ },
		{ inpu_bo_handle(self->b), DRM_INPU_REF_WRITE },
	};
	uint64_t a = inpu_bo_dva(self->a), b = inpu_bo_dva(self->b);
	struct drm_inpu_verror verr;
	struct raw r;

	/* Unknown opcodes, as the second op. */
	raw_init(&r);
	raw_add(&r, INPU_OP_NOP);
	raw_add(&r, INPU_OP_COUNT);
	EXPECT_EQ(-EINVAL, both_paths(_metadata, self, &r, raw_len(&r), refs,
				      2, &verr));
	EXPECT_VERR(verr, INPU_ERR_OPCODE, 1, -1);
	r.ops[1].opcode = 0xffff;
	EXPECT_EQ(-EINVAL, both_paths(_metadata, self, &r, raw_len(&r), refs,
				      2, &verr));
	EXPECT_VERR(verr, INPU_ERR_OPCODE, 1, -1);

	/* Truncated or padded ops: the length must be 80 + 256 n_ops. */
	raw_copy(&r, a, b, INPU_DT_INT8, 1, 64);
	EXPECT_EQ(-EINVAL, both_paths(_metadata, self, &r, raw_len(&r) - 1,
				      refs, 2, &verr));
	EXPECT_VERR(verr, INPU_ERR_HEADER, ~0u, -1);
	EXPECT_EQ(-EINVAL, both_paths(_metadata, self, &r, raw_len(&r) + 128,
				      refs, 2, &verr));
	EXPECT_VERR(verr, INPU_ERR_HEADER, ~0u, -1);
	EXPECT_EQ(-EINVAL, both_paths(_metadata, self, &r, 80, refs, 2, &verr));
	EXPECT_VERR(verr, INPU_ERR_HEADER, ~0u, -1);
	EXPECT_EQ(-EINVAL, both_paths(_metadata, self, &r, 17, refs, 2, &verr));
	EXPECT_VERR(verr, INPU_ERR_HEADER, ~0u, -1);
	r.hdr.n_ops = 2;
	EXPECT_EQ(-EINVAL, both_paths(_metadata, self, &r, 80 + 256, refs, 2,
				      &verr));
	EXPECT_VERR(verr, INPU_ERR_HEADER, ~0u, -1);
	r.hdr.n_ops = 1;
	r.hdr.magic ^= 1;
	EXPECT_EQ(-EINVAL, both_paths(_metadata, self, &r, raw_len(&r), refs,
				      2, &verr));
	EXPECT_VERR(verr, INPU_ERR_HEADER, ~0u, -1);

	/* Misaligned stride and address of an INT32 operand. */
	raw_copy(&r, a, b, INPU_DT_INT32, 4, 16);
	r.ops[0].u.copy.src.stride = 16 * 4 + 2;
	EXPECT_EQ(-EINVAL, both_paths(_metadata, self, &r, raw_len(&r), refs,
				      2, &verr));
	EXPECT_VERR(verr, INPU_ERR_STRIDE, 0, 0);
	raw_copy(&r, a, b + 2, INPU_DT_INT32, 4, 16);
	EXPECT_EQ(-EINVAL, both_paths(_metadata, self, &r, raw_len(&r), refs,
				      2, &verr));
	EXPECT_VERR(verr, INPU_ERR_STRIDE, 0, 1);
	/* A stride shorter than a row. */
	raw_copy(&r, a, b, INPU_DT_INT32, 4, 16);
	r.ops[0].u.copy.dst.stride = 60;
	EXPECT_EQ(-EINVAL, both_paths(_metadata, self, &r, raw_len(&r), refs,
				      2, &verr));
	EXPECT_VERR(verr, INPU_ERR_STRIDE, 0, 1);
	/* A reserved field. */
	raw_copy(&r, a, b, INPU_DT_INT8, 1, 64);
	r.ops[0].flags = 1;
	EXPECT_EQ(-EINVAL, both_paths(_metadata, self, &r, raw_len(&r), refs,
				      2, &verr));
	EXPECT_VERR(verr, INPU_ERR_RESERVED, 0, -1);

	EXPECT_EQ(0, nop_ok(self->dev, self->nop_cb));
}

TEST_F(job, cmdbuf_submit_fields)
{
	struct drm_inpu_bo_ref refs[1] = { { inpu_bo_handle(self->a),
					     DRM_INPU_REF_READ } };
	struct drm_inpu_submit s, base;
	struct drm_inpu_cmdbuf_destroy d;

	memset(&base, 0, sizeof(base));
	base.cmdbuf = self->nop_cb;
	s = base;
	s.stream_len = NOP_LEN;
	EXPECT_EQ(-EINVAL, inpu_submit(self->dev, &s));
	s = base;
	s.stream_bo = inpu_bo_handle(self->stream);
	EXPECT_EQ(-EINVAL, inpu_submit(self->dev, &s));
	s = base;
	s.stream_offset = 4;
	EXPECT_EQ(-EINVAL, inpu_submit(self->dev, &s));
	s = base;
	s.n_bos = 1;
	EXPECT_EQ(-EINVAL, inpu_submit(self->dev, &s));
	s = base;
	s.bos = (uintptr_t)refs;
	EXPECT_EQ(-EINVAL, inpu_submit(self->dev, &s));
	/* The stream declares no parameters. */
	s = base;
	s.n_params = 1;
	EXPECT_EQ(-EINVAL, inpu_submit(self->dev, &s));
	s = base;
	s.params[0] = 1;
	EXPECT_EQ(-EINVAL, inpu_submit(self->dev, &s));
	/* Unknown command buffers. */
	s = base;
	s.cmdbuf = self->nop_cb + 1000;
	EXPECT_EQ(-ENOENT, inpu_submit(self->dev, &s));
	EXPECT_EQ(0, s.job_id);
	memset(&d, 0, sizeof(d));
	d.handle = self->nop_cb;
	d.pad = 1;
	EXPECT_EQ(-EINVAL, xioctl(self->fd, DRM_IOCTL_INPU_CMDBUF_DESTROY, &d));
	EXPECT_EQ(-ENOENT, inpu_cmdbuf_destroy(self->dev, self->nop_cb + 1000));
	EXPECT_EQ(-ENOENT, inpu_cmdbuf_destroy(self->dev, 0));
	EXPECT_EQ(0, nop_ok(self->dev, self->nop_cb));
}

TEST_F(job, wait_errors)
{
	struct drm_inpu_device_info info2;
	struct drm_inpu_wait w, res;
	struct inpu_dev *dev2;
	uint64_t id;

	EXPECT_EQ(-ENOENT, inpu_wait(self->dev, 0, WAIT_NS, &res));
	EXPECT_EQ(-ENOENT, inpu_wait(self->dev, 12345678, WAIT_NS, &res));
	ASSERT_EQ(0, inpu_submit_cmdbuf(self->dev, self->nop_cb, NULL, 0, NULL,
					0, 0, &id));
	EXPECT_EQ(-ENOENT, inpu_wait(self->dev, id + 1, WAIT_NS, &res));
	memset(&w, 0, sizeof(w));
	w.job_id = id;
	w.timeout_ns = now_ns() + WAIT_NS;
	w.flags = 2;
	EXPECT_EQ(-EINVAL, xioctl(self->fd, DRM_IOCTL_INPU_WAIT, &w));
	/* Waiting on a BO: an unknown handle, then a BO whose jobs are all
	 * done (returns at once).
	 */
	memset(&w, 0, sizeof(w));
	w.flags = DRM_INPU_WAIT_BO;
	w.handle = 0xdead;
	w.timeout_ns = now_ns() + WAIT_NS;
	EXPECT_EQ(-ENOENT, xioctl(self->fd, DRM_IOCTL_INPU_WAIT, &w));
	w.handle = inpu_bo_handle(self->a);
	EXPECT_EQ(0, xioctl(self->fd, DRM_IOCTL_INPU_WAIT, &w));
	EXPECT_EQ(INPU_OK, w.status);
	ASSERT_EQ(0, inpu_wait(self->dev, id, WAIT_NS, &res));
	EXPECT_EQ(INPU_OK, res.status);
	EXPECT_EQ(1, res.ops_done);
	/* A finished job's result stays readable, even with no time left. */
	memset(&w, 0, sizeof(w));
	w.job_id = id;
	w.timeout_ns = 0;
	EXPECT_EQ(0, xioctl(self->fd, DRM_IOCTL_INPU_WAIT, &w));
	EXPECT_EQ(INPU_OK, w.status);
	EXPECT_EQ(1, w.ops_done);
	/* Job ids are per file: another file does not know this one. */
	ASSERT_EQ(0, open_dev(&dev2, &info2));
	EXPECT_EQ(-ENOENT, inpu_wait(dev2, id, WAIT_NS, &res));
	inpu_dev_close(dev2);
}

/* A data-dependent failure: EMBED with an id past its table. */
TEST_F(job, runtime_index_error)
{
	struct drm_inpu_bo_ref refs[1] = { { inpu_bo_handle(self->a),
					     DRM_INPU_REF_READ | DRM_INPU_REF_WRITE } };
	uint64_t a = inpu_bo_dva(self->a);
	int32_t *ids = inpu_bo_ptr(self->a);
	struct drm_inpu_wait res;
	struct inpu_op *op;
	uint32_t cb;
	struct raw r;

	memset(inpu_bo_ptr(self->a), 0, 65536);
	raw_init(&r);
	raw_add(&r, INPU_OP_NOP);
	op = raw_add(&r, INPU_OP_EMBED);
	op->u.embed.ids = inpu_tensor_2d(a, INPU_DT_INT32, 1, 2);
	op->u.embed.table = inpu_tensor_2d(a + 4096, INPU_DT_INT8, 4, 16);
	op->u.embed.y = inpu_tensor_2d(a + 8192, INPU_DT_INT16, 2, 16);
	op->u.embed.mult = 1;
	ASSERT_EQ(0, inpu_cmdbuf_create(self->dev, &r, raw_len(&r), refs, 1,
					&cb, NULL));
	ids[0] = 3;
	ids[1] = 4;
	ASSERT_EQ(0, run_cmdbuf(self->dev, cb, NULL, 0, &res));
	EXPECT_EQ(INPU_ERR_INDEX, res.status);
	EXPECT_EQ(1, res.ops_done);
	EXPECT_EQ(1, res.fault_op);
	ids[1] = -1;
	ASSERT_EQ(0, run_cmdbuf(self->dev, cb, NULL, 0, &res));
	EXPECT_EQ(INPU_ERR_INDEX, res.status);
	ids[1] = 0;
	ASSERT_EQ(0, run_cmdbuf(self->dev, cb, NULL, 0, &res));
	EXPECT_EQ(INPU_OK, res.status);
	EXPECT_EQ(2, res.ops_done);
}

/* ---- isolation by the device MMU alone ----------------------------------- */

FIXTURE(mmu) {
	struct inpu_dev *a, *b;
	struct drm_inpu_device_info info;
};

FIXTURE_SETUP(mmu)
{
	int ret;

	ret = open_dev(&self->a, &self->info);
	ASSERT_LE(0, ret) TH_LOG("open: %s", strerror(-ret));
	if (ret == 1)
		SKIP(return, "device has no command ring: jobs disabled");
	if (access(SKIP_PARAM, W_OK))
		SKIP(return, "%s not writable (needs root)", SKIP_PARAM);
	ASSERT_EQ(0, write_param("1"));
	ASSERT_EQ('Y', read_param());
	ASSERT_EQ(0, open_dev(&self->b, &self->info));
}

/* In the parent: restores the parameter even if the test crashed. */
FIXTURE_TEARDOWN_PARENT(mmu)
{
	if (!access(SKIP_PARAM, W_OK))
		EXPECT_EQ(0, write_param("0"));
}

static int fault_job(struct inpu_dev *dev, const struct raw *r,
		     const struct drm_inpu_bo_ref *refs, uint32_t n,
		     struct drm_inpu_wait *res, struct drm_inpu_verror *verr)
{
	uint32_t cb;
	int ret;

	ret = inpu_cmdbuf_create(dev, r, raw_len(r), refs, n, &cb, verr);
	if (ret)
		return ret;
	ret = run_cmdbuf(dev, cb, NULL, 0, res);
	inpu_cmdbuf_destroy(dev, cb);
	return ret;
}

static int overlaps(const struct inpu_bo *x, const struct inpu_bo *y)
{
	/* Each BO also owns the guard page after it. */
	uint64_t xs = inpu_bo_dva(x), xe = xs + inpu_bo_size(x) + PAGE;
	uint64_t ys = inpu_bo_dva(y), ye = ys + inpu_bo_size(y) + PAGE;

	return xs < ye && ys < xe;
}

TEST_F(mmu, isolation_without_validation)
{
	struct inpu_bo *a1, *a2, *bout, *bro;
	struct drm_inpu_bo_ref refs[2];
	struct drm_inpu_verror verr;
	struct drm_inpu_wait res;
	uint8_t *p, copy[16384];
	uint64_t a2dva;
	struct raw r;
	int i;

	/* File A: a big BO, then the one B will try to read. */
	ASSERT_EQ(0, inpu_bo_alloc(self->a, 1 << 20, 0, &a1));
	ASSERT_EQ(0, inpu_bo_alloc(self->a, 65536, 0, &a2));
	memset(inpu_bo_ptr(a2), 0x5e, 65536);
	a2dva = inpu_bo_dva(a2);
	/* File B: its own address space, small BOs. */
	ASSERT_EQ(0, inpu_bo_alloc(self->b, 16384, 0, &bout));
	ASSERT_EQ(0, inpu_bo_alloc(self->b, 16384, DRM_INPU_BO_DEVICE_READONLY,
				   &bro));
	ASSERT_FALSE(overlaps(a2, bout));
	ASSERT_FALSE(overlaps(a2, bro));
	memset(inpu_bo_ptr(bout), 0x11, 16384);
	p = inpu_bo_ptr(bro);
	for (i = 0; i < 16384; i++)
		p[i] = (uint8_t)(i * 13);
	memcpy(copy, p, sizeof(copy));

	/* 1. B reads A's DVA: op 0 runs, op 1 faults on the read. */
	raw_init(&r);
	copy_op(raw_add(&r, INPU_OP_COPY), inpu_bo_dva(bro), inpu_bo_dva(bout),
		INPU_DT_INT8, 1, 64);
	copy_op(raw_add(&r, INPU_OP_COPY), a2dva + 128,
		inpu_bo_dva(bout) + 4096, INPU_DT_INT8, 1, 64);
	refs[0] = (struct drm_inpu_bo_ref){ inpu_bo_handle(bout),
					    DRM_INPU_REF_READ | DRM_INPU_REF_WRITE };
	refs[1] = (struct drm_inpu_bo_ref){ inpu_bo_handle(bro), DRM_INPU_REF_READ };
	ASSERT_EQ(0, fault_job(self->b, &r, refs, 2, &res, &verr));
	EXPECT_EQ(INPU_ERR_FAULT, res.status) TH_LOG("status %u (%s)", res.status,
						     inpu_job_status_name(res.status));
	EXPECT_EQ(1, res.ops_done);
	EXPECT_EQ(1, res.fault_op);
	EXPECT_EQ(0, res.fault_write);
	EXPECT_LE(a2dva, res.fault_addr);
	EXPECT_GT(a2dva + PAGE, res.fault_addr);
	EXPECT_EQ(0, memcmp(inpu_bo_ptr(bout), copy, 64));
	p = inpu_bo_ptr(bout);
	for (i = 64; i < 16384; i++)
		if (p[i] != 0x11)
			break;
	EXPECT_EQ(16384, i) TH_LOG("B's output changed at byte %d", i);

	/* 2. B writes its own DEVICE_READONLY BO (listed for reading). */
	raw_copy(&r, inpu_bo_dva(bout), inpu_bo_dva(bro) + 4096 + 8,
		 INPU_DT_INT8, 1, 64);
	refs[0].flags = DRM_INPU_REF_READ;
	ASSERT_EQ(0, fault_job(self->b, &r, refs, 2, &res, &verr));
	EXPECT_EQ(INPU_ERR_FAULT, res.status);
	EXPECT_EQ(0, res.ops_done);
	EXPECT_EQ(0, res.fault_op);
	EXPECT_EQ(1, res.fault_write);
	EXPECT_LE(inpu_bo_dva(bro) + 4096, res.fault_addr);
	EXPECT_GT(inpu_bo_dva(bro) + 2 * PAGE, res.fault_addr);
	EXPECT_EQ(0, memcmp(inpu_bo_ptr(bro), copy, sizeof(copy)));

	/* 3. The unmapped first megabyte, and a guard page. */
	raw_copy(&r, 0x1000, inpu_bo_dva(bout), INPU_DT_INT8, 1, 64);
	refs[0].flags = DRM_INPU_REF_WRITE;
	ASSERT_EQ(0, fault_job(self->b, &r, refs, 2, &res, &verr));
	EXPECT_EQ(INPU_ERR_FAULT, res.status);
	EXPECT_EQ(0, res.fault_write);
	EXPECT_EQ(0x1000, res.fault_addr & ~(PAGE - 1));
	raw_copy(&r, inpu_bo_dva(bro) + 16384 - 32, inpu_bo_dva(bout),
		 INPU_DT_INT8, 1, 64);
	ASSERT_EQ(0, fault_job(self->b, &r, refs, 2, &res, &verr));
	EXPECT_EQ(INPU_ERR_FAULT, res.status);
	EXPECT_EQ(0, res.fault_write);
	EXPECT_LE(inpu_bo_dva(bro) + 16384, res.fault_addr);
	EXPECT_GT(inpu_bo_dva(bro) + 16384 + PAGE, res.fault_addr);

	/* 4. A good job of B still runs. */
	raw_copy(&r, inpu_bo_dva(bro), inpu_bo_dva(bout) + 8192, INPU_DT_INT8,
		 4, 64);
	ASSERT_EQ(0, fault_job(self->b, &r, refs, 2, &res, &verr));
	EXPECT_EQ(INPU_OK, res.status);
	EXPECT_EQ(0, memcmp((uint8_t *)inpu_bo_ptr(bout) + 8192, copy, 256));

	/* A's data is intact and A reads it fine. */
	p = inpu_bo_ptr(a2);
	for (i = 0; i < 65536; i++)
		if (p[i] != 0x5e)
			break;
	EXPECT_EQ(65536, i);
	raw_copy(&r, a2dva, inpu_bo_dva(a1), INPU_DT_INT8, 16, 4096);
	refs[0] = (struct drm_inpu_bo_ref){ inpu_bo_handle(a2), DRM_INPU_REF_READ };
	refs[1] = (struct drm_inpu_bo_ref){ inpu_bo_handle(a1), DRM_INPU_REF_WRITE };
	ASSERT_EQ(0, fault_job(self->a, &r, refs, 2, &res, &verr));
	EXPECT_EQ(INPU_OK, res.status);
	EXPECT_EQ(0x5e, ((uint8_t *)inpu_bo_ptr(a1))[65535]);

	/* With validation back on, the same streams are refused up front. */
	ASSERT_EQ(0, write_param("0"));
	ASSERT_EQ('N', read_param());
	raw_init(&r);
	raw_add(&r, INPU_OP_NOP);
	copy_op(raw_add(&r, INPU_OP_COPY), a2dva + 128, inpu_bo_dva(bout),
		INPU_DT_INT8, 1, 64);
	refs[0] = (struct drm_inpu_bo_ref){ inpu_bo_handle(bout), DRM_INPU_REF_WRITE };
	refs[1] = (struct drm_inpu_bo_ref){ inpu_bo_handle(bro), DRM_INPU_REF_READ };
	EXPECT_EQ(-EINVAL, fault_job(self->b, &r, refs, 2, &res, &verr));
	EXPECT_VERR(verr, INPU_ERR_RANGE, 1, 0);
	raw_copy(&r, inpu_bo_dva(bout), inpu_bo_dva(bro) + 4096, INPU_DT_INT8,
		 1, 64);
	refs[0].flags = DRM_INPU_REF_READ;
	EXPECT_EQ(-EACCES, fault_job(self->b, &r, refs, 2, &res, &verr));
	EXPECT_VERR(verr, INPU_ERR_ACCESS, 0, 1);

	inpu_bo_free(a1);
	inpu_bo_free(a2);
	inpu_bo_free(bout);
	inpu_bo_free(bro);
	inpu_dev_close(self->a);
	inpu_dev_close(self->b);
}

TEST_HARNESS_MAIN
