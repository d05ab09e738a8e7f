/*
 * SVM on this CPU (APM vol. 2, 15.4 "Enabling SVM"): detect it, refuse with
 * a named reason where the firmware disabled it (VM_CR.SVMDIS), set
 * EFER.SVME and give the CPU its host save area (VM_HSAVE_PA).
 */
#include "svm/svm.h"
#include "svm/svm_defs.h"
#include "mm/mm.h"
#include "lib/lib.h"

struct svm_cpu svm_cpus[NR_CPUS];

void svm_probe(struct svm_caps *c)
{
	memset(c, 0, sizeof(*c));
	if (cpuid(0x80000000u).eax < CPUID_SVM_LEAF)
		return;
	c->svm = cpuid(0x80000001u).ecx & CPUID_81_ECX_SVM;
	if (!c->svm)
		return;
	c->npt_1g = cpuid(0x80000001u).edx & CPUID_PDPE1GB;
	uint64_t vm_cr = rdmsr(MSR_VM_CR);

	c->disabled = vm_cr & VM_CR_SVMDIS;
	c->locked = vm_cr & VM_CR_LOCK;
	struct cpuid_regs r = cpuid(CPUID_SVM_LEAF);

	c->revision = r.eax & 0xff;
	c->nasids = r.ebx;
	c->npt = r.edx & CPUID_SVM_EDX_NP;
	c->nrips = r.edx & CPUID_SVM_EDX_NRIPS;
	c->flush_asid = r.edx & CPUID_SVM_EDX_FLUSH_ASID;
}

void svm_print_probe(void)
{
	struct svm_caps c;

	svm_probe(&c);
	printk("# probe: svm=%s npt=%s svm_disabled=%s nrips=%s flush_asid=%s npt_1g=%s "
	       "asids=%u\n", yes_no(c.svm && !c.disabled), yes_no(c.svm && c.npt),
	       yes_no(c.disabled), yes_no(c.nrips), yes_no(c.flush_asid), yes_no(c.npt_1g),
	       c.nasids);
}

/* The host save area and the permission maps, those allocated (0: not). */
static void free_areas(struct svm_cpu *c)
{
	if (c->hsave_pa)
		frame_free(&phys_frames, c->hsave_pa, FRAME_ORDER_4K);
	if (c->iopm_pa)
		frame_free(&phys_frames, c->iopm_pa, 2);
	if (c->msrpm_pa)
		frame_free(&phys_frames, c->msrpm_pa, 1);
	c->hsave_pa = c->iopm_pa = c->msrpm_pa = 0;
}

int svm_enable(struct svm_cpu *c, char *why, size_t len)
{
	if (c->on)
		return 0;
	svm_probe(&c->caps);
	if (!c->caps.svm) {
		ksnprintf(why, len, "no SVM: CPUID 0x80000001:ECX.SVM[bit 2] is clear");
		return -ENODEV;
	}
	if (c->caps.disabled) {
		ksnprintf(why, len, "SVM is disabled by the firmware: VM_CR.SVMDIS (MSR %#x bit 4) "
			  "is set%s", MSR_VM_CR, c->caps.locked ? " and VM_CR is locked" : "");
		return -EPERM;
	}
	/* 12 KiB and 8 KiB of permission maps, physically contiguous (15.10, 15.11). */
	c->hsave_pa = c->iopm_pa = c->msrpm_pa = 0;
	if (frame_alloc(&phys_frames, FRAME_ORDER_4K, &c->hsave_pa) ||
	    frame_alloc(&phys_frames, 2, &c->iopm_pa) || frame_alloc(&phys_frames, 1, &c->msrpm_pa)) {
		free_areas(c);
		ksnprintf(why, len, "no memory for the SVM host save area and permission maps");
		return -ENOMEM;
	}
	memset(phys_to_virt(c->hsave_pa), 0, PAGE_SIZE);
	memset(phys_to_virt(c->iopm_pa), 0xff, 4 * PAGE_SIZE);
	memset(phys_to_virt(c->msrpm_pa), 0xff, 2 * PAGE_SIZE);
	svm_asids_init(&c->asids, c->caps.nasids);
	lapic_enable_this_cpu(); /* the watchdog's timer (svm/vcpu.c); smp_init_bsp() set the gates */
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME);
	wrmsr(MSR_VM_HSAVE_PA, c->hsave_pa);
	c->on = true;
	return 0;
}

void svm_disable(struct svm_cpu *c)
{
	if (!c->on)
		return;
	wrmsr(MSR_VM_HSAVE_PA, 0);
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) & ~EFER_SVME);
	free_areas(c);
	c->on = false;
}
