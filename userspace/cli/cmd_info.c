// SPDX-License-Identifier: MIT
/*
 * inpu info: the identity, version and capabilities of an INPU device
 * (DRM_IOCTL_INPU_QUERY through libinpu).
 */
#include <getopt.h>
#include <stdio.h>

#include <inpu/inpu_regs.h>

#include "libinpu.h"
#include "cli.h"

static void info_usage(FILE *f)
{
	fprintf(f,
		"usage: %s info [-d DEVICE] [--json]\n"
		"\n"
		"Query an INPU device through DRM_IOCTL_INPU_QUERY.\n"
		"\n"
		"options:\n"
		"  -d, --device PATH   accel node to use (default: the first INPU device\n"
		"                      under " INPU_ACCEL_DIR ")\n"
		"  -j, --json          print one JSON object instead of text\n"
		"  -h, --help          show this help\n",
		prog);
}

int cmd_info(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct drm_inpu_device_info info;
	const char *path = NULL;
	struct inpu_dev *dev;
	char caps[256];
	int json = 0, c, ret;

	optind = 1;
	while ((c = getopt_long(argc, argv, "d:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			path = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			info_usage(stdout);
			return 0;
		default:
			info_usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s info: unexpected argument '%s'\n", prog,
			argv[optind]);
		return 2;
	}

	ret = inpu_dev_open(path, &dev);
	if (ret) {
		fprintf(stderr, "%s info: %s: %s\n", prog,
			path ? path : INPU_ACCEL_DIR, inpu_strerror(ret));
		return 1;
	}
	ret = inpu_query_device_info(dev, &info);
	if (ret) {
		fprintf(stderr, "%s info: %s: query failed: %s\n", prog,
			inpu_dev_path(dev), inpu_strerror(ret));
		inpu_dev_close(dev);
		return 1;
	}
	inpu_format_caps(info.capabilities, caps, sizeof(caps));

	if (json) {
		printf("{\"device\":\"%s\",\"identity\":\"0x%08x\","
		       "\"hw_version\":\"%u.%u.%u\",\"capabilities\":\"0x%llx\","
		       "\"pci_id\":\"%04x:%04x\",\"pci_revision\":%u,"
		       "\"sa_rows\":%u,\"sa_cols\":%u,\"driver_abi\":%u,"
		       "\"fw_version\":\"%u.%u.%u\",\"fw_features\":\"0x%llx\"}\n",
		       inpu_dev_path(dev), info.identity,
		       INPU_HW_VERSION_MAJOR(info.hw_version),
		       INPU_HW_VERSION_MINOR(info.hw_version),
		       INPU_HW_VERSION_PATCH(info.hw_version),
		       (unsigned long long)info.capabilities, info.pci_vendor,
		       info.pci_device, info.pci_revision, info.sa_rows,
		       info.sa_cols, info.driver_abi,
		       INPU_HW_VERSION_MAJOR(info.fw_version),
		       INPU_HW_VERSION_MINOR(info.fw_version),
		       INPU_HW_VERSION_PATCH(info.fw_version),
		       (unsigned long long)info.fw_features);
	} else {
		printf("device:         %s\n", inpu_dev_path(dev));
		printf("identity:       0x%08x\n", info.identity);
		printf("hw version:     %u.%u.%u\n",
		       INPU_HW_VERSION_MAJOR(info.hw_version),
		       INPU_HW_VERSION_MINOR(info.hw_version),
		       INPU_HW_VERSION_PATCH(info.hw_version));
		printf("capabilities:   0x%llx (%s)\n",
		       (unsigned long long)info.capabilities, caps);
		printf("pci id:         %04x:%04x rev %02x\n", info.pci_vendor,
		       info.pci_device, info.pci_revision);
		printf("systolic array: %u x %u\n", info.sa_rows, info.sa_cols);
		printf("driver abi:     %u\n", info.driver_abi);
		printf("firmware:       %u.%u.%u (features 0x%llx)\n",
		       INPU_HW_VERSION_MAJOR(info.fw_version),
		       INPU_HW_VERSION_MINOR(info.fw_version),
		       INPU_HW_VERSION_PATCH(info.fw_version),
		       (unsigned long long)info.fw_features);
	}
	inpu_dev_close(dev);
	return 0;
}
