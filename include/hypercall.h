/*
 * The minihv hypercall ABI, shared by the hypervisor and guests (README.md,
 * "Guest ABI"). VMCALL with the number in RAX and arguments in RDI, RSI, RDX;
 * the result comes back in RAX: >= 0 on success, a negative errno on error.
 * Guest memory is named by guest-physical address.
 */
#ifndef MINIHV_HYPERCALL_H
#define MINIHV_HYPERCALL_H

#define HC_WRITE 1   /* (gpa, len): print len bytes (<= HC_WRITE_MAX) on the console */
#define HC_EXIT 2    /* (code): stop this guest with exit code `code` */
#define HC_STATS 3   /* (gpa, len): copy struct hc_stats (or its first len bytes) */
#define HC_YIELD 4   /* (value): pause; the host may act on the guest's memory, then resume */
#define HC_VCPU_INFO 5 /* (gpa, len): register the struct hc_vcpu_info area; gpa ~0 unregisters */

#define HC_WRITE_MAX 4096

/* Negative errno values returned to the guest (Linux numbering). */
#define HC_EFAULT (-14)
#define HC_EINVAL (-22)
#define HC_ENOSYS (-38)

/* CPUID leaf 0x40000000: max hypervisor leaf in EAX, "minihvminihv" in EBX, ECX, EDX. */
#define HV_CPUID_LEAF 0x40000000u
#define HV_SIGNATURE "minihvminihv"

struct hc_stats {
	unsigned long long exits;
	unsigned long long ept_violations;
	unsigned long long hypercalls;
	unsigned long long io_exits;
};

/*
 * Written by the hypervisor on every VM exit once registered. version is odd
 * while an update is in progress and even when it is complete: read version,
 * the fields, version again, and retry if they differ or are odd.
 */
struct hc_vcpu_info {
	unsigned int version;
	unsigned int last_exit_reason;
	unsigned long long exits;
};

#endif
