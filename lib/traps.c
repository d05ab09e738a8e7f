/*
 * Exception handling. Three outcomes: an instruction in the exception table
 * resumes at its fixup (probes); an exception inside a self-test is dumped and
 * that test is abandoned (the harness hook); anything else is a panic.
 */
#include "lib/bug.h"
#include "lib/ksyms.h"
#include "lib/printk.h"
#include "arch/x86/arch.h"

struct extable_entry {
	uint64_t insn;
	uint64_t fixup;
};

extern const struct extable_entry __extable_start[], __extable_end[];

void (*trap_unexpected_hook)(struct trap_frame *f);

static const char *const exc_names[X86_NR_EXCEPTIONS] = {
	"#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
	"#BR bound range", "#UD invalid opcode", "#NM device not available",
	"#DF double fault", "coprocessor overrun", "#TS invalid TSS", "#NP segment not present",
	"#SS stack fault", "#GP general protection", "#PF page fault", "reserved 15",
	"#MF x87 error", "#AC alignment check", "#MC machine check", "#XM SIMD exception",
	"#VE virtualization exception", "#CP control protection", "reserved 22", "reserved 23",
	"reserved 24", "reserved 25", "reserved 26", "reserved 27", "#HV hypervisor injection",
	"#VC VMM communication", "#SX security exception", "reserved 31",
};

const char *exception_name(unsigned vector)
{
	return vector < X86_NR_EXCEPTIONS ? exc_names[vector] : "external interrupt";
}

void trap_dump(const struct trap_frame *f)
{
	printk("EXCEPTION %llu (%s) error code %#llx\n", (unsigned long long)f->vector,
	       exception_name((unsigned)f->vector), (unsigned long long)f->error);
	printk(" RIP %#018llx ", (unsigned long long)f->rip);
	print_symbol(f->rip);
	printk("\n RSP %#018llx RFLAGS %#llx CS %#llx SS %#llx\n",
	       (unsigned long long)f->rsp, (unsigned long long)f->rflags,
	       (unsigned long long)f->cs, (unsigned long long)f->ss);
	printk(" CR0 %#lx CR2 %#lx CR3 %#lx CR4 %#lx\n", read_cr0(), read_cr2(), read_cr3(),
	       read_cr4());
	printk(" RAX %016llx RBX %016llx RCX %016llx RDX %016llx\n",
	       (unsigned long long)f->rax, (unsigned long long)f->rbx,
	       (unsigned long long)f->rcx, (unsigned long long)f->rdx);
	printk(" RSI %016llx RDI %016llx RBP %016llx R8  %016llx\n",
	       (unsigned long long)f->rsi, (unsigned long long)f->rdi,
	       (unsigned long long)f->rbp, (unsigned long long)f->r8);
	printk(" R9  %016llx R10 %016llx R11 %016llx R12 %016llx\n",
	       (unsigned long long)f->r9, (unsigned long long)f->r10,
	       (unsigned long long)f->r11, (unsigned long long)f->r12);
	printk(" R13 %016llx R14 %016llx R15 %016llx\n", (unsigned long long)f->r13,
	       (unsigned long long)f->r14, (unsigned long long)f->r15);
	backtrace_from(f->rip, f->rbp);
}

void trap_handler(struct trap_frame *f)
{
	for (const struct extable_entry *e = __extable_start; e < __extable_end; e++) {
		if (e->insn == f->rip) {
			f->rip = e->fixup;
			f->rax = f->vector;
			return;
		}
	}
	if (trap_unexpected_hook)
		trap_unexpected_hook(f); /* does not return if it takes the exception */
	trap_dump(f);
	panic("unhandled exception %llu (%s) at %#llx", (unsigned long long)f->vector,
	      exception_name((unsigned)f->vector), (unsigned long long)f->rip);
}
