/*
 * The PC a guest nobody here wrote expects (issue 23, guest/ABI.md "The PC
 * platform"): what a multiboot1 kernel finds at the PC's ports and
 * addresses. One per guest, shared by its vCPUs; each vCPU has its own
 * local APIC (virt/lapic.h). A minihv flat guest has none: v->pc is NULL
 * and every port but COM1, and every MSR minihv does not emulate, stops it
 * with a message as before.
 */
#ifndef MINIHV_VIRT_PLATFORM_H
#define MINIHV_VIRT_PLATFORM_H

#include "lib/lib.h"
#include "arch/x86/arch.h"
#include "virt/uart.h"
#include "virt/console.h"
#include "virt/ioapic.h"
#include "virt/acpi_tables.h"

#define PC_DEBUG_EXIT_PORT 0xf4  /* QEMU's isa-debug-exit, iosize 4 (-device isa-debug-exit) */
#define PC_FWCFG_PORT 0x510      /* QEMU fw_cfg: selector (16-bit), data at +1 (docs/specs/fw_cfg.rst) */
#define PC_PIC1 0x20             /* 8259A master: command, data (IMR) at +1 */
#define PC_PIC2 0xa0             /* 8259A slave */
#define PC_PCI_ADDR 0xcf8        /* PCI configuration mechanism #1 (PCI 3.0, 3.2.2.3.2) */
#define PC_PCI_DATA 0xcfc
#define PC_LAPIC_BASE 0xfee00000ULL /* the local APIC's default base (SDM 3A, 11.4.1) */
#define PC_IOAPIC_BASE ((uint64_t)IOAPIC_BASE) /* as the MADT gives it (virt/acpi_tables.c) */
#define PC_ACPI_TABLES 0xe0000ULL    /* the ACPI tables, in the BIOS area the e820 map reserves */
#define PC_PM1A_EVT 0x600            /* ACPI PM1a event block (status, enable): the FADT's */
#define PC_PM1A_CNT 0x604            /* ACPI PM1a control: SLP_TYP 5 + SLP_EN powers off */
#define PC_SCI_IRQ 9                 /* the FADT's SCI_INT (never raised: no ACPI events) */
#define PC_IRQ_COM1 4                /* COM1's ISA IRQ, I/O APIC pin 4 */
#define PC_KBC_STATUS 0x64           /* 8042 status/command: 0xfe pulses the reset line */
#define PC_KBC_RESET 0xfe
#define PC_PIT_CH2 0x42              /* 8254 channel 2: reads 0 (no PIT to calibrate against) */
#define PC_RAM_MAX 0xc0000000ULL    /* RAM below the 3 GiB PCI hole, where the APIC is */
#define PC_DEFAULT_RAM (128ULL << 20) /* without guest_mem=: QEMU's default for a PC */
#define LINUX_DEFAULT_RAM (256ULL << 20) /* a Linux guest's: its kernel, initramfs and tmpfs */

#define FWCFG_SIGNATURE 0x00
#define FWCFG_ID 0x01
#define FWCFG_RAM_SIZE 0x03
#define FWCFG_NB_CPUS 0x05
#define FWCFG_MAX_CPUS 0x0f
#define FWCFG_FILE_DIR 0x19

#define PC_MARKS 4 /* boot phases timed (pc->marks) */
#define PC_SYSCALL_MSRS 5 /* STAR, LSTAR, CSTAR, FMASK, KERNEL_GS_BASE */
#define PC_COUNTED 16 /* distinct unknown ports and MSRs listed by number; the rest summed */

struct pc_counter {
	uint32_t id;  /* the port or MSR */
	uint64_t n;   /* accesses */
};

struct vm;

