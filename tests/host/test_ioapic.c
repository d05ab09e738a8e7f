/*
 * Host unit tests for virt/ioapic.c: the registers as a guest reaches them
 * through IOREGSEL/IOWIN, and the messages the pins send, recorded by the
 * deliver() callback.
 */
#include <stdio.h>
#include <string.h>
#include "virt/ioapic.h"
#include "tests/host/hostshim.h"

#define MAX_MSGS 16

static struct vioapic io;
static struct ioapic_msg msgs[MAX_MSGS];
static unsigned nmsgs;
static int ctx_seen;

static void record(void *ctx, const struct ioapic_msg *m)
{
	ctx_seen = ctx == &nmsgs;
	if (nmsgs < MAX_MSGS)
		msgs[nmsgs] = *m;
	nmsgs++;
}

static void reset(void)
{
	ioapic_reset(&io, 2, record, &nmsgs);
	nmsgs = 0;
	ctx_seen = 0;
}

static uint32_t rd(uint32_t reg)
{
	uint32_t v = reg;

	ioapic_mmio(&io, IOAPIC_IOREGSEL, true, &v);
	v = 0xdeadbeef;
	ioapic_mmio(&io, IOAPIC_IOWIN, false, &v);
	return v;
}

static void wr(uint32_t reg, uint32_t val)
{
	ioapic_mmio(&io, IOAPIC_IOREGSEL, true, &reg);
	ioapic_mmio(&io, IOAPIC_IOWIN, true, &val);
}

/* Program pin @pin: high dword first, as Linux does, then the low one. */
static void route(unsigned pin, uint64_t rte)
{
	wr(IOAPIC_REG_REDTBL + 2 * pin + 1, (uint32_t)(rte >> 32));
	wr(IOAPIC_REG_REDTBL + 2 * pin, (uint32_t)rte);
}

static uint64_t entry(unsigned pin)
{
	return rd(IOAPIC_REG_REDTBL + 2 * pin) | (uint64_t)rd(IOAPIC_REG_REDTBL + 2 * pin + 1) << 32;
}

static void test_reset(void)
{
	reset();
	T(rd(IOAPIC_REG_ID) == 2u << 24);
	T(rd(IOAPIC_REG_VER) == 0x00170011);
	T(rd(IOAPIC_REG_ARB) == 2u << 24);
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++)
		T(entry(pin) == IOAPIC_RTE_MASKED);
	/* A line going high on a masked pin sends nothing. */
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++)
		ioapic_set_irq(&io, pin, true);
	T(nmsgs == 0);
}

static void test_id_version_arb(void)
{
	uint32_t v;

	reset();
	wr(IOAPIC_REG_ID, 0xffffffff);
	T(rd(IOAPIC_REG_ID) == 0x0f000000);
	T(rd(IOAPIC_REG_ARB) == 0x0f000000); /* loaded from the ID */
	wr(IOAPIC_REG_ID, 5u << 24);
	T(rd(IOAPIC_REG_ID) == 5u << 24 && rd(IOAPIC_REG_ARB) == 5u << 24);
	wr(IOAPIC_REG_VER, 0);
	wr(IOAPIC_REG_ARB, 0);
	T(rd(IOAPIC_REG_VER) == 0x00170011 && rd(IOAPIC_REG_ARB) == 5u << 24);
	/* IOREGSEL reads back its 8 bits. */
	v = 0x1234;
	ioapic_mmio(&io, IOAPIC_IOREGSEL, true, &v);
	v = 0;
	ioapic_mmio(&io, IOAPIC_IOREGSEL, false, &v);
	T(v == 0x34);
}

static void test_redirection_readback(void)
{
	reset();
	/* Every bit written: the read-only and reserved ones read 0. */
	route(3, ~0ULL);
	T(entry(3) == IOAPIC_RTE_WRITABLE);
	T(!(entry(3) & (IOAPIC_RTE_DELIVS | IOAPIC_RTE_REMOTE_IRR)));
	route(3, 0x0300000000000000ULL | IOAPIC_RTE_LOGICAL | IOAPIC_RTE_ACTIVE_LOW |
		 IOAPIC_DM_LOWEST << IOAPIC_RTE_MODE_SHIFT | 0x41);
	T(entry(3) == (0x0300000000000000ULL | 0x941 | IOAPIC_RTE_ACTIVE_LOW));
	/* The high and low dwords are separate registers. */
	wr(IOAPIC_REG_REDTBL + 2 * 3 + 1, 0x07000000);
	T(entry(3) == (0x0700000000000000ULL | 0x941 | IOAPIC_RTE_ACTIVE_LOW));
	T(entry(2) == IOAPIC_RTE_MASKED && entry(4) == IOAPIC_RTE_MASKED);
	/* The last pin is 23: 0x3e, 0x3f; 0x40 is nothing. */
	route(23, 0x0100000000000000ULL | 0x99);
	T(entry(23) == (0x0100000000000000ULL | 0x99));
	wr(0x40, 0x12345678);
	T(rd(0x40) == 0 && rd(0x03) == 0 && rd(0x0f) == 0 && rd(0xff) == 0);
	T(nmsgs == 0);
}

