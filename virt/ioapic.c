/*
 * The I/O APIC model of virt/ioapic.h. "Datasheet" is the Intel 82093AA
 * I/O APIC datasheet (290566), section 3.
 *
 * A pin is asserted when its line, inverted for an active-low pin, is 1.
 * Edge-triggered pins send a message on each assertion (a rising edge after
 * polarity); level-triggered pins send one while asserted and then set
 * Remote IRR, which holds further messages back until the local APIC's EOI
 * for that vector clears it; if the line is still asserted then, the pin
 * sends again. Messages are instantaneous: Delivery Status always reads 0.
 */
#include "virt/ioapic.h"
#include "lib/lib.h"

/*
 * Level-sensitive only for fixed and lowest-priority delivery: the
 * datasheet (IOREDTBL, Delivery Mode) says SMI, NMI, INIT and ExtINT are
 * treated as edge-triggered whatever the trigger mode bit says.
 */
static bool rte_level(uint64_t rte)
{
	unsigned mode = (unsigned)((rte & IOAPIC_RTE_MODE_MASK) >> IOAPIC_RTE_MODE_SHIFT);

	return (rte & IOAPIC_RTE_LEVEL) && (mode == IOAPIC_DM_FIXED || mode == IOAPIC_DM_LOWEST);
}

static bool asserted(const struct vioapic *io, unsigned pin)
{
	bool line = io->lines & (1u << pin);

	return line != !!(io->rte[pin] & IOAPIC_RTE_ACTIVE_LOW);
}

/* Send pin @pin's message; a level-triggered one then waits for its EOI. */
static void fire(struct vioapic *io, unsigned pin)
{
	uint64_t rte = io->rte[pin];
	struct ioapic_msg m = {
		.dest = (uint32_t)(rte >> IOAPIC_RTE_DEST_SHIFT),
		.logical = rte & IOAPIC_RTE_LOGICAL,
		.mode = (unsigned)((rte & IOAPIC_RTE_MODE_MASK) >> IOAPIC_RTE_MODE_SHIFT),
		.vector = (unsigned)(rte & IOAPIC_RTE_VECTOR),
		.level = rte_level(rte),
	};

	if (m.level)
		io->rte[pin] |= IOAPIC_RTE_REMOTE_IRR; /* before the callback sees the message */
	io->messages++;
	if (io->deliver)
		io->deliver(io->ctx, &m);
}

/* A level-triggered pin sends whenever it is asserted, unmasked and not awaiting an EOI. */
static void level_check(struct vioapic *io, unsigned pin)
{
	uint64_t rte = io->rte[pin];

	if (rte_level(rte) && !(rte & (IOAPIC_RTE_MASKED | IOAPIC_RTE_REMOTE_IRR)) &&
	    asserted(io, pin))
		fire(io, pin);
}

void ioapic_reset(struct vioapic *io, uint32_t id,
		  void (*deliver)(void *ctx, const struct ioapic_msg *m), void *ctx)
{
	memset(io, 0, sizeof(*io));
	io->id = (id << IOAPIC_ID_SHIFT) & IOAPIC_ID_MASK;
	io->arb = io->id;
	/* Datasheet, IOREDTBL: the mask bit is set at reset; we clear the rest. */
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++)
		io->rte[pin] = IOAPIC_RTE_MASKED;
	io->deliver = deliver;
	io->ctx = ctx;
}

static uint32_t reg_read(const struct vioapic *io, uint32_t reg)
{
	switch (reg) {
	case IOAPIC_REG_ID:
		return io->id;
	case IOAPIC_REG_VER:
		return IOAPIC_VERSION;
	case IOAPIC_REG_ARB:
		return io->arb;
	}
	if (reg >= IOAPIC_REG_REDTBL && reg < IOAPIC_REG_REDTBL + 2 * IOAPIC_PINS) {
		uint64_t rte = io->rte[(reg - IOAPIC_REG_REDTBL) / 2];

		return (reg & 1) ? (uint32_t)(rte >> 32) : (uint32_t)rte;
	}
	return 0; /* unimplemented registers read 0 */
}

