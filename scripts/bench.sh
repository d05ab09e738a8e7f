#!/bin/bash
# make bench: boot-to-exit wall time under QEMU TCG and the host page-table
# pages the kernel reports,
# host-side timings of the gpc and the EPT fault/zap paths, and the kernel's
# `bench` mode under Bochs: EPT violations per first touch, the CPUID and
# EPT-violation round trips in TSC ticks, and the invalidation mix.
# Timings are host-side measurements for the record; no test asserts on them.
# The emulator runs go side by side (BENCH_JOBS at a time, default all),
# after the host benchmarks.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/emu.sh"
. "$here/pool.sh"
BUILD=${BUILD:-build}
OUT=$BUILD/bench
POOL_JOBS=${BENCH_JOBS:-8}
POOL_DIR=$OUT/pool
mkdir -p "$OUT"

# Host-side, each alone (their ns figures would count an emulator's load):
# every tests/host/bench_*.c (Makefile's HOST_BENCHES): the gfn-to-pfn
# cache's fast and slow paths (bench_gpc), ns per EPT fault-in and per 2 MiB
# zap (bench_mmu), ns per remote flush that kicks a vCPU thread out of guest
# mode (bench_flush), shadow pages in use after 10,000 CR3 loads against the
# bound (bench_shadow_roots), cost growth against RAM, ranges, slots and
# caches (bench_growth).
start_host=$(date +%s.%N)
for src in "$here"/../tests/host/bench_*.c; do
	name=$(basename "$src" .c)
	prog=$BUILD/host-bench/$name
	[ -x "$prog" ] || make -s BUILD="$BUILD" "$prog" >/dev/null
	"$prog" || echo "${name#bench_}: host benchmark failed"
done
secs() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
echo "host benchmarks: $(secs "$start_host") s wall"

