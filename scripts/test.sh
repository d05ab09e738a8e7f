#!/bin/bash
# Usage: test.sh all|host|layers|model|qemu|qemu-tcg|qemu-shadow|linux|gdb|bad-input|mutants|bochs|kvm
# Runs the host unit tests and boots the test image under each emulator with a
# timeout, reads the TAP lines from the serial log, prints one result line per
# run and, last, the overall "N passed, N failed, N skipped". Exits non-zero
# on any failure, crash, hang or timeout, and when a VMX test skips on a CPU
# that offers VMX.
#
# The runs are independent, so they run side by side, TEST_JOBS at a time
# (default: one per core). Each run's lines are buffered and printed in a
# fixed order (the order of the `all` list below) as soon as the runs before
# it are done; the slowest runs start first, so that the last one to finish
# is a short one. The host tests run before all that, within seconds.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/emu.sh"
. "$here/pool.sh"
BUILD=${BUILD:-build}
ISO=$BUILD/minihv-test.iso
LOGS=$BUILD/test-logs
QEMU_TIMEOUT=${QEMU_TIMEOUT:-300}
BOCHS_TIMEOUT=${BOCHS_TIMEOUT:-900}
HOST_TIMEOUT=${HOST_TIMEOUT:-120}
# Three VMX models so capability fallbacks run: Skylake-X (EPT 1G pages, A/D
# bits), Ivy Bridge (EPT without 1G pages or A/D bits, no 1G host pages) and
# Core 2 Penryn (VMX without EPT, VPID, the preemption timer or the EFER
# controls: every guest runs on shadow paging).
BOCHS_CPUS=${BOCHS_CPUS:-corei7_skylake_x corei7_ivy_bridge_3770k core2_penryn_t9600}
POOL_JOBS=${TEST_JOBS:-$POOL_JOBS}
POOL_DIR=$LOGS/pool
mkdir -p "$LOGS"

P=0 F=0 S=0

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# What the CPU of a run reports, from the "# probe:" line every test run prints.
probe_has() { # LOG FEATURE
	grep -aq "^# probe: .*\b$2=yes" "$1"
}

# tally LABEL LOG RC EXPECT_PASS_RC EXPECT_FAIL_RC SECONDS [NEEDS [STDERR]]
# NEEDS: features the run's CPU must report ("vmx ept"); STDERR: the emulator's
# own messages, quoted when it never got as far as a summary line.
tally() {
	local label=$1 log=$2 rc=$3 pass_rc=$4 fail_rc=$5 secs=$6 needs=${7:-} stderr=${8:-}
	local p f s extra=0 why=()
	p=$(grep -aEc '^ok [0-9]+ ' "$log" | head -1)
	s=$(grep -aEc '^ok [0-9]+ .*# SKIP' "$log" | head -1)
	f=$(grep -aEc '^not ok [0-9]+ ' "$log" | head -1)
	p=$((p - s))
	local summary
	summary=$(grep -aE '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped' "$log" | tail -1 | tr -d '\r')
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		why+=("timed out (hang)"); extra=$((extra + 1))
	elif [ -z "$summary" ] && [ ! -s "$log" ] && [ -s "$stderr" ]; then
		why+=("the emulator did not start (exit $rc): $(tail -n 3 "$stderr" | tr -s '\n' ' ')")
		extra=$((extra + 1))
	elif [ -z "$summary" ]; then
		why+=("no summary line: crashed (exit $rc)${stderr:+; stderr: $(tail -n 2 "$stderr" 2>/dev/null | tr -s '\n' ' ')}")
		extra=$((extra + 1))
	else
		[ "$summary" = "$p passed, $f failed, $s skipped" ] ||
			{ why+=("summary '$summary' disagrees with the TAP lines"); extra=$((extra + 1)); }
		if [ "$f" = 0 ] && [ "$rc" != "$pass_rc" ]; then
			why+=("exit status $rc, expected $pass_rc for a pass"); extra=$((extra + 1))
		elif [ "$f" != 0 ] && [ "$rc" != "$fail_rc" ]; then
			why+=("exit status $rc, expected $fail_rc for a failure"); extra=$((extra + 1))
		fi
	fi
	# A test may skip for a feature the CPU lacks ("# SKIP no VMX: ...",
	# "# SKIP no EPT: ...", "no SVM:", "no NPT:"), never for one the probe
	# says it has.
	local feat n
	for feat in vmx ept svm npt; do
		probe_has "$log" "$feat" || continue
		n=$(grep -aEic "^ok [0-9]+ .*# SKIP .*no $feat:" "$log")
		if [ "$n" != 0 ]; then
			why+=("$n test(s) skipped for no ${feat^^} although the CPU offers it")
			extra=$((extra + n)) s=$((s - n))
		fi
	done
	for feat in $needs; do
		probe_has "$log" "$feat" ||
			{ why+=("the CPU reports no ${feat^^}: this run must offer $needs"); extra=$((extra + 1)); }
	done
	# NO_SKIPS: the image carries all its tests need (run_linux).
	if [ -n "${NO_SKIPS:-}" ] && [ "$s" != 0 ]; then
		why+=("$s test(s) skipped in an image that carries what they need")
		extra=$((extra + s)) s=0
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
	# Each kernel test's cost ("# time: NAME TICKS", lib/ktest.c), dearest
	# first, with its share of the run: what to look at when a run is slow.
	grep -aq '^# time: ' "$log" && grep -a '^# time: ' "$log" | tr -d '\r' |
		awk '{ t[$3] = $4; sum += $4 } END { for (n in t) printf "%14.0f %5.1f%% %s\n", t[n], 100 * t[n] / sum, n }' |
		sort -nr > "$log.times"
}

