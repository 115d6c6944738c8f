/* SPDX-License-Identifier: MIT */
/*
 * Dequantization of the ggml tensor encodings found in GGUF files (as
 * written by llama.cpp/ggml, little-endian) to float32: the plain float
 * types F32, F16, BF16, the 32-element block types Q8_0, Q4_0, Q4_1,
 * Q5_0, Q5_1 and the 256-element super-block types Q4_K, Q5_K, Q6_K.
 *
 * The decoders read the source byte by byte, so @src needs no alignment
 * and the result does not depend on the host's byte order.  The float
 * arithmetic follows ggml's reference dequantizers operation by operation,
 * so the output is bit-identical to theirs (checked against ggml's own
 * dequantize_row_* functions when this file was written).
 */
#ifndef INPU_REF_GGUF_DEQUANT_H
#define INPU_REF_GGUF_DEQUANT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ggml type ids as stored in GGUF tensor infos */
enum inpu_ggml_type {
	INPU_GGML_F32 = 0,
	INPU_GGML_F16 = 1,
	INPU_GGML_Q4_0 = 2,
	INPU_GGML_Q4_1 = 3,
	INPU_GGML_Q5_0 = 6,
	INPU_GGML_Q5_1 = 7,
	INPU_GGML_Q8_0 = 8,
	INPU_GGML_Q8_1 = 9,
	INPU_GGML_Q2_K = 10,
	INPU_GGML_Q3_K = 11,
	INPU_GGML_Q4_K = 12,
	INPU_GGML_Q5_K = 13,
	INPU_GGML_Q6_K = 14,
	INPU_GGML_Q8_K = 15,
	INPU_GGML_BF16 = 30,
};

/*
 * Name of a type id ("Q4_K"), or NULL if unknown.  Every id of ggml's
 * type list has a name, also those this library cannot dequantize, so a
 * reader can say which type it met.
 */
const char *inpu_ggml_type_name(uint32_t type);

/*
 * Elements per block and bytes per block of a type this library can
 * dequantize (F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K,
 * Q6_K); returns 1, or 0 on an unsupported type (@elems and @bytes are then
 * left alone).  The plain float types have blocks of one element.
 */
int inpu_ggml_block(uint32_t type, uint32_t *elems, uint32_t *bytes);

/*
 * Bytes of a row of @n elements; 0 if @n is not a multiple of the block
 * size, the type is unsupported or the size does not fit in 64 bits.
 */
uint64_t inpu_ggml_row_bytes(uint32_t type, uint64_t n);

/*
 * Dequantize @n elements (a multiple of the block size) from @src, which
 * holds inpu_ggml_row_bytes(@type, @n) bytes, into @dst.  Returns 0,
 * -ENOTSUP for an unsupported type, -EINVAL if @n is not a multiple of the
 * block or a decoded value is not finite (NaN/Inf in a scale or in an
 * F32/F16/BF16 value).  On -EINVAL for a non-finite value, @dst holds the
 * blocks before the offending one and the rest is unspecified.
 */
int inpu_ggml_dequant(uint32_t type, const void *src, uint64_t n, float *dst);

#ifdef __cplusplus
}
#endif

#endif /* INPU_REF_GGUF_DEQUANT_H */
