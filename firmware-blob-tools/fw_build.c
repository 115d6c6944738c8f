// SPDX-License-Identifier: MIT
/*
 * Firmware image builder, digest and file helpers (see fw_build.h and
 * FORMAT.md).  Offline code: the tables come from engine/tables_gen.c,
 * which uses floating point.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "fw_build.h"
#include "tables_gen.h"

void inpu_fw_build_defaults(struct inpu_fw_build_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->fw_version = 1u << 16;	/* 1.0.0 */
	o->exp_len = INPU_EXP_LEN;
	o->exp_frac = INPU_EXP_FRAC;
	o->silu_len = INPU_SILU_LEN;
	o->silu_in_frac = INPU_SILU_IN_FRAC;
	o->silu_out_frac = INPU_SILU_OUT_FRAC;
	o->note = NULL;
}

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v);
	put16(p + 2, v >> 16);
}

static size_t round_up(size_t v, size_t a)
{
	return (v + a - 1) / a * a;
}

#define SET_MSG(...) do { if (msg && msg_len) snprintf(msg, msg_len, __VA_ARGS__); } while (0)

#define HOFF(f) offsetof(struct inpu_fw_header, f)
#define SOFF(f) offsetof(struct inpu_fw_section, f)

static void put_section(uint8_t *img, unsigned int idx, uint32_t type,
			size_t offset, size_t size)
{
	uint8_t *e = img + sizeof(struct inpu_fw_header) +
		     idx * sizeof(struct inpu_fw_section);

	put32(e + SOFF(type), type);
	put32(e + SOFF(flags), 0);
	put32(e + SOFF(offset), (uint32_t)offset);
	put32(e + SOFF(size), (uint32_t)size);
	put32(e + SOFF(align), INPU_FW_BUILD_ALIGN);
	put32(e + SOFF(reserved), 0);
}

/* Where each part of the image goes; every offset is from the image start. */
struct fw_layout {
	size_t n_sec;
	size_t exp_off, exp_size;
	size_t silu_off, silu_size;
	size_t note_off, note_size;
	size_t total;
};

static int check_opts(const struct inpu_fw_build_opts *o, char *msg,
		      size_t msg_len)
{
	double silu_max;

	if (!o->exp_len || o->exp_len > 65536) {
		SET_MSG("exp-len %u out of range 1..65536", o->exp_len);
		return -EINVAL;
	}
	if (!o->silu_len || o->silu_len > 65536) {
		SET_MSG("silu-len %u out of range 1..65536", o->silu_len);
		return -EINVAL;
	}
	if (o->exp_frac > 30 || o->silu_in_frac > 30 || o->silu_out_frac > 30) {
		SET_MSG("fractional bits must be 0..30");
		return -EINVAL;
	}
	/*
	 * silu(x) < x for x > 0 and silu(x) > -0.28 for x < 0, so the largest
	 * magnitude is at the last entry; it must fit in an int32.
	 */
	silu_max = (double)(o->silu_len - 1 - o->silu_len / 2) /
		   (double)(1u << o->silu_in_frac) *
		   (double)(1u << o->silu_out_frac);
	if (silu_max > 2147483647.0) {
		SET_MSG("SiLU values overflow int32 (lower silu-out-frac, raise silu-in-frac or shorten the table)");
		return -EINVAL;
	}
	return 0;
}

static int plan_layout(const struct inpu_fw_build_opts *o, struct fw_layout *l,
		       char *msg, size_t msg_len)
{
	size_t end;

	memset(l, 0, sizeof(*l));
	l->n_sec = o->note ? 3 : 2;
	l->exp_off = round_up(sizeof(struct inpu_fw_header) +
			      l->n_sec * sizeof(struct inpu_fw_section),
			      INPU_FW_BUILD_ALIGN);
	l->exp_size = sizeof(struct inpu_fw_exp) + 2 * (size_t)o->exp_len;
	l->silu_off = round_up(l->exp_off + l->exp_size, INPU_FW_BUILD_ALIGN);
	l->silu_size = sizeof(struct inpu_fw_silu) + 4 * (size_t)o->silu_len;
	end = l->silu_off + l->silu_size;
	if (o->note) {
		l->note_size = strlen(o->note);
		if (l->note_size > INPU_FW_MAX_SIZE) {
			SET_MSG("note too long (%zu bytes)", l->note_size);
			return -EINVAL;
		}
		l->note_off = round_up(end, INPU_FW_BUILD_ALIGN);
		end = l->note_off + l->note_size;
	}
	l->total = round_up(end, INPU_FW_BUILD_TAIL_ALIGN) +
		   INPU_FW_DIGEST_BYTES;
	if (l->total > INPU_FW_MAX_SIZE) {
		SET_MSG("image would be %zu bytes, over the %u byte limit",
			l->total, INPU_FW_MAX_SIZE);
		return -EINVAL;
	}
	return 0;
}

static void put_header(uint8_t *img, const struct inpu_fw_build_opts *o,
		       const struct fw_layout *l)
{
	put32(img + HOFF(magic), INPU_FW_MAGIC);
	put16(img + HOFF(format_version), INPU_FW_FORMAT_VERSION);
	put16(img + HOFF(header_size), sizeof(struct inpu_fw_header));
	put32(img + HOFF(fw_version), o->fw_version);
	put32(img + HOFF(abi_version), INPU_FW_ABI_VERSION);
	put32(img + HOFF(features), (uint32_t)INPU_FW_FEAT_ALL);
	put32(img + HOFF(features) + 4, (uint32_t)(INPU_FW_FEAT_ALL >> 32));
	put32(img + HOFF(image_size), (uint32_t)l->total);
	put32(img + HOFF(n_sections), (uint32_t)l->n_sec);
	put32(img + HOFF(section_offset), sizeof(struct inpu_fw_header));
}

