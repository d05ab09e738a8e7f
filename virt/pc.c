/*
 * A multiboot1 guest's PC, per vCPU: interrupt delivery before each entry,
 * HLT that sleeps until an interrupt is due, the local APIC's page
 * emulated instruction by instruction, XSETBV (guest/ABI.md, "The PC
 * platform"). The devices themselves are virt/platform.c, virt/lapic.c.
 */
#include "virt/vcpu.h"
#include "virt/insn.h"
#include "lib/lib.h"

void pc_vcpu_init(struct vcpu *v, struct pc_platform *pc, uint32_t apic_id)
{
	v->pc = pc;
	v->exits_slow = true; /* no fast path: CPUID presented, interrupts at each entry */
	lapic_reset(v, apic_id, apic_id == 0);
	pc_msr_reset(v);
}

int pc_take_sipi(struct vcpu *v)
{
	struct vlapic *a = &v->lapic;
	int vec;

	/*
	 * INIT clears any SIPI before it (lapic.c's deliver()), so a vector
	 * here came after the last INIT: it starts the AP (SDM 3A, 9.4.4).
	 */
	spin_lock(&a->lock);
	a->init = false;
	vec = a->sipi;
	a->sipi = -1;
	spin_unlock(&a->lock);
	return vec;
}

/* The whole guest is over (the BSP left, or a vCPU failed): every vCPU stops. */
static bool platform_over(struct vcpu *v)
{
	if (!__atomic_load_n(&v->pc->over, __ATOMIC_ACQUIRE))
		return false;
	if (v->stop == STOP_NONE) {
		v->exit_code = 0;
		vcpu_stop(v, STOP_EXIT, "the guest ended (vCPU 0 stopped)");
	}
	return true;
}

bool pc_before_entry(struct vcpu *v)
{
	struct vlapic *a = &v->lapic;

	if (platform_over(v))
		return false;
	pc_poll_input(v);
	if (__atomic_load_n(&a->init, __ATOMIC_ACQUIRE) && a->id != 0) {
		/* An AP goes back to wait for its SIPI (boot/smp_guest.c); the BSP ignores INIT. */
		vcpu_stop(v, STOP_INIT, "INIT received: waiting for a startup IPI");
		return false;
	}
	int e = lapic_next_event(v, false);

	if (e == -1)
		return true;
	if (!v->be->irq_ready(v, e == -2)) {
		v->be->irq_window(v, e == -2);
		return true;
	}
	e = lapic_next_event(v, true);
	if (e != -1)
		v->be->inject_irq(v, e);
	return true;
}

void pc_hlt(struct vcpu *v, uint64_t at)
{
	struct vlapic *a = &v->lapic;
	/* RFLAGS.IF alone: an STI right before the HLT shadows only the HLT itself. */
	bool nmi_only = !(v->be->get_rflags(v) & X86_RFLAGS_IF);
	bool alone = v->vm->nr_vcpus == 1;

	v->halts++;
	for (;;) {
		int e = lapic_next_event(v, false);

		if (e == -2 || (e >= 0 && !nmi_only) || platform_over(v) ||
		    __atomic_load_n(&a->init, __ATOMIC_ACQUIRE) || READ_ONCE(v->vm->bugged))
			return;
		/*
		 * A Linux guest's vCPU 0 halting with interrupts off is its last
		 * act: poweroff without ACPI, or a halt (guest/ABI.md, "Linux guests").
		 */
		if (v->pc->hlt_off && nmi_only && v->index == 0) {
			v->exit_code = 0;
			vcpu_stop(v, STOP_EXIT, "the guest halted with interrupts off (powered off)");
			return;
		}
		/* Nothing can wake it: no timer armed, interrupts off, no other vCPU to send one. */
		if (alone && (nmi_only || lapic_timer_due(v) == ~0ULL) && e < 0) {
			vcpu_stop(v, STOP_HLT, "guest halted at RIP %#llx (the HLT) with %s: nothing "
				  "can wake it", (unsigned long long)at,
				  nmi_only ? "interrupts off" : "no timer armed");
			return;
		}
		pc_poll_input(v);
		smp_poll_calls(); /* a host TLB shootdown waits for this CPU */
		hal_cpu_relax();
	}
}

int vcpu_read_linear(struct vcpu *v, uint64_t la, void *buf, size_t len)
{
	uint64_t cr0 = v->be->get_cr(v, 0), cr4 = v->be->get_cr(v, 4);
	uint64_t table = v->be->get_cr(v, 3) & X86_PTE_ADDR_MASK;

	if (!(cr0 & X86_CR0_PG))
		return vm_read_guest(v->vm, la, buf, len);
	if (!(cr4 & X86_CR4_PAE) || !(v->be->get_msr(v, MSR_EFER) & EFER_LMA))
		return -EOPNOTSUPP; /* 32-bit paging: the APIC is reached from 64-bit code */
	for (int level = 4; level >= 1; level--) {
		unsigned shift = 12 + 9 * (level - 1);
		uint64_t e;
		int r = vm_read_guest(v->vm, table + ((la >> shift) & 511) * 8, &e, 8);

		if (r)
			return r;
		if (!(e & X86_PTE_P))
			return -EFAULT;
		if (level == 1 || (level <= 3 && (e & X86_PTE_PS))) {
			uint64_t size = 1ULL << shift;

			return vm_read_guest(v->vm, (e & X86_PTE_ADDR_MASK & ~(size - 1)) |
							    (la & (size - 1)), buf, len);
		}
		table = e & X86_PTE_ADDR_MASK;
	}
	return -EFAULT;
}

