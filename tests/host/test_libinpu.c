// SPDX-License-Identifier: MIT
/*
 * libinpu without a device: error paths and formatting.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "libinpu.h"
#include "kselftest_harness.h"

TEST(open_missing_node)
{
	struct inpu_dev *dev = (struct inpu_dev *)1;

	EXPECT_EQ(-ENOENT, inpu_dev_open("/nonexistent/accel0", &dev));
	EXPECT_EQ(NULL, dev);
}

TEST(open_non_drm_file)
{
	struct inpu_dev *dev = NULL;

	/* A character device that is not DRM: the version ioctl fails. */
	EXPECT_EQ(-ENOTTY, inpu_dev_open("/dev/null", &dev));
	EXPECT_EQ(NULL, dev);
}

TEST(open_null_out)
{
	EXPECT_EQ(-EINVAL, inpu_dev_open("/dev/null", NULL));
}

TEST(query_null_args)
{
	struct drm_inpu_device_info info;

	EXPECT_EQ(-EINVAL, inpu_query_device_info(NULL, &info));
}

TEST(close_null)
{
	inpu_dev_close(NULL);
	EXPECT_EQ(-1, inpu_dev_fd(NULL));
	EXPECT_EQ(NULL, inpu_dev_path(NULL));
}

TEST(format_caps_known)
{
	char buf[64];

	EXPECT_EQ(10, inpu_format_caps(DRM_INPU_CAP_MSIX | DRM_INPU_CAP_RESET,
				       buf, sizeof(buf)));
	EXPECT_STREQ("msix reset", buf);
	EXPECT_EQ(0, inpu_format_caps(0, buf, sizeof(buf)));
	EXPECT_STREQ("", buf);
}

TEST(format_caps_unknown_bits)
{
	char buf[64];

	inpu_format_caps(DRM_INPU_CAP_MSIX | (1ull << 63) | (1ull << 40), buf,
			 sizeof(buf));
	EXPECT_STREQ("msix 0x8000010000000000", buf);
}

TEST(format_caps_truncates_like_snprintf)
{
	char buf[6];
	int need;

	memset(buf, 'x', sizeof(buf));
	need = inpu_format_caps(DRM_INPU_CAP_MSIX | DRM_INPU_CAP_RESET, buf,
				sizeof(buf));
	EXPECT_EQ(10, need);
	EXPECT_STREQ("msix ", buf);
	EXPECT_EQ(10, inpu_format_caps(DRM_INPU_CAP_MSIX | DRM_INPU_CAP_RESET,
				       NULL, 0));
	EXPECT_EQ(-EINVAL, inpu_format_caps(1, NULL, 4));
}

TEST(strerror_explains)
{
	EXPECT_NE(NULL, strstr(inpu_strerror(-ENOENT), "inpu.ko"));
	EXPECT_NE(NULL, strstr(inpu_strerror(-ENODEV), "INPU"));
	EXPECT_STREQ(strerror(EACCES), inpu_strerror(-EACCES));
}

TEST_HARNESS_MAIN
