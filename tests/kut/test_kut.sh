#!/bin/bash
# Self-test of scripts/kut.sh, the kvm-unit-tests runner, without emulators:
# its unittests.cfg parser, result reader and table, on the fake KUT tree
# beside this file (fake-kut/: a unittests.cfg and .flat files that are bash
# snippets), fake logs (logs/) and fake emulators (bin/: qemu-system-x86_64,
# bochs and grub-mkrescue, first in PATH). Prints one TAP line per check and
# "N passed, N failed, 0 skipped" (scripts/test.sh's format); exits 1 on a
# failure. A few seconds (one fake Bochs run waits for its 3 s timeout).
set -u
tdir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$tdir/../.." && pwd)
. "$root/scripts/kut.sh" # the functions: main() runs only when executed
set +e
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

n=0 n_ok=0 n_bad=0
# check NAME COMMAND...: one TAP line; COMMAND's output is shown on failure.
check() {
	local name=$1 out
	shift
	n=$((n + 1))
	if out=$("$@" 2>&1); then
		echo "ok $n $name"
		n_ok=$((n_ok + 1))
	else
		echo "not ok $n $name"
		[ -z "$out" ] || sed 's/^/# /' <<< "$out"
		n_bad=$((n_bad + 1))
	fi
}
# eq GOT WANT
eq() { [ "$1" = "$2" ] || { echo "got:  '$1'"; echo "want: '$2'"; return 1; }; }
# has FILE REGEX [FILE's name in the message]
has() { grep -qE -- "$2" "$1" || { echo "no line matches /$2/ in $1:"; cat "$1"; return 1; }; }
hasnt() { ! grep -qE -- "$2" "$1" || { echo "a line matches /$2/ in $1"; return 1; }; }

# --- small pieces -------------------------------------------------------------
check "seconds: 90 90s 2m" eq "$(seconds 90) $(seconds 90s) $(seconds 2m)" "90 90 120"
check "mebibytes: 2048 4g 512M size=1G" \
	eq "$(mebibytes 2048) $(mebibytes 4g) $(mebibytes 512M) $(mebibytes size=1G,slots=2)" "2048 4096 512 1024"
check "exit_result: 1 77 3 0" \
	eq "$(exit_result 1) $(exit_result 77) $(exit_result 3) $(exit_result 0)" "PASS SKIP FAIL FAIL"
check "shell_words: quotes as the shell splits them" \
	eq "$(shell_words "\"x y\" 'z' -w*" | tr '\n' '|')" "x y|z|-w*|"

# --- the parser -----------------------------------------------------------------
parse_cfg "$tdir/fake-kut/x86/unittests.cfg"
idx() { local i; for i in "${!T_NAME[@]}"; do [ "${T_NAME[i]}" != "$1" ] || { echo "$i"; return; }; done; echo -1; }
check "parse_cfg: 11 sections in file order" \
	eq "${#T_NAME[@]} ${T_NAME[0]} ${T_NAME[10]}" "11 passes multi_line"
i=$(idx mixed)
check "parse_cfg: file smp qemu_params timeout" \
	eq "${T_FILE[i]}|${T_SMP[i]}|${T_OPTS[i]}|${T_TIMEOUT[i]}" "mixed.flat|2|-cpu max,+x2apic -m 256|90s"
check "parse_cfg: a comment line between sections is no key" eq "${T_GROUPS[$(idx skips)]}" ""
i=$(idx multi_line)
check "parse_cfg: qemu_params over several lines between \"\"\"" \
	eq "$(echo ${T_OPTS[i]})" "-cpu max -m 512"
plan_test "$i"
check "plan_test: test_args words, -m from a multi-line qemu_params" \
	eq "$(tr '\n' '|' <<< "$P_ARGS") $P_MEM $P_SMP" "x y|z| 512 1"
plan_test "$(idx old_style)"
check "plan_test: an older tree's -append in extra_params; -m 2g" \
	eq "$(tr '\n' '|' <<< "$P_ARGS") $P_MEM $P_SMP $P_OPTS" "alpha|beta| 2048 3 "
plan_test "$(idx mixed)"
check "plan_test: -cpu for plain QEMU only, the cfg timeout" \
	eq "$(echo $P_OPTS)|$P_NA|$P_NOTE|$P_TIMEOUT|$P_MEM" "-cpu max,+x2apic||-cpu max,+x2apic: plain QEMU only|90|256"
