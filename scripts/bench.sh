#!/bin/bash
# make bench: boot-to-summary wall time of the test image under each emulator,
# the deterministic counts the kernel reports (tests, host page-table pages),
# host-side timings of the gpc and the EPT fault/zap paths, and the kernel's
# `bench` mode under Bochs: EPT violations per first touch, the CPUID and
# EPT-violation round trips in TSC ticks, and the invalidation mix.
# Timings are host-side measurements for the record; no test asserts on them.
# The emulator runs go side by side, BENCH_JOBS at a time (default: one
# per core), after the host benchmarks.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/emu.sh"
. "$here/pool.sh"
BUILD=${BUILD:-build}
ISO=$BUILD/minihv-test.iso
OUT=$BUILD/bench
POOL_JOBS=${BENCH_JOBS:-$POOL_JOBS}
POOL_DIR=$OUT/pool
mkdir -p "$OUT"

# Host-side, each alone (their ns figures would count an emulator's load):
# every tests/host/bench_*.c (Makefile's HOST_BENCHES): the gfn-to-pfn
# cache's fast and slow paths (bench_gpc), ns per EPT fault-in and per 2 MiB
# zap (bench_mmu), ns per remote flush that kicks a vCPU thread out of guest
# mode (bench_flush), shadow pages in use after 10,000 CR3 loads against the
# bound (bench_shadow_roots), cost growth against RAM, ranges, slots and
# caches (bench_growth).
for src in "$here"/../tests/host/bench_*.c; do
	name=$(basename "$src" .c)
	prog=$BUILD/host-bench/$name
	[ -x "$prog" ] || make -s BUILD="$BUILD" "$prog" >/dev/null
	"$prog" || echo "${name#bench_}: host benchmark failed"
done

secs() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# The emulator runs, side by side (scripts/pool.sh): Bochs counts
# instructions, not time, so its figures do not move; the wall times do,
# by the load of the runs beside them.
measure() { # label, serial log, then the command
	local label=$1 log=$2 start
	shift 2
	start=$(date +%s.%N)
	timeout -k 10 900 "$@" > "$OUT/$label.stdout" 2>&1 </dev/null
	printf '%-10s boot-to-exit %6s s' "$label" "$(secs "$start")"
	printf '  summary: %s  host page tables: %s\n' \
		"$(grep -a 'passed,' "$log" | tail -1 | tr -d '\r')" \
		"$(grep -a 'table pages' "$log" | sed 's/.*, //' | tr -d '\r')"
}
qemu_boot() {
	qemu_cmd tcg "$ISO" "$OUT/qemu-tcg.serial"
	measure qemu-tcg "$OUT/qemu-tcg.serial" "${CMD[@]}"
}

# The guest measurements (kernel option `bench`) need VMX or SVM: SVM with
# NPT under QEMU TCG (-cpu max), VMX with EPT under Bochs, and KVM when this
# CPU offers VMX to it. The same figures, side by side.
bench_iso=$BUILD/minihv-bench.iso
qemu_bench() {
	local start
	# 6 CPUs: the boot CPU, 4 for the vCPUs of the SMP mix, one that never
	# runs the VM (it must get no remote-flush kick).
	QEMU_SMP=6 qemu_cmd tcg "$bench_iso" "$OUT/qemu-tcg-bench.serial"
	start=$(date +%s.%N)
	timeout -k 10 900 "${CMD[@]}" > "$OUT/qemu-tcg-bench.stdout" 2>&1 </dev/null
	echo "qemu-tcg (SVM): bench run $(secs "$start") s wall"
	grep -a '^bench:' "$OUT/qemu-tcg-bench.serial" | tr -d '\r' | sed 's/^/  qemu-tcg /'
}
bochs_bench() { # MODEL
	local model=$1 start
	BOCHS_CPU=$model bochs_cmd "$bench_iso" "$OUT/bochs-$model.serial"
	start=$(date +%s.%N)
	timeout -k 10 900 "${CMD[@]}" > "$OUT/bochs-$model.stdout" 2>&1 </dev/null
	echo "bochs $model: bench run $(secs "$start") s wall"
	grep -a '^bench:' "$OUT/bochs-$model.serial" | tr -d '\r' | sed "s/^/  bochs $model /"
}
kvm_bench() {
	if [ -c /dev/kvm ] && [ -w /dev/kvm ] && grep -qw vmx /proc/cpuinfo; then
		qemu_cmd kvm "$bench_iso" "$OUT/qemu-kvm.serial"
		timeout -k 5 600 "${CMD[@]}" > "$OUT/qemu-kvm.stdout" 2>&1 </dev/null
		grep -a '^bench:' "$OUT/qemu-kvm.serial" | tr -d '\r' | sed 's/^/  qemu-kvm /'
	else
		echo "qemu-kvm: not measured (no /dev/kvm with VMX on this host)"
	fi
}

start_all=$(date +%s.%N)
job 100 qemu_boot
job 60 qemu_bench
for model in ${BENCH_CPUS:-corei7_skylake_x corei7_ivy_bridge_3770k}; do
	job 120 bochs_bench "$model"
done
job 0 kvm_bench
pool
echo "emulator runs: $(secs "$start_all") s wall, $POOL_JOBS at a time"
