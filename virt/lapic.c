/*
 * The emulated local APIC (virt/lapic.h). Register semantics are the SDM's
 * (vol. 3A, chapter 11: 11.4.7 reset state, 11.5.4 timer, 11.6 IPIs, 11.8
 * IRR/ISR/PPR, 11.12 x2APIC). Each APIC has its own lock; an IPI takes the
 * sender's and then, never together with it, the VM's vCPU list and the
 * target's, so no two APIC locks are ever held at once.
 */
#include "virt/vcpu.h"
#include "lib/lib.h"

static unsigned timer_mode(const struct vlapic *a)
{
	return (a->lvt[1] >> 17) & 3;
}

static unsigned divisor(const struct vlapic *a)
{
	unsigned d = (a->div & 3) | ((a->div >> 1) & 4); /* bits 0, 1, 3 (11.5.4, fig. 11-10) */

	return d == 7 ? 1 : 2u << d;
}

/* Host TSC ticks for @n timer counts at the current divisor. */
static uint64_t counts_to_tsc(const struct vlapic *a, uint64_t n)
{
	return mul_div_u64(n * divisor(a), tsc_khz, LAPIC_BUS_KHZ);
}

static uint64_t tsc_to_counts(const struct vlapic *a, uint64_t t)
{
	return mul_div_u64(t, LAPIC_BUS_KHZ, tsc_khz) / divisor(a);
}

static void set_vec(uint32_t *r, unsigned vec, bool on)
{
	if (on)
		r[vec >> 5] |= 1u << (vec & 31);
	else
		r[vec >> 5] &= ~(1u << (vec & 31));
}

/* The highest vector set in @r, or -1. */
static int highest(const uint32_t *r)
{
	for (int i = 7; i >= 0; i--)
		if (r[i])
			return i * 32 + 31 - __builtin_clz(r[i]);
	return -1;
}

static uint32_t ppr(const struct vlapic *a)
{
	int isr = highest(a->isr);
	uint32_t isrv = isr < 0 ? 0 : (uint32_t)isr;

	return (a->tpr & 0xf0) >= (isrv & 0xf0) ? a->tpr & 0xff : isrv & 0xf0;
}

static void accept(struct vlapic *a, unsigned vec, bool level)
{
	if (vec < 16) { /* vectors 0-15 are illegal: "received illegal vector" (11.5.3) */
		a->esr |= 1u << 6;
		return;
	}
	set_vec(a->irr, vec, true);
	set_vec(a->tmr, vec, level);
}

void lapic_reset(struct vcpu *v, uint32_t id, bool bsp)
{
	struct vlapic *a = &v->lapic;

	memset(a, 0, sizeof(*a));
	spin_lock_init(&a->lock, LOCK_RANK_LAPIC, "lapic");
	a->id = id;
	a->base = PC_LAPIC_BASE | APIC_BASE_ENABLE | (bsp ? APIC_BASE_BSP_BIT : 0);
	a->dfr = 0xffffffff;
	a->svr = 0xff;
	for (unsigned i = 0; i < LAPIC_NLVT; i++)
		a->lvt[i] = LAPIC_LVT_MASKED;
	a->sipi = -1;
	a->eoi_level = -1;
}

static bool x2apic(const struct vlapic *a)
{
	return a->base & APIC_BASE_X2APIC;
}

/* Fire the timer if it is due (lock held): its vector into IRR, a periodic one re-armed. */
static void timer_poll(struct vcpu *v, uint64_t now)
{
	struct vlapic *a = &v->lapic;
	uint32_t lvt = a->lvt[1];
	bool fire = false;

	if (timer_mode(a) == LAPIC_TIMER_TSC_DEADLINE) {
		if (a->tsc_deadline && now + v->tsc_offset >= a->tsc_deadline) {
			a->tsc_deadline = 0;
			fire = true;
		}
	} else if (a->timer_init) {
		uint64_t period = counts_to_tsc(a, a->timer_init);

		if (now - a->timer_start >= period) {
			fire = true;
			if (timer_mode(a) == LAPIC_TIMER_PERIODIC && period)
				a->timer_start += (now - a->timer_start) / period * period;
			else
				a->timer_init = 0;
		}
	}
	if (fire && !(lvt & LAPIC_LVT_MASKED))
		accept(a, lvt & 0xff, false);
}

