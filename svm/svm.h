/*
 * AMD SVM on this CPU, and the SVM backend of struct vcpu (virt/vcpu.h) with
 * nested paging as the secondary MMU's second format (ept/npt_fmt.c). svm/'s
 * public header: other areas include this one only.
 */
#ifndef MINIHV_SVM_H
#define MINIHV_SVM_H

#include "virt/vcpu.h"
#include "ept/vm.h"
#include "arch/x86/arch.h"
#include "svm/asid.h"

struct svm_caps {
	bool svm;            /* CPUID 0x80000001 ECX.SVM */
	bool disabled;       /* VM_CR.SVMDIS: the firmware turned SVM off */
	bool locked;         /* VM_CR.LOCK */
	bool npt, nrips, flush_asid, npt_1g;
	uint32_t revision, nasids;
};

struct svm_cpu {
	bool on;
	uint64_t hsave_pa;   /* VM_HSAVE_PA: where VMRUN keeps the host's state */
	/* Every port and every MSR intercepted: the guest reaches none directly. */
	uint64_t iopm_pa, msrpm_pa;
	struct svm_caps caps;
	struct svm_asids asids; /* this CPU's ASIDs (svm/asid.c) */
};

/* Each CPU's SVM state; svm_enable() turns it on there. */
extern struct svm_cpu svm_cpus[NR_CPUS];
#define svm_this_cpu (svm_cpus[this_cpu_id()])
extern const struct vcpu_backend svm_backend;

void svm_probe(struct svm_caps *c);
/* The "# probe: svm=... npt=..." line of every test run (scripts/test.sh reads it). */
void svm_print_probe(void);
/*
 * 0 when SVM is on; -ENODEV (no SVM: "no SVM: ..."), -EPERM (disabled in
 * VM_CR), -ENOMEM, with the reason in @why.
 */
int svm_enable(struct svm_cpu *c, char *why, size_t len);
void svm_disable(struct svm_cpu *c);
/* The secondary MMU's view of SVM: NPT levels, A/D, the ASID flush. */
void svm_flush_local(struct vcpu *v);
/* NPT where the CPU has it, unless @shadow; else shadow paging. */
int svm_mmu_caps(const struct svm_caps *c, bool shadow, struct mmu_caps *out, char *err,
		 size_t errlen);
/* Shadow paging (svm/shadow.c). */
void svm_set_cr(struct vcpu *v, unsigned cr, uint64_t guest, uint64_t hw);
void svm_set_rip(struct vcpu *v, uint64_t rip);
void svm_handle_cr_access(struct vcpu *v, uint64_t code);
void svm_handle_invlpg(struct vcpu *v);
/* "NPF", "IOIO", "EXCP_UD" for an exit code (svm/names.c); "UNKNOWN" for none. */
#define SVM_EXIT_NAMES 0x90
extern const char *const svm_exit_names[SVM_EXIT_NAMES];
const char *svm_exit_name(unsigned code);

#endif
