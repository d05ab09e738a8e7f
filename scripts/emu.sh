# Emulator command lines, shared by run.sh and test.sh (sourced, not run).
USER_QEMU_MEM=${QEMU_MEM:-} USER_BOCHS_MEGS=${BOCHS_MEGS:-}
QEMU_MEM=${QEMU_MEM:-3G}
BOCHS_MEGS=${BOCHS_MEGS:-3072}

# size_mib N[K|M|G] (minihv's guest_mem= syntax, decimal or 0x): MiB, rounded up.
size_mib() {
	local v=$1 n u
	n=${v%[KkMmGg]} u=${v#"$n"}
	case "$n" in 0x*|0X*) n=$((n)) ;; *[!0-9]*|"") return 1 ;; esac
	case "$u" in
	K|k) echo $(((n + 1023) / 1024)) ;;
	M|m) echo "$n" ;;
	G|g) echo $((n * 1024)) ;;
	*) echo $(((n + 1048575) / 1048576)) ;;
	esac
}
# Bochs caps its host allocation at 2048 MiB; it pages the rest of guest RAM on demand.
BOCHS_HOST_MEGS=${BOCHS_HOST_MEGS:-2048}
BOCHS_CPU=${BOCHS_CPU:-corei7_skylake_x}
# CPUs: QEMU runs them as real host threads (MTTCG); Bochs interleaves its
# CPUs every BOCHS_QUANTUM instructions (1..32, Bochs' default 16).
QEMU_SMP=${QEMU_SMP:-4}
BOCHS_SMP=${BOCHS_SMP:-2}
BOCHS_QUANTUM=${BOCHS_QUANTUM:-16}

# qemu_cmd tcg|kvm ISO stdio|FILE -> CMD array
qemu_cmd() {
	local accel=$1 iso=$2 serial=$3 cpu
	if [ "$accel" = kvm ]; then
		accel="kvm"; cpu="host"
	else
		accel="tcg,thread=multi"; cpu="max"
	fi
	[ "$serial" = stdio ] || serial="file:$serial"
	CMD=(qemu-system-x86_64 -machine pc -accel "$accel" -cpu "$cpu" -m "$QEMU_MEM"
		-smp "$QEMU_SMP" -display none -vga none -nodefaults -no-reboot
		-serial "$serial" -device isa-debug-exit,iobase=0xf4,iosize=0x04
		-cdrom "$iso" -boot d)
}

# bochs_cmd ISO SERIAL_LOG -> CMD array (writes the config beside the log)
bochs_cmd() {
	local iso=$1 log=$2 dir
	dir=$(dirname "$log")
	cat > "$dir/bochsrc" <<EOC
memory: guest=$BOCHS_MEGS, host=$BOCHS_HOST_MEGS
cpu: model=$BOCHS_CPU, count=$BOCHS_SMP, quantum=$BOCHS_QUANTUM, ips=100000000, reset_on_triple_fault=0
romimage: file=/usr/share/bochs/BIOS-bochs-latest, options=fastboot
vgaromimage: file=/usr/share/vgabios/vgabios.bin
ata0-master: type=cdrom, path=$iso, status=inserted
boot: cdrom
com1: enabled=1, mode=file, dev=$log
display_library: term
log: $dir/bochs.log
panic: action=fatal
error: action=report
plugin_ctrl: speaker=0
clock: sync=none, time0=946684800
port_e9_hack: enabled=1
EOC
	printf 'continue\nquit\n' > "$dir/bochs.rc"
	# The term display draws on a terminal. Given none (stdin /dev/null) it
	# opens a pseudo-terminal that nobody reads, and blocks for good once its
	# cursor blinks have filled it: a run of some minutes hung. script(1)
	# gives Bochs a terminal and copies what it draws to our stdout; -e
	# passes Bochs' exit status on.
	CMD=(script -qefc "$(printf '%q ' bochs -q -f "$dir/bochsrc" -rc "$dir/bochs.rc")" /dev/null)
}
