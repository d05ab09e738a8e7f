#!/bin/bash
# make bench: boot-to-summary wall time of the test image under each emulator,
# and the deterministic counts the kernel reports (tests, host page-table pages).
# Timings are host-side measurements for the record; no test asserts on them.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/emu.sh"
BUILD=${BUILD:-build}
ISO=$BUILD/minihv-test.iso
OUT=$BUILD/bench
mkdir -p "$OUT"

measure() { # label, serial log, then the command
	local label=$1 log=$2 start end
	shift 2
	start=$(date +%s.%N)
	timeout -k 10 900 "$@" > "$OUT/$label.stdout" 2>&1 </dev/null
	end=$(date +%s.%N)
	awk -v a="$start" -v b="$end" -v l="$label" 'BEGIN { printf "%-10s boot-to-exit %6.2f s", l, b - a }'
	printf '  summary: %s  host page tables: %s\n' \
		"$(grep -a 'passed,' "$log" | tail -1 | tr -d '\r')" \
		"$(grep -a 'table pages' "$log" | sed 's/.*, //' | tr -d '\r')"
}

qemu_cmd tcg "$ISO" "$OUT/qemu-tcg.serial"
measure qemu-tcg "$OUT/qemu-tcg.serial" "${CMD[@]}"
bochs_cmd "$ISO" "$OUT/bochs.serial"
measure bochs "$OUT/bochs.serial" "${CMD[@]}"
