/*
 * A vCPU's local APIC, emulated (SDM vol. 3A, chapter 11): xAPIC registers
 * at the APIC base, trapped (that GPA has no memslot, so every access is a
 * second-level fault decoded by virt/mmio.c), x2APIC registers as MSRs
 * 0x800-0x8ff, the timer in one-shot, periodic and TSC-deadline modes, and
 * IPIs between the VM's vCPUs, INIT and SIPI included. No hardware APIC
 * virtualisation: interrupts are injected by the backend at VM entry.
 */
#ifndef MINIHV_VIRT_LAPIC_H
#define MINIHV_VIRT_LAPIC_H

#include "lib/lib.h"
#include "arch/x86/arch.h"

#define LAPIC_BUS_KHZ 1000000u /* the timer's input clock: 1 GHz, as KVM's */

/* Register offsets in the xAPIC page; the x2APIC MSR is 0x800 + offset / 16. */
#define LAPIC_ID 0x20
#define LAPIC_VERSION 0x30
#define LAPIC_TPR 0x80
#define LAPIC_APR 0x90
#define LAPIC_PPR 0xa0
#define LAPIC_EOI 0xb0
#define LAPIC_RRD 0xc0
#define LAPIC_LDR 0xd0
#define LAPIC_DFR 0xe0
#define LAPIC_SVR 0xf0
#define LAPIC_ISR 0x100
#define LAPIC_TMR 0x180
#define LAPIC_IRR 0x200
#define LAPIC_ESR 0x280
#define LAPIC_LVT_CMCI 0x2f0
#define LAPIC_ICR 0x300
#define LAPIC_ICR2 0x310
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_LVT_THERMAL 0x330
#define LAPIC_LVT_PERF 0x340
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_LVT_LINT1 0x360
#define LAPIC_LVT_ERROR 0x370
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_CUR 0x390
#define LAPIC_TIMER_DIV 0x3e0
#define LAPIC_SELF_IPI 0x3f0 /* x2APIC only */

#define LAPIC_SVR_ENABLE (1u << 8)
#define LAPIC_LVT_MASKED (1u << 16)
#define LAPIC_LVT_PENDING (1u << 12) /* delivery status */
#define LAPIC_TIMER_ONESHOT 0
#define LAPIC_TIMER_PERIODIC 1
#define LAPIC_TIMER_TSC_DEADLINE 2
#define LAPIC_DM_FIXED 0
#define LAPIC_DM_LOWEST 1
#define LAPIC_DM_SMI 2
#define LAPIC_DM_NMI 4
#define LAPIC_DM_INIT 5
#define LAPIC_DM_SIPI 6
#define LAPIC_DM_EXTINT 7

#define APIC_BASE_BSP_BIT (1ULL << 8)
#define APIC_BASE_X2APIC (1ULL << 10)
#define APIC_BASE_ENABLE (1ULL << 11)

#define LAPIC_NLVT 7 /* CMCI, timer, thermal, perf, LINT0, LINT1, error */

struct vlapic {
	struct spinlock lock;
	uint32_t id;         /* the vCPU's number: APIC ID, x2APIC ID */
	uint64_t base;       /* IA32_APIC_BASE */
	uint32_t tpr, ldr, dfr, svr, esr, icr, icr2, div;
	uint32_t lvt[LAPIC_NLVT];
	uint32_t isr[8], irr[8], tmr[8];
	uint32_t timer_init;
	uint64_t timer_start;    /* host TSC when the count was loaded */
	uint64_t tsc_deadline;   /* guest TSC; 0: disarmed */
	bool nmi;                /* an NMI is pending */
	bool init;               /* INIT received: the vCPU goes back to wait for a SIPI */
	int sipi;                /* a SIPI's vector, -1 for none */
	int eoi_level;           /* a level-triggered vector just EOIed, for the I/O APIC; -1 */
};

#endif
