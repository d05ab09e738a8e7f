#!/bin/bash
# Usage: run.sh qemu|kvm|bochs|debug ISO [GDB_PORT]
# Boots ISO with the serial console on this terminal (or, for tests, see
# scripts/test.sh which drives the same emulator settings with a log file).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/emu.sh"
mode=$1 iso=$2
# The machine's memory follows the guest's: guest_mem= on the image's
# command line (its grub.cfg) plus 2 GiB for minihv, at least the 3 GiB
# default; QEMU_MEM= or BOCHS_MEGS= given by the user win.
cfg=${iso%.iso}.isodir/boot/grub/grub.cfg
gm=$(sed -n 's/.*multiboot2 [^ ]*minihv.elf.* guest_mem=\([^ ]*\).*/\1/p' "$cfg" 2>/dev/null | head -1)
if [ -n "$gm" ] && mib=$(size_mib "$gm"); then
	want=$((mib + 2048))
	[ "$want" -lt 3072 ] && want=3072
	[ -n "${USER_QEMU_MEM:-}" ] || QEMU_MEM=${want}M
	[ -n "${USER_BOCHS_MEGS:-}" ] || BOCHS_MEGS=$want
fi
if [ "$mode" = auto ]; then
	# Guests need VMX or SVM: QEMU/KVM when this CPU has either, else QEMU
	# TCG, whose -cpu max emulates SVM with nested paging, else Bochs (VMX).
	if [ -c /dev/kvm ] && [ -w /dev/kvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo; then
		mode=kvm
	elif qemu-system-x86_64 -cpu help 2>/dev/null | grep -qw npt; then
		mode=qemu
		echo "run.sh: no KVM with VMX or SVM here: QEMU TCG, guests on its emulated SVM" >&2
	else
		mode=bochs
		echo "run.sh: no KVM and no QEMU with SVM here: booting under Bochs (Ctrl-C stops it)" >&2
	fi
fi
# QEMU leaves through isa-debug-exit with (v << 1) | 1 for minihv's status v,
# so 1 is a pass and 3 a failure; QEMU's own errors also exit 1, so a pass
# also needs minihv's "exit status 0" line. The console is copied to a log to
# read it. Returns minihv's status: 0 pass, 1 failure, else QEMU's.
run_qemu() {
	local log rc
	log=$(mktemp)
	set +e
	"$@" | tee "$log"
	rc=${PIPESTATUS[0]}
	set -e
	# "(pass)" says minihv's verdict: a multiboot1 guest's status is QEMU's
	# (code << 1) | 1, so 1 is its pass.
	if grep -aq '^minihv: exit status [0-9]* (pass)' "$log"; then
		rc=0
	elif [ "$rc" = 1 ] && grep -aq '^minihv: exit status 0' "$log"; then
		rc=0
	elif [ "$rc" = 3 ] || grep -aq '^minihv: exit status [0-9]* (fail)' "$log"; then
		rc=1
	fi
	rm -f "$log"
	return "$rc"
}

case "$mode" in
qemu)  qemu_cmd tcg "$iso" stdio; run_qemu "${CMD[@]}" ;;
kvm)   qemu_cmd kvm "$iso" stdio; run_qemu "${CMD[@]}" ;;
debug) qemu_cmd tcg "$iso" stdio; run_qemu "${CMD[@]}" -S -gdb "tcp::${3:-1234}" ;;
bochs)
	log=$(mktemp -d)/serial.log
	bochs_cmd "$iso" "$log"
	"${CMD[@]}" >/dev/null 2>&1 </dev/null &
	pid=$!
	trap 'kill $pid 2>/dev/null; sleep 1; kill -9 $pid 2>/dev/null' INT TERM
	touch "$log"
	tail -f "$log" --pid=$pid
	wait $pid
	;;
*) echo "run.sh: unknown emulator '$mode' (qemu, kvm, bochs, debug)" >&2; exit 2 ;;
esac
