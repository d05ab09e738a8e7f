/*
 * The SVM backend of a vCPU: its VMCB (set up by svm/vmcb.c), the VMRUN
 * loop that hands each #VMEXIT to svm/exits.c, and teardown. What all
 * backends share is in virt/vcpu.c.
 */
#include "svm/svm.h"
#include "svm/svm_defs.h"
#include "svm/vmcb.h"
#include "mm/mm.h"
#include "lib/lib.h"

/*
 * The watchdog's period in local APIC timer clocks: about 4 ms at QEMU's
 * 1 GHz APIC clock, so the default 4096 slices stop a guest that never
 * exits after some 17 s (virt/watchdog.c).
 */
#define SVM_TIMER_SLICE 0x400000u

static int svm_vcpu_create(struct vcpu *v, const struct vcpu_entry *e, char *err,
			   size_t errlen)
{
	if (!svm_this_cpu.on) {
		ksnprintf(err, errlen, "SVM is not on");
		return -EINVAL;
	}
	if (frame_alloc(&phys_frames, FRAME_ORDER_4K, &v->hw.pa)) {
		ksnprintf(err, errlen, "no memory for the VMCB");
		return -ENOMEM;
	}
	if (frame_alloc(&phys_frames, FRAME_ORDER_4K, &v->hw.host_pa)) {
		frame_free(&phys_frames, v->hw.pa, FRAME_ORDER_4K);
		v->hw.pa = 0;
		ksnprintf(err, errlen, "no memory for the host's VMSAVE area");
		return -ENOMEM;
	}
	memset(phys_to_virt(v->hw.host_pa), 0, PAGE_SIZE);
	v->hw.va = phys_to_virt(v->hw.pa);
	vmcb_setup(v, e);
	/* Shadow paging keeps the guest's EFER apart (svm_set_msr()); vcpu_shadow_init() next. */
	v->sh.efer = vmcb_read64(v, VMCB_EFER) & ~EFER_SVME;
	v->hw.timer_value = SVM_TIMER_SLICE;
	return 0;
}

/* Once per stop, not per exit. The VMCB holds CR0/CR4 as the guest sees them. */
static void svm_save_snapshot(struct vcpu *v)
{
	struct vcpu_snapshot *s = &v->snap;

	s->rip = vmcb_read64(v, VMCB_RIP);
	s->rsp = vmcb_read64(v, VMCB_RSP);
	s->rflags = vmcb_read64(v, VMCB_RFLAGS);
	s->cr0 = vmcb_read64(v, VMCB_CR0);
	s->cr3 = vmcb_read64(v, VMCB_CR3);
	s->cr4 = vmcb_read64(v, VMCB_CR4);
	s->efer = svm_get_msr(v, MSR_EFER); /* as the guest reads it */
	if (v->vm->shadow) { /* the CPU runs with the shadow root, WP (and PAE): the guest's */
		s->cr0 = v->sh.cr0;
		s->cr3 = v->sh.cr3;
		s->cr4 = v->sh.cr4;
	}
}

/*
 * Right before VMRUN: an ASID of this CPU's current generation, which no
 * other vCPU has used since the TLB was last flushed of all ASIDs; where a
 * new generation begins, this VMRUN is that flush (svm/asid.h). True if it
 * asked for one.
 */
static bool svm_load_asid(struct vcpu *v, struct svm_cpu *c)
{
	if (likely(v->hw.asid_generation == c->asids.generation))
		return false;
	struct svm_asid a = { v->hw.asid, v->hw.asid_generation };
	bool flush_all = svm_asid_assign(&c->asids, &a);

	v->hw.asid = a.asid;
	v->hw.asid_generation = a.generation;
	vmcb_write32(v, VMCB_ASID, a.asid);
	if (flush_all)
		vmcb_write8(v, VMCB_TLB_CONTROL, TLB_CONTROL_ALL);
	return flush_all;
}

static enum vcpu_stop svm_vcpu_run(struct vcpu *v)
{
	struct vm *vm = v->vm;
	struct svm_cpu *c = &svm_this_cpu; /* the vCPU's own CPU (vcpu_run()) */
	bool nrips = c->caps.nrips; /* else CPUID's length, 2, is known */
	struct vcpu_watchdog wd;

