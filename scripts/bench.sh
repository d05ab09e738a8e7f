#!/bin/bash
# make bench: boot-to-summary wall time of the test image under each emulator,
# the deterministic counts the kernel reports (tests, host page-table pages),
# host-side timings of the gpc and the EPT fault/zap paths, and the kernel's
# `bench` mode under Bochs: EPT violations per first touch, the CPUID and
# EPT-violation round trips in TSC ticks, and the invalidation mix.
# Timings are host-side measurements for the record; no test asserts on them.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/emu.sh"
BUILD=${BUILD:-build}
ISO=$BUILD/minihv-test.iso
OUT=$BUILD/bench
mkdir -p "$OUT"

# Host-side: the gfn-to-pfn cache's fast and slow paths (tests/host/bench_gpc.c),
# ns per EPT fault-in and per 2 MiB zap (tests/host/bench_mmu.c), and ns per
# remote flush that kicks a vCPU thread out of guest mode (tests/host/bench_flush.c);
# shadow pages in use after 10,000 CR3 loads, against the bound (bench_shadow_roots.c).
for name in gpc mmu flush shadow_roots growth; do
	prog=$BUILD/host-bench/bench_$name
	[ -x "$prog" ] || make -s BUILD="$BUILD" "$prog" >/dev/null
	"$prog" || echo "$name: host benchmark failed"
done

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

# The guest measurements (kernel option `bench`) need VMX or SVM: SVM with
# NPT under QEMU TCG (-cpu max), VMX with EPT under Bochs, and KVM when this
# CPU offers VMX to it. The same figures, side by side.
bench_iso=$BUILD/minihv-bench.iso
# 6 CPUs: the boot CPU, 4 for the vCPUs of the SMP mix, one that never runs
# the VM (it must get no remote-flush kick).
QEMU_SMP=6 qemu_cmd tcg "$bench_iso" "$OUT/qemu-tcg-bench.serial"
start=$(date +%s.%N)
timeout -k 10 900 "${CMD[@]}" > "$OUT/qemu-tcg-bench.stdout" 2>&1 </dev/null
awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "qemu-tcg (SVM): bench run %.1f s wall\n", b - a }'
grep -a '^bench:' "$OUT/qemu-tcg-bench.serial" | tr -d '\r' | sed 's/^/  qemu-tcg /'
for model in ${BENCH_CPUS:-corei7_skylake_x corei7_ivy_bridge_3770k}; do
	BOCHS_CPU=$model bochs_cmd "$bench_iso" "$OUT/bochs-$model.serial"
	start=$(date +%s.%N)
	timeout -k 10 900 "${CMD[@]}" > "$OUT/bochs-$model.stdout" 2>&1 </dev/null
	awk -v a="$start" -v b="$(date +%s.%N)" -v m="$model" \
		'BEGIN { printf "bochs %s: bench run %.1f s wall\n", m, b - a }'
	grep -a '^bench:' "$OUT/bochs-$model.serial" | tr -d '\r' | sed "s/^/  bochs $model /"
done
if [ -c /dev/kvm ] && [ -w /dev/kvm ] && grep -qw vmx /proc/cpuinfo; then
	qemu_cmd kvm "$bench_iso" "$OUT/qemu-kvm.serial"
	timeout -k 5 600 "${CMD[@]}" > "$OUT/qemu-kvm.stdout" 2>&1 </dev/null
	grep -a '^bench:' "$OUT/qemu-kvm.serial" | tr -d '\r' | sed 's/^/  qemu-kvm /'
else
	echo "qemu-kvm: not measured (no /dev/kvm with VMX on this host)"
fi