/* Remote IRR, once set by a level interrupt, survives writes but not a switch to edge. */
static void test_readonly_bits_kept(void)
{
	uint64_t lvl = IOAPIC_RTE_LEVEL | 0x50;

	reset();
	route(9, lvl);
	ioapic_set_irq(&io, 9, true);
	T(nmsgs == 1 && (entry(9) & IOAPIC_RTE_REMOTE_IRR));
	wr(IOAPIC_REG_REDTBL + 18, (uint32_t)(lvl | IOAPIC_RTE_MASKED));
	T(entry(9) == (lvl | IOAPIC_RTE_MASKED | IOAPIC_RTE_REMOTE_IRR));
	wr(IOAPIC_REG_REDTBL + 18, (uint32_t)lvl); /* trying to clear Remote IRR by writing 0 */
	T(entry(9) & IOAPIC_RTE_REMOTE_IRR);
	T(nmsgs == 1);
	/* Linux's way on a version 0x11 chip: masked and edge, then the level entry again. */
	wr(IOAPIC_REG_REDTBL + 18, 0x50 | IOAPIC_RTE_MASKED);
	T(!(entry(9) & IOAPIC_RTE_REMOTE_IRR));
	wr(IOAPIC_REG_REDTBL + 18, (uint32_t)lvl);
	T(nmsgs == 2 && (entry(9) & IOAPIC_RTE_REMOTE_IRR)); /* still high: sent again */
}

static void test_edge_rising_once(void)
{
	reset();
	route(4, 0x0100000000000000ULL | 0x34);
	ioapic_set_irq(&io, 4, true);
	T(nmsgs == 1 && ctx_seen);
	T(msgs[0].vector == 0x34 && msgs[0].dest == 1 && !msgs[0].logical &&
	  msgs[0].mode == IOAPIC_DM_FIXED && !msgs[0].level);
	ioapic_set_irq(&io, 4, true); /* still high: no edge */
	T(nmsgs == 1);
	ioapic_eoi(&io, 0x34);        /* an edge pin has nothing to EOI */
	T(nmsgs == 1 && !(entry(4) & IOAPIC_RTE_REMOTE_IRR));
	ioapic_set_irq(&io, 4, false);
	T(nmsgs == 1);
	ioapic_set_irq(&io, 4, true);
	T(nmsgs == 2);
	ioapic_set_irq(&io, 5, true); /* another pin, masked */
	T(nmsgs == 2);
}

static void test_edge_masked_lost(void)
{
	reset();
	route(4, IOAPIC_RTE_MASKED | 0x34);
	ioapic_set_irq(&io, 4, true);
	ioapic_set_irq(&io, 4, false);
	ioapic_set_irq(&io, 4, true);
	route(4, 0x34); /* unmasked with the line high: the edges are gone */
	T(nmsgs == 0);
	ioapic_set_irq(&io, 4, false);
	ioapic_set_irq(&io, 4, true);
	T(nmsgs == 1);
}

static void test_level_remote_irr_eoi(void)
{
	reset();
	route(9, 0xff00000000000000ULL | IOAPIC_RTE_LOGICAL | IOAPIC_RTE_LEVEL | 0x61);
	ioapic_set_irq(&io, 9, true);
	T(nmsgs == 1 && msgs[0].level && msgs[0].logical && msgs[0].dest == 0xff &&
	  msgs[0].vector == 0x61);
	T(entry(9) & IOAPIC_RTE_REMOTE_IRR);
	ioapic_set_irq(&io, 9, false);
	ioapic_set_irq(&io, 9, true); /* Remote IRR holds it back */
	T(nmsgs == 1);
	ioapic_eoi(&io, 0x62);        /* another vector: no effect */
	T(nmsgs == 1 && (entry(9) & IOAPIC_RTE_REMOTE_IRR));
	ioapic_eoi(&io, 0x61);        /* still high: sent again */
	T(nmsgs == 2 && (entry(9) & IOAPIC_RTE_REMOTE_IRR));
	ioapic_set_irq(&io, 9, false);
	ioapic_eoi(&io, 0x61);        /* low now: cleared, nothing sent */
	T(nmsgs == 2 && !(entry(9) & IOAPIC_RTE_REMOTE_IRR));
	ioapic_set_irq(&io, 9, true);
	T(nmsgs == 3);
}

