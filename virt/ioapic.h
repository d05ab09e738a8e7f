/*
 * An emulated I/O APIC, after the Intel 82093AA (its datasheet, order
 * number 290566, section 3 "Register Description"): 24 input pins, each
 * routed by its redirection table entry to an interrupt message for the
 * local APICs. The message carries what an MSI does (SDM vol. 3A, 11.11):
 * destination, destination mode, delivery mode, vector, trigger mode.
 *
 * Pure (host-tested by tests/host/test_ioapic.c): the model turns register
 * accesses and input line levels into messages, and hands each message to
 * a callback; the caller delivers it to the vCPUs' local APICs.
 *
 * Locking is the caller's: every function below runs under the platform's
 * lock (struct pc_platform.lock), and deliver() is called with that lock
 * held, so it must not call back into this I/O APIC.
 */
#ifndef MINIHV_VIRT_IOAPIC_H
#define MINIHV_VIRT_IOAPIC_H

#include <stdbool.h>
#include <stdint.h>

#define IOAPIC_BASE 0xfec00000u /* the PC's default (ACPI MADT gives it to the guest) */
#define IOAPIC_MMIO_SIZE 0x1000
#define IOAPIC_PINS 24

/* Memory-mapped registers (datasheet 3.1): 32-bit accesses only. */
#define IOAPIC_IOREGSEL 0x00 /* bits 7:0 select the register IOWIN reaches */
#define IOAPIC_IOWIN 0x10

/* Registers behind IOWIN (datasheet 3.2). */
#define IOAPIC_REG_ID 0x00
#define IOAPIC_REG_VER 0x01
#define IOAPIC_REG_ARB 0x02
#define IOAPIC_REG_REDTBL 0x10 /* pin n: low dword 0x10 + 2n, high dword 0x11 + 2n */
#define IOAPIC_REGSEL_MASK 0xffu

#define IOAPIC_ID_SHIFT 24
#define IOAPIC_ID_MASK (0xfu << IOAPIC_ID_SHIFT) /* IOAPICID and IOAPICARB: bits 27:24 */
/* IOAPICVER: maximum redirection entry 23 in bits 23:16, version 0x11 in bits 7:0. */
#define IOAPIC_VERSION (((uint32_t)(IOAPIC_PINS - 1) << 16) | 0x11)

/* A redirection table entry (IOREDTBL, datasheet 3.2.4). */
#define IOAPIC_RTE_VECTOR 0xffULL
#define IOAPIC_RTE_MODE_SHIFT 8           /* delivery mode, bits 10:8 */
#define IOAPIC_RTE_MODE_MASK (7ULL << IOAPIC_RTE_MODE_SHIFT)
#define IOAPIC_RTE_LOGICAL (1ULL << 11)   /* destination mode: 1 logical, 0 physical */
#define IOAPIC_RTE_DELIVS (1ULL << 12)    /* delivery status, RO: always 0 here */
#define IOAPIC_RTE_ACTIVE_LOW (1ULL << 13) /* input pin polarity */
#define IOAPIC_RTE_REMOTE_IRR (1ULL << 14) /* RO: a level interrupt awaits its EOI */
#define IOAPIC_RTE_LEVEL (1ULL << 15)     /* trigger mode: 1 level, 0 edge */
#define IOAPIC_RTE_MASKED (1ULL << 16)
#define IOAPIC_RTE_DEST_SHIFT 56          /* destination, bits 63:56 */
#define IOAPIC_RTE_DEST_MASK (0xffULL << IOAPIC_RTE_DEST_SHIFT)
/* What a write can change; the rest is read-only or reserved (reads 0). */
#define IOAPIC_RTE_WRITABLE (IOAPIC_RTE_VECTOR | IOAPIC_RTE_MODE_MASK | IOAPIC_RTE_LOGICAL | \
			     IOAPIC_RTE_ACTIVE_LOW | IOAPIC_RTE_LEVEL | IOAPIC_RTE_MASKED |   \
			     IOAPIC_RTE_DEST_MASK)

/* Delivery modes (datasheet 3.2.4; SDM 3A, 11.11.2). */
#define IOAPIC_DM_FIXED 0
#define IOAPIC_DM_LOWEST 1
#define IOAPIC_DM_SMI 2
#define IOAPIC_DM_NMI 4
#define IOAPIC_DM_INIT 5
#define IOAPIC_DM_EXTINT 7

/* One interrupt message, as the redirection entry built it. */
struct ioapic_msg {
	uint32_t dest;   /* physical: an APIC ID (0xff: all); logical: the MDA */
	bool logical;
	unsigned mode;   /* IOAPIC_DM_*, passed through: the caller decides what it supports */
	unsigned vector;
	bool level;      /* level-triggered: the local APIC sets TMR and will EOI us */
};

struct vioapic {
	uint32_t id;      /* IOAPICID as read: the ID in bits 27:24 */
	uint32_t arb;     /* IOAPICARB: loaded from the ID when the ID is written */
	uint32_t regsel;  /* IOREGSEL */
	uint32_t lines;   /* bit n: pin n's input line is high (before polarity) */
	uint64_t rte[IOAPIC_PINS];
	uint64_t messages; /* sent to deliver(), for statistics */
	void (*deliver)(void *ctx, const struct ioapic_msg *m);
	void *ctx;
};

/* Power-on state: ID @id (0..15), every pin masked and edge-triggered, every line low. */
void ioapic_reset(struct vioapic *io, uint32_t id,
		  void (*deliver)(void *ctx, const struct ioapic_msg *m), void *ctx);
/*
 * A 32-bit guest access at @off in the I/O APIC's page: IOREGSEL or IOWIN.
 * Reads of any other offset return 0 and writes there are dropped; the
 * caller passes only aligned 32-bit accesses (others it reads as 0 and drops).
 */
void ioapic_mmio(struct vioapic *io, uint32_t off, bool write, uint32_t *val);
/* Input @pin's line is now @level (high or low); pins past 23 are ignored. */
void ioapic_set_irq(struct vioapic *io, unsigned pin, bool level);
/* A local APIC's EOI of level-triggered @vector (broadcast to the I/O APICs). */
void ioapic_eoi(struct vioapic *io, unsigned vector);

#endif
