// SPDX-License-Identifier: MIT
/*
 * inpu-fw: build, inspect and verify INPU firmware images
 * (firmware-blob-tools/FORMAT.md).  Parsing is engine/fw_image.c, the same
 * code the driver and the device run; building and hashing are fw_build.c.
 *
 * Exit status: 0 success, 1 invalid image or I/O error, 2 usage error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_build.h"

#define INPU_FW_TOOL_VERSION "0.1.0"

static const char *prog = "inpu-fw";

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s <command> [options]\n"
		"\n"
		"Build, inspect and verify INPU firmware images (image format %d,\n"
		"engine ABI %d).\n"
		"\n"
		"commands:\n"
		"  build    generate the exp and SiLU tables and write an image\n"
		"  info     print the header, sections, tables and digest of an image\n"
		"  verify   check an image's structure, versions and SHA-256 digest\n"
		"\n"
		"options:\n"
		"  -h, --help      show this help (or a command's help: %s <command> --help)\n"
		"  -V, --version   print the version of this tool\n"
		"\n"
		"exit status: 0 success, 1 invalid image or I/O error, 2 usage error\n",
		prog, INPU_FW_FORMAT_VERSION, INPU_FW_ABI_VERSION, prog);
}

static void build_usage(FILE *f)
{
	struct inpu_fw_build_opts d;

	inpu_fw_build_defaults(&d);
	fprintf(f,
		"usage: %s build -o FILE [options]\n"
		"\n"
		"Generate the exp and SiLU tables (engine/tables_gen.c) and write a\n"
		"firmware image: header, section table (exp, silu, optional note),\n"
		"payloads aligned to %u bytes, SHA-256 trailer.  The same options always\n"
		"give the same bytes.  The file is replaced atomically.\n"
		"\n"
		"options:\n"
		"  -o, --output FILE        image to write (required)\n"
		"      --fw-version X.Y.Z   firmware version (default %u.%u.%u;\n"
		"                           X <= 65535, Y and Z <= 255)\n"
		"      --exp-len N          exp table entries, 1..65536 (default %u)\n"
		"      --exp-frac F         exp input fraction bits, 0..30 (default %u)\n"
		"      --silu-len N         SiLU table entries, 1..65536 (default %u;\n"
		"                           zero point N / 2)\n"
		"      --silu-in-frac F     SiLU input fraction bits, 0..30 (default %u)\n"
		"      --silu-out-frac F    SiLU output fraction bits, 0..30 (default %u)\n"
		"      --note TEXT          add a note section with TEXT\n"
		"  -h, --help               show this help\n",
		prog, INPU_FW_BUILD_ALIGN, d.fw_version >> 16,
		(d.fw_version >> 8) & 0xff, d.fw_version & 0xff, d.exp_len,
		d.exp_frac, d.silu_len, d.silu_in_frac, d.silu_out_frac);
}

static void info_usage(FILE *f)
{
	fprintf(f,
		"usage: %s info [--json] FILE\n"
		"\n"
		"Print every header field, every section (type, offset, size, alignment),\n"
		"the table parameters and the digest status of an image.  An invalid\n"
		"image is still shown as far as it can be read; the status is then 1.\n"
		"\n"
		"options:\n"
		"  -j, --json   print one JSON object instead of text\n"
		"  -h, --help   show this help\n",
		prog);
}

static void verify_usage(FILE *f)
{
	fprintf(f,
		"usage: %s verify FILE...\n"
		"\n"
		"Check each image as the driver and the device do: structure, format\n"
		"and engine ABI versions, table contents, then the SHA-256 digest.\n"
		"Prints one line per file; an error names the section, the field and\n"
		"its offset in the image.  Exit status 0 if every image is good.\n"
		"\n"
		"options:\n"
		"  -h, --help   show this help\n",
		prog);
}

static void errmsg(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* getopt with opterr = 0 and a leading ':' in the option string. */
static int bad_option(const char *cmd, int c, char **argv,
		      void (*help)(FILE *))
{
	const char *opt = argv[optind - 1];

	if (c == ':')
		errmsg("%s: option '%s' needs a value", cmd, opt);
	else if (optopt && optopt != '?')
		errmsg("%s: unknown option '-%c'", cmd, optopt);
	else
		errmsg("%s: unknown option '%s'", cmd, opt);
	help(stderr);
	return 2;
}

