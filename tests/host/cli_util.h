/* SPDX-License-Identifier: MIT */
/*
 * Running the inpu CLI from host tests: the sanitizer build
 * build/asan/bin/inpu (found from the test binary's path through
 * model_util.h's repo_root(), or $INPU_CLI), with its exit status,
 * standard output and standard error captured.
 */
#ifndef INPU_CLI_UTIL_H
#define INPU_CLI_UTIL_H

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "model_util.h"

struct run {
	int status;		/* exit status, or -1 */
	char out[16384];
	char err[16384];
};

/* Run the CLI with @argv (NULL-terminated, argv[0] ignored). */
static int run_cli(const char *const *argv, struct run *r)
{
	char cli[PATH_MAX], root[PATH_MAX];
	const char *env = getenv("INPU_CLI");
	int po[2], pe[2], st;
	size_t no = 0, ne = 0;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	r->status = -1;
	if (env && *env)
		snprintf(cli, sizeof(cli), "%s", env);
	else if (repo_root(root, sizeof(root)) ||
		 (size_t)snprintf(cli, sizeof(cli), "%s/%s", root,
				  "build/asan/bin/inpu") >= sizeof(cli))
		return -1;
	if (access(cli, X_OK))
		return -1;
	if (pipe(po) || pipe(pe))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(po[1], 1);
		dup2(pe[1], 2);
		close(po[0]);
		close(pe[0]);
		execv(cli, (char *const *)argv);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	for (int open = 2; open;) {
		struct pollfd pf[2] = { { po[0], POLLIN, 0 }, { pe[0], POLLIN, 0 } };

		if (poll(pf, 2, -1) < 0)
			break;
		open = 0;
		for (int i = 0; i < 2; i++) {
			char *buf = i ? r->err : r->out;
			size_t *n = i ? &ne : &no;
			char tmp[4096];
			ssize_t got;

			if (pf[i].fd < 0)
				continue;
			if (!(pf[i].revents & (POLLIN | POLLHUP))) {
				open++;
				continue;
			}
			got = read(pf[i].fd, tmp, sizeof(tmp));
			if (got <= 0) {
				close(i ? pe[0] : po[0]);
				if (i)
					pe[0] = -1;
				else
					po[0] = -1;
				continue;
			}
			open++;
			if (*n + (size_t)got >= sizeof(r->out))
				got = (ssize_t)(sizeof(r->out) - 1 - *n);
			memcpy(buf + *n, tmp, (size_t)got);
			*n += (size_t)got;
		}
	}
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	return 0;
}

#endif /* INPU_CLI_UTIL_H */
