/* SPDX-License-Identifier: MIT */
/*
 * Reading model, tokenizer and text files, and the error convention of the
 * runtime, reference and quantizer libraries: functions return 0 or a
 * negative errno, never print, and write one line naming the file and what
 * is wrong into a caller buffer @err of @errlen bytes (which may be NULL).
 */
#ifndef INPU_RT_FILE_H
#define INPU_RT_FILE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A buffer large enough for any message of this library. */
#define INPU_MODEL_ERRLEN 512

/*
 * Read a whole regular file into a malloc'ed buffer (NUL-terminated, the
 * NUL not counted in *len).  Errors: the errno of open/read, -EISDIR or
 * -EINVAL for something that is not a regular file, -EFBIG, -ENOMEM.
 */
int inpu_read_file(const char *path, char **buf, size_t *len, char *err,
		   size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* INPU_RT_FILE_H */
