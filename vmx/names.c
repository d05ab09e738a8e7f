/* Human-readable names for VM-instruction errors and exit reasons. */
#include "vmx/vmcs.h"

/* SDM 3C, 31.4, table 31-1. */
static const char *const vm_errors[] = {
	[1] = "VMCALL executed in VMX root operation",
	[2] = "VMCLEAR with invalid physical address",
	[3] = "VMCLEAR with VMXON pointer",
	[4] = "VMLAUNCH with non-clear VMCS",
	[5] = "VMRESUME with non-launched VMCS",
	[6] = "VMRESUME after VMXOFF",
	[7] = "VM entry with invalid control field(s)",
	[8] = "VM entry with invalid host-state field(s)",
	[9] = "VMPTRLD with invalid physical address",
	[10] = "VMPTRLD with VMXON pointer",
	[11] = "VMPTRLD with incorrect VMCS revision identifier",
	[12] = "VMREAD/VMWRITE from/to unsupported VMCS component",
	[13] = "VMWRITE to read-only VMCS component",
	[15] = "VMXON executed in VMX root operation",
	[16] = "VM entry with invalid executive-VMCS pointer",
	[17] = "VM entry with non-launched executive VMCS",
	[18] = "VM entry with executive-VMCS pointer not VMXON pointer",
	[19] = "VMCALL with non-clear VMCS",
	[20] = "VMCALL with invalid VM-exit control fields",
	[22] = "VMCALL with incorrect MSEG revision identifier",
	[23] = "VMXOFF under dual-monitor treatment of SMIs and SMM",
	[24] = "VMCALL with invalid SMM-monitor features",
	[25] = "VM entry with invalid VM-execution control fields in executive VMCS",
	[26] = "VM entry with events blocked by MOV SS",
	[28] = "Invalid operand to INVEPT/INVVPID",
};

const char *vm_instruction_error_name(unsigned err)
{
	if (err < sizeof(vm_errors) / sizeof(vm_errors[0]) && vm_errors[err])
		return vm_errors[err];
	return "unknown VM-instruction error";
}

/* SDM 3C, appendix C. */
static const char *const exit_names[EXIT_REASON_MAX] = {
	[0] = "EXCEPTION_NMI", [1] = "EXTERNAL_INTERRUPT", [2] = "TRIPLE_FAULT",
	[3] = "INIT", [4] = "SIPI", [7] = "INTERRUPT_WINDOW", [8] = "NMI_WINDOW",
	[9] = "TASK_SWITCH", [10] = "CPUID", [12] = "HLT", [13] = "INVD", [14] = "INVLPG",
	[15] = "RDPMC", [16] = "RDTSC", [18] = "VMCALL", [19] = "VMCLEAR", [20] = "VMLAUNCH",
	[21] = "VMPTRLD", [22] = "VMPTRST", [23] = "VMREAD", [24] = "VMRESUME",
	[25] = "VMWRITE", [26] = "VMXOFF", [27] = "VMXON", [28] = "CR_ACCESS",
	[29] = "DR_ACCESS", [30] = "IO_INSTRUCTION", [31] = "MSR_READ", [32] = "MSR_WRITE",
	[33] = "INVALID_GUEST_STATE", [34] = "MSR_LOADING", [36] = "MWAIT",
	[37] = "MONITOR_TRAP_FLAG", [39] = "MONITOR", [40] = "PAUSE", [41] = "MACHINE_CHECK",
	[43] = "TPR_BELOW_THRESHOLD", [44] = "APIC_ACCESS", [46] = "GDTR_IDTR",
	[47] = "LDTR_TR", [48] = "EPT_VIOLATION", [49] = "EPT_MISCONFIG", [50] = "INVEPT",
	[51] = "RDTSCP", [52] = "PREEMPTION_TIMER", [53] = "INVVPID", [54] = "WBINVD",
	[55] = "XSETBV", [56] = "APIC_WRITE", [57] = "RDRAND", [58] = "INVPCID",
	[59] = "VMFUNC", [60] = "ENCLS", [61] = "RDSEED", [62] = "PML_FULL", [63] = "XSAVES",
	[64] = "XRSTORS",
};

const char *exit_reason_name(unsigned reason)
{
	reason &= 0xffff;
	if (reason < EXIT_REASON_MAX && exit_names[reason])
		return exit_names[reason];
	return "UNKNOWN";
}