	vcpu_unswitched_load(&v->unswitched); /* stays in the CPU across exits */
	/* The host's hidden state, once: svm_run() loads it back after every VMRUN (svm/run.asm). */
	__asm__ __volatile__("vmsave %%rax" ::"a"(v->hw.host_pa) : "memory");
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
		vmcb_write64(v, VMCB_RAX, v->regs.rax);
		vcpu_enter_guest_mode(v); /* may flush this ASID: svm_load_asid() may widen it */
		bool flush_all = svm_load_asid(v, c);
		svm_run(&v->regs, v->hw.pa, v->hw.host_pa);
		vcpu_exit_guest_mode(v);
		v->regs.rax = vmcb_read64(v, VMCB_RAX);
		vmcb_write8(v, VMCB_TLB_CONTROL, TLB_CONTROL_NONE); /* a flush is done once */
		uint64_t code = vmcb_read64(v, VMCB_EXITCODE);
		/* The fast path (virt/fastpath.h): CPUID, then straight back in. */
		if (code == SVM_EXIT_CPUID && vcpu_fast_cpuid(v, 0, CPUID_81_ECX_SVM)) {
			v->last_exit_reason = SVM_EXIT_CPUID;
			v->last_exit_qual = 0;
			vmcb_write64(v, VMCB_RIP, nrips ? vmcb_read64(v, VMCB_NRIP)
							: vmcb_read64(v, VMCB_RIP) + 2);
			/* It stopped nothing: only a VM bugged meanwhile sends it round the loop. */
			if (likely(!READ_ONCE(vm->bugged)))
				goto reenter;
			continue;
		}
		/* And a nested page fault, straight to its handler (no kind, no dispatch). */
		if (code == SVM_EXIT_NPF) {
			uint64_t info1 = vmcb_read64(v, VMCB_EXITINFO1);

			if (!(info1 & SVM_NPF_RSVD) && vcpu_fast_account(v, VEXIT_TDP_FAULT)) {
				v->last_exit_reason = SVM_EXIT_NPF;
				v->last_exit_qual = info1;
				svm_handle_npf(v, info1);
				/* No PC guest comes here (exits_slow): no interrupts to look at. */
				if (likely(v->stop == STOP_NONE && !READ_ONCE(vm->bugged)))
					goto reenter;
				continue;
			}
		}

		v->last_exit_reason = (unsigned)code;
		v->last_exit_qual = vmcb_read64(v, VMCB_EXITINFO1);
		if (code == SVM_EXIT_INVALID) {
			if (flush_all) /* the failed VMRUN may not have flushed */
				svm_asids_flush_lost(&c->asids);
			v->stats.exits_total++;
			vcpu_stop(v, STOP_ENTRY_FAIL, "VMRUN failed its consistency checks "
				  "(exit code VMEXIT_INVALID, APM vol. 2, 15.5.1)");
			break;
		}
		enum vcpu_exit_kind kind = vcpu_watchdog_kind(&wd, svm_exit_kind(v, code));

		if (!vcpu_account_exit(v, (unsigned)code, kind))
			break;
		if (svm_handle_exit(v, code, kind) && kind == VEXIT_TIMER)
			vcpu_watchdog_tick(v, &wd);
	}
	lapic_timer_periodic(0);
	vcpu_unswitched_save(&v->unswitched);
	vcpu_stopped(v);
	svm_save_snapshot(v);
	return v->stop;
}

static int svm_vcpu_reset(struct vcpu *v, const struct vcpu_entry *e, char *err, size_t errlen)
{
	memset(&v->regs, 0, sizeof(v->regs)); /* INIT clears the GPRs (SDM 3A table 9-1) */
	vmcb_reset_guest(v, e);
	if (!v->vm->shadow)
		return 0;
	/* The guest's control registers and EFER anew, and a root for them (the old one goes). */
	v->sh.efer = vmcb_read64(v, VMCB_EFER) & ~EFER_SVME;
	vcpu_shadow_destroy(v);
	return vcpu_shadow_init(v, e, err, errlen);
}

static void svm_vcpu_destroy(struct vcpu *v)
{
	frame_free(&phys_frames, v->hw.pa, FRAME_ORDER_4K);
	frame_free(&phys_frames, v->hw.host_pa, FRAME_ORDER_4K);
}

const struct vcpu_backend svm_backend = {
	.name = "SVM",
	.tdp_name = "NPT",
	.exit_name = svm_exit_name,
	.create = svm_vcpu_create,
	.run = svm_vcpu_run,
	.destroy = svm_vcpu_destroy,
	.reset = svm_vcpu_reset,
	.get_cr = svm_get_cr,
	.get_rflags = svm_get_rflags,
	.cs_base = svm_cs_base,
	.raise = svm_raise,
	.set_tsc_offset = svm_set_tsc_offset,
	.irq_ready = svm_irq_ready,
	.inject_irq = svm_inject_irq,
	.irq_window = svm_irq_window,
	.skip_instruction = svm_skip_instruction,
	.flush_local = svm_flush_local,
	.set_cr = svm_set_cr,
	.set_rip = svm_set_rip,
	.rip = svm_guest_rip,
	.get_msr = svm_get_msr,
	.set_msr = svm_set_msr,
	.cpuid81_ecx_hide = CPUID_81_ECX_SVM,
};