uint64_t lapic_timer_due(struct vcpu *v)
{
	struct vlapic *a = &v->lapic;

	if (a->lvt[1] & LAPIC_LVT_MASKED)
		return ~0ULL;
	if (timer_mode(a) == LAPIC_TIMER_TSC_DEADLINE)
		return a->tsc_deadline ? a->tsc_deadline - v->tsc_offset : ~0ULL;
	return a->timer_init ? a->timer_start + counts_to_tsc(a, a->timer_init) : ~0ULL;
}

static uint32_t timer_current(const struct vlapic *a, uint64_t now)
{
	if (!a->timer_init || timer_mode(a) == LAPIC_TIMER_TSC_DEADLINE)
		return 0;
	uint64_t n = tsc_to_counts(a, now - a->timer_start);

	if (timer_mode(a) == LAPIC_TIMER_PERIODIC)
		return a->timer_init - (uint32_t)(n % a->timer_init);
	return n >= a->timer_init ? 0 : a->timer_init - (uint32_t)n;
}

static bool dest_match(const struct vcpu *src, const struct vcpu *t, uint32_t dest, bool logical)
{
	const struct vlapic *a = &t->lapic;

	if (x2apic(&src->lapic)) {
		if (!logical)
			return dest == 0xffffffff || dest == a->id;
		/* Cluster: ID bits 31:16 equal, one of bits 15:0 set (11.12.10.2). */
		uint32_t ldr = ((a->id >> 4) << 16) | (1u << (a->id & 15));

		return dest == 0xffffffff ||
		       ((dest >> 16) == (ldr >> 16) && (dest & ldr & 0xffff));
	}
	if (!logical)
		return dest == 0xff || dest == a->id;
	if ((a->dfr >> 28) == 0xf) /* flat model: a bit of the LDR's top byte */
		return (dest & (a->ldr >> 24)) != 0;
	/* Cluster model: cluster in bits 7:4, members in 3:0. */
	return dest == 0xff || (((dest >> 4) == (a->ldr >> 28)) && (dest & (a->ldr >> 24) & 15));
}

static void deliver(struct vcpu *t, unsigned mode, unsigned vec, bool level)
{
	struct vlapic *a = &t->lapic;

	spin_lock(&a->lock);
	switch (mode) {
	case LAPIC_DM_FIXED:
	case LAPIC_DM_LOWEST:
		accept(a, vec, level);
		break;
	case LAPIC_DM_NMI:
		a->nmi = true;
		break;
	case LAPIC_DM_INIT:
		a->init = true;
		a->sipi = -1;
		break;
	case LAPIC_DM_SIPI:
		a->sipi = (int)vec;
		break;
	}
	spin_unlock(&a->lock);
	if (t->cpu != cpu_id())
		smp_kick(t->cpu); /* out of guest mode (or its HLT), to look at its APIC */
}

/* Send the IPI in ICR/ICR2 (11.6.1); the sender's lock is not held. */
static void send_ipi(struct vcpu *v, uint32_t icr, uint32_t dest)
{
	unsigned mode = (icr >> 8) & 7, vec = icr & 0xff, shorthand = (icr >> 18) & 3;
	bool logical = icr & (1u << 11), level = icr & (1u << 15);
	struct vm *vm = v->vm;

	/* INIT level de-assert (level-triggered, not asserted) does nothing on P6 and later. */
	if (mode == LAPIC_DM_INIT && level && !(icr & (1u << 14)))
		return;
	if (mode == LAPIC_DM_SMI || mode == LAPIC_DM_EXTINT)
		return; /* no SMM, no 8259 to ask: dropped, as nothing would take them */
	spin_lock(&vm->vcpus_lock);
	for (unsigned i = 0; i < VM_MAX_VCPUS; i++) {
		struct vcpu *t = vm->vcpus[i];

		if (!t)
			continue;
		bool to = shorthand == 1 ? t == v
			: shorthand == 2 ? true
			: shorthand == 3 ? t != v
			: dest_match(v, t, dest, logical);
		if (to)
			deliver(t, mode, vec, level);
	}
	spin_unlock(&vm->vcpus_lock);
}

