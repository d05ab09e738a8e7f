/* Descriptor tables: GDT with a TSS, IDT for the 32 exceptions. */
#ifndef MINIHV_DESC_H
#define MINIHV_DESC_H

#include "arch/x86/compiler.h"

#define GDT_KERNEL_CS 0x08
#define GDT_KERNEL_DS 0x10
#define GDT_TSS 0x18

/* Interrupt stack table slots (1-based in the IDT gate). */
#define IST_DF 1
#define IST_NMI 2
#define IST_MC 3
#define IST_STACK_SIZE 8192

#define X86_EXC_DE 0
#define X86_EXC_DB 1
#define X86_EXC_NMI 2
#define X86_EXC_BP 3
#define X86_EXC_OF 4
#define X86_EXC_UD 6
#define X86_EXC_DF 8
#define X86_EXC_TS 10
#define X86_EXC_NP 11
#define X86_EXC_SS 12
#define X86_EXC_GP 13
#define X86_EXC_PF 14
#define X86_EXC_MC 18
#define X86_EXC_CP 21
#define X86_NR_EXCEPTIONS 32

/* #PF error code (SDM 3A, 4.7) */
#define X86_PF_PROT (1u << 0)  /* 0: page not present */
#define X86_PF_WRITE (1u << 1)
#define X86_PF_USER (1u << 2)
#define X86_PF_RSVD (1u << 3)  /* a reserved bit set in a paging entry */
#define X86_PF_FETCH (1u << 4)
/* Selector-format error code of #TS, #NP, #SS, #GP (SDM 3A, 6.13) */
#define X86_ERR_EXT (1u << 0)  /* raised while delivering an external event or exception */
#define X86_ERR_IDT (1u << 1)  /* bits 15:3 index the IDT */
#define X86_ERR_TI (1u << 2)   /* else: 0 GDT, 1 LDT */
#define X86_ERR_INDEX(e) (((e) >> 3) & 0x1fff)

struct tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __packed;

_Static_assert(sizeof(struct tss64) == 104, "64-bit TSS is 104 bytes (SDM 3A, 8.7)");

struct desc_ptr {
	uint16_t limit;
	uint64_t base;
} __packed;

void gdt_init(void);
void idt_init(void);
void idt_load(void);
/* An interrupt gate at @vector to @handler (an iretq-ending stub). */
void idt_set_gate(unsigned vector, uint64_t handler);
/* For the VMCS host-state area. */
uint64_t gdt_base(void);
uint64_t idt_base(void);
uint64_t tss_base(void);

#endif
