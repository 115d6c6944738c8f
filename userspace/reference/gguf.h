/* SPDX-License-Identifier: MIT */
/*
 * GGUF (versions 2 and 3, little-endian), the model container of
 * llama.cpp: a validated reader of its metadata and tensor directory.
 * The buffer it parses stays owned by the caller and must outlive the
 * parsed view; nothing is copied.  The format is described in FORMAT.md
 * of this folder ("GGUF input").
 */
#ifndef INPU_REF_GGUF_H
#define INPU_REF_GGUF_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define INPU_GGUF_MAGIC		0x46554747u	/* "GGUF" little-endian */
#define INPU_GGUF_MAX_DIMS	4
#define INPU_GGUF_ALIGN		32		/* default general.alignment */

/* Metadata value types (the GGUF numbering). */
enum inpu_gguf_vtype {
	INPU_GGUF_U8, INPU_GGUF_I8, INPU_GGUF_U16, INPU_GGUF_I16,
	INPU_GGUF_U32, INPU_GGUF_I32, INPU_GGUF_F32, INPU_GGUF_BOOL,
	INPU_GGUF_STRING, INPU_GGUF_ARRAY, INPU_GGUF_U64, INPU_GGUF_I64,
	INPU_GGUF_F64, INPU_GGUF_NTYPES
};

struct inpu_gguf_str {
	const char *s;		/* into the buffer; not NUL-terminated */
	uint64_t len;
};

struct inpu_gguf_kv {
	struct inpu_gguf_str key;
	uint32_t type;		/* enum inpu_gguf_vtype */
	uint32_t elem_type;	/* arrays: the element type */
	uint64_t n;		/* arrays: element count; else 1 */
	const unsigned char *val;	/* the value (arrays: the first element) */
	uint64_t offset;	/* of the key in the file, for messages */
};

struct inpu_gguf_tensor {
	struct inpu_gguf_str name;
	uint32_t n_dims;
	uint64_t ne[INPU_GGUF_MAX_DIMS];	/* ne[0] varies fastest (a row) */
	uint32_t type;		/* ggml type (gguf_dequant.h) */
	uint64_t nelem, bytes;
	const unsigned char *data;
	uint64_t offset;	/* of its data in the file */
};

struct inpu_gguf {
	uint32_t version;
	uint64_t n_kv, n_tensors;
	struct inpu_gguf_kv *kv;
	struct inpu_gguf_tensor *tensor;
	uint64_t alignment, data_offset;
	const char *name;	/* inpu_gguf_parse()'s @name, for messages */
};

/*
 * Parse the GGUF held in @buf (@len bytes): header, every key/value pair
 * (types, string and array sizes inside the file, no duplicate keys),
 * every tensor info (at most 4 dimensions, each >= 1, a type this library
 * can dequantize, rows a whole number of blocks, offsets aligned and inside
 * the file, no two tensors overlapping, no duplicate names).  @name is used
 * in messages, which name the key or tensor and its file offset.
 * Errors: -EINVAL (malformed), -ENOTSUP (a version or tensor type this
 * reader does not read), -ENOMEM.
 */
int inpu_gguf_parse(const void *buf, size_t len, const char *name,
		    struct inpu_gguf **out, char *err, size_t errlen);
void inpu_gguf_free(struct inpu_gguf *g);

/* 1 if @buf starts with the GGUF magic. */
int inpu_gguf_is(const void *buf, size_t len);

const struct inpu_gguf_kv *inpu_gguf_find(const struct inpu_gguf *g,
					  const char *key);
const struct inpu_gguf_tensor *inpu_gguf_tensor(const struct inpu_gguf *g,
						const char *name);

/*
 * Typed reads of key @key.  Integers of any integer type convert when the
 * value fits.  Returns 0, -ENOENT if the key is absent (no message), or
 * -EINVAL with a message naming the file (g->name, which must still be
 * valid) and the key if it has another type or does not fit.
 */
int inpu_gguf_get_u32(const struct inpu_gguf *g, const char *key,
		      uint32_t *v, char *err, size_t errlen);
int inpu_gguf_get_f32(const struct inpu_gguf *g, const char *key, float *v,
		      char *err, size_t errlen);
int inpu_gguf_get_str(const struct inpu_gguf *g, const char *key,
		      struct inpu_gguf_str *v, char *err, size_t errlen);

/* Every element of an array of strings, into @out (kv->n entries). */
void inpu_gguf_arr_strs(const struct inpu_gguf_kv *kv,
			struct inpu_gguf_str *out);
/* Element @i of an array of numbers (any numeric type), as a double. */
double inpu_gguf_arr_num(const struct inpu_gguf_kv *kv, uint64_t i);

struct inpu_tokenizer;

/*
 * The tokenizer of a GGUF file whose tokenizer.ggml.model is "llama"
 * (SentencePiece: tokens, scores, token types, <unk>/BOS/EOS at ids 0, 1,
 * 2, and either all 256 byte tokens at ids 3..258 or none), as the
 * runtime's llama2.c tokenizer: U+2581 in a piece becomes a space.
 * @vocab_size is the model's, which the token list must match
 * (gguf_tokenizer.c).
 */
int inpu_tokenizer_from_gguf(const struct inpu_gguf *g, const char *name,
			     int vocab_size, struct inpu_tokenizer **out,
			     char *err, size_t errlen);

/* 1 if @s equals the NUL-terminated @c. */
int inpu_gguf_str_eq(struct inpu_gguf_str s, const char *c);

#ifdef __cplusplus
}
#endif

#endif /* INPU_REF_GGUF_H */