# One host test binary under ASan/UBSan.
run_host_one() {
	local t=$1 log start rc
	log=$LOGS/host-$(basename "$t").log
	start=$(now)
	timeout -k 5 "$HOST_TIMEOUT" "$t" > "$log" 2>&1 </dev/null
	rc=$?
	tally "host/$(basename "$t" | sed 's/^test_//')" "$log" "$rc" 0 1 "$(elapsed "$start")"
}

# The SMP tests under ThreadSanitizer (Makefile's host-tsan): a reported race
# exits 66 and fails the run like any other crash; a binary that was not
# built fails too, rather than being left out.
TSAN_TESTS="$BUILD/host-tsan/test_smp $BUILD/host-tsan/test_remote $BUILD/host-tsan/test_gpc_ipi"
run_tsan_one() {
	local t=$1 log start rc
	if [ ! -x "$t" ]; then
		echo "tsan/$(basename "$t" | sed 's/^test_//'): not built ($t)"
		F=$((F + 1))
		return
	fi
	log=$LOGS/host-tsan-$(basename "$t").log
	start=$(now)
	TSAN_OPTIONS="halt_on_error=1 exitcode=66 ${TSAN_OPTIONS:-}" \
		timeout -k 5 "$HOST_TIMEOUT" "$t" > "$log" 2>&1 </dev/null
	rc=$?
	tally "tsan/$(basename "$t" | sed 's/^test_//')" "$log" "$rc" 0 1 "$(elapsed "$start")"
}

run_host() {
	local t
	for t in "$BUILD"/host/test_*; do
		[ -x "$t" ] && run_host_one "$t"
	done
	for t in $TSAN_TESTS; do run_tsan_one "$t"; done
}

run_qemu() { # tcg|kvm [NAME ISO]: NAME labels a run of another image (mmu=shadow)
	local accel=$1 name=qemu-$1${2:+-$2} iso=${3:-$ISO} start rc
	local log=$LOGS/$name.log
	rm -f "$log"
	qemu_cmd "$accel" "$iso" "$log"
	start=$(now)
	timeout -k 5 "$QEMU_TIMEOUT" "${CMD[@]}" > "$LOGS/$name.stderr" 2>&1 </dev/null
	rc=$?
	touch "$log"
	# isa-debug-exit: status v exits QEMU with (v << 1) | 1. TCG's -cpu max
	# emulates SVM with nested paging, so the guests run there; a KVM run
	# exists only to run them at hardware speed: its CPU must offer VMX, or
	# SVM with NPT, whichever this host's CPU has.
	local needs="svm npt"
	[ "$accel" = kvm ] && grep -qw vmx /proc/cpuinfo && needs=vmx
	tally "$name" "$log" "$rc" 1 3 "$(elapsed "$start")" "$needs" "$LOGS/$name.stderr"
}

