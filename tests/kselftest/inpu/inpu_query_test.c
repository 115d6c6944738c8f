// SPDX-License-Identifier: GPL-2.0-only
/*
 * kselftests for the inpu accel driver: device node, DRM version and
 * DRM_IOCTL_INPU_QUERY, checked against the device's own registers read
 * through the PCI resource file in sysfs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <xf86drm.h>
#include <drm/inpu_accel.h>
#include <inpu/inpu_regs.h>

#include "kselftest_harness.h"

#define ACCEL_MAJOR 261

/* Finds the first accel node driven by inpu; returns its minor or -1. */
static int find_inpu_minor(void)
{
	char path[64];
	int i, fd;

	for (i = 0; i < 64; i++) {
		drmVersionPtr v;

		snprintf(path, sizeof(path), "/dev/accel/accel%d", i);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		v = drmGetVersion(fd);
		close(fd);
		if (v && !strcmp(v->name, "inpu")) {
			drmFreeVersion(v);
			return i;
		}
		drmFreeVersion(v);
	}
	return -1;
}

FIXTURE(inpu) {
	int fd;
	int minor;
	char node[64];
};

FIXTURE_SETUP(inpu)
{
	self->minor = find_inpu_minor();
	ASSERT_GE(self->minor, 0) TH_LOG("no /dev/accel/accelN driven by inpu");
	snprintf(self->node, sizeof(self->node), "/dev/accel/accel%d",
		 self->minor);
	self->fd = open(self->node, O_RDWR | O_CLOEXEC);
	ASSERT_GE(self->fd, 0) TH_LOG("open %s: %s", self->node, strerror(errno));
}

FIXTURE_TEARDOWN(inpu)
{
	if (self->fd >= 0)
		close(self->fd);
}

static int query(int fd, struct drm_inpu_query *q)
{
	return drmIoctl(fd, DRM_IOCTL_INPU_QUERY, q) ? -errno : 0;
}

static void query_args(struct drm_inpu_query *q, void *buf, uint32_t size)
{
	memset(q, 0, sizeof(*q));
	q->type = DRM_INPU_QUERY_DEVICE_INFO;
	q->size = size;
	q->data = (uintptr_t)buf;
}

