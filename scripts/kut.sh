#!/bin/bash
# Usage: scripts/kut.sh [-j N] [-b BACKENDS] [-t SECONDS] KUT_DIR [TEST-GLOB...]
#
# Runs kvm-unit-tests (KUT), built by the user in KUT_DIR, under plain QEMU
# and as minihv's guest on three backends, and prints one table:
#
#   qemu    plain QEMU TCG -cpu max, the test's kernel given by -kernel: what
#           the test does without minihv in between (the reference column)
#   svm     minihv under QEMU TCG -cpu max: SVM with nested paging
#   shadow  the same with mmu=shadow: minihv's shadow paging
#   bochs   minihv under Bochs corei7_skylake_x: VMX with EPT
#
# -b picks some of them (comma-separated, default qemu,svm,shadow,bochs);
# -j runs N emulators side by side (default 1; one per core is the most that
# helps: 2 on the 2-core machine this was written on); -t sets every run's
# timeout in seconds (default: the test's own `timeout` in unittests.cfg, or
# 90 s, times KUT_BOCHS_FACTOR under Bochs). TEST-GLOBs select tests by their
# unittests.cfg section name (default: all but the `nodefault` group, which a
# glob must name).
#
# Nothing of KUT is copied into this repository: this reads the tree the user
# points at, parses x86/unittests.cfg itself and starts the emulators itself
# (KUT's own runner, scripts/runtime.bash, cannot start minihv). What it keeps
# from KUT's conventions:
# - a test is a multiboot1 ELF32 (x86/NAME.flat); `test_args` (older trees:
#   `-append '...'` in `extra_params`) is its command line; `qemu_params` /
#   `extra_params` are QEMU options; `smp` the CPU count; QEMU's default RAM
#   (128 MiB, x86/run passes no -m) unless the options say -m;
# - the environment file (KUT's -initrd) is one multiboot1 module;
# - the test ends by writing CODE to the isa-debug-exit port 0xf4; QEMU then
#   exits with (CODE << 1) | 1 and minihv prints `minihv: exit status` with
#   that number: 1 = PASS, 77 = SKIP (the test wrote 38: KUT's runner reads
#   77 as a skip, scripts/runtime.bash), anything else FAIL.
#   The `SUMMARY:` line the test prints is shown beside the result.
#
# Work files (ISOs, serial logs, Bochs configs) go to $BUILD/kut/TEST/COLUMN/;
# each run prints its log's path. The ISO of a run that passed or skipped is
# deleted (KUT_KEEP_ISO=1 keeps it); a failed one stays for a rerun by hand.
#
# Exit status: 0 when every minihv run passed or skipped wherever plain QEMU
# passed (or was not run); 1 when minihv failed or timed out on a test that
# plain QEMU passes; 2 for a usage error or an unusable KUT tree.
#
# Environment: BUILD (build), KUT_WORK ($BUILD/kut), KUT_KERNEL
# ($BUILD/minihv.elf), KUT_MINIHV_CMDLINE (extra minihv options, default
# "console=raw watchdog=off": guest output without minihv's prefix, no
# guest-time limit besides ours), KUT_BOCHS_FACTOR (5: Bochs is that much
# slower than TCG on these tests), KUT_BOCHS_CPU (corei7_skylake_x).
#
# `scripts/kut.sh --self-test` runs tests/kut/test_kut.sh (no emulators).
set -eu

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
. "$here/emu.sh"
. "$here/pool.sh" # kill_tree

BUILD=${BUILD:-build}
KUT_WORK=${KUT_WORK:-$BUILD/kut}
KUT_KERNEL=${KUT_KERNEL:-$BUILD/minihv.elf}
KUT_MINIHV_CMDLINE=${KUT_MINIHV_CMDLINE-console=raw watchdog=off}
KUT_BOCHS_FACTOR=${KUT_BOCHS_FACTOR:-5}
KUT_BOCHS_CPU=${KUT_BOCHS_CPU:-corei7_skylake_x}
KUT_KEEP_ISO=${KUT_KEEP_ISO:-0}
KUT_BOCHS_BIOS=${KUT_BOCHS_BIOS:-/usr/share/bochs/BIOS-bochs-latest} # bochs_cmd's
KUT_DEFAULT_TIMEOUT=90 # KUT's own default (scripts/runtime.bash)
KUT_DEFAULT_MEM=128    # MiB: QEMU's default; KUT's x86/run passes no -m
KUT_MAX_VCPUS=8        # minihv's guest_vcpus limit (boot/options.c)
MAX_SMP=${MAX_SMP:-$(nproc 2>/dev/null || echo 1)}

COLUMNS_ALL="qemu svm shadow bochs"
declare -A COL_TITLE=([qemu]="plain QEMU" [svm]="minihv QEMU-SVM"
	[shadow]="minihv QEMU-shadow" [bochs]="minihv Bochs-VMX")

