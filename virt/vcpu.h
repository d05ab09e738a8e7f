/*
 * A virtual CPU, whichever vendor runs it: its registers, why it stopped,
 * what it counted, its guest console and COM1, and the exits every backend
 * handles alike (CPUID, port I/O, the hypercalls of guest/ABI.md). One vCPU
 * per VM, run on the calling CPU until it stops. A backend (vmx/, svm/)
 * supplies struct vcpu_backend and keeps its own state in struct vcpu_hw.
 */
#ifndef MINIHV_VIRT_VCPU_H
#define MINIHV_VIRT_VCPU_H

#include "virt/uart.h"
#include "virt/console.h"
#include "virt/unswitched.h"
#include "virt/insn.h"      /* the decoder, for the backends' shadow-paging exits */
#include "virt/platform.h"
#include "virt/lapic.h"
#include "ept/vm.h"
#include "arch/x86/arch.h"

struct vm;

/* Saved by the backend's entry code (vmx/run.asm, svm/run.asm) on every exit. */
struct vcpu_regs {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
};

enum vcpu_stop {
	STOP_NONE,
	STOP_EXIT,        /* HC_EXIT: exit_code holds the guest's code */
	STOP_HLT,         /* HLT with nothing to wake it */
	STOP_TRIPLE_FAULT,
	STOP_BAD_GPA,     /* access outside every memslot */
	STOP_READONLY,    /* write to a read-only memslot */
	STOP_WATCHDOG,    /* timer or exit budget used up */
	STOP_BUGGED,      /* the VM was marked bugged (e.g. EPT misconfiguration) */
	STOP_ENTRY_FAIL,  /* the guest could not be entered */
	STOP_UNHANDLED,   /* an exit minihv does not emulate */
	STOP_INIT,        /* a PC guest's AP got INIT: it waits for a SIPI (boot/smp_guest.c) */
	/* Resumable with vcpu_resume(): */
	STOP_YIELD,       /* HC_YIELD: exit_code holds the value passed */
	STOP_MEMORY_FAULT, /* write to a host-write-protected page; retried on resume */
};

/* Exits by what the guest did, the same on every backend. */
enum vcpu_exit_kind {
	VEXIT_OTHER,
	VEXIT_CPUID,
	VEXIT_HLT,
	VEXIT_HYPERCALL,   /* VMCALL, or VMMCALL on SVM */
	VEXIT_IO,
	VEXIT_MSR,
	VEXIT_EXCEPTION,
	VEXIT_TDP_FAULT,   /* EPT violation or nested page fault */
	VEXIT_TDP_MISCONFIG,
	VEXIT_MONITOR,
	VEXIT_MWAIT,
	VEXIT_TIMER,       /* the watchdog's time slice ended */
	VEXIT_INTR,        /* a host interrupt */
	VEXIT_SHUTDOWN,    /* triple fault */
	VEXIT_CR_ACCESS,   /* shadow paging: MOV to/from CR0, CR3, CR4 */
	VEXIT_INVLPG,      /* shadow paging */
	VEXIT_KINDS
};

/* What the vCPU counts (the VM's second-level figures are in struct vm_stats). */
struct vcpu_stats {
	uint64_t exits_total;
	uint64_t exits[VEXIT_KINDS];
	uint64_t hypercalls;
	uint64_t io_exits;
	uint64_t refaults;       /* second-level faults on the same page in a row, now */
	uint64_t refaults_max;   /* ... the longest run (retries of one fault) */
	uint64_t lost_races;     /* of those, after an invalidation ended (virt/exits.c) */
	uint64_t lost_races_max;
	uint64_t pf_absorbed;    /* shadow paging: #PF exits minihv handled, not the guest's */
};

/*
 * An event's information word, the same on VMX (VM-exit interruption and
 * IDT-vectoring information, SDM 3C 25.9.2-3) and SVM (EXITINTINFO and
 * EVENTINJ, APM vol. 2, 15.20): vector, type, error code valid, valid.
 */
