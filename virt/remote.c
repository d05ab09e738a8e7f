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
 */
#include "virt/vcpu.h"
#include "ept/vm.h"
#include "lib/lib.h"
#include "arch/x86/arch.h"

void vcpu_enter_guest_mode(struct vcpu *v)
{
	/*
	 * A call-function IPI (a host TLB shootdown waits for it) is run here
	 * too, not only when it causes an external-interrupt exit: Bochs 2.7
	 * lets a guest whose every instruction faults into EPT run on without
	 * ever taking the pending interrupt's exit.
	 */
	smp_poll_calls();
	__atomic_store_n(&v->mode, VCPU_IN_GUEST, __ATOMIC_SEQ_CST);
	uint64_t gen = __atomic_load_n(&v->vm->tlb_gen, __ATOMIC_SEQ_CST);

	if (gen != v->tlb_gen) {
		v->tlb_gen = gen;
		v->local_flushes++;
		v->be->flush_local(v);
	}
}

void vcpu_exit_guest_mode(struct vcpu *v)
{
	__atomic_add_fetch(&v->entries, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&v->mode, VCPU_OUTSIDE_GUEST, __ATOMIC_RELEASE);
}

void vcpu_flush_vm(struct vm *vm)
{
	unsigned self = cpu_id(), n = __atomic_load_n(&vm->nr_vcpus, __ATOMIC_ACQUIRE);

	__atomic_add_fetch(&vm->tlb_gen, 1, __ATOMIC_SEQ_CST);
	for (unsigned i = 0; i < n; i++) {
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