die() { echo "kut.sh: $*" >&2; exit 2; }
usage() {
	# The header comment down to its third paragraph.
	sed -n '2,/^# Nothing of KUT/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
	exit 2
}

# --- unittests.cfg ----------------------------------------------------------
# parse_cfg FILE: one entry per [section] into the T_* arrays, indexed 0..N-1.
# The keys are KUT's (scripts/common.bash): file, smp, test_args,
# qemu_params or extra_params (one line, or several between """), groups,
# arch, machine, check, accel, timeout, disabled_if. Unknown keys are kept
# out silently, as KUT does.
T_NAME=() T_FILE=() T_SMP=() T_ARGS=() T_OPTS=() T_GROUPS=() T_ARCH=()
T_ACCEL=() T_TIMEOUT=() T_CHECK=() T_MACHINE=() T_DISABLED=()
parse_cfg() {
	local line n=-1 key val
	T_NAME=() T_FILE=() T_SMP=() T_ARGS=() T_OPTS=() T_GROUPS=() T_ARCH=()
	T_ACCEL=() T_TIMEOUT=() T_CHECK=() T_MACHINE=() T_DISABLED=()
	while IFS= read -r line || [ -n "$line" ]; do
		line=${line%$'\r'}
		if [[ $line =~ ^\[(.*)\]$ ]]; then
			n=$((n + 1))
			T_NAME[n]=${BASH_REMATCH[1]} T_FILE[n]="" T_SMP[n]=1 T_ARGS[n]="" T_OPTS[n]=""
			T_GROUPS[n]="" T_ARCH[n]="" T_ACCEL[n]="" T_TIMEOUT[n]="" T_CHECK[n]=""
			T_MACHINE[n]="" T_DISABLED[n]=""
			continue
		fi
		[ "$n" -ge 0 ] || continue
		[[ $line =~ ^([a-z_]+)\ *=\ *(.*)$ ]] || continue
		key=${BASH_REMATCH[1]} val=${BASH_REMATCH[2]}
		# qemu_params = """ ... """: the lines between, joined by spaces.
		if [[ $val == '"""'* ]]; then
			val=${val#'"""'}
			while [[ $val != *'"""'* ]] && IFS= read -r line; do
				val+=" ${line%$'\r'}"
			done
			val=${val%%'"""'*}
			val=${val//\\ / } # KUT's backslash-newline continuations
		fi
		case "$key" in
		file) T_FILE[n]=$val ;;
		smp) T_SMP[n]=$val ;;
		test_args) T_ARGS[n]=$val ;;
		qemu_params | extra_params) T_OPTS[n]=$val ;;
		groups) T_GROUPS[n]=$val ;;
		arch) T_ARCH[n]=$val ;;
		accel) T_ACCEL[n]=$val ;;
		timeout) T_TIMEOUT[n]=$val ;;
		check) T_CHECK[n]=$val ;;
		machine) T_MACHINE[n]=$val ;;
		disabled_if) T_DISABLED[n]=$val ;;
		esac
	done < "$1"
}

# shell_words STRING: STRING's words, one per line, as the shell splits
# them. KUT's runner evals these fields (a test's arguments may hold
# `date +%s`), so this does too, in a subshell, with no other input.
shell_words() {
	(eval "set -- $1" && for w in "$@"; do printf '%s\n' "$w"; done) </dev/null
}

# seconds TIMEOUT: "90", "90s", "2m", "1h" -> seconds.
seconds() {
	local t=$1
	case "$t" in
	*s) echo "${t%s}" ;;
	*m) echo $((${t%m} * 60)) ;;
	*h) echo $((${t%h} * 3600)) ;;
	*d) echo $((${t%d} * 86400)) ;;
	*) echo "$t" ;;
	esac
}

# mebibytes SIZE: QEMU's -m syntax (MiB unless suffixed) -> MiB.
mebibytes() {
	local m=${1%%,*} # -m 4g or -m size=4g,slots=...
	m=${m#size=}
	case "$m" in
	*[kK]) echo $((${m%?} / 1024)) ;;
	*[mM]) echo "${m%?}" ;;
	*[gG]) echo $((${m%?} * 1024)) ;;
	*[tT]) echo $((${m%?} * 1024 * 1024)) ;;
	*) echo "$m" ;;
	esac
}