/* A level-triggered vector's EOI also goes to the I/O APIC (lapic_level_eoi(), unlocked). */
static void eoi(struct vlapic *a)
{
	int vec = highest(a->isr);

	if (vec < 0)
		return;
	set_vec(a->isr, (unsigned)vec, false);
	if (a->tmr[vec / 32] & (1u << (vec % 32)))
		a->eoi_level = vec;
}

/* After the APIC's lock is dropped: the I/O APIC's EOI (its lock ranks above ours). */
static void lapic_level_eoi(struct vcpu *v)
{
	int vec = v->lapic.eoi_level;

	if (vec < 0)
		return;
	v->lapic.eoi_level = -1;
	pc_level_eoi(v->pc, (unsigned)vec);
}

void lapic_deliver_msg(struct vm *vm, uint32_t dest, bool logical, unsigned mode, unsigned vec,
		       bool level)
{
	spin_lock(&vm->vcpus_lock);
	for (unsigned i = 0; i < VM_MAX_VCPUS; i++) {
		struct vcpu *t = vm->vcpus[i];

		/* Lowest priority goes to the first that matches: all run at priority 0 here. */
		if (t && dest_match(t, t, dest, logical)) {
			deliver(t, mode, vec, level);
			if (mode == LAPIC_DM_LOWEST)
				break;
		}
	}
	spin_unlock(&vm->vcpus_lock);
}

static unsigned lvt_index(uint32_t off)
{
	return off == LAPIC_LVT_CMCI ? 0 : (off - LAPIC_LVT_TIMER) / 16 + 1;
}

/* Read register @off (lock held): 0, or -1 for none there. */
static int reg_read(struct vcpu *v, uint32_t off, uint32_t *val)
{
	struct vlapic *a = &v->lapic;

	switch (off) {
	case LAPIC_ID: *val = x2apic(a) ? a->id : a->id << 24; break;
	case LAPIC_VERSION: *val = 0x14 | (LAPIC_NLVT - 1) << 16; break; /* integrated APIC */
	case LAPIC_TPR: *val = a->tpr; break;
	case LAPIC_APR: if (x2apic(a)) return -1; *val = 0; break; /* no APR in x2APIC mode */
	case LAPIC_PPR: *val = ppr(a); break;
	case LAPIC_LDR:
		*val = x2apic(a) ? ((a->id >> 4) << 16) | (1u << (a->id & 15)) : a->ldr;
		break;
	case LAPIC_DFR: if (x2apic(a)) return -1; *val = a->dfr; break;
	case LAPIC_SVR: *val = a->svr; break;
	case LAPIC_ESR: *val = a->esr; break;
	case LAPIC_ICR: *val = a->icr & ~LAPIC_LVT_PENDING; break; /* sent at once: idle */
	case LAPIC_ICR2: if (x2apic(a)) return -1; *val = a->icr2; break;
	case LAPIC_LVT_CMCI:
	case LAPIC_LVT_TIMER: case LAPIC_LVT_THERMAL: case LAPIC_LVT_PERF:
	case LAPIC_LVT_LINT0: case LAPIC_LVT_LINT1: case LAPIC_LVT_ERROR:
		*val = a->lvt[lvt_index(off)];
		break;
	case LAPIC_TIMER_INIT: *val = a->timer_init; break;
	case LAPIC_TIMER_CUR: *val = timer_current(a, rdtsc()); break;
	case LAPIC_TIMER_DIV: *val = a->div; break;
	default:
		if (off >= LAPIC_ISR && off < LAPIC_ISR + 0x80)
			*val = a->isr[(off - LAPIC_ISR) / 16];
		else if (off >= LAPIC_TMR && off < LAPIC_TMR + 0x80)
			*val = a->tmr[(off - LAPIC_TMR) / 16];
		else if (off >= LAPIC_IRR && off < LAPIC_IRR + 0x80)
			*val = a->irr[(off - LAPIC_IRR) / 16];
		else
			return -1;
	}
	return 0;
}

/* The LVT bits software may write (11.5.1, fig. 11-8), by entry. */
static const uint32_t lvt_mask[LAPIC_NLVT] = {
	0x107ff, 0x710ff, 0x107ff, 0x107ff, 0x1a7ff, 0x1a7ff, 0x100ff,
};