TEST_F(inpu, device_node)
{
	struct stat st;

	ASSERT_EQ(0, stat(self->node, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(ACCEL_MAJOR, major(st.st_rdev));
	EXPECT_EQ(self->minor, (int)minor(st.st_rdev));
}

TEST_F(inpu, drm_version)
{
	drmVersionPtr v = drmGetVersion(self->fd);

	ASSERT_NE(NULL, v);
	EXPECT_STREQ("inpu", v->name);
	EXPECT_EQ(0, v->version_major);
	EXPECT_EQ(DRM_INPU_ABI_VERSION, v->version_minor);
	EXPECT_NE(0, v->desc_len);
	drmFreeVersion(v);
}

/*
 * The registers, read straight from BAR0, are the ground truth.  The
 * kernel (IO_STRICT_DEVMEM) refuses to map a BAR that a driver has
 * claimed, so read them with the driver unbound, then bind it again.
 */
static int read_bar0(const char *pci_dir, const char *bdf, uint32_t *regs,
		     size_t n)
{
	char path[600];
	volatile uint32_t *bar;
	int fd, ret = -1;
	size_t i;
	FILE *f;

	f = fopen("/sys/bus/pci/drivers/inpu/unbind", "w");
	if (!f || fputs(bdf, f) < 0 || fclose(f))
		return -1;

	snprintf(path, sizeof(path), "%s/resource0", pci_dir);
	fd = open(path, O_RDWR | O_SYNC);
	if (fd >= 0) {
		bar = mmap(NULL, INPU_BAR0_SIZE, PROT_READ, MAP_SHARED, fd, 0);
		if (bar != MAP_FAILED) {
			for (i = 0; i < n; i++)
				regs[i] = bar[i];
			munmap((void *)bar, INPU_BAR0_SIZE);
			ret = 0;
		}
		close(fd);
	}

	f = fopen("/sys/bus/pci/drivers/inpu/bind", "w");
	if (!f || fputs(bdf, f) < 0 || fclose(f))
		return -1;
	return ret;
}

static unsigned int read_hex(const char *dir, const char *name)
{
	char path[600];
	unsigned int v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fscanf(f, "%x", &v) != 1)
		v = 0;
	fclose(f);
	return v;
}

static void read_line(const char *dir, const char *name, char *buf, size_t len)
{
	char path[600];
	FILE *f;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (!f)
		return;
	if (!fgets(buf, (int)len, f))
		buf[0] = '\0';
	fclose(f);
}

TEST_F(inpu, query_matches_registers)
{
	uint32_t regs[INPU_REG_FW_FEATURES_HI / 4 + 1];
	struct drm_inpu_device_info info;
	struct drm_inpu_query q;
	char link[256], dir[512], want[32], got[32];
	const char *bdf;
	ssize_t len;
	uint64_t caps;
	uint32_t geom;

	query_args(&q, &info, sizeof(info));
	ASSERT_EQ(0, query(self->fd, &q));
	EXPECT_EQ(sizeof(info), q.size);
	close(self->fd);
	self->fd = -1;

	snprintf(dir, sizeof(dir), "/sys/class/accel/accel%d/device",
		 self->minor);
	len = readlink(dir, link, sizeof(link) - 1);
	ASSERT_GT(len, 0);
	link[len] = '\0';
	bdf = strrchr(link, '/') ? strrchr(link, '/') + 1 : link;
	snprintf(dir, sizeof(dir), "/sys/bus/pci/devices/%s", bdf);

	EXPECT_EQ(INPU_PCI_VENDOR_ID, read_hex(dir, "vendor"));
	EXPECT_EQ(INPU_PCI_DEVICE_ID, read_hex(dir, "device"));
	EXPECT_EQ(read_hex(dir, "vendor"), info.pci_vendor);
	EXPECT_EQ(read_hex(dir, "device"), info.pci_device);
	EXPECT_EQ(read_hex(dir, "revision"), info.pci_revision);
	EXPECT_EQ(INPU_PCI_CLASS << 8, read_hex(dir, "class"));
	snprintf(want, sizeof(want), "%u.%u.%u\n",
		 INPU_HW_VERSION_MAJOR(info.fw_version),
		 INPU_HW_VERSION_MINOR(info.fw_version),
		 INPU_HW_VERSION_PATCH(info.fw_version));
	read_line(dir, "fw_version", got, sizeof(got));
	EXPECT_STREQ(want, got);

	ASSERT_EQ(0, read_bar0(dir, bdf, regs, sizeof(regs) / 4))
		TH_LOG("cannot read BAR0 of %s: %s", bdf, strerror(errno));

	EXPECT_EQ(INPU_ID_MAGIC, regs[INPU_REG_ID / 4]);
	EXPECT_EQ(regs[INPU_REG_ID / 4], info.identity);
	EXPECT_EQ(regs[INPU_REG_HW_VERSION / 4], info.hw_version);
	caps = regs[INPU_REG_CAPS_LO / 4] |
	       (uint64_t)regs[INPU_REG_CAPS_HI / 4] << 32;
	EXPECT_EQ(caps, info.capabilities);
	EXPECT_TRUE(info.capabilities & DRM_INPU_CAP_MSIX);
	geom = regs[INPU_REG_SA_GEOM / 4];
	EXPECT_EQ(INPU_SA_GEOM_ROWS(geom), info.sa_rows);
	EXPECT_EQ(INPU_SA_GEOM_COLS(geom), info.sa_cols);
	EXPECT_NE(0, info.sa_rows);
	EXPECT_NE(0, info.sa_cols);
	EXPECT_EQ(DRM_INPU_ABI_VERSION, info.driver_abi);
	/* The driver booted firmware; the device reports what it loaded. */
	EXPECT_TRUE(info.capabilities & DRM_INPU_CAP_FW_BOOT);
	EXPECT_EQ(INPU_FW_STATUS_OK, regs[INPU_REG_FW_STATUS / 4]);
	EXPECT_EQ(regs[INPU_REG_FW_VERSION / 4], info.fw_version);
	EXPECT_NE(0, info.fw_version);
	EXPECT_EQ(regs[INPU_REG_FW_FEATURES_LO / 4] |
		  (uint64_t)regs[INPU_REG_FW_FEATURES_HI / 4] << 32,
		  info.fw_features);

	/* The driver came back: a node for it exists again. */
	EXPECT_LE(0, find_inpu_minor());
}

TEST_F(inpu, query_size_discovery)
{
	struct drm_inpu_query q;

	query_args(&q, NULL, 0);
	ASSERT_EQ(0, query(self->fd, &q));
	EXPECT_EQ(sizeof(struct drm_inpu_device_info), q.size);
}

TEST_F(inpu, query_rejects_bad_size)
{
	struct drm_inpu_device_info info;
	static uint8_t big[DRM_INPU_QUERY_MAX_SIZE + 8];
	struct drm_inpu_query q;

	query_args(&q, &info, DRM_INPU_DEVICE_INFO_SIZE_V1 - 1);
	EXPECT_EQ(-EINVAL, query(self->fd, &q));
	query_args(&q, &info, 1);
	EXPECT_EQ(-EINVAL, query(self->fd, &q));
	query_args(&q, big, DRM_INPU_QUERY_MAX_SIZE + 1);
	EXPECT_EQ(-EINVAL, query(self->fd, &q));
}

TEST_F(inpu, query_rejects_unknown_flags_and_type)
{
	struct drm_inpu_device_info info;
	struct drm_inpu_query q;
	unsigned int bit;

	for (bit = 0; bit < 32; bit++) {
		query_args(&q, &info, sizeof(info));
		q.flags = 1u << bit;
		EXPECT_EQ(-EINVAL, query(self->fd, &q)) TH_LOG("flag bit %u", bit);
	}
	query_args(&q, &info, sizeof(info));
	q.pad = 1;
	EXPECT_EQ(-EINVAL, query(self->fd, &q));
	query_args(&q, &info, sizeof(info));
	q.type = 0x7fffffff;
	EXPECT_EQ(-EINVAL, query(self->fd, &q));
}

TEST_F(inpu, query_bad_pointer)
{
	struct drm_inpu_query q;

	query_args(&q, NULL, sizeof(struct drm_inpu_device_info));
	EXPECT_EQ(-EFAULT, query(self->fd, &q));
	query_args(&q, (void *)(uintptr_t)0xffffffffffff0000ull,
		   sizeof(struct drm_inpu_device_info));
	EXPECT_EQ(-EFAULT, query(self->fd, &q));
}

/* A caller from the future: its larger struct gets zeros past our end. */
TEST_F(inpu, query_larger_buffer_zero_filled)
{
	uint8_t buf[256];
	struct drm_inpu_query q;
	size_t i, ksize = sizeof(struct drm_inpu_device_info);

	memset(buf, 0xa5, sizeof(buf));
	query_args(&q, buf, sizeof(buf));
	ASSERT_EQ(0, query(self->fd, &q));
	EXPECT_EQ(ksize, q.size);
	for (i = ksize; i < sizeof(buf); i++)
		ASSERT_EQ(0, buf[i]) TH_LOG("byte %zu not cleared", i);
	EXPECT_EQ(INPU_ID_MAGIC, ((struct drm_inpu_device_info *)buf)->identity);
}

/* A caller from the past: only the V1 prefix is written. */
TEST_F(inpu, query_v1_buffer)
{
	uint8_t buf[DRM_INPU_DEVICE_INFO_SIZE_V1 + 16];
	struct drm_inpu_query q;
	size_t i;

	memset(buf, 0xa5, sizeof(buf));
	query_args(&q, buf, DRM_INPU_DEVICE_INFO_SIZE_V1);
	ASSERT_EQ(0, query(self->fd, &q));
	EXPECT_EQ(DRM_INPU_DEVICE_INFO_SIZE_V1, q.size);
	for (i = DRM_INPU_DEVICE_INFO_SIZE_V1; i < sizeof(buf); i++)
		ASSERT_EQ(0xa5, buf[i]) TH_LOG("byte %zu written past size", i);
}

TEST_HARNESS_MAIN
