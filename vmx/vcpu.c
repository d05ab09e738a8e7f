/*
 * VMCS set-up for a 64-bit guest and the run loop. Every control is computed
 * from the capability MSRs (the TRUE_* ones when IA32_VMX_BASIC[55] says they
 * exist): bits the CPU requires are forced on, optional ones are requested
 * only where allowed, and a missing required feature refuses with its name.
 */
#include "vcpu.h"
#include "bug.h"
#include "cpu.h"
#include "desc.h"
#include "ept_fmt.h"
#include "hal.h"
#include "hypercall.h"
#include "hostpt.h"
#include "kerrno.h"
#include "kstring.h"
#include "msr.h"
#include "printk.h"
#include "vm.h"
#include "vmcs.h"
#include "vmx.h"

/*
 * Guest CR0: PE | MP | ET | NE | PG (EM and TS clear: x87 and SSE run without
 * #NM); CR4: PAE | OSFXSR | OSXMMEXCPT, so compiled C that uses SSE runs
 * (+ VMXE, which VMX operation requires, hidden by the read shadow).
 * Values in guest/ABI.md.
 */
#define GUEST_CR0_BITS (X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE | X86_CR0_PG)
#define GUEST_CR4_BITS (X86_CR4_PAE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT)
#define GUEST_RFLAGS_FIXED 0x2
#define GUEST_DR7_DEFAULT 0x400
/* Each watchdog slice lasts this many preemption-timer ticks (TSC >> MISC[4:0]). */
#define TIMER_SLICE 0x100000u

static const char *const stop_names[] = {
	[STOP_NONE] = "running", [STOP_EXIT] = "exited", [STOP_HLT] = "halted",
	[STOP_TRIPLE_FAULT] = "triple fault", [STOP_BAD_GPA] = "access outside memory",
	[STOP_READONLY] = "write to read-only memory", [STOP_WATCHDOG] = "watchdog",
	[STOP_BUGGED] = "VM bugged", [STOP_ENTRY_FAIL] = "VM entry failed",
	[STOP_UNHANDLED] = "unhandled exit", [STOP_YIELD] = "yielded",
	[STOP_MEMORY_FAULT] = "memory fault",
};

const char *vcpu_stop_name(enum vcpu_stop s)
{
	return (unsigned)s < ARRAY_SIZE(stop_names) ? stop_names[s] : "?";
}

/*
 * Apply a capability MSR to a control: allowed-0 settings (low half) are
 * forced to 1, allowed-1 settings (high half) bound what may be 1. Fails if
 * a @required bit is not allowed.
 */
static int adjust_controls(uint32_t want, uint32_t required, uint32_t msr, const char *what,
			   uint32_t *out, char *err, size_t errlen)
{
	uint64_t cap = rdmsr(msr);
	uint32_t must = (uint32_t)cap, may = (uint32_t)(cap >> 32);

	if ((required & may) != required) {
		ksnprintf(err, errlen, "%s: required bits %#x not supported (allowed-1 %#x)", what,
			  required & ~may, may);
		return -EOPNOTSUPP;
	}
	*out = ((want | required) & may) | must;
	return 0;
}

