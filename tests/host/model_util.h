/* SPDX-License-Identifier: MIT */
/*
 * Test helpers for the tests of userspace/runtime, reference and quantizer:
 * where the shared model and data files are, and small file utilities.
 * Header-only, for host tests.
 *
 * The shared files live outside the repository, in ../shared relative to
 * its root.  The root is found from the test binary's own path
 * (build/host-tests/NAME), so the tests work from any directory; the
 * environment variable INPU_SHARED overrides the shared folder.  Missing
 * files are test failures with a message saying where they were looked
 * for, never silent skips.
 */
#ifndef INPU_MODEL_TEST_UTIL_H
#define INPU_MODEL_TEST_UTIL_H

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tokenizer.h"

#define SHARED_MODEL	"models/stories260K.bin"
#define SHARED_TOK	"models/tok512.bin"
#define SHARED_DEV	"data/tinystories-dev.txt"

/* The greedy text of ../shared/models/README.md (its start). */
#define README_GREEDY \
	"Once upon a time, there was a little girl named Lily. She loved to play outside in the park."

/* The repository root: three levels above build/host-tests/NAME. */
static inline int repo_root(char *buf, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0)
		return -1;
	exe[n] = '\0';
	for (int i = 0; i < 3; i++) {
		char *slash = strrchr(exe, '/');

		if (!slash)
			return -1;
		*slash = '\0';
	}
	if ((size_t)snprintf(buf, len, "%s", exe) >= len)	/* "" for / */
		return -1;
	return 0;
}

/*
 * The path of @rel (e.g. SHARED_MODEL) under the shared folder, in @buf.
 * Returns 0 if the file is readable, -1 otherwise, with @buf holding the
 * path that was tried.
 */
static inline int shared_path(const char *rel, char *buf, size_t len)
{
	const char *env = getenv("INPU_SHARED");
	char root[PATH_MAX];

	int n;

	if (env && *env) {
		n = snprintf(buf, len, "%s/%s", env, rel);
	} else {
		if (repo_root(root, sizeof(root))) {
			snprintf(buf, len, "(cannot resolve /proc/self/exe)/%s", rel);
			return -1;
		}
		n = snprintf(buf, len, "%s/%s/%s", root, "../shared", rel);
	}
	if (n < 0 || (size_t)n >= len)
		return -1;
	return access(buf, R_OK) ? -1 : 0;
}

#define SHARED_HINT "missing shared file %s: the tests need ../shared next to the " \
	"repository (or INPU_SHARED set to the folder with models/ and data/)"

/* Write @len bytes to a fresh temporary file; its path goes in @path. */
static inline int write_temp(char path[64], const void *buf, size_t len)
{
	FILE *f;
	int fd;

	strcpy(path, "/tmp/inpu-model-test.XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	f = fdopen(fd, "wb");
	if (!f) {
		close(fd);
		unlink(path);
		return -1;
	}
	if ((len && fwrite(buf, 1, len, f) != len) | fclose(f)) {
		unlink(path);
		return -1;
	}
	return 0;
}

/*
 * A valid llama2.c tokenizer file made of the first @n tokens of @t (for
 * vocabulary mismatch cases).  malloc'ed; *len set.
 */
static inline char *tokenizer_prefix_file(const struct inpu_tokenizer *t,
					  int n, size_t *len)
{
	size_t cap = 4, off = 0;
	char *b;
	int32_t max = 0;

	for (int i = 0; i < n; i++)
		cap += 8 + strlen(inpu_tokenizer_token(t, i));
	b = malloc(cap);
	if (!b)
		return NULL;
	for (int i = 0; i < n; i++)
		if ((int32_t)strlen(inpu_tokenizer_token(t, i)) > max)
			max = (int32_t)strlen(inpu_tokenizer_token(t, i));
	memcpy(b, &max, 4);
	off = 4;
	for (int i = 0; i < n; i++) {
		const char *s = inpu_tokenizer_token(t, i);
		float score = inpu_tokenizer_score(t, i);
		int32_t l = (int32_t)strlen(s);

		memcpy(b + off, &score, 4);
		memcpy(b + off + 4, &l, 4);
		memcpy(b + off + 8, s, (size_t)l);
		off += 8 + (size_t)l;
	}
	*len = off;
	return b;
}

#endif /* INPU_MODEL_TEST_UTIL_H */
