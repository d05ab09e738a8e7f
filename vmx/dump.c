#include "vmx/dump.h"
#include "vmx/vcpu.h"
#include "vmx/vmcs.h"
#include "ept/vm.h"
#include "mm/mm.h"
#include "lib/lib.h"

static const char *const level_tag[] = { "", "L1", "L2", "L3", "L4" };

static void x86_flags(char *b, size_t n, pte_t e, int level)
{
	ksnprintf(b, n, "%s%s%s%s%s%s%s", (e & X86_PTE_P) ? "P" : "-", (e & X86_PTE_W) ? " W" : "",
		  (e & X86_PTE_U) ? " U" : "", (e & X86_PTE_A) ? " A" : "",
		  (e & X86_PTE_D) ? " D" : "",
		  (level > 1 && (e & X86_PTE_PS)) ? " PS" : "", (e & X86_PTE_NX) ? " NX" : "");
}

static void ept_flags(char *b, size_t n, pte_t e, int level)
{
	bool leaf = (e & EPT_RWX) && (level == 1 || (e & EPT_LARGE));

	ksnprintf(b, n, "%s%s%s%s%s%s%s", (e & EPT_R) ? "R" : "-", (e & EPT_W) ? "W" : "-",
		  (e & EPT_X) ? "X" : "-", leaf ? " MT=" : "",
		  leaf ? ((((e >> EPT_MT_SHIFT) & 7) == EPT_MT_WB) ? "WB" : "??") : "",
		  (level > 1 && (e & EPT_LARGE)) ? " L" : "",
		  (e & EPT_ACCESSED) ? ((e & EPT_DIRTY) ? " A D" : " A") : "");
}

/* One walk, printed level by level; the same format as gdb's hv-pt / hv-ept. */
static void dump_walk(const char *what, const struct pt *pt, uint64_t addr,
		      void (*flags)(char *, size_t, pte_t, int))
{
	struct pt_walk w;
	int r = pt_lookup(pt, addr, &w);
	char f[48];

	printk("%s %#llx root %#llx\n", what, (unsigned long long)addr,
	       (unsigned long long)pt->root);
	for (int l = PT_LEVELS; l >= w.depth && l >= 1; l--) {
		flags(f, sizeof(f), w.entries[l], l);
		printk("  %s[%3u] %#018llx %s\n", level_tag[l], pt_index(addr, l),
		       (unsigned long long)w.entries[l], f);
	}
	if (r)
		printk("  -> not mapped (stops at %s)\n", level_tag[w.depth]);
	else
		printk("  -> %#llx level %s\n", (unsigned long long)w.pa, pt_level_name(w.level));
}

void dump_host_walk(uint64_t va)
{
	dump_walk("hv-pt", &host_mm.pt, va, x86_flags);
}

void dump_ept_walk(struct vm *vm, uint64_t gpa)
{
	char what[48];

	ksnprintf(what, sizeof(what), "hv-ept %s", vm->name);
	dump_walk(what, &vm->ept, gpa, vm->ept.fmt == &npt_fmt ? x86_flags : ept_flags);
}

void dump_inval(struct vm *vm)
{
	const struct vm_stats *st = &vm->stats;
	const struct mmu_inval *iv = &vm->inval;

	if (iv->range_start == INVALID_GPA)
		printk("hv-inval %s: in_progress %ld seq %llu range none\n", vm->name, iv->in_progress,
		       (unsigned long long)iv->seq);
	else
		printk("hv-inval %s: in_progress %ld seq %llu range [%#llx, %#llx)\n", vm->name,
		       iv->in_progress, (unsigned long long)iv->seq,
		       (unsigned long long)iv->range_start, (unsigned long long)iv->range_end);
	printk("  invalidations %llu zaps %llu invept %llu retries %llu violations %llu%s\n",
	       (unsigned long long)st->invalidations, (unsigned long long)st->ept_zaps,
	       (unsigned long long)st->invept, (unsigned long long)st->ept_retries,
	       (unsigned long long)st->ept_violations, vm->bugged ? " BUGGED" : "");
}