static int setup_controls(struct vcpu *v, char *err, size_t errlen)
{
	const struct vmx_caps *c = &v->cpu->caps;
	bool true_ctls = c->basic & VMX_BASIC_TRUE_CTLS;
	uint32_t pin, cpu, cpu2, exit, entry;
	int r;

	if (!c->ept) {
		ksnprintf(err, errlen, "EPT is not supported (IA32_VMX_PROCBASED_CTLS2 bit 1)");
		return -EOPNOTSUPP;
	}
	r = adjust_controls(PIN_NMI_EXITING | PIN_EXT_INTR_EXITING | PIN_PREEMPTION_TIMER, 0,
			    true_ctls ? MSR_IA32_VMX_TRUE_PINBASED_CTLS : MSR_IA32_VMX_PINBASED_CTLS,
			    "pin-based controls", &pin, err, errlen);
	if (!r)
		/*
		 * MWAIT could park the CPU in a deep C-state where the preemption
		 * timer stops and no interrupt ever comes: both must exit.
		 */
		r = adjust_controls(CPU_HLT_EXITING | CPU_UNCOND_IO_EXITING,
				    CPU_SECONDARY_CONTROLS | CPU_MWAIT_EXITING | CPU_MONITOR_EXITING,
				    true_ctls ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS
					      : MSR_IA32_VMX_PROCBASED_CTLS,
				    "processor-based controls", &cpu, err, errlen);
	/* CR3 accesses need no exits with EPT: clear them where the CPU lets us. */
	cpu &= ~((CPU_CR3_LOAD_EXITING | CPU_CR3_STORE_EXITING) &
		 ~(uint32_t)rdmsr(true_ctls ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS
					    : MSR_IA32_VMX_PROCBASED_CTLS));
	if (!r)
		r = adjust_controls(c->vpid ? CPU2_ENABLE_VPID : 0, CPU2_ENABLE_EPT,
				    MSR_IA32_VMX_PROCBASED_CTLS2, "secondary controls", &cpu2, err,
				    errlen);
	if (!r)
		r = adjust_controls(EXIT_SAVE_EFER, EXIT_HOST_ADDR_SPACE_SIZE | EXIT_LOAD_EFER,
				    true_ctls ? MSR_IA32_VMX_TRUE_EXIT_CTLS : MSR_IA32_VMX_EXIT_CTLS,
				    "VM-exit controls", &exit, err, errlen);
	if (!r)
		r = adjust_controls(0, ENTRY_IA32E_MODE | ENTRY_LOAD_EFER,
				    true_ctls ? MSR_IA32_VMX_TRUE_ENTRY_CTLS
					      : MSR_IA32_VMX_ENTRY_CTLS,
				    "VM-entry controls", &entry, err, errlen);
	if (r)
		return r;

	vmcs_write32(PIN_BASED_VM_EXEC_CONTROL, pin);
	vmcs_write32(CPU_BASED_VM_EXEC_CONTROL, cpu);
	vmcs_write32(SECONDARY_VM_EXEC_CONTROL, cpu2);
	vmcs_write32(VM_EXIT_CONTROLS, exit);
	vmcs_write32(VM_ENTRY_CONTROLS, entry);
	vcpu_exc_setup(); /* guest exceptions are recorded, then re-delivered */
	vmcs_write32(CR3_TARGET_COUNT, 0);
	vmcs_write32(VM_EXIT_MSR_STORE_COUNT, 0);
	vmcs_write32(VM_EXIT_MSR_LOAD_COUNT, 0);
	vmcs_write32(VM_ENTRY_MSR_LOAD_COUNT, 0);
	vmcs_write32(VM_ENTRY_INTR_INFO_FIELD, 0);
	vmcs_write64(EPT_POINTER, v->vm->eptp);
	if (cpu2 & CPU2_ENABLE_VPID)
		vmcs_write16(VIRTUAL_PROCESSOR_ID, v->vm->id + 1); /* 0 is the host's */
	/* The guest owns CR0/CR4 except VMXE, which it reads as clear. */
	vmcs_writel(CR0_GUEST_HOST_MASK, 0);
	vmcs_writel(CR4_GUEST_HOST_MASK, X86_CR4_VMXE);
	vmcs_writel(CR4_READ_SHADOW, GUEST_CR4_BITS);
	vmcs_writel(CR0_READ_SHADOW, GUEST_CR0_BITS);
	if (pin & PIN_PREEMPTION_TIMER) {
		/*
		 * Written once: without the "save VMX-preemption timer value" exit
		 * control the field keeps this value, so every entry starts a full
		 * slice with no VMWRITE on the exit path (make bench).
		 */
		v->timer_value = TIMER_SLICE;
		vmcs_write32(VMX_PREEMPTION_TIMER_VALUE, v->timer_value);
	}
	return 0;
}

