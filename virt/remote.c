/*
 * Remote flushes of a VM's second-level translations, as KVM's
 * kvm_flush_remote_tlbs() / kvm_make_all_cpus_request(): the flush is a
 * request (vm->tlb_gen) that each vCPU honours before its next entry, and a
 * vCPU in guest mode on another CPU right now is kicked out by an IPI and
 * waited for. So when vcpu_flush_vm() returns, no CPU runs the guest on the
 * old translations, and EPT/NPT table pages dropped before it may be freed
 * (../shared/DESIGN.md, "Freeing order").
 *
 * Ordering (Dekker's, as KVM's vcpu->mode): the flusher bumps tlb_gen then
 * reads mode; a vCPU sets mode then reads tlb_gen; both with full fences, so
 * at least one sees the other: either the vCPU flushes before entering, or
 * the flusher sees it in guest mode and kicks it.
 *
 * Lifetime: a flush reaches vCPUs only through vm->vcpus[], under
 * vm->vcpus_lock; vcpu_register()/vcpu_unregister() change the array only
 * under the same lock. So a vCPU is never touched by a flush once its
 * unregister returned, and its memory may go then (vcpu_destroy()).
 */
#include "virt/vcpu.h"
#include "ept/vm.h"
#include "lib/lib.h"
#include "arch/x86/arch.h"

/* The first free slot of vm->vcpus[] for @v; vm->vcpus_lock held. */
static int register_locked(struct vm *vm, struct vcpu *v)
{
	lockdep_assert_held(&vm->vcpus_lock);
	for (unsigned i = 0; i < VM_MAX_VCPUS; i++) {
		if (vm->vcpus[i])
			continue;
		v->index = i;
		vm->vcpus[i] = v;
		vm->nr_vcpus++;
		vm->max_vcpus_seen = MAX(vm->max_vcpus_seen, vm->nr_vcpus);
		if (!vm->vcpu)
			vm->vcpu = v;
		return 0;
	}
	return -ENOSPC;
}

/*
 * The vCPU array changes only under vm->vcpus_lock: two CPUs creating
 * vCPUs at once (boot/smp_guest.c starts them on every AP together) would
 * otherwise both take the same slot, and the vCPU that lost it would
 * never be kicked by a flush while the tables it caches are freed.
 */
int vcpu_register(struct vm *vm, struct vcpu *v)
{
	spin_lock(&vm->vcpus_lock);
	int r = register_locked(vm, v);
	spin_unlock(&vm->vcpus_lock);
	return r;
}

/*
 * Under the lock vcpu_flush_vm() holds while it looks at the vCPUs: when
 * this returns, no flush is looking at @v nor will, so @v's memory may be
 * reused.
 */
void vcpu_unregister(struct vcpu *v)
{
	struct vm *vm = v->vm;

	spin_lock(&vm->vcpus_lock);
	if (v->index < VM_MAX_VCPUS && vm->vcpus[v->index] == v) {
		vm->vcpus[v->index] = NULL;
		vm->nr_vcpus--;
	}
	spin_unlock(&vm->vcpus_lock);
}

/* Kick every vCPU in guest mode on another CPU and wait for it to leave; vcpus_lock held. */
static void kick_vcpus_locked(struct vm *vm)
{
	unsigned self = cpu_id();

	lockdep_assert_held(&vm->vcpus_lock);
	for (unsigned i = 0; i < VM_MAX_VCPUS; i++) {
		struct vcpu *v = vm->vcpus[i];

		/* On this CPU no vCPU is in guest mode now: it flushes before entering. */
		if (!v || v->cpu == self)
			continue;
		uint64_t entries = __atomic_load_n(&v->entries, __ATOMIC_ACQUIRE);
		if (__atomic_load_n(&v->mode, __ATOMIC_SEQ_CST) != VCPU_IN_GUEST)
			continue;
		smp_kick(v->cpu);
		vm_stat_inc(vm, remote_kicks);
		/* Left guest mode, or left and came back: either way it saw the request. */
		while (__atomic_load_n(&v->mode, __ATOMIC_ACQUIRE) == VCPU_IN_GUEST &&
		       __atomic_load_n(&v->entries, __ATOMIC_ACQUIRE) == entries)
			hal_cpu_relax();
	}
}

/*
 * The vCPUs are looked at under vm->vcpus_lock, so none is unregistered
 * (and freed) under the flush's feet. Lock order: mmu_lock (and mm->lock)
 * -> vcpus_lock, since invalidations flush under mmu_lock; nothing is
 * taken under vcpus_lock (LOCK_RANK_VCPUS, lib/lockdep.h). The wait for a
 * kicked vCPU holds it: a vCPU leaves guest mode (vcpu_exit_guest_mode())
 * without any lock, and only registration and unregistration, never run
 * by a vCPU in guest mode, wait for the flush.
 */
void vcpu_flush_vm(struct vm *vm)
{
	__atomic_add_fetch(&vm->tlb_gen, 1, __ATOMIC_SEQ_CST);
	spin_lock(&vm->vcpus_lock);
	kick_vcpus_locked(vm);
	spin_unlock(&vm->vcpus_lock);
}
