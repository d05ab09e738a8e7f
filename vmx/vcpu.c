/*
 * The VMX backend of a vCPU: its VMCS (set up by vmx/vmcs_setup.c), the run
 * loop that enters the guest and hands each exit to vmx/exits.c, and
 * teardown. What all backends share is in virt/vcpu.c.
 */
#include "vmx/vcpu.h"
#include "vmx/exits.h"
#include "vmx/vmcs_setup.h"
#include "vmx/vmcs.h"
#include "vmx/vmx.h"
#include "ept/vm.h"
#include "mm/mm.h"
#include "lib/lib.h"
#include "arch/x86/arch.h"
#include "guest/hypercall.h"

static int vmx_vcpu_create(struct vcpu *v, const struct vcpu_entry *entry, char *err,
			   size_t errlen)
{
	if (!this_cpu.on) {
		ksnprintf(err, errlen, "VMX is not on");
		return -EINVAL;
	}
	if (frame_alloc(&phys_frames, FRAME_ORDER_4K, &v->hw.pa)) {
		ksnprintf(err, errlen, "no memory for the VMCS");
		return -ENOMEM;
	}
	memset(phys_to_virt(v->hw.pa), 0, PAGE_SIZE);
	*(uint32_t *)phys_to_virt(v->hw.pa) = VMX_BASIC_REVISION(this_cpu.caps.basic);
	if (vmclear(v->hw.pa) || vmptrld(v->hw.pa)) {
		ksnprintf(err, errlen, "VMCLEAR/VMPTRLD of the new VMCS failed");
		frame_free(&phys_frames, v->hw.pa, FRAME_ORDER_4K);
		v->hw.pa = 0;
		return -EIO;
	}
	int r = vmcs_setup_controls(v, err, errlen);
	if (!r) {
		vmcs_setup_host_state(v);
		r = vmcs_setup_guest_state(v, entry, err, errlen);
	}
	if (r) {
		if (v->hw.msr_pa)
			frame_free(&phys_frames, v->hw.msr_pa, FRAME_ORDER_4K);
		v->hw.msr_pa = 0;
		vmclear(v->hw.pa);
		frame_free(&phys_frames, v->hw.pa, FRAME_ORDER_4K);
		v->hw.pa = 0;
		return r;
	}
	if (entry->mode == VCPU_ENTRY_PROT32) { /* Multiboot 1: the magic and the info's address */
		v->regs.rax = (uint32_t)entry->rax;
		v->regs.rbx = (uint32_t)entry->rbx;
	}
	return 0;
}

/*
 * INIT then SIPI (virt/vcpu.h): the guest state of @e in the same VMCS.
 * Its launch state stays "launched" (no VMCLEAR): VMRESUME enters whatever
 * the VMCS holds, so the next entry needs nothing else. An event still to
 * be injected (a requeued exception) would be delivered into the new
 * state: it goes. The general registers are those vcpu_create() gives.
 */
static int vmx_vcpu_reset(struct vcpu *v, const struct vcpu_entry *e, char *err, size_t errlen)
{
	int r = vmx_entry_mode_ok(v, e->mode, err, errlen);

	if (r)
		return r;
	if (vmptrld(v->hw.pa)) { /* another vCPU's VMCS may have been current here since */
		ksnprintf(err, errlen, "VMPTRLD of the VMCS failed");
		return -EIO;
	}
	if (v->vm->shadow)
		vcpu_shadow_destroy(v); /* its root is the old CR3's */
	r = vmcs_setup_guest_state(v, e, err, errlen);
	if (!r && v->vm->shadow)
		r = vcpu_shadow_init(v, e, err, errlen);
	if (r)
		return r;
	vmcs_write32(VM_ENTRY_INTR_INFO_FIELD, 0);
	memset(&v->regs, 0, sizeof(v->regs));
	v->regs.rdi = e->rdi;
	v->regs.rsi = e->rsi;
	v->regs.rdx = e->rdx;
	if (e->mode == VCPU_ENTRY_PROT32) {
		v->regs.rax = (uint32_t)e->rax;
		v->regs.rbx = (uint32_t)e->rbx;
	}
	return 0;
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
	/* Under shadow paging GUEST_CR3 holds the shadow root: show the guest's own. */
	s->cr3 = v->vm->shadow ? v->sh.cr3 : vmcs_readl(GUEST_CR3);
	s->cr4 = (vmcs_readl(GUEST_CR4) & ~m4) | (vmcs_readl(CR4_READ_SHADOW) & m4);
	s->efer = vmx_get_msr(v, MSR_EFER);
}

/*
 * Without the VMX-preemption timer (Core 2: Penryn has none) the watchdog
 * counts slices of the local APIC timer instead, as SVM does (svm/vcpu.c);
 * the slice is set in vmx/vmcs_setup.c.
 */

static enum vcpu_stop vmx_vcpu_run(struct vcpu *v)
{
	struct vm *vm = v->vm; /* in a register across the loop: one load less per exit */
	bool lapic_watchdog = v->hw.lapic_watchdog;
	struct vcpu_watchdog wd;