#define INTR_INFO_VECTOR(i) ((i) & 0xff)
#define INTR_INFO_TYPE(i) (((i) >> 8) & 7)
#define INTR_INFO_DELIVER_CODE (1u << 11) /* an error code goes with it */
#define INTR_INFO_VALID (1u << 31)
#define INTR_TYPE_EXT_INTR 0
#define INTR_TYPE_NMI 2
#define INTR_TYPE_HARD_EXCEPTION 3
#define INTR_TYPE_SOFT_INTR 4         /* INT n */
#define INTR_TYPE_PRIV_SOFT_EXCEPTION 5 /* INT1 (ICEBP) */
#define INTR_TYPE_SOFT_EXCEPTION 6    /* INT3, INTO */

/* An exception of the guest's, recorded as it is delivered (virt/exception.c). */
struct exc_event {
	uint8_t vector;
	uint8_t type;     /* INTR_TYPE_* */
	bool has_error;
	uint32_t error;
	uint64_t cr2;     /* #PF: the faulting linear address */
};

#define EXC_CHAIN_MAX 6
struct exc_chain {
	uint64_t rip;
	uint64_t injected_at; /* v->stats.exits_total when ev[n - 1] was injected */
	unsigned n;
	struct exc_event ev[EXC_CHAIN_MAX];
};

/* The backend's own state of one vCPU. */
struct vcpu_hw {
	uint64_t pa;          /* the VMCS (VMX) or the VMCB (SVM) */
	void *va;             /* SVM: the VMCB's host-virtual address (no phys_to_virt() per access) */
	uint64_t host_pa;     /* SVM: where VMSAVE keeps the host's state */
	bool launched;        /* VMX: VMRESUME from now on */
	uint32_t asid;        /* SVM: the guest's ASID */
	uint64_t asid_generation; /* SVM: of svm/asid.c, when it was handed out */
	uint32_t timer_value; /* the watchdog's slice, in the backend's timer units */
	bool lapic_watchdog;  /* VMX without the preemption timer: the local APIC's */
	uint16_t vpid;        /* VMX: the guest's VPID, 0 without VPID */
	uint64_t msr_pa;      /* VMX without the EFER controls: EFER's MSR-load/store lists */
	unsigned insn_len;    /* SVM: the length of the instruction an exit decoded */
};

/*
 * Guest entry state (guest/ABI.md), the same on every backend. CR0: PE | MP
 * | ET | NE | PG (EM and TS clear: x87 and SSE run without #NM); CR4: PAE |
 * OSFXSR | OSXMMEXCPT, so compiled C that uses SSE runs. RFLAGS has only its
 * fixed bit 1, DR7 its reset value.
 */
#define VCPU_ENTRY_CR0 (X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE | X86_CR0_PG)
#define VCPU_ENTRY_CR4 (X86_CR4_PAE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT)
#define VCPU_ENTRY_RFLAGS 0x2
#define VCPU_ENTRY_DR7 0x400

/*
 * The exceptions a backend lets the guest take without an exit (why:
 * virt/exception.c): #DB and #BP, whose side effects the CPU gets right, #MC,
 * the host's business, and NMI, which is no guest exception.
 */
#define VCPU_EXC_NOT_INTERCEPTED \
	((1u << X86_EXC_DB) | (1u << X86_EXC_NMI) | (1u << X86_EXC_BP) | (1u << X86_EXC_MC))

/*
 * How a vCPU starts (guest/ABI.md). VCPU_ENTRY_LONG is minihv's own flat
 * guest: 64-bit mode, paging on with @cr3. VCPU_ENTRY_PROT32 is a
 * multiboot1 kernel's (Multiboot spec 0.6.96, 3.2): 32-bit protected mode,
 * paging off, flat 4 GiB CS/DS/ES/FS/GS/SS, EAX = @rax, EBX = @rbx, at
 * @rip. VCPU_ENTRY_REAL is an AP at its startup IPI (SDM 3A, 9.4.4 / 11.6):
 * real mode, CS selector @rip >> 4, base @rip, IP 0 (@rip is the SIPI
 * vector << 12). A backend that cannot run a mode (VMX without unrestricted
 * guest) refuses it in create() with -EOPNOTSUPP and the reason.
 */