/* The instruction at CS:RIP, up to 15 bytes (two pages where it crosses one). */
static int fetch(struct vcpu *v, uint8_t *b, size_t *got)
{
	bool long64;
	uint64_t la = v->be->cs_base(v, &long64) + v->be->rip(v);
	size_t first = MIN((size_t)INSN_MAX_LEN, (size_t)(PAGE_SIZE - (la & (PAGE_SIZE - 1))));
	int r;

	if (!long64)
		return -EOPNOTSUPP;
	r = vcpu_read_linear(v, la, b, first);
	*got = first;
	if (r || first == INSN_MAX_LEN)
		return r;
	/* The next page may hold nothing of it; but one the host is changing may. */
	int r2 = vcpu_read_linear(v, la + first, b + first, INSN_MAX_LEN - first);
	if (!r2)
		*got = INSN_MAX_LEN;
	return r2 == -EAGAIN ? r2 : 0;
}

/* A dword of the local APIC's page or the I/O APIC's. */
static void apic_page(struct vcpu *v, uint64_t page, uint32_t off, bool write, uint32_t *val)
{
	if (page == PC_LAPIC_BASE)
		lapic_mmio(v, off, write, val);
	else
		pc_ioapic_mmio(v->pc, off, write, val);
}

bool pc_mmio(struct vcpu *v, uint64_t gpa)
{
	uint8_t b[INSN_MAX_LEN];
	size_t got = 0;
	struct insn in;
	uint64_t rip = v->be->rip(v);

	uint64_t page = gpa & ~(PAGE_SIZE - 1);

	if (page != PC_LAPIC_BASE && page != PC_IOAPIC_BASE)
		return false;
	int r = fetch(v, b, &got);

	/*
	 * -EAGAIN: a host change owns the instruction's page (or a guest
	 * table on the way to it) for now, a migrate between its steps. The
	 * guest runs the instruction again and exits here again once the
	 * change is over, as after a second-level fault that retries. Found
	 * by linux_e2e: a Linux guest's EOI write while the host migrated its
	 * kernel text (tests/kernel/test_linux.c).
	 */
	if (r == -EAGAIN)
		return true;
	if (!r)
		r = insn_decode(b, got, &in);
	if (r || (in.kind != INSN_LOAD && in.kind != INSN_STORE) || in.gpr == 4) {
		vcpu_stop(v, STOP_UNHANDLED, "%s access at GPA %#llx by an instruction "
			  "minihv does not emulate (%s at RIP %#llx; only MOV to or from a "
			  "general register or MOV of an immediate is)",
			  page == PC_LAPIC_BASE ? "local APIC" : "I/O APIC", (unsigned long long)gpa,
			  r == -EOPNOTSUPP && got ? "not a MOV" : r ? "unreadable" : "not a MOV",
			  (unsigned long long)rip);
		return true;
	}
	uint32_t off = (uint32_t)(gpa & (PAGE_SIZE - 1)), val = 0;

	if (in.kind == INSN_STORE) {
		uint64_t g[16];

		for (unsigned i = 0; i < 16; i++)
			g[i] = i == 4 ? 0 : *vcpu_gpr(v, i);
		val = (uint32_t)insn_store_value(&in, g);
		if (in.size == 4)
			apic_page(v, page, off, true, &val);
	} else {
		if (in.size == 4)
			apic_page(v, page, off, false, &val);
		uint64_t *dst = vcpu_gpr(v, (unsigned)in.gpr);

		*dst = insn_load_result(&in, *dst, val); /* other sizes read 0 (SDM 3A, 11.4.1) */
	}
	v->be->set_rip(v, rip + in.len);
	return true;
}

void pc_xsetbv(struct vcpu *v)
{
	uint64_t val = (v->regs.rdx << 32) | (uint32_t)v->regs.rax;
	struct cpuid_regs d = cpuid_count(0xd, 0);
	uint64_t supported = d.eax | ((uint64_t)d.edx << 32);
	struct exc_event e = { .type = INTR_TYPE_HARD_EXCEPTION };

	if (!(v->be->get_cr(v, 4) & X86_CR4_OSXSAVE)) {
		e.vector = X86_EXC_UD;
	} else if ((uint32_t)v->regs.rcx != 0 || !(val & XCR0_X87) || (val & ~supported) ||
		   ((val & XCR0_AVX) && !(val & XCR0_SSE))) {
		e.vector = X86_EXC_GP; /* SDM 2C, XSETBV: invalid XCR or value */
		e.has_error = true;
	} else {
		vcpu_unswitched_set_xcr0(&v->unswitched, val);
		v->be->skip_instruction(v);
		return;
	}
	v->be->raise(v, &e);
}
