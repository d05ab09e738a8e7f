/*
 * Host unit tests for svm/asid.c: on one CPU, no ASID serves two vCPUs
 * between two flushes of all ASIDs, however many VMs come and go (issue 21,
 * hole 12: with 16 ASIDs, VMs 0 and 15 shared ASID 1 and saw each other's
 * translations).
 */
#include <stdio.h>
#include <string.h>
#include "svm/asid.h"
#include "tests/host/hostshim.h"

#define VCPUS 40

/*
 * A model of one CPU's TLB tags: owner[asid] is the vCPU whose translations
 * the TLB may hold under that ASID since the last flush of all ASIDs.
 */
struct tlb_model {
	int owner[64];
	unsigned full_flushes;
};

/* One VMRUN of vCPU @id: assign, flush if told, then check and tag. */
static bool vmrun(struct svm_asids *c, struct svm_asid *a, int id, struct tlb_model *m)
{
	if (svm_asid_assign(c, a)) {
		memset(m->owner, -1, sizeof(m->owner));
		m->full_flushes++;
	}
	if (a->asid == 0 || a->asid > c->max || a->generation != c->generation)
		return false;
	if (m->owner[a->asid] != -1 && m->owner[a->asid] != id)
		return false; /* another vCPU's translations are tagged with this ASID */
	m->owner[a->asid] = id;
	return true;
}

/* The case: QEMU's 16 ASIDs, the 1st and the 16th VM alternating on one CPU. */
static void test_vm0_and_vm15_alternate(void)
{
	struct svm_asids c;
	struct svm_asid a[16];
	struct tlb_model m;

	memset(a, 0, sizeof(a));
	memset(m.owner, -1, sizeof(m.owner));
	m.full_flushes = 0;
	svm_asids_init(&c, 16);
	T(c.max == 15);
	for (int i = 0; i < 16; i++) /* every VM runs once */
		T(vmrun(&c, &a[i], i, &m));
	for (int round = 0; round < 10; round++) {
		T(vmrun(&c, &a[0], 0, &m));
		T(vmrun(&c, &a[15], 15, &m));
	}
	T(a[0].asid != a[15].asid || m.full_flushes > 1);
}

/* The first VMRUN on a CPU flushes: ASIDs used before minihv ran are not trusted. */
static void test_first_assign_flushes(void)
{
	struct svm_asids c;
	struct svm_asid a = { 0, 0 }, b = { 0, 0 };

	svm_asids_init(&c, 16);
	T(svm_asid_assign(&c, &a));
	T(a.asid == 1);
	T(!svm_asid_assign(&c, &a)); /* kept while the generation lasts */
	T(!svm_asid_assign(&c, &b));
	T(b.asid == 2);
}

/* Many vCPUs, created and destroyed, run in a pseudo-random order. */
static void test_random_interleaving(void)
{
	static const uint32_t sizes[] = { 2, 3, 8, 16, 64 };

	for (unsigned s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		struct svm_asids c;
		struct svm_asid a[VCPUS];
		struct tlb_model m;
		int id[VCPUS], next_id = 0;
		uint32_t x = 12345 + s;
		bool ok = true;

		memset(a, 0, sizeof(a));
		memset(m.owner, -1, sizeof(m.owner));
		m.full_flushes = 0;
		svm_asids_init(&c, sizes[s]);
		for (int i = 0; i < VCPUS; i++)
			id[i] = next_id++;
		for (int step = 0; step < 20000; step++) {
			x = x * 1103515245u + 12345u;
			int i = (int)((x >> 8) % VCPUS);

			if ((x >> 24) % 16 == 0) { /* the vCPU goes, a new VM takes its slot */
				memset(&a[i], 0, sizeof(a[i]));
				id[i] = next_id++;
			}
			ok &= vmrun(&c, &a[i], id[i], &m);
		}
		T(ok);
		T(m.full_flushes > 1);
	}
}

/* A lost flush (VMRUN failed) is made up for by the next assignment. */
static void test_flush_lost(void)
{
	struct svm_asids c;
	struct svm_asid a = { 0, 0 }, b = { 0, 0 };

	svm_asids_init(&c, 16);
	T(svm_asid_assign(&c, &a));
	svm_asids_flush_lost(&c);
	T(svm_asid_assign(&c, &b));
	T(svm_asid_assign(&c, &a) == false && a.asid == 2 && b.asid == 1);
}

/* One ASID besides the host's: every switch of vCPU is a new generation. */
static void test_two_asids(void)
{
	struct svm_asids c;
	struct svm_asid a = { 0, 0 }, b = { 0, 0 };

	svm_asids_init(&c, 2);
	T(svm_asid_assign(&c, &a) && a.asid == 1);
	T(svm_asid_assign(&c, &b) && b.asid == 1);
	T(svm_asid_assign(&c, &a) && a.asid == 1);
	T(!svm_asid_assign(&c, &a));
}

int main(void)
{
	RUN(test_vm0_and_vm15_alternate);
	RUN(test_first_assign_flushes);
	RUN(test_random_interleaving);
	RUN(test_flush_lost);
	RUN(test_two_asids);
	return tap_finish();
}
