/*
 * #VMEXIT decoding on SVM (APM vol. 2, appendix C). The exits every backend
 * handles alike go to virt/; what is SVM's own is here: the instruction
 * lengths (next RIP where the CPU saves it), VMCALL arriving as #UD, and
 * the shutdown that a triple fault becomes.
 */
#include "svm/svm.h"
#include "svm/svm_defs.h"
#include "svm/vmcb.h"
#include "lib/lib.h"

uint64_t svm_guest_rip(struct vcpu *v)
{
	return vmcb_read64(v, VMCB_RIP);
}

/* The length of the instructions that exit here, for a CPU without next-RIP saving. */
static unsigned insn_len(uint64_t code)
{
	switch (code) {
	case SVM_EXIT_CPUID: return 2;
	case SVM_EXIT_HLT: return 1;
	case SVM_EXIT_MSR: return 2;
	case SVM_EXIT_WBINVD: return 2; /* 0f 09; WBNOINVD's f3 prefix: handle_wbinvd() */
	case SVM_EXIT_INVD: return 2;   /* 0f 08, a PC guest's */
	case SVM_EXIT_VMMCALL: case SVM_EXIT_MONITOR: case SVM_EXIT_MWAIT: return 3;
	case SVM_EXIT_UD: return 3; /* a VMCALL: svm_exit_kind() checked its bytes */
	default: return 0;
	}
}

void svm_skip_instruction(struct vcpu *v)
{
	uint64_t code = v->last_exit_reason, next;

	if (code == SVM_EXIT_IOIO)
		next = vmcb_read64(v, VMCB_EXITINFO2); /* always saved for IOIO (15.10.2) */
	else if (svm_this_cpu.caps.nrips && code != SVM_EXIT_UD)
		next = vmcb_read64(v, VMCB_NRIP);
	else
		next = svm_guest_rip(v) + insn_len(code);
	vmcb_write64(v, VMCB_RIP, next);
	/* The instruction ran: an STI shadow before it is over (vmx_skip_instruction()). */
	if (v->pc)
		vmcb_write64(v, VMCB_INT_SHADOW,
			     vmcb_read64(v, VMCB_INT_SHADOW) & ~(uint64_t)SVM_INT_SHADOW);
}

/* Where the VMCB keeps @msr (VMRUN switches EFER and PAT, VMLOAD/VMSAVE the rest). */
static unsigned msr_offset(uint32_t msr)
{
	switch (msr) {
	case MSR_FS_BASE: return VMCB_FS + VMCB_SEG_BASE;
	case MSR_GS_BASE: return VMCB_GS + VMCB_SEG_BASE;
	case MSR_KERNEL_GS_BASE: return VMCB_KERNEL_GS_BASE;
	case MSR_STAR: return VMCB_STAR;
	case MSR_LSTAR: return VMCB_LSTAR;
	case MSR_CSTAR: return VMCB_CSTAR;
	case MSR_SFMASK: return VMCB_SFMASK;
	case MSR_IA32_SYSENTER_CS: return VMCB_SYSENTER_CS;
	case MSR_IA32_SYSENTER_ESP: return VMCB_SYSENTER_ESP;
	case MSR_IA32_SYSENTER_EIP: return VMCB_SYSENTER_EIP;
	case MSR_IA32_PAT: return VMCB_G_PAT;
	default: return VMCB_EFER;
	}
}

uint64_t svm_get_msr(struct vcpu *v, uint32_t msr)
{
	if (msr == MSR_EFER) /* shadow paging: the guest's own; else SVME is the host's */
		return v->vm->shadow ? v->sh.efer : vmcb_read64(v, VMCB_EFER) & ~EFER_SVME;
	return vmcb_read64(v, msr_offset(msr));
}

void svm_set_msr(struct vcpu *v, uint32_t msr, uint64_t val)
{
	if (msr != MSR_EFER) {
		vmcb_write64(v, msr_offset(msr), val);
		return;
	}
	/*
	 * Shadow paging runs a guest whose paging is off with the CPU's on
	 * (virt/shadow.c): LME there would make it enter long mode on the
	 * identity map. The guest reads its EFER as written; the CPU has LME
	 * only while the guest's CR0.PG is set (KVM's svm_set_efer()).
	 */
	if (v->vm->shadow) {
		v->sh.efer = val;
		if (!(v->sh.cr0 & X86_CR0_PG))
			val &= ~(EFER_LME | EFER_LMA);
	}
	vmcb_write64(v, VMCB_EFER, val | EFER_SVME);
}

