/* SPDX-License-Identifier: MIT */
/*
 * Shared by the fuzz targets: CHECK() states a property every accepted
 * input must have; when one does not, it says which and aborts, so
 * libFuzzer keeps the input as a crash artifact.
 */
#ifndef INPU_FUZZ_UTIL_H
#define INPU_FUZZ_UTIL_H

#include <stdio.h>
#include <stdlib.h>

#define CHECK(c) do { \
		if (!(c)) { \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, \
				__LINE__, #c); \
			abort(); \
		} \
	} while (0)

#endif /* INPU_FUZZ_UTIL_H */
