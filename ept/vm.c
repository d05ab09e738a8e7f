/* VM lifetime, guest RAM backing, guest-memory access and EPT flushes. */
#include "ept/vm.h"
#include "ept/ept_fmt.h"
#include "ept/gpc.h"
#include "mm/mm.h"
#include "lib/lib.h"

/* Each VM gets its own 4 TiB window of host-virtual space for its RAM. */
#define VM_HVA_WINDOW (4ULL << 40)
#define VM_HVA_WINDOWS 16

static unsigned next_vm_id;   /* atomic: VMs may be created on any CPU */
struct vm *vm_registry[VM_REGISTRY_MAX];
static struct spinlock registry_lock = { .dep = { LOCK_RANK_REGISTRY, "vm registry" } };
void (*vm_destroy_hook)(struct vm *vm);

static void registry_add(struct vm *vm)
{
	spin_lock(&registry_lock);
	for (int i = 0; i < VM_REGISTRY_MAX; i++) {
		if (!vm_registry[i]) {
			vm_registry[i] = vm;
			break;
		}
	}
	spin_unlock(&registry_lock);
}

static void registry_del(struct vm *vm)
{
	spin_lock(&registry_lock);
	for (int i = 0; i < VM_REGISTRY_MAX; i++)
		if (vm_registry[i] == vm)
			vm_registry[i] = NULL;
	spin_unlock(&registry_lock);
}

int vm_create(struct vm *vm, const char *name, const struct mmu_caps *caps, char *err,
	      size_t errlen)
{
	unsigned levels = (caps->leaf_levels | (1u << PT_LEVEL_4K)) &
			  ((1u << PT_LEVEL_4K) | (1u << PT_LEVEL_2M) | (1u << PT_LEVEL_1G));

	memset(vm, 0, sizeof(*vm));
	vm->id = (int)(__atomic_fetch_add(&next_vm_id, 1, __ATOMIC_RELAXED) % VM_HVA_WINDOWS);
	vm->name = name;
	for (int l = PT_LEVEL_4K; l <= PT_LEVEL_1G; l++)
		if (levels & (1u << l))
			vm->ept_max_level = l;
	vm->ept_ad = caps->ad;
	int r = pt_init(&vm->ept, caps->fmt ? caps->fmt : &ept_fmt, &phys_frames, levels);
	if (r) {
		ksnprintf(err, errlen, "no memory for the EPT root");
		return r;
	}
	vm->hva_next = HOST_DYN_BASE + (uint64_t)vm->id * VM_HVA_WINDOW;
	vm->flush = caps->flush;
	spin_lock_init(&vm->vcpus_lock, LOCK_RANK_VCPUS, "vm->vcpus_lock");
	vm->shadow = caps->shadow;
	if (vm->shadow)
		shadow_mmu_init(vm);
	vm_mmu_attach(vm, &host_mm);
	registry_add(vm);
	return 0;
}

/*
 * Unmap and free the host pages backing [hva, hva + size), including the
 * parts of huge pages that stick out of it (a skewed slot starts mid-page).
 * Only what is mapped costs anything: the leaves come from a walk that
 * skips empty tables (mm_leaves()), a batch of them at a time, and each
 * batch is unmapped by one change, so one TLB shootdown, before its frames
 * are freed: a frame may be reused only once nothing can reach it any more
 * (../shared/DESIGN.md, "Freeing order"). Lazy RAM the guest touched in 8
 * MiB of 1 GiB frees 2,048 pages, not 262,144 (issue 22: 16 s of the
 * 1 GiB hello guest's exit under QEMU TCG went to a lookup, an unmap and a
 * shootdown for every page).
 */
#define FREE_BATCH 64
static void free_backing(uint64_t hva, uint64_t size)
{
	struct mm_leaf leaf[FREE_BATCH];
	uint64_t end = hva + size;

	for (uint64_t va = hva; va < end;) {
		long n = mm_leaves(&host_mm, va, end - va, leaf, FREE_BATCH);

		if (n <= 0)
			break;
		uint64_t from = leaf[0].va, to = leaf[n - 1].va + pt_level_size(leaf[n - 1].level);
		/* Refused (a change in flight over it): leak the frames rather than free them mapped. */
		if (!WARN_ON_ONCE(host_unmap(from, to - from) < 0))
			for (long i = 0; i < n; i++)
				frame_free(&phys_frames, leaf[i].pa, 9 * (unsigned)(leaf[i].level - 1));
		va = to;
	}
}

