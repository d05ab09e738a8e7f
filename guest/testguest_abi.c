/*
 * Self-test guest commands that check the guest ABI (guest/ABI.md): the
 * emulated MSRs, COM1's registers and console line, and exceptions, both
 * without an IDT (they end in a triple fault the host names) and with the
 * guest's own IDT (they must reach its handlers exactly as on hardware).
 * Return values other than 0 name the check that failed.
 */
#include "guest/guest.h"
#include "arch/x86/msr.h"
#include "arch/x86/ports.h"
#include "guest/testguest.h"
#include "guest/testguest_abi.h"

long tg_msr(void)
{
	static volatile uint64_t fs_word = 0xf5f5, gs_word = 0x6565;
	uint64_t efer = rdmsr(MSR_EFER), v;

	if ((efer & (EFER_LME | EFER_LMA)) != (EFER_LME | EFER_LMA))
		return 1;
	/* FS/GS base: the value reads back and is the base the CPU uses. */
	wrmsr(MSR_FS_BASE, (uint64_t)&fs_word);
	wrmsr(MSR_GS_BASE, (uint64_t)&gs_word);
	if (rdmsr(MSR_FS_BASE) != (uint64_t)&fs_word || rdmsr(MSR_GS_BASE) != (uint64_t)&gs_word)
		return 2;
	__asm__ __volatile__("movq %%fs:0, %0" : "=r"(v));
	if (v != 0xf5f5)
		return 3;
	__asm__ __volatile__("movq %%gs:0, %0" : "=r"(v));
	if (v != 0x6565)
		return 4;
	uint64_t t0 = rdmsr(MSR_IA32_TSC), t1 = rdtsc();
	if (t1 < t0 || rdmsr(MSR_IA32_TSC) < t1)
		return 5;
	if (rdmsr(MSR_IA32_APIC_BASE) != (APIC_DEFAULT_BASE | APIC_BASE_BSP))
		return 6;
	if (cpuid(0x80000001).edx & CPUID_80000001_EDX_NX) {
		wrmsr(MSR_EFER, efer ^ EFER_NXE);
		if (rdmsr(MSR_EFER) != (efer ^ EFER_NXE))
			return 7;
		wrmsr(MSR_EFER, efer);
		if (rdmsr(MSR_EFER) != efer)
			return 8;
	}
	return 0;
}

long tg_msr_unknown(uint32_t msr, uint64_t write)
{
	if (write)
		wrmsr(msr, 0x1234);
	else
		(void)rdmsr(msr);
	return 100; /* not reached: the host stops the guest */
}

static uint8_t com1_in(unsigned reg)
{
	return inb((uint16_t)(COM1_BASE + reg));
}

static void com1_out(unsigned reg, uint8_t v)
{
	outb((uint16_t)(COM1_BASE + reg), v);
}

/*
 * The registers as Linux's 8250 driver probes them, then a line with hostile
 * bytes: one probe sequence in the driver's order, kept whole (over 60 lines).
 */
