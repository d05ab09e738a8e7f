/*
 * Private to svm/: ASIDs handed out per CPU with a generation (APM vol. 2,
 * 15.16 "TLB Control"). Pure logic, compiled for the host tests too
 * (tests/host/test_svm_asid.c).
 */
#ifndef MINIHV_SVM_ASID_H
#define MINIHV_SVM_ASID_H

#include <stdbool.h>
#include <stdint.h>

/*
 * One CPU's ASIDs. A TLB entry is tagged with the ASID it was made under,
 * and that tag is all that keeps two guests apart on one CPU: an ASID must
 * never serve two vCPUs there without a flush of every ASID in between.
 * So ASIDs are never reused within a generation: [1, max] are handed out
 * in order, and when they run out a new generation starts, whose first
 * VMRUN flushes all ASIDs (TLB_CONTROL 1) and every vCPU takes a fresh one
 * at its next entry (as KVM's new_asid()). ASID 0 is the host's.
 */
struct svm_asids {
	uint64_t generation; /* of the ASIDs handed out since the last full flush */
	uint32_t next;       /* the next free one; > max: the generation is used up */
	uint32_t max;
};

/* A vCPU's ASID and the generation it was handed out in (0: none yet). */
struct svm_asid {
	uint32_t asid;
	uint64_t generation;
};

/*
 * @nasids: CPUID 0x8000000A EBX. The first svm_asid_assign() starts a new
 * generation, so it flushes whatever an earlier user of the CPU left.
 */
void svm_asids_init(struct svm_asids *c, uint32_t nasids);
/*
 * Before each VMRUN on @c's CPU, interrupts off: give @a an ASID of the
 * current generation if it has none. True: a new generation began, so
 * this VMRUN must flush the TLB entries of every ASID.
 */
bool svm_asid_assign(struct svm_asids *c, struct svm_asid *a);
/*
 * The VMRUN that was to flush failed its consistency checks (VMEXIT_INVALID)
 * and may have flushed nothing: the next assignment starts another generation.
 */
void svm_asids_flush_lost(struct svm_asids *c);

#endif
