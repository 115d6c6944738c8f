/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the reliability, hostile-client and soak tests share: debugfs
 * counters and knobs of inpu.ko and of the device's fault injection,
 * module parameters, and a job with a known answer (a matmul with POS
 * positions, each computed from ISA.md's formula by mm_naive).
 */
#ifndef INPU_REL_UTIL_H
#define INPU_REL_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <drm/inpu_accel.h>
#include <inpu/inpu_isa.h>

#include "inpu_job_util.h"

#define PARAMS "/sys/module/inpu/parameters/"
#define POS 32
#define LONG_WAIT_NS (60 * SEC_NS)

/* ---- debugfs and module parameters ------------------------------------- */

static inline int dbg_path(char *buf, size_t len, const char *file)
{
	const char *root = "/sys/kernel/debug/accel";
	struct dirent *e;
	DIR *d = opendir(root);
	int ret = -ENOENT;

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (snprintf(buf, len, "%s/%.64s/%s", root, e->d_name, file) >=
		    (int)len)
			continue;
		if (!access(buf, F_OK)) {
			ret = 0;
			break;
		}
	}
	closedir(d);
	return ret;
}

static inline int write_file(const char *path, const char *val)
{
	FILE *f = fopen(path, "w");
	int ret = 0;

	if (!f)
		return -errno;
	if (fputs(val, f) < 0)
		ret = -EIO;
	if (fclose(f))
		ret = -errno;
	return ret;
}

/* A line "NAME VALUE" of debugfs reliability; -1 if missing. */
static inline long long counter(const char *name)
{
	char path[256], line[128];
	size_t n = strlen(name);
	long long v = -1;
	FILE *f;

	if (dbg_path(path, sizeof(path), "reliability"))
		return -1;
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, name, n) && line[n] == ' ')
			v = strtoll(line + n + 1, NULL, 10);
	fclose(f);
	return v;
}

/* The PCI device's sysfs "recoveries" attribute; -1 if missing. */
static inline long long sysfs_recoveries(void)
{
	FILE *f = fopen("/sys/class/accel/accel0/device/recoveries", "r");
	long long v = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%lld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

static inline int fault_inject(unsigned int kinds, unsigned int period,
			unsigned int count, unsigned int slow_ms)
{
	char path[256], val[64];
	int ret = dbg_path(path, sizeof(path), "fault_inject");

	if (ret)
		return ret;
	snprintf(val, sizeof(val), "%u %u %u %u", kinds, period, count,
		 slow_ms);
	return write_file(path, val);
}

static inline int force_recovery(void)
{
	char path[256];
	int ret = dbg_path(path, sizeof(path), "force_recovery");

	return ret ? ret : write_file(path, "1");
}

static inline long param(const char *name)
{
	char path[128], buf[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), PARAMS "%s", name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	return buf[0] == 'Y' ? 1 : buf[0] == 'N' ? 0 : strtol(buf, NULL, 10);
}

static inline int set_param(const char *name, const char *val)
{
	char path[128];

	snprintf(path, sizeof(path), PARAMS "%s", name);
	return write_file(path, val);
}

/* ---- a job with a known answer ----------------------------------------- */

struct work {
	struct inpu_dev *dev;
	struct inpu_bo *in, *out;
	struct mm mm;
	uint32_t cb;
	uint8_t *want;		/* out_size: every position's y */
};

static inline int work_init(struct work *w, struct inpu_dev *dev, uint64_t seed)
{
	struct drm_inpu_bo_ref refs[2];
	struct inpu_stream *st;
	struct inpu_op op;
	const void *data;
	size_t len;
	uint32_t p;
	int ret;

	memset(w, 0, sizeof(*w));
	w->dev = dev;
	ret = mm_init(&w->mm, 1, 128, 64, POS, INPU_DT_W8_TILED, INPU_DT_INT8,
		      1, seed);
	if (ret)
		return ret;
	ret = inpu_bo_alloc(dev, w->mm.in_size, DRM_INPU_BO_DEVICE_READONLY,
			    &w->in);
	if (!ret)
		ret = inpu_bo_alloc(dev, w->mm.out_size, 0, &w->out);
	if (ret)
		return ret;
	mm_fill(&w->mm, inpu_bo_ptr(w->in));
	w->want = malloc(w->mm.out_size);
	if (!w->want)
		return -ENOMEM;
	for (p = 0; p < POS; p++)
		mm_naive(&w->mm, p, w->want + p * w->mm.y_bytes);

	mm_op(&w->mm, inpu_bo_dva(w->in), inpu_bo_dva(w->out), 1, &op);
	st = inpu_stream_new();
	if (!st)
		return -ENOMEM;
	ret = inpu_stream_param(st, 0, POS - 1);
	if (ret >= 0)
		ret = inpu_stream_add(st, &op);
	if (ret >= 0) {
		data = inpu_stream_data(st, &len);
		refs[0].handle = inpu_bo_handle(w->in);
		refs[0].flags = DRM_INPU_REF_READ;
		refs[1].handle = inpu_bo_handle(w->out);
		refs[1].flags = DRM_INPU_REF_WRITE;
		ret = inpu_cmdbuf_create(dev, data, len, refs, 2, &w->cb, NULL);
	}
	inpu_stream_free(st);
	return ret < 0 ? ret : 0;
}

static inline void work_fini(struct work *w)
{
	if (w->cb)
		inpu_cmdbuf_destroy(w->dev, w->cb);
	inpu_bo_free(w->in);
	inpu_bo_free(w->out);
	free(w->want);
	mm_free(&w->mm);
	memset(w, 0, sizeof(*w));
}

static inline int work_submit(struct work *w, uint32_t p, uint64_t *id)
{
	memset((uint8_t *)inpu_bo_ptr(w->out) + p * w->mm.y_bytes, 0x5a,
	       w->mm.y_bytes);
	return inpu_submit_cmdbuf(w->dev, w->cb, &p, 1, NULL, 0, 0, id);
}

static inline int work_ok(const struct work *w, uint32_t p)
{
	return !memcmp((uint8_t *)inpu_bo_ptr(w->out) + p * w->mm.y_bytes,
		       w->want + p * w->mm.y_bytes, w->mm.y_bytes);
}

/* One job at position @p: its status, or -errno. */
static inline int work_run(struct work *w, uint32_t p, struct drm_inpu_wait *res)
{
	uint64_t id;
	int ret = work_submit(w, p, &id);

	if (ret)
		return ret;
	ret = inpu_wait(w->dev, id, LONG_WAIT_NS, res);
	return ret ? ret : (int)res->status;
}

#endif /* INPU_REL_UTIL_H */
