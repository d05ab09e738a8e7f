/*
 * A virtual CPU: its VMCS, the guest registers the VMCS does not hold, and
 * why it stopped. One vCPU per VM, run on the calling CPU until it stops.
 */
#ifndef MINIHV_VCPU_H
#define MINIHV_VCPU_H

#include "vmx/vmcs_defs.h"
#include "vmx/exception.h"
#include "vmx/uart.h"
#include "vmx/unswitched.h"
#include "ept/vm.h"
#include "arch/x86/arch.h"

struct vm;
struct vmx_cpu;

/* Saved by vmx/run.asm on every exit; offsets come from vmx/asm-offsets.c. */
struct vcpu_regs {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
};

enum vcpu_stop {
	STOP_NONE,
	STOP_EXIT,        /* HC_EXIT: exit_code holds the guest's code */
	STOP_HLT,         /* HLT with nothing to wake it */
	STOP_TRIPLE_FAULT,
	STOP_BAD_GPA,     /* access outside every memslot */
	STOP_READONLY,    /* write to a read-only memslot */
	STOP_WATCHDOG,    /* preemption-timer or exit budget used up */
	STOP_BUGGED,      /* the VM was marked bugged (e.g. EPT misconfiguration) */
	STOP_ENTRY_FAIL,  /* VMLAUNCH/VMRESUME failed or VM entry failed */
	STOP_UNHANDLED,   /* an exit minihv does not emulate */
	/* Resumable with vcpu_resume(): */
	STOP_YIELD,       /* HC_YIELD: exit_code holds the value passed */
	STOP_MEMORY_FAULT, /* write to a host-write-protected page; retried on resume */
};

/* What the vCPU counts (the VM's EPT figures are in struct vm_stats). */
struct vcpu_stats {
	uint64_t exits_total;
	uint64_t exits[EXIT_REASON_MAX];
	uint64_t hypercalls;
	uint64_t io_exits;
};

struct vcpu {
	struct vm *vm;
	struct vmx_cpu *cpu;
	struct vcpu_regs regs;
	struct vcpu_stats stats;
	/*
	 * What only the VMCS holds, copied when vcpu_run() returns, so that
	 * dump=vcpu and gdb's hv-vcpu can show it (gdb cannot VMREAD).
	 */
	struct vcpu_snapshot {
		uint64_t rip, rsp, rflags, cr0, cr3, cr4, efer;
	} snap;
	uint64_t vmcs_pa;
	bool launched;
	enum vcpu_stop stop;
	long exit_code;
	char stop_reason[256];
	unsigned last_exit_reason;
	uint64_t last_exit_qual;
	/* Guest serial output, printed a line at a time with the guest's name (vmx/console.c). */
	char line[120];
	unsigned line_len;
	struct uart16550 uart;    /* its COM1 registers (vmx/uart.c) */
	struct exc_chain exc;     /* the exceptions of the last delivery (vmx/exception.c) */
	struct vcpu_unswitched unswitched; /* x87/SSE and CR2 between runs (vmx/unswitched.c) */
	/* Watchdog: preemption-timer slices and exits allowed before the guest is stopped. */
	uint32_t timer_value;
	uint64_t timer_slices_left;
	uint64_t exits_left;
	/* The guest's registered vCPU-info area (HC_VCPU_INFO), through a gpc. */
	struct gpc info;
	uint32_t info_version;
	uint64_t info_updates, info_skipped;
};

/* Guest entry state (guest/ABI.md). */
struct vcpu_entry {
	uint64_t rip, rsp, cr3;
	uint64_t rdi, rsi, rdx;
};

int vcpu_create(struct vcpu *v, struct vm *vm, struct vmx_cpu *cpu,
		const struct vcpu_entry *entry, char *err, size_t errlen);
/* Run until the guest stops; returns v->stop. */
enum vcpu_stop vcpu_run(struct vcpu *v);
void vcpu_destroy(struct vcpu *v);
/* After STOP_YIELD or STOP_MEMORY_FAULT: run on. Returns false for other stops. */
bool vcpu_resume(struct vcpu *v);
const char *vcpu_stop_name(enum vcpu_stop s);

/* vmx/exits.c: handle one exit; false stops the vCPU (reason filled in). */
bool vcpu_handle_exit(struct vcpu *v, unsigned reason);
void vcpu_stop(struct vcpu *v, enum vcpu_stop why, const char *fmt, ...) __printf(3, 4);
/* Print the guest's pending serial output as one "guest[name]: ..." line. */
void vcpu_flush_console(struct vcpu *v);

/* vmx/run.asm: enter the guest; 0 after a VM exit, 1 if the entry instruction failed. */
int vmx_run(struct vcpu_regs *regs, int launched);
void vmx_exit_entry(void);

#endif