enum vcpu_entry_mode { VCPU_ENTRY_LONG, VCPU_ENTRY_PROT32, VCPU_ENTRY_REAL };

struct vcpu_entry {
	uint64_t rip, rsp, cr3;
	uint64_t rdi, rsi, rdx;
	enum vcpu_entry_mode mode;
	uint64_t rax, rbx; /* VCPU_ENTRY_PROT32 */
};

struct vcpu;

/* What each backend implements; the loader picks one (boot/guest.c). */
struct vcpu_backend {
	const char *name;     /* "VMX", "SVM" */
	const char *tdp_name; /* "EPT", "NPT" */
	const char *(*exit_name)(unsigned code); /* "EPT_VIOLATION", "NPF" */
	int (*create)(struct vcpu *v, const struct vcpu_entry *e, char *err, size_t errlen);
	/* Run until the guest stops; returns v->stop. */
	enum vcpu_stop (*run)(struct vcpu *v);
	void (*destroy)(struct vcpu *v);
	/* Resume after the exiting instruction. */
	void (*skip_instruction)(struct vcpu *v);
	uint64_t (*rip)(struct vcpu *v);
	/* The MSRs the backend keeps in its VMCS/VMCB: IA32_EFER, FS and GS base. */
	uint64_t (*get_msr)(struct vcpu *v, uint32_t msr);
	void (*set_msr)(struct vcpu *v, uint32_t msr, uint64_t val);
	/*
	 * Forget the VM's second-level translations on this CPU before the
	 * next entry (INVEPT single-context; an ASID flush in the VMCB).
	 */
	void (*flush_local)(struct vcpu *v);
	/*
	 * Shadow paging: load control register @cr (0, 3 or 4) with @hw, the
	 * value the CPU runs with, while the guest reads @guest (a read shadow
	 * on VMX; SVM intercepts the reads).
	 */
	void (*set_cr)(struct vcpu *v, unsigned cr, uint64_t guest, uint64_t hw);
	/* Resume at @rip (an emulated instruction's end). */
	void (*set_rip)(struct vcpu *v, uint64_t rip);
	/*
	 * Load @e's entry state again, as INIT then SIPI do for an AP
	 * (virt/lapic.c); on the vCPU's own CPU, between runs. 0 or -errno.
	 */
	int (*reset)(struct vcpu *v, const struct vcpu_entry *e, char *err, size_t errlen);
	/*
	 * A multiboot1 guest's PC (virt/pc.c): what the guest reads in CR0,
	 * CR3 or CR4; its CS base and whether it runs 64-bit code; an
	 * exception an emulated instruction raises (recorded and delivered as
	 * one the CPU raised); the TSC offset; and interrupt delivery:
	 * whether an external interrupt can be taken now (RFLAGS.IF, no
	 * interrupt shadow, no event being injected), inject one (@vector, or
	 * -2 for an NMI), and ask for an exit once one can be taken.
	 */
	uint64_t (*get_cr)(struct vcpu *v, unsigned cr);
	uint64_t (*get_rflags)(struct vcpu *v);
	uint64_t (*cs_base)(struct vcpu *v, bool *long64);
	void (*raise)(struct vcpu *v, struct exc_event *e);
	void (*set_tsc_offset)(struct vcpu *v, uint64_t offset);
	bool (*irq_ready)(struct vcpu *v, bool nmi);
	void (*inject_irq)(struct vcpu *v, int vector);
	void (*irq_window)(struct vcpu *v, bool nmi);
	/* Bits of CPUID leaf 1 ECX / 0x80000001 ECX a guest must not see (nesting). */
	uint32_t cpuid1_ecx_hide, cpuid81_ecx_hide;
};

