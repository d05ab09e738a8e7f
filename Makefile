# minihv: build, ISO, run, test, debug, bench. `make help` lists the targets.

# The first goal must be `all`: pattern rules below would otherwise make
# plain `make` build one guest object and stop.
.DEFAULT_GOAL := all

BUILD      ?= build
export BUILD
CC         := gcc
NASM       := nasm
LD         := ld
CMDLINE    ?=
# make run: the guest module (a flat 64-bit binary or a multiboot1 ELF32
# kernel, guest/ABI.md), its RAM and vCPUs; a multiboot1 kernel's command
# line (GUEST_ARGS) and its one module (GUEST_ENV, e.g. kvm-unit-tests' env).
GUEST      ?= $(BUILD)/guest/hello.bin
# guest_mem= and guest_vcpus=, as on minihv's command line, say the same.
GUEST_MEM  ?= $(guest_mem)
GUEST_VCPUS ?= $(guest_vcpus)
GUEST_ARGS ?=
GUEST_ENV  ?=
# A Linux guest (a bzImage), its initrd and command line: make run-linux boots
# Debian's cloud kernel and a busybox initramfs (scripts/linux-guest.sh, into
# $(BUILD)/linux) unless LINUX= or INITRD= name others; make run LINUX=file
# boots that kernel instead of GUEST, with INITRD= if given. 256M of RAM
# unless GUEST_MEM= says otherwise.
LINUX      ?=
INITRD     ?=
LINUX_CMDLINE ?= console=ttyS0
LINUX_DIR  := $(BUILD)/linux
RUN_GUEST  := $(or $(LINUX),$(GUEST))
RUN_GUEST_ARGS := $(if $(LINUX),$(LINUX_CMDLINE),$(GUEST_ARGS))
# minihv's command line for the user's guest, a Linux one where $(1) is set.
run_cmdline = $(strip $(CMDLINE) $(if $(1),console=live) \
	$(if $(GUEST_MEM),guest_mem=$(GUEST_MEM),$(if $(1),guest_mem=256M)) \
	$(if $(GUEST_VCPUS),guest_vcpus=$(GUEST_VCPUS)))
RUN_CMDLINE := $(call run_cmdline,$(LINUX))
LINUX_RUN_CMDLINE := $(call run_cmdline,linux)
COMMA      := ,
TESTS      ?= *
# The Linux guest tests run in images of their own, which carry the kernel
# (minihv-linux-tests*.iso); the others leave them out.
NOT_LINUX  := $(COMMA)-linux_*
TEST_CMDLINE ?= tests=$(TESTS)$(NOT_LINUX) $(EXTRA_CMDLINE)
GDB_PORT   ?= 1234
QEMU_MEM   ?= 3G

# Quiet build lines ("  CC file"); `make V=1` shows full commands.
Q   := $(if $(V),,@)
say = $(if $(V),,@printf '  %-8s %s\n' '$(1)' '$(2)')

WARN   := -Wall -Wextra -Werror -Wno-format-zero-length -Wmissing-prototypes -Wstrict-prototypes -Wshadow -Wundef
# Headers are included by path from the top ("mm/pt.h"): one -I.
INCS   := -I.
KCFLAGS := -std=gnu11 -O2 -g $(WARN) $(INCS) -ffreestanding -fno-stack-protector \
	-fno-pic -fno-pie -mno-red-zone -mgeneral-regs-only -mcmodel=small \
	-fno-omit-frame-pointer -mno-omit-leaf-frame-pointer -fno-strict-aliasing \
	-fno-asynchronous-unwind-tables -fno-optimize-sibling-calls -MMD -MP
KLDFLAGS := -nostdlib -z max-page-size=0x1000 -z noexecstack --no-warn-rwx-segments -T linker.ld