/*
 * A write to the low dword of pin @pin's entry. Remote IRR and Delivery
 * Status are read-only and keep their value, except that Remote IRR is
 * cleared when the pin becomes edge-triggered: the datasheet leaves Remote
 * IRR undefined for edge-triggered pins, and Linux relies on this on chips
 * without an EOI register (version 0x11, this one): to clear a stuck Remote
 * IRR it switches the pin to edge and back to level (__eoi_ioapic_pin() in
 * arch/x86/kernel/apic/io_apic.c).
 */
static void rte_write_low(struct vioapic *io, unsigned pin, uint32_t val)
{
	uint64_t rte = io->rte[pin], w = IOAPIC_RTE_WRITABLE & 0xffffffffULL;

	rte = (rte & ~w) | (val & w);
	if (!(rte & IOAPIC_RTE_LEVEL))
		rte &= ~IOAPIC_RTE_REMOTE_IRR;
	io->rte[pin] = rte;
	/* Unmasked, or made level-triggered, while the line is asserted: it sends now. */
	level_check(io, pin);
}

static void reg_write(struct vioapic *io, uint32_t reg, uint32_t val)
{
	if (reg == IOAPIC_REG_ID) {
		io->id = val & IOAPIC_ID_MASK;
		io->arb = io->id; /* datasheet, IOAPICARB: loaded when the ID is written */
		return;
	}
	if (reg < IOAPIC_REG_REDTBL || reg >= IOAPIC_REG_REDTBL + 2 * IOAPIC_PINS)
		return; /* the version, the arbitration ID, unimplemented registers: read-only */
	unsigned pin = (reg - IOAPIC_REG_REDTBL) / 2;

	if (reg & 1) {
		uint64_t hi = ((uint64_t)val << 32) & IOAPIC_RTE_WRITABLE;

		io->rte[pin] = (io->rte[pin] & 0xffffffffULL) | hi;
	} else {
		rte_write_low(io, pin, val);
	}
}

void ioapic_mmio(struct vioapic *io, uint32_t off, bool write, uint32_t *val)
{
	switch (off) {
	case IOAPIC_IOREGSEL:
		if (write)
			io->regsel = *val & IOAPIC_REGSEL_MASK;
		else
			*val = io->regsel;
		return;
	case IOAPIC_IOWIN:
		if (write)
			reg_write(io, io->regsel, *val);
		else
			*val = reg_read(io, io->regsel);
		return;
	}
	if (!write)
		*val = 0;
}

/*
 * The datasheet (IOREDTBL, Interrupt Mask): an edge on a masked pin is
 * ignored, neither delivered nor held pending, so unmasking an edge pin
 * sends nothing; a level pin still asserted when unmasked sends then
 * (rte_write_low()).
 */
void ioapic_set_irq(struct vioapic *io, unsigned pin, bool level)
{
	if (pin >= IOAPIC_PINS)
		return;
	bool was = asserted(io, pin);

	if (level)
		io->lines |= 1u << pin;
	else
		io->lines &= ~(1u << pin);
	if (rte_level(io->rte[pin]))
		level_check(io, pin);
	else if (!was && asserted(io, pin) && !(io->rte[pin] & IOAPIC_RTE_MASKED))
		fire(io, pin);
}

void ioapic_eoi(struct vioapic *io, unsigned vector)
{
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
		uint64_t rte = io->rte[pin];

		if (!(rte & IOAPIC_RTE_REMOTE_IRR) || (rte & IOAPIC_RTE_VECTOR) != vector)
			continue;
		io->rte[pin] = rte & ~IOAPIC_RTE_REMOTE_IRR;
		level_check(io, pin);
	}
}