/* The linear address of CS:RIP: CS's base counts outside 64-bit mode (32 bits wide there). */
static uint64_t rip_linear(struct vcpu *v)
{
	bool long64;
	uint64_t base = svm_cs_base(v, &long64), rip = svm_guest_rip(v);

	return long64 ? rip : (uint32_t)(base + rip);
}

/*
 * #UD: the guest may have used Intel's VMCALL (0f 01 c1) on this AMD CPU.
 * As KVM does, that is the same hypercall as VMMCALL, so a guest need not
 * know its vendor (guest/ABI.md). Any other #UD goes back to the guest.
 */
static enum vcpu_exit_kind ud_kind(struct vcpu *v)
{
	static const uint8_t vmcall[3] = { 0x0f, 0x01, 0xc1 };
	uint8_t insn[sizeof(vmcall)];
	int r = vcpu_read_linear(v, rip_linear(v), insn, sizeof(insn));

	/*
	 * -EAGAIN: a change owns the page for now (a migrate between its
	 * steps): unknown yet, so neither a hypercall nor a #UD. The guest is
	 * resumed as it is and runs the instruction again (a #UD reflected
	 * there once killed a fuzzed guest whose page moved: issue 22).
	 */
	if (r == -EAGAIN)
		return VEXIT_OTHER;
	return !r && !memcmp(insn, vmcall, sizeof(vmcall)) ? VEXIT_HYPERCALL : VEXIT_EXCEPTION;
}

/* INVD and XSETBV are not emulated, as on VMX (guest/ABI.md): the guest stops, naming it. */
static void not_emulated(struct vcpu *v, uint64_t code)
{
	vcpu_stop(v, STOP_UNHANDLED, "unhandled exit %#llx (%s), EXITINFO1 %#llx, RIP %#llx",
		  (unsigned long long)code, svm_exit_name((unsigned)code),
		  (unsigned long long)v->last_exit_qual, (unsigned long long)svm_guest_rip(v));
}

/*
 * WBINVD and WBNOINVD are no-ops (guest/ABI.md): no device DMAs to guest
 * memory, so its write-back caching is never visible, and the host's
 * caches are not the guest's to flush (KVM does the same without
 * non-coherent DMA). The bytes are read: without NRIPS for WBNOINVD's
 * length (f3 0f 09), and because QEMU 7.2 TCG reports INVD (0f 08) with
 * this exit code too (its translate.c picks the code by opcode bit 1
 * instead of bit 0; fixed upstream in 2023).
 */
static void handle_wbinvd(struct vcpu *v)
{
	uint64_t rip = svm_guest_rip(v), la = rip_linear(v);
	uint8_t b = 0, op = 0;
	unsigned prefix = !vcpu_read_linear(v, la, &b, 1) && b == 0xf3;

	if (!v->pc && !vcpu_read_linear(v, la + prefix + 1, &op, 1) && op == 0x08) {
		not_emulated(v, SVM_EXIT_INVD);
		return;
	}
	svm_skip_instruction(v);
	if (prefix && !svm_this_cpu.caps.nrips)
		vmcb_write64(v, VMCB_RIP, rip + 3);
}

static void inject_ud(struct vcpu *v)
{
	vmcb_write64(v, VMCB_EVENTINJ, SVM_EVT_VALID | SVM_EVT_TYPE_EXC | 6);
}

enum vcpu_exit_kind svm_exit_kind(struct vcpu *v, uint64_t code)
{
	switch (code) {
	case SVM_EXIT_UD: return ud_kind(v);
	case SVM_EXIT_CPUID: return VEXIT_CPUID;
	case SVM_EXIT_HLT: return VEXIT_HLT;
	case SVM_EXIT_VMMCALL: return VEXIT_HYPERCALL;
	case SVM_EXIT_IOIO: return VEXIT_IO;
	case SVM_EXIT_MSR: return VEXIT_MSR;
	case SVM_EXIT_NPF:
		return v->last_exit_qual & SVM_NPF_RSVD ? VEXIT_TDP_MISCONFIG : VEXIT_TDP_FAULT;
	case SVM_EXIT_MONITOR: return VEXIT_MONITOR;
	case SVM_EXIT_MWAIT: return VEXIT_MWAIT;
	case SVM_EXIT_INTR: return VEXIT_INTR;
	case SVM_EXIT_SHUTDOWN: return VEXIT_SHUTDOWN;
	case SVM_EXIT_INVLPG: return VEXIT_INVLPG;
	default:
		if (code < 0x20) /* CR reads 0x00-0x0f, writes 0x10-0x1f */
			return VEXIT_CR_ACCESS;
		return code >= SVM_EXIT_EXCP_BASE && code < SVM_EXIT_EXCP_BASE + 32 ? VEXIT_EXCEPTION
										    : VEXIT_OTHER;
	}
}