/*
 * Write register @off (lock held): 0, 1 when an IPI is to be sent (the
 * caller sends it unlocked), or -1 for a register that cannot be written.
 */
static int reg_write(struct vcpu *v, uint32_t off, uint32_t val)
{
	struct vlapic *a = &v->lapic;

	switch (off) {
	case LAPIC_ID: if (x2apic(a)) return -1; break; /* read-only here, as KVM's */
	case LAPIC_TPR: a->tpr = val & 0xff; break;
	case LAPIC_EOI: eoi(a); break;
	case LAPIC_LDR: if (x2apic(a)) return -1; a->ldr = val & 0xff000000; break;
	case LAPIC_DFR: if (x2apic(a)) return -1; a->dfr = val | 0x0fffffff; break;
	case LAPIC_SVR:
		a->svr = val & 0x13ff;
		if (!(val & LAPIC_SVR_ENABLE)) /* software disable masks every LVT (11.4.7.2) */
			for (unsigned i = 0; i < LAPIC_NLVT; i++)
				a->lvt[i] |= LAPIC_LVT_MASKED;
		break;
	case LAPIC_ESR: a->esr = 0; break; /* a write clears it (11.5.3) */
	case LAPIC_ICR:
		a->icr = val & ~LAPIC_LVT_PENDING;
		return 1;
	case LAPIC_ICR2: if (x2apic(a)) return -1; a->icr2 = val & 0xff000000; break;
	case LAPIC_LVT_CMCI:
	case LAPIC_LVT_TIMER: case LAPIC_LVT_THERMAL: case LAPIC_LVT_PERF:
	case LAPIC_LVT_LINT0: case LAPIC_LVT_LINT1: case LAPIC_LVT_ERROR: {
		unsigned i = lvt_index(off);
		unsigned old_mode = timer_mode(a);

		if (!(a->svr & LAPIC_SVR_ENABLE))
			val |= LAPIC_LVT_MASKED;
		a->lvt[i] = val & lvt_mask[i];
		if (i == 1 && timer_mode(a) != old_mode) { /* a mode change stops the timer */
			a->timer_init = 0;
			a->tsc_deadline = 0;
		}
		break;
	}
	case LAPIC_TIMER_INIT:
		if (timer_mode(a) == LAPIC_TIMER_TSC_DEADLINE)
			break; /* ignored in TSC-deadline mode (11.5.4.1) */
		a->timer_init = val;
		a->timer_start = rdtsc();
		break;
	case LAPIC_TIMER_DIV: {
		uint32_t cur = timer_current(a, rdtsc());

		a->div = val & 0xb;
		if (a->timer_init) { /* the count goes on from where it was, at the new rate */
			a->timer_start = rdtsc() - counts_to_tsc(a, a->timer_init - cur);
		}
		break;
	}
	case LAPIC_SELF_IPI:
		if (!x2apic(a) || (val & ~0xffu)) /* bits 31:8 are reserved (11.12.11) */
			return -1;
		accept(a, val & 0xff, false);
		break;
	default:
		/* Read-only registers: ignored in xAPIC mode, #GP in x2APIC mode. */
		if (off == LAPIC_VERSION || off == LAPIC_PPR || off == LAPIC_APR ||
		    off == LAPIC_TIMER_CUR || (off >= LAPIC_ISR && off < LAPIC_IRR + 0x80))
			return x2apic(a) ? -1 : 0;
		return -1;
	}
	return 0;
}

void lapic_mmio(struct vcpu *v, uint32_t off, bool write, uint32_t *val)
{
	struct vlapic *a = &v->lapic;
	int r;

	spin_lock(&a->lock);
	if (x2apic(a) || !(a->base & APIC_BASE_ENABLE)) { /* the page is not the APIC's then */
		spin_unlock(&a->lock);
		if (!write)
			*val = 0xffffffff;
		return;
	}
	if (off & 0xf) { /* only the first dword of each 16 bytes is a register */
		spin_unlock(&a->lock);
		if (!write)
			*val = 0;
		return;
	}
	r = write ? reg_write(v, off, *val) : reg_read(v, off, val);
	if (r < 0) {
		a->esr |= 1u << 7; /* illegal register address */
		if (!write)
			*val = 0;
	}
	uint32_t icr = a->icr, dest = a->icr2 >> 24;
	spin_unlock(&a->lock);
	if (r == 1)
		send_ipi(v, icr, dest);
	lapic_level_eoi(v);
}