void vm_print_shadow_stats(const struct vm *vm, const char *prefix)
{
	const struct vm_stats *st = &vm->stats;

	printk("%sshadow: %llu faults (%llu the guest's own), %llu write-protect faults "
	       "(%llu emulated, %llu unsynced, %llu unprotected), %llu synced in %llu walks at "
	       "%llu root loads (CR3), %llu pages made, %llu zapped (%llu reclaimed)\n", prefix,
	       (unsigned long long)st->shadow_faults, (unsigned long long)st->shadow_reflected,
	       (unsigned long long)st->shadow_wp_faults, (unsigned long long)st->shadow_emulated,
	       (unsigned long long)st->shadow_unsynced, (unsigned long long)st->shadow_unprotected,
	       (unsigned long long)st->shadow_synced, (unsigned long long)st->shadow_sync_walks,
	       (unsigned long long)st->shadow_root_loads,
	       (unsigned long long)st->shadow_pages_created,
	       (unsigned long long)st->shadow_pages_zapped,
	       (unsigned long long)st->shadow_reclaimed);
}

void vm_destroy(struct vm *vm)
{
	if (vm_destroy_hook)
		vm_destroy_hook(vm);
	registry_del(vm);
	/* No cache may keep pointing into backing about to be freed. */
	while (vm->gpc_list)
		gpc_deactivate(vm->gpc_list);
	vm->slots.generation++;
	/* Stop listening first: tearing down the backing must not call back into us. */
	vm_mmu_detach(vm);
	/*
	 * The order of every teardown (../shared/DESIGN.md, "Freeing order"): zap EPT,
	 * flush, then unmap the host pages, then free the frames. A CPU that
	 * still caches a translation must never reach a frame already reused.
	 */
	if (vm->shadow) {
		/* Every shadow leaf forgotten before the backing goes (its vCPUs are gone). */
		spin_lock(&vm->mmu_lock);
		shadow_zap_gfns(vm, 0, ~0ULL, 0);
		spin_unlock(&vm->mmu_lock);
		vm_flush_ept(vm);
		shadow_mmu_destroy(vm);
	}
	if (vm->ept.root) {
		pt_zap(&vm->ept, 0, 1ULL << PT_VA_BITS, 0);
		vm_flush_ept(vm);
		pt_destroy(&vm->ept);
	}
	/* All RAM ever added, including slots removed since. */
	for (unsigned i = 0; i < vm->nram; i++)
		free_backing(vm->ram[i].hva, vm->ram[i].size);
	vm->nram = 0;
	memslots_free(&vm->slots, vm->ept.fa);
}

/*
 * Allocate, map and clear each backing page (none with VM_RAM_LAZY), then
 * add the slot: a little over 60 lines, because each step undoes the ones
 * before it on failure.
 */