KSRC := $(filter-out vmx/asm-offsets.c,$(wildcard boot/*.c arch/x86/*.c mm/*.c lib/*.c vmx/*.c \
	virt/*.c svm/*.c ept/*.c tests/kernel/*.c))
KASM := $(wildcard boot/*.asm arch/x86/*.asm vmx/*.asm svm/*.asm)
# GNU as, for the stubs whose CFI gdb needs (boot/start64.S, arch/x86/isr.S).
KGAS := $(wildcard boot/*.S arch/x86/*.S)
KOBJ := $(patsubst %.c,$(BUILD)/k/%.o,$(KSRC)) $(patsubst %.asm,$(BUILD)/k/%.o,$(KASM)) \
	$(patsubst %.S,$(BUILD)/k/%.o,$(KGAS))

# Pure modules: compiled for the kernel above and for the host unit tests below.
PURE := lib/lockdep.c lib/printf.c lib/printk.c lib/strutil.c lib/cmdline.c boot/mb2.c boot/mb1.c boot/bzimage.c boot/acpi.c mm/frame.c mm/pt.c mm/x86pt.c \
	mm/memmap.c mm/mm.c lib/ktest_select.c ept/ept_fmt.c ept/npt_fmt.c ept/memslot.c ept/inval.c ept/mmu.c ept/fault.c ept/notify.c \
	ept/vm_memslot.c ept/check.c ept/gpc.c ept/unsync.c virt/remote.c virt/insn.c virt/acpi_tables.c virt/ioapic.c \
	ept/shadow.c ept/shadow_write.c ept/shadow_mem.c ept/shadow_walk.c ept/shadow_notify.c ept/shadow_audit.c ept/guest_mem.c
# SVM's ASID allocator (svm/asid.c), host-tested by tests/host/test_svm_asid.c.
PURE += svm/asid.c
# MINIHV_HOST: the few kernel headers with an inline fast path (arch/x86/smp.h)
# declare the host shim's function instead.
HCFLAGS := -std=gnu11 -O1 -g $(WARN) -Wno-missing-prototypes $(INCS) -DMINIHV_HOST \
	-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -MMD -MP
HOST_TESTS := $(patsubst tests/host/%.c,$(BUILD)/host/%,$(wildcard tests/host/test_*.c))
HOST_OBJ := $(patsubst %.c,$(BUILD)/h/%.o,$(PURE) tests/host/shim.c)

KERNEL := $(BUILD)/minihv.elf

# Guest images: flat binaries at guest-physical 1 MiB, linked into the kernel
# (the self-test guest) and shipped as a multiboot2 module (the demo guest).
GUESTS := hello testguest
GCFLAGS := -std=gnu11 -O2 -g $(WARN) -I. -ffreestanding -fno-stack-protector \
	-fno-pic -fno-pie -mno-red-zone -mgeneral-regs-only -fno-asynchronous-unwind-tables \
	-fno-tree-loop-distribute-patterns -MMD -MP
GUEST_BINOBJ := $(patsubst %,$(BUILD)/guest/%.bin.o,$(GUESTS))
KOBJ += $(GUEST_BINOBJ)
.SECONDARY:

$(BUILD)/guest/%.o: guest/%.c
	@mkdir -p $(dir $@)
	$(call say,GUESTCC,$<)
	$(Q)$(CC) $(GCFLAGS) -c $< -o $@
$(BUILD)/guest/start.o: guest/start.asm
	@mkdir -p $(dir $@)
	$(Q)$(NASM) -f elf64 $< -o $@
$(BUILD)/guest/%.elf: $(BUILD)/guest/%.o $(BUILD)/guest/start.o guest/guest.ld
	$(Q)$(LD) -nostdlib -z noexecstack --no-warn-rwx-segments -T guest/guest.ld -o $@ $(filter %.o,$^)
# The self-test guest's ABI checks; testguest_sse.c is ordinary C built with SSE,
# as a user's guest may be (the entry state enables SSE: guest/ABI.md).
$(BUILD)/guest/testguest.elf: $(BUILD)/guest/testguest_abi.o $(BUILD)/guest/testguest_sse.o \
	$(BUILD)/guest/testguest_shadow.o $(BUILD)/guest/testguest_shadow_bench.o \
	$(BUILD)/guest/pf_catch.o $(BUILD)/guest/testguest_ptfuzz.o
$(BUILD)/guest/testguest_sse.o: GCFLAGS := $(filter-out -mgeneral-regs-only,$(GCFLAGS)) -msse2
# The entry-mode guest (tests/kernel/test_guest_modes.c): real and 32-bit code, assembled flat.
$(BUILD)/guest/modeguest.bin: guest/modeguest.asm
	@mkdir -p $(dir $@)
	$(Q)$(NASM) -f bin $< -o $@
KOBJ += $(BUILD)/guest/modeguest.bin.o
# The PC-platform guest (tests/kernel/test_pc_platform.c): a multiboot1 ELF32
# kernel, linked as ELF64 and converted as kvm-unit-tests' x86/*.flat are.
PCGUEST := $(BUILD)/guest/pc/pcguest
$(PCGUEST)-entry.o: guest/pc/entry.S
	@mkdir -p $(dir $@)
	$(Q)$(CC) -Wa,--fatal-warnings -MMD -MP -c $< -o $@
$(PCGUEST).elf64: $(PCGUEST)-entry.o $(BUILD)/guest/pc/pcguest.o $(BUILD)/guest/pc/pcguest_apic.o \
	guest/pc/pcguest.ld
	$(Q)$(LD) -nostdlib -z max-page-size=0x1000 -z noexecstack --no-warn-rwx-segments \
		-T guest/pc/pcguest.ld -o $@ $(filter %.o,$^)
$(PCGUEST).mb1: $(PCGUEST).elf64
	$(Q)objcopy -O elf32-i386 $< $@
$(PCGUEST).mb1.o: $(PCGUEST).mb1
	$(call say,GUEST,$@)
	$(Q)cd $(dir $@) && objcopy -I binary -O elf64-x86-64 -B i386:x86-64 \
		--rename-section .data=.rodata.guest,alloc,load,readonly,data,contents pcguest.mb1 $(notdir $@)
KOBJ += $(PCGUEST).mb1.o
$(BUILD)/guest/%.bin: $(BUILD)/guest/%.elf
	$(Q)objcopy -O binary $< $@
# Symbols _binary_NAME_bin_start/_end (lib/guests.c).
$(BUILD)/guest/%.bin.o: $(BUILD)/guest/%.bin
	$(call say,GUEST,$@)
	$(Q)cd $(BUILD)/guest && objcopy -I binary -O elf64-x86-64 -B i386:x86-64 \
		--rename-section .data=.rodata.guest,alloc,load,readonly,data,contents $*.bin $*.bin.o

.PHONY: all help deps kernel iso run run-linux test test-host test-qemu test-linux test-bochs test-kvm test-gdb \
	mutants model debug gdb bench host-benches clean
all: kernel iso $(HOST_TESTS)

help:
	@echo "make run          boot minihv under QEMU, serial console on this terminal"
	@echo "make run-linux    boot Debian's cloud kernel as the guest, a busybox shell on the serial console"
	@echo "make test         host unit tests + self-tests under QEMU TCG, Bochs (and KVM if present)"
	@echo "make test-host | test-qemu | test-linux | test-gdb | test-bochs | test-kvm   one part of 'make test'"
	@echo "make debug        QEMU halted with its GDB stub on port $(GDB_PORT) (the tests, or GUEST=/LINUX=)"
	@echo "make gdb          attach gdb to 'make debug': breakpoint at kmain, or with GUEST_ELF=file"
	@echo "                  the guest's symbols and a stop at its entry (GUEST_BREAK=symbol)"
	@echo "make bench        deterministic counts and host-side timings"
	@echo "make mutants      break the protocol's key lines one by one; every mutant must be killed"
	@echo "make model        Spin: check the protocol models of model/ exhaustively, and their mutants (docs/model.md)"
	@echo "make kut KUT=DIR  kvm-unit-tests from a built tree under plain QEMU and minihv (docs/kut.md)"
	@echo "                  KUT_TESTS='glob ...'  KUT_BACKENDS=qemu,svm,shadow,bochs  KUT_JOBS=N  KUT_TIMEOUT=S"
	@echo "variables: TESTS=GLOB[,-GLOB]  CMDLINE='...'  GDB_PORT=N  EMU=qemu|bochs"
	@echo "make run:  GUEST=file (flat or multiboot1 ELF)  GUEST_ARGS='...'  GUEST_ENV=file  GUEST_MEM=N[K|M|G]  GUEST_VCPUS=N"
	@echo "           EMU=qemu|kvm|bochs (default: the fastest here)  CMDLINE='minihv options'  QEMU_MEM=, BOCHS_MEGS= (default: GUEST_MEM + 2G, at least 3G)"
	@echo "make run-linux, or make run with a bzImage:  LINUX=file  INITRD=file  LINUX_CMDLINE='$(LINUX_CMDLINE)'"

deps:
	@scripts/deps.sh

kernel: $(KERNEL)

$(BUILD)/k/%.o: %.c
	@mkdir -p $(dir $@)
	$(call say,CC,$<)
	$(Q)$(CC) $(KCFLAGS) -c $< -o $@

$(BUILD)/k/%.o: %.S
	@mkdir -p $(dir $@)
	$(call say,AS,$<)
	$(Q)$(CC) -g -Wa,--fatal-warnings -MMD -MP -c $< -o $@

$(BUILD)/k/%.o: %.asm $(BUILD)/asm-offsets.inc virt/guest_regs.inc
	@mkdir -p $(dir $@)
	$(call say,NASM,$<)
	$(Q)$(NASM) -f elf64 -g -F dwarf -I$(BUILD)/ -I./ $< -o $@

# Structure offsets for assembly, generated from C (vmx/asm-offsets.c).
$(BUILD)/asm-offsets.inc: vmx/asm-offsets.c virt/vcpu.h vmx/vcpu.h vmx/vmcs_defs.h
	@mkdir -p $(BUILD)
	$(call say,GEN,$@)
	$(Q)$(CC) $(filter-out -MMD -MP,$(KCFLAGS)) -S $< -o $(BUILD)/asm-offsets.s
	$(Q)sed -n 's/.*->\([A-Z0-9_]*\) \$$\{0,1\}\([0-9]*\).*/\1 equ \2/p' $(BUILD)/asm-offsets.s > $@

# Two links: the first without symbols, the second with the table generated
# from the first. .ksyms sits after all code (linker.ld), so no function moves;
# the check below proves it.
$(BUILD)/ksyms0.S: scripts/mksyms.sh
	@mkdir -p $(BUILD)
	$(Q)scripts/mksyms.sh > $@
$(BUILD)/%.o: $(BUILD)/%.S
	$(Q)$(CC) -c $< -o $@
$(BUILD)/minihv.pass1.elf: $(KOBJ) $(BUILD)/ksyms0.o linker.ld
	$(call say,LD,$@)
	$(Q)$(LD) $(KLDFLAGS) -o $@ $(KOBJ) $(BUILD)/ksyms0.o
$(BUILD)/ksyms.S: $(BUILD)/minihv.pass1.elf scripts/mksyms.sh
	$(Q)scripts/mksyms.sh $< > $@
$(KERNEL): $(BUILD)/minihv.pass1.elf $(BUILD)/ksyms.o
	$(call say,LD,$@)
	$(Q)$(LD) $(KLDFLAGS) -o $@ $(KOBJ) $(BUILD)/ksyms.o
	@nm -n $(BUILD)/minihv.pass1.elf | grep ' [tT] ' > $(BUILD)/syms1.txt
	@nm -n $@ | grep ' [tT] ' > $(BUILD)/syms2.txt
	@cmp -s $(BUILD)/syms1.txt $(BUILD)/syms2.txt || \
		{ echo "ksyms: functions moved between link passes"; rm -f $@; exit 1; }
	@grub-file --is-x86-multiboot2 $@ || { echo "$@: no valid multiboot2 header"; rm -f $@; exit 1; }

# ISO images: $(1) name, $(2) kernel command line, $(3) guest module or empty,
# $(4) the guest's command line, $(5) its environment module or empty,
# $(6) further modules, each FILE=NAME: /boot/NAME in the image, the
# module's string NAME (the kernel tests find Linux so: tests/kernel/test_linux.c).
# The command line is part of the image, so it is a dependency (stamp file).
iso_mod_file = $(firstword $(subst =, ,$(1)))
iso_mod_name = $(lastword $(subst =, ,$(1)))
# A Linux guest's initrd, as such a module (boot/run_guest.c finds "guest-initrd").
initrd_mod = $(if $(1),$(1)=guest-initrd)
# Their grub.cfg lines, each "\n<TAB>module2 ...", with no space between two.
iso_mod_lines = $(subst @@,,$(subst @@ ,,$(foreach m,$(1),\n	module2 /boot/$(call iso_mod_name,$(m)) $(call iso_mod_name,$(m))@@)))
define iso_rule
$(BUILD)/$(1).cmdline: FORCE
	@mkdir -p $(BUILD)
	@echo '$(2) $(3) $(4) $(5)$(if $(6), $(6))' | cmp -s - $$@ || echo '$(2) $(3) $(4) $(5)$(if $(6), $(6))' > $$@
$(BUILD)/$(1).iso: $(KERNEL) iso/grub.cfg.in $(BUILD)/$(1).cmdline $(3) $(5) $(foreach m,$(6),$(call iso_mod_file,$(m)))
	@rm -rf $(BUILD)/$(1).isodir && mkdir -p $(BUILD)/$(1).isodir/boot/grub
	$(call say,ISO,$$@)
	$(Q)cp $(KERNEL) $(BUILD)/$(1).isodir/boot/minihv.elf
	$(Q)$(if $(3),cp $(3) $(BUILD)/$(1).isodir/boot/guest.bin)
	$(Q)$(if $(5),cp $(5) $(BUILD)/$(1).isodir/boot/guest.env)
	$(foreach m,$(6),$(Q)cp $(call iso_mod_file,$(m)) $(BUILD)/$(1).isodir/boot/$(call iso_mod_name,$(m))
	)$(Q)sed -e 's|@CMDLINE@|$(2)|' \
		-e 's|@MODULES@|$(if $(3),	module2 /boot/guest.bin guest $(4))$(if $(5),\n	module2 /boot/guest.env guest-env)$(call iso_mod_lines,$(6))|' \
		iso/grub.cfg.in > $(BUILD)/$(1).isodir/boot/grub/grub.cfg
	$(Q)grub-mkrescue -o $$@ $(BUILD)/$(1).isodir 2> $(BUILD)/$(1).mkrescue.log || \
		{ cat $(BUILD)/$(1).mkrescue.log; exit 1; }
endef
.PHONY: FORCE
FORCE:
$(eval $(call iso_rule,minihv,$(RUN_CMDLINE),$(RUN_GUEST),$(RUN_GUEST_ARGS),$(GUEST_ENV),$(call initrd_mod,$(if $(LINUX),$(INITRD)))))
$(eval $(call iso_rule,minihv-linux,$(LINUX_RUN_CMDLINE),$(or $(LINUX),$(LINUX_DIR)/vmlinuz),$(LINUX_CMDLINE),,$(call initrd_mod,$(or $(INITRD),$(LINUX_DIR)/initrd.img))))
$(eval $(call iso_rule,minihv-test,$(TEST_CMDLINE),))
# The gdb test's own image: whatever TESTS= selects, gdb needs these tests.
$(eval $(call iso_rule,minihv-gdb,tests=gdb_fixture$(COMMA)guest_faults_4k_backing$(COMMA)traps_unexpected_caught,))
$(eval $(call iso_rule,minihv-bench,bench quiet,))
# The exit budgets alone (tests/kernel/test_exit_budget.c): make bench's SVM figure on Bochs ryzen.
$(eval $(call iso_rule,minihv-budget,tests=exit_budget_*,))
# make bench's boot-to-exit time: one quick test.
$(eval $(call iso_rule,minihv-boot,tests=cmdline_good,))
# make bench's Linux boots (scripts/bench.sh): Debian's kernel to its marker,
# on nested paging and on shadow paging; plain QEMU boots the same files.
LINUX_BENCH_ARGS := console=ttyS0 panic=-1 reboot=k minihv.run=check
$(eval $(call iso_rule,minihv-linux-bench,guest_mem=256M,$(LINUX_DIR)/vmlinuz,$(LINUX_BENCH_ARGS),,$(call initrd_mod,$(LINUX_DIR)/initrd.img)))
$(eval $(call iso_rule,minihv-linux-bench-shadow,mmu=shadow guest_mem=256M,$(LINUX_DIR)/vmlinuz,$(LINUX_BENCH_ARGS),,$(call initrd_mod,$(LINUX_DIR)/initrd.img)))
# The SMP tests alone, for Bochs runs at other interleavings (quantum=, scripts/test.sh).
$(eval $(call iso_rule,minihv-smp,tests=smp_*,))
# Shadow paging where the CPU has EPT/NPT (mmu=shadow): the whole suite under
# QEMU, the guest tests and the SMP stress under Bochs (scripts/test.sh).
$(eval $(call iso_rule,minihv-shadow,$(TEST_CMDLINE) mmu=shadow,))
# (Not guest_faults_*: 262144 shadow faults each, over a minute apiece in Bochs;
# QEMU and Penryn run them. The fuzzer at 2000 operations per vCPU, its count
# where shadow paging is not the run's MMU: Penryn and QEMU run 10000.)
$(eval $(call iso_rule,minihv-shadow-guests,tests=guest_*$(COMMA)-guest_faults_*$(COMMA)shadow_*$(COMMA)smp_guest* mmu=shadow fuzz_ops=2000,))
# The test image less first touches of 1 GiB that another run makes on the
# same paths (scripts/test.sh, "What each Bochs run adds"): Ivy Bridge's
# EPT 4K and 2M faults are Skylake's; Penryn keeps the 4K one, the VMX
# shadow fault path at scale, the 2M one differs from it only host-side.
$(eval $(call iso_rule,minihv-test-no-touch1g,tests=$(TESTS)$(COMMA)-guest_faults_*_backing$(NOT_LINUX) $(EXTRA_CMDLINE),))
$(eval $(call iso_rule,minihv-test-touch4k,tests=$(TESTS)$(COMMA)-guest_faults_1g_backing$(COMMA)-guest_faults_2m_backing$(NOT_LINUX) $(EXTRA_CMDLINE),))
$(eval $(call iso_rule,minihv-debug,$(TEST_CMDLINE) on_panic=halt,))
# The Linux guest tests (tests/kernel/test_linux.c): Debian's kernel and the
# busybox initramfs as the modules "linux" and "linux-initrd". make test
# needs them, hence the download. Each boot costs a minute of Bochs or
# several seconds of QEMU, so each image runs what only it shows: on
# SVM+NPT the end-to-end test, the typed-in shell and 2 vCPUs; on shadow
# paging the end-to-end test; under Bochs (VMX+EPT) a boot and the check
# script (uname, /proc/cpuinfo, ls /proc).
LINUX_TEST_MODULES := $(LINUX_DIR)/vmlinuz=linux $(LINUX_DIR)/initrd.img=linux-initrd
$(eval $(call iso_rule,minihv-linux-tests,tests=linux_e2e$(COMMA)linux_shell$(COMMA)linux_smp,,,,$(LINUX_TEST_MODULES)))
$(eval $(call iso_rule,minihv-linux-tests-shadow,tests=linux_e2e mmu=shadow,,,,$(LINUX_TEST_MODULES)))
$(eval $(call iso_rule,minihv-linux-tests-bochs,tests=linux_boot_check,,,,$(LINUX_TEST_MODULES)))
LINUX_TEST_ISOS := $(BUILD)/minihv-linux-tests.iso $(BUILD)/minihv-linux-tests-shadow.iso \
	$(BUILD)/minihv-linux-tests-bochs.iso $(BUILD)/bad-linux-small.iso

# Bad input, booted for real by scripts/test-badinput.sh: each image must be
# refused with a message that names the mistake.
BAD_LONG := tests=cmdline_good $(shell head -c 5000 /dev/zero | tr '\0' x)
$(eval $(call iso_rule,bad-cmdline-long,$(BAD_LONG),))
$(eval $(call iso_rule,bad-key-twice,tests=cmdline_good quiet quiet,))
$(eval $(call iso_rule,bad-tests-glob,tests=pt_*$(COMMA)pr_mapp,))
$(eval $(call iso_rule,bad-guest-empty,,$(BUILD)/guest/empty.bin))
# A 4-vCPU guest whose vCPU 2 exits with code 5 (guest/vcpufail.c): the report names it.
$(eval $(call iso_rule,bad-vcpu2-fails,guest_vcpus=4,$(BUILD)/guest/vcpufail.bin))
$(BUILD)/guest/empty.bin:
	@mkdir -p $(dir $@)
	@: > $@
BAD_ISOS := $(patsubst %,$(BUILD)/bad-%.iso,cmdline-long key-twice tests-glob guest-empty vcpu2-fails)
# Debian's kernel in 32 MiB: it needs 16 MiB + init_size. Built by make test
# with the Linux images (a plain make downloads nothing).
$(eval $(call iso_rule,bad-linux-small,guest_mem=32M,$(LINUX_DIR)/vmlinuz,console=ttyS0,,$(call initrd_mod,$(LINUX_DIR)/initrd.img)))

iso: $(BUILD)/minihv.iso $(BUILD)/minihv-test.iso $(BUILD)/minihv-gdb.iso \
	$(BUILD)/minihv-bench.iso $(BUILD)/minihv-budget.iso $(BUILD)/minihv-boot.iso $(BUILD)/minihv-smp.iso $(BUILD)/minihv-shadow.iso \
	$(BUILD)/minihv-shadow-guests.iso $(BUILD)/minihv-test-no-touch1g.iso $(BUILD)/minihv-test-touch4k.iso \
	$(BAD_ISOS)

# Debian's kernel and the busybox initramfs for make run-linux. The script
# downloads only what $(LINUX_DIR)/debs lacks and rewrites a file only when
# it changes, so an edit in guest/linux/ rebuilds the initrd alone; it writes
# both, hence both touched here. rm -r $(LINUX_DIR) fetches apt's newest.
$(LINUX_DIR)/vmlinuz: scripts/linux-guest.sh
	$(call say,LINUX,$(LINUX_DIR))
	$(Q)scripts/linux-guest.sh $(LINUX_DIR)
	$(Q)touch $@ $(LINUX_DIR)/initrd.img
$(LINUX_DIR)/initrd.img: $(LINUX_DIR)/vmlinuz scripts/mkinitramfs.py $(wildcard guest/linux/*)
	$(call say,INITRD,$@)
	$(Q)scripts/linux-guest.sh $(LINUX_DIR)
	$(Q)touch $@

# A user's GUEST=, LINUX=, INITRD= must exist: say so before make reports
# "No rule to make target".
ifneq ($(filter run run-linux,$(MAKECMDGOALS)),)
ifneq ($(LINUX),)
ifeq ($(wildcard $(LINUX)),)
$(error LINUX=$(LINUX): no such file (a Linux bzImage))
endif
endif
ifneq ($(INITRD),)
ifeq ($(wildcard $(INITRD)),)
$(error INITRD=$(INITRD): no such file (the Linux guest's initrd))
endif
endif
endif
ifneq ($(filter run,$(MAKECMDGOALS)),)
ifneq ($(and $(LINUX),$(filter-out file,$(origin GUEST))),)
$(error GUEST= and LINUX= both name the guest: give one)
endif
ifneq ($(origin GUEST),file)
ifeq ($(wildcard $(GUEST)),)
$(error GUEST=$(GUEST): no such file (a flat 64-bit binary or a multiboot1 ELF32 kernel, see guest/ABI.md))
endif
endif
ifneq ($(GUEST_ENV),)
ifeq ($(wildcard $(GUEST_ENV)),)
$(error GUEST_ENV=$(GUEST_ENV): no such file (the guest's environment module))
endif
endif
endif

run: deps $(BUILD)/minihv.iso
	scripts/run.sh $(or $(EMU),auto) $(BUILD)/minihv.iso
run-linux: deps $(BUILD)/minihv-linux.iso
	scripts/run.sh $(or $(EMU),auto) $(BUILD)/minihv-linux.iso

# Host unit tests of the pure modules, under ASan/UBSan.
$(BUILD)/h/%.o: %.c
	@mkdir -p $(dir $@)
	$(call say,HOSTCC,$<)
	$(Q)$(CC) $(HCFLAGS) -c $< -o $@
$(BUILD)/host/%: tests/host/%.c $(HOST_OBJ)
	@mkdir -p $(dir $@)
	$(call say,HOSTLD,$@)
	$(Q)$(CC) $(HCFLAGS) $< $(HOST_OBJ) -pthread -o $@

# The SMP test again under ThreadSanitizer: a data race between the threads
# that stand for CPUs (a stale translation used after its flush, a field
# read without its lock) is a failure. Same warnings, -O1 -g, no ASan.
# -Wno-tsan: TSan does not model standalone fences (smp_rmb/smp_wmb); every
# field they order is itself accessed atomically, so none hides a race.
TCFLAGS := $(filter-out -fsanitize=% -fno-sanitize-recover=%,$(HCFLAGS)) -fsanitize=thread -Wno-tsan
TSAN_OBJ := $(patsubst %.c,$(BUILD)/ht/%.o,$(PURE) tests/host/shim.c)
HOST_TSAN := $(BUILD)/host-tsan/test_smp $(BUILD)/host-tsan/test_remote $(BUILD)/host-tsan/test_gpc_ipi
# Here, not on `all:` above: a prerequisite list is expanded where the rule is read.
all: $(HOST_TSAN)
$(BUILD)/ht/%.o: %.c
	@mkdir -p $(dir $@)
	$(call say,TSANCC,$<)
	$(Q)$(CC) $(TCFLAGS) -c $< -o $@
$(BUILD)/host-tsan/%: tests/host/%.c $(TSAN_OBJ)
	@mkdir -p $(dir $@)
	$(call say,TSANLD,$@)
	$(Q)$(CC) $(TCFLAGS) $< $(TSAN_OBJ) -pthread -o $@

# Host benchmarks (not tests) of the gfn-to-pfn cache and of the EPT fault
# and zap paths: -O2, no sanitizers.
BCFLAGS := $(filter-out -O1 -fsanitize=% -fno-sanitize-recover=%,$(HCFLAGS)) -O2
BENCH_OBJ := $(patsubst %.c,$(BUILD)/hb/%.o,$(PURE) tests/host/shim.c)
HOST_BENCHES := $(patsubst tests/host/%.c,$(BUILD)/host-bench/%,$(wildcard tests/host/bench_*.c))
$(BUILD)/hb/%.o: %.c
	@mkdir -p $(dir $@)
	$(call say,BENCHCC,$<)
	$(Q)$(CC) $(BCFLAGS) -c $< -o $@
$(BUILD)/host-bench/%: $(BUILD)/hb/tests/host/%.o $(BENCH_OBJ)
	@mkdir -p $(dir $@)
	$(call say,BENCHLD,$@)
	$(Q)$(CC) $(BCFLAGS) $^ -o $@

# make test and make bench build with one job per core (half a minute
# serially), unless the command line already chose its -j.
NPROC := $(shell nproc 2>/dev/null || echo 1)
PAR_BUILD = $(MAKE) $(if $(filter -j%,$(MAKEFLAGS)),,-j$(NPROC))
test: deps
	$(PAR_BUILD) all $(LINUX_TEST_ISOS)
	scripts/test.sh all
# Mutation testing of the invalidation protocol (tests/mutants/*.txt);
# `make test` runs it too. MUTANTS='name ...' runs only those.
mutants: deps
	scripts/mutants.py $(MUTANTS)
# The Promela models of model/ under Spin, and their mutants (docs/model.md);
# `make test` runs it too.
model: deps
	scripts/test.sh model
test-host: $(HOST_TESTS) $(HOST_TSAN)
	scripts/test.sh host
test-qemu: deps all $(LINUX_TEST_ISOS)
	scripts/test.sh qemu
# The Linux guest tests alone (minihv-linux-tests*.iso under QEMU and Bochs).
test-linux: deps all $(LINUX_TEST_ISOS)
	scripts/test.sh linux
test-bochs: deps all $(BUILD)/minihv-linux-tests-bochs.iso
	scripts/test.sh bochs
test-kvm: deps all
	scripts/test.sh kvm
test-gdb: deps all
	scripts/test.sh gdb

# make debug boots the self-tests, or the user's guest where GUEST= or LINUX=
# names one (as make run would, plus on_panic=halt); make gdb attaches, and
# with GUEST_ELF= (the ELF the guest was made from: a multiboot1 GUEST= is
# one itself, a flat build/guest/NAME.bin has NAME.elf beside it) loads its
# symbols and stops at GUEST_BREAK (its entry point unless given) in the guest.
DEBUG_GUEST := $(if $(LINUX),$(LINUX),$(if $(filter-out file,$(origin GUEST)),$(GUEST)))
DEBUG_ISO   := $(if $(DEBUG_GUEST),$(BUILD)/minihv-debug-guest.iso,$(BUILD)/minihv-debug.iso)
$(eval $(call iso_rule,minihv-debug-guest,$(RUN_CMDLINE) on_panic=halt,$(RUN_GUEST),$(RUN_GUEST_ARGS),$(GUEST_ENV),$(call initrd_mod,$(if $(LINUX),$(INITRD)))))
GUEST_ELF   ?= $(if $(filter-out file,$(origin GUEST)),$(firstword \
	$(shell head -c 4 '$(GUEST)' 2>/dev/null | grep -q ELF && echo '$(GUEST)') \
	$(wildcard $(GUEST:.bin=.elf))))
GUEST_BREAK ?= *$$guest_entry
debug: deps $(DEBUG_ISO)
	@echo "QEMU halted, GDB stub on localhost:$(GDB_PORT). In another terminal: make gdb GDB_PORT=$(GDB_PORT)$(if $(DEBUG_GUEST), GUEST_ELF=$(or $(GUEST_ELF),FILE.elf))"
	@echo "Kernel command line: $(if $(DEBUG_GUEST),$(RUN_CMDLINE),$(TEST_CMDLINE)) on_panic=halt"
	scripts/run.sh debug $(DEBUG_ISO) $(GDB_PORT)

gdb: $(KERNEL)
	gdb -q -x scripts/gdbinit -ex 'target remote localhost:$(GDB_PORT)' \
		$(if $(GUEST_ELF),-ex 'hv-guest-elf $(GUEST_ELF)' -ex 'hv-break $(GUEST_BREAK)', \
		-ex 'hbreak kmain') -ex 'continue' $(GDB_EXTRA) $(KERNEL)

host-benches: $(HOST_BENCHES)
bench: deps
	$(PAR_BUILD) all host-benches $(BUILD)/minihv-linux-bench.iso $(BUILD)/minihv-linux-bench-shadow.iso
	LINUX_BENCH_ARGS='$(LINUX_BENCH_ARGS)' scripts/bench.sh

# kvm-unit-tests (scripts/kut.sh, docs/kut.md): a tree the user built, never
# downloaded. The test globs are quoted for the shell: kut.sh matches them.
.PHONY: kut
KUT_TESTS    ?=
KUT_BACKENDS ?= qemu,svm,shadow,bochs
KUT_JOBS     ?= 1
KUT_TIMEOUT  ?=
ifneq ($(filter kut,$(MAKECMDGOALS)),)
ifeq ($(KUT),)
$(error KUT=path/to/kvm-unit-tests: build it with ./configure --arch=x86_64 && make; the suite is not downloaded by make)
endif
endif
kut: deps $(KERNEL)
	scripts/kut.sh -j $(KUT_JOBS) -b $(KUT_BACKENDS) $(if $(KUT_TIMEOUT),-t $(KUT_TIMEOUT)) \
		'$(KUT)' $(foreach t,$(KUT_TESTS),'$(t)')

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -type f -name '*.d' 2>/dev/null)
