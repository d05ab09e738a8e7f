/*
 * Shadow paging's exits, the same on every backend: the guest's #PF, its
 * CR0/CR3/CR4 accesses and INVLPG, and emulating a store to a guest table
 * that ept/shadow.c could not leave unsync. The guest sees its own CR0, CR3
 * and CR4; the CPU runs with the shadow root in CR3 and CR0.WP set, so that
 * supervisor writes to write-protected guest tables fault even when the
 * guest clears WP (KVM does the same). Guests run 4-level long-mode
 * paging, or paging off: then the CPU still pages, with CR4.PAE and
 * without EFER.LME, through an identity map of the guest's physical
 * memory (KVM's nonpaging mode; ept/shadow.h), in real mode too (VMRUN
 * checks nothing against CR0.PG with PE clear, APM vol. 2, 15.5.1). The
 * guest's own MOV to CR0 moves it between the two, EFER.LMA following
 * CR0.PG with LME. A mode the shadow MMU does not build (32-bit paging,
 * PAE without long mode, LA57, PCID, SMEP, SMAP, protection keys) stops
 * the guest with a message. Only SVM runs paging off here: VMX without
 * EPT has no unrestricted guest (vmx/ refuses it).
 */
#include "virt/vcpu.h"
#include "virt/insn.h"
#include "lib/lib.h"
#include "arch/x86/arch.h"

/* CR4 bits the shadow MMU cannot honour. */
#define SHADOW_CR4_UNSUPPORTED \
	(X86_CR4_LA57 | X86_CR4_PCIDE | X86_CR4_SMEP | X86_CR4_SMAP | X86_CR4_PKE)

static bool paging_on(const struct vcpu *v)
{
	return v->sh.cr0 & X86_CR0_PG;
}

static struct shadow_mode mode_of(struct vcpu *v)
{
	return (struct shadow_mode){
		.cr3 = v->sh.cr3,
		.wp = (v->sh.cr0 & X86_CR0_WP) != 0,
		.nxe = (v->be->get_msr(v, MSR_EFER) & EFER_NXE) != 0,
		.nonpaging = !paging_on(v),
	};
}

/*
 * CR0 and CR4 as the CPU runs with them: paging always on, with WP; with
 * the guest's paging off, PAE paging through the identity map's root.
 */
static void load_hw_crs(struct vcpu *v)
{
	v->be->set_cr(v, 0, v->sh.cr0, v->sh.cr0 | X86_CR0_PG | X86_CR0_WP);
	v->be->set_cr(v, 4, v->sh.cr4, v->sh.cr4 | (paging_on(v) ? 0 : X86_CR4_PAE));
}

/* Where the guest's code is: CS base + RIP outside 64-bit mode (32 bits wide there). */
static uint64_t rip_linear(struct vcpu *v, bool *long64)
{
	uint64_t base = 0, rip = v->be->rip(v);

	*long64 = true;
	if (v->be->cs_base)
		base = v->be->cs_base(v, long64);
	return *long64 ? rip : (uint32_t)(base + rip);
}

uint64_t *vcpu_gpr(struct vcpu *v, unsigned n)
{
	struct vcpu_regs *r = &v->regs;
	uint64_t *map[16] = { &r->rax, &r->rcx, &r->rdx, &r->rbx, NULL,    &r->rbp,
			      &r->rsi, &r->rdi, &r->r8,  &r->r9,  &r->r10, &r->r11,
			      &r->r12, &r->r13, &r->r14, &r->r15 };

	return n < 16 ? map[n] : NULL;
}

/* Look up or build the root for the guest's CR3 and load it; false if the vCPU stopped. */
static bool load_root(struct vcpu *v)
{
	struct shadow_mode m = mode_of(v);
	uint64_t hpa;
	char why[160];
	int r = shadow_load_cr3(v->vm, &m, &v->sh.root, &hpa, why, sizeof(why));

	if (r) {
		vcpu_fault_failed(v, r, "shadow CR3 load", m.cr3, why);
		return false;
	}
	v->be->set_cr(v, 3, v->sh.cr3, hpa);
	/* A CR3 load flushes the guest's TLB (its non-global entries: all, here). */
	v->be->flush_local(v);
	return true;
}