static void test_level_unmask_while_high(void)
{
	reset();
	route(10, IOAPIC_RTE_MASKED | IOAPIC_RTE_LEVEL | 0x70);
	ioapic_set_irq(&io, 10, true);
	T(nmsgs == 0 && !(entry(10) & IOAPIC_RTE_REMOTE_IRR));
	route(10, IOAPIC_RTE_LEVEL | 0x70);
	T(nmsgs == 1 && msgs[0].vector == 0x70 && msgs[0].level);
	/* Masked again and unmasked with Remote IRR set: nothing until the EOI. */
	route(10, IOAPIC_RTE_MASKED | IOAPIC_RTE_LEVEL | 0x70);
	route(10, IOAPIC_RTE_LEVEL | 0x70);
	T(nmsgs == 1);
	/* An EOI while masked clears Remote IRR but sends nothing; the unmask does. */
	route(10, IOAPIC_RTE_MASKED | IOAPIC_RTE_LEVEL | 0x70);
	ioapic_eoi(&io, 0x70);
	T(nmsgs == 1 && !(entry(10) & IOAPIC_RTE_REMOTE_IRR));
	route(10, IOAPIC_RTE_LEVEL | 0x70);
	T(nmsgs == 2);
}

static void test_polarity(void)
{
	reset();
	/* Active-low edge: the falling line is the assertion. */
	route(1, IOAPIC_RTE_ACTIVE_LOW | 0x31);
	T(nmsgs == 0);
	ioapic_set_irq(&io, 1, true);
	T(nmsgs == 0);
	ioapic_set_irq(&io, 1, false);
	T(nmsgs == 1 && msgs[0].vector == 0x31);
	/* Active-low level: a low line is asserted, so unmasking it sends. */
	route(11, IOAPIC_RTE_ACTIVE_LOW | IOAPIC_RTE_LEVEL | 0x3b);
	T(nmsgs == 2 && msgs[1].vector == 0x3b);
	ioapic_set_irq(&io, 11, true);
	ioapic_eoi(&io, 0x3b); /* deasserted: no resend */
	T(nmsgs == 2);
	ioapic_set_irq(&io, 11, false);
	T(nmsgs == 3);
}

/* NMI, SMI, INIT and ExtINT are edge-triggered whatever the trigger bit says. */
static void test_modes_passed_through(void)
{
	reset();
	route(2, IOAPIC_RTE_LEVEL | IOAPIC_DM_NMI << IOAPIC_RTE_MODE_SHIFT);
	ioapic_set_irq(&io, 2, true);
	T(nmsgs == 1 && msgs[0].mode == IOAPIC_DM_NMI && !msgs[0].level);
	T(!(entry(2) & IOAPIC_RTE_REMOTE_IRR));
	route(0, IOAPIC_DM_EXTINT << IOAPIC_RTE_MODE_SHIFT);
	ioapic_set_irq(&io, 0, true);
	T(nmsgs == 2 && msgs[1].mode == IOAPIC_DM_EXTINT);
	route(6, IOAPIC_RTE_LEVEL | IOAPIC_DM_LOWEST << IOAPIC_RTE_MODE_SHIFT | 0x46);
	ioapic_set_irq(&io, 6, true);
	T(nmsgs == 3 && msgs[2].mode == IOAPIC_DM_LOWEST && msgs[2].level);
}

static void test_bad_offsets_and_pins(void)
{
	uint32_t v;

	reset();
	route(4, 0x34);
	for (uint32_t off = 0; off < IOAPIC_MMIO_SIZE; off += 4) {
		if (off == IOAPIC_IOREGSEL || off == IOAPIC_IOWIN)
			continue;
		v = 0xffffffff;
		ioapic_mmio(&io, off, true, &v); /* dropped */
		v = 0xffffffff;
		ioapic_mmio(&io, off, false, &v);
		if (v != 0) {
			T(!"an offset other than IOREGSEL and IOWIN read non-zero");
			break;
		}
	}
	T(entry(4) == 0x34 && rd(IOAPIC_REG_ID) == 2u << 24);
	ioapic_set_irq(&io, IOAPIC_PINS, true);
	ioapic_set_irq(&io, 1000, true);
	T(nmsgs == 0 && io.lines == 0);
}

int main(void)
{
	RUN(test_reset);
	RUN(test_id_version_arb);
	RUN(test_redirection_readback);
	RUN(test_readonly_bits_kept);
	RUN(test_edge_rising_once);
	RUN(test_edge_masked_lost);
	RUN(test_level_remote_irr_eoi);
	RUN(test_level_unmask_while_high);
	RUN(test_polarity);
	RUN(test_modes_passed_through);
	RUN(test_bad_offsets_and_pins);
	return tap_finish();
}
