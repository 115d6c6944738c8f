/* SPDX-License-Identifier: MIT */
/*
 * The inpu command-line tool: the command table (inpu.c), one file per
 * command (cmd_*.c) and the helpers they share (cli_util.c: options and
 * output; cli_model.c: a model, its tokenizer and a backend opened the
 * same way for every command).  Commands return the process exit status:
 * 0, 1 for a runtime error, 2 for a usage error; every message names the
 * command and the file or option at fault.
 */
#ifndef INPU_CLI_H
#define INPU_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "backend.h"
#include "model.h"
#include "qdev.h"
#include "qmodel.h"
#include "tokenizer.h"

#define INPU_CLI_VERSION "0.1.0"

/* The program name in messages. */
extern const char *const prog;

int cmd_info(int argc, char **argv);
int cmd_ppl(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_run(int argc, char **argv);

/* ---- cli_util.c ----------------------------------------------------------- */

/* A decimal integer in 1..@max, or -1. */
long long cli_parse_count(const char *s, long long max);
/* --seq-len's value into *@seq_len: 0, or 2 after a message. */
int cli_seq_len(const char *cmd, const char *s, int *seq_len);
/* The same for option --@opt of @cmd, saying what is wrong when it is not. */
long long cli_count_opt(const char *cmd, const char *opt, const char *arg,
			long long max);
/* A token's text on stdout, as llama2.c run.c's safe_printf(). */
void cli_print_piece(const char *p, size_t len);
/* A JSON string, escaped. */
void cli_json_str(FILE *f, const char *s);
/* 1 if @path starts with the .inpu magic. */
int cli_is_inpu_file(const char *path);
/* Generation loop callbacks (generate.h): @ctx is the tokenizer. */
void cli_emit_piece(void *ctx, int prev, int next);
void cli_flush_stdout(void *ctx);

/* ---- cli_model.c ---------------------------------------------------------- */

enum cli_backend { CLI_FLOAT, CLI_CPU, CLI_DEVICE };

/*
 * The backend @name among those in @avail (a mask of 1 << CLI_*) into
 * @kind; -1 after naming the available ones otherwise.
 */
int cli_backend_parse(const char *cmd, const char *name, unsigned int avail,
		      enum cli_backend *kind);

struct cli_model {
	/* in */
	const char *cmd, *model;
	const char *tokenizer;			/* -z, or NULL: the model's own */
	int seq_len;				/* float: context override, or 0 */
	int tok_optional;			/* no tokenizer anywhere is fine */
	const char *device;			/* CLI_DEVICE: the node, or NULL */
	const struct inpu_qsample *samp;	/* integer backends: NULL greedy */
	enum cli_backend kind;
	/* out */
	struct inpu_model *m;			/* CLI_FLOAT */
	struct inpu_qmodel *qm;			/* CLI_CPU, CLI_DEVICE */
	struct inpu_tokenizer *t;
	struct inpu_backend *b;
};

/* Load model and tokenizer, check that they belong together, open the
 * backend.  0, or the exit status after a message. */
int cli_model_open(struct cli_model *cm);
/* The two halves of cli_model_open(), for a command that needs the model
 * to choose the backend's options (run: the SAMPLE immediates). */
int cli_model_load(struct cli_model *cm);
/*
 * The float checkpoint (llama2.c or GGUF) and its tokenizer (-z's or the
 * file's), --seq-len applied: cli_model_load()'s float half, for commands
 * that print the message themselves (quantize).  0 or a negative errno
 * with the message in @err.
 */
int cli_model_load_float(struct cli_model *cm, char *err, size_t errlen);
int cli_model_backend(struct cli_model *cm);
void cli_model_close(struct cli_model *cm);
/* Where the tokenizer came from, for messages: -z's path or the model's. */
const char *cli_model_tok_name(const struct cli_model *cm);
/* One line on what the model is: "PATH (llama2.c v1, dim ...)". */
void cli_model_describe(const struct cli_model *cm, FILE *f);
/*
 * BOS and @prompt as token ids into *@tokens (malloc'ed; free it either
 * way): their count, or -1 after a message.
 */
long cli_encode_prompt(const struct cli_model *cm, const char *prompt,
		       int **tokens);

#endif /* INPU_CLI_H */
