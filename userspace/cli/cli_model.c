// SPDX-License-Identifier: MIT
/*
 * A model, its tokenizer and a backend, opened the same way by every
 * command (cli.h): a llama2.c checkpoint for the float reference, an
 * integer .inpu model for the cpu and device backends.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend_float.h"
#include "cli.h"

static const char *const backend_names[] = {
	[CLI_FLOAT] = "float", [CLI_CPU] = "cpu", [CLI_DEVICE] = "device",
};

int cli_backend_parse(const char *cmd, const char *name, unsigned int avail,
		      enum cli_backend *kind)
{
	const char *sep = "";

	for (int k = CLI_FLOAT; k <= CLI_DEVICE; k++) {
		if ((avail & (1u << k)) && !strcmp(name, backend_names[k])) {
			*kind = (enum cli_backend)k;
			return 0;
		}
	}
	fprintf(stderr, "%s %s: --backend: unknown backend '%s' (available: ",
		prog, cmd, name);
	for (int k = CLI_FLOAT; k <= CLI_DEVICE; k++) {
		if (avail & (1u << k)) {
			fprintf(stderr, "%s%s", sep, backend_names[k]);
			sep = ", ";
		}
	}
	fprintf(stderr, ")\n");
	return -1;
}

/*
 * The file is of the kind the backend runs.  The messages are those of
 * earlier releases, which scripts match: 'inpu run' and the device name
 * the model, 'ppl'/'generate --backend cpu' the option.
 */
static int check_file_kind(const struct cli_model *cm)
{
	int is_inpu = cli_is_inpu_file(cm->model);

	if (cm->kind == CLI_FLOAT) {
		if (!is_inpu)
			return 0;
		fprintf(stderr, "%s %s: %s is an integer .inpu model: use --backend cpu\n",
			prog, cm->cmd, cm->model);
		return 1;
	}
	if (is_inpu || access(cm->model, R_OK))
		return 0;	/* a missing file: the reader names the error */
	if (cm->kind == CLI_CPU && strcmp(cm->cmd, "run")) {
		fprintf(stderr,
			"%s %s: --backend cpu runs an integer .inpu model (made by '%s quantize'); %s is not one\n",
			prog, cm->cmd, prog, cm->model);
		return 2;
	}
	fprintf(stderr, "%s %s: %s is not an integer .inpu model (make one with '%s quantize')\n",
		prog, cm->cmd, cm->model, prog);
	return 1;
}

const char *cli_model_tok_name(const struct cli_model *cm)
{
	return cm->tokenizer ? cm->tokenizer : cm->model;
}

/*
 * -z's tokenizer replaces the one the model file carries (GGUF and .inpu
 * files have one; llama2.c checkpoints and older .inpu files do not).
 */
static int load_tokenizer(struct cli_model *cm, struct inpu_tokenizer *own,
			  char *err, size_t errlen)
{
	if (cm->tokenizer) {
		inpu_tokenizer_free(own);
		return inpu_tokenizer_load(cm->tokenizer, &cm->t, err, errlen);
	}
	cm->t = own;
	if (own || cm->tok_optional || cm->qm)
		return 0;
	snprintf(err, errlen,
		 "%s is a llama2.c checkpoint, which carries no tokenizer: give one with -z",
		 cm->model);
	return -EINVAL;
}

int cli_model_load_float(struct cli_model *cm, char *err, size_t errlen)
{
	struct inpu_tokenizer *own = NULL;
	int ret;

	ret = inpu_model_open(cm->model, &cm->m, cm->tokenizer ? NULL : &own,
			      err, errlen);
	if (!ret)
		ret = load_tokenizer(cm, own, err, errlen);
	if (!ret && cm->seq_len)
		cm->m->cfg.seq_len = cm->seq_len;
	if (!ret && cm->t)
		ret = inpu_model_check_tokenizer(cm->m, cm->model, cm->t,
						 cli_model_tok_name(cm), err, errlen);
	return ret;
}

static int load_integer(struct cli_model *cm, char *err, size_t errlen)
{
	int ret = inpu_qmodel_load(cm->model, &cm->qm, err, errlen);

	if (ret)
		return ret;
	if (cm->tokenizer)
		return load_tokenizer(cm, NULL, err, errlen);
	ret = inpu_qmodel_tokenizer(cm->qm, cm->model, &cm->t, err, errlen);
	return ret == -ENOENT && cm->tok_optional ? 0 : ret;
}