# The emulator runs, all at once by default (scripts/pool.sh; BENCH_JOBS
# sets how many): the two cores then share the QEMU runs' threads and the
# Bochs runs with no core idle. Bochs counts instructions, not time, so its
# figures do not move; the wall times do, by the load of the runs beside
# them.
measure() { # label, serial log, then the command
	local label=$1 log=$2 start
	shift 2
	start=$(date +%s.%N)
	timeout -k 10 900 "$@" > "$OUT/$label.stdout" 2>&1 </dev/null
	printf '%-10s boot-to-exit %6s s' "$label" "$(secs "$start")"
	printf '  summary: %s  host page tables: %s\n' \
		"$(grep -a 'passed,' "$log" | tail -1 | tr -d '\r')" \
		"$(grep -a -m1 'table pages' "$log" | sed 's/.*, //' | tr -d '\r')"
}
# Boot to exit of an image that runs one test (minihv-boot.iso): the whole
# suite's time is `make test`'s qemu-tcg line.
qemu_boot() {
	qemu_cmd tcg "$BUILD/minihv-boot.iso" "$OUT/qemu-tcg.serial"
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
	# A directory each: bochs_cmd writes the config and Bochs its log beside
	# the serial log, and the two models run at the same time.
	local model=$1 dir=$OUT/bochs-$1 start
	mkdir -p "$dir"
	BOCHS_CPU=$model bochs_cmd "$bench_iso" "$dir/serial.log"
	start=$(date +%s.%N)
	timeout -k 10 900 "${CMD[@]}" > "$dir/stdout" 2>&1 </dev/null
	echo "bochs $model: bench run $(secs "$start") s wall"
	grep -a '^bench:' "$dir/serial.log" | tr -d '\r' | sed "s/^/  bochs $model /"
}
# The SVM round trips counted in instructions: Bochs ryzen, whose TSC counts
# them as on the VMX models, runs the exit-budget tests alone (its guest
# exception path hits a Bochs 2.7 bug, so not the whole bench).
svm_budget() {
	local dir=$OUT/bochs-ryzen start
	mkdir -p "$dir"
	BOCHS_CPU=ryzen bochs_cmd "$BUILD/minihv-budget.iso" "$dir/serial.log"
	start=$(date +%s.%N)
	timeout -k 10 300 "${CMD[@]}" > "$dir/stdout" 2>&1 </dev/null
	echo "bochs ryzen (SVM): budget run $(secs "$start") s wall"
	grep -a '^# .*round trip' "$dir/serial.log" | tr -d '\r' | sed 's/^# /  bochs ryzen bench: /'
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
job 15 svm_budget
job 0 kvm_bench
pool
echo "emulator runs: $(secs "$start_all") s wall, $POOL_JOBS at a time"

# A stock Linux guest (issue 24): Debian's kernel and the busybox initramfs
# ($BUILD/linux) booted to the initramfs's marker, under plain QEMU TCG and
# under minihv on QEMU TCG's SVM+NPT, one after the other with nothing
# beside them (their ratio is the target: at most 2x), then on shadow
# paging (QEMU), and under Bochs on VMX shadow (Penryn) and EPT (Skylake)
# side by side. Wall seconds to the marker and to the guest's poweroff;
# minihv's lines: exits per boot phase and, on shadow paging, seed 004's
# figures (faults, write-protect faults, unsync pages synced per CR3 load).
MARKER='minihv-linux: init reached'
GUEST_START='minihv: Linux guest'
# label, serial log, then the command: "TO_MARKER TO_END GUEST_START", wall
# seconds from the emulator's start (GUEST_START: when minihv created the
# guest, after the firmware and GRUB; 0.0 for plain QEMU).
linux_run() {
	local label=$1 log=$2 start marker='' gstart=0.0 pid
	shift 2
	rm -f "$log" # the last run's marker must not count
	start=$(date +%s.%N)
	timeout -k 10 900 "$@" > "$OUT/$label.stdout" 2>&1 </dev/null &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		if [ "$gstart" = 0.0 ] && grep -aq "$GUEST_START" "$log" 2>/dev/null; then
			gstart=$(secs "$start")
		fi
		if [ -z "$marker" ] && grep -aq "$MARKER" "$log" 2>/dev/null; then
			marker=$(secs "$start")
		fi
		sleep 0.05
	done
	wait "$pid" || true
	echo "${marker:-none} $(secs "$start") $gstart"
}
linux_minihv_lines() { # serial log, label
	grep -a -E 'phase to|shadow:|statistics|exit status' "$1" | tr -d '\r' | sed "s/^/  $2 /"
}
linux_plain() {
	CMD=(qemu-system-x86_64 -machine pc -accel tcg,thread=multi -cpu max -m 256M -smp 1
		-display none -vga none -nodefaults -no-reboot -serial "file:$OUT/linux-plain.serial"
		-kernel "$BUILD/linux/vmlinuz" -initrd "$BUILD/linux/initrd.img"
		-append "$LINUX_BENCH_ARGS")
	linux_run linux-plain "$OUT/linux-plain.serial" "${CMD[@]}"
}
linux_qemu() { # ISO, label
	QEMU_SMP=2 qemu_cmd tcg "$1" "$OUT/$2.serial"
	linux_run "$2" "$OUT/$2.serial" "${CMD[@]}"
}
linux_bochs() { # model
	local dir=$OUT/linux-bochs-$1 t
	mkdir -p "$dir"
	BOCHS_CPU=$1 BOCHS_SMP=1 bochs_cmd "$BUILD/minihv-linux-bench.iso" "$dir/serial.log"
	read -r t_mark t_end t_start <<< "$(linux_run "linux-bochs-$1" "$dir/serial.log" "${CMD[@]}")"
	echo "linux bochs $1: marker at $t_mark s, poweroff at $t_end s wall (guest created at $t_start s)"
	linux_minihv_lines "$dir/serial.log" "bochs $1"
}
if [ -f "$BUILD/linux/vmlinuz" ] && [ -f "$BUILD/linux/initrd.img" ]; then
	plain=$(linux_plain)
	nested=$(linux_qemu "$BUILD/minihv-linux-bench.iso" linux-svm)
	shadow=$(linux_qemu "$BUILD/minihv-linux-bench-shadow.iso" linux-shadow)
	read -r p_mark p_end _ <<< "$plain"
	read -r n_mark n_end n_start <<< "$nested"
	read -r s_mark s_end s_start <<< "$shadow"
	echo "linux plain QEMU TCG:         marker at $p_mark s, poweroff at $p_end s wall"
	echo "linux minihv SVM+NPT (QEMU):  marker at $n_mark s, poweroff at $n_end s wall" \
		"(guest created at $n_start s, after SeaBIOS and GRUB's load of the ISO)"
	awk -v a="$n_mark" -v b="$p_mark" -v g="$n_start" 'BEGIN { if (b > 0 && a != "none")
		printf "linux boot-time ratio minihv/plain: %.2f from power-on, %.2f from the " \
		       "guest'"'"'s creation (target: at most 2)\n", a / b, (a - g) / b }'
	linux_minihv_lines "$OUT/linux-svm.serial" "qemu svm"
	echo "linux minihv shadow (QEMU):   marker at $s_mark s, poweroff at $s_end s wall" \
		"(guest created at $s_start s)"
	linux_minihv_lines "$OUT/linux-shadow.serial" "qemu shadow"
	job 60 linux_bochs core2_penryn_t9600
	job 60 linux_bochs corei7_skylake_x
	pool
else
	echo "linux: not measured ($BUILD/linux: make $BUILD/linux/vmlinuz $BUILD/linux/initrd.img)"
fi
