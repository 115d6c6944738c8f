# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# make bench's anchor: llama.cpp, the program users would pick instead,
# measured in the same run as inpu (tests/bench/run-bench.sh sources this
# after scripts/env.sh).  The source is the tarball in the shared anchors
# folder (never copied into the repository); it is built once into the
# cache, then every run converts the very checkpoints inpu benchmarks
# with llama.cpp's own tools and runs llama-bench on one thread.

# llamacpp_build: build llama-bench, llama-quantize and the llama2.c
# converter into $INPU_CACHE/<tarball name>/ unless a finished build is
# there (its stamp file); sets LLAMACPP_BIN.  Static binaries: nothing
# else to find at run time.
llamacpp_build() {
	local tarball name dir
	tarball=$(find "$(inpu_shared)/anchors" -maxdepth 1 -name 'llama.cpp-*.tar.gz' \
		2>/dev/null | sort | tail -n 1) || true
	if [ -z "$tarball" ]; then
		echo "bench: no llama.cpp-*.tar.gz in $(inpu_shared)/anchors" >&2
		return 1
	fi
	name=$(basename "$tarball" .tar.gz)
	dir=$INPU_CACHE/$name
	LLAMACPP_BIN=$dir/llama.cpp/build/bin
	[ -f "$dir/built" ] && return 0
	for tool in cmake g++; do
		command -v $tool >/dev/null ||
			{ echo "bench: $tool is missing; run 'make deps' as root" >&2; return 1; }
	done
	echo "bench: building $name into $dir (once; a few minutes)"
	rm -rf "$dir"
	mkdir -p "$dir"
	tar xzf "$tarball" -C "$dir"
	# One thread is what is compared; OpenMP and curl are not needed.
	if ! (cd "$dir/llama.cpp" &&
		cmake -B build -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON \
			-DBUILD_SHARED_LIBS=OFF -DLLAMA_CURL=OFF -DGGML_OPENMP=OFF \
			-DLLAMA_BUILD_TESTS=OFF >"$dir/build.log" 2>&1 &&
		cmake --build build -j"$(nproc)" --target llama-bench llama-quantize \
			llama-convert-llama2c-to-ggml >>"$dir/build.log" 2>&1); then
		tail -n 20 "$dir/build.log" >&2
		echo "bench: the llama.cpp build failed (log: $dir/build.log)" >&2
		return 1
	fi
	touch "$dir/built"
}

# The llama.cpp types each inpu scheme is compared with: the same bits
# (Q8_0 for W8A8) and the 4-bit types users pick (Q4_0, Q4_K_M for W4A8).
LLAMACPP_TYPES="q8_0 q4_0 q4_k_m"

# llamacpp_gguf NAME CKPT TOKENIZER DIR: DIR/NAME-f32.gguf from the llama2.c
# checkpoint with llama.cpp's converter, then DIR/NAME-TYPE.gguf for each
# of LLAMACPP_TYPES with llama-quantize; kept while newer than CKPT.
llamacpp_gguf() {
	local name=$1 ckpt=$2 tok=$3 dir=$4 t f32=$4/$1-f32.gguf
	if ! [ "$f32" -nt "$ckpt" ]; then
		"$LLAMACPP_BIN/llama-convert-llama2c-to-ggml" --copy-vocab-from-model "$tok" \
			--llama2c-model "$ckpt" --llama2c-output-model "$f32.tmp" \
			>"$dir/$name-convert.log" 2>&1 ||
			{ tail -n 5 "$dir/$name-convert.log" >&2; return 1; }
		mv "$f32.tmp" "$f32"
	fi
	for t in $LLAMACPP_TYPES; do
		[ "$dir/$name-$t.gguf" -nt "$f32" ] && continue
		"$LLAMACPP_BIN/llama-quantize" "$f32" "$dir/$name-$t.gguf.tmp" "$t" 1 \
			>"$dir/$name-$t.log" 2>&1 ||
			{ tail -n 5 "$dir/$name-$t.log" >&2; return 1; }
		mv "$dir/$name-$t.gguf.tmp" "$dir/$name-$t.gguf"
	done
}

# llamacpp_bench OUT.json PROMPT_TOKENS GEN_TOKENS GGUF...: llama-bench on
# one thread, prompt processing at PROMPT_TOKENS and at 256, decoding of
# GEN_TOKENS, 3 repetitions, as JSON.
llamacpp_bench() {
	local out=$1 pp=$2 tg=$3 m args=()
	shift 3
	for m in "$@"; do
		args+=(-m "$m")
	done
	"$LLAMACPP_BIN/llama-bench" "${args[@]}" -t 1 -p "$pp,256" -n "$tg" -r 3 \
		-o json >"$out.tmp" 2>"${out%.json}.log" ||
		{ tail -n 5 "${out%.json}.log" >&2; return 1; }
	mv "$out.tmp" "$out"
}