static void setup_host_state(void)
{
	vmcs_writel(HOST_CR0, read_cr0());
	vmcs_writel(HOST_CR3, read_cr3());
	vmcs_writel(HOST_CR4, read_cr4());
	vmcs_write16(HOST_CS_SELECTOR, GDT_KERNEL_CS);
	vmcs_write16(HOST_SS_SELECTOR, GDT_KERNEL_DS);
	vmcs_write16(HOST_DS_SELECTOR, GDT_KERNEL_DS);
	vmcs_write16(HOST_ES_SELECTOR, GDT_KERNEL_DS);
	vmcs_write16(HOST_FS_SELECTOR, 0);
	vmcs_write16(HOST_GS_SELECTOR, 0);
	vmcs_write16(HOST_TR_SELECTOR, GDT_TSS);
	vmcs_writel(HOST_FS_BASE, 0);
	vmcs_writel(HOST_GS_BASE, 0);
	vmcs_writel(HOST_TR_BASE, tss_base());
	vmcs_writel(HOST_GDTR_BASE, gdt_base());
	vmcs_writel(HOST_IDTR_BASE, idt_base());
	vmcs_write32(HOST_IA32_SYSENTER_CS, 0);
	vmcs_writel(HOST_IA32_SYSENTER_ESP, 0);
	vmcs_writel(HOST_IA32_SYSENTER_EIP, 0);
	vmcs_write64(HOST_IA32_EFER, rdmsr(MSR_EFER));
	vmcs_writel(HOST_RIP, (uint64_t)vmx_exit_entry);
}