int lapic_x2apic_msr(struct vcpu *v, uint32_t msr, bool write, uint64_t *val)
{
	struct vlapic *a = &v->lapic;
	uint32_t off = (msr - 0x800) << 4, v32;
	int r = 0;

	spin_lock(&a->lock);
	if (!x2apic(a)) {
		spin_unlock(&a->lock);
		return -1;
	}
	if (off == LAPIC_ICR) {
		if (write) {
			a->icr = (uint32_t)*val & ~LAPIC_LVT_PENDING;
			spin_unlock(&a->lock);
			send_ipi(v, (uint32_t)*val, (uint32_t)(*val >> 32));
			return 0;
		}
		*val = a->icr;
	} else if (write) {
		/* Reserved high bits, or a non-zero EOI: #GP (11.12.1.2). */
		if ((*val >> 32) || (off == LAPIC_EOI && *val))
			r = -1;
		else
			r = reg_write(v, off, (uint32_t)*val) < 0 ? -1 : 0;
	} else {
		r = off == LAPIC_EOI || off == LAPIC_SELF_IPI ? -1 : reg_read(v, off, &v32);
		*val = v32;
	}
	spin_unlock(&a->lock);
	lapic_level_eoi(v);
	return r;
}

int lapic_set_base(struct vcpu *v, uint64_t val)
{
	struct vlapic *a = &v->lapic;
	uint64_t keep = APIC_BASE_BSP_BIT;
	uint64_t old = a->base;

	/* Only the architectural bits; the base may not move, as KVM's xAPIC emulation. */
	if ((val & ~(0xfffff000ULL | APIC_BASE_ENABLE | APIC_BASE_X2APIC | keep)) ||
	    (val & 0xfffff000ULL) != PC_LAPIC_BASE || (val & keep) != (old & keep))
		return -1;
	/*
	 * Invalid (SDM 3A, 11.12.5, figure 11-27): x2APIC without xAPIC enable,
	 * x2APIC back to xAPIC without disabling first, disabled straight to x2APIC.
	 */
	uint64_t mode = val & (APIC_BASE_ENABLE | APIC_BASE_X2APIC);
	uint64_t was = old & (APIC_BASE_ENABLE | APIC_BASE_X2APIC);

	if (mode == APIC_BASE_X2APIC ||
	    (was == (APIC_BASE_ENABLE | APIC_BASE_X2APIC) && mode == APIC_BASE_ENABLE) ||
	    (was == 0 && mode == (APIC_BASE_ENABLE | APIC_BASE_X2APIC)))
		return -1;
	spin_lock(&a->lock);
	a->base = val;
	spin_unlock(&a->lock);
	return 0;
}

int lapic_deadline_msr(struct vcpu *v, bool write, uint64_t *val)
{
	struct vlapic *a = &v->lapic;

	spin_lock(&a->lock);
	if (!write)
		*val = timer_mode(a) == LAPIC_TIMER_TSC_DEADLINE ? a->tsc_deadline : 0;
	else if (timer_mode(a) == LAPIC_TIMER_TSC_DEADLINE)
		a->tsc_deadline = *val; /* written in another mode: ignored (11.5.4.1) */
	spin_unlock(&a->lock);
	return 0;
}

/*
 * Before entry: the timer, then what to deliver. Returns the vector to
 * inject (moved from IRR to ISR when @take), -2 for an NMI, or -1.
 */
int lapic_next_event(struct vcpu *v, bool take)
{
	struct vlapic *a = &v->lapic;
	int vec;

	spin_lock(&a->lock);
	timer_poll(v, rdtsc());
	if (a->nmi) {
		if (take)
			a->nmi = false;
		spin_unlock(&a->lock);
		return -2;
	}
	vec = highest(a->irr);
	if (vec < 0 || (unsigned)(vec & 0xf0) <= (ppr(a) & 0xf0) ||
	    !(a->svr & LAPIC_SVR_ENABLE)) {
		vec = -1;
	} else if (take) {
		set_vec(a->irr, (unsigned)vec, false);
		set_vec(a->isr, (unsigned)vec, true);
	}
	spin_unlock(&a->lock);
	return vec;
}