plan_test "$(idx needs_device)"
check "plan_test: -device: minihv cannot" eq "$(echo $P_OPTS)|$P_NA" "-device edu|needs -device edu"
plan_test "$(idx kvm_only)"
check "plan_test: accel = kvm is not run" eq "$P_NOTRUN" "needs KVM (accel=kvm)"
plan_test "$(idx host_cpu)"
check "plan_test: -cpu host is not run" eq "$P_NOTRUN" "needs KVM (-cpu host)"
plan_test "$(idx i386_only)"
check "plan_test: arch = i386 is not run" eq "$P_NOTRUN" "arch=i386 (a 32-bit build of KUT)"
plan_test "$(idx passes)"
check "plan_test: defaults: 128 MiB, 1 CPU, 90 s" eq "$P_MEM $P_SMP $P_TIMEOUT $P_NOTRUN$P_NA" "128 1 90 "

# --- the result reader, on the logs in logs/ ----------------------------------------
L=$tdir/logs
result() { read_result "$@" /dev/null; echo "$R_STATUS|$R_NOTE"; }
check "plain rc 1: PASS, its summary" eq "$(result plain "$L/qemu-pass.log" 1)" "PASS|10 tests"
check "plain rc 3: FAIL, code 1" \
	eq "$(result plain "$L/qemu-fail.log" 3)" "FAIL|20 tests, 2 unexpected failures, 1 skipped; exit status 3 (code 1)"
check "plain rc 77: SKIP" eq "$(result plain "$L/minihv-skip-crlf.log" 77)" "SKIP|1 tests, 1 skipped"
check "plain rc 124: TIMEOUT" eq "$(result plain "$L/minihv-hang.log" 124)" "TIMEOUT|"
check "plain rc 0: FAIL, no debug-exit" eq "$(result plain "$L/qemu-pass.log" 0)" \
	"FAIL|10 tests; QEMU exit 0, no debug-exit (a reset or power-off); last line: SUMMARY: 10 tests"
check "plain: exit 1 with unexpected failures in the summary: FAIL" \
	eq "$(result plain "$L/qemu-liar.log" 1)" "FAIL|4 tests, 1 unexpected failures; but exit status 1"
check "minihv exit status 1: PASS whatever the emulator's rc" \
	eq "$(result minihv "$L/minihv-pass.log" 0)" "PASS|10 tests"
check "minihv exit status 77, CRLF lines: SKIP" \
	eq "$(result minihv "$L/minihv-skip-crlf.log" 0)" "SKIP|1 tests, 1 skipped"
check "minihv exit status 3: FAIL, the guest[ line kept" \
	eq "$(result minihv "$L/minihv-fail.log" 7)" \
	"FAIL|5 tests, 1 unexpected failures; exit status 3 (code 1); guest[0]: unhandled MSR read 0x345, #GP injected"
check "minihv without exit status: FAIL, its last minihv: line" \
	eq "$(result minihv "$L/minihv-panic.log" 3)" "FAIL|minihv: panic: vcpu 1: no runnable vCPU"
check "minihv timed out: TIMEOUT, its last reason line" \
	eq "$(result minihv "$L/minihv-hang.log" 124)" "TIMEOUT|minihv: guest: multiboot1 ELF32"
check "minihv under QEMU: exit status line and QEMU's status agree: PASS" \
	eq "$(result minihv-qemu "$L/minihv-pass.log" 3)" "PASS|10 tests"
check "minihv under QEMU: QEMU's exit status 1 belies the line's 1 (QEMU's would be 3): FAIL" \
	eq "$(result minihv-qemu "$L/minihv-pass.log" 1)" \
	"FAIL|10 tests; exit status line says 1, QEMU exited 1; minihv: 2 CPUs, guest: multiboot1 ELF32 (x86/setjmp.flat), 128 MiB"
check "minihv under Bochs: a pass and Bochs' exit 0: PASS" \
	eq "$(result minihv-bochs "$L/minihv-pass.log" 0)" "PASS|10 tests"
check "minihv under Bochs: a pass, but Bochs exited 1 (minihv's panic path): FAIL" \
	eq "$(result minihv-bochs "$L/minihv-pass.log" 1)" \
	"FAIL|10 tests; exit status line says 1, Bochs exited 1; minihv: 2 CPUs, guest: multiboot1 ELF32 (x86/setjmp.flat), 128 MiB"
check "minihv under Bochs: a failure, Bochs exited 1: FAIL, its reason" \
	eq "$(result minihv-bochs "$L/minihv-fail.log" 1)" \
	"FAIL|5 tests, 1 unexpected failures; exit status 3 (code 1); guest[0]: unhandled MSR read 0x345, #GP injected"