static int parse_u32(const char *s, uint32_t max, uint32_t *out)
{
	unsigned long long v = 0;
	const char *p;

	if (!*s)
		return -1;
	for (p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (unsigned int)(*p - '0');
		if (v > max)
			return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

static int parse_version(const char *s, uint32_t *out)
{
	static const uint32_t max[3] = { 0xffff, 0xff, 0xff };
	uint32_t part[3];
	char buf[32];
	char *tok, *save = NULL, *str;
	int n = 0;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	/* strtok_r would merge empty parts: count the dots first. */
	for (str = buf; *str; str++)
		n += *str == '.';
	if (n != 2 || buf[0] == '.' || strstr(buf, "..") ||
	    buf[strlen(buf) - 1] == '.')
		return -1;
	n = 0;
	for (str = buf; (tok = strtok_r(str, ".", &save)); str = NULL) {
		if (parse_u32(tok, max[n], &part[n]))
			return -1;
		n++;
	}
	*out = part[0] << 16 | part[1] << 8 | part[2];
	return 0;
}

static uint32_t rd32(const uint8_t *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void hex(char *out, const uint8_t *d, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
	out[2 * n] = 0;
}

/* "section 1 field "offset" at image offset 0x60: section misaligned" */
static void describe(char *buf, size_t len, const struct inpu_fw_error *e)
{
	int n = 0;

	if (e->section >= 0)
		n = snprintf(buf, len, "section %d ", e->section);
	snprintf(buf + n, len - (size_t)n, "field \"%s\" at image offset 0x%x: %s",
		 e->field ? e->field : "?", e->offset, inpu_fw_strerror(e->code));
}

static int load(const char *path, uint8_t **img, size_t *len)
{
	int ret = inpu_fw_read_file(path, img, len);

	if (ret)
		errmsg("%s: %s", path, strerror(-ret));
	return ret;
}

/* ---- build ---------------------------------------------------------------- */

enum {
	OPT_FW_VERSION = 256, OPT_EXP_LEN, OPT_EXP_FRAC, OPT_SILU_LEN,
	OPT_SILU_IN_FRAC, OPT_SILU_OUT_FRAC, OPT_NOTE,
};

/*
 * Fills @o and @out from the command line.  Returns -1 to go on building,
 * else the exit code (0 after --help, 2 for a usage error).
 */
static int build_args(int argc, char **argv, struct inpu_fw_build_opts *o,
		      const char **out)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "fw-version", required_argument, NULL, OPT_FW_VERSION },
		{ "exp-len", required_argument, NULL, OPT_EXP_LEN },
		{ "exp-frac", required_argument, NULL, OPT_EXP_FRAC },
		{ "silu-len", required_argument, NULL, OPT_SILU_LEN },
		{ "silu-in-frac", required_argument, NULL, OPT_SILU_IN_FRAC },
		{ "silu-out-frac", required_argument, NULL, OPT_SILU_OUT_FRAC },
		{ "note", required_argument, NULL, OPT_NOTE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *name = NULL;
	uint32_t *num, max;
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:h", opts, NULL)) != -1) {
		num = NULL;
		max = 30;
		switch (c) {
		case 'o':
			*out = optarg;
			break;
		case 'h':
			build_usage(stdout);
			return 0;
		case OPT_FW_VERSION:
			if (parse_version(optarg, &o->fw_version)) {
				errmsg("build: bad --fw-version '%s' (want X.Y.Z, X <= 65535, Y, Z <= 255)",
				       optarg);
				return 2;
			}
			break;
		case OPT_EXP_LEN:
			num = &o->exp_len, max = 65536, name = "exp-len";
			break;
		case OPT_EXP_FRAC:
			num = &o->exp_frac, name = "exp-frac";
			break;
		case OPT_SILU_LEN:
			num = &o->silu_len, max = 65536, name = "silu-len";
			break;
		case OPT_SILU_IN_FRAC:
			num = &o->silu_in_frac, name = "silu-in-frac";
			break;
		case OPT_SILU_OUT_FRAC:
			num = &o->silu_out_frac, name = "silu-out-frac";
			break;
		case OPT_NOTE:
			o->note = optarg;
			break;
		default:
			return bad_option("build", c, argv, build_usage);
		}
		if (num && (parse_u32(optarg, max, num) || (max > 30 && !*num))) {
			errmsg("build: bad --%s '%s' (want %u..%u)", name, optarg,
			       max > 30 ? 1 : 0, max);
			return 2;
		}
	}
	if (optind < argc) {
		errmsg("build: unexpected argument '%s'", argv[optind]);
		build_usage(stderr);
		return 2;
	}
	if (!*out) {
		errmsg("build: no output file (-o FILE)");
		build_usage(stderr);
		return 2;
	}
	return -1;
}

static int cmd_build(int argc, char **argv)
{
	struct inpu_fw_build_opts o;
	uint8_t digest[INPU_FW_DIGEST_BYTES];
	char msg[256], dhex[2 * INPU_FW_DIGEST_BYTES + 1];
	const char *out = NULL;
	uint8_t *img;
	size_t len;
	int ret;

	inpu_fw_build_defaults(&o);
	ret = build_args(argc, argv, &o, &out);
	if (ret >= 0)
		return ret;
	ret = inpu_fw_build(&o, &img, &len, msg, sizeof(msg));
	if (ret) {
		errmsg("build: %s", msg);
		return ret == -EINVAL ? 2 : 1;
	}
	memcpy(digest, img + len - INPU_FW_DIGEST_BYTES, sizeof(digest));
	ret = inpu_fw_write_file(out, img, len);
	free(img);
	if (ret) {
		errmsg("%s: %s", out, strerror(-ret));
		return 1;
	}
	hex(dhex, digest, sizeof(digest));
	printf("%s: %zu bytes, fw %u.%u.%u, sha256 %s\n", out, len,
	       o.fw_version >> 16, (o.fw_version >> 8) & 0xff,
	       o.fw_version & 0xff, dhex);
	return 0;
}

/* ---- info ----------------------------------------------------------------- */

#define H(f) offsetof(struct inpu_fw_header, f)
#define S(f) offsetof(struct inpu_fw_section, f)

static void json_str(const char *s, size_t n)
{
	size_t i;

	putchar('"');
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

static void text_str(const char *s, size_t n)
{
	size_t i;

	putchar('"');
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '\n')
			fputs("\\n", stdout);
		else if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			printf("\\x%02x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

struct view {
	const char *path;
	const uint8_t *img;
	size_t len;
	int have_header;		/* len >= 64 */
	unsigned int n_shown;		/* section entries inside the file */
	int rc;				/* inpu_fw_parse */
	struct inpu_fw_info info;
	struct inpu_fw_error err;
	int have_digest;		/* len >= 32 */
	char stored[2 * INPU_FW_DIGEST_BYTES + 1];
	char computed[2 * INPU_FW_DIGEST_BYTES + 1];
	int digest_ok;
};

static int make_view(struct view *v, const char *path, const uint8_t *img,
		     size_t len)
{
	uint8_t d[INPU_FW_DIGEST_BYTES];
	uint32_t n;

	memset(v, 0, sizeof(*v));
	v->path = path;
	v->img = img;
	v->len = len;
	v->have_header = len >= sizeof(struct inpu_fw_header);
	if (v->have_header) {
		n = rd32(img + H(n_sections));
		if (n > INPU_FW_MAX_SECTIONS)
			n = INPU_FW_MAX_SECTIONS;
		while (n && sizeof(struct inpu_fw_header) +
		       n * sizeof(struct inpu_fw_section) > len)
			n--;
		v->n_shown = n;
	}
	v->rc = inpu_fw_parse(img, len, &v->info, &v->err);
	v->have_digest = len >= INPU_FW_DIGEST_BYTES;
	if (v->have_digest) {
		if (inpu_fw_sha256(img, len - INPU_FW_DIGEST_BYTES, d)) {
			errmsg("%s: SHA-256 failed (libcrypto)", path);
			return -1;
		}
		hex(v->computed, d, sizeof(d));
		hex(v->stored, img + len - INPU_FW_DIGEST_BYTES, sizeof(d));
		v->digest_ok = !memcmp(d, img + len - INPU_FW_DIGEST_BYTES,
				       sizeof(d));
	}
	return 0;
}

static int view_valid(const struct view *v)
{
	return v->rc == INPU_FW_OK && v->digest_ok;
}

static void feature_names(uint64_t f, char *buf, size_t len)
{
	int n = 0;

	buf[0] = 0;
	if (f & INPU_FW_FEAT_EXP_TABLE)
		n += snprintf(buf + n, len - (size_t)n, "exp-table ");
	if (f & INPU_FW_FEAT_SILU_TABLE)
		n += snprintf(buf + n, len - (size_t)n, "silu-table ");
	if (f & ~INPU_FW_FEAT_ALL)
		n += snprintf(buf + n, len - (size_t)n, "unknown:0x%llx ",
			      (unsigned long long)(f & ~INPU_FW_FEAT_ALL));
	if (n)
		buf[n - 1] = 0;
}

static void silu_range(const struct inpu_fw_info *in, int32_t *lo, int32_t *hi)
{
	const uint8_t *p = (const uint8_t *)in->silu_values;
	uint32_t i;

	*lo = INT32_MAX;
	*hi = INT32_MIN;
	for (i = 0; i < in->silu.len; i++) {
		int32_t x = (int32_t)rd32(p + 4 * i);

		*lo = x < *lo ? x : *lo;
		*hi = x > *hi ? x : *hi;
	}
}

static uint32_t exp_at(const struct inpu_fw_info *in, uint32_t i)
{
	return rd16((const uint8_t *)in->exp_values + 2 * i);
}

static void print_text(const struct view *v)
{
	const uint8_t *h = v->img;
	const struct inpu_fw_info *in = &v->info;
	char feats[128], msg[256];
	uint32_t fw, i;
	uint64_t f;

	printf("file            %s (%zu bytes)\n", v->path, v->len);
	if (!v->have_header) {
		printf("header          truncated (%zu of %zu bytes)\n", v->len,
		       sizeof(struct inpu_fw_header));
	} else {
		fw = rd32(h + H(fw_version));
		f = rd32(h + H(features)) |
		    (uint64_t)rd32(h + H(features) + 4) << 32;
		feature_names(f, feats, sizeof(feats));
		printf("magic           0x%08x%s\n", rd32(h + H(magic)),
		       rd32(h + H(magic)) == INPU_FW_MAGIC ? " (INFW)" : "");
		printf("format_version  %u\n", rd16(h + H(format_version)));
		printf("header_size     %u\n", rd16(h + H(header_size)));
		printf("fw_version      %u.%u.%u (0x%08x)\n", fw >> 16,
		       (fw >> 8) & 0xff, fw & 0xff, fw);
		printf("abi_version     %u\n", rd32(h + H(abi_version)));
		printf("features        0x%llx (%s)\n", (unsigned long long)f,
		       feats[0] ? feats : "none");
		printf("image_size      %u\n", rd32(h + H(image_size)));
		printf("n_sections      %u\n", rd32(h + H(n_sections)));
		printf("section_offset  %u\n", rd32(h + H(section_offset)));
		printf("reserved       ");
		for (i = 0; i < 7; i++)
			printf(" %u", rd32(h + H(reserved) + 4 * i));
		printf("\n");
		printf("sections        %u shown\n", v->n_shown);
		printf("  index type      offset      size  align  flags  reserved\n");
		for (i = 0; i < v->n_shown; i++) {
			const uint8_t *e = h + sizeof(struct inpu_fw_header) +
					   i * sizeof(struct inpu_fw_section);
			uint32_t t = rd32(e + S(type));

			printf("  %5u %-7s 0x%06x %9u %6u %6u %9u\n", i,
			       inpu_fw_section_name(t),
			       rd32(e + S(offset)), rd32(e + S(size)),
			       rd32(e + S(align)), rd32(e + S(flags)),
			       rd32(e + S(reserved)));
		}
	}
	if (v->rc == INPU_FW_OK) {
		int32_t lo, hi;

		printf("exp table       len %u, frac %u, exp[0] %u, exp[%u] %u\n",
		       in->exp.len, in->exp.frac, exp_at(in, 0),
		       in->exp.len - 1, exp_at(in, in->exp.len - 1));
		silu_range(in, &lo, &hi);
		printf("silu table      len %u, zero %u, in_frac %u, out_frac %u, values %d..%d\n",
		       in->silu.len, in->silu.zero, in->silu.in_frac,
		       in->silu.out_frac, lo, hi);
		if (in->note) {
			printf("note            ");
			text_str(in->note, in->note_len);
			printf("\n");
		}
	}
	if (v->have_digest) {
		printf("digest          %s at 0x%zx (%s)\n", v->stored,
		       v->len - INPU_FW_DIGEST_BYTES,
		       v->digest_ok ? "ok" : "MISMATCH");
		if (!v->digest_ok)
			printf("computed        %s\n", v->computed);
	}
	if (v->rc == INPU_FW_OK && v->digest_ok) {
		printf("status          valid\n");
	} else if (v->rc == INPU_FW_OK) {
		printf("status          invalid: field \"digest\" at image offset 0x%zx: %s\n",
		       v->len - INPU_FW_DIGEST_BYTES,
		       inpu_fw_strerror(INPU_FW_E_DIGEST));
	} else {
		describe(msg, sizeof(msg), &v->err);
		printf("status          invalid: %s\n", msg);
	}
}

static void print_json(const struct view *v)
{
	const uint8_t *h = v->img;
	const struct inpu_fw_info *in = &v->info;
	uint32_t fw, i;
	uint64_t f;

	printf("{\"file\":");
	json_str(v->path, strlen(v->path));
	printf(",\"file_size\":%zu", v->len);
	if (v->have_header) {
		fw = rd32(h + H(fw_version));
		f = rd32(h + H(features)) |
		    (uint64_t)rd32(h + H(features) + 4) << 32;
		printf(",\"header\":{\"magic\":%u,\"format_version\":%u,\"header_size\":%u",
		       rd32(h + H(magic)), rd16(h + H(format_version)),
		       rd16(h + H(header_size)));
		printf(",\"fw_version\":\"%u.%u.%u\",\"fw_version_raw\":%u",
		       fw >> 16, (fw >> 8) & 0xff, fw & 0xff, fw);
		printf(",\"abi_version\":%u,\"features\":%llu,\"feature_names\":[",
		       rd32(h + H(abi_version)), (unsigned long long)f);
		if (f & INPU_FW_FEAT_EXP_TABLE)
			printf("\"exp-table\"");
		if (f & INPU_FW_FEAT_SILU_TABLE)
			printf("%s\"silu-table\"",
			       f & INPU_FW_FEAT_EXP_TABLE ? "," : "");
		printf("],\"image_size\":%u,\"n_sections\":%u,\"section_offset\":%u,\"reserved\":[",
		       rd32(h + H(image_size)), rd32(h + H(n_sections)),
		       rd32(h + H(section_offset)));
		for (i = 0; i < 7; i++)
			printf("%s%u", i ? "," : "", rd32(h + H(reserved) + 4 * i));
		printf("]},\"sections\":[");
		for (i = 0; i < v->n_shown; i++) {
			const uint8_t *e = h + sizeof(struct inpu_fw_header) +
					   i * sizeof(struct inpu_fw_section);

			printf("%s{\"index\":%u,\"type\":%u,\"name\":\"%s\",\"offset\":%u,\"size\":%u,\"align\":%u,\"flags\":%u,\"reserved\":%u}",
			       i ? "," : "", i, rd32(e + S(type)),
			       inpu_fw_section_name(rd32(e + S(type))),
			       rd32(e + S(offset)), rd32(e + S(size)),
			       rd32(e + S(align)), rd32(e + S(flags)),
			       rd32(e + S(reserved)));
		}
		printf("]");
	}
	if (v->rc == INPU_FW_OK) {
		int32_t lo, hi;

		silu_range(in, &lo, &hi);
		printf(",\"exp\":{\"len\":%u,\"frac\":%u,\"first\":%u,\"last\":%u}",
		       in->exp.len, in->exp.frac, exp_at(in, 0),
		       exp_at(in, in->exp.len - 1));
		printf(",\"silu\":{\"len\":%u,\"zero\":%u,\"in_frac\":%u,\"out_frac\":%u,\"min\":%d,\"max\":%d}",
		       in->silu.len, in->silu.zero, in->silu.in_frac,
		       in->silu.out_frac, lo, hi);
		if (in->note) {
			printf(",\"note\":");
			json_str(in->note, in->note_len);
		}
	}
	if (v->have_digest)
		printf(",\"digest\":{\"offset\":%zu,\"stored\":\"%s\",\"computed\":\"%s\",\"ok\":%s}",
		       v->len - INPU_FW_DIGEST_BYTES, v->stored, v->computed,
		       v->digest_ok ? "true" : "false");
	printf(",\"valid\":%s,\"error\":", view_valid(v) ? "true" : "false");
	if (view_valid(v)) {
		printf("null");
	} else {
		struct inpu_fw_error e = v->err;

		if (v->rc == INPU_FW_OK) {
			e.code = INPU_FW_E_DIGEST;
			e.section = -1;
			e.field = "digest";
			e.offset = (uint32_t)(v->len - INPU_FW_DIGEST_BYTES);
		}
		printf("{\"code\":%d,\"message\":\"%s\",\"section\":%d,\"field\":",
		       e.code, inpu_fw_strerror(e.code), e.section);
		json_str(e.field ? e.field : "", e.field ? strlen(e.field) : 0);
		printf(",\"offset\":%u}", e.offset);
	}
	printf("}\n");
}

static int cmd_info(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct view v;
	int json = 0, c, ret;
	uint8_t *img;
	size_t len;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":jh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = 1;
			break;
		case 'h':
			info_usage(stdout);
			return 0;
		default:
			return bad_option("info", c, argv, info_usage);
		}
	}
	if (argc - optind != 1) {
		errmsg(optind < argc ? "info: one FILE only" : "info: no FILE");
		info_usage(stderr);
		return 2;
	}
	if (load(argv[optind], &img, &len))
		return 1;
	if (make_view(&v, argv[optind], img, len)) {
		free(img);
		return 1;
	}
	if (json)
		print_json(&v);
	else
		print_text(&v);
	ret = view_valid(&v) ? 0 : 1;
	free(img);
	return ret;
}

/* ---- verify --------------------------------------------------------------- */

static int verify_one(const char *path)
{
	struct inpu_fw_error err;
	struct inpu_fw_info info;
	char msg[256], dhex[2 * INPU_FW_DIGEST_BYTES + 1];
	uint8_t *img;
	size_t len;
	int ok;

	if (load(path, &img, &len))
		return 1;
	if (inpu_fw_parse(img, len, &info, &err) != INPU_FW_OK) {
		describe(msg, sizeof(msg), &err);
		errmsg("%s: %s", path, msg);
		free(img);
		return 1;
	}
	ok = inpu_fw_check_digest(img, &info);
	if (ok < 0) {
		errmsg("%s: SHA-256 failed (libcrypto)", path);
		free(img);
		return 1;
	}
	if (!ok) {
		errmsg("%s: field \"digest\" at image offset 0x%x: %s", path,
		       info.digest_offset, inpu_fw_strerror(INPU_FW_E_DIGEST));
		free(img);
		return 1;
	}
	hex(dhex, img + info.digest_offset, INPU_FW_DIGEST_BYTES);
	printf("%s: ok: fw %u.%u.%u, format %u, abi %u, %u sections, %zu bytes, sha256 %s\n",
	       path, info.fw_version >> 16, (info.fw_version >> 8) & 0xff,
	       info.fw_version & 0xff, INPU_FW_FORMAT_VERSION,
	       info.abi_version, info.n_sections, len, dhex);
	free(img);
	return 0;
}

static int cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, ret = 0;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c == 'h') {
			verify_usage(stdout);
			return 0;
		}
		return bad_option("verify", c, argv, verify_usage);
	}
	if (optind == argc) {
		errmsg("verify: no FILE");
		verify_usage(stderr);
		return 2;
	}
	for (; optind < argc; optind++)
		ret |= verify_one(argv[optind]);
	return ret;
}

int main(int argc, char **argv)
{
	const char *cmd;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	cmd = argv[1];
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
		printf("%s %s (image format %d, engine ABI %d)\n", prog,
		       INPU_FW_TOOL_VERSION, INPU_FW_FORMAT_VERSION,
		       INPU_FW_ABI_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "build"))
		return cmd_build(argc - 1, argv + 1);
	if (!strcmp(cmd, "info"))
		return cmd_info(argc - 1, argv + 1);
	if (!strcmp(cmd, "verify"))
		return cmd_verify(argc - 1, argv + 1);
	errmsg("unknown command '%s'", cmd);
	usage(stderr);
	return 2;
}
