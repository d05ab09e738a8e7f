/*
 * The PC's ports for a multiboot1 guest (virt/platform.h): QEMU's
 * isa-debug-exit and fw_cfg, the 8259s' masks, PCI configuration space
 * with no device on it, and every other port reading all ones, as an
 * empty ISA bus does, with each access counted. KVM leaves unknown ports
 * to its VMM; QEMU answers them so (its "unassigned" I/O region).
 */
#include "virt/vcpu.h"
#include "lib/lib.h"

/* The I/O APIC's messages wait in pc->out until the lock is dropped (unlock_deliver()). */
static void collect(void *ctx, const struct ioapic_msg *m)
{
	struct pc_platform *pc = ctx;

	if (pc->nout < IOAPIC_PINS) /* each pin sends at most one per update */
		pc->out[pc->nout++] = *m;
}

void pc_platform_init(struct pc_platform *pc, struct vm *vm, uint64_t ram, unsigned ncpus,
		      bool strict_io)
{
	memset(pc, 0, sizeof(*pc));
	spin_lock_init(&pc->lock, LOCK_RANK_PLATFORM, "pc_platform");
	pc->vm = vm;
	uart_reset(&pc->uart);
	/* The I/O APIC's ID follows the local APICs' (the MADT says the same). */
	ioapic_reset(&pc->ioapic, ncpus, collect, pc);
	pc->ram = ram;
	pc->ncpus = ncpus;
	pc->strict_io = strict_io;
	pc->pic_imr[0] = pc->pic_imr[1] = 0xff;
}

void pc_count(struct pc_counter *c, unsigned *n, uint64_t *other, uint32_t id)
{
	for (unsigned i = 0; i < *n; i++)
		if (c[i].id == id) {
			c[i].n++;
			return;
		}
	if (*n == PC_COUNTED) {
		(*other)++;
		return;
	}
	c[*n] = (struct pc_counter){ id, 1 };
	(*n)++;
}

void pc_print_stats(const struct pc_platform *pc, const char *name)
{
	for (unsigned i = 0; i < pc->nports; i++)
		printk("VM[%s]   unknown port %#x: %llu access%s (read as all ones)\n", name,
		       pc->ports[i].id, (unsigned long long)pc->ports[i].n,
		       pc->ports[i].n == 1 ? "" : "es");
	if (pc->ports_other)
		printk("VM[%s]   other unknown ports: %llu accesses\n", name,
		       (unsigned long long)pc->ports_other);
	for (unsigned i = 0; i < pc->nmsrs; i++) {
		const char *n = msr_name(pc->msrs[i].id);

		printk("VM[%s]   MSR %#x (%s): %llu #GP\n", name, pc->msrs[i].id,
		       n ? n : "unknown", (unsigned long long)pc->msrs[i].n);
	}
	if (pc->msrs_other)
		printk("VM[%s]   other MSRs: %llu #GP\n", name, (unsigned long long)pc->msrs_other);
	uint64_t t = pc->start_tsc, x = 0;

	for (unsigned i = 0; i < pc->nmarks; i++) {
		if (!pc->mark_tsc[i]) /* not printed (quiet, or the guest ended before) */
			continue;
		printk("VM[%s]   phase to '%s': %llu exits, %llu ms\n", name, pc->marks[i],
		       (unsigned long long)(pc->mark_exits[i] - x),
		       (unsigned long long)((pc->mark_tsc[i] - t) / tsc_khz));
		t = pc->mark_tsc[i];
		x = pc->mark_exits[i];
	}
	if (pc->nmarks && t != pc->start_tsc)
		printk("VM[%s]   phase to the end: %llu exits, %llu ms\n", name,
		       (unsigned long long)(pc_vm_exits(pc) - x),
		       (unsigned long long)((rdtsc() - t) / tsc_khz));
}

uint64_t pc_vm_exits(const struct pc_platform *pc)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < VM_MAX_VCPUS; i++) {
		const struct vcpu *v = READ_ONCE(pc->vm->vcpus[i]);

		if (v)
			n += READ_ONCE(v->stats.exits_total);
	}
	return n;
}

/* fw_cfg's item @key, byte @off (little-endian numbers, as QEMU's x86 fw_cfg). */
static uint8_t fwcfg_byte(const struct pc_platform *pc, uint16_t key, uint32_t off)
{
	uint64_t val;
	unsigned len = 8;

	switch (key) {
	case FWCFG_SIGNATURE:
		return off < 4 ? (uint8_t)"QEMU"[off] : 0;
	case FWCFG_ID:
		val = 1, len = 4; /* the traditional interface only: no DMA */
		break;
	case FWCFG_RAM_SIZE:
		val = pc->ram;
		break;
	case FWCFG_NB_CPUS:
	case FWCFG_MAX_CPUS:
		val = pc->ncpus, len = 2;
		break;
	default: /* the file directory (count 0) and every other item: empty */
		return 0;
	}
	return off < len ? (uint8_t)(val >> (8 * off)) : 0;
}