check "a reason line is cut at 200 characters" \
	eq "$(printf 'minihv: %0300d\n' 0 > "$tmp/long.log"; last_reason "$tmp/long.log" | wc -c)" 205
check "minihv empty log: FAIL, no exit status line" \
	eq "$(result minihv /dev/null 1)" "FAIL|no exit status line (emulator exit 1)"

# --- the whole script, on fake emulators -----------------------------------------
export PATH="$tdir/bin:$PATH" KUT_WORK=$tmp/work KUT_KERNEL=$tmp/minihv.elf KUT_BOCHS_BIOS=$tmp/bios \
	KUT_BOCHS_FACTOR=1
echo "fake minihv" > "$KUT_KERNEL"
echo "fake BIOS" > "$KUT_BOCHS_BIOS"
out=$tmp/out
"$root/scripts/kut.sh" -j 2 -t 3 "$tdir/fake-kut" > "$out" 2>&1
rc=$?
check "kut.sh exits 1: minihv fails where plain QEMU passes" eq "$rc" 1
row() { grep -E "^$1 +\|" "$out" | tr -s ' '; }
check "table header: four columns" \
	has "$out" '^test +\| plain QEMU +\| minihv QEMU-SVM +\| minihv QEMU-shadow +\| minihv Bochs-VMX$'
check "table: passes everywhere" eq "$(row passes | sed 's/ [0-9.]*s\b/ Ns/g')" \
	"passes | PASS Ns | PASS Ns | PASS Ns | PASS Ns"
check "table: skips everywhere" eq "$(row skips | sed 's/ [0-9.]*s\b/ Ns/g')" \
	"skips | SKIP Ns | SKIP Ns | SKIP Ns | SKIP Ns"
check "table: mixed: PASS, FAIL (panic), FAIL (report), TIMEOUT" eq "$(row mixed | sed 's/ [0-9.]*s\b/ Ns/g')" \
	"mixed | PASS Ns | FAIL Ns | FAIL Ns | TIMEOUT Ns"
check "table: a device minihv cannot give: n/a with a footnote" \
	eq "$(row needs_device | sed 's/ [0-9.]*s\b/ Ns/g')" "needs_device | PASS Ns | n/a [1] | n/a [1] | n/a [1]"
check "footnote [1] says why" has "$out" '^\[1\] minihv: needs -device edu$'
check "totals: passed/failed/skipped/timeouts per column" \
	eq "$(row p/f/s/t)" "p/f/s/t | 5/0/1/0 | 3/1/1/0 | 3/1/1/0 | 3/0/1/1"
check "totals: time per column" has "$out" '^time +\| [0-9.]+s +\| [0-9.]+s +\| [0-9.]+s +\| [0-9.]+s$'
check "not run: accel = kvm" has "$out" '^  kvm_only +needs KVM \(accel=kvm\)$'
check "not run: -cpu host" has "$out" '^  host_cpu +needs KVM \(-cpu host\)$'
check "not run: i386" has "$out" '^  i386_only +arch=i386'
check "not run: nodefault unless named" has "$out" '^  manual +group nodefault'
check "not run: a .flat not built" has "$out" '^  not_built +x86/missing.flat not built$'
check "failures: the panic line" has "$out" '^  mixed svm: FAIL: minihv: panic: svm: unexpected exit 0x7f; -cpu max,\+x2apic: plain QEMU only$'
check "failures: the guest line and the summary" \
	has "$out" '^  mixed shadow: FAIL: 2 tests, 1 unexpected failures; exit status 3 \(code 1\); guest\[0\]: stopped: unhandled MSR write 0x1b'
check "failures: the timeout, with the log's path" has "$out" "^    log: $KUT_WORK/mixed/bochs/serial.log$"
check "each run printed its log's path" has "$out" "^passes +svm +PASS .* $KUT_WORK/passes/svm/serial.log"
W=$KUT_WORK
check "plain QEMU: -append, 128 MiB, 1 CPU" has "$W/passes/qemu/serial.log" '^args=\[one two\] mode=qemu smp=1 mem=128$'
check "plain QEMU: the environment file as -initrd" has "$W/passes/qemu/serial.log" '^env: TARGET=qemu$'
check "plain QEMU: the test's -cpu and the isa-debug-exit device" \
	has "$W/mixed/qemu/serial.log" 'opts=\[.*-device isa-debug-exit,iobase=0xf4,iosize=0x4 .*-cpu max,\+x2apic'
