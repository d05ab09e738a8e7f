#!/bin/bash
# The bad-input run of `make test`: boots each build/bad-*.iso (Makefile,
# "Bad input") under QEMU TCG and checks that minihv refused the input with a
# message naming the mistake, and left with the failure status. Prints TAP
# lines and "N passed, N failed, N skipped".
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/emu.sh"
BUILD=${BUILD:-build}
OUT=$BUILD/test-logs/bad-input
TIMEOUT=${QEMU_TIMEOUT:-180}
mkdir -p "$OUT"

# name, then the message the serial log must hold (a fixed string), then
# QEMU's exit status if not 3 (minihv's status 1): a PC guest that cannot be
# created is status 2, so 5.
cases=(
	"cmdline-long|bad command line: the command line has 5019 characters, more than the 4095 the kernel takes"
	"key-twice|bad command line: option 'quiet' given twice"
	"tests-glob|tests= glob 'pr_mapp' matches no test; closest: pt_map"
	"guest-empty|cannot run the guest: guest image is empty (0 bytes)"
	"vcpu2-fails|minihv: the guest failed: vCPU 2: guest exited with code 5"
	"vcpu2-fails|guest[guest/2]: vCPU 2 of 4"
	"vcpu2-fails|VM[guest]   vCPU 2: "
	"linux-small|in guest RAM of 32 MiB: give the guest more memory (guest_mem=)|5"
)

n=0 failed=0 booted=
for c in "${cases[@]}"; do
	name=${c%%|*} want=${c#*|} exit=3
	case "$want" in *"|"*) exit=${want##*|} want=${want%|*} ;; esac
	log=$OUT/$name.log
	# Cases of one image in a row check the same boot's log.
	if [ "$name" != "$booted" ]; then
		rm -f "$log"
		qemu_cmd tcg "$BUILD/bad-$name.iso" "$log"
		timeout -k 5 "$TIMEOUT" "${CMD[@]}" > "$OUT/$name.stderr" 2>&1 </dev/null
		rc=$?
		touch "$log"
		booted=$name
	fi
	n=$((n + 1))
	# isa-debug-exit: minihv's failure status 1 leaves QEMU with (1 << 1) | 1 = 3.
	if [ "$rc" = "$exit" ] && grep -aqF -- "$want" "$log"; then
		echo "ok $n bad_input_$name"
	else
		echo "not ok $n bad_input_$name"
		echo "# bad_input_$name: FAIL expected exit $exit and \"$want\"; got exit $rc, log $log:"
		tail -n 5 "$log" | sed 's/^/#   /'
		failed=$((failed + 1))
	fi
done
echo "$((n - failed)) passed, $failed failed, 0 skipped"
[ "$failed" = 0 ]
