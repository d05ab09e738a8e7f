/*
 * minihv's own accesses to guest RAM (ept/guest_mem.h says why one path).
 * Pure: host-tested (tests/host/test_guest_mem.c).
 */
#include "ept/guest_mem.h"
#include "ept/shadow.h"
#include "ept/vm.h"
#include "arch/x86/arch.h"

/* Tries per page before the guest is asked to run its instruction again. */
#define GUEST_MEM_TRIES 8

/*
 * One page's piece, mmu_lock held: 0, -EFAULT, or -EAGAIN with *@missing
 * the host address to fault in (0: an invalidation covers the page).
 */
static int copy_page_locked(struct vm *vm, uint64_t gpa, void *buf, uint64_t n, bool write,
			    uint64_t *missing)
{
	uint64_t gfn = gpa >> PAGE_SHIFT;
	struct memslot *s = memslot_find(&vm->slots, gfn);
	struct pt_walk w;

	*missing = 0;
	if (!s || (write && (s->flags & MEMSLOT_READONLY)))
		return -EFAULT;
	if (mmu_invalidate_covers_gfn(&vm->inval, gfn))
		return -EAGAIN;
	uint64_t hva = memslot_gfn_to_hva(s, gfn);
	if (mm_lookup(vm->mm, hva, &w)) {
		*missing = hva;
		return -EAGAIN;
	}
	if (write && !(w.prot & PT_PROT_W))
		return -EFAULT;
	/*
	 * Through the frame, not the host-virtual address: with mmu_lock held
	 * and no invalidation over @gfn, no change can start on it (start()
	 * takes mmu_lock), so this frame is the guest's page until we unlock.
	 */
	char *p = (char *)phys_to_virt(ALIGN_DOWN(w.pa, PAGE_SIZE)) + (gpa & (PAGE_SIZE - 1));
	if (!write) {
		memcpy(buf, p, n);
		return 0;
	}
	memcpy(p, buf, n);
	if (vm->shadow)
		shadow_track_write(vm, gfn, gpa & (PAGE_SIZE - 1), n);
	return 0;
}

static int access_guest(struct vm *vm, uint64_t gpa, void *buf, uint64_t len, bool write)
{
	if (gpa + len < gpa)
		return -EFAULT;
	while (len) {
		uint64_t n = MIN(len, PAGE_SIZE - (gpa & (PAGE_SIZE - 1))), missing;
		int r = -EAGAIN;

		for (int tries = 0; r == -EAGAIN && tries < GUEST_MEM_TRIES; tries++) {
			spin_lock(&vm->mmu_lock);
			r = copy_page_locked(vm, gpa, buf, n, write, &missing);
			spin_unlock(&vm->mmu_lock);
			if (r != -EAGAIN)
				break;
			/* Unlocked: mm_fault_in() takes the mm's lock, and never waits for a change. */
			if (missing) {
				int f = mm_fault_in(vm->mm, missing);

				if (f && f != -EAGAIN)
					return f;
			}
			/*
			 * The change may wait, before its end(), for this CPU to
			 * acknowledge a TLB shootdown: serve it (hole 3's lesson).
			 */
			smp_poll_calls();
			hal_cpu_relax();
		}
		if (r)
			return r;
		gpa += n;
		buf = (char *)buf + n;
		len -= n;
	}
	return 0;
}

void vm_guest_written(struct vm *vm, uint64_t gpa, uint64_t len)
{
	if (!vm->shadow || !len || gpa + len < gpa)
		return;
	spin_lock(&vm->mmu_lock);
	for (uint64_t end = gpa + len; gpa < end;) {
		uint64_t n = MIN(end - gpa, PAGE_SIZE - (gpa & (PAGE_SIZE - 1)));

		shadow_track_write(vm, gpa >> PAGE_SHIFT, gpa & (PAGE_SIZE - 1), n);
		gpa += n;
	}
	spin_unlock(&vm->mmu_lock);
}

bool vm_is_guest_ram(struct vm *vm, uint64_t gpa, uint64_t len)
{
	bool ok = gpa + len >= gpa;

	spin_lock(&vm->mmu_lock);
	for (uint64_t gfn = gpa >> PAGE_SHIFT; ok && len && gfn <= (gpa + len - 1) >> PAGE_SHIFT;
	     gfn++)
		ok = memslot_find(&vm->slots, gfn) != NULL;
	spin_unlock(&vm->mmu_lock);
	return ok;
}

int vm_read_guest(struct vm *vm, uint64_t gpa, void *dst, uint64_t len)
{
	return access_guest(vm, gpa, dst, len, false);
}

int vm_write_guest(struct vm *vm, uint64_t gpa, const void *src, uint64_t len)
{
	return access_guest(vm, gpa, (void *)src, len, true);
}