/* A vCPU's paging state under shadow paging (virt/shadow.c). */
struct vcpu_shadow {
	uint64_t cr0, cr3, cr4;   /* as the guest set them */
	/*
	 * SVM: EFER as the guest reads it (KVM's vcpu->arch.efer); the CPU's
	 * has LME only while the guest's paging is on (svm/exits.c).
	 */
	uint64_t efer;
	struct shadow_page *root; /* the shadow table the CPU walks for cr3 */
	/* The last write unshadowed rather than emulated: the same one again stops. */
	uint64_t unprotect_rip, unprotect_gpa;
	uint64_t unprotect_exit; /* exits_total then: "at once" is the very next exit */
};

/* vcpu->mode, as KVM's: a remote flush kicks and waits only for IN_GUEST. */
enum vcpu_mode { VCPU_OUTSIDE_GUEST, VCPU_IN_GUEST };

struct vcpu {
	struct vm *vm;
	const struct vcpu_backend *be;
	struct pc_platform *pc;   /* a multiboot1 guest's PC (virt/platform.h); NULL: a flat guest */
	/*
	 * Every exit takes the slow path (virt/fastpath.h): a vCPU-info area
	 * is registered (each exit writes it) or this is a PC guest's vCPU
	 * (presented CPUID, interrupts at each entry). One flag, so the fast
	 * path tests one byte for both (make bench: CPUID's budget).
	 */
	bool exits_slow;
	unsigned index;           /* in vm->vcpus[] */
	unsigned number;          /* the guest's number for it (R8 at entry; 0 for the first) */
	unsigned cpu;             /* the CPU it was created on, and runs on (its VMCS) */
	int mode;                 /* enum vcpu_mode; written by its CPU, read by flushers */
	bool in_run;              /* inside vcpu_run(): the snapshot below is not its state */
	uint64_t entries;         /* guest entries so far: a kicked vCPU has left when it moves */
	uint64_t tlb_gen;         /* the VM's flush request it last honoured */
	uint64_t local_flushes;   /* flushes it did before an entry */
	struct vcpu_regs regs;
	struct vcpu_stats stats;
	/*
	 * What only the VMCS or VMCB holds, copied when vcpu_run() returns, so
	 * that dump=vcpu and gdb's hv-vcpu can show it (gdb cannot VMREAD).
	 */
	struct vcpu_snapshot {
		uint64_t rip, rsp, rflags, cr0, cr3, cr4, efer;
	} snap;
	struct vcpu_hw hw;
	struct vcpu_shadow sh;    /* vm->shadow only */
	/* A multiboot1 guest's PC only (v->pc): its local APIC, TSC and MSRs (virt/pc_msr.c). */
	struct vlapic lapic;
	uint64_t tsc_offset;      /* guest TSC - host TSC */
	struct pc_msrs {
		uint64_t tsc_adjust, tsc_aux, misc_enable, mcg_status, pkrs;
		uint64_t pat;                      /* VMX: no PAT switching, kept for reads */
		uint64_t syscall[PC_SYSCALL_MSRS]; /* VMX: STAR, LSTAR, CSTAR, FMASK, KERNEL_GS_BASE */
	} pcm;
	uint64_t halts;           /* HLTs that slept until an interrupt */
	/* SVM: an injected NMI blocks NMIs until its IRET has run (svm/pc.c). */
	bool nmi_masked, nmi_awaiting_iret, nmi_singlestep;
	uint64_t nmi_iret_rip;
	enum vcpu_stop stop;
	long exit_code;
	char stop_reason[320]; /* a triple fault's chain of five exceptions fits */
	unsigned last_exit_reason; /* the backend's exit code */
	uint64_t last_exit_qual;   /* VMX: the qualification; SVM: EXITINFO1 */
	uint64_t last_fault_gpa;   /* the GPA of the latest second-level fault */
	uint64_t last_fault_seq;   /* the VM's invalidation seq at that fault */
	struct memslot_cache slot_cache; /* the memslot of its last second-level fault */
	/* Guest serial output, printed a line at a time with the guest's name (virt/console.c). */
	struct console_line line;
	struct uart16550 uart;    /* its COM1 registers (virt/uart.c) */
	struct exc_chain exc;     /* the exceptions of the last delivery */
	struct vcpu_unswitched unswitched; /* x87/SSE and CR2 between runs (virt/unswitched.c) */
	/* Watchdog: timer slices and exits allowed before the guest is stopped. */
	uint64_t timer_slices_left;
	uint64_t exits_left;
	/* The guest's registered vCPU-info area (HC_VCPU_INFO), through a gpc. */
	struct gpc info;
	uint32_t info_version;
	uint64_t info_updates, info_skipped;
};