/* PIC: ICW1 (bit 4 of a command write) starts ICW2-ICW4 on the data port; else the IMR. */
static void pic_write(struct pc_platform *pc, unsigned chip, bool data, uint8_t val)
{
	if (!data) {
		if (val & 0x10)
			pc->pic_icw[chip] = val & 1 ? 3 : 2; /* ICW4 needed: three more words */
		return;                                      /* OCW2/OCW3: nothing to acknowledge */
	}
	if (pc->pic_icw[chip]) {
		pc->pic_icw[chip]--;
		return;
	}
	pc->pic_imr[chip] = val;
}

/*
 * Drop the platform lock, then deliver what the I/O APIC sent meanwhile:
 * delivery takes vm->vcpus_lock and the local APICs' locks, and the first
 * ranks below ours (lib/lockdep.h).
 */
static void unlock_deliver(struct pc_platform *pc)
{
	struct ioapic_msg m[IOAPIC_PINS];
	unsigned n = pc->nout;

	memcpy(m, pc->out, n * sizeof(m[0]));
	pc->nout = 0;
	spin_unlock(&pc->lock);
	for (unsigned i = 0; i < n; i++)
		lapic_deliver_msg(pc->vm, m[i].dest, m[i].logical, m[i].mode, m[i].vector, m[i].level);
}

/* Under the lock: the devices' interrupt lines into the I/O APIC. */
static void update_lines(struct pc_platform *pc)
{
	/*
	 * The I/O APIC keeps each pin's level: an edge pin fires on a rise
	 * only, a level pin while high and not yet acknowledged (Remote IRR).
	 */
	ioapic_set_irq(&pc->ioapic, PC_IRQ_COM1, uart_irq_line(&pc->uart));
}

void pc_ioapic_mmio(struct pc_platform *pc, uint32_t off, bool write, uint32_t *val)
{
	spin_lock(&pc->lock);
	ioapic_mmio(&pc->ioapic, off, write, val);
	unlock_deliver(pc);
}

void pc_level_eoi(struct pc_platform *pc, unsigned vec)
{
	spin_lock(&pc->lock);
	ioapic_eoi(&pc->ioapic, vec);
	unlock_deliver(pc);
}

/* The next byte typed: a test's first (pc->input), then the host's serial line; -1 for none. */
static int next_input(struct pc_platform *pc)
{
	if (pc->input && *pc->input && (!pc->input_gate || pc->input_open))
		return (uint8_t)*pc->input++;
	return serial_getc();
}

void pc_poll_input(struct vcpu *v)
{
	struct pc_platform *pc = v->pc;
	uint64_t now;
	int c;

	/* One vCPU reads the line; a millisecond apart, so an exit-heavy guest pays little. */
	if (v->index || (now = rdtsc()) - pc->input_polled < tsc_khz)
		return;
	pc->input_polled = now;
	spin_lock(&pc->lock);
	/* What the FIFO cannot take stays in the host's UART (and its emulator's buffer). */
	while (uart_rx_room(&pc->uart) && (c = next_input(pc)) >= 0)
		uart_receive(&pc->uart, (uint8_t)c);
	update_lines(pc);
	unlock_deliver(pc);
}

/*
 * The ACPI PM1a block (ACPI 6.5, 4.8.3.2, 4.8.3.3): status reads 0 (no
 * event ever happens), enable and control keep what is written. SCI_EN
 * reads 1: the FADT's SMI_CMD is 0, the machine is always in ACPI mode.
 * SLP_TYP 5 (the DSDT's \_S5) with SLP_EN powers the guest off.
 */
static void pm1_io(struct vcpu *v, unsigned port, unsigned size, bool in, uint32_t *val)
{
	struct pc_platform *pc = v->pc;

	if (port < PC_PM1A_CNT) { /* status at +0, enable at +2 */
		if (port >= PC_PM1A_EVT + 2 || size == 4) {
			if (in)
				*val = (size == 4 ? (uint32_t)pc->pm1_en << 16 : pc->pm1_en);
			else
				pc->pm1_en = (uint16_t)(size == 4 ? *val >> 16 : *val);
		} else if (in) {
			*val = 0;
		}
		return;
	}
	if (in) {
		*val = pc->pm1_cnt | ACPI_PM1_SCI_EN;
		return;
	}
	pc->pm1_cnt = (uint16_t)(*val & ~ACPI_PM1_SLP_EN);
	if ((*val & ACPI_PM1_SLP_EN) &&
	    ((*val & ACPI_PM1_SLP_TYP_MASK) >> ACPI_PM1_SLP_TYP_SHIFT) == ACPI_S5_SLP_TYP) {
		v->exit_code = 0;
		vcpu_stop(v, STOP_EXIT, "the guest powered off (ACPI S5: SLP_EN in PM1a control)");
	}
}

