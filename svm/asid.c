/*
 * SVM ASIDs per CPU with a generation (svm/asid.h): an ASID serves one vCPU
 * at a time on a CPU, and is handed to another only after a flush of all
 * ASIDs (APM vol. 2, 15.16: the TLB tags its entries with the ASID, and
 * VMRUN flushes nothing unless TLB_CONTROL asks).
 */
#include "svm/asid.h"

void svm_asids_init(struct svm_asids *c, uint32_t nasids)
{
	/* ASID 0 is the host's; a CPU with SVM has at least one more. */
	c->max = nasids > 1 ? nasids - 1 : 1;
	c->next = c->max + 1; /* used up: the first assignment flushes */
	c->generation = 1;
}

bool svm_asid_assign(struct svm_asids *c, struct svm_asid *a)
{
	bool flush_all = false;

	if (a->generation == c->generation)
		return false;
	if (c->next > c->max) {
		c->generation++;
		c->next = 1;
		flush_all = true;
	}
	a->asid = c->next++;
	a->generation = c->generation;
	return flush_all;
}

void svm_asids_flush_lost(struct svm_asids *c)
{
	c->next = c->max + 1;
}