long tg_uart(void)
{
	static const char line[] = TG_UART_LINE;

	com1_out(UART_SCR, 0xa5);
	if (com1_in(UART_SCR) != 0xa5)
		return 1;
	com1_out(UART_LCR, UART_LCR_DLAB | UART_LCR_8N1);
	com1_out(UART_DLL, 0x0c); /* 9600 baud */
	com1_out(UART_DLM, 0x00);
	if (com1_in(UART_DLL) != 0x0c || com1_in(UART_DLM) != 0x00)
		return 2;
	if (com1_in(UART_LCR) != (UART_LCR_DLAB | UART_LCR_8N1))
		return 3;
	com1_out(UART_LCR, UART_LCR_8N1);
	if (com1_in(UART_LCR) != UART_LCR_8N1 || com1_in(UART_IER) != 0)
		return 4;
	/* IER keeps bits 3:0; enabling THRI with THR empty raises it once in IIR. */
	com1_out(UART_IER, 0xff);
	if (com1_in(UART_IER) != UART_IER_MASK)
		return 5;
	if (com1_in(UART_IIR) != UART_IIR_THRI || com1_in(UART_IIR) != UART_IIR_NO_INT)
		return 6;
	com1_out(UART_IER, 0);
	com1_out(UART_FCR, UART_FCR_ENABLE_CLEAR);
	if (com1_in(UART_IIR) != (UART_IIR_FIFO_ON | UART_IIR_NO_INT))
		return 7;
	/* MCR keeps bits 4:0; in loopback the modem inputs follow the outputs. */
	com1_out(UART_MCR, 0xff);
	if (com1_in(UART_MCR) != UART_MCR_MASK)
		return 8;
	if (com1_in(UART_MSR) != (UART_MSR_CTS | UART_MSR_DSR | UART_MSR_RI | UART_MSR_DCD))
		return 9;
	com1_out(UART_MCR, UART_MCR_LOOP | UART_MCR_RTS | UART_MCR_OUT2); /* 8250 autoconfig */
	if (com1_in(UART_MSR) != (UART_MSR_CTS | UART_MSR_DCD | UART_MSR_DDSR | UART_MSR_TERI) ||
	    com1_in(UART_MSR) != (UART_MSR_CTS | UART_MSR_DCD))
		return 10;
	/*
	 * Loopback: what is sent is received, not printed. With the FIFO on
	 * (FCR above) two bytes wait in it in order; with it off (16450 mode)
	 * a second byte overruns and replaces the first.
	 */
	com1_out(UART_THR, 'L');
	if (com1_in(UART_LSR) != (UART_LSR_TEMT | UART_LSR_THRE | UART_LSR_DR))
		return 11;
	if (com1_in(UART_RBR) != 'L' || (com1_in(UART_LSR) & UART_LSR_DR))
		return 12;
	com1_out(UART_THR, 'a');
	com1_out(UART_THR, 'b');
	if (com1_in(UART_LSR) != (UART_LSR_TEMT | UART_LSR_THRE | UART_LSR_DR) ||
	    com1_in(UART_RBR) != 'a' || com1_in(UART_RBR) != 'b' ||
	    (com1_in(UART_LSR) & UART_LSR_DR))
		return 13;
	com1_out(UART_FCR, 0);
	com1_out(UART_THR, 'c');
	com1_out(UART_THR, 'd');
	if (com1_in(UART_LSR) != (UART_LSR_TEMT | UART_LSR_THRE | UART_LSR_OE | UART_LSR_DR) ||
	    com1_in(UART_LSR) != (UART_LSR_TEMT | UART_LSR_THRE | UART_LSR_DR) ||
	    com1_in(UART_RBR) != 'd')
		return 13;
	com1_out(UART_MCR, UART_MCR_DTR_RTS_OUT2);
	if ((com1_in(UART_MSR) & 0xf0) != (UART_MSR_CTS | UART_MSR_DSR | UART_MSR_DCD))
		return 14;
	/* A 16-bit OUT reaches two registers: MSR (ignored) and SCR. */
	outw(COM1_BASE + UART_MSR, 0x5a00);
	if (com1_in(UART_SCR) != 0x5a || com1_in(UART_LSR) != (UART_LSR_TEMT | UART_LSR_THRE))
		return 15;
	/* The host looks at the pending console line while we are paused. */
	for (unsigned i = 0; i < sizeof(line) - 1; i++)
		com1_out(UART_THR, (uint8_t)line[i]);
	long r = hypercall(HC_YIELD, 0, 0);
	com1_out(UART_THR, '\n');
	return r ? 16 : 0;
}

long tg_page_fault(uint64_t addr)
{
	return *(volatile uint8_t *)addr; /* no IDT: #PF -> #DF -> triple fault */
}

/* ---- Exceptions delivered through the guest's own IDT ---- */

struct idt_gate {
	uint16_t off0, sel;
	uint8_t ist, type;
	uint16_t off1;
	uint32_t off2, reserved;
} __attribute__((packed));

#define GATE_INTR64 0x8e /* present, DPL 0, 64-bit interrupt gate */

/* What the last handler saw; written by tg_exc_common below. */
struct exc_seen {
	uint64_t vector, error, rip, rflags, cr2, count;
};
struct exc_seen tg_seen __attribute__((used));
uint64_t tg_resume __attribute__((used)); /* where the handler returns to */
uint64_t tg_fault __attribute__((used));  /* the instruction that raised it */

/* A whole page of its own, so that only exception delivery ever reads it. */
static struct idt_gate idt[256] __attribute__((aligned(4096)));
/* Null, 64-bit code at 0x08, data at 0x10: the selectors minihv's entry state uses. */
static const uint64_t gdt[3] __attribute__((aligned(8))) = {
	0, 0x00af9b000000ffffULL, 0x00cf93000000ffffULL,
};

extern char tg_exc_ud[], tg_exc_bp[], tg_exc_df[], tg_exc_np[], tg_exc_gp[], tg_exc_pf[];

