#!/bin/bash
# Usage: run.sh qemu|kvm|bochs|debug ISO [GDB_PORT]
# Boots ISO with the serial console on this terminal (or, for tests, see
# scripts/test.sh which drives the same emulator settings with a log file).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/emu.sh"
mode=$1 iso=$2
if [ "$mode" = auto ]; then
	# Guests need VMX: QEMU/KVM when this CPU has it, else Bochs (QEMU TCG has none).
	if [ -c /dev/kvm ] && [ -w /dev/kvm ] && grep -qw vmx /proc/cpuinfo; then
		mode=kvm
	else
		mode=bochs
		echo "run.sh: no KVM with VMX here: booting under Bochs (Ctrl-C stops it)" >&2
	fi
fi
case "$mode" in
qemu)  qemu_cmd tcg "$iso" stdio; exec "${CMD[@]}" ;;
kvm)   qemu_cmd kvm "$iso" stdio; exec "${CMD[@]}" ;;
debug) qemu_cmd tcg "$iso" stdio; exec "${CMD[@]}" -S -gdb "tcp::${3:-1234}" ;;
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
