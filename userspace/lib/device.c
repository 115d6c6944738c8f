// SPDX-License-Identifier: MIT
/*
 * Finding, opening and querying INPU devices.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xf86drm.h>

#include "libinpu.h"

struct inpu_dev {
	int fd;
	char *path;
};

/* Returns 0 if @fd is driven by inpu, -ENOTTY / -ENODEV / -ENOMEM if not. */
static int check_driver(int fd)
{
	drmVersionPtr ver;
	int ret;

	errno = 0;
	ver = drmGetVersion(fd);
	if (!ver)
		return errno == ENOMEM ? -ENOMEM : -ENOTTY;
	ret = strcmp(ver->name, "inpu") ? -ENODEV : 0;
	drmFreeVersion(ver);
	return ret;
}

static int open_one(const char *path, struct inpu_dev **out)
{
	struct inpu_dev *dev;
	int fd, ret;

	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = check_driver(fd);
	if (ret)
		goto err_close;

	dev = calloc(1, sizeof(*dev));
	if (!dev) {
		ret = -ENOMEM;
		goto err_close;
	}
	dev->path = strdup(path);
	if (!dev->path) {
		free(dev);
		ret = -ENOMEM;
		goto err_close;
	}
	dev->fd = fd;
	*out = dev;
	return 0;

err_close:
	close(fd);
	return ret;
}

int inpu_dev_open(const char *path, struct inpu_dev **out)
{
	char node[64];
	int i, ret;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (path)
		return open_one(path, out);

	for (i = 0; i < INPU_ACCEL_MAX_MINORS; i++) {
		snprintf(node, sizeof(node), INPU_ACCEL_DIR "/accel%d", i);
		ret = open_one(node, out);
		/* Another driver's node, or a gap in the numbering: go on. */
		if (ret == -ENODEV || ret == -ENOENT || ret == -ENOTTY)
			continue;
		return ret;
	}
	return -ENOENT;
}

void inpu_dev_close(struct inpu_dev *dev)
{
	if (!dev)
		return;
	close(dev->fd);
	free(dev->path);
	free(dev);
}

int inpu_dev_fd(const struct inpu_dev *dev)
{
	return dev ? dev->fd : -1;
}

const char *inpu_dev_path(const struct inpu_dev *dev)
{
	return dev ? dev->path : NULL;
}

int inpu_query_device_info(struct inpu_dev *dev,
			   struct drm_inpu_device_info *info)
{
	struct drm_inpu_query q;

	if (!dev || !info)
		return -EINVAL;
	memset(info, 0, sizeof(*info));
	memset(&q, 0, sizeof(q));
	q.type = DRM_INPU_QUERY_DEVICE_INFO;
	q.size = sizeof(*info);
	q.data = (uintptr_t)info;
	if (drmIoctl(dev->fd, DRM_IOCTL_INPU_QUERY, &q))
		return -errno;
	/* An older driver fills less; the rest stays zero. */
	return 0;
}

static const char *const cap_names[64] = {
	[0] = "msix",
	[1] = "reset",
	[2] = "fw-boot",
	[3] = "ring",
};

int inpu_format_caps(uint64_t caps, char *buf, size_t len)
{
	uint64_t unknown = 0;
	size_t used = 0;
	int i, n;

	if (!buf && len)
		return -EINVAL;
	if (len)
		buf[0] = '\0';

	for (i = 0; i < 64; i++) {
		if (!(caps & (1ull << i)))
			continue;
		if (!cap_names[i]) {
			unknown |= 1ull << i;
			continue;
		}
		n = snprintf(used < len ? buf + used : NULL,
			     used < len ? len - used : 0,
			     "%s%s", used ? " " : "", cap_names[i]);
		used += (size_t)n;
	}
	if (unknown) {
		n = snprintf(used < len ? buf + used : NULL,
			     used < len ? len - used : 0,
			     "%s0x%llx", used ? " " : "",
			     (unsigned long long)unknown);
		used += (size_t)n;
	}
	return (int)used;
}

const char *inpu_strerror(int err)
{
	switch (err) {
	case -ENOENT:
		return "no such device (is inpu.ko loaded?)";
	case -ENOTTY:
		return "not a DRM device";
	case -ENODEV:
		return "not an INPU device, or the device is gone";
	default:
		return strerror(err < 0 ? -err : err);
	}
}