/* Each stub pushes a fake error code where the CPU pushes none, then the vector. */
__asm__(".pushsection .text\n"
	"tg_exc_ud: pushq $0; pushq $6; jmp tg_exc_common\n"
	"tg_exc_bp: pushq $0; pushq $3; jmp tg_exc_common\n"
	"tg_exc_df: pushq $8; jmp tg_exc_common\n"
	"tg_exc_np: pushq $11; jmp tg_exc_common\n"
	"tg_exc_gp: pushq $13; jmp tg_exc_common\n"
	"tg_exc_pf: pushq $14; jmp tg_exc_common\n"
	"tg_exc_common:\n"
	"	pushq %rax\n"
	"	movq 8(%rsp), %rax; movq %rax, tg_seen+0(%rip)\n"   /* vector */
	"	movq 16(%rsp), %rax; movq %rax, tg_seen+8(%rip)\n"  /* error code */
	"	movq 24(%rsp), %rax; movq %rax, tg_seen+16(%rip)\n" /* RIP */
	"	movq 40(%rsp), %rax; movq %rax, tg_seen+24(%rip)\n" /* RFLAGS */
	"	movq %cr2, %rax; movq %rax, tg_seen+32(%rip)\n"
	"	incq tg_seen+40(%rip)\n"
	"	movq tg_resume(%rip), %rax; movq %rax, 24(%rsp)\n"
	"	popq %rax\n"
	"	addq $16, %rsp\n"
	"	iretq\n"
	".popsection\n");

/* Run @insn with tg_fault at it and tg_resume just after it. */
#define RAISE(insn, ...)                                                            \
	__asm__ __volatile__("leaq 1f(%%rip), %%rax; movq %%rax, tg_resume(%%rip)\n\t" \
			     "leaq 2f(%%rip), %%rax; movq %%rax, tg_fault(%%rip)\n"    \
			     "2:\t" insn "\n1:" ::__VA_ARGS__ : "rax", "memory")

static void set_gate(unsigned vector, const void *handler)
{
	uint64_t a = (uint64_t)handler;

	idt[vector] = (struct idt_gate){
		.off0 = (uint16_t)a, .sel = 0x08, .type = GATE_INTR64,
		.off1 = (uint16_t)(a >> 16), .off2 = (uint32_t)(a >> 32),
	};
}

static void load_tables(void)
{
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} g = { sizeof(gdt) - 1, (uint64_t)gdt }, i = { sizeof(idt) - 1, (uint64_t)idt };

	__asm__ __volatile__("lgdt %0; lidt %1" ::"m"(g), "m"(i) : "memory");
}

#define RF (1ULL << 16)

long tg_exceptions(void)
{
	uint64_t n = 0;

	set_gate(6, tg_exc_ud);
	set_gate(3, tg_exc_bp);
	set_gate(8, tg_exc_df);
	set_gate(11, tg_exc_np);
	set_gate(13, tg_exc_gp);
	set_gate(14, tg_exc_pf);
	load_tables();
	/* The host may move the IDT's page now: the first delivery then faults in EPT. */
	hypercall(HC_YIELD, (uint64_t)idt, 0);

	/* #UD, a fault: RIP of the instruction, RF set in the pushed RFLAGS. */
	RAISE("ud2");
	if (tg_seen.count != ++n || tg_seen.vector != 6 || tg_seen.rip != tg_fault)
		return 1;
	if (!(tg_seen.rflags & RF))
		return 2;
	/* #PF: error code and CR2 as the CPU writes them. 4 GiB up is not mapped. */
	RAISE("cmpb $0, (%%rcx)", "c"(0x100000123ULL));
	if (tg_seen.count != ++n || tg_seen.vector != 14 || tg_seen.rip != tg_fault)
		return 3;
	if (tg_seen.error != 0 || tg_seen.cr2 != 0x100000123ULL || !(tg_seen.rflags & RF))
		return 4;
	/* #GP(0): a non-canonical address. */
	RAISE("cmpb $0, (%%rcx)", "c"(0x8000000000000000ULL));
	if (tg_seen.count != ++n || tg_seen.vector != 13 || tg_seen.error != 0 ||
	    tg_seen.rip != tg_fault)
		return 5;
	/* #BP, a trap (not intercepted): RIP after INT3, no RF. */
	RAISE("int3");
	if (tg_seen.count != ++n || tg_seen.vector != 3 || tg_seen.rip != tg_resume ||
	    (tg_seen.rflags & RF))
		return 6;
	/* #GP whose gate is not present: #NP while delivering it, and the two make #DF(0). */
	idt[13].type = 0;
	RAISE("cmpb $0, (%%rcx)", "c"(0x8000000000000000ULL));
	idt[13].type = GATE_INTR64;
	if (tg_seen.count != ++n || tg_seen.vector != 8 || tg_seen.error != 0)
		return 7;
	return 0;
}
