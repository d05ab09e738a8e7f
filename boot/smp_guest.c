/*
 * Guests with several vCPUs, each on a CPU of its own (boot/loader.h). A
 * vCPU's VMCS or VMCB is created, run and destroyed on that CPU, in its
 * idle loop's work (arch/x86/smp.c), never in an interrupt handler.
 */
#include "boot/loader.h"
#include "lib/lib.h"
#include "arch/x86/arch.h"

/* A write the host write-protected is retried this often before the vCPU gives up. */
#define MEMORY_FAULT_RESUMES 100000

/*
 * A PC guest's AP (boot/run_guest.c): created in wait-for-SIPI state, it
 * enters real mode at each SIPI's vector and runs until the guest is over
 * or it fails; INIT sends it back to wait (SDM 3A, 9.4.4).
 */
static enum vcpu_stop run_ap(struct guest_vcpu *gv)
{
	struct vcpu *v = &gv->vcpu;

	for (;;) {
		int vec;

		while ((vec = pc_take_sipi(v)) < 0) {
			if (__atomic_load_n(&v->pc->over, __ATOMIC_ACQUIRE))
				return STOP_EXIT;
			smp_poll_calls();
			hal_cpu_relax();
		}
		struct vcpu_entry e = { .mode = VCPU_ENTRY_REAL, .rip = (uint64_t)vec << 12 };

		if (v->be->reset(v, &e, gv->why, sizeof(gv->why))) {
			vcpu_stop(v, STOP_ENTRY_FAIL, "%s", gv->why);
			return STOP_ENTRY_FAIL;
		}
		v->stop = STOP_NONE;
		v->stop_reason[0] = '\0';
		enum vcpu_stop s = vcpu_run(v);

		if (s != STOP_INIT)
			return s;
	}
}

static void run_here(void *arg)
{
	struct guest_vcpu *gv = arg;
	struct vcpu *v = &gv->vcpu;
	const struct vcpu_backend *be;
	struct mmu_caps mc;
	struct guest *g = gv->g;
	uint64_t ram = g->vm.slots.slot[0].npages << PAGE_SHIFT;
	struct vcpu_entry e = {
		.rip = GUEST_LOAD, .rsp = ram - gv->index * GUEST_VCPU_STACK, .cr3 = GUEST_PML4,
		.rdi = ram, .rsi = gv->cmd, .rdx = gv->arg,
	};

	if (g->is_pc) /* real mode until its SIPI says where (run_ap()) */
		e = (struct vcpu_entry){ .mode = VCPU_ENTRY_REAL };
	gv->err = hv_backend(&be, &mc, gv->why, sizeof(gv->why));
	if (!gv->err)
		gv->err = vcpu_create(v, &g->vm, be, &e, gv->why, sizeof(gv->why));
	if (!gv->err)
		v->number = gv->index; /* its slot in vm->vcpus[] depends on who registered first */
	if (gv->err) {
		gv->stop = STOP_ENTRY_FAIL;
		__atomic_store_n(&gv->done, true, __ATOMIC_RELEASE);
		return;
	}
	if (g->is_pc) {
		pc_vcpu_init(v, &g->pc, gv->index);
		guest_module_watchdog(v);
		__atomic_store_n(&gv->ready, true, __ATOMIC_RELEASE);
		gv->stop = run_ap(gv);
		if (gv->stop != STOP_EXIT)
			printk("guest[%s] vCPU %u on CPU %u: stopped (%s): %s\n", g->vm.name,
			       gv->index, gv->cpu, vcpu_stop_name(gv->stop), v->stop_reason);
		vcpu_destroy(v);
		__atomic_store_n(&gv->done, true, __ATOMIC_RELEASE);
		return;
	}
	__atomic_store_n(&gv->ready, true, __ATOMIC_RELEASE);
	v->regs.rcx = gv->arg2;
	v->regs.r8 = gv->index;
	v->regs.r9 = gv->count;
	for (;;) {
		gv->stop = vcpu_run(v);
		/* The host restores a page it write-protected: wait for it, then retry. */
		if (gv->stop != STOP_MEMORY_FAULT || ++gv->resumes > MEMORY_FAULT_RESUMES)
			break;
		for (int i = 0; i < 1000; i++)
			hal_cpu_relax();
		vcpu_resume(v);
	}
	if (gv->stop != STOP_EXIT || v->exit_code)
		printk("guest[%s] vCPU %u on CPU %u: stopped (%s), code %#lx: %s\n", g->vm.name,
		       gv->index, gv->cpu, vcpu_stop_name(gv->stop), (unsigned long)v->exit_code,
		       v->stop_reason);
	vcpu_destroy(v);
	__atomic_store_n(&gv->done, true, __ATOMIC_RELEASE);
}

int guest_start_vcpu(struct guest *g, struct guest_vcpu *gv, unsigned index, unsigned count,
		     unsigned cpu, uint64_t cmd, uint64_t arg, uint64_t arg2, char *err,
		     size_t errlen)
{
	*gv = (struct guest_vcpu){ .g = g, .index = index, .count = count, .cpu = cpu,
				   .cmd = cmd, .arg = arg, .arg2 = arg2 };
	if (index >= VM_MAX_VCPUS || index >= count) {
		ksnprintf(err, errlen, "vCPU %u of %u: a VM has at most %u vCPUs", index, count,
			  VM_MAX_VCPUS);
		return -EINVAL;
	}
	if (smp_run_on(cpu, run_here, gv)) {
		ksnprintf(err, errlen, "CPU %u cannot run vCPU %u: it is %s", cpu, index,
			  cpu == cpu_id() ? "this CPU" :
			  !(cpu_online_mask & (1ULL << cpu)) ? "not online" : "busy");
		return -EBUSY;
	}
	return 0;
}

int guest_wait_vcpu_ready(struct guest_vcpu *gv)
{
	while (!__atomic_load_n(&gv->ready, __ATOMIC_ACQUIRE) &&
	       !__atomic_load_n(&gv->done, __ATOMIC_ACQUIRE))
		hal_cpu_relax();
	return gv->err;
}

void guest_wait_vcpu(struct guest_vcpu *gv)
{
	while (!__atomic_load_n(&gv->done, __ATOMIC_ACQUIRE))
		hal_cpu_relax();
	smp_work_wait(gv->cpu);
}