/*
 * The RTC and CMOS RAM (MC146818): the clock is the host's, read from its
 * own RTC at each access (writes to the clock are dropped: the guest does
 * not set the host's time), with no update or periodic interrupts (C reads
 * 0, D says the time is valid). The rest of CMOS is the guest's. Without
 * it Linux's boot spins 40,000 exits reading a clock that is not there.
 */
static void cmos_io(struct pc_platform *pc, unsigned port, bool in, uint32_t *val)
{
	unsigned reg = pc->cmos_index;

	if (port == CMOS_INDEX) {
		if (in)
			*val = 0xff; /* write-only on the PC */
		else
			pc->cmos_index = (uint8_t)(*val & CMOS_REG_MASK);
		return;
	}
	bool clock = reg <= RTC_STATUS_B || reg == RTC_CENTURY;

	if (in)
		*val = clock ? cmos_read(reg) : reg == RTC_STATUS_C ? 0
		     : reg == RTC_STATUS_D ? RTC_VRT : pc->cmos_ram[reg];
	else if (!clock && reg != RTC_STATUS_C && reg != RTC_STATUS_D)
		pc->cmos_ram[reg] = (uint8_t)*val;
}

/* One byte (or the 2-/4-byte fw_cfg selector and PCI registers whole): false if unknown. */
static bool pc_port(struct vcpu *v, unsigned port, unsigned size, bool in, uint32_t *val)
{
	struct pc_platform *pc = v->pc;

	if (port >= COM1_BASE && port + size <= COM1_BASE + COM1_PORTS) {
		*val = uart_io(v, &pc->uart, port - COM1_BASE, size, in, *val);
		/* The I/O APIC re-checks its pins itself on its own writes and EOIs. */
		update_lines(pc);
	} else if (pc->acpi && port >= PC_PM1A_EVT && port + size <= PC_PM1A_CNT + 2) {
		pm1_io(v, port, size, in, val);
	} else if ((port == CMOS_INDEX || port == CMOS_DATA) && size == 1) {
		cmos_io(pc, port, in, val);
	} else if (port == PC_KBC_STATUS || port == PC_PIT_CH2) {
		if (in)
			*val = 0; /* no key, no busy controller; a counter that reads 0 */
	} else if (port == PC_FWCFG_PORT && !in && size == 2) {
		pc->fwcfg_key = (uint16_t)*val;
		pc->fwcfg_off = 0;
	} else if (port == PC_FWCFG_PORT + 1 && size == 1) {
		if (in)
			*val = fwcfg_byte(pc, pc->fwcfg_key, pc->fwcfg_off++);
	} else if (port == PC_PIC1 || port == PC_PIC1 + 1 || port == PC_PIC2 ||
		   port == PC_PIC2 + 1) {
		unsigned chip = port >= PC_PIC2, data = port & 1;

		if (in)
			*val = data ? pc->pic_imr[chip] : 0; /* IRR/ISR: nothing ever pending */
		else
			pic_write(pc, chip, data, (uint8_t)*val);
	} else if (port == PC_PCI_ADDR && size == 4) {
		if (in)
			*val = pc->pci_addr;
		else
			pc->pci_addr = *val & 0x80fffffc;
	} else if (port >= PC_PCI_DATA && port + size <= PC_PCI_DATA + 4) {
		if (in)
			*val = 0xffffffff; /* no device: vendor ID 0xffff (PCI 3.0, 6.1) */
	} else {
		return false;
	}
	return true;
}

bool pc_handle_io(struct vcpu *v, unsigned port, unsigned size, bool in)
{
	struct pc_platform *pc = v->pc;
	uint32_t mask = size == 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
	uint32_t val = in ? mask : (uint32_t)v->regs.rax & mask;

	if (port == PC_DEBUG_EXIT_PORT) {
		if (in)
			goto done; /* reads as nothing there, as QEMU's */
		/* QEMU exits with (value << 1) | 1: that is this guest's exit status. */
		v->exit_code = ((long)val << 1) | 1;
		pc->debug_exit = true;
		vcpu_stop(v, STOP_EXIT, "isa-debug-exit: the guest wrote %#x to port %#x (exit "
			  "status %ld)", val, port, v->exit_code);
		return true;
	}
	if (port == PC_KBC_STATUS && !in && (val & 0xff) == PC_KBC_RESET) {
		/* The 8042's reset pulse (Linux's reboot=k): the machine resets, the guest ends. */
		v->exit_code = 0;
		vcpu_stop(v, STOP_EXIT, "the guest reset the machine (%#x to port %#x)", val, port);
		return true;
	}
	spin_lock(&pc->lock);
	bool known = pc_port(v, port, size, in, &val);

	if (!known && pc->strict_io) {
		spin_unlock(&pc->lock);
		return false;
	}
	if (!known) {
		pc_count(pc->ports, &pc->nports, &pc->ports_other, port);
		val = mask; /* an empty ISA bus: all ones; writes go nowhere */
	}
	unlock_deliver(pc);
done:
	if (in)
		vcpu_set_in_result(v, size, val);
	v->be->skip_instruction(v);
	return true;
}