/*
 * The VM's flush (mmu_caps.flush): every vCPU forgets the VM's translations
 * before it next enters, and each one in guest mode on another CPU is
 * kicked out first (virt/remote.c).
 */
void vcpu_flush_vm(struct vm *vm);
/*
 * Enter @v in @vm->vcpus[] (the first free slot, @v->index), where flushes
 * find it: 0, or -ENOSPC when the VM has VM_MAX_VCPUS vCPUs already. Its
 * cpu must be set. vcpu_unregister(): out again; once it returns, no flush
 * touches @v (virt/remote.c), so its memory may go.
 */
int vcpu_register(struct vm *vm, struct vcpu *v);
void vcpu_unregister(struct vcpu *v);
/*
 * Around each VM entry, interrupts off (the backends' run loops); inline,
 * as they run on every exit (issue 22). The ordering against a flush is
 * virt/remote.c's.
 */
static inline void vcpu_enter_guest_mode(struct vcpu *v)
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

	if (unlikely(gen != v->tlb_gen)) {
		v->tlb_gen = gen;
		v->local_flushes++;
		v->be->flush_local(v);
	}
}

static inline void vcpu_exit_guest_mode(struct vcpu *v)
{
	__atomic_add_fetch(&v->entries, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&v->mode, VCPU_OUTSIDE_GUEST, __ATOMIC_RELEASE);
}

/* Common set-up, then @be->create(). 0 or -errno with the reason in @err. */
int vcpu_create(struct vcpu *v, struct vm *vm, const struct vcpu_backend *be,
		const struct vcpu_entry *entry, char *err, size_t errlen);
/* Run until the guest stops; returns v->stop. */
enum vcpu_stop vcpu_run(struct vcpu *v);
void vcpu_destroy(struct vcpu *v);
/* After STOP_YIELD or STOP_MEMORY_FAULT: run on. Returns false for other stops. */
bool vcpu_resume(struct vcpu *v);
const char *vcpu_stop_name(enum vcpu_stop s);
const char *vcpu_exit_kind_name(enum vcpu_exit_kind k);

void vcpu_stop(struct vcpu *v, enum vcpu_stop why, const char *fmt, ...) __printf(3, 4);
/* Print the guest's pending serial output as one "guest[name]: ..." line. */
void vcpu_flush_console(struct vcpu *v);

/*
 * For the backends' run loops: count exit @raw of kind @k, update the
 * vCPU-info area and spend the exit budget. False stops the vCPU.
 */
bool vcpu_account_exit(struct vcpu *v, unsigned raw, enum vcpu_exit_kind k);
/* At each stop: flush a pending console line (not at a pause). */
void vcpu_stopped(struct vcpu *v);
/* The exits every backend handles alike (virt/exits.c, virt/hypercall.c). */
void vcpu_handle_cpuid(struct vcpu *v);
/*
 * Port I/O of @size bytes at @port: COM1 is emulated; with a PC platform
 * (v->pc) so are its ports (pc_handle_io()), else the guest stops.
 */
bool vcpu_handle_io(struct vcpu *v, unsigned port, unsigned size, bool in, bool string);
/* A PC port (virt/platform.c): true if handled, false if strict_io refuses it. */
bool pc_handle_io(struct vcpu *v, unsigned port, unsigned size, bool in);
/* An IN's result into RAX: AL/AX keep the rest of RAX; EAX zero-extends, as on hardware. */
static inline void vcpu_set_in_result(struct vcpu *v, unsigned size, uint32_t val)
{
	uint64_t mask = size == 4 ? 0xffffffffULL : (1ULL << (size * 8)) - 1;

	v->regs.rax = size == 4 ? val : (v->regs.rax & ~mask) | (val & mask);
}

