/*
 * The guest's own #PF handler (guest/pf_catch.h): an access armed by
 * pfc_touch() resumes after itself; an unexpected #PF exits the guest with
 * HC_EXIT code (CR2 << 16) | 0xff00 | error code.
 */
#include "guest/guest.h"
#include "guest/pf_catch.h"

struct gate {
	uint16_t off0, sel;
	uint8_t ist, type;
	uint16_t off1;
	uint32_t off2, reserved;
} __attribute__((packed));

static struct gate idt[256] __attribute__((aligned(4096)));
/* Null, 64-bit code at 0x08, data at 0x10: the selectors of minihv's entry state. */
static const uint64_t gdt[3] __attribute__((aligned(8))) = {
	0, 0x00af9b000000ffffULL, 0x00cf93000000ffffULL,
};

extern char pfc_pf[];

/*
 * Frame: RBX, RAX, error code, RIP, CS, RFLAGS, RSP, SS; RBX = this vCPU's
 * struct pfc_state (the bottom of its stack's 64 KiB). Armed (state.resume
 * set): return there. Unarmed: exit, naming the fault.
 */
__asm__(".pushsection .text\n"
	"pfc_pf:\n"
	"	pushq %rax\n"
	"	pushq %rbx\n"
	"	movq %rsp, %rbx; andq $-0x10000, %rbx\n"
	"	movq $14, 0(%rbx)\n"
	"	movq 16(%rsp), %rax; movq %rax, 8(%rbx)\n"
	"	movq 24(%rsp), %rax; movq %rax, 16(%rbx)\n"
	"	movq %cr2, %rax; movq %rax, 24(%rbx)\n"
	"	incq 32(%rbx)\n"
	"	movq 40(%rbx), %rax\n"
	"	testq %rax, %rax\n"
	"	jz 1f\n"
	"	movq %rax, 24(%rsp)\n"
	"	movq $0, 40(%rbx)\n"
	"	popq %rbx\n"
	"	popq %rax\n"
	"	addq $8, %rsp\n"
	"	iretq\n"
	"1:	movq %cr2, %rdi; shlq $16, %rdi; orq $0xff00, %rdi\n"
	"	movzbl 16(%rsp), %eax; orq %rax, %rdi\n"
	"	movl $2, %eax\n" /* HC_EXIT */
	"	vmcall\n"
	"	hlt\n"
	".popsection\n");
_Static_assert(__builtin_offsetof(struct pfc_state, count) == 32 &&
	       __builtin_offsetof(struct pfc_state, resume) == 40 &&
	       __builtin_offsetof(struct pfc_state, fault) == 48, "pfc_pf's offsets");
_Static_assert(HC_EXIT == 2, "pfc_pf exits with HC_EXIT");

uint64_t pfc_idt_address(void)
{
	return (uint64_t)idt;
}

void pfc_load_tables(void)
{
	uint64_t a = (uint64_t)pfc_pf;
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} g = { sizeof(gdt) - 1, (uint64_t)gdt }, i = { sizeof(idt) - 1, (uint64_t)idt };

	idt[14] = (struct gate){ .off0 = (uint16_t)a, .sel = 0x08, .type = 0x8e,
				 .off1 = (uint16_t)(a >> 16), .off2 = (uint32_t)(a >> 32) };
	__asm__ __volatile__("lgdt %0; lidt %1" ::"m"(g), "m"(i) : "memory");
}

/* Read @va (@write: store a byte to it) with recovery armed: a #PF resumes after it. */
/* Arm: on a #PF at label 2, the handler records it and resumes at label 1. */
#define PFC_ARM "leaq 1f(%%rip), %%rax; movq %%rax, 40(%[st])\n\t" \
		"leaq 2f(%%rip), %%rax; movq %%rax, 48(%[st])\n"
#define PFC_DISARM "1:\tmovq $0, 40(%[st])"

void pfc_touch(uint64_t va, bool write)
{
	volatile struct pfc_state *st = pfc_here();

	if (write)
		__asm__ __volatile__(PFC_ARM "2:\tmovb $0x5a, (%[va])\n" PFC_DISARM
				     ::[va] "r"(va), [st] "r"(st) : "rax", "memory");
	else
		__asm__ __volatile__(PFC_ARM "2:\tcmpb $0, (%[va])\n" PFC_DISARM
				     ::[va] "r"(va), [st] "r"(st) : "rax", "memory");
}

/* 0 if touching @va raised exactly one #PF, at that instruction, with @err; else 1-4. */
long pfc_expect_pf(uint64_t va, bool write, uint64_t err)
{
	volatile struct pfc_state *st = pfc_here();
	uint64_t n = st->count;

	pfc_touch(va, write);
	if (st->count == n)
		return 1;
	if (st->count != n + 1 || st->vector != 14 || st->rip != st->fault)
		return 2;
	if (st->cr2 != va)
		return 3;
	return st->error == err ? 0 : 4;
}


bool pfc_read64(uint64_t va, uint64_t *val)
{
	volatile struct pfc_state *st = pfc_here();
	uint64_t n = st->count, v = 0;

	__asm__ __volatile__(PFC_ARM "2:\tmovq (%[va]), %[v]\n" PFC_DISARM
			     : [v] "+r"(v) : [va] "r"(va), [st] "r"(st) : "rax", "memory");
	*val = v;
	return st->count == n;
}

bool pfc_write64(uint64_t va, uint64_t val)
{
	volatile struct pfc_state *st = pfc_here();
	uint64_t n = st->count;

	__asm__ __volatile__(PFC_ARM "2:\tmovq %[v], (%[va])\n" PFC_DISARM
			     ::[va] "r"(va), [v] "r"(val), [st] "r"(st) : "rax", "memory");
	return st->count == n;
}