# plan_test I: what test I needs and where it can run. Sets
#   P_ARGS (its command line, words one per line), P_OPTS (QEMU options for
#   the plain run, one per line), P_MEM (MiB), P_SMP, P_TIMEOUT (seconds),
#   P_NOTRUN (why not at all: empty if it runs), P_NA (why minihv cannot
#   run it: empty if it can), P_NOTE (what minihv leaves out: a -cpu).
plan_test() {
	local i=$1 w prev="" path value words
	P_ARGS="" P_OPTS="" P_MEM=$KUT_DEFAULT_MEM P_SMP=${T_SMP[i]} P_NOTRUN="" P_NA="" P_NOTE=""
	P_TIMEOUT=$(seconds "${T_TIMEOUT[i]:-$KUT_DEFAULT_TIMEOUT}")
	P_SMP=${P_SMP//\$MAX_SMP/$MAX_SMP}
	P_SMP=${P_SMP//\$\{MAX_SMP\}/$MAX_SMP}
	if [ "${T_ARCH[i]}" = i386 ]; then
		P_NOTRUN="arch=i386 (a 32-bit build of KUT)"
		return
	fi
	if [ -n "${T_ACCEL[i]}" ] && [ "${T_ACCEL[i]}" != tcg ]; then
		P_NOTRUN="needs KVM (accel=${T_ACCEL[i]})"
		return
	fi
	if [ -n "${T_DISABLED[i]}" ]; then
		P_NOTRUN="disabled_if = ${T_DISABLED[i]}"
		return
	fi
	# KUT skips a test whose check file lacks the value (a KVM module
	# parameter, mostly): so does this.
	for w in ${T_CHECK[i]}; do
		path=${w%%=*} value=${w#*=}
		if [ ! -f "$path" ] || [ "$(cat "$path" 2>/dev/null)" != "$value" ]; then
			P_NOTRUN="needs $path=$value (check)"
			return
		fi
	done
	[[ $P_SMP =~ ^[0-9]+$ ]] || { P_NOTRUN="smp = $P_SMP: not a number"; return; }
	[[ $P_TIMEOUT =~ ^[0-9]+$ ]] || { P_NOTRUN="timeout = ${T_TIMEOUT[i]}: not understood"; return; }
	if ! words=$(shell_words "${T_ARGS[i]}") || ! P_OPTS=$(shell_words "${T_OPTS[i]}"); then
		P_NOTRUN="test_args or qemu_params not shell words"
		return
	fi
	P_ARGS=$words
	# The options: -m and -smp are the test's size on every column; -append
	# (older trees) its arguments; -cpu is plain QEMU's alone (minihv gives
	# its guest its own CPUID); anything else (a device, a machine type) is
	# a plain-QEMU option minihv cannot give. -cpu host and -enable-kvm
	# need KVM.
	local opts=() na=()
	while IFS= read -r w; do
		[ -n "$prev" ] || { [ -n "$w" ] || continue; }
		if [ -n "$prev" ]; then
			case "$prev" in
			-m) P_MEM=$(mebibytes "$w") ;;
			-smp) P_SMP=${w%%,*} ;;
			-append) P_ARGS=$(shell_words "$w") ;;
			-cpu)
				[[ $w == host* ]] && { P_NOTRUN="needs KVM (-cpu $w)"; return; }
				P_NOTE="-cpu $w: plain QEMU only"
				opts+=("$prev" "$w")
				;;
			-accel | -machine | -M)
				[[ $w == *kvm* ]] && { P_NOTRUN="needs KVM ($prev $w)"; return; }
				opts+=("$prev" "$w")
				# pit=off asks for what minihv's PC is anyway: no 8254 PIT.
				[ "$w" = pit=off ] || na+=("$prev $w")
				;;
			*) opts+=("$prev" "$w") na+=("$prev $w") ;;
			esac
			prev=""
			continue
		fi
		case "$w" in
		-enable-kvm) P_NOTRUN="needs KVM (-enable-kvm)"; return ;;
		-m | -smp | -append | -cpu | -accel | -machine | -M | -device | -global | -overcommit | \
			-chardev | -object | -numa | -initrd | -bios | -drive | -netdev) prev=$w ;;
		*) opts+=("$w") na+=("$w") ;;
		esac
	done <<< "$P_OPTS"
	[ -z "$prev" ] || { P_NOTRUN="qemu_params ends in $prev without its value"; return; }
	# KUT's `machine` key: a machine type, as -machine.
	if [ -n "${T_MACHINE[i]}" ]; then
		opts+=(-machine "${T_MACHINE[i]}") na+=("machine ${T_MACHINE[i]}")
	fi
	P_OPTS=$(for w in ${opts[@]+"${opts[@]}"}; do printf '%s\n' "$w"; done)
	if ! [[ $P_MEM =~ ^[0-9]+$ ]] || [ "$P_MEM" = 0 ]; then
		P_NOTRUN="-m $P_MEM: not understood"
		return
	fi
	if [ ${#na[@]} -gt 0 ]; then
		P_NA="needs ${na[*]}"
	elif [ "$P_SMP" -gt "$KUT_MAX_VCPUS" ]; then
		P_NA="smp $P_SMP > $KUT_MAX_VCPUS vCPUs"
	fi
	# A word GRUB would not pass through single quotes unchanged.
	if grep -q "'" <<< "$P_ARGS"; then
		P_NA="an argument with a quote (cannot pass through grub.cfg)"
	fi
}

# --- results ----------------------------------------------------------------
# exit_result STATUS: the (CODE << 1) | 1 number -> PASS, SKIP or FAIL.
exit_result() {
	case "$1" in
	1) echo PASS ;;
	77) echo SKIP ;;
	*) echo FAIL ;;
	esac
}