int cli_model_load(struct cli_model *cm)
{
	char err[INPU_MODEL_ERRLEN];
	int ret = check_file_kind(cm);

	if (ret)
		return ret;
	if (cm->seq_len && cm->kind != CLI_FLOAT) {
		fprintf(stderr,
			"%s %s: --seq-len applies to float checkpoints; an .inpu model's is fixed when it is quantized\n",
			prog, cm->cmd);
		return 2;
	}
	if (cm->kind == CLI_FLOAT ? cli_model_load_float(cm, err, sizeof(err)) :
	    load_integer(cm, err, sizeof(err))) {
		fprintf(stderr, "%s %s: %s\n", prog, cm->cmd, err);
		return 1;
	}
	if (cm->qm && cm->t && (uint32_t)inpu_tokenizer_size(cm->t) != cm->qm->cfg.vocab_size) {
		fprintf(stderr,
			"%s %s: %s has a vocabulary of %u tokens, %s has %d: they do not belong together\n",
			prog, cm->cmd, cm->model, cm->qm->cfg.vocab_size,
			cli_model_tok_name(cm), inpu_tokenizer_size(cm->t));
		return 1;
	}
	return 0;
}

int cli_model_backend(struct cli_model *cm)
{
	char err[INPU_MODEL_ERRLEN];
	int ret;

	if (cm->kind == CLI_FLOAT) {
		if (!inpu_backend_float_new(cm->m, &cm->b))
			return 0;
		fprintf(stderr, "%s %s: %s: out of memory for the activations\n",
			prog, cm->cmd, cm->model);
		return 1;
	}
	if (cm->kind == CLI_DEVICE)
		ret = inpu_backend_device_new(cm->qm, cm->device, cm->samp, &cm->b,
					      err, sizeof(err));
	else
		ret = inpu_backend_cpu_new(cm->qm, cm->samp, &cm->b, err,
					   sizeof(err));
	if (ret) {
		fprintf(stderr, "%s %s: %s: %s\n", prog, cm->cmd, cm->model, err);
		return 1;
	}
	return 0;
}

int cli_model_open(struct cli_model *cm)
{
	int ret = cli_model_load(cm);

	return ret ? ret : cli_model_backend(cm);
}

void cli_model_close(struct cli_model *cm)
{
	inpu_backend_free(cm->b);
	inpu_tokenizer_free(cm->t);
	inpu_qmodel_free(cm->qm);
	inpu_model_free(cm->m);
	cm->b = NULL;
	cm->t = NULL;
	cm->qm = NULL;
	cm->m = NULL;
}

void cli_model_describe(const struct cli_model *cm, FILE *f)
{
	char kind[32];

	if (cm->qm) {
		fprintf(f, "%s (.inpu, %s, dim %u, %u layers, vocab %u, seq_len %u)\n",
			cm->model, cm->qm->note, cm->qm->cfg.dim,
			cm->qm->cfg.n_layers, cm->qm->cfg.vocab_size,
			cm->qm->cfg.seq_len);
		return;
	}
	if (cm->m->cfg.version == INPU_CKPT_GGUF)
		snprintf(kind, sizeof(kind), "GGUF");
	else
		snprintf(kind, sizeof(kind), "llama2.c v%d", cm->m->cfg.version);
	fprintf(f, "%s (%s, dim %d, %d layers, vocab %d, seq_len %d)\n",
		cm->model, kind, cm->m->cfg.dim, cm->m->cfg.n_layers,
		cm->m->cfg.vocab_size, cm->m->cfg.seq_len);
}

long cli_encode_prompt(const struct cli_model *cm, const char *prompt,
		       int **tokens)
{
	size_t cap = inpu_tokenizer_max_tokens(strlen(prompt)), unk = 0;
	long n;

	*tokens = malloc(cap * sizeof(**tokens));
	if (!*tokens) {
		fprintf(stderr, "%s %s: out of memory\n", prog, cm->cmd);
		return -1;
	}
	n = inpu_tokenizer_encode_unk(cm->t, prompt, strlen(prompt), 1, 0,
				      *tokens, cap, &unk);
	if (n < 0) {
		fprintf(stderr, "%s %s: --prompt: cannot encode: %s\n", prog,
			cm->cmd, strerror((int)-n));
		return -1;
	}
	if (unk)
		fprintf(stderr,
			"%s %s: --prompt: %zu characters not in %s's vocabulary, encoded as <unk>\n",
			prog, cm->cmd, unk, cli_model_tok_name(cm));
	return n;
}
