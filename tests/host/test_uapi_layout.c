// SPDX-License-Identifier: MIT
/*
 * The ioctl structs must have the same layout for every ABI: no implicit
 * padding, 64-bit fields 8-byte aligned, sizes as published.
 */
#include <stddef.h>
#include <stdint.h>

#include <drm/inpu_accel.h>
#include <inpu/inpu_regs.h>

#include "kselftest_harness.h"

#define MEMBER_SIZE(type, m) sizeof(((type *)0)->m)

TEST(query_layout)
{
	EXPECT_EQ(24, sizeof(struct drm_inpu_query));
	EXPECT_EQ(0, offsetof(struct drm_inpu_query, type));
	EXPECT_EQ(4, offsetof(struct drm_inpu_query, size));
	EXPECT_EQ(8, offsetof(struct drm_inpu_query, flags));
	EXPECT_EQ(12, offsetof(struct drm_inpu_query, pad));
	EXPECT_EQ(16, offsetof(struct drm_inpu_query, data));
}

TEST(device_info_layout)
{
	typedef struct drm_inpu_device_info di;
	size_t sum = MEMBER_SIZE(di, identity) + MEMBER_SIZE(di, hw_version) +
		     MEMBER_SIZE(di, capabilities) + MEMBER_SIZE(di, pci_vendor) +
		     MEMBER_SIZE(di, pci_device) + MEMBER_SIZE(di, pci_revision) +
		     MEMBER_SIZE(di, pad0) + MEMBER_SIZE(di, sa_rows) +
		     MEMBER_SIZE(di, sa_cols) + MEMBER_SIZE(di, driver_abi) +
		     MEMBER_SIZE(di, fw_version) + MEMBER_SIZE(di, fw_features);

	/* Every byte belongs to a named field: no hidden padding. */
	EXPECT_EQ(sum, sizeof(di));
	EXPECT_EQ(0, sizeof(di) % 8);
	EXPECT_EQ(0, offsetof(di, capabilities) % 8);
	EXPECT_EQ(0, offsetof(di, fw_features) % 8);
	/* V2 reused V1's trailing pad for fw_version and appended the rest. */
	EXPECT_EQ(DRM_INPU_DEVICE_INFO_SIZE_V1, offsetof(di, fw_features));
	EXPECT_EQ(DRM_INPU_DEVICE_INFO_SIZE_V2, sizeof(di));
	/* The first published version is a prefix of today's struct. */
	EXPECT_LE(DRM_INPU_DEVICE_INFO_SIZE_V1, sizeof(di));
	EXPECT_EQ(40, DRM_INPU_DEVICE_INFO_SIZE_V1);
	EXPECT_LE(sizeof(di), DRM_INPU_QUERY_MAX_SIZE);
}

TEST(ioctl_number)
{
	/* DRM driver ioctls live at DRM_COMMAND_BASE..0x9f, direction RW. */
	EXPECT_EQ(DRM_COMMAND_BASE + DRM_INPU_QUERY,
		  _IOC_NR(DRM_IOCTL_INPU_QUERY));
	EXPECT_EQ(DRM_IOCTL_BASE, _IOC_TYPE(DRM_IOCTL_INPU_QUERY));
	EXPECT_EQ(sizeof(struct drm_inpu_query),
		  _IOC_SIZE(DRM_IOCTL_INPU_QUERY));
	EXPECT_EQ(_IOC_READ | _IOC_WRITE, _IOC_DIR(DRM_IOCTL_INPU_QUERY));
}

TEST(register_map)
{
	/* "INPU" in memory order, as the ID register is little-endian. */
	const char id[4] = { 'I', 'N', 'P', 'U' };
	uint32_t v = 0;
	int i;

	for (i = 3; i >= 0; i--)
		v = v << 8 | (uint8_t)id[i];
	EXPECT_EQ(INPU_ID_MAGIC, v);
	EXPECT_EQ(0x0102, INPU_HW_VERSION(0, 1, 2));
	EXPECT_EQ(7, INPU_HW_VERSION_MAJOR(INPU_HW_VERSION(7, 8, 9)));
	EXPECT_EQ(8, INPU_HW_VERSION_MINOR(INPU_HW_VERSION(7, 8, 9)));
	EXPECT_EQ(9, INPU_HW_VERSION_PATCH(INPU_HW_VERSION(7, 8, 9)));
	/* Capability bits mean the same in the register and the ioctl. */
	EXPECT_EQ(INPU_CAP_MSIX, DRM_INPU_CAP_MSIX);
	EXPECT_EQ(INPU_CAP_RESET, DRM_INPU_CAP_RESET);
	EXPECT_EQ(INPU_CAP_FW_BOOT, DRM_INPU_CAP_FW_BOOT);
	EXPECT_LT(INPU_REG_IRQ_RAISE, INPU_BAR0_SIZE);
}

TEST_HARNESS_MAIN