# summary_of LOG: the test's last `SUMMARY: ...` line, without the prefix.
summary_of() {
	grep -a '^SUMMARY: ' "$1" 2>/dev/null | tail -n 1 | tr -d '\r' | sed 's/^SUMMARY: //' || true
}

# last_reason LOG: minihv's last word on the guest (a `minihv:` or
# `guest[` line), but for the exit status line.
last_reason() {
	grep -aE '^(minihv:|guest\[)' "$1" 2>/dev/null | grep -av '^minihv: exit status' |
		tail -n 1 | tr -d '\r' | sed 's/^\(.\{200\}\).\{4,\}/\1 .../' || true
}

# read_result plain|minihv|minihv-qemu LOG RC STDERR: sets R_STATUS (PASS, FAIL, SKIP,
# TIMEOUT) and R_NOTE (the SUMMARY line; for a failure also its reason).
#   plain: QEMU's exit status is the test's: (CODE << 1) | 1; 124 or 137
#     is timeout(1)'s; any other is QEMU's own failure (stderr says why).
#   minihv: the last `minihv: exit status S` line; without one the run
#     failed, and the last `minihv:` or `guest[` line says why (a panic,
#     the guest stopped by minihv), or it timed out. minihv-qemu: the same
#     under QEMU, which leaves through the same port with minihv's S: its
#     exit status must then be (S << 1) | 1; minihv-bochs: under Bochs,
#     which must exit 0 after a pass.
read_result() {
	local kind=$1 log=$2 rc=$3 err=$4 status="" summary reason
	summary=$(summary_of "$log")
	R_STATUS="" R_NOTE=$summary
	if [ "$kind" = plain ]; then
		case "$rc" in
		124 | 137) R_STATUS=TIMEOUT ;;
		*) if [ $((rc % 2)) = 1 ]; then
			status=$rc
		else
			R_STATUS=FAIL
			reason="QEMU exit $rc, no debug-exit"
			# 0: with -no-reboot, the guest reset (a triple fault) or powered off.
			[ "$rc" != 0 ] || reason+=" (a reset or power-off)"
			if [ -s "$err" ]; then
				reason+=": $(tail -n 2 "$err" | tr -s '\n' ' ')"
			elif [ -s "$log" ]; then
				reason+="; last line: $(grep -a . "$log" | tail -n 1 | tr -d '\r')"
			fi
			R_NOTE="${summary:+$summary; }$reason"
		fi ;;
		esac
	else
		status=$(grep -a '^minihv: exit status ' "$log" 2>/dev/null | tail -n 1 | tr -d '\r' |
			sed 's/^minihv: exit status \([0-9]*\).*/\1/' || true)
		if [ -z "$status" ]; then
			reason=$(last_reason "$log")
			case "$rc" in
			124 | 137) R_STATUS=TIMEOUT ;;
			*) R_STATUS=FAIL
				[ -n "$reason" ] || reason="no exit status line (emulator exit $rc)${err:+$([ -s "$err" ] &&
					printf ': %s' "$(tail -n 2 "$err" | tr -s '\n' ' ')")}" ;;
			esac
			[ -z "$reason" ] || R_NOTE="${summary:+$summary; }$reason"
		fi
	fi
	# Under QEMU, minihv's own exit goes through the same port: QEMU's exit
	# status must be (S << 1) | 1, else the line is not to be trusted.
	# Bochs: minihv's pass leaves through the shutdown port's debugger
	# ("D": Bochs exits 0), anything else through its panic (exit 1).
	local bad=""
	if [ "$kind" = minihv-qemu ] && [ -n "$status" ] && [ $((rc % 2)) = 1 ] &&
	   [ "$rc" != $((((status << 1) | 1) & 255)) ]; then
		bad="QEMU exited $rc"
	elif [ "$kind" = minihv-bochs ] && [ "$status" = 1 ] && [ "$rc" != 0 ]; then
		bad="Bochs exited $rc"
	fi
	if [ -n "$bad" ]; then
		R_STATUS=FAIL R_NOTE="${summary:+$summary; }exit status line says $status, $bad"
		reason=$(last_reason "$log")
		[ -z "$reason" ] || R_NOTE+="; $reason"
		return
	fi
	if [ -n "$status" ]; then
		R_STATUS=$(exit_result "$status")
		if [ "$R_STATUS" = FAIL ]; then
			R_NOTE="${summary:+$summary; }exit status $status (code $((status >> 1)))"
			if [ "$kind" != plain ]; then
				reason=$(last_reason "$log")
				[ -z "$reason" ] || R_NOTE+="; $reason"
			fi
		elif [ "$R_STATUS" = PASS ] && [[ $summary =~ ([1-9][0-9]*)\ unexpected\ failures ]]; then
			# Never seen: a KUT test exits with its report's verdict.
			R_STATUS=FAIL R_NOTE="$summary; but exit status 1"
		fi
	fi
}