/*
 * A multiboot1 guest's PC, per vCPU (virt/pc.c, virt/pc_msr.c,
 * virt/cpuid.c, virt/lapic.c). pc_vcpu_init(): after vcpu_create(), give
 * @v the platform @pc and its local APIC (@apic_id; the BSP's is 0).
 */
void pc_vcpu_init(struct vcpu *v, struct pc_platform *pc, uint32_t apic_id);
/*
 * Before each entry (the backends' run loops, v->pc only): fire the APIC
 * timer, then inject the highest deliverable interrupt or NMI, or ask for
 * the exit that lets it in. False: the vCPU got INIT (v->stop is STOP_INIT).
 */
bool pc_before_entry(struct vcpu *v);
/* HLT: sleep until an interrupt is due (or the guest stops); RIP already past it. */
void pc_hlt(struct vcpu *v, uint64_t at);
void pc_handle_msr(struct vcpu *v, bool write);
void pc_msr_reset(struct vcpu *v);
void pc_cpuid(struct vcpu *v, uint32_t leaf, uint32_t sub, uint32_t r[4]);
/* XSETBV of EDX:EAX to XCR ECX: loaded, or #GP as the CPU would raise it. */
void pc_xsetbv(struct vcpu *v);
/* A second-level fault outside RAM at @gpa: true if it was the APIC page (emulated). */
bool pc_mmio(struct vcpu *v, uint64_t gpa);
/*
 * Copy @len bytes (within one page) at the guest's linear address @la, as
 * its paging maps it: none (paging off), or 4-level long-mode paging (else
 * -EOPNOTSUPP), the guest's own CR3 also under shadow paging. 0 or -errno,
 * -EAGAIN while the host is changing the page (virt/pc.c).
 */
int vcpu_read_linear(struct vcpu *v, uint64_t la, void *buf, size_t len);
/* The SIPI vector an AP waiting since INIT got, or -1 (and clears it). */
int pc_take_sipi(struct vcpu *v);
/* The local APIC (virt/lapic.c). */
void lapic_reset(struct vcpu *v, uint32_t id, bool bsp);
void lapic_mmio(struct vcpu *v, uint32_t off, bool write, uint32_t *val);
int lapic_x2apic_msr(struct vcpu *v, uint32_t msr, bool write, uint64_t *val);
int lapic_set_base(struct vcpu *v, uint64_t val);
int lapic_deadline_msr(struct vcpu *v, bool write, uint64_t *val);
int lapic_next_event(struct vcpu *v, bool take);
uint64_t lapic_timer_due(struct vcpu *v);
/* An interrupt message from the I/O APIC to the matching local APIC(s) of @vm (SDM 3A, 11.11.1). */
void lapic_deliver_msg(struct vm *vm, uint32_t dest, bool logical, unsigned mode, unsigned vec,
		       bool level);
void vcpu_handle_hypercall(struct vcpu *v);
/* RDMSR (@write false) or WRMSR: emulated, or the guest stops naming the MSR (virt/msr.c). */
void vcpu_handle_msr(struct vcpu *v, bool write);
/*
 * EFER writes, one rule for both kinds of guest (virt/msr.c): NULL if the
 * guest may write @val, else why not (a flat guest stops with it, a PC
 * guest gets #GP); efer_write() stores it, LMA kept (the CPU's).
 */
const char *efer_write_refused(struct vcpu *v, uint64_t val);
void efer_write(struct vcpu *v, uint64_t val);
/* "IA32_EFER", ...; NULL for an MSR minihv has no name for. */
const char *msr_name(uint32_t msr);
/* A second-level fault at @gpa (write or not): mmu_fault(), stops with the reason. */
void vcpu_handle_tdp_fault(struct vcpu *v, uint64_t gpa, bool write);
/* An entry the CPU calls malformed: the VM is bugged (the host wrote it). */
void vcpu_handle_tdp_misconfig(struct vcpu *v, uint64_t gpa);
/*
 * Guest exceptions (virt/exception.c), decoded by the backend: record @e,
 * raised while delivering @idt (NULL if none), and turn it into what the
 * CPU would deliver (#DF by SDM 3A table 6-5). True: inject @e; false: the
 * vCPU stopped with a triple fault naming every recorded exception.
 */
