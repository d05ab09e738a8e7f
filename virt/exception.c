/*
 * Guest exceptions, on every backend.
 *
 * Why minihv intercepts them: a guest starts without an IDT (limit 0), so its
 * first exception cannot be delivered and escalates (#GP, #DF) to a triple
 * fault. A triple-fault VM exit records nothing about how it came about (SDM
 * 3C 27.2.4: it never counts as an exit "during event delivery"; Bochs
 * agrees), so without help the user learns only "triple fault at RIP x". The
 * exception bitmap (VMX) or the exception intercepts (SVM) therefore send
 * every exception that can start or continue such an escalation to minihv,
 * which records it (vector, error code, RIP, CR2) and delivers it back into
 * the guest exactly as the CPU would have: same vector and error code, CR2
 * written, RFLAGS.RF set for faults, and two exceptions combined into #DF, or
 * a third into shutdown, by the rules of SDM 3A table 6-5. A guest that has its own IDT sees its handlers run as on
 * bare metal, one VM exit per exception slower.
 *
 * Not intercepted: #DB and #BP, whose side effects (DR6, the INT3 instruction
 * length) the CPU gets right on its own; if their delivery fails, the #GP or
 * #PF that follows exits with them in the IDT-vectoring field, so the record
 * still starts with them. #MC, which is the host's business. On VMX, NMIs
 * exit through the pin-based control, not the bitmap. The set is
 * VCPU_EXC_NOT_INTERCEPTED (virt/vcpu.h).
 */
#include "virt/vcpu.h"
#include "lib/lib.h"
#include "arch/x86/arch.h"

enum exc_class { EXC_BENIGN, EXC_CONTRIBUTORY, EXC_PAGE_FAULT };

/* SDM 3A table 6-4 (#CP joined the contributory class with CET). */
static enum exc_class exc_class(unsigned vector)
{
	switch (vector) {
	case X86_EXC_DE:
	case X86_EXC_TS:
	case X86_EXC_NP:
	case X86_EXC_SS:
	case X86_EXC_GP:
	case X86_EXC_CP:
		return EXC_CONTRIBUTORY;
	case X86_EXC_PF:
		return EXC_PAGE_FAULT;
	default:
		return EXC_BENIGN;
	}
}

/* SDM 3A table 6-5: raising @second while delivering @first makes a #DF. */
static bool makes_double_fault(unsigned first, unsigned second)
{
	enum exc_class a = exc_class(first), b = exc_class(second);

	return (a == EXC_CONTRIBUTORY && b == EXC_CONTRIBUTORY) ||
	       (a == EXC_PAGE_FAULT && b != EXC_BENIGN);
}

/* Faults, unlike traps (#DB, #BP, #OF) and aborts (#DF, #MC), push RFLAGS with RF set. */
static bool exc_is_fault(unsigned vector)
{
	switch (vector) {
	case X86_EXC_DB:
	case X86_EXC_NMI:
	case X86_EXC_BP:
	case X86_EXC_OF:
	case X86_EXC_DF:
	case X86_EXC_MC:
		return false;
	default:
		return true;
	}
}

bool vcpu_exc_is_soft(unsigned type)
{
	return type == INTR_TYPE_SOFT_INTR || type == INTR_TYPE_PRIV_SOFT_EXCEPTION ||
	       type == INTR_TYPE_SOFT_EXCEPTION;
}

static void chain_add(struct vcpu *v, const struct exc_event *e)
{
	struct exc_chain *c = &v->exc;

	if (c->n == EXC_CHAIN_MAX)
		c->n--; /* cannot happen by table 6-5 (at most 6); keep the first ones */
	c->ev[c->n++] = *e;
}

/*
 * Start a new record unless this exit came while delivering the event
 * minihv injected at the previous entry. An event the guest raised itself
 * and the CPU did not intercept (INT n, INT3, #DB) whose delivery faulted
 * starts the record.
 */
static void chain_begin(struct vcpu *v, const struct exc_event *idt)
{
	struct exc_chain *c = &v->exc;
	const struct exc_event *last = c->n ? &c->ev[c->n - 1] : NULL;

	if (idt && last && c->injected_at + 1 == v->stats.exits_total &&
	    last->vector == idt->vector && last->type == idt->type)
		return;
	c->n = 0;
	c->rip = v->be->rip(v);
	if (idt)
		chain_add(v, idt);
}

struct strbuf {
	char *buf;
	size_t size, len;
};