# --- runs -------------------------------------------------------------------
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# env_file FILE: the test environment (KUT's -initrd): what KUT's
# scripts/arch-run.bash gives a test under QEMU TCG. ERRATA_FORCE=y: under
# TCG, KUT runs the tests its errata list would hold back on old kernels.
env_file() {
	local v major="" minor="" micro=""
	v=$(qemu-system-x86_64 -version 2>/dev/null | head -n 1 || true)
	[[ $v =~ version\ ([0-9]+)\.([0-9]+)\.([0-9]+) ]] &&
		major=${BASH_REMATCH[1]} minor=${BASH_REMATCH[2]} micro=${BASH_REMATCH[3]}
	{
		echo "TARGET=qemu"
		echo "QEMU_ACCEL=tcg"
		echo "QEMU_VERSION_STRING=$v"
		echo "QEMU_MAJOR=$major"
		echo "QEMU_MINOR=$minor"
		echo "QEMU_MICRO=$micro"
		echo "KERNEL_VERSION_STRING=$(uname -r)"
		echo "ERRATA_FORCE=y"
	} > "$1"
}

# make_iso DIR FLAT ENV MINIHV_CMDLINE ARGS -> DIR/minihv.iso, as the
# Makefile's iso_rule builds one from iso/grub.cfg.in: the test is the guest
# module, its arguments the words after the module's name (single-quoted
# for GRUB's parser), its environment file the guest-env module.
make_iso() {
	local dir=$1 flat=$2 env=$3 cmdline=$4 args=$5 line w mods guestline
	rm -rf "$dir/isodir"
	mkdir -p "$dir/isodir/boot/grub"
	cp "$KUT_KERNEL" "$dir/isodir/boot/minihv.elf"
	cp "$flat" "$dir/isodir/boot/guest.bin"
	cp "$env" "$dir/isodir/boot/guest.env"
	guestline="	module2 /boot/guest.bin guest"
	while IFS= read -r w; do
		[ -z "$w" ] || guestline+=" '$w'"
	done <<< "$args"
	mods="$guestline"$'\n'"	module2 /boot/guest.env guest-env"
	while IFS= read -r line || [ -n "$line" ]; do
		line=${line//@CMDLINE@/$cmdline}
		[ "$line" = "@MODULES@" ] && line=$mods
		printf '%s\n' "$line"
	done < "$top/iso/grub.cfg.in" > "$dir/isodir/boot/grub/grub.cfg"
	grub-mkrescue -o "$dir/minihv.iso" "$dir/isodir" > "$dir/mkrescue.log" 2>&1 ||
		{ echo "grub-mkrescue failed: $(tail -n 1 "$dir/mkrescue.log")"; return 1; }
	cp "$dir/isodir/boot/grub/grub.cfg" "$dir/grub.cfg" # what the ISO boots, for the record
	rm -rf "$dir/isodir"
}

# run_one I COLUMN: one test on one column; writes DIR/result
# ("STATUS SECONDS" on its first line, the note on the second) and prints
# one progress line with the log's path.
run_one() {
	local i=$1 col=$2 name=${T_NAME[$1]} flat=$KUT_DIR/x86/${T_FILE[$1]}
	local dir=$KUT_WORK/${T_NAME[$1]}/$2 log start rc kind=minihv limit w
	local -a plain_opts=() args=()
	plan_test "$i"
	rm -rf "$dir" && mkdir -p "$dir"
	log=$dir/serial.log
	limit=${KUT_TIMEOUT:-$P_TIMEOUT}
	start=$(now)
	case "$col" in
	qemu)
		kind=plain
		while IFS= read -r w; do [ -z "$w" ] || plain_opts+=("$w"); done <<< "$P_OPTS"
		while IFS= read -r w; do [ -z "$w" ] || args+=("$w"); done <<< "$P_ARGS"
		# shellcheck disable=SC2054 # the commas are QEMU's
		CMD=(qemu-system-x86_64 -machine pc -accel tcg -cpu max -m "$P_MEM" -smp "$P_SMP"
			-display none -vga none -nodefaults -no-reboot -serial "file:$log"
			-device isa-debug-exit,iobase=0xf4,iosize=0x4 -kernel "$flat"
			-initrd "$KUT_WORK/env")
		[ ${#args[@]} = 0 ] || CMD+=(-append "${args[*]}")
		CMD+=(${plain_opts[@]+"${plain_opts[@]}"})
		;;
	svm | shadow | bochs)
		local cmdline="guest_mem=${P_MEM}M guest_vcpus=$P_SMP $KUT_MINIHV_CMDLINE"
		[ "$col" = shadow ] && cmdline+=" mmu=shadow"
		if ! make_iso "$dir" "$flat" "$KUT_WORK/env" "${cmdline% }" "$P_ARGS" > "$dir/stderr" 2>&1; then
			printf 'FAIL 0.0\n%s\n' "$(tail -n 1 "$dir/stderr")" > "$dir/result"
			echo "$name $col: FAIL (ISO: $(tail -n 1 "$dir/stderr"))"
			return
		fi
		# The emulator's RAM: the guest's and 1 GiB for minihv, at least
		# what make test gives it; one CPU per vCPU.
		local host_mem=$((P_MEM + 1024))
		[ "$host_mem" -ge 3072 ] || host_mem=3072
		if [ "$col" = bochs ]; then
			limit=$((limit * KUT_BOCHS_FACTOR))
			kind=minihv-bochs
			BOCHS_MEGS=$host_mem BOCHS_SMP=$P_SMP BOCHS_CPU=$KUT_BOCHS_CPU bochs_cmd "$dir/minihv.iso" "$log"
		else
			kind=minihv-qemu
			QEMU_MEM=${host_mem}M QEMU_SMP=$P_SMP qemu_cmd tcg "$dir/minihv.iso" "$log"
		fi
		;;
	esac
	printf '%q ' "${CMD[@]}" > "$dir/cmd"
	echo >> "$dir/cmd"
	rc=0
	# -k: Bochs catches SIGTERM. Bochs' own exit status proves nothing
	# (read_result reads the log).
	timeout -k 10 "$limit" "${CMD[@]}" > "$dir/stderr" 2>&1 </dev/null || rc=$?
	touch "$log"
	echo "$rc" > "$dir/rc"
	read_result "$kind" "$log" "$rc" "$dir/stderr"
	# What minihv's guest did not get: a failure may come from it.
	if [ "$kind" != plain ] && [ -n "$P_NOTE" ] && [ "$R_STATUS" != PASS ]; then
		R_NOTE+="${R_NOTE:+; }$P_NOTE"
	fi
	local secs
	secs=$(elapsed "$start")
	printf '%s %s\n%s\n' "$R_STATUS" "$secs" "$R_NOTE" > "$dir/result"
	if [ "$KUT_KEEP_ISO" != 1 ] && { [ "$R_STATUS" = PASS ] || [ "$R_STATUS" = SKIP ]; }; then
		rm -f "$dir/minihv.iso"
	fi
	printf '%-28s %-7s %-7s %6ss  %s%s\n' "$name" "$col" "$R_STATUS" "$secs" "$log" \
		"${R_NOTE:+  ($R_NOTE)}"
}

# --- table ------------------------------------------------------------------
# cell I COLUMN: "PASS 1.2s", "TIMEOUT 90.0s", "n/a [N]" (N: a footnote).
declare -A NA_REASON=()   # COLUMN: why the whole column cannot run
declare -A CELL_NA=()     # "I COLUMN": why this cell cannot run
FOOTNOTES=()
footnote() { # TEXT -> FN, its number (not in a subshell: it adds to FOOTNOTES)
	local k
	for k in "${!FOOTNOTES[@]}"; do
		if [ "${FOOTNOTES[$k]}" = "$1" ]; then
			FN=$((k + 1))
			return
		fi
	done
	FOOTNOTES+=("$1")
	FN=${#FOOTNOTES[@]}
}

rtrim() { local s=$1; printf '%s\n' "${s%"${s##*[! ]}"}"; }

print_table() { # INDICES...: the tests that ran
	local i col w=7 status secs cell line
	local -A pass fail skip tout total
	for i in "$@"; do [ ${#T_NAME[i]} -le "$w" ] || w=${#T_NAME[i]}; done
	FOOTNOTES=()
	printf '%-*s' "$w" test
	line=""
	for col in $COLUMNS; do line+=$(printf ' | %-18s' "${COL_TITLE[$col]}"); done
	rtrim "$line"
	printf '%s' "$(printf '%*s' "$w" '' | tr ' ' -)"
	for col in $COLUMNS; do printf -- '-+-%s' '------------------'; done
	echo
	for col in $COLUMNS; do pass[$col]=0 fail[$col]=0 skip[$col]=0 tout[$col]=0 total[$col]=0; done
	for i in "$@"; do
		line=$(printf '%-*s' "$w" "${T_NAME[i]}")
		for col in $COLUMNS; do
			if [ -n "${NA_REASON[$col]:-}" ]; then
				footnote "${COL_TITLE[$col]}: ${NA_REASON[$col]}"
				cell="n/a [$FN]"
			elif [ -n "${CELL_NA[$i $col]:-}" ]; then
				footnote "${CELL_NA[$i $col]}"
				cell="n/a [$FN]"
			elif [ -f "$KUT_WORK/${T_NAME[i]}/$col/result" ]; then
				read -r status secs < "$KUT_WORK/${T_NAME[i]}/$col/result"
				cell="$status ${secs}s"
				case "$status" in
				PASS) pass[$col]=$((pass[$col] + 1)) ;;
				SKIP) skip[$col]=$((skip[$col] + 1)) ;;
				TIMEOUT) tout[$col]=$((tout[$col] + 1)) ;;
				*) fail[$col]=$((fail[$col] + 1)) ;;
				esac
				total[$col]=$(awk -v a="${total[$col]}" -v b="$secs" 'BEGIN { printf "%.1f", a + b }')
			else
				cell="ERROR (no result)"
				fail[$col]=$((fail[$col] + 1))
			fi
			status="" secs=""
			line+=$(printf ' | %-18s' "$cell")
		done
		rtrim "$line"
	done
	printf '%s' "$(printf '%*s' "$w" '' | tr ' ' -)"
	for col in $COLUMNS; do printf -- '-+-%s' '------------------'; done
	echo
	line=$(printf '%-*s' "$w" "p/f/s/t")
	for col in $COLUMNS; do
		line+=$(printf ' | %-18s' "${pass[$col]}/${fail[$col]}/${skip[$col]}/${tout[$col]}")
	done
	rtrim "$line"
	line=$(printf '%-*s' "$w" "time")
	for col in $COLUMNS; do line+=$(printf ' | %-18s' "${total[$col]}s"); done
	rtrim "$line"
	echo "p/f/s/t: passed/failed/skipped/timed out; time: the column's runs added up"
	for i in "${!FOOTNOTES[@]}"; do echo "[$((i + 1))] ${FOOTNOTES[$i]}"; done
}

# --- main -------------------------------------------------------------------
main() {
	local jobs=1 backends="qemu,svm,shadow,bochs" opt
	KUT_TIMEOUT=""
	if [ "${1:-}" = --self-test ]; then
		exec "$top/tests/kut/test_kut.sh"
	fi
	while getopts "j:b:t:h" opt; do
		case "$opt" in
		j) jobs=$OPTARG ;;
		b) backends=$OPTARG ;;
		t) KUT_TIMEOUT=$OPTARG ;;
		*) usage ;;
		esac
	done
	shift $((OPTIND - 1))
	[ $# -ge 1 ] || usage
	[[ $jobs =~ ^[1-9][0-9]*$ ]] || die "-j $jobs: a number of emulators, 1 or more"
	[ -z "$KUT_TIMEOUT" ] || [[ $KUT_TIMEOUT =~ ^[1-9][0-9]*$ ]] || die "-t $KUT_TIMEOUT: seconds"
	KUT_DIR=$1
	shift
	local globs=("$@")

	local how="build it: cd $KUT_DIR && ./configure --arch=x86_64 && make"
	[ -d "$KUT_DIR" ] || die "$KUT_DIR: no such directory (a kvm-unit-tests tree; $how)"
	[ -f "$KUT_DIR/x86/unittests.cfg" ] ||
		die "$KUT_DIR/x86/unittests.cfg: not found: KUT_DIR must be a kvm-unit-tests tree"
	compgen -G "$KUT_DIR/x86/*.flat" > /dev/null ||
		die "$KUT_DIR/x86: no *.flat test kernels built ($how)"

	COLUMNS=""
	local b
	for b in ${backends//,/ }; do
		[[ " $COLUMNS_ALL " == *" $b "* ]] || die "-b $b: backends are ${COLUMNS_ALL// /,}"
		[[ " $COLUMNS " == *" $b "* ]] || COLUMNS+="$b "
	done
	COLUMNS=${COLUMNS% }

	# Whole columns that cannot run here.
	command -v qemu-system-x86_64 > /dev/null ||
		{ NA_REASON[qemu]="no qemu-system-x86_64 in PATH"; NA_REASON[svm]=${NA_REASON[qemu]}
		  NA_REASON[shadow]=${NA_REASON[qemu]}; }
	command -v bochs > /dev/null || NA_REASON[bochs]="no bochs in PATH"
	[ -f "$KUT_BOCHS_BIOS" ] || NA_REASON[bochs]="no Bochs BIOS ($KUT_BOCHS_BIOS)"
	for col in svm shadow bochs; do
		[ -n "${NA_REASON[$col]:-}" ] && continue
		if [ ! -f "$KUT_KERNEL" ]; then
			NA_REASON[$col]="no $KUT_KERNEL (make BUILD=$BUILD kernel)"
		elif ! command -v grub-mkrescue > /dev/null; then
			NA_REASON[$col]="no grub-mkrescue in PATH"
		fi
	done

	parse_cfg "$KUT_DIR/x86/unittests.cfg"
	mkdir -p "$KUT_WORK"
	env_file "$KUT_WORK/env"

	# Which tests: named by a glob (or all), then what each one needs.
	local i g picked named run=() notrun=()
	declare -A NOTRUN=()
	for i in "${!T_NAME[@]}"; do
		picked=0 named=0
		if [ ${#globs[@]} = 0 ]; then
			picked=1
		else
			for g in "${globs[@]}"; do
				# shellcheck disable=SC2053
				[[ ${T_NAME[i]} == $g ]] && { picked=1; [ "$g" = '*' ] || named=1; }
			done
		fi
		[ $picked = 1 ] || continue
		plan_test "$i"
		if [ -n "$P_NOTRUN" ]; then
			NOTRUN[$i]=$P_NOTRUN
		elif [[ " ${T_GROUPS[i]} " == *" nodefault "* ]] && [ $named = 0 ]; then
			NOTRUN[$i]="group nodefault (name it to run it)"
		elif [ ! -f "$KUT_DIR/x86/${T_FILE[i]}" ]; then
			NOTRUN[$i]="x86/${T_FILE[i]} not built"
		else
			run+=("$i")
			if [ -n "$P_NA" ]; then
				for col in svm shadow bochs; do CELL_NA[$i $col]="minihv: $P_NA"; done
			fi
		fi
		[ -z "${NOTRUN[$i]:-}" ] || notrun+=("$i")
	done
	[ ${#run[@]} -gt 0 ] || [ ${#notrun[@]} -gt 0 ] || die "no test in $KUT_DIR/x86/unittests.cfg matches: ${globs[*]}"

	# The runs: test by test, column by column, -j at a time. Each writes
	# its result file; the table reads them at the end. A test's files of
	# an earlier run go first: the exit status reads every column's result.
	local pids=() n=0 njobs=0 col
	for i in ${run[@]+"${run[@]}"}; do rm -rf "${KUT_WORK:?}/${T_NAME[i]}"; done
	for i in ${run[@]+"${run[@]}"}; do
		for col in $COLUMNS; do
			[ -z "${NA_REASON[$col]:-}" ] && [ -z "${CELL_NA[$i $col]:-}" ] && njobs=$((njobs + 1))
		done
	done
	echo "kut: ${#run[@]} tests, $njobs runs, $jobs at a time; logs under $KUT_WORK/TEST/COLUMN/"
	# shellcheck disable=SC2154 # p: the trap's own loop variable
	trap 'for p in ${pids[@]+"${pids[@]}"}; do kill_tree "$p"; done; exit 130' INT TERM
	for i in ${run[@]+"${run[@]}"}; do
		for col in $COLUMNS; do
			if [ -n "${NA_REASON[$col]:-}" ] || [ -n "${CELL_NA[$i $col]:-}" ]; then
				continue
			fi
			while [ "$(jobs -pr | wc -l)" -ge "$jobs" ]; do wait -n || true; done
			run_one "$i" "$col" &
			pids+=($!)
			n=$((n + 1))
		done
	done
	wait || true
	trap - INT TERM

	echo
	print_table ${run[@]+"${run[@]}"}
	if [ ${#notrun[@]} -gt 0 ]; then
		echo
		echo "not run:"
		for i in "${notrun[@]}"; do printf '  %-28s %s\n' "${T_NAME[i]}" "${NOTRUN[$i]}"; done
	fi

	# Notes beside the table: each failure's reason, and the -cpu minihv
	# left out.
	local status secs note printed=0
	for i in ${run[@]+"${run[@]}"}; do
		for col in $COLUMNS; do
			[ -f "$KUT_WORK/${T_NAME[i]}/$col/result" ] || continue
			{ read -r status secs; IFS= read -r note || true; } < "$KUT_WORK/${T_NAME[i]}/$col/result"
			[ "$status" = FAIL ] || [ "$status" = TIMEOUT ] || continue
			[ $printed = 1 ] || { echo; echo "failures:"; printed=1; }
			printf '  %s %s: %s%s\n' "${T_NAME[i]}" "$col" "$status" "${note:+: $note}"
			printf '    log: %s\n' "$KUT_WORK/${T_NAME[i]}/$col/serial.log"
		done
	done

	# The exit status: a minihv column failing where plain QEMU passes.
	local bad=0 qstatus
	for i in ${run[@]+"${run[@]}"}; do
		qstatus=""
		[ -f "$KUT_WORK/${T_NAME[i]}/qemu/result" ] && read -r qstatus _ < "$KUT_WORK/${T_NAME[i]}/qemu/result"
		[ "$qstatus" = PASS ] || [ -z "$qstatus" ] || continue
		for col in svm shadow bochs; do
			[ -f "$KUT_WORK/${T_NAME[i]}/$col/result" ] || continue
			read -r status _ < "$KUT_WORK/${T_NAME[i]}/$col/result"
			case "$status" in FAIL | TIMEOUT) bad=1 ;; esac
		done
	done
	return $bad
}

# Sourced (tests/kut/test_kut.sh): the functions alone.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	main "$@"
fi
