/*
 * The PC-platform test guest (guest/pc/): the hardware numbers it uses, its
 * instruction wrappers, and what its two C files share.
 */
#ifndef MINIHV_GUEST_PC_PCGUEST_H
#define MINIHV_GUEST_PC_PCGUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MB1_BOOT_MAGIC 0x2badb002u
#define MBI_MEM (1u << 0)
#define MBI_CMDLINE (1u << 2)
#define MBI_MMAP (1u << 6)
#define CR0_PE (1u << 0)
#define CR0_PG (1u << 31)
#define CR4_PAE (1u << 5)
#define MSR_APIC_BASE 0x1b
#define APIC_BASE_X2APIC (1u << 10)
#define MSR_TSC_DEADLINE 0x6e0
#define MSR_X2APIC 0x800   /* x2APIC register at xAPIC offset off: MSR 0x800 + off / 16 */
#define MSR_EFER 0xc0000080
#define MSR_LSTAR 0xc0000082
#define EFER_SCE (1u << 0)
#define EFER_LMA (1u << 10)
#define MSR_UNKNOWN 0x12345678
#define PORT_DEBUG_EXIT 0xf4
#define PORT_COM1 0x3f8
#define PORT_FWCFG 0x510
#define PORT_UNKNOWN 0x5a0     /* nothing there on a PC */
#define FWCFG_SIGNATURE 0
#define FWCFG_RAM_SIZE 3
#define FWCFG_NB_CPUS 5

/* Local APIC registers (SDM 3A, table 11-1), by xAPIC offset. */
#define APIC_MMIO 0xfee00000ul
#define APIC_ID 0x20
#define APIC_EOI 0xb0
#define APIC_SVR 0xf0
#define APIC_ISR 0x100
#define APIC_IRR 0x200
#define APIC_ICR 0x300
#define APIC_ICR2 0x310
#define APIC_LVT_TIMER 0x320
#define APIC_TIMER_INIT 0x380
#define APIC_TIMER_CUR 0x390
#define APIC_TIMER_DIV 0x3e0
#define APIC_SVR_ON 0x1ff      /* enabled, spurious vector 0xff */
#define APIC_DIV_1 0xb
#define LVT_MASKED (1u << 16)
#define LVT_PERIODIC (1u << 17)
#define LVT_TSC_DEADLINE (2u << 17)
#define ICR_SELF (1u << 18)    /* destination shorthand: self */
#define ICR_INIT 0x4500        /* INIT, level assert */
#define ICR_SIPI 0x0600        /* startup, vector in bits 7:0 */

#define VEC_GP 13
#define VEC_TIMER 0x40
#define VEC_SELF 0x41
#define VEC_AP 0x42            /* BSP -> AP */
#define VEC_BSP 0x43           /* the AP's answer */
#define VEC_SPURIOUS 0xff

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" :: "a"(v), "Nd"(port)); }
static inline void outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" :: "a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" :: "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint16_t inw(uint16_t port) { uint16_t v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint32_t inl(uint16_t port) { uint32_t v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr) : "memory");
	return (uint64_t)hi << 32 | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" :: "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

static inline void cpuid(uint32_t leaf, uint32_t r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(0));
}

/* pcguest.c: the report, COM1, isa-debug-exit; what the interrupt handler counted. */
extern volatile unsigned irq_count[256];
extern unsigned first_fail;    /* the first check that failed (1-based), 0 if none */
void report(bool ok, const char *what);
void note(const char *what, uint64_t v);
void puts_com1(const char *s);
__attribute__((noreturn)) void debug_exit(uint32_t code);

/* pcguest_apic.c: the local APIC's checks (xAPIC, or x2APIC once switched). */
void apic_write(uint32_t off, uint32_t v);
void apic_irq(unsigned vec); /* an interrupt's work and its EOI */
void check_lapic_timer(void);
void check_ipi(uint64_t cpus);
void check_init_sipi(void);
void check_hlt_sleep(void);

#endif