/* One switch over the exit code, read as one table (over 60 lines on purpose). */
bool svm_handle_exit(struct vcpu *v, uint64_t code, enum vcpu_exit_kind kind)
{
	uint64_t info1 = v->last_exit_qual;

	switch (code) {
	case SVM_EXIT_CPUID:
		vcpu_handle_cpuid(v);
		break;
	case SVM_EXIT_HLT:
		vcpu_handle_hlt(v);
		break;
	case SVM_EXIT_VMMCALL:
		vcpu_handle_hypercall(v);
		break;
	case SVM_EXIT_UD:
		if (kind == VEXIT_HYPERCALL)
			vcpu_handle_hypercall(v);
		else if (kind == VEXIT_EXCEPTION)
			svm_handle_exception(v, X86_EXC_UD);
		/* else its bytes cannot be read yet (ud_kind()): run it again */
		break;
	case SVM_EXIT_IOIO:
		vcpu_handle_io(v, SVM_IO_PORT(info1), SVM_IO_SIZE(info1), info1 & SVM_IO_IN,
			       info1 & SVM_IO_STR);
		break;
	case SVM_EXIT_MSR:
		vcpu_handle_msr(v, info1 == 1);
		break;
	case SVM_EXIT_NPF:
		if (kind == VEXIT_TDP_MISCONFIG) {
			svm_requeue_event(v);
			vcpu_handle_tdp_misconfig(v, vmcb_read64(v, VMCB_EXITINFO2));
		} else {
			svm_handle_npf(v, info1);
		}
		break;
	case SVM_EXIT_MONITOR:
	case SVM_EXIT_MWAIT:
		/* MWAIT may return at any time: a no-op keeps the CPU ours. */
		svm_skip_instruction(v);
		break;
	case SVM_EXIT_WBINVD:
		handle_wbinvd(v);
		break;
	case SVM_EXIT_XSETBV:
		if (v->pc) { /* a PC guest's XCR0 is its own (virt/pc.c) */
			pc_xsetbv(v);
			break;
		}
		not_emulated(v, code);
		break;
	case SVM_EXIT_INVD:
		/* A PC guest's INVD writes back instead, as KVM's: its data stays coherent. */
		if (v->pc)
			svm_skip_instruction(v);
		else
			not_emulated(v, code);
		break;
	case SVM_EXIT_VINTR:
		svm_handle_vintr(v);
		break;
	case SVM_EXIT_IRET: /* an NMI handler's end (svm/pc.c) */
		svm_handle_iret(v);
		break;
	case SVM_EXIT_INTR:
	case SVM_EXIT_NMI:
		/* The host's, taken at the STGI after the exit (the watchdog's: svm/vcpu.c). */
		svm_requeue_event(v);
		break;
	case SVM_EXIT_SHUTDOWN:
		svm_shutdown(v);
		break;
	case SVM_EXIT_INVLPG: /* shadow paging only */
		svm_handle_invlpg(v);
		break;
	case SVM_EXIT_VMRUN:
	case SVM_EXIT_VMLOAD:
	case SVM_EXIT_VMSAVE:
	case SVM_EXIT_STGI:
	case SVM_EXIT_CLGI:
	case SVM_EXIT_SKINIT:
	case SVM_EXIT_INVLPGA:
		/* SVM is hidden from the guest: its instructions raise #UD, as on a CPU without it. */
		inject_ud(v);
		break;
	default:
		if (kind == VEXIT_CR_ACCESS) { /* shadow paging only */
			svm_handle_cr_access(v, code);
			break;
		}
		if (code == SVM_EXIT_EXCP_BASE + X86_EXC_DB && v->nmi_singlestep) {
			svm_nmi_step_done(v); /* minihv's own single step (svm/pc.c) */
			break;
		}
		if (kind == VEXIT_EXCEPTION) { /* the other intercepted exceptions */
			svm_handle_exception(v, (unsigned)(code - SVM_EXIT_EXCP_BASE));
			break;
		}
		vcpu_stop(v, STOP_UNHANDLED, "unhandled exit %#llx (%s), EXITINFO1 %#llx, RIP %#llx",
			  (unsigned long long)code, svm_exit_name((unsigned)code),
			  (unsigned long long)info1,
			  (unsigned long long)svm_guest_rip(v));
		break;
	}
	return v->stop == STOP_NONE;
}
