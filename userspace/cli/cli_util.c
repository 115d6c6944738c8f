// SPDX-License-Identifier: MIT
/*
 * Helpers every command shares (cli.h): option values and output.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

long long cli_parse_count(const char *s, long long max)
{
	char *end;
	long long v;

	if (!*s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v <= 0 || v > max)
		return -1;
	return v;
}

int cli_seq_len(const char *cmd, const char *s, int *seq_len)
{
	long long v = cli_parse_count(s, 1 << 20);

	if (v < 0) {
		fprintf(stderr, "%s %s: --seq-len: '%s' is not an integer in 1..%d\n",
			prog, cmd, s, 1 << 20);
		return 2;
	}
	*seq_len = (int)v;
	return 0;
}

long long cli_count_opt(const char *cmd, const char *opt, const char *arg,
			long long max)
{
	long long v = cli_parse_count(arg, max);

	if (v < 0)
		fprintf(stderr, "%s %s: --%s: '%s' is not an integer in 1..%lld\n",
			prog, cmd, opt, arg, max);
	return v;
}

/* Pieces that are one unprintable byte are skipped. */
void cli_print_piece(const char *p, size_t len)
{
	if (len == 1 && !isprint((unsigned char)p[0]) &&
	    !isspace((unsigned char)p[0]))
		return;
	fwrite(p, 1, len, stdout);
}

/* Paths and names: escape what JSON requires. */
void cli_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

int cli_is_inpu_file(const char *path)
{
	unsigned char b[4];
	FILE *f = fopen(path, "rb");
	int r = 0;

	if (!f)
		return 0;
	if (fread(b, 1, 4, f) == 4)
		r = inpu_qmodel_sniff(b, 4);
	fclose(f);
	return r;
}

void cli_emit_piece(void *ctx, int prev, int next)
{
	const struct inpu_tokenizer *t = ctx;
	size_t len;
	const char *piece = inpu_tokenizer_piece(t, prev, next, &len);

	cli_print_piece(piece, len);
}

void cli_flush_stdout(void *ctx)
{
	(void)ctx;
	fflush(stdout);
}
