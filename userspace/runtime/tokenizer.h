/* SPDX-License-Identifier: MIT */
/*
 * llama2.c / sentencepiece-style tokenizers (tokenizer.bin): reading,
 * encoding (BPE merges by score, byte fallback) and decoding.
 */
#ifndef INPU_RT_TOKENIZER_H
#define INPU_RT_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Token ids fixed by the llama2.c / sentencepiece vocabulary layout. */
#define INPU_TOK_UNK 0
#define INPU_TOK_BOS 1
#define INPU_TOK_EOS 2
#define INPU_TOK_BYTE0 3	/* <0x00> .. <0xFF> are ids 3 .. 258 */


struct inpu_tokenizer;

/*
 * Parse a llama2.c tokenizer (int32 max_token_length, then per token a
 * float32 score, an int32 length and the bytes) held in memory.  The
 * number of tokens is what the file holds; it must have the 3 special
 * tokens, token lengths within max_token_length and no NUL bytes inside a
 * token.  If token 3 is a byte token <0xXX>, the vocabulary must have all
 * 256 of them, <0x00>..<0xFF> at ids 3..258 (sentencepiece's byte
 * fallback); otherwise it has none (a character-level vocabulary, as
 * BabyLlama's tok105) and characters outside it encode as <unk>.
 */
int inpu_tokenizer_parse(const void *buf, size_t len, const char *name,
			 struct inpu_tokenizer **out, char *err,
			 size_t errlen);
int inpu_tokenizer_load(const char *path, struct inpu_tokenizer **out,
			char *err, size_t errlen);
void inpu_tokenizer_free(struct inpu_tokenizer *t);

/*
 * The tokenizer as a llama2.c tokenizer file (what inpu_tokenizer_parse()
 * reads back to the same tokenizer) in a malloc'ed buffer: for embedding
 * it in a model file.  -ENOMEM.
 */
int inpu_tokenizer_serialize(const struct inpu_tokenizer *t, uint8_t **buf,
			     size_t *len);

int inpu_tokenizer_size(const struct inpu_tokenizer *t);
/* 1 if ids 3..258 are the byte tokens <0x00>..<0xFF>, 0 if it has none. */
int inpu_tokenizer_has_bytes(const struct inpu_tokenizer *t);
/* The vocabulary entry of @id (NUL-terminated) and its score. */
const char *inpu_tokenizer_token(const struct inpu_tokenizer *t, int id);
float inpu_tokenizer_score(const struct inpu_tokenizer *t, int id);

/* The most tokens inpu_tokenizer_encode() can produce for @len bytes. */
static inline size_t inpu_tokenizer_max_tokens(size_t len)
{
	return len + 3;
}

/*
 * BPE-encode @len bytes of @text exactly as llama2.c run.c encode() does:
 * optional BOS, the dummy prefix " " when the text is not empty, one token
 * per UTF-8 character (or byte-fallback tokens <0xXX> for characters not
 * in the vocabulary; <unk> in a vocabulary without byte tokens), then repeatedly merge the adjacent pair whose
 * concatenation is the best-scoring vocabulary entry (leftmost on ties),
 * then optional EOS.  @tokens has room for @cap ids (see
 * inpu_tokenizer_max_tokens()).  Stops at a NUL byte, as the C string
 * run.c sees would.  Returns the number of tokens or -ENOSPC.
 */
long inpu_tokenizer_encode(const struct inpu_tokenizer *t, const char *text,
			   size_t len, int bos, int eos, int *tokens,
			   size_t cap);
/* The same, counting in *@n_unk (if not NULL) the characters encoded as
 * <unk> because the vocabulary has neither them nor byte tokens. */
long inpu_tokenizer_encode_unk(const struct inpu_tokenizer *t,
			       const char *text, size_t len, int bos, int eos,
			       int *tokens, size_t cap, size_t *n_unk);

/*
 * The text of @token following @prev, as run.c decode() gives it: the
 * leading space of the first piece after BOS is dropped and <0xXX> tokens
 * are the raw byte.  BOS and EOS decode to nothing.  *len is the length
 * (a raw byte may be 0).  Returns NULL for an id out of range.
 */
const char *inpu_tokenizer_piece(const struct inpu_tokenizer *t, int prev,
				 int token, size_t *len);

/*
 * Decode @n tokens as one sequence that starts after BOS (so a BOS-less
 * inpu_tokenizer_encode() output decodes like one with BOS) into @buf of
 * @cap bytes, NUL-terminated when @cap > 0.  Returns the length the full text needs
 * (like snprintf), or -EINVAL for an id out of range.
 */
long inpu_tokenizer_decode(const struct inpu_tokenizer *t, const int *tokens,
			   size_t n, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* INPU_RT_TOKENIZER_H */