struct pc_platform {
	struct spinlock lock;    /* the devices below are the VM's, vCPUs share them */
	struct vm *vm;           /* whose vCPUs the I/O APIC's messages go to */
	bool acpi;               /* ACPI tables, I/O APIC and PM1 block (a Linux guest) */
	bool hlt_off;            /* HLT with interrupts off and nothing to wake it: powered off */
	struct uart16550 uart;   /* COM1, shared by the vCPUs (IRQ 4) */
	struct console_line line; /* what COM1 sent, to the next '\n' */
	/*
	 * A test's eye on the console: the last line that starts with
	 * @watch is copied to @watched (and counted), as it is printed.
	 */
	const char *watch;
	char watched[CONSOLE_LINE + 1];
	unsigned watch_hits;
	/*
	 * Phases of a boot, for its figures: the first console line holding
	 * @marks[i] ends phase i, and the VM's exits and the host TSC then are
	 * kept (a Linux guest's: boot/linux.c).
	 */
	const char *const *marks;
	unsigned nmarks;
	uint64_t start_tsc, mark_tsc[PC_MARKS], mark_exits[PC_MARKS];
	uint64_t input_polled;   /* host TSC when the host's serial input was last looked at */
	const char *input;       /* a test's typed input: taken before the host's line, NUL ends it */
	const char *input_gate;  /* ... once a console line holding this has been printed */
	bool input_open;
	struct vioapic ioapic;
	struct ioapic_msg out[IOAPIC_PINS]; /* messages to deliver once the lock is dropped */
	unsigned nout;
	uint16_t pm1_en, pm1_cnt;
	uint8_t cmos_index;      /* the RTC/CMOS register selected at port 0x70 */
	uint8_t cmos_ram[128];   /* its battery-backed bytes (the clock's are the host's) */
	uint64_t ram;            /* fw_cfg RAM size */
	unsigned ncpus;          /* fw_cfg CPU count, and the vCPUs that may start */
	bool strict_io;          /* strict_io: an unknown port stops the guest, as a flat guest's */
	bool over;               /* vCPU 0 stopped: the others stop too (virt/pc.c) */
	bool console_raw;        /* console=raw: its serial lines printed as they are */
	bool console_live;       /* console=live: each byte at once (virt/console.c) */
	uint8_t live_esc;        /* console=live: inside an escape sequence (1: after ESC, 2: CSI) */
	bool debug_exit;         /* it left through port 0xf4: exit_code is QEMU's status */
	uint16_t fwcfg_key;
	uint32_t fwcfg_off;
	uint8_t pic_imr[2];      /* the 8259s' interrupt masks (nothing is wired to them) */
	uint8_t pic_icw[2];      /* initialization command word expected next, 0 when none */
	uint32_t pci_addr;       /* CONFIG_ADDRESS */
	/* Accesses to ports nobody emulates, and MSRs that got #GP (guest statistics). */
	struct pc_counter ports[PC_COUNTED], msrs[PC_COUNTED];
	uint64_t ports_other, msrs_other;
	unsigned nports, nmsrs;
};

void pc_platform_init(struct pc_platform *pc, struct vm *vm, uint64_t ram, unsigned ncpus,
		      bool strict_io);
/* The I/O APIC's page (@off into it), under the platform lock; messages delivered after. */
void pc_ioapic_mmio(struct pc_platform *pc, uint32_t off, bool write, uint32_t *val);
/* A local APIC's EOI of level-triggered vector @vec reaches the I/O APIC. */
void pc_level_eoi(struct pc_platform *pc, unsigned vec);
/* vCPU 0 between entries: the host's serial input into COM1 (at most once a millisecond). */
void pc_poll_input(struct vcpu *v);
/* Count one access to @id in @c (@n entries used of PC_COUNTED), or in *@other when full. */
void pc_count(struct pc_counter *c, unsigned *n, uint64_t *other, uint32_t id);
/* Print the counts of unknown ports and #GP MSRs, one line each, prefixed "VM[@name]". */
void pc_print_stats(const struct pc_platform *pc, const char *name);
/* The VM's exits so far, all vCPUs (statistics: read without their locks). */
uint64_t pc_vm_exits(const struct pc_platform *pc);

#endif
