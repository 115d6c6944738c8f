# SPDX-License-Identifier: MIT
#
# TAP helpers for the CLI test scripts (sourced).  Set TAP_NAME (the
# prefix of every line) first; n counts the tests, failed is 1 after a
# failure.
n=0 failed=0

# check DESCRIPTION STATUS PATTERN COMMAND...: the command exits with
# STATUS and its output (stdout and stderr) matches the extended regex.
check() {
	local desc=$1 want=$2 pat=$3 out rc
	shift 3
	n=$((n + 1))
	out=$("$@" 2>&1)
	rc=$?
	if [ "$rc" = "$want" ] && grep -qE -- "$pat" <<<"$out"; then
		echo "ok $n $TAP_NAME: $desc"
	else
		echo "not ok $n $TAP_NAME: $desc (status $rc, want $want; output: $(head -c 2000 <<<"$out"))"
		failed=1
	fi
}

# ok_if DESCRIPTION CONDITION: the shell condition holds.
ok_if() {
	n=$((n + 1))
	if eval "$2"; then
		echo "ok $n $TAP_NAME: $1"
	else
		echo "not ok $n $TAP_NAME: $1"
		failed=1
	fi
}