int vcpu_shadow_init(struct vcpu *v, const struct vcpu_entry *e, char *err, size_t errlen)
{
	switch (e->mode) {
	case VCPU_ENTRY_PROT32: /* a multiboot1 kernel's: protected mode, paging off */
		v->sh.cr0 = X86_CR0_PE | X86_CR0_ET;
		v->sh.cr3 = v->sh.cr4 = 0;
		break;
	case VCPU_ENTRY_REAL: /* after INIT (SDM 3A, table 9-1): CD, NW, ET */
		v->sh.cr0 = X86_CR0_ET | X86_CR0_CD | X86_CR0_NW;
		v->sh.cr3 = v->sh.cr4 = 0;
		break;
	default:
		v->sh.cr0 = VCPU_ENTRY_CR0;
		v->sh.cr3 = e->cr3;
		v->sh.cr4 = VCPU_ENTRY_CR4;
		break;
	}
	v->sh.unprotect_rip = v->sh.unprotect_gpa = ~0ULL;
	load_hw_crs(v);
	if (!load_root(v)) {
		ksnprintf(err, errlen, "%s", v->stop_reason);
		return -EINVAL;
	}
	return 0;
}

void vcpu_shadow_destroy(struct vcpu *v)
{
	shadow_put_root(v->vm, &v->sh.root);
}

int vcpu_shadow_fetch_bytes(struct vcpu *v, uint8_t *bytes, size_t *got, uint64_t *la)
{
	struct shadow_mode m = mode_of(v);
	bool long64;
	uint64_t rip = rip_linear(v, &long64);

	*got = 0;
	*la = rip;
	/* Page by page: the instruction may straddle two pages of different frames. */
	while (*got < INSN_MAX_LEN) {
		uint64_t gva = rip + *got, gpa;
		uint32_t pfec;
		size_t n = MIN(INSN_MAX_LEN - *got, PAGE_SIZE - (gva & (PAGE_SIZE - 1)));

		int r = shadow_translate(v->vm, &m, gva, X86_PF_FETCH, &gpa, &pfec);
		if (r == -EAGAIN)
			return r; /* the host keeps taking the page: let the guest retry */
		if (r)
			break;
		r = vm_read_guest(v->vm, gpa, bytes + *got, n);
		if (r == -EAGAIN)
			return r;
		if (r)
			break;
		*got += n;
	}
	return 0;
}

int vcpu_shadow_fetch_insn(struct vcpu *v, struct insn *in, char *why, size_t len)
{
	uint8_t bytes[INSN_MAX_LEN];
	size_t got;
	uint64_t la;
	int r = vcpu_shadow_fetch_bytes(v, bytes, &got, &la);

	if (r)
		return r;
	r = insn_decode(bytes, got, in);
	if (r)
		ksnprintf(why, len, "cannot decode the instruction at linear address %#llx (%zu "
			  "bytes readable, first %02x %02x %02x %02x): %s", (unsigned long long)la,
			  got, got > 0 ? bytes[0] : 0, got > 1 ? bytes[1] : 0, got > 2 ? bytes[2] : 0,
			  got > 3 ? bytes[3] : 0, errno_name(r));
	return r;
}

/*
 * [REP] STOS into a write-protected guest table that unprotecting did not
 * free (Linux clears the table it runs on with clear_page's REP STOSQ or
 * STOSB: unprotecting it only builds it again). The steps that fall in
 * this page are done here; RDI and RCX move on as the CPU's would, and
 * with RCX left the guest runs the instruction on from there (SDM 2B,
 * STOS; REP). Returns false to leave it to unprotect-and-retry: DF set,
 * or a step across the page's end.
 */
static bool emulate_stos(struct vcpu *v, const struct insn *in, uint64_t gpa)
{
	uint64_t *rdi = vcpu_gpr(v, 7), *rcx = vcpu_gpr(v, 1);
	uint64_t left = in->rep ? *rcx : 1;
	uint64_t n = MIN(left, (PAGE_SIZE - (gpa & (PAGE_SIZE - 1))) / in->size);
	uint64_t gprs[16] = { v->regs.rax };
	char why[200];

	if (v->be->get_rflags(v) & X86_RFLAGS_DF)
		return false;
	if (!left) {
		v->be->set_rip(v, v->be->rip(v) + in->len);
		return true;
	}
	if (!n)
		return false;
	for (uint64_t k = 0; k < n; k++) {
		int r = shadow_emulated_write(v->vm, gpa + k * in->size, insn_store_value(in, gprs),
					      in->size, why, sizeof(why));

		if (r == -EAGAIN) {
			n = k; /* the host is changing the page: the guest runs the rest again */
			break;
		}
		if (r) {
			vcpu_fault_failed(v, r, "emulated write", gpa + k * in->size, why);
			return true;
		}
	}
	*rdi += n * in->size;
	if (in->rep)
		*rcx -= n;
	if (!in->rep || !*rcx)
		v->be->set_rip(v, v->be->rip(v) + in->len);
	return true;
}

/*
 * A store to a guest table that stays write-protected: do it for the guest
 * (MOVs, what compiled page-table code uses, and STOS), then resume after it.
 */
