/*
 * Names for SVM exit codes, as AMD APM vol. 2 appendix C (table C-1) spells
 * them without the VMEXIT_ prefix, for diagnostics and gdb's hv-vcpu
 * (scripts/gdb/guest.py reads svm_exit_names[] and names the codes above
 * it as svm_exit_name() does).
 */
#include "svm/svm.h"
#include "svm/svm_defs.h"

const char *const svm_exit_names[SVM_EXIT_NAMES] = {
	[0x00 ... 0x0f] = "CR_READ", [0x10 ... 0x1f] = "CR_WRITE",
	[0x20 ... 0x2f] = "DR_READ", [0x30 ... 0x3f] = "DR_WRITE",
	[0x40] = "EXCP_DE", [0x41] = "EXCP_DB", [0x42] = "EXCP_NMI", [0x43] = "EXCP_BP",
	[0x44] = "EXCP_OF", [0x45] = "EXCP_BR", [0x46] = "EXCP_UD", [0x47] = "EXCP_NM",
	[0x48] = "EXCP_DF", [0x49] = "EXCP_9", [0x4a] = "EXCP_TS", [0x4b] = "EXCP_NP",
	[0x4c] = "EXCP_SS", [0x4d] = "EXCP_GP", [0x4e] = "EXCP_PF", [0x4f] = "EXCP_15",
	[0x50] = "EXCP_MF", [0x51] = "EXCP_AC", [0x52] = "EXCP_MC", [0x53] = "EXCP_XF",
	[0x54] = "EXCP_20", [0x55] = "EXCP_CP", [0x56 ... 0x5d] = "EXCP_RESERVED",
	[0x5e] = "EXCP_SX", [0x5f] = "EXCP_31",
	[0x60] = "INTR", [0x61] = "NMI", [0x62] = "SMI", [0x63] = "INIT", [0x64] = "VINTR",
	[0x65] = "CR0_SEL_WRITE", [0x66] = "IDTR_READ", [0x67] = "GDTR_READ",
	[0x68] = "LDTR_READ", [0x69] = "TR_READ", [0x6a] = "IDTR_WRITE", [0x6b] = "GDTR_WRITE",
	[0x6c] = "LDTR_WRITE", [0x6d] = "TR_WRITE", [0x6e] = "RDTSC", [0x6f] = "RDPMC",
	[0x70] = "PUSHF", [0x71] = "POPF", [0x72] = "CPUID", [0x73] = "RSM", [0x74] = "IRET",
	[0x75] = "SWINT", [0x76] = "INVD", [0x77] = "PAUSE", [0x78] = "HLT", [0x79] = "INVLPG",
	[0x7a] = "INVLPGA", [0x7b] = "IOIO", [0x7c] = "MSR", [0x7d] = "TASK_SWITCH",
	[0x7e] = "FERR_FREEZE", [0x7f] = "SHUTDOWN", [0x80] = "VMRUN", [0x81] = "VMMCALL",
	[0x82] = "VMLOAD", [0x83] = "VMSAVE", [0x84] = "STGI", [0x85] = "CLGI",
	[0x86] = "SKINIT", [0x87] = "RDTSCP", [0x88] = "ICEBP", [0x89] = "WBINVD",
	[0x8a] = "MONITOR", [0x8b] = "MWAIT", [0x8c] = "MWAIT_CONDITIONAL", [0x8d] = "XSETBV",
	[0x8e] = "RDPRU", [0x8f] = "EFER_WRITE_TRAP",
};

const char *svm_exit_name(unsigned code)
{
	if (code < SVM_EXIT_NAMES)
		return svm_exit_names[code];
	if (code >= 0x90 && code <= 0x9f)
		return "CR_WRITE_TRAP";
	switch (code) {
	case SVM_EXIT_NPF:
		return "NPF";
	case (unsigned)SVM_EXIT_INVALID:
		return "INVALID";
	default:
		return "UNKNOWN";
	}
}
