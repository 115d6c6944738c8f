#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# check_no_float.sh FILE...
#
# The engine is integer-only (engine/ISA.md): fail if the machine code of
# any object file or archive given contains a floating-point instruction.
# Disassembles with objdump -d and prints one TAP line per file:
#   ok - no floating point in FILE
#   not ok - floating point in FILE
# followed, on failure, by "#   FUNCTION: INSTRUCTION" lines.  Exit status 1
# if any file failed (or could not be disassembled), 2 on usage errors.
#
# What counts as floating point (mnemonics in objdump's AT&T syntax, after
# dropping prefixes such as lock/rep/notrack/data16/segment overrides):
#
#  - x87: every mnemonic starting with "f" (fld, fstp, fild, fistp, fadd,
#    fmul, fdiv, fsqrt, fcom, fucomi, fxch, fldcw, fnstcw, fwait, ...).  No
#    integer x86 instruction starts with "f".
#  - FMA and FP classification: every mnemonic starting with "vf" (vfmadd*,
#    vfmsub*, vfnmadd*, vfnmsub*, vfmaddsub*, vfpclass*, vfixupimm*).
#  - conversions: every mnemonic starting with "cvt" or "vcvt"
#    (cvtsi2sd, cvttsd2si, cvtps2dq, cvtdq2ps, vcvtph2ps, ...): each one has
#    a float or double on one side.  Integer sign extensions are spelt
#    cltq/cwtl/cltd/cqto in AT&T syntax and are not affected.
#  - arithmetic, comparison and rounding on scalar or packed floats: an
#    optional "v", then add, sub, mul, div, min, max, sqrt, rsqrt, rcp,
#    hadd, hsub, addsub, dp, round, rndscale, cmp<predicate>, comi, ucomi,
#    getexp, getmant, scalef, range, reduce or exp2, then optional digits
#    or letters (e.g. "14" in vrcp14ps, "lt" in cmpltps, "bf16" in
#    vdpbf16ps), ending in ss, sd, ps, pd, sh or ph.  Packed-integer
#    instructions all start with "p"/"vp" (paddd, vpminsd, vpdpbusd,
#    vpmaddubsw) and never match; the x86 string compare is cmpsl/cmpsq in
#    AT&T syntax, never cmpsd.
#
# Allowed on purpose: moves, shuffles, blends and bitwise logic on XMM/YMM/
# ZMM registers even when their names carry a ps/pd/ss/sd suffix (movaps,
# movups, movapd, movss, movsd, movhps, movlhps, movmskps, xorps, andps,
# orps, andnps, shufps, unpcklps, blendps, insertps, extractps,
# vbroadcastss, vbroadcastsd, vbroadcastf128, vinsertf128, vextractf128,
# vperm2f128, vpermilps, vpermps, vmaskmovps, vgather*ps ...), and MXCSR
# loads/stores (ldmxcsr, stmxcsr).  They copy or select bits without
# interpreting them as numbers, and compilers use them for integer data
# (struct copies, memset/memcpy expansion, zeroing with xorps, 128-bit
# lane moves).  A float computed somewhere still needs one of the
# instructions above to be produced, compared or converted, so it cannot
# hide behind them.
set -uo pipefail

if [ $# -eq 0 ]; then
	echo "usage: $0 OBJECT_OR_ARCHIVE..." >&2
	exit 2
fi

OBJDUMP=${OBJDUMP:-objdump}
status=0

for f in "$@"; do
	if ! asm=$("$OBJDUMP" -d --no-show-raw-insn "$f" 2>&1); then
		echo "not ok - floating point check of $f: $OBJDUMP failed"
		printf '%s\n' "$asm" | sed 's/^/#   /'
		status=1
		continue
	fi
	bad=$(printf '%s\n' "$asm" | awk -F'\t' '
		function is_float(m) {
			if (m ~ /^f/ || m ~ /^vf/ || m ~ /^v?cvt/)
				return 1
			sub(/^v/, "", m)
			return m ~ /^(add|sub|mul|div|min|max|sqrt|rsqrt|rcp|hadd|hsub|addsub|dp|round|rndscale|cmp|comi|ucomi|getexp|getmant|scalef|range|reduce|exp2)[a-z0-9]*(ss|sd|ps|pd|sh|ph)$/
		}
		/file format/ { member = $0; sub(/:.*/, "", member); next }
		/^[0-9a-f]+ <.*>:$/ {
			fn = $0; sub(/^[0-9a-f]+ </, "", fn); sub(/>:$/, "", fn); next
		}
		NF >= 2 && $1 ~ /^ *[0-9a-f]+:$/ {
			ins = $2
			nt = split(ins, tok, " ")
			i = 1
			while (i < nt && tok[i] ~ /^(lock|rep|repz|repe|repnz|repne|notrack|bnd|data16|data32|addr16|addr32|cs|ds|es|fs|gs|ss|xacquire|xrelease|rex(\.[wrxb]+)?|\{[a-z0-9]+\})$/)
				i++
			if (nt >= 1 && tok[i] != "(bad)" && is_float(tolower(tok[i])))
				printf "#   %s: %s: %s\n", member, fn, ins
		}')
	if [ -n "$bad" ]; then
		echo "not ok - floating point in $f"
		printf '%s\n' "$bad"
		status=1
	else
		echo "ok - no floating point in $f"
	fi
done
exit $status
