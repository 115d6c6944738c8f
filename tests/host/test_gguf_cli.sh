#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# GGUF import through the inpu CLI, against the llama2.c path: the shared
# stories260K.gguf (llama.cpp's conversion of stories260K.bin) quantizes to
# the same weights, parameters and streams as the .bin with tok512.bin, and
# both .inpu files score the same perplexity with their own tokenizers.
# The quantization runs on 40 calibration stories to keep it short; the
# identity holds for any options (userspace/quantizer/RESULTS.md has the
# full-protocol numbers).
# usage: test_gguf_cli.sh PATH_TO_INPU   (prints TAP; needs INPU_SHARED)
set -u
inpu=$1
TAP_NAME=gguf-cli
. "$(dirname "$0")/tap.sh"

echo "TAP version 13"
echo "1..11"
if [ -z "${INPU_SHARED:-}" ] || [ ! -f "$INPU_SHARED/models/gguf/stories260K-f32.gguf" ]; then
	for i in $(seq 11); do
		echo "not ok $i $TAP_NAME: no \$INPU_SHARED/models/gguf/stories260K-f32.gguf (set INPU_SHARED)"
	done
	exit 1
fi
S=$INPU_SHARED
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dev=$S/data/tinystories-dev.txt
calib=(-c "$S/data/tinystories-calib.txt" -s 40)

# The bytes of @1 from offset @2 to @3 (exclusive).
span() { tail -c +$(($2 + 1)) "$1" | head -c $(($3 - $2)); }
# data_offset + data_size: where the tokenizer section starts.
data_end() { echo $(($(od -An -t u8 -j 64 -N 8 "$1") + $(od -An -t u8 -j 72 -N 8 "$1"))); }

# llama.cpp's llama2.c converter writes context_length 128 whatever the
# model; --seq-len gives the checkpoint's 512 back.
check "quantize a GGUF without -z" 0 '^time:' \
	"$inpu" quantize -m "$S/models/gguf/stories260K-f32.gguf" --seq-len 512 \
	"${calib[@]}" -o "$tmp/gguf.inpu"
check "quantize the llama2.c checkpoint" 0 '^time:' \
	"$inpu" quantize -m "$S/models/stories260K.bin" -z "$S/models/tok512.bin" \
	"${calib[@]}" -o "$tmp/bin.inpu"
g=$tmp/gguf.inpu b=$tmp/bin.inpu
# Header up to the digest, note, config, parameters, tensor table and data
# are identical; only the size, the digest and the tokenizer section differ.
ok_if "weights, parameters and tensor table are byte-identical" \
	'[ -f "$g" ] && [ -f "$b" ] && [ "$(data_end "$g")" = "$(data_end "$b")" ] &&
	 cmp -s <(span "$g" 16 80) <(span "$b" 16 80) &&
	 cmp -s <(span "$g" 112 240) <(span "$b" 112 240) &&
	 cmp -s <(span "$g" 248 "$(data_end "$g")") <(span "$b" 248 "$(data_end "$b")")'
ok_if "the tokenizers differ only in how BOS and EOS are spelled (4 bytes)" \
	'[ $(($(stat -c %s "$b") - $(stat -c %s "$g"))) = 4 ]'

for f in gguf bin; do
	"$inpu" ppl -m "$tmp/$f.inpu" -b cpu -f "$dev" -s 30 >"$tmp/$f.ppl" 2>&1
	echo "rc $?" >>"$tmp/$f.ppl"
done
ok_if "integer perplexity identical with each file's own tokenizer" \
	'grep -q "^rc 0" "$tmp/gguf.ppl" &&
	 diff <(grep -E "^(tokens|nll/token|perplexity):" "$tmp/gguf.ppl") \
	      <(grep -E "^(tokens|nll/token|perplexity):" "$tmp/bin.ppl") >/dev/null &&
	 grep -q "^perplexity:" "$tmp/gguf.ppl"'
{
	"$inpu" ppl -m "$S/models/gguf/stories260K-f32.gguf" -f "$dev" -s 30 --seq-len 512
	"$inpu" ppl -m "$S/models/stories260K.bin" -z "$S/models/tok512.bin" -f "$dev" -s 30
} 2>&1 | grep -E "^(tokens|nll/token|perplexity):" >"$tmp/float.ppl"
ok_if "float perplexity of the GGUF equals the checkpoint's" \
	'[ "$(wc -l <"$tmp/float.ppl")" = 6 ] &&
	 [ "$(head -n 3 "$tmp/float.ppl")" = "$(tail -n 3 "$tmp/float.ppl")" ]'
check "run needs no tokenizer file" 0 'Once upon a time' \
	"$inpu" run -m "$g" -b cpu -p "Once upon a time" -n 24
check "a llama2.c checkpoint still needs -z" 1 \
	'stories260K.bin is a llama2.c checkpoint, which carries no tokenizer: give one with -z' \
	"$inpu" quantize -m "$S/models/stories260K.bin" "${calib[@]}" -o "$tmp/x.inpu"
check "a Q4_0 GGUF quantizes" 0 '^time:' \
	"$inpu" quantize -m "$S/models/gguf/stories260K-pad192-q4_0.gguf" --seq-len 512 \
	"${calib[@]}" -o "$tmp/q4.inpu"
check "and runs" 0 '^perplexity: +[0-9]' "$inpu" ppl -m "$tmp/q4.inpu" -b cpu -f "$dev" -s 5
check "--seq-len is for float checkpoints" 2 '--seq-len applies to float checkpoints' \
	"$inpu" ppl -m "$g" -b cpu -f "$dev" --seq-len 64
exit $failed
