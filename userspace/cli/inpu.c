// SPDX-License-Identifier: MIT
/*
 * inpu: the command-line front end of the runtime.  The command table;
 * each command lives in its own cmd_*.c.
 */
#include <stdio.h>
#include <string.h>

#include <drm/inpu_accel.h>

#include "cli.h"

const char *const prog = "inpu";

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{ "info", cmd_info,
	  "print the identity, version and capabilities of an INPU device" },
	{ "ppl", cmd_ppl,
	  "perplexity of a model on a text file (float, cpu or device)" },
	{ "generate", cmd_generate,
	  "greedy text generation with a model (no device needed)" },
	{ "quantize", cmd_quantize,
	  "make an integer-only .inpu model from a float checkpoint" },
	{ "run", cmd_run,
	  "generate text with an .inpu model on the device (or the cpu)" },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
	fprintf(f, "usage: %s <command> [options]\n\ncommands:\n", prog);
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
	fprintf(f,
		"\n"
		"options:\n"
		"  -h, --help      show this help (or a command's help: %s <command> --help)\n"
		"  -V, --version   print the version of this tool\n",
		prog);
}

int main(int argc, char **argv)
{
	const char *cmd;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	cmd = argv[1];
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
		printf("inpu %s (driver ABI %d)\n", INPU_CLI_VERSION,
		       DRM_INPU_ABI_VERSION);
		return 0;
	}
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (!strcmp(cmd, commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "%s: unknown command '%s' (try '%s --help')\n", prog,
		cmd, prog);
	return 2;
}
