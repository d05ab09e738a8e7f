#!/bin/bash
# The gdb test of `make test`: QEMU TCG halted with its GDB stub, a batch gdb
# session that breaks in the gdb_fixture test, checks the backtrace, runs
# every hv-* helper at gdb_checkpoint() and compares its output with what the
# kernel printed for the same structures, takes a backtrace from inside an
# exception handler, then lets the run finish. In between it stops a running
# guest (SVM under QEMU TCG) in its nested-page-fault path, takes the
# backtrace from the exit to the fault handler, and walks the nested page
# tables and the vCPU's state with hv-tdp and hv-vcpu. Prints TAP lines and
# "N passed, N failed, N skipped". gdb and QEMU are always ended. It boots its
# own image (tests=gdb_fixture,guest_faults_4k_backing,traps_unexpected_caught),
# whatever TESTS= says. Then it debugs a guest as its author would: make debug
# GUEST=hello.bin and make gdb GUEST_ELF=hello.elf, a stop in the guest's
# code, its live registers, its memory and code read through its own tables.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/emu.sh"
BUILD=${BUILD:-build}
ISO=$BUILD/minihv-gdb.iso
KERNEL=$BUILD/minihv.elf
OUT=$BUILD/test-logs/gdb
GDB_TIMEOUT=${GDB_TIMEOUT:-180}
mkdir -p "$OUT"
rm -f "$OUT"/*

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
qemu_cmd tcg "$ISO" "$OUT/serial.log"
"${CMD[@]}" -S -gdb "tcp:127.0.0.1:$port" > "$OUT/qemu.stderr" 2>&1 </dev/null &
qpid=$!
cleanup() { kill "$qpid" 2>/dev/null; sleep 0.2; kill -9 "$qpid" 2>/dev/null; wait "$qpid" 2>/dev/null; }
trap cleanup EXIT

timeout -k 5 "$GDB_TIMEOUT" gdb -q -batch -nx -x scripts/gdbinit \
	-ex "target remote 127.0.0.1:$port" \
	-ex "hbreak ktest_fn_gdb_fixture" -ex "continue" \
	-ex "echo @@bt-begin\n" -ex "bt" -ex "echo @@bt-end\n" \
	-ex "delete" -ex "hbreak gdb_checkpoint" -ex "continue" \
	-ex "echo @@helpers-begin\n" \
	-ex "hv-pt vm->slots.slot[0].hva" \
	-ex "hv-ept gdbvm vm->slots.slot[0].base_gfn << 12" \
	-ex "hv-ept gdbvm (vm->slots.slot[0].base_gfn << 12) + 4096" \
	-ex "hv-inval gdbvm" -ex "hv-gpc gdbvm" -ex "hv-vcpu gdbvm" \
	-ex "echo @@helpers-end\n" \
	-ex "hv-ept nosuchvm 0" -ex "hv-pt" -ex "hv-vms" \
	-ex "delete" -ex "hbreak vcpu_handle_tdp_fault" -ex "continue" \
	-ex "echo @@npfbt-begin\n" -ex "bt" -ex "echo @@npfbt-end\n" \
	-ex "set \$hvvm = v->vm" -ex "set \$hvgpa = gpa" -ex "delete" -ex "finish" \
	-ex "echo @@npt-begin\n" -ex "hv-tdp \$hvvm \$hvgpa" -ex "hv-vcpu \$hvvm" \
	-ex "echo @@npt-end\n" \
	-ex "hbreak trap_handler" -ex "continue" \
	-ex "echo @@trapbt-begin\n" -ex "bt" -ex "echo @@trapbt-end\n" -ex "hv-tests" \
	-ex "delete" -ex "continue" \
	"$KERNEL" > "$OUT/gdb.log" 2>&1 </dev/null
grc=$?
wait "$qpid" 2>/dev/null
trap - EXIT
cleanup

# A user's guest, the way README tells its author: `make debug GUEST=...` in
# one terminal, `make gdb GUEST_ELF=...` in another (here GDB_EXTRA adds
# -batch and the commands). GUEST_BREAK=_start names minihv's _start too,
# which runs first, at boot (and GRUB runs at 0x100000 before it): hv-break
# passes those and stops in the guest's.
GUEST_BIN=$BUILD/guest/hello.bin GUEST_ELF=$BUILD/guest/hello.elf
gport=$(free_port)
setsid make -s --no-print-directory debug BUILD="$BUILD" GUEST="$GUEST_BIN" GDB_PORT="$gport" \
	> "$OUT/guest-serial.log" 2>&1 </dev/null &
dpid=$!
gcleanup() { kill -- -"$dpid" 2>/dev/null; sleep 0.2; kill -9 -- -"$dpid" 2>/dev/null; wait "$dpid" 2>/dev/null; }
trap gcleanup EXIT
# QEMU listens once make has built the image: watch /proc/net/tcp, not a
# probe connection (QEMU would take that for gdb's).
listening() { awk -v p="$(printf ':%04X' "$gport")" '$2 ~ p"$" && $4 == "0A" { f = 1 } END { exit !f }' /proc/net/tcp; }
for _ in $(seq 600); do listening && break; kill -0 "$dpid" 2>/dev/null || break; sleep 0.1; done
timeout -k 5 "$GDB_TIMEOUT" make -s --no-print-directory gdb BUILD="$BUILD" GDB_PORT="$gport" \
	GUEST_ELF="$GUEST_ELF" GUEST_BREAK=_start GDB_EXTRA="-batch -nx \
	-ex 'echo @@entry-begin\n' -ex 'hv-vcpu' -ex 'hv-disas \$\$pc 2' -ex 'echo @@entry-end\n' \
	-ex 'delete' -ex 'hv-break guest_main' -ex 'continue' \
	-ex 'echo @@main-begin\n' -ex 'hv-vcpu' -ex 'hv-gva \$\$pc 16' -ex 'echo @@main-end\n' \
	-ex 'delete' -ex 'hbreak vcpu_handle_tdp_fault' -ex 'continue' \
	-ex 'echo @@host-begin\n' -ex 'hv-vcpu guest' -ex 'hv-disas guest \$\$vcpu_rip 1' \
	-ex 'hv-gpa guest 0x100020 16' -ex 'echo @@host-end\n' -ex 'delete' -ex 'continue'" \
	> "$OUT/guest-gdb.log" 2>&1 </dev/null
ggrc=$?
for _ in $(seq 100); do kill -0 "$dpid" 2>/dev/null || break; sleep 0.1; done
trap - EXIT
gcleanup

n=0 failed=0
check() { # name, then a command that succeeds for a pass
	local name=$1
	shift
	n=$((n + 1))
	if "$@"; then
		echo "ok $n $name"
	else
		echo "not ok $n $name"
		failed=$((failed + 1))
	fi
}
between() { sed -n "/$2/,/$3/p" "$1" | sed '1d;$d' | tr -d '\r'; }
# Section K of a helper block: the K-th "hv-" line and what follows it.
section() { awk -v k="$2" '/^hv-/ { i++ } i == k' <<< "$1"; }

kernel=$(between "$OUT/serial.log" '^# gdb-fixture begin' '^# gdb-fixture end')
helpers=$(between "$OUT/gdb.log" '^@@helpers-begin' '^@@helpers-end')
bt=$(between "$OUT/gdb.log" '^@@bt-begin' '^@@bt-end')
trapbt=$(between "$OUT/gdb.log" '^@@trapbt-begin' '^@@trapbt-end')
npfbt=$(between "$OUT/gdb.log" '^@@npfbt-begin' '^@@npfbt-end')
npt=$(between "$OUT/gdb.log" '^@@npt-begin' '^@@npt-end')
# A backtrace ends at the entry stub (boot/start64.S), with no frame gdb
# could not name: none at address 0, none in "??".
ends_at_entry() {
	tail -n 1 <<< "$1" | grep -q ' kernel_start64 ' && ! grep -qE '\?\? \(|^#[0-9]+ +0x0+ in' <<< "$1"
}

check gdb_session_ended test "$grc" != 124 -a "$grc" != 137
check gdb_break_in_test grep -q 'ktest_fn_gdb_fixture' <<< "$bt"
check gdb_backtrace bash -c 'grep -q "^#0 .*ktest_fn_gdb_fixture" <<< "$1" &&
	grep -q " ktest_run " <<< "$1" && grep -q " kmain " <<< "$1"' _ "$bt"
check gdb_backtrace_ends_at_entry ends_at_entry "$bt"
# From an exception handler, through the trap frame (arch/x86/isr.S's CFI)
# into the function that faulted, and on to the entry stub.
check gdb_backtrace_through_trap bash -c 'grep -q "^#0 .*trap_handler" <<< "$1" &&
	grep -q " deliberate_ud " <<< "$1" && grep -q " ktest_fn_traps_unexpected_caught " <<< "$1"' _ "$trapbt"
check gdb_trap_backtrace_ends_at_entry ends_at_entry "$trapbt"
# A guest's nested page fault: from the VMRUN loop's fast path (no exit
# dispatch since issue 22: virt/fastpath.h; svm_handle_npf() may show as an
# inlined frame between) into the fault handler, inside the guest test.
check gdb_break_in_npf_path bash -c 'grep -q "^#0 .*vcpu_handle_tdp_fault" <<< "$1" &&
	grep -q " svm_vcpu_run " <<< "$1" && ! grep -q " svm_handle_exit " <<< "$1" &&
	grep -q " ktest_fn_guest_faults_4k_backing " <<< "$1"' _ "$npfbt"
check gdb_npf_backtrace_ends_at_entry ends_at_entry "$npfbt"
# Once the fault is handled, the nested tables map the page: a 4K leaf with
# U set (NPT's x86 format), and hv-vcpu names the #NPF exit from the VMCB.
check gdb_hv_tdp_walks_npt bash -c 'grep -q "^hv-tdp " <<< "$1" &&
	grep -qE "^  L1.*P W U" <<< "$1" && grep -q -- "-> 0x.* level 4K" <<< "$1" &&
	grep -q "last SVM exit 0x400 (NPF)" <<< "$1"' _ "$npt"
check gdb_hv_tests bash -c 'grep -q "traps_unexpected_caught: running" "$1" &&
	grep -q "gdb_fixture: ok$" "$1"' _ "$OUT/gdb.log"
names=(hv_pt hv_ept_mapped hv_ept_unmapped hv_inval hv_gpc hv_vcpu)
for k in 1 2 3 4 5 6; do
	kx=$(section "$kernel" "$k") gx=$(section "$helpers" "$k")
	check "gdb_${names[$((k - 1))]}_matches_kernel" test -n "$kx" -a "$kx" = "$gx"
	if [ -z "$kx" ] || [ "$kx" != "$gx" ]; then
		diff <(echo "$kx") <(echo "$gx") | sed 's/^/# kernel< gdb> /'
	fi
done
check gdb_clear_errors bash -c 'grep -q "hv-ept: no VM named .nosuchvm." "$1" &&
	grep -q "hv-pt: usage: hv-pt ADDR" "$1" && ! grep -qE "Traceback|Python Exception" "$1"' _ "$OUT/gdb.log"
check gdb_run_completes grep -qaE '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped' "$OUT/serial.log"

# The guest's own debugging (issue 25): what the ELF says is what gdb shows.
entry=$(between "$OUT/guest-gdb.log" '^@@entry-begin' '^@@entry-end')
gmain=$(between "$OUT/guest-gdb.log" '^@@main-begin' '^@@main-end')
ghost=$(between "$OUT/guest-gdb.log" '^@@host-begin' '^@@host-end')
sym() { nm "$GUEST_ELF" | awk -v s="$1" '$3 == s { print "0x" substr($1, match($1, /[1-9a-f]/)) }'; }
# objdump's text of the ELF's first instruction at $1, as hv-disas prints it.
insn() { objdump -d -M intel --start-address="$1" "$GUEST_ELF" | awk -F'\t' 'NF >= 3 { print $NF; exit }'; }
check gdb_guest_session_ended test "$ggrc" != 124 -a "$ggrc" != 137
gstart=$(sym _start)
check gdb_guest_stops_in_guest bash -c 'grep -qE "^hv-break: CPU 0 stopped in vCPU guest at $2 <_start> \([1-9][0-9]* hits in minihv" "$1"' \
	_ "$OUT/guest-gdb.log" "$gstart"
check gdb_guest_hv_vcpu_live_in_guest bash -c 'grep -q "^  rip $2 .*(live: the CPU.s registers, in the guest on CPU 0)" <<< "$1"' \
	_ "$entry" "$gstart"
check gdb_guest_disas_matches_elf bash -c 'grep -qF "=> $2 <_start>:" <<< "$1" && grep -F "=> $2 <_start>:" <<< "$1" | grep -qF "$3"' \
	_ "$entry" "$gstart" "$(insn "$gstart")"
check gdb_guest_break_on_symbol bash -c 'grep -q "stopped in vCPU guest at $2 <guest_main>" "$1" &&
	grep -q "^  rip $2 .*(live" <<< "$3"' _ "$OUT/guest-gdb.log" "$(sym guest_main)" "$gmain"
main_off=$(( $(sym guest_main) - 0x100000 ))
# 16 bytes of the flat image from offset $1, as hv-gva and hv-gpa print them.
image_bytes() { od -An -tx1 -v -j "$1" -N 16 "$GUEST_BIN" | tr -s ' \n' ' ' | sed 's/^ //; s/ $//'; }
main_bytes=$(image_bytes "$main_off")
check gdb_guest_hv_gva_reads_guest_memory bash -c 'grep -qF "$2: $3" <<< "$1"' _ "$gmain" "$(sym guest_main)" "$main_bytes"
gpa_bytes=$(image_bytes 32)
check gdb_guest_hv_gpa_reads_guest_memory grep -qF "0x100020: $gpa_bytes" <<< "$ghost"
# Stopped in minihv's nested-page-fault path mid-run: the VMCB's state, not zeros.
check gdb_guest_hv_vcpu_live_from_vmcb bash -c 'grep -q "^hv-vcpu guest: last SVM exit 0x400 (NPF) .* stop running" <<< "$1" &&
	grep -qE "^  rip 0x10[0-9a-f]{4} .*\(live: the VMCB at its last exit, on CPU 0, in minihv\)" <<< "$1" &&
	grep -qE "^=> 0x10[0-9a-f]{4} <guest_main\+[0-9]+>:" <<< "$1"' _ "$ghost"
check gdb_guest_run_completes grep -qa '^minihv: exit status 0' "$OUT/guest-serial.log"
echo "$((n - failed)) passed, $failed failed, 0 skipped"
[ "$failed" = 0 ]
