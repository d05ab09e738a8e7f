/*
 * A vCPU's life, whichever backend runs it: creation, stops and resumes,
 * the per-exit accounting the run loops share, and teardown. The backend's
 * part (its VMCS or VMCB, entering the guest, decoding exits) is behind
 * struct vcpu_backend.
 */
#include "virt/vcpu.h"
#include "ept/vm.h"
#include "lib/lib.h"
#include "guest/hypercall.h"

static const char *const stop_names[] = {
	[STOP_NONE] = "running", [STOP_EXIT] = "exited", [STOP_HLT] = "halted",
	[STOP_TRIPLE_FAULT] = "triple fault", [STOP_BAD_GPA] = "access outside memory",
	[STOP_READONLY] = "write to read-only memory", [STOP_WATCHDOG] = "watchdog",
	[STOP_BUGGED] = "VM bugged", [STOP_ENTRY_FAIL] = "VM entry failed",
	[STOP_UNHANDLED] = "unhandled exit", [STOP_INIT] = "INIT", [STOP_YIELD] = "yielded",
	[STOP_MEMORY_FAULT] = "memory fault",
};

static const char *const kind_names[] = {
	[VEXIT_OTHER] = "other", [VEXIT_CPUID] = "CPUID", [VEXIT_HLT] = "HLT",
	[VEXIT_HYPERCALL] = "hypercall", [VEXIT_IO] = "port I/O", [VEXIT_MSR] = "MSR",
	[VEXIT_EXCEPTION] = "exception", [VEXIT_TDP_FAULT] = "2nd-level fault",
	[VEXIT_TDP_MISCONFIG] = "2nd-level misconfig", [VEXIT_MONITOR] = "MONITOR",
	[VEXIT_MWAIT] = "MWAIT", [VEXIT_TIMER] = "watchdog timer",
	[VEXIT_INTR] = "host interrupt", [VEXIT_SHUTDOWN] = "shutdown",
	[VEXIT_CR_ACCESS] = "CR access", [VEXIT_INVLPG] = "INVLPG",
};

const char *vcpu_stop_name(enum vcpu_stop s)
{
	return (unsigned)s < ARRAY_SIZE(stop_names) ? stop_names[s] : "?";
}

const char *vcpu_exit_kind_name(enum vcpu_exit_kind k)
{
	return (unsigned)k < ARRAY_SIZE(kind_names) ? kind_names[k] : "?";
}

int vcpu_create(struct vcpu *v, struct vm *vm, const struct vcpu_backend *be,
		const struct vcpu_entry *entry, char *err, size_t errlen)
{
	memset(v, 0, sizeof(*v));
	v->vm = vm;
	v->be = be;
	v->timer_slices_left = 4096;
	v->exits_left = 50ULL * 1000 * 1000;
	vcpu_unswitched_init(&v->unswitched); /* before the host state: sets CR4.OSFXSR */
	uart_reset(&v->uart);
	int r = be->create(v, entry, err, errlen);
	if (r)
		return r;
	if (vm->shadow && (r = vcpu_shadow_init(v, entry, err, errlen))) {
		be->destroy(v);
		return r;
	}
	gpc_init(&v->info, vm);
	v->regs.rdi = entry->rdi;
	v->regs.rsi = entry->rsi;
	v->regs.rdx = entry->rdx;
	v->cpu = cpu_id();
	/* The first entry flushes: a VM gone before may have left this EPTP/ASID cached. */
	v->tlb_gen = ~0ULL;
	/* Last: a flush may look at it from now on (its cpu, mode and entries are set). */
	r = vcpu_register(vm, v);
	if (r) {
		ksnprintf(err, errlen, "VM %s has %u vCPUs already, the most it may have", vm->name,
			  VM_MAX_VCPUS);
		if (vm->shadow)
			vcpu_shadow_destroy(v);
		be->destroy(v);
		v->hw.pa = 0;
		return r;
	}
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
	/* The area may lie over the guest's own page tables: shadow paging must know (hole 15). */
	if (v->vm->shadow)
		vm_guest_written(v->vm, v->info.gpa, sizeof(*vi));
	v->info_updates++;
}

bool vcpu_account_exit(struct vcpu *v, unsigned raw, enum vcpu_exit_kind k)
{
	v->stats.exits_total++;
	v->stats.exits[k]++;
	vcpu_update_info(v, raw);
	if (!v->exits_left--) {
		vcpu_stop(v, STOP_WATCHDOG, "exit budget used up at RIP %#llx",
			  (unsigned long long)v->be->rip(v));
		return false;
	}
	return true;
}

void vcpu_stopped(struct vcpu *v)
{
	/* A last line without '\n' is not lost; a pause (yield) does not split one. */
	if (v->stop != STOP_YIELD && v->stop != STOP_MEMORY_FAULT)
		vcpu_flush_console(v);
}

enum vcpu_stop vcpu_run(struct vcpu *v)
{
	/* Its VMCS/VMCB and its TLB state live on the CPU that created it. */
	if (v->cpu != cpu_id()) {
		vcpu_stop(v, STOP_ENTRY_FAIL, "vCPU %u of %s belongs to CPU %u, not CPU %u",
			  v->index, v->vm->name, v->cpu, cpu_id());
		return v->stop;
	}
	/* For gdb's hv-vcpu (scripts/gdb/guest.py): the VMCB is live, the snapshot stale. */
	WRITE_ONCE(v->in_run, true);
	enum vcpu_stop stop = v->be->run(v);
	WRITE_ONCE(v->in_run, false);
	return stop;
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
	if (!v->hw.pa)
		return;
	vcpu_flush_console(v); /* destroyed while paused mid-line */
	gpc_deactivate(&v->info);
	/* Before its parts go: once this returns, no flush looks at it (virt/remote.c). */
	vcpu_unregister(v);
	if (v->vm->shadow)
		vcpu_shadow_destroy(v);
	v->be->destroy(v);
	v->hw.pa = 0;
}
