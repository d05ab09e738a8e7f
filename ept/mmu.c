/*
 * What the secondary MMU's files share (ept/fault.c, ept/notify.c,
 * ept/vm_memslot.c): marking a VM bugged, and the flush after which dropped
 * EPT table pages may be freed. Pure: host-tested.
 */
#include "ept/vm.h"
#include "lib/lib.h"

void vm_mark_bugged(struct vm *vm, const char *file, int line, const char *why)
{
	if (vm->bugged)
		return;
	vm->bugged = true;
	ksnprintf(vm->bug_reason, sizeof(vm->bug_reason), "%s at %s:%d", why, file, line);
	printk("VM[%s]: bugged: %s; the VM is stopped, the host carries on\n", vm->name,
	       vm->bug_reason);
}

void vm_flush_ept(struct vm *vm)
{
	vm->flush(vm);
	vm_stat_inc(vm, invept);
	/* Only now may EPT table pages dropped since the last flush be reused. */
	pt_free_deferred(&vm->ept);
	if (vm->shadow)
		shadow_free_zapped(vm); /* ... and shadow pages */
}

bool vm_in_invalidation_here(struct vm *vm)
{
	unsigned cpu = cpu_id();

	/* Only this CPU changes its own count: no lock needed to read it. */
	return cpu < LOCKDEP_MAX_CPUS && READ_ONCE(vm->mn_active_cpu[cpu]) != 0;
}
