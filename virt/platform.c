/*
 * The PC's ports for a multiboot1 guest (virt/platform.h): QEMU's
 * isa-debug-exit and fw_cfg, the 8259s' masks, PCI configuration space
 * with no device on it, and every other port reading all ones, as an
 * empty ISA bus does, with each access counted. KVM leaves unknown ports
 * to its VMM; QEMU answers them so (its "unassigned" I/O region).
 */
#include "virt/vcpu.h"
#include "lib/lib.h"

void pc_platform_init(struct pc_platform *pc, uint64_t ram, unsigned ncpus, bool strict_io)
{
	memset(pc, 0, sizeof(*pc));
	spin_lock_init(&pc->lock, LOCK_RANK_PLATFORM, "pc_platform");
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

/* One byte (or the 2-/4-byte fw_cfg selector and PCI registers whole): false if unknown. */
static bool pc_port(struct vcpu *v, unsigned port, unsigned size, bool in, uint32_t *val)
{
	struct pc_platform *pc = v->pc;

	if (port == PC_FWCFG_PORT && !in && size == 2) {
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
	spin_unlock(&pc->lock);
done:
	if (in)
		v->regs.rax = size == 4 ? val : (v->regs.rax & ~(uint64_t)mask) | val;
	v->be->skip_instruction(v);
	return true;
}