bool vcpu_exception_raised(struct vcpu *v, struct exc_event *e, const struct exc_event *idt,
			   uint32_t idt_limit);
/* A shutdown (triple fault) exit: stop, naming what was recorded. */
void vcpu_shutdown(struct vcpu *v, uint32_t idt_limit);
/* INT n, INT1, INT3/INTO: the pushed RIP is past the instruction. */
bool vcpu_exc_is_soft(unsigned type);
/* A fault (not a trap or abort) pushes RFLAGS with RF set. */
bool vcpu_exc_sets_rf(const struct exc_event *e);
/*
 * Shadow paging (virt/shadow.c), for the backends' exits. init: the first
 * root, from the entry state. page_fault: true if handled (resume, or the
 * vCPU stopped); false: deliver the guest's #PF with *@error. The CR and
 * INVLPG handlers leave the instruction to skip to the backend.
 */
int vcpu_shadow_init(struct vcpu *v, const struct vcpu_entry *e, char *err, size_t errlen);
void vcpu_shadow_destroy(struct vcpu *v);
bool vcpu_shadow_page_fault(struct vcpu *v, uint64_t cr2, uint32_t *error);
/* True if the write was done (RIP moves on); false if it faulted or the vCPU stopped. */
bool vcpu_shadow_write_cr(struct vcpu *v, unsigned cr, uint64_t val);
uint64_t vcpu_shadow_read_cr(struct vcpu *v, unsigned cr);
void vcpu_shadow_invlpg(struct vcpu *v, uint64_t gva);
/* A general-purpose register by its x86 number (0 RAX ... 15 R15); NULL for RSP. */
uint64_t *vcpu_gpr(struct vcpu *v, unsigned n);
/* Decode the instruction at the guest's RIP, through its own tables (shadow paging). */
int vcpu_shadow_fetch_insn(struct vcpu *v, struct insn *in, char *why, size_t len);
/*
 * Its bytes alone: up to INSN_MAX_LEN readable ones at CS:RIP (*@got, from
 * linear address *@la), for an instruction the decoder does not know
 * (SMSW: svm/shadow.c). 0, or -EAGAIN: the guest runs it again.
 */
int vcpu_shadow_fetch_bytes(struct vcpu *v, uint8_t *bytes, size_t *got, uint64_t *la);
/* Map mmu_fault()'s errors to the vCPU's stop (@what names the fault). */
void vcpu_fault_failed(struct vcpu *v, int r, const char *what, uint64_t addr, const char *why);
/* Count a second-level fault at @gpa for the refault and lost-race figures. */
void vcpu_count_fault(struct vcpu *v, uint64_t gpa);

/*
 * The local-APIC watchdog (virt/watchdog.c), for a run loop whose periodic
 * timer ticks whether or not the guest exits: start it with the timer,
 * let vcpu_watchdog_kind() tell the timer's exits from other host
 * interrupts, and call vcpu_watchdog_tick() after each VEXIT_TIMER: it
 * uses a slice only if the guest made no exit of its own since the last.
 */
struct vcpu_watchdog {
	uint64_t ticks;       /* lapic_timer_ticks at the last tick seen */
	uint64_t guest_exits; /* the guest's own exits by then */
};
void vcpu_watchdog_start(struct vcpu *v, struct vcpu_watchdog *w);
enum vcpu_exit_kind vcpu_watchdog_kind(struct vcpu_watchdog *w, enum vcpu_exit_kind k);
void vcpu_watchdog_tick(struct vcpu *v, struct vcpu_watchdog *w);

/* HLT: there are no interrupts to wake the guest, so it stops. */
void vcpu_handle_hlt(struct vcpu *v);

/* The exits the backends handle before their generic dispatch. */
#include "virt/fastpath.h"

#endif