static void put_tables(uint8_t *img, const struct inpu_fw_build_opts *o,
		       const struct fw_layout *l,
		       const struct inpu_tables_store *tables)
{
	uint8_t *p;
	size_t i;

	put_section(img, 0, INPU_FW_SEC_EXP, l->exp_off, l->exp_size);
	p = img + l->exp_off;
	put32(p, tables->t.exp_len);
	put32(p + 4, tables->t.exp_frac);
	for (i = 0; i < o->exp_len; i++)
		put16(p + 8 + 2 * i, tables->exp[i]);

	put_section(img, 1, INPU_FW_SEC_SILU, l->silu_off, l->silu_size);
	p = img + l->silu_off;
	put32(p, tables->t.silu_len);
	put32(p + 4, tables->t.silu_zero);
	put32(p + 8, tables->t.silu_in_frac);
	put32(p + 12, tables->t.silu_out_frac);
	for (i = 0; i < o->silu_len; i++)
		put32(p + 16 + 4 * i, (uint32_t)tables->silu[i]);
}

int inpu_fw_build(const struct inpu_fw_build_opts *o, uint8_t **image_out,
		  size_t *len_out, char *msg, size_t msg_len)
{
	struct inpu_tables_store tables;
	struct inpu_fw_error err;
	struct inpu_fw_info info;
	struct fw_layout l;
	uint8_t *img;
	int ret;

	*image_out = NULL;
	*len_out = 0;
	ret = check_opts(o, msg, msg_len);
	if (!ret)
		ret = plan_layout(o, &l, msg, msg_len);
	if (ret)
		return ret;

	if (inpu_tables_generate(&tables, o->exp_len, o->exp_frac, o->silu_len,
				 o->silu_in_frac, o->silu_out_frac)) {
		SET_MSG("out of memory");
		return -ENOMEM;
	}
	img = calloc(1, l.total);
	if (!img) {
		inpu_tables_release(&tables);
		SET_MSG("out of memory");
		return -ENOMEM;
	}

	put_header(img, o, &l);
	put_tables(img, o, &l, &tables);
	inpu_tables_release(&tables);

	if (o->note) {
		put_section(img, 2, INPU_FW_SEC_NOTE, l.note_off, l.note_size);
		memcpy(img + l.note_off, o->note, l.note_size);
	}

	if (inpu_fw_seal(img, l.total)) {
		free(img);
		SET_MSG("SHA-256 failed (libcrypto)");
		return -EIO;
	}
	/* Never hand out an image the shared parser would refuse. */
	if (inpu_fw_parse(img, l.total, &info, &err) != INPU_FW_OK) {
		SET_MSG("internal error: built image fails to parse: %s (field \"%s\")",
			inpu_fw_strerror(err.code), err.field);
		free(img);
		return -EPROTO;
	}
	*image_out = img;
	*len_out = l.total;
	return 0;
}

int inpu_fw_sha256(const void *data, size_t len,
		   uint8_t out[INPU_FW_DIGEST_BYTES])
{
	unsigned int out_len = 0;

	if (EVP_Digest(data, len, out, &out_len, EVP_sha256(), NULL) != 1 ||
	    out_len != INPU_FW_DIGEST_BYTES)
		return -1;
	return 0;
}

int inpu_fw_seal(uint8_t *image, size_t len)
{
	if (len < INPU_FW_DIGEST_BYTES)
		return -1;
	return inpu_fw_sha256(image, len - INPU_FW_DIGEST_BYTES,
			      image + len - INPU_FW_DIGEST_BYTES);
}

int inpu_fw_check_digest(const void *image, const struct inpu_fw_info *info)
{
	uint8_t d[INPU_FW_DIGEST_BYTES];

	if (inpu_fw_sha256(image, info->digest_offset, d))
		return -1;
	return inpu_fw_digest_ok(image, info, d);
}

int inpu_fw_read_file(const char *path, uint8_t **data_out, size_t *len_out)
{
	const size_t cap = (size_t)INPU_FW_MAX_SIZE + 1;
	uint8_t *buf, *shrunk;
	size_t len = 0;
	ssize_t n;
	int fd, e;

	*data_out = NULL;
	*len_out = 0;
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	buf = malloc(cap);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (len < cap) {
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			e = errno;
			free(buf);
			close(fd);
			return -e;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	/* Exact size, so that an overread is an ASan error in tests. */
	shrunk = realloc(buf, len ? len : 1);
	*data_out = shrunk ? shrunk : buf;
	*len_out = len;
	return 0;
}

int inpu_fw_write_file(const char *path, const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t plen = strlen(path), done = 0;
	mode_t mask;
	char *tmp;
	ssize_t n;
	int fd, e = 0;

	tmp = malloc(plen + sizeof(".tmp.XXXXXX"));
	if (!tmp)
		return -ENOMEM;
	memcpy(tmp, path, plen);
	memcpy(tmp + plen, ".tmp.XXXXXX", sizeof(".tmp.XXXXXX"));
	fd = mkstemp(tmp);
	if (fd < 0) {
		e = errno;
		free(tmp);
		return -e;
	}
	while (done < len) {
		n = write(fd, p + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			e = errno;
			break;
		}
		done += (size_t)n;
	}
	mask = umask(0);
	umask(mask);
	if (!e && fchmod(fd, 0666 & ~mask))
		e = errno;
	if (!e && fsync(fd))
		e = errno;
	if (close(fd) && !e)
		e = errno;
	if (!e && rename(tmp, path))
		e = errno;
	if (e)
		unlink(tmp);
	free(tmp);
	return -e;
}