int vm_add_ram(struct vm *vm, uint64_t gpa, uint64_t size, int backing_level, unsigned flags,
	       uint64_t hva_skew, char *err, size_t errlen)
{
	uint64_t bsz = pt_level_size(backing_level);
	unsigned order = 9 * (unsigned)(backing_level - 1);
	bool lazy = flags & VM_RAM_LAZY;

	flags &= ~VM_RAM_LAZY;

	if (backing_level < PT_LEVEL_4K || backing_level > PT_LEVEL_1G ||
	    !(host_leaf_levels() & (1u << backing_level))) {
		ksnprintf(err, errlen, "host pages of level %d (%s) are not available",
			  backing_level, pt_level_name(backing_level));
		return -EOPNOTSUPP;
	}
	if (vm->nram == VM_RAM_MAX) {
		ksnprintf(err, errlen, "VM already has %d RAM ranges", VM_RAM_MAX);
		return -ENOSPC;
	}
	if (lazy && (backing_level != PT_LEVEL_4K || hva_skew)) {
		ksnprintf(err, errlen, "lazy RAM is backed by 4 KiB pages, unskewed (mm_fault_in())");
		return -EINVAL;
	}
	if (!size || !IS_ALIGNED(size, bsz) || !IS_ALIGNED(gpa, PAGE_SIZE)) {
		ksnprintf(err, errlen, "RAM [%#llx, +%#llx) must be a multiple of its %s backing",
			  (unsigned long long)gpa, (unsigned long long)size,
			  pt_level_name(backing_level));
		return -EINVAL;
	}
	/*
	 * A skewed slot starts hva_skew 4 KiB pages into its first host page, so
	 * gfn and hva are not congruent; one more backing page covers the tail.
	 */
	uint64_t hva = ALIGN_UP(vm->hva_next, 1ULL << 30);
	uint64_t mapped = size + (hva_skew ? bsz : 0);
	if (hva_skew * PAGE_SIZE >= bsz && hva_skew) {
		ksnprintf(err, errlen, "skew of %llu pages exceeds one %s page",
			  (unsigned long long)hva_skew, pt_level_name(backing_level));
		return -EINVAL;
	}
	for (uint64_t off = 0; off < (lazy ? 0 : mapped); off += bsz) {
		uint64_t pa;
		int r = frame_alloc(&phys_frames, order, &pa);

		if (!r) {
			r = host_map(hva + off, pa, bsz, PT_PROT_RW, backing_level);
			if (r)
				frame_free(&phys_frames, pa, order);
		}
		if (r) {
			free_backing(hva, off);
			ksnprintf(err, errlen, "cannot back RAM [%#llx, +%#llx) with %s pages: %s",
				  (unsigned long long)gpa, (unsigned long long)size,
				  pt_level_name(backing_level), errno_name(r));
			return r;
		}
		/* Guests must not see what the host left in a frame. */
		if (bsz == PAGE_SIZE)
			memset((void *)(hva + off), 0, bsz);
		else /* a huge page: the Bochs 2.7 work-around in arch/x86/cpu.h */
			clear_huge_and_flush_tlb((void *)(hva + off), bsz);
	}
	int r = vm_memslot_add(vm, gpa, size, hva + hva_skew * PAGE_SIZE, flags, err, errlen);
	if (r) {
		free_backing(hva, mapped);
		return r;
	}
	vm->ram[vm->nram].hva = hva;
	vm->ram[vm->nram].size = mapped;
	vm->ram[vm->nram].lazy = lazy;
	vm->nram++;
	vm->hva_next = hva + mapped + (1ULL << 30);
	return 0;
}

static bool in_lazy_ram(const struct vm *vm, uint64_t hva)
{
	for (unsigned i = 0; i < vm->nram; i++)
		if (vm->ram[i].lazy && hva - vm->ram[i].hva < vm->ram[i].size)
			return true;
	return false;
}

void *vm_gpa_to_host(struct vm *vm, uint64_t gpa, uint64_t len, bool write)
{
	struct memslot *s = memslot_find(&vm->slots, gpa >> PAGE_SHIFT);

	if (!s || gpa + len < gpa || (write && (s->flags & MEMSLOT_READONLY)))
		return NULL;
	uint64_t last = len ? (gpa + len - 1) >> PAGE_SHIFT : gpa >> PAGE_SHIFT;
	if (last - s->base_gfn >= s->npages)
		return NULL;
	/*
	 * The host may have unmapped or write-protected the backing (the
	 * invalidation tests do): the hypervisor must not fault on a guest's
	 * behalf, so every page must be mapped (writable, to write) right now.
	 */
	for (uint64_t gfn = gpa >> PAGE_SHIFT; gfn <= last; gfn++) {
		uint64_t hva = memslot_gfn_to_hva(s, gfn);
		struct pt_walk w;
		int r = host_lookup(hva, &w);

		/* Lazy RAM never touched yet: its zeroed page now, as a guest access would. */
		if (r && in_lazy_ram(vm, hva) && !mm_fault_in(&host_mm, hva))
			r = host_lookup(hva, &w);
		if (r || (write && !(w.prot & PT_PROT_W)))
			return NULL;
	}
	return (void *)(memslot_gfn_to_hva(s, gpa >> PAGE_SHIFT) + (gpa & (PAGE_SIZE - 1)));
}