static void __printf(2, 3) sb_add(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = kvsnprintf(sb->buf + sb->len, sb->size - sb->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		sb->len = MIN(sb->len + (size_t)n, sb->size - 1);
}

/*
 * "#GP (vector 13, error 0x32 = IDT entry 6)", "#PF (vector 14, error 0x2 ..., CR2 0x...)".
 * @prev: the event whose delivery raised @e, or NULL. True if it named a
 * #GP error code in QEMU's encoding (marked '*').
 */
static bool describe(struct strbuf *sb, const struct exc_event *e, const struct exc_event *prev)
{
	const char *name = exception_name(e->vector);
	int word = 0;
	bool qemu = false;

	if (e->type == INTR_TYPE_SOFT_INTR) {
		sb_add(sb, "INT %#x", e->vector);
		return false;
	}
	if (e->type == INTR_TYPE_EXT_INTR) {
		sb_add(sb, "interrupt %#x", e->vector);
		return false;
	}
	while (name[0] == '#' && name[word] && name[word] != ' ')
		word++; /* "#UD invalid opcode" -> "#UD" */
	sb_add(sb, "%.*s (vector %u", word ? word : (int)strlen(name), name, e->vector);
	if (e->type == INTR_TYPE_SOFT_EXCEPTION)
		sb_add(sb, ", %s", e->vector == X86_EXC_BP ? "INT3" : "INTO");
	else if (e->type == INTR_TYPE_PRIV_SOFT_EXCEPTION)
		sb_add(sb, ", INT1");
	if (e->has_error) {
		sb_add(sb, ", error %#x", e->error);
		if (e->vector == X86_EXC_PF) {
			sb_add(sb, " = %s %s%s%s",
			       e->error & X86_PF_PROT ? "protection" : "not-present",
			       e->error & X86_PF_FETCH ? "fetch"
			       : e->error & X86_PF_WRITE ? "write" : "read",
			       e->error & X86_PF_USER ? " user" : "",
			       e->error & X86_PF_RSVD ? " reserved-bit" : "");
		} else if (e->error & X86_ERR_IDT && prev && X86_ERR_INDEX(e->error) != prev->vector &&
			   e->error == prev->vector * 16u + 2) {
			/*
			 * QEMU TCG's own code for a 64-bit IDT entry beyond the limit:
			 * the entry's byte offset + 2 (target/i386/tcg/seg_helper.c,
			 * do_interrupt64), where the SDM (3A 6.13) has index * 8 + 2.
			 */
			sb_add(sb, " = IDT entry %u*", prev->vector);
			qemu = true;
		} else if (e->error & X86_ERR_IDT) {
			sb_add(sb, " = IDT entry %u", X86_ERR_INDEX(e->error));
		} else if (X86_ERR_INDEX(e->error) || (e->error & X86_ERR_TI)) {
			sb_add(sb, " = %s selector %#x", e->error & X86_ERR_TI ? "LDT" : "GDT",
			       X86_ERR_INDEX(e->error) << 3);
		}
	}
	if (e->vector == X86_EXC_PF && e->type == INTR_TYPE_HARD_EXCEPTION)
		sb_add(sb, ", CR2 %#llx", (unsigned long long)e->cr2);
	sb_add(sb, ")");
	return qemu;
}

/* Stop with the record: "triple fault at RIP r: #UD (vector 6) -> #GP (...) -> ...". */
static void stop_triple_fault(struct vcpu *v, uint32_t idt_limit)
{
	char chain[sizeof(v->stop_reason)];
	struct strbuf sb = { chain, sizeof(chain), 0 };
	const struct exc_chain *c = &v->exc;

	bool qemu = false;

	chain[0] = '\0';
	for (unsigned i = 0; i < c->n; i++) {
		if (i)
			sb_add(&sb, " -> ");
		qemu |= describe(&sb, &c->ev[i], i ? &c->ev[i - 1] : NULL);
	}
	vcpu_stop(v, STOP_TRIPLE_FAULT, "triple fault at RIP %#llx: %s; guest IDT limit %#x%s",
		  (unsigned long long)c->rip, chain, idt_limit,
		  qemu ? " (*QEMU's error code, vector * 16 + 2)" : "");
}


bool vcpu_exception_raised(struct vcpu *v, struct exc_event *e, const struct exc_event *idt,
			   uint32_t idt_limit)
{
	chain_begin(v, idt);
	chain_add(v, e);
	if (idt && idt->type == INTR_TYPE_HARD_EXCEPTION) {
		if (idt->vector == X86_EXC_DF) { /* an exception while delivering #DF: shutdown */
			stop_triple_fault(v, idt_limit);
			return false;
		}
		if (makes_double_fault(idt->vector, e->vector)) {
			*e = (struct exc_event){ .vector = X86_EXC_DF, .type = INTR_TYPE_HARD_EXCEPTION,
						 .has_error = true, .error = 0 };
			chain_add(v, e);
		}
	}
	return true;
}

bool vcpu_exc_sets_rf(const struct exc_event *e)
{
	return e->type == INTR_TYPE_HARD_EXCEPTION && exc_is_fault(e->vector);
}

void vcpu_shutdown(struct vcpu *v, uint32_t idt_limit)
{
	const struct exc_chain *c = &v->exc;

	/* A shutdown minihv did not see coming (its last injection failed some other way). */
	if (c->n && c->injected_at + 1 == v->stats.exits_total) {
		stop_triple_fault(v, idt_limit);
		return;
	}
	vcpu_stop(v, STOP_TRIPLE_FAULT,
		  "triple fault at RIP %#llx: no exception recorded (the CPU records none for a "
		  "triple fault; #DB, #BP and #MC are not intercepted); guest IDT limit %#x",
		  (unsigned long long)v->be->rip(v), idt_limit);
}