	if (vmptrld(v->hw.pa)) {
		vcpu_stop(v, STOP_ENTRY_FAIL, "VMPTRLD failed");
		return v->stop;
	}
	vcpu_unswitched_load(&v->unswitched); /* stays in the CPU across exits */
	if (v->pc)
		vmx_load_syscall_msrs(v);
	if (lapic_watchdog)
		lapic_timer_periodic(v->hw.timer_value);
	vcpu_watchdog_start(v, &wd);
	while (v->stop == STOP_NONE) {
		if (vm->bugged) {
			vcpu_stop(v, STOP_BUGGED, "VM is bugged: %s", vm->bug_reason);
			break;
		}
		if (v->pc && !pc_before_entry(v)) /* a PC guest's interrupts (virt/pc.c) */
			break;
reenter:
		vcpu_enter_guest_mode(v);
		bool failed = vmx_run(&v->regs, v->hw.launched);
		vcpu_exit_guest_mode(v);
		if (failed) {
			unsigned err = vmcs_read32(VM_INSTRUCTION_ERROR);

			vcpu_stop(v, STOP_ENTRY_FAIL, "%s failed: VM-instruction error %u (%s)",
				  v->hw.launched ? "VMRESUME" : "VMLAUNCH", err,
				  vm_instruction_error_name(err));
			break;
		}
		v->hw.launched = true;
		uint32_t reason = vmcs_read32(VM_EXIT_REASON);
		/* The fast path (virt/fastpath.h): CPUID, then straight back in. */
		if (reason == EXIT_REASON_CPUID && vcpu_fast_cpuid(v, CPUID_1_ECX_VMX, 0)) {
			v->last_exit_reason = reason;
			v->last_exit_qual = 0; /* CPUID has none */
			vmcs_skip_instruction();
			/*
			 * It stopped nothing, and a PC guest never takes this path:
			 * only a VM bugged meanwhile sends it round the loop (as SVM's).
			 */
			if (likely(!READ_ONCE(vm->bugged)))
				goto reenter;
			continue;
		}
		/* And a second-level fault, straight to its handler (no kind, no dispatch). */
		if (reason == EXIT_REASON_EPT_VIOLATION && vcpu_fast_account(v, VEXIT_TDP_FAULT)) {
			uint64_t qual = vmcs_readl(EXIT_QUALIFICATION);

			v->last_exit_reason = reason;
			v->last_exit_qual = qual;
			vmx_handle_ept_violation(v, qual);
			/* No PC guest comes here (exits_slow): no interrupts to look at. */
			if (likely(v->stop == STOP_NONE && !READ_ONCE(vm->bugged)))
				goto reenter;
			continue;
		}
		/*
		 * A host interrupt (a kick, a call-function IPI) caused the exit and
		 * is still pending: "acknowledge interrupt on exit" is off. Take it
		 * now, or the next entry exits again at once.
		 */
		if ((reason & 0xffff) == EXIT_REASON_EXTERNAL_INTERRUPT)
			__asm__ __volatile__("sti; nop; cli" ::: "memory");
		v->last_exit_reason = reason;
		v->last_exit_qual = vmcs_readl(EXIT_QUALIFICATION);
		if (reason & EXIT_REASON_FAILED_ENTRY) {
			v->stats.exits_total++;
			vcpu_stop(v, STOP_ENTRY_FAIL,
				  "VM entry failed: exit reason %u (%s), qualification %#llx",
				  reason & 0xffff, exit_reason_name(reason),
				  (unsigned long long)v->last_exit_qual);
			break;
		}
		enum vcpu_exit_kind kind = vmx_exit_kind(reason & 0xffff);
		if (lapic_watchdog)
			kind = vcpu_watchdog_kind(&wd, kind);
		if (!vcpu_account_exit(v, reason & 0xffff, kind))
			break;
		vcpu_handle_exit(v, reason & 0xffff);
		if (kind == VEXIT_TIMER && lapic_watchdog && v->stop == STOP_NONE)
			vcpu_watchdog_tick(v, &wd);
	}
	if (lapic_watchdog)
		lapic_timer_periodic(0);
	vcpu_unswitched_save(&v->unswitched);
	vcpu_stopped(v);
	vcpu_save_snapshot(v);
	return v->stop;
}

static void vmx_vcpu_destroy(struct vcpu *v)
{
	if (v->hw.msr_pa)
		frame_free(&phys_frames, v->hw.msr_pa, FRAME_ORDER_4K);
	vmclear(v->hw.pa);
	frame_free(&phys_frames, v->hw.pa, FRAME_ORDER_4K);
}

const struct vcpu_backend vmx_backend = {
	.name = "VMX",
	.tdp_name = "EPT",
	.exit_name = exit_reason_name,
	.create = vmx_vcpu_create,
	.run = vmx_vcpu_run,
	.destroy = vmx_vcpu_destroy,
	.skip_instruction = vmx_skip_instruction,
	.flush_local = vmx_flush_local,
	.set_cr = vmx_set_cr,
	.set_rip = vmx_set_rip,
	.rip = vmx_guest_rip,
	.get_msr = vmx_get_msr,
	.set_msr = vmx_set_msr,
	.reset = vmx_vcpu_reset,
	.get_cr = vmx_get_cr,
	.get_rflags = vmx_get_rflags,
	.cs_base = vmx_cs_base,
	.raise = vmx_raise,
	.set_tsc_offset = vmx_set_tsc_offset,
	.irq_ready = vmx_irq_ready,
	.inject_irq = vmx_inject_irq,
	.irq_window = vmx_irq_window,
	.cpuid1_ecx_hide = CPUID_1_ECX_VMX,
};