check "plain QEMU: -device edu" has "$W/needs_device/qemu/serial.log" 'opts=\[.*-device edu'
check "minihv: guest args as the module's words" has "$W/passes/svm/serial.log" '^args=\[one two\] mode=svm smp=1 mem=3072M$'
check "minihv: cmdline guest_mem, guest_vcpus, console=raw, watchdog=off" \
	has "$W/passes/svm/serial.log" '^cmdline=\[guest_mem=128M guest_vcpus=1 console=raw watchdog=off\]'
check "minihv: the environment module" has "$W/passes/svm/serial.log" '^env: TARGET=qemu$'
check "minihv: no -cpu from the test" hasnt "$W/mixed/svm/serial.log" '\+x2apic'
check "minihv shadow: mmu=shadow" has "$W/passes/shadow/serial.log" '^cmdline=\[.* mmu=shadow\]'
check "minihv SVM: no mmu=shadow" hasnt "$W/passes/svm/serial.log" 'mmu=shadow'
check "minihv Bochs: smp 2 as Bochs' CPU count, guest 256 MiB" \
	has "$W/mixed/bochs/serial.log" '^args=\[\] mode=bochs smp=2 mem=3072$'
check "minihv: -m 2g and smp 3 (QEMU: 3 CPUs)" \
	has "$W/old_style/svm/serial.log" '^args=\[alpha beta\] mode=svm smp=3 mem=3072M$'
check "minihv: -m 2g on the cmdline" has "$W/old_style/svm/serial.log" 'guest_mem=2048M guest_vcpus=3 '
check "minihv: a quoted argument stays one word" \
	eq "$(grep -o "module2 /boot/guest.bin.*" "$W/multi_line/svm/grub.cfg")" \
	"module2 /boot/guest.bin guest 'x y' 'z'"
check "an ISO that passed is deleted" test ! -e "$W/passes/svm/minihv.iso"
check "an ISO that failed is kept" test -e "$W/mixed/svm/minihv.iso"

# A second run: nodefault named by its glob; two columns; minihv's kernel missing.
KUT_KERNEL=$tmp/none "$root/scripts/kut.sh" -b qemu,svm "$tdir/fake-kut" 'man*' passes > "$out" 2>&1
rc=$?
check "kut.sh exits 0: nothing failed where plain QEMU passed" eq "$rc" 0
check "-b qemu,svm: two columns" has "$out" '^test +\| plain QEMU +\| minihv QEMU-SVM$'
check "a nodefault test named by a glob runs" eq "$(row manual | sed 's/ [0-9.]*s\b/ Ns/g')" "manual | PASS Ns | n/a [1]"
check "no kernel: the minihv column n/a, the footnote says how to build it" \
	has "$out" "^\[1\] minihv QEMU-SVM: no $tmp/none \(make BUILD=.* kernel\)$"

# A third: plain QEMU alone on a test minihv failed in the first run: that
# run's minihv results are gone, not counted.
"$root/scripts/kut.sh" -b qemu "$tdir/fake-kut" mixed > "$out" 2>&1
rc=$?
check "a test's results of an earlier run do not count" eq "$rc $(ls "$KUT_WORK/mixed")" "0 qemu"

# Usage errors: a clear message, exit 2.
"$root/scripts/kut.sh" > "$out" 2>&1
rc=$?
check "no arguments: the usage, exit 2" eq "$rc $(head -n 1 "$out")" \
	"2 Usage: scripts/kut.sh [-j N] [-b BACKENDS] [-t SECONDS] KUT_DIR [TEST-GLOB...]"
"$root/scripts/kut.sh" "$tmp/nowhere" > "$out" 2>&1
rc=$?
check "no such KUT dir: exit 2, how to build" has "$out" "no such directory .*./configure --arch=x86_64 && make"
check "no such KUT dir: exit status 2" eq "$rc" 2
mkdir -p "$tmp/unbuilt/x86" && : > "$tmp/unbuilt/x86/unittests.cfg"
"$root/scripts/kut.sh" "$tmp/unbuilt" > "$out" 2>&1
check "no .flat built: how to build them" has "$out" 'no \*\.flat test kernels built .*\./configure --arch=x86_64 && make'
"$root/scripts/kut.sh" -b kvm "$tdir/fake-kut" > "$out" 2>&1
check "-b with an unknown backend" has "$out" '-b kvm: backends are qemu,svm,shadow,bochs'
"$root/scripts/kut.sh" "$tdir/fake-kut" 'nothing*' > "$out" 2>&1
check "a glob that matches nothing" has "$out" 'no test in .* matches: nothing\*'

echo "$n_ok passed, $n_bad failed, 0 skipped"
[ "$n_bad" = 0 ]
