#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The inpu-fw tool: argument handling, build/info/verify, error messages.
# usage: test_fw_cli.sh PATH_TO_INPU_FW   (prints TAP)
set -u
fw=$1
TAP_NAME=fw-cli
. "$(dirname "$0")/tap.sh"
tmp=$(mktemp -d /tmp/inpu-fw-cli.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# Write one byte (hex) at an offset of a copy of the good image.
patch() { # out, offset, hex byte
	cp "$tmp/a.bin" "$1"
	printf "\\x$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

echo "TAP version 13"
echo "1..32"
check "--help exits 0 and lists commands" 0 '^usage: inpu-fw <command>' "$fw" --help
check "no arguments is a usage error" 2 '^usage:' "$fw"
check "unknown command is named" 2 "unknown command 'frobnicate'" "$fw" frobnicate
check "--version" 0 '^inpu-fw [0-9]+\.[0-9]+\.[0-9]+ \(image format 1, engine ABI 2\)' "$fw" --version
check "build --help" 0 '^usage: inpu-fw build' "$fw" build --help
check "info --help" 0 '^usage: inpu-fw info' "$fw" info --help
check "verify --help" 0 '^usage: inpu-fw verify' "$fw" verify --help
check "build needs -o" 2 'no output file' "$fw" build
check "build bad option" 2 "unknown option '--bogus'" "$fw" build --bogus -o "$tmp/x.bin"
check "build option without its value" 2 "option '--exp-len' needs a value" "$fw" build -o "$tmp/x.bin" --exp-len
check "build --exp-len 0" 2 "bad --exp-len '0'" "$fw" build -o "$tmp/x.bin" --exp-len 0
check "build --exp-frac 31" 2 "bad --exp-frac '31'" "$fw" build -o "$tmp/x.bin" --exp-frac 31
check "build --fw-version 1.2" 2 "bad --fw-version '1.2'" "$fw" build -o "$tmp/x.bin" --fw-version 1.2
check "build SiLU overflow" 2 'overflow int32' "$fw" build -o "$tmp/x.bin" --silu-out-frac 30
ok_if "failed builds leave no file" '[ -z "$(ls -A "$tmp")" ]'

check "build" 0 "a.bin: [0-9]+ bytes, fw 1.0.0, sha256 [0-9a-f]{64}" \
	"$fw" build -o "$tmp/a.bin" --note "cli test"
check "build again" 0 "b.bin: " "$fw" build -o "$tmp/b.bin" --note "cli test"
ok_if "build twice gives identical bytes" 'cmp -s "$tmp/a.bin" "$tmp/b.bin"'
check "build replaces a file" 0 "b.bin: " "$fw" build -o "$tmp/b.bin" --fw-version 2.5.7
ok_if "no temporary files left" '[ "$(ls -A "$tmp" | grep -c tmp)" = 0 ]'
check "verify a good image" 0 'a.bin: ok: fw 1.0.0, format 1, abi 2, 3 sections' "$fw" verify "$tmp/a.bin"
check "info shows the version" 0 'fw_version +2\.5\.7 \(0x00020507\)' "$fw" info "$tmp/b.bin"
check "info shows every section" 0 '2 note +0x00[0-9a-f]+ +8 +64' "$fw" info "$tmp/a.bin"
check "info shows digest status" 0 'digest +[0-9a-f]{64} at 0x[0-9a-f]+ \(ok\)' "$fw" info "$tmp/a.bin"
"$fw" info --json "$tmp/a.bin" >"$tmp/a.json"
ok_if "info --json is one JSON object naming every section" \
	'python3 -c "import json,sys; j=json.load(open(sys.argv[1])); assert [s[\"name\"] for s in j[\"sections\"]] == [\"exp\", \"silu\", \"note\"]; assert j[\"valid\"] and j[\"digest\"][\"ok\"] and j[\"note\"] == \"cli test\"; assert j[\"exp\"][\"len\"] == 4096 and j[\"silu\"][\"zero\"] == 2048" "$tmp/a.json"'

check "verify names a missing file" 1 'nonexistent.bin: No such file or directory' "$fw" verify "$tmp/nonexistent.bin"
check "info names a missing file" 1 'nonexistent.bin: No such file or directory' "$fw" info "$tmp/nonexistent.bin"
# Section 1 (SiLU) at 0x2100: make it 0x2104.
patch "$tmp/mis.bin" 96 04
check "verify: misaligned section" 1 \
	'mis.bin: section 1 field "offset" at image offset 0x60: section misaligned' "$fw" verify "$tmp/mis.bin"
# A byte inside the SiLU values (0x2110..0x6110): the structure stays valid.
patch "$tmp/dig.bin" 10000 ff
check "verify: one payload byte flipped" 1 'dig.bin: field "digest" at image offset 0x[0-9a-f]+: SHA-256 digest mismatch' \
	"$fw" verify "$tmp/dig.bin"
head -c 100 "$tmp/a.bin" >"$tmp/short.bin"
check "verify: truncated" 1 'short.bin: field "image_size" at image offset 0x18: image_size does not match' \
	"$fw" verify "$tmp/short.bin"
check "verify: one bad file of two fails" 1 'mis.bin: section 1' "$fw" verify "$tmp/a.bin" "$tmp/mis.bin"
check "info on a bad image still shows it, status 1" 1 'status +invalid: section 1 field "offset"' "$fw" info "$tmp/mis.bin"
exit $failed
