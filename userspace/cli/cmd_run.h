/* SPDX-License-Identifier: MIT */
/*
 * Commands of the inpu CLI that run models on the device (cmd_run.c):
 * 'inpu run' and 'inpu ppl --backend device'.
 */
#ifndef INPU_CLI_CMD_RUN_H
#define INPU_CLI_CMD_RUN_H

/*
 * Dispatch hook for main(): handles 'run', and 'ppl' when its options
 * ask for --backend device.  Returns 1 with the exit status in *rc if it
 * handled the command, 0 if main() should go on.
 */
int inpu_cli_run_hook(int argc, char **argv, int *rc);

/* Shared by the CLI's files (inpu.c): a positive decimal integer no
 * larger than @max, or -1. */
long long inpu_cli_parse_count(const char *s, long long max);

/* One line per command, for the top-level usage. */
#define INPU_CLI_RUN_USAGE \
	"  run       generate text with an .inpu model on the device (or the cpu)\n"

#endif /* INPU_CLI_CMD_RUN_H */
