/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note OR MIT */
/*
 * The .inpu model file: the ABI between the quantizer that writes it and
 * the runtimes that read it (userspace/runtime/FORMAT.md describes every
 * field; userspace/runtime/qmodel.c reads and writes it and is fuzzed).
 * All fields are little-endian.
 */
#ifndef INPU_MODEL_FILE_H
#define INPU_MODEL_FILE_H

#define INPU_QM_MAGIC		0x4d514e49u	/* "INQM" little-endian */
#define INPU_QM_VERSION		1
#define INPU_QM_HEADER_BYTES	256
#define INPU_QM_TENSOR_BYTES	64		/* one tensor-table entry */
#define INPU_QM_NAME_LEN	32		/* NUL-padded tensor name */
#define INPU_QM_NOTE_LEN	128		/* NUL-padded free text */
#define INPU_QM_ALIGN		4096		/* data section, weight tiles */
#define INPU_QM_VEC_ALIGN	64		/* every other tensor */
#define INPU_QM_MAX_LAYERS	256
#define INPU_QM_MAX_TENSORS	4096
#define INPU_QM_MAX_DIM		65536
#define INPU_QM_MAX_TOKENIZER	(64u << 20)	/* bytes of the tokenizer section */

/* Weight schemes (informational: each tensor carries its own dtype). */
#define INPU_QS_W8A8		1
#define INPU_QS_W4A8		2

/* Flags: how the model was made (shown by tools; informational but one). */
#define INPU_QF_POW2		(1u << 0)	/* every rescale a power of two */
#define INPU_QF_SMOOTH		(1u << 1)	/* SmoothQuant scale migration */
#define INPU_QF_GPTQ		(1u << 2)	/* GPTQ weight rounding */
#define INPU_QF_ROTATE		(1u << 3)	/* rotated residual stream */
#define INPU_QF_FINETUNE	(1u << 4)	/* quantization-aware fine-tuning */
/*
 * Not informational: the inputs of the linear layers are quantized per
 * token on the device (I8ROW, firmware ABI >= 2; QUANT.md).
 */
#define INPU_QF_DYN_ACT		(1u << 5)
/* Not informational: the key cache holds int16 keys (firmware ABI >= 2). */
#define INPU_QF_KEY16		(1u << 6)
/*
 * Not informational: W4 layers' .gs hold packed 4-bit scale and zero-point
 * codes, no .gz (INPU_W4_GFMT_CODES, firmware ABI >= 2).
 */
#define INPU_QF_W4_CODES	(1u << 7)
#define INPU_QF_ALL		(INPU_QF_POW2 | INPU_QF_SMOOTH | INPU_QF_GPTQ | \
				 INPU_QF_ROTATE | INPU_QF_FINETUNE | \
				 INPU_QF_DYN_ACT | INPU_QF_KEY16 | \
				 INPU_QF_W4_CODES)

#endif /* INPU_MODEL_FILE_H */