static void emulate_store(struct vcpu *v, uint64_t gpa)
{
	struct insn in;
	char why[200];
	uint64_t gprs[16] = { 0 };

	bool long64;
	int r;

	(void)rip_linear(v, &long64);
	if (!long64) {
		/* The decoder reads 64-bit code only (virt/insn.h): this store is unprotected. */
		r = -EOPNOTSUPP;
		ksnprintf(why, sizeof(why), "the guest is not in 64-bit mode");
	} else {
		r = vcpu_shadow_fetch_insn(v, &in, why, sizeof(why));
	}
	if (r == -EAGAIN)
		return; /* the guest executes the store again */
	/*
	 * A STOS is unprotected first, as below: a table page reused as data
	 * is then written natively. Back at the same write, the page is a
	 * table the guest runs on (Linux clears its root so): emulated.
	 */
	if (!r && in.kind == INSN_STOS && v->be->rip(v) == v->sh.unprotect_rip &&
	    gpa == v->sh.unprotect_gpa && emulate_stos(v, &in, gpa))
		return;
	if (r || in.kind != INSN_STORE || in.gpr == 4) {
		uint64_t rip = v->be->rip(v);

		if (!r)
			ksnprintf(why, sizeof(why), "not a MOV store from a register other than RSP "
				  "or from an immediate");
		/*
		 * A write minihv cannot emulate (rep stosq clearing a page that
		 * was a table and may be data now): stop shadowing the page and
		 * let the guest run the write again (KVM's unprotect and retry).
		 * The same write failing again at once (the very next exit)
		 * means the page is a table in use (a root): then the guest
		 * stops, saying why. The same write again after other exits is
		 * a loop that came round (kvm-unit-tests' access ANDs a bit out
		 * of a PML4 entry many times from one RIP): unprotected again.
		 */
		if ((rip != v->sh.unprotect_rip || gpa != v->sh.unprotect_gpa ||
		     v->stats.exits_total > v->sh.unprotect_exit + 1) &&
		    shadow_unprotect_gfn(v->vm, gpa >> PAGE_SHIFT)) {
			v->sh.unprotect_rip = rip;
			v->sh.unprotect_gpa = gpa;
			v->sh.unprotect_exit = v->stats.exits_total;
			return;
		}
		vcpu_stop(v, STOP_UNHANDLED, "shadow paging: cannot emulate the write to the guest "
			  "page table at GPA %#llx (RIP %#llx): %s", (unsigned long long)gpa,
			  (unsigned long long)v->be->rip(v), why);
		return;
	}
	for (unsigned n = 0; n < 16; n++)
		gprs[n] = vcpu_gpr(v, n) ? *vcpu_gpr(v, n) : 0;
	r = shadow_emulated_write(v->vm, gpa, insn_store_value(&in, gprs), in.size, why,
				  sizeof(why));
	if (r == -EAGAIN)
		return;
	if (r) {
		vcpu_fault_failed(v, r, "emulated write", gpa, why);
		return;
	}
	v->be->set_rip(v, v->be->rip(v) + in.len);
}

bool vcpu_shadow_page_fault(struct vcpu *v, uint64_t cr2, uint32_t *error)
{
	char why[160];

	vcpu_count_fault(v, cr2);
	v->stats.pf_absorbed++; /* undone below when the #PF turns out to be the guest's */
	if (v->be->rip(v) != v->sh.unprotect_rip)
		v->sh.unprotect_rip = v->sh.unprotect_gpa = ~0ULL; /* progress: forget it */
	/* A reload builds a new root; the fault is then tried once more on it. */
	for (int tries = 0; tries < 2; tries++) {
		struct shadow_mode m = mode_of(v);
		uint32_t pfec;
		uint64_t gpa;
		int r = shadow_page_fault(v->vm, &m, v->sh.root, cr2, *error, &pfec, &gpa, why,
					  sizeof(why));

		switch (r) {
		case SHADOW_RESUME:
			return true;
		case SHADOW_REFLECT:
			*error = pfec;
			v->stats.pf_absorbed--;
			return false;
		case SHADOW_EMULATE:
			emulate_store(v, gpa);
			return true;
		case SHADOW_RELOAD:
			if (!load_root(v))
				return true;
			continue;
		default:
			/* Outside RAM: the GPA, for an emulated device's page (the local APIC's). */
			vcpu_fault_failed(v, r, "shadow page", r == -EFAULT && gpa != ~0ULL ? gpa : cr2,
					  why);
			return true;
		}
	}
	return true; /* the guest faults again, on the new root */
}

/* A guest TLB flush (INVLPG of @gva, or everything): sync unsync tables, then flush. */
static void sync_and_flush(struct vcpu *v, uint64_t gva)
{
	shadow_invlpg(v->vm, v->sh.root, gva);
	v->be->flush_local(v);
}

/*
 * CR0.PG changes: EFER.LMA follows it where LME is set (SDM 3A, 10.8.5),
 * the CPU's own CR0, CR4 and EFER follow, and the root is the guest's
 * tables' or the identity map's. False if the vCPU stopped.
 */
