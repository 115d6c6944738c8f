// SPDX-License-Identifier: MIT
/*
 * Whole-file reads for the model, tokenizer and text files (all small).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"
#include "util.h"

void inpu_model_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int inpu_read_file(const char *path, char **buf, size_t *len, char *err,
		   size_t errlen)
{
	struct stat st;
	size_t size, got = 0;
	char *p;
	int fd, ret;

	*buf = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		inpu_model_seterr(err, errlen, "%s: %s", path, strerror(-ret));
		return ret;
	}
	if (fstat(fd, &st)) {
		ret = -errno;
		inpu_model_seterr(err, errlen, "%s: %s", path, strerror(-ret));
		close(fd);
		return ret;
	}
	if (S_ISDIR(st.st_mode)) {
		inpu_model_seterr(err, errlen, "%s: is a directory", path);
		close(fd);
		return -EISDIR;
	}
	if (!S_ISREG(st.st_mode)) {
		inpu_model_seterr(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -EINVAL;
	}
	if ((uint64_t)st.st_size >= SIZE_MAX / 2) {
		inpu_model_seterr(err, errlen, "%s: too large (%lld bytes)",
				  path, (long long)st.st_size);
		close(fd);
		return -EFBIG;
	}
	size = (size_t)st.st_size;
	p = malloc(size + 1);
	if (!p) {
		inpu_model_seterr(err, errlen, "%s: out of memory for %zu bytes",
				  path, size);
		close(fd);
		return -ENOMEM;
	}
	while (got < size) {
		ssize_t n = read(fd, p + got, size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			inpu_model_seterr(err, errlen, "%s: read: %s", path,
					  strerror(-ret));
			free(p);
			close(fd);
			return ret;
		}
		if (n == 0)
			break;	/* shrank under us: take what is there */
		got += (size_t)n;
	}
	close(fd);
	p[got] = '\0';
	*buf = p;
	*len = got;
	return 0;
}
