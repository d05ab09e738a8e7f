/*
 * The minihv hypercall ABI, shared by the hypervisor and guests (guest/ABI.md).
 * VMCALL with the number in RAX and arguments in RDI, RSI; the result comes
 * back in RAX: >= 0 on success, a negative errno on error. Guest memory is
 * named by guest-physical address.
 */
#ifndef MINIHV_HYPERCALL_H
#define MINIHV_HYPERCALL_H

#define HC_WRITE 1   /* (gpa, len): print len bytes (<= HC_WRITE_MAX) on the console */
#define HC_EXIT 2    /* (code): stop this guest with exit code `code` */
#define HC_STATS 3   /* (gpa, len): copy struct hc_stats (or its first len bytes) */
#define HC_YIELD 4   /* (value): pause; the host may act on the guest's memory, then resume;
		      * returns 0 (always, for a module guest) or what the host put in RAX */
#define HC_VCPU_INFO 5 /* (gpa, len): register the struct hc_vcpu_info area; gpa ~0 unregisters */

#define HC_WRITE_MAX 4096

/* Negative errno values returned to the guest (Linux numbering). */
#define HC_EFAULT (-14)
#define HC_EINVAL (-22)
#define HC_ENOSYS (-38)

/* CPUID leaf 0x40000000: max hypervisor leaf in EAX, "minihvminihv" in EBX, ECX, EDX. */
#define HV_CPUID_LEAF 0x40000000u
#define HV_SIGNATURE "minihvminihv"

/* Little-endian, no padding; the offsets are part of the ABI (guest/ABI.md). */
struct hc_stats {
	unsigned long long exits;          /* 0: VM exits so far, this HC_STATS included */
	unsigned long long ept_violations; /* 8 */
	unsigned long long hypercalls;     /* 16: VMCALLs, this one included */
	unsigned long long io_exits;       /* 24: IN/OUT exits */
};
_Static_assert(__builtin_offsetof(struct hc_stats, exits) == 0, "hc_stats ABI");
_Static_assert(__builtin_offsetof(struct hc_stats, ept_violations) == 8, "hc_stats ABI");
_Static_assert(__builtin_offsetof(struct hc_stats, hypercalls) == 16, "hc_stats ABI");
_Static_assert(__builtin_offsetof(struct hc_stats, io_exits) == 24, "hc_stats ABI");
_Static_assert(sizeof(struct hc_stats) == 32, "hc_stats ABI");

/*
 * Written by the hypervisor on every VM exit once registered. version is odd
 * while an update is in progress and even when it is complete: read version,
 * the fields, version again, and retry if they differ or are odd.
 */
struct hc_vcpu_info {
	unsigned int version;          /* 0: +1 before an update (odd), +1 after (even) */
	unsigned int last_exit_reason; /* 4: basic VMX exit reason (SDM 3C appendix C) */
	unsigned long long exits;      /* 8: VM exits so far, the one being reported included */
};
_Static_assert(__builtin_offsetof(struct hc_vcpu_info, version) == 0, "hc_vcpu_info ABI");
_Static_assert(__builtin_offsetof(struct hc_vcpu_info, last_exit_reason) == 4, "hc_vcpu_info ABI");
_Static_assert(__builtin_offsetof(struct hc_vcpu_info, exits) == 8, "hc_vcpu_info ABI");
_Static_assert(sizeof(struct hc_vcpu_info) == 16, "hc_vcpu_info ABI");

#endif