static bool switch_paging(struct vcpu *v, uint64_t val)
{
	uint64_t efer = v->be->get_msr(v, MSR_EFER);
	bool on = val & X86_CR0_PG;

	if (on && !(val & X86_CR0_PE)) {
		vcpu_stop(v, STOP_UNHANDLED, "shadow paging: the guest wrote CR0 %#llx, paging "
			  "without protection (a #GP on a CPU)", (unsigned long long)val);
		return false;
	}
	if (on && (!(efer & EFER_LME) || !(v->sh.cr4 & X86_CR4_PAE))) {
		vcpu_stop(v, STOP_UNHANDLED, "shadow paging: the guest turns paging on in 32-bit "
			  "mode (CR0 %#llx, CR4 %#llx, EFER %#llx): %s; minihv shadows 4-level "
			  "long-mode paging only", (unsigned long long)val,
			  (unsigned long long)v->sh.cr4, (unsigned long long)efer,
			  !(efer & EFER_LME) ? (v->sh.cr4 & X86_CR4_PAE ? "PAE paging without "
				"long mode" : "32-bit paging") : "EFER.LME without CR4.PAE");
		return false;
	}
	v->sh.cr0 = val;
	/* The backend keeps LME out of the CPU's EFER while paging is off (svm_set_msr()). */
	if (efer & EFER_LME)
		v->be->set_msr(v, MSR_EFER, on ? efer | EFER_LMA : efer & ~EFER_LMA);
	load_hw_crs(v);
	return load_root(v);
}

/*
 * A control-register value the shadow MMU does not build. A PC guest's
 * CPUID does not offer those features (virt/cpuid.c), so the CPU's answer
 * is #GP(0), which it gets (kvm-unit-tests' access probes CR4.PKE so); a
 * flat guest stops, naming the value (guest/ABI.md). False: not done.
 */
static bool __printf(2, 3) gp_or_stop(struct vcpu *v, const char *fmt, ...)
{
	char why[200];
	va_list ap;

	if (v->pc) {
		struct exc_event gp = { .vector = X86_EXC_GP, .type = INTR_TYPE_HARD_EXCEPTION,
					.has_error = true };

		v->be->raise(v, &gp);
		return false;
	}
	va_start(ap, fmt);
	kvsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	vcpu_stop(v, STOP_UNHANDLED, "%s", why);
	return false;
}

bool vcpu_shadow_write_cr(struct vcpu *v, unsigned cr, uint64_t val)
{
	uint64_t old;

	switch (cr) {
	case 0:
		old = v->sh.cr0;
		if ((old ^ val) & X86_CR0_PG)
			return switch_paging(v, val);
		if ((val & X86_CR0_PG) && !(val & X86_CR0_PE))
			return gp_or_stop(v, "shadow paging: the guest wrote CR0 %#llx, clearing PE "
					  "with paging on (a #GP on a CPU)", (unsigned long long)val);
		v->sh.cr0 = val;
		load_hw_crs(v);
		if (paging_on(v) && ((old ^ val) & X86_CR0_WP))
			return load_root(v); /* the shadow entries depend on WP: another root */
		return true;
	case 3:
		v->sh.cr3 = val;
		if (paging_on(v))
			return load_root(v); /* paging off: kept for when the guest turns it on */
		return true;
	case 4:
		if ((val & SHADOW_CR4_UNSUPPORTED) || (paging_on(v) && !(val & X86_CR4_PAE)))
			return gp_or_stop(v, "shadow paging: the guest wrote CR4 %#llx; minihv shadows "
					  "4-level paging without LA57, PCID, SMEP, SMAP or protection "
					  "keys", (unsigned long long)val);
		old = v->sh.cr4;
		v->sh.cr4 = val;
		load_hw_crs(v);
		/*
		 * The CPU flushes everything on such a change (SDM 3A 4.10.4.1):
		 * Linux's global flush. Unsync tables are synced then, as for
		 * INVLPG and a CR3 load (KVM syncs roots on a guest TLB flush).
		 */
		if (paging_on(v) && ((old ^ val) & (X86_CR4_PGE | X86_CR4_PSE)))
			sync_and_flush(v, 0);
		return true;
	default:
		vcpu_stop(v, STOP_UNHANDLED, "MOV to CR%u (%#llx) is not emulated", cr,
			  (unsigned long long)val);
		return false;
	}
}

uint64_t vcpu_shadow_read_cr(struct vcpu *v, unsigned cr)
{
	return cr == 0 ? v->sh.cr0 : cr == 3 ? v->sh.cr3 : v->sh.cr4;
}

void vcpu_shadow_invlpg(struct vcpu *v, uint64_t gva)
{
	sync_and_flush(v, gva);
}
