#!/bin/bash
# Usage: test.sh all|host|qemu|gdb|bochs|kvm
# Runs the host unit tests and boots the test image under each emulator with a
# timeout, reads the TAP lines from the serial log, prints one result line per
# run and, last, the overall "N passed, N failed, N skipped". Exits non-zero
# on any failure, crash, hang or timeout, and when a VMX test skips on a CPU
# that offers VMX.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/emu.sh"
BUILD=${BUILD:-build}
ISO=$BUILD/minihv-test.iso
LOGS=$BUILD/test-logs
QEMU_TIMEOUT=${QEMU_TIMEOUT:-180}
BOCHS_TIMEOUT=${BOCHS_TIMEOUT:-900}
HOST_TIMEOUT=${HOST_TIMEOUT:-120}
# Two VMX models so capability fallbacks run: Skylake-X (EPT 1G pages, A/D bits)
# and Ivy Bridge (EPT without 1G pages or A/D bits, no 1G host pages).
BOCHS_CPUS=${BOCHS_CPUS:-corei7_skylake_x corei7_ivy_bridge_3770k}
mkdir -p "$LOGS"

P=0 F=0 S=0

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# tally LABEL LOG RC EXPECT_PASS_RC EXPECT_FAIL_RC SECONDS [require-vmx]
tally() {
	local label=$1 log=$2 rc=$3 pass_rc=$4 fail_rc=$5 secs=$6 need_vmx=${7:-}
	local p f s extra=0 why=()
	p=$(grep -aEc '^ok [0-9]+ ' "$log" | head -1)
	s=$(grep -aEc '^ok [0-9]+ .*# SKIP' "$log" | head -1)
	f=$(grep -aEc '^not ok [0-9]+ ' "$log" | head -1)
	p=$((p - s))
	local summary
	summary=$(grep -aE '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped' "$log" | tail -1 | tr -d '\r')
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		why+=("timed out (hang)"); extra=$((extra + 1))
	elif [ -z "$summary" ]; then
		why+=("no summary line: crashed (exit $rc)"); extra=$((extra + 1))
	else
		[ "$summary" = "$p passed, $f failed, $s skipped" ] ||
			{ why+=("summary '$summary' disagrees with the TAP lines"); extra=$((extra + 1)); }
		if [ "$f" = 0 ] && [ "$rc" != "$pass_rc" ]; then
			why+=("exit status $rc, expected $pass_rc for a pass"); extra=$((extra + 1))
		elif [ "$f" != 0 ] && [ "$rc" != "$fail_rc" ]; then
			why+=("exit status $rc, expected $fail_rc for a failure"); extra=$((extra + 1))
		fi
	fi
	if grep -aq 'probe: vmx=yes' "$log"; then
		local vskip
		vskip=$(grep -aEi '^ok [0-9]+ .*# SKIP.*vmx' "$log" | wc -l)
		if [ "$vskip" != 0 ]; then
			why+=("$vskip VMX test(s) skipped although the CPU offers VMX"); extra=$((extra + vskip))
			s=$((s - vskip))
		fi
	elif [ -n "$need_vmx" ]; then
		why+=("the CPU model reports no VMX: this emulator must offer VMX and EPT"); extra=$((extra + 1))
	fi
	if [ -n "$need_vmx" ] && grep -aq 'probe: vmx=yes' "$log" && ! grep -aq 'probe: .*ept=yes' "$log"; then
		why+=("the CPU model reports no EPT"); extra=$((extra + 1))
	fi
	f=$((f + extra))
	P=$((P + p)) F=$((F + f)) S=$((S + s))
	printf '%-10s %d passed, %d failed, %d skipped (%ss) log: %s\n' "$label:" "$p" "$f" "$s" "$secs" "$log"
	if [ "$f" != 0 ]; then
		for w in "${why[@]}"; do echo "  $label: $w"; done
		grep -aE '^not ok|: FAIL |^PANIC' "$log" | head -40 | sed "s#^#  $label| #"
		[ ${#why[@]} -gt 0 ] && tail -n 15 "$log" | sed "s#^#  $label> #"
	fi
	grep -aE '^ok [0-9]+ .*# SKIP' "$log" | sed "s#^#  $label skip: #"
}

run_host() {
	local t log start rc
	for t in "$BUILD"/host/test_*; do
		[ -x "$t" ] || continue
		log=$LOGS/host-$(basename "$t").log
		start=$(now)
		timeout -k 5 "$HOST_TIMEOUT" "$t" > "$log" 2>&1 </dev/null
		rc=$?
		tally "host/$(basename "$t" | sed 's/^test_//')" "$log" "$rc" 0 1 "$(elapsed "$start")"
	done
}

run_qemu() { # tcg|kvm
	local accel=$1 log=$LOGS/qemu-$1.log start rc
	rm -f "$log"
	qemu_cmd "$accel" "$ISO" "$log"
	start=$(now)
	timeout -k 5 "$QEMU_TIMEOUT" "${CMD[@]}" > "$LOGS/qemu-$accel.stderr" 2>&1 </dev/null
	rc=$?
	touch "$log"
	# isa-debug-exit: status v exits QEMU with (v << 1) | 1.
	tally "qemu-$accel" "$log" "$rc" 1 3 "$(elapsed "$start")"
}

run_bochs() {
	local BOCHS_CPU=$1
	local dir=$LOGS/bochs-$BOCHS_CPU log start rc
	mkdir -p "$dir"
	log=$dir/serial.log
	rm -f "$log"
	bochs_cmd "$ISO" "$log"
	start=$(now)
	# Bochs catches SIGTERM; -k makes sure it dies. Its exit status alone proves
	# nothing (SIGINT quits with 0), so tally() also reads the summary line.
	timeout -k 10 "$BOCHS_TIMEOUT" "${CMD[@]}" > "$dir/stdout" 2>&1 </dev/null
	rc=$?
	touch "$log"
	tally "bochs/$BOCHS_CPU" "$log" "$rc" 0 1 "$(elapsed "$start")" need-vmx
}

run_gdb() {
	local log=$LOGS/gdb.log start rc
	start=$(now)
	"$here/gdb-test.sh" > "$log" 2>&1 </dev/null
	rc=$?
	tally "gdb" "$log" "$rc" 0 1 "$(elapsed "$start")"
}

kvm_usable() {
	[ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]
}

what=${1:-all}
case "$what" in
all)
	run_host
	run_qemu tcg
	run_gdb
	for cpu in $BOCHS_CPUS; do run_bochs "$cpu"; done
	if kvm_usable; then
		run_qemu kvm
	else
		echo "qemu-kvm:  skipped: /dev/kvm is missing or not accessible"
		S=$((S + 1))
	fi
	;;
host) run_host ;;
gdb) run_gdb ;;
qemu) run_qemu tcg ;;
bochs) for cpu in $BOCHS_CPUS; do run_bochs "$cpu"; done ;;
kvm)
	kvm_usable || { echo "qemu-kvm: /dev/kvm is missing or not accessible"; exit 1; }
	run_qemu kvm
	;;
*) echo "test.sh: unknown part '$what' (all, host, qemu, gdb, bochs, kvm)" >&2; exit 2 ;;
esac
echo "$P passed, $F failed, $S skipped"
[ "$F" = 0 ]