# The Linux guest tests (tests/kernel/test_linux.c) on SVM+NPT or (shadow)
# mmu=shadow: Debian's kernel boots, runs its scripts, and the end-to-end
# test runs the host's invalidation mix beside it. Their image has the
# kernel and initrd as modules, so a skip there is a failure. Their own
# bounds (2 x 120 s + 300 s of TSC time) sit inside LINUX_TIMEOUT.
LINUX_TIMEOUT=${LINUX_TIMEOUT:-600}
run_linux() { # [shadow]
	QEMU_TIMEOUT=$LINUX_TIMEOUT NO_SKIPS=1 run_qemu tcg "linux${1:+-$1}" \
		"$BUILD/minihv-linux-tests${1:+-$1}.iso"
}
# The same kernel on VMX+EPT (Bochs Skylake): a boot and the check script.
run_linux_bochs() {
	BOCHS_TIMEOUT=$LINUX_TIMEOUT NO_SKIPS=1 run_bochs corei7_skylake_x "" \
		"$BUILD/minihv-linux-tests-bochs.iso" linux
}

# The KVM run tests what TCG cannot only where KVM offers VMX or SVM to its
# guests. Prints why not, or nothing when it does.
kvm_skip_reason() {
	local flags nested feat module
	if [ ! -e /dev/kvm ]; then
		echo "no /dev/kvm on this host"
		return
	fi
	if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
		echo "/dev/kvm present, but $(id -un) cannot open it read-write"
		return
	fi
	flags=$(grep -m1 '^flags' /proc/cpuinfo)
	for feat in vmx:kvm_intel svm:kvm_amd; do
		module=${feat#*:} feat=${feat%:*}
		grep -qw "$feat" <<< "$flags" || continue
		nested=$(cat "/sys/module/$module/parameters/nested" 2>/dev/null)
		case "$nested" in
		Y | y | 1 | "") ;;
		*) echo "/dev/kvm present and this CPU has ${feat^^}, but $module.nested=$nested:" \
			"KVM offers no ${feat^^} to its guests" ;;
		esac
		return
	done
	echo "/dev/kvm present, but this CPU offers neither VMX nor SVM to its guests (no vmx or svm flag in /proc/cpuinfo)"
}

run_kvm() {
	local why
	why=$(kvm_skip_reason)
	if [ -n "$why" ]; then
		echo "qemu-kvm:  skipped: $why"
		S=$((S + 1))
	else
		run_qemu kvm
	fi
}

# What each Bochs run adds that no other run covers (QEMU TCG offers SVM
# with NPT, never VMX; `# time:` lines, lib/ktest.c, and the .times file
# beside each log say what a run spends its instructions on):
# - Skylake-X, the whole suite: VMX with EPT, its 1G and 2M leaves, A/D
#   bits, VPID, on 2 CPUs. The 1 GiB first touches (guest_faults_*_backing)
#   run here at full size: 262144 EPT violations at 4K, 1G leaves on VMX.
# - Ivy Bridge: EPT without A/D bits (aging by unmapping, an EPTP without
#   the A/D flag) or 1G leaves, and no 1G host pages. Its first touches of
#   1 GiB add nothing: the same EPT 4K and 2M fault path as Skylake, where
#   A/D bits matter only to aging (guest_inval_aging runs here), and 1G
#   backing skips. They were 57% of its instructions: minihv-test-no-touch1g.iso.
# - Penryn: VMX without EPT, VPID, the preemption timer or the EFER
#   controls: every guest on shadow paging, one CPU. It keeps the 4K first
#   touch (262144 shadow faults through VMX #PF exits); the 2M one differs
#   only host-side, which the QEMU shadow run covers (1G backing skips
#   here): minihv-test-touch4k.iso.
# - Skylake-X mmu=shadow: shadow paging on VMX with 2 CPUs and VPID (remote
#   flushes of shadow roots, the SMP guest stress), which Penryn (one CPU,
#   no VPID) and QEMU (SVM) do not. Its fuzzer runs 2000 operations per
#   vCPU (Penryn and QEMU run 10000; they were a third of this run).
# - Skylake-X quantum 1 and 32: the SMP tests at the finest and coarsest
#   interleaving, which QEMU's host threads never force.
bochs_cost() { # CPU: its usual CPU seconds (for the start order)
	case "$1" in
	corei7_ivy_bridge_3770k) echo 45 ;;
	core2_penryn_t9600) echo 130 ;;
	*) echo 100 ;;
	esac
}
bochs_iso() { # CPU
	case "$1" in
	corei7_ivy_bridge_3770k) echo "$BUILD/minihv-test-no-touch1g.iso" ;;
	core2_penryn_t9600) echo "$BUILD/minihv-test-touch4k.iso" ;;
	*) echo "$ISO" ;;
	esac
}