static void setup_guest_state(const struct vcpu_entry *e)
{
	uint64_t cr0 = (GUEST_CR0_BITS | rdmsr(MSR_IA32_VMX_CR0_FIXED0)) & rdmsr(MSR_IA32_VMX_CR0_FIXED1);
	uint64_t cr4 = (GUEST_CR4_BITS | rdmsr(MSR_IA32_VMX_CR4_FIXED0)) & rdmsr(MSR_IA32_VMX_CR4_FIXED1);

	vmcs_writel(GUEST_CR0, cr0);
	vmcs_writel(GUEST_CR3, e->cr3);
	vmcs_writel(GUEST_CR4, cr4);
	vmcs_write64(GUEST_IA32_EFER, EFER_LME | EFER_LMA);

	vmcs_write16(GUEST_CS_SELECTOR, GDT_KERNEL_CS);
	vmcs_writel(GUEST_CS_BASE, 0);
	vmcs_write32(GUEST_CS_LIMIT, 0xffffffff);
	vmcs_write32(GUEST_CS_AR_BYTES, AR_CODE64);
#define DATA_SEG(S)                                              \
	vmcs_write16(GUEST_##S##_SELECTOR, GDT_KERNEL_DS);       \
	vmcs_writel(GUEST_##S##_BASE, 0);                        \
	vmcs_write32(GUEST_##S##_LIMIT, 0xffffffff);             \
	vmcs_write32(GUEST_##S##_AR_BYTES, AR_DATA)
	DATA_SEG(SS);
	DATA_SEG(DS);
	DATA_SEG(ES);
	DATA_SEG(FS);
	DATA_SEG(GS);
#undef DATA_SEG
	/* A busy 64-bit TSS is required for entry; the guest never switches tasks. */
	vmcs_write16(GUEST_TR_SELECTOR, GDT_TSS);
	vmcs_writel(GUEST_TR_BASE, 0);
	vmcs_write32(GUEST_TR_LIMIT, sizeof(struct tss64) - 1);
	vmcs_write32(GUEST_TR_AR_BYTES, AR_TSS64_BUSY);
	vmcs_write16(GUEST_LDTR_SELECTOR, 0);
	vmcs_writel(GUEST_LDTR_BASE, 0);
	vmcs_write32(GUEST_LDTR_LIMIT, 0);
	vmcs_write32(GUEST_LDTR_AR_BYTES, AR_UNUSABLE);
	/* No IDT: any guest exception escalates to a triple fault, which exits. */
	vmcs_writel(GUEST_GDTR_BASE, 0);
	vmcs_write32(GUEST_GDTR_LIMIT, 0);
	vmcs_writel(GUEST_IDTR_BASE, 0);
	vmcs_write32(GUEST_IDTR_LIMIT, 0);

	vmcs_writel(GUEST_RIP, e->rip);
	vmcs_writel(GUEST_RSP, e->rsp);
	vmcs_writel(GUEST_RFLAGS, GUEST_RFLAGS_FIXED);
	vmcs_writel(GUEST_DR7, GUEST_DR7_DEFAULT);
	vmcs_writel(GUEST_PENDING_DBG_EXCEPTIONS, 0);
	vmcs_write32(GUEST_INTERRUPTIBILITY_INFO, 0);
	vmcs_write32(GUEST_ACTIVITY_STATE, 0);
	vmcs_write32(GUEST_SYSENTER_CS, 0);
	vmcs_writel(GUEST_SYSENTER_ESP, 0);
	vmcs_writel(GUEST_SYSENTER_EIP, 0);
	vmcs_write64(VMCS_LINK_POINTER, ~0ULL);
	/* Loaded on entry when "load debug controls" is forced on (no TRUE controls). */
	vmcs_write64(GUEST_IA32_DEBUGCTL, 0);
}

int vcpu_create(struct vcpu *v, struct vm *vm, struct vmx_cpu *cpu,
		const struct vcpu_entry *entry, char *err, size_t errlen)
{
	memset(v, 0, sizeof(*v));
	v->vm = vm;
	v->cpu = cpu;
	v->timer_slices_left = 4096;
	v->exits_left = 50ULL * 1000 * 1000;
	if (!cpu->on) {
		ksnprintf(err, errlen, "VMX is not on");
		return -EINVAL;
	}
	if (frame_alloc(&phys_frames, FRAME_ORDER_4K, &v->vmcs_pa)) {
		ksnprintf(err, errlen, "no memory for the VMCS");
		return -ENOMEM;
	}
	memset(phys_to_virt(v->vmcs_pa), 0, PAGE_SIZE);
	*(uint32_t *)phys_to_virt(v->vmcs_pa) = VMX_BASIC_REVISION(cpu->caps.basic);
	if (vmclear(v->vmcs_pa) || vmptrld(v->vmcs_pa)) {
		ksnprintf(err, errlen, "VMCLEAR/VMPTRLD of the new VMCS failed");
		frame_free(&phys_frames, v->vmcs_pa, FRAME_ORDER_4K);
		return -EIO;
	}
	int r = setup_controls(v, err, errlen);
	if (r) {
		vmclear(v->vmcs_pa);
		frame_free(&phys_frames, v->vmcs_pa, FRAME_ORDER_4K);
		return r;
	}
	vcpu_unswitched_init(&v->unswitched); /* before setup_host_state(): sets CR4.OSFXSR */
	uart_reset(&v->uart);
	setup_host_state();
	setup_guest_state(entry);
	gpc_init(&v->info, vm);
	v->regs.rdi = entry->rdi;
	v->regs.rsi = entry->rsi;
	v->regs.rdx = entry->rdx;
	vm->vcpu = v;
	return 0;
}

void vcpu_stop(struct vcpu *v, enum vcpu_stop why, const char *fmt, ...)
{
	va_list ap;

	v->stop = why;
	va_start(ap, fmt);
	kvsnprintf(v->stop_reason, sizeof(v->stop_reason), fmt, ap);
	va_end(ap);
}

/*
 * Write the registered vCPU-info area through its gfn-to-pfn cache. When the
 * host does not map the page (the cache cannot be refreshed), the update is
 * skipped and counted; it resumes once the page is mapped again.
 */
static void vcpu_update_info(struct vcpu *v, unsigned reason)
{
	struct hc_vcpu_info *vi;

	if (!v->info.active)
		return;
	if (gpc_lock(&v->info, sizeof(*vi), (void **)&vi)) {
		v->info_skipped++;
		return;
	}
	WRITE_ONCE(vi->version, ++v->info_version); /* odd: update in progress */
	barrier();
	vi->exits = v->stats.exits_total;
	vi->last_exit_reason = reason;
	barrier();
	WRITE_ONCE(vi->version, ++v->info_version); /* even: done */
	gpc_unlock(&v->info);
	v->info_updates++;
}

/* Once per stop, not per exit: the exit path stays short (make bench). */
static void vcpu_save_snapshot(struct vcpu *v)
{
	struct vcpu_snapshot *s = &v->snap;

	s->rip = vmcs_readl(GUEST_RIP);
	s->rsp = vmcs_readl(GUEST_RSP);
	s->rflags = vmcs_readl(GUEST_RFLAGS);
	/* CR0/CR4 as the guest reads them: host-owned bits come from the read shadow. */
	uint64_t m0 = vmcs_readl(CR0_GUEST_HOST_MASK), m4 = vmcs_readl(CR4_GUEST_HOST_MASK);
	s->cr0 = (vmcs_readl(GUEST_CR0) & ~m0) | (vmcs_readl(CR0_READ_SHADOW) & m0);
	s->cr3 = vmcs_readl(GUEST_CR3);
	s->cr4 = (vmcs_readl(GUEST_CR4) & ~m4) | (vmcs_readl(CR4_READ_SHADOW) & m4);
	s->efer = vmcs_read64(GUEST_IA32_EFER);
}

enum vcpu_stop vcpu_run(struct vcpu *v)
{
	struct vm *vm = v->vm; /* in a register across the loop: one load less per exit */

	if (vmptrld(v->vmcs_pa)) {
		vcpu_stop(v, STOP_ENTRY_FAIL, "VMPTRLD failed");
		return v->stop;
	}
	vcpu_unswitched_load(&v->unswitched); /* stays in the CPU across exits */
	while (v->stop == STOP_NONE) {
		if (vm->bugged) {
			vcpu_stop(v, STOP_BUGGED, "VM is bugged: %s", vm->bug_reason);
			break;
		}
		if (vmx_run(&v->regs, v->launched)) {
			unsigned err = vmcs_read32(VM_INSTRUCTION_ERROR);

			vcpu_stop(v, STOP_ENTRY_FAIL, "%s failed: VM-instruction error %u (%s)",
				  v->launched ? "VMRESUME" : "VMLAUNCH", err,
				  vm_instruction_error_name(err));
			break;
		}
		v->launched = true;
		uint32_t reason = vmcs_read32(VM_EXIT_REASON);
		v->last_exit_reason = reason;
		v->last_exit_qual = vmcs_readl(EXIT_QUALIFICATION);
		struct vcpu_stats *st = &v->stats;
		st->exits_total++;
		if ((reason & 0xffff) < EXIT_REASON_MAX)
			st->exits[reason & 0xffff]++;
		if (reason & EXIT_REASON_FAILED_ENTRY) {
			vcpu_stop(v, STOP_ENTRY_FAIL,
				  "VM entry failed: exit reason %u (%s), qualification %#llx",
				  reason & 0xffff, exit_reason_name(reason),
				  (unsigned long long)v->last_exit_qual);
			break;
		}
		vcpu_update_info(v, reason & 0xffff);
		if (!v->exits_left--) {
			vcpu_stop(v, STOP_WATCHDOG, "exit budget used up at RIP %#lx",
				  vmcs_readl(GUEST_RIP));
			break;
		}
		vcpu_handle_exit(v, reason & 0xffff);
	}
	vcpu_unswitched_save(&v->unswitched);
	/* A last line without '\n' is not lost; a pause (yield) does not split one. */
	if (v->line_len && v->stop != STOP_YIELD && v->stop != STOP_MEMORY_FAULT)
		vcpu_flush_console(v);
	vcpu_save_snapshot(v);
	return v->stop;
}

bool vcpu_resume(struct vcpu *v)
{
	if (v->stop != STOP_YIELD && v->stop != STOP_MEMORY_FAULT)
		return false;
	v->stop = STOP_NONE;
	v->stop_reason[0] = '\0';
	return true;
}

void vcpu_destroy(struct vcpu *v)
{
	if (!v->vmcs_pa)
		return;
	if (v->line_len)
		vcpu_flush_console(v); /* destroyed while paused mid-line */
	gpc_deactivate(&v->info);
	/* vm->vcpu stays: the registers remain readable until the VM itself goes. */
	vmclear(v->vmcs_pa);
	frame_free(&phys_frames, v->vmcs_pa, FRAME_ORDER_4K);
	v->vmcs_pa = 0;
}
