/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * INPU command-stream ISA: the binary format of a command stream and the
 * operand descriptors of every op.  The exact integer semantics of each op
 * are specified in engine/ISA.md; engine/ is the one implementation that
 * the QEMU device, the CPU reference backend and the kernel's validator
 * share.
 *
 * A command stream is a struct inpu_stream_header followed by n_ops
 * struct inpu_op records of 256 bytes each.  All fields are little-endian.
 * Reserved fields and unused operand slots must be zero.
 */
#ifndef _INPU_ISA_H_
#define _INPU_ISA_H_

#include <linux/types.h>

#if defined(__cplusplus)
extern "C" {
#endif

#define INPU_STREAM_MAGIC	0x31534349u	/* "ICS1" */
#define INPU_STREAM_VERSION	1

/* Per-submit parameters a stream may refer to (e.g. the position). */
#define INPU_MAX_PARAMS		8
/* Upper bound on ops per stream, so validation time is bounded. */
#define INPU_MAX_OPS		4096

/* Element types of operands. */
enum inpu_dtype {
	INPU_DT_NONE = 0,	/* operand slot unused */
	INPU_DT_INT8 = 1,
	INPU_DT_INT16 = 2,
	INPU_DT_INT32 = 3,
	INPU_DT_UINT8 = 4,	/* int4 group scales */
	INPU_DT_UINT64 = 5,	/* PRNG state */
	INPU_DT_QPARAM = 6,	/* struct inpu_qparam, 8 bytes */
	INPU_DT_W8_TILED = 7,	/* int8 weights in the device tile layout */
	INPU_DT_W4_TILED = 8,	/* int4 weights in the device tile layout */
	INPU_DT_I8ROW = 9,	/* int8 rows, each after its int32 row scale */
	INPU_DT_COUNT
};

/*
 * Bytes per element of a plain dtype; 0 for NONE and the tiled weight
 * types, whose size follows from their shape (engine/ISA.md section 4).
 */
static inline unsigned int inpu_dtype_size(unsigned int dtype)
{
	switch (dtype) {
	case INPU_DT_INT8:
	case INPU_DT_UINT8:
	case INPU_DT_I8ROW:
		return 1;
	case INPU_DT_INT16:
		return 2;
	case INPU_DT_INT32:
		return 4;
	case INPU_DT_UINT64:
	case INPU_DT_QPARAM:
		return 8;
	default:
		return 0;
	}
}

/*
 * Bytes in front of each row's elements: the int32 scale of an I8ROW row
 * (engine/ISA.md section 2), 0 for every other type.
 */
#define INPU_I8ROW_PREFIX	4
static inline unsigned int inpu_dtype_row_prefix(unsigned int dtype)
{
	return dtype == INPU_DT_I8ROW ? INPU_I8ROW_PREFIX : 0;
}

/*
 * Weight tile layouts (see engine/ISA.md, "Weight layouts").  One tile is
 * exactly one 4 KiB page, so no tile straddles a page.
 *  W8: tile of 64 output channels x 64 inputs, N and K padded to 64.
 *  W4: tile of 64 output channels x 128 inputs, N padded to 64, K to 128;
 *      a group scale (and optionally a zero point) every INPU_W4_GROUP
 *      inputs, or every INPU_W4_GROUP_SMALL inputs when the op says so.
 */
#define INPU_TILE_BYTES		4096
#define INPU_TILE_N		64
#define INPU_W8_TILE_K		64
#define INPU_W4_TILE_K		128
#define INPU_W4_GROUP		32
#define INPU_W4_GROUP_SMALL	16

/*
 * An operand: a 2-D tensor of @rows x @cols elements of @dtype, row r at
 * device address @addr + r * @stride (+ the dynamic offset below).
 * Tiled weights ignore @stride (must be 0): their size follows from rows
 * (N) and cols (K).
 *
 * Dynamic addressing: when @dyn_param is non-zero, the operand's address
 * is @addr + params[@dyn_param - 1] * @dyn_mul, where params are the
 * per-submit parameter block.  Each parameter has a declared range in the
 * stream header, so a validator can check every address a stream can take.
 */
struct inpu_tensor {
	__u64 addr;
	__u32 rows;
	__u32 cols;
	__u32 stride;		/* bytes between rows */
	__u8 dtype;		/* enum inpu_dtype */
	__u8 dyn_param;		/* 0: static; else 1 + parameter index */
	__u16 reserved0;
	__u32 dyn_mul;		/* bytes per unit of the parameter */
	__u32 reserved1;
};

/* Per-output-channel requantization: y = rshift_round(x * mult, shift). */
struct inpu_qparam {
	__s32 mult;
	__s32 shift;		/* 0..62 */
};

/* Declared range of one per-submit parameter, inclusive. */
struct inpu_param_decl {
	__u32 min;
	__u32 max;
};

struct inpu_stream_header {
	__u32 magic;		/* INPU_STREAM_MAGIC */
	__u16 version;		/* INPU_STREAM_VERSION */
	__u16 n_params;		/* parameters used, <= INPU_MAX_PARAMS */
	__u32 n_ops;		/* 1..INPU_MAX_OPS op records follow */
	__u32 reserved;
	struct inpu_param_decl params[INPU_MAX_PARAMS];
};

enum inpu_opcode {
	INPU_OP_NOP = 0,
	INPU_OP_MATMUL = 1,
	INPU_OP_RMSNORM = 2,
	INPU_OP_ROPE = 3,
	INPU_OP_ATTENTION = 4,
	INPU_OP_SWIGLU = 5,
	INPU_OP_ADD = 6,
	INPU_OP_EMBED = 7,
	INPU_OP_COPY = 8,
	INPU_OP_ARGMAX = 9,
	INPU_OP_SAMPLE = 10,
	INPU_OP_FWHT = 11,
	INPU_OP_COUNT
};

/*
 * y[M][N] = requant(x[M][K] . W[N][K]^T + bias[N]).  W4 groups have
 * @group inputs (0 means INPU_W4_GROUP; INPU_W4_GROUP_SMALL allowed) and
 * optional zero points: the weight is (q - gzero) * gscale.  Streams
 * written before the zero points and the small groups existed leave
 * these fields zero and keep their meaning.
 */
struct inpu_op_matmul {
	struct inpu_tensor x;		/* INT8 [M][K] */
	struct inpu_tensor w;		/* W8_TILED or W4_TILED, rows N, cols K */
	struct inpu_tensor gscale;	/* W4: UINT8 [Kpad/G][Npad]; W8: NONE */
	struct inpu_tensor bias;	/* INT32 [1][N], or NONE */
	struct inpu_tensor qp;		/* QPARAM [1][N] */
	struct inpu_tensor y;		/* INT8/INT16/INT32 [M][N] */
	struct inpu_tensor gzero;	/* W4: INT8 [Kpad/G][Npad] or NONE; W8: NONE */
	__u32 group;			/* W4: 0 (= 32), 16 or 32; W8: 0 */
	__u32 gfmt;			/* W4: INPU_W4_GFMT_*; W8: 0 */
};

/*
 * How a W4 MATMUL's gscale bytes hold its group parameters (ISA.md 3.1):
 * one 8-bit scale each (zero points in gzero, or none), or one byte per
 * group and channel of two 4-bit codes, the scale's in the low nibble
 * (its value inpu_w4_gs_level()) and the zero point plus 8 in the high
 * one; gzero is then NONE.  Firmware ABI 2.
 */
#define INPU_W4_GFMT_BYTES	0
#define INPU_W4_GFMT_CODES	1

/* Scale code @c (0..15) of INPU_W4_GFMT_CODES: round(255 * 2^((c - 15) / 3)). */
static inline __u8 inpu_w4_gs_level(unsigned int c)
{
	static const __u8 level[16] = {
		8, 10, 13, 16, 20, 25, 32, 40, 51, 64, 80, 101, 128, 161, 202, 255
	};

	return level[c & 15];
}

/* Root-mean-square normalisation of each row. */
struct inpu_op_rmsnorm {
	struct inpu_tensor x;		/* INT16/INT32 [M][n] */
	struct inpu_tensor g;		/* INT32 [1][n] per-channel multiplier */
	struct inpu_tensor y;		/* INT8/INT16 [M][n] */
	__u32 eps;			/* >= 1, added to the mean square */
	__u32 shift;			/* 0..62 */
};

/* Rotary embedding of interleaved pairs; y may alias x. */
struct inpu_op_rope {
	struct inpu_tensor x;		/* INT8/INT16 [M][n], n % head_dim == 0 */
	struct inpu_tensor cs;		/* INT16 [M][head_dim] (cos, sin) Q14 */
	struct inpu_tensor y;		/* same dtype and shape as x */
	__u32 head_dim;			/* even, >= 2 */
	__u32 reserved;
};

/* Causal grouped-query attention over an int8 KV cache. */
struct inpu_op_attention {
	struct inpu_tensor q;		/* INT8 [M][n_heads * head_dim] */
	struct inpu_tensor k;		/* INT8 [capacity][n_kv_heads * head_dim] */
	struct inpu_tensor v;		/* INT8 [capacity][n_kv_heads * head_dim] */
	struct inpu_tensor y;		/* INT8 [M][n_heads * head_dim] */
	__u16 n_heads;
	__u16 n_kv_heads;		/* divides n_heads */
	__u16 head_dim;
	__u8 pos_param;			/* 0: pos0 = pos; else 1 + param index */
	__u8 reserved0;
	__u32 pos;			/* position of query row 0 (static) */
	__s32 score_mult;		/* > 0 */
	__s32 score_shift;		/* 0..62 */
	__s32 out_mult;
	__s32 out_shift;		/* 0..62 */
};

/* y = requant(silu(gate) * up) */
struct inpu_op_swiglu {
	struct inpu_tensor gate;	/* INT16 [M][n] */
	struct inpu_tensor up;		/* INT16 [M][n] */
	struct inpu_tensor y;		/* INT8 [M][n] */
	__s32 in_mult;			/* gate -> SiLU table index units */
	__s32 in_shift;			/* 0..62 */
	__s32 out_mult;
	__s32 out_shift;		/* 0..62 */
};

/* y = requant(a * a_mult + b * b_mult) */
struct inpu_op_add {
	struct inpu_tensor a;		/* INT8/INT16/INT32 [M][n] */
	struct inpu_tensor b;		/* INT8/INT16/INT32 [M][n] */
	struct inpu_tensor y;		/* INT8/INT16/INT32 [M][n] */
	__s32 a_mult;
	__s32 b_mult;
	__s32 shift;			/* 0..62 */
	__u32 reserved;
};

/* y[m] = requant(table[ids[m]]) */
struct inpu_op_embed {
	struct inpu_tensor ids;		/* INT32 [1][M] */
	struct inpu_tensor table;	/* INT8/INT16/INT32 [vocab][dim] */
	struct inpu_tensor y;		/* INT16/INT32 [M][dim] */
	__s32 mult;
	__s32 shift;			/* 0..62 */
};

/* Row-by-row copy (e.g. KV-cache append): same dtype and shape. */
struct inpu_op_copy {
	struct inpu_tensor src;
	struct inpu_tensor dst;
};

/* y[m] = index of the largest x[m][j]; ties go to the lowest index. */
struct inpu_op_argmax {
	struct inpu_tensor x;		/* INT8/INT16/INT32 [M][n] */
	struct inpu_tensor y;		/* INT32 [1][M] */
};

/* Temperature and top-p sampling with a seeded integer PRNG. */
struct inpu_op_sample {
	struct inpu_tensor x;		/* INT32 [1][n] logits */
	struct inpu_tensor state;	/* UINT64 [1][1] PRNG state, updated */
	struct inpu_tensor y;		/* INT32 [1][1] chosen index */
	__s32 temp_mult;		/* > 0: (max - x) -> exp table index */
	__s32 temp_shift;		/* 0..62 */
	__u32 top_p;			/* Q16, 1..65536 */
	__u32 reserved;
};

/* Walsh-Hadamard transform of each block of a row, then requant. */
struct inpu_op_fwht {
	struct inpu_tensor x;		/* INT8/INT16/INT32 [M][n] */
	struct inpu_tensor y;		/* INT8/INT16/INT32 [M][n] */
	__u32 block;			/* power of two, 2..n, divides n */
	__s32 mult;
	__s32 shift;			/* 0..62 */
	__u32 reserved;
};

#define INPU_OP_BYTES		256

struct inpu_op {
	__u16 opcode;			/* enum inpu_opcode */
	__u16 flags;			/* must be zero */
	__u32 reserved;			/* must be zero */
	union {
		struct inpu_op_matmul matmul;
		struct inpu_op_rmsnorm rmsnorm;
		struct inpu_op_rope rope;
		struct inpu_op_attention attention;
		struct inpu_op_swiglu swiglu;
		struct inpu_op_add add;
		struct inpu_op_embed embed;
		struct inpu_op_copy copy;
		struct inpu_op_argmax argmax;
		struct inpu_op_sample sample;
		struct inpu_op_fwht fwht;
		__u8 raw[INPU_OP_BYTES - 8];
	} u;
};

/* Why an op or a stream was rejected or stopped (validation and run). */
enum inpu_status {
	INPU_OK = 0,
	INPU_ERR_HEADER,	/* bad magic, version, counts or length */
	INPU_ERR_OPCODE,	/* unknown opcode */
	INPU_ERR_RESERVED,	/* reserved field or unused slot not zero */
	INPU_ERR_DTYPE,		/* element type not allowed in this slot */
	INPU_ERR_SHAPE,		/* shapes zero, too large or inconsistent */
	INPU_ERR_STRIDE,	/* stride smaller than a row or misaligned */
	INPU_ERR_PARAM,		/* bad parameter reference or range */
	INPU_ERR_IMM,		/* an immediate out of its range */
	INPU_ERR_RANGE,		/* operand outside every buffer of the job */
	INPU_ERR_ACCESS,	/* operand written in a read-only buffer */
	INPU_ERR_FAULT,		/* device memory access failed at run time */
	INPU_ERR_INDEX,		/* token id out of range at run time */
	INPU_ERR_TABLES,	/* firmware tables missing or malformed */
	INPU_ERR_NOMEM,		/* the engine ran out of working memory */
	INPU_ERR_BUDGET,	/* more work than the driver allows a job */
	INPU_ERR_COUNT
};

#if defined(__cplusplus)
}
#endif

#endif /* _INPU_ISA_H_ */