# run_bochs CPU [QUANTUM ISO [NAME]]: the suite (bochs_iso), or (with a
# quantum) the SMP tests alone with Bochs switching CPUs every QUANTUM
# instructions, or another image (NAME: mmu=shadow).
run_bochs() {
	local BOCHS_CPU=$1 BOCHS_QUANTUM=${2:-$BOCHS_QUANTUM} iso=${3:-$(bochs_iso "$1")}
	local name=bochs-$BOCHS_CPU${2:+-quantum$2}${4:+-$4} log start rc
	# Penryn runs one CPU: Bochs 2.7 turns no interrupt into a VM exit on that
	# model, so a vCPU never leaves guest mode for a remote flush's kick.
	local BOCHS_SMP=$BOCHS_SMP
	[ "$BOCHS_CPU" = core2_penryn_t9600 ] && BOCHS_SMP=1
	local dir=$LOGS/$name
	mkdir -p "$dir"
	log=$dir/serial.log
	rm -f "$log"
	bochs_cmd "$iso" "$log"
	start=$(now)
	# Bochs catches SIGTERM; -k makes sure it dies. Its exit status alone proves
	# nothing (SIGINT quits with 0), so tally() also reads the summary line.
	timeout -k 10 "$BOCHS_TIMEOUT" "${CMD[@]}" > "$dir/stdout" 2>&1 </dev/null
	rc=$?
	touch "$log"
	tally "bochs/$BOCHS_CPU${2:+ quantum=$2}${4:+ $4}" "$log" "$rc" 0 1 "$(elapsed "$start")" \
		"$(bochs_needs "$BOCHS_CPU")"
}

# The SMP tests again at the finest and coarsest interleavings Bochs offers
# (the suite above runs at its default, 16), on the VMX+EPT model.
BOCHS_SMP_QUANTA=${BOCHS_SMP_QUANTA:-1 32}

# mmu=shadow on the VMX+EPT model, with 2 CPUs: the guest tests and the SMP
# stress on shadow paging (Penryn runs the whole suite on it, with one CPU).
run_bochs_shadow() {
	run_bochs corei7_skylake_x "" "$BUILD/minihv-shadow-guests.iso" mmu=shadow
}

# Bochs is the VMX emulator: every model must offer VMX, and EPT but for the
# one chosen for lacking it.
bochs_needs() {
	case "$1" in
	core2_penryn_t9600) echo vmx ;;
	*) echo vmx ept ;;
	esac
}

# run_script LABEL SCRIPT: a runner of our own that prints TAP and the summary.
run_script() {
	local log=$LOGS/$1.log start rc
	start=$(now)
	"$here/$2" > "$log" 2>&1 </dev/null
	rc=$?
	tally "$1" "$log" "$rc" 0 1 "$(elapsed "$start")"
}

# The layering check, and its own test (a planted upward include must fail it).
run_layers() {
	local log=$LOGS/layers.log start p=0 f=0 n=0 name out
	start=$(now)
	: > "$log"
	for name in dependencies_point_down check_layers_catches_upward_and_private_includes; do
		n=$((n + 1))
		if [ $n = 1 ]; then
			out=$(BUILD="$BUILD" "$here/check-layers.sh" 2>&1)
		else
			out=$("$here/check-layers.sh" --self-test 2>&1)
		fi
		if [ $? = 0 ]; then
			echo "ok $n $name" >> "$log"; p=$((p + 1))
		else
			echo "not ok $n $name" >> "$log"; f=$((f + 1))
			sed "s/^/# $name: FAIL /" <<< "$out" >> "$log"
		fi
	done
	echo "$p passed, $f failed, 0 skipped" >> "$log"
	tally "layers" "$log" "$([ $f = 0 ] && echo 0 || echo 1)" 0 1 "$(elapsed "$start")"
}