void dump_gpc(struct vm *vm)
{
	int n = 0;

	printk("hv-gpc %s\n", vm->name);
	for (struct gpc *g = vm->gpc_list; g; g = g->next, n++)
		printk("  gpc gpa %#llx len %llu hva %#llx pa %#llx valid %d generation %llu\n",
		       (unsigned long long)g->gpa, (unsigned long long)g->len,
		       (unsigned long long)g->uhva, (unsigned long long)g->pa, g->valid,
		       (unsigned long long)g->generation);
	if (!n)
		printk("  no active gfn-to-pfn caches\n");
}

void dump_vcpu(struct vm *vm)
{
	const struct vcpu *v = vm->vcpu;

	if (!v) {
		printk("hv-vcpu %s: no vCPU (not created yet)\n", vm->name);
		return;
	}
	const struct vcpu_regs *r = &v->regs;
	if (v->be && !strcmp(v->be->name, "SVM"))
		printk("hv-vcpu %s: last SVM exit %#x (%s) EXITINFO1 %#llx stop %s\n", vm->name,
		       v->last_exit_reason, v->stats.exits_total ? v->be->exit_name(v->last_exit_reason)
		       : "none yet",
		       (unsigned long long)v->last_exit_qual, vcpu_stop_name(v->stop));
	else
		printk("hv-vcpu %s: last exit %u (%s) qualification %#llx stop %s\n", vm->name,
		       v->last_exit_reason & 0xffff, exit_reason_name(v->last_exit_reason),
		       (unsigned long long)v->last_exit_qual, vcpu_stop_name(v->stop));
	const struct vcpu_snapshot *s = &v->snap;
	/* The same lines as gdb's hv-vcpu (scripts/gdb/guest.py); the test compares them. */
	printk("  rip %#llx rsp %#llx rflags %#llx (at the last stop)\n",
	       (unsigned long long)s->rip, (unsigned long long)s->rsp,
	       (unsigned long long)s->rflags);
	printk("  rax %#llx rbx %#llx rcx %#llx rdx %#llx\n", (unsigned long long)r->rax,
	       (unsigned long long)r->rbx, (unsigned long long)r->rcx, (unsigned long long)r->rdx);
	printk("  rsi %#llx rdi %#llx rbp %#llx r8 %#llx\n", (unsigned long long)r->rsi,
	       (unsigned long long)r->rdi, (unsigned long long)r->rbp, (unsigned long long)r->r8);
	printk("  r9 %#llx r10 %#llx r11 %#llx r12 %#llx\n", (unsigned long long)r->r9,
	       (unsigned long long)r->r10, (unsigned long long)r->r11, (unsigned long long)r->r12);
	printk("  r13 %#llx r14 %#llx r15 %#llx\n", (unsigned long long)r->r13,
	       (unsigned long long)r->r14, (unsigned long long)r->r15);
	printk("  cr0 %#llx cr3 %#llx cr4 %#llx efer %#llx\n", (unsigned long long)s->cr0,
	       (unsigned long long)s->cr3, (unsigned long long)s->cr4, (unsigned long long)s->efer);
}

void dump_vm(struct vm *vm, unsigned what)
{
	if (what & DUMP_PT) {
		for (unsigned i = 0; i < vm->slots.n; i++)
			dump_host_walk(vm->slots.slot[i].hva);
	}
	if (what & DUMP_EPT) {
		for (unsigned i = 0; i < vm->slots.n; i++)
			dump_ept_walk(vm, vm->slots.slot[i].base_gfn << PAGE_SHIFT);
		printk("hv-ept %s: %lu table pages, leaves 4K %llu 2M %llu 1G %llu installed\n",
		       vm->name, vm->ept.table_pages,
		       (unsigned long long)vm->stats.ept_installed[PT_LEVEL_4K],
		       (unsigned long long)vm->stats.ept_installed[PT_LEVEL_2M],
		       (unsigned long long)vm->stats.ept_installed[PT_LEVEL_1G]);
	}
	if (what & DUMP_INVAL)
		dump_inval(vm);
	if (what & DUMP_GPC)
		dump_gpc(vm);
	if (what & DUMP_VCPU)
		dump_vcpu(vm);
}
