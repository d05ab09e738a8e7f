/*
 * A vCPU's life: creation (its VMCS set up by vmx/vmcs_setup.c), the run
 * loop that enters the guest and hands each exit to vmx/exits.c, its stops
 * and resumes, and teardown.
 */
#include "vmx/vcpu.h"
#include "vmx/vmcs_setup.h"
#include "vmx/vmcs.h"
#include "vmx/vmx.h"
#include "ept/vm.h"
#include "mm/mm.h"
#include "lib/lib.h"
#include "arch/x86/arch.h"
#include "guest/hypercall.h"

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
	int r = vmcs_setup_controls(v, err, errlen);
	if (r) {
		vmclear(v->vmcs_pa);
		frame_free(&phys_frames, v->vmcs_pa, FRAME_ORDER_4K);
		return r;
	}
	vcpu_unswitched_init(&v->unswitched); /* before the host state: sets CR4.OSFXSR */
	uart_reset(&v->uart);
	vmcs_setup_host_state();
	vmcs_setup_guest_state(entry);
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