run_gdb() { run_script gdb gdb-test.sh; }
# The Spin models and their mutants (scripts/model.sh, docs/model.md): the
# table of states and counter-examples, and the swapped-store trail.
run_model() {
	run_script model model.sh
	grep -a '^# ' "$LOGS/model.log" | sed 's/^# /  model| /'
}
run_badinput() { run_script bad-input test-badinput.sh; }
run_mutants() {
	# One worker: the other core runs the emulators, and a second worker
	# would first build its own copy of the tree (45 s of CPU on 2 cores).
	MUTANT_JOBS=${MUTANT_JOBS:-1} run_script mutants mutants.py
	# The table: which test killed each mutant.
	grep -a '^# ' "$LOGS/mutants.log" | sed 's/^# /  mutants| /'
}

# The runs of `all`, in the order they print. The costs are CPU seconds
# measured on a 2-core machine; they only set the start order.
add_all() {
	job 1000 run_layers # a few seconds: first, so that it prints first
	job 60 run_model # Spin: about 60 s of one core
	job 60 run_qemu tcg
	job 150 run_qemu tcg mmu=shadow "$BUILD/minihv-shadow.iso"
	job 110 run_linux
	job 120 run_linux shadow
	job 15 run_gdb
	job 5 run_badinput
	job 5 run_script kut ../tests/kut/test_kut.sh # scripts/kut.sh's self-test, no emulator
	job 310 run_mutants
	add_bochs
	job 0 run_kvm
}
add_host() {
	local t
	for t in "$BUILD"/host/test_*; do
		[ -x "$t" ] && job 1000 run_host_one "$t"
	done
	for t in $TSAN_TESTS; do job 1000 run_tsan_one "$t"; done
}
add_bochs() {
	local cpu q
	for cpu in $BOCHS_CPUS; do job "$(bochs_cost "$cpu")" run_bochs "$cpu"; done
	job 60 run_bochs_shadow
	job 70 run_linux_bochs
	for q in $BOCHS_SMP_QUANTA; do
		job 30 run_bochs corei7_skylake_x "$q" "$BUILD/minihv-smp.iso"
	done
}

what=${1:-all}
START=$(now)
case "$what" in
all)
	# The host tests alone first: a unit failure shows in seconds, and the
	# threaded ones (test_smp, test_remote, TSan) must see their threads
	# interleave, which an emulator on the other core makes rarer.
	run_host
	add_all
	pool
	;;
host) add_host; pool ;;
gdb) run_gdb ;;
qemu)
	job 1 run_qemu tcg
	job 2 run_qemu tcg mmu=shadow "$BUILD/minihv-shadow.iso"
	job 3 run_linux
	job 4 run_linux shadow
	pool
	;;
linux)
	job 1 run_linux
	job 2 run_linux shadow
	job 3 run_linux_bochs
	pool
	;;
# One image each (scripts/mutants.py runs one, and the other only if needed).
qemu-tcg) run_qemu tcg ;;
qemu-shadow) run_qemu tcg mmu=shadow "$BUILD/minihv-shadow.iso" ;;
bad-input) run_badinput ;;
mutants) run_mutants ;;
layers) run_layers ;;
model) run_model ;;
bochs) add_bochs; pool ;;
kvm) run_kvm ;;
*) echo "test.sh: unknown part '$what' (all, host, layers, model, qemu, qemu-tcg, qemu-shadow, linux, gdb, bad-input, mutants, bochs, kvm)" >&2; exit 2 ;;
esac
echo "total: $(elapsed "$START")s wall, $POOL_JOBS runs at a time"
echo "$P passed, $F failed, $S skipped"
[ "$F" = 0 ]
