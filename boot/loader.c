#include "boot/loader.h"
#include "boot/mb1.h"
#include "vmx/vmx.h"
#include "svm/svm.h"
#include "mm/mm.h"
#include "lib/lib.h"

bool hv_mmu_shadow;

int hv_backend(const struct vcpu_backend **be, struct mmu_caps *mc, char *err, size_t errlen)
{
	char why_vmx[200], why_svm[200];
	int r = hv_ready(why_vmx, sizeof(why_vmx));

	*mc = (struct mmu_caps){ 0 };

	if (!r) {
		*be = &vmx_backend;
		return vmx_mmu_caps(&this_cpu.caps, hv_mmu_shadow, mc, err, errlen);
	}
	if (r != -ENODEV) { /* VMX is there but unusable: that is the reason */
		ksnprintf(err, errlen, "%s", why_vmx);
		return r;
	}
	r = svm_enable(&svm_this_cpu, why_svm, sizeof(why_svm));
	if (r == -ENODEV) /* both reasons, each with the "no X:" that scripts/test.sh checks */
		ksnprintf(err, errlen, "%s; %s", why_vmx, why_svm);
	else if (r)
		ksnprintf(err, errlen, "%s", why_svm);
	if (r)
		return r;
	*be = &svm_backend;
	return svm_mmu_caps(&svm_this_cpu.caps, hv_mmu_shadow, mc, err, errlen);
}

void guest_write_identity_tables(struct vm *vm)
{
	uint64_t *pml4 = vm_gpa_to_host(vm, GUEST_PML4, PAGE_SIZE, true);
	uint64_t *pdpt = vm_gpa_to_host(vm, GUEST_PDPT, PAGE_SIZE, true);

	pml4[0] = GUEST_PDPT | X86_PTE_P | X86_PTE_W;
	for (uint64_t i = 0; i < 4; i++) {
		uint64_t *pd = vm_gpa_to_host(vm, GUEST_PD + i * PAGE_SIZE, PAGE_SIZE, true);

		pdpt[i] = (GUEST_PD + i * PAGE_SIZE) | X86_PTE_P | X86_PTE_W;
		for (uint64_t j = 0; j < PT_ENTRIES; j++)
			pd[j] = ((i * PT_ENTRIES + j) << 21) | X86_PTE_P | X86_PTE_W | X86_PTE_PS;
	}
}

int guest_create(struct guest *g, const char *name, const void *image, size_t len, uint64_t ram,
		 uint64_t cmd, uint64_t arg, uint64_t arg2, char *err, size_t errlen)
{
	memset(g, 0, sizeof(*g));
	/* Checked before VMX: the mistake is the user's, whatever the CPU offers. */
	if (!len) {
		ksnprintf(err, errlen, "guest image is empty (0 bytes): nothing to run");
		return -EINVAL;
	}
	const struct vcpu_backend *be;
	struct mmu_caps mc;
	int r = hv_backend(&be, &mc, err, errlen);
	if (r)
		return r;
	if (ram < GUEST_MIN_RAM || !IS_ALIGNED(ram, PAGE_SIZE) || ram > GUEST_MAPPED_GPA) {
		ksnprintf(err, errlen, "guest RAM %#llx: need 4 KiB multiple in [2 MiB, 4 GiB]",
			  (unsigned long long)ram);
		return -EINVAL;
	}
	/* Leave 64 KiB of stack above the image. */
	if (len > ram - GUEST_LOAD - 0x10000) {
		ksnprintf(err, errlen, "guest image of %zu bytes does not fit in %llu KiB of RAM",
			  len, (unsigned long long)ram >> 10);
		return -E2BIG;
	}
	r = vm_create(&g->vm, name, &mc, err, errlen);
	if (r)
		return r;
	/* Lazy: the guest gets zeroed pages as it touches them (issue 22). */
	r = vm_add_ram(&g->vm, 0, ram, PT_LEVEL_4K, VM_RAM_LAZY, 0, err, errlen);
	if (r) {
		vm_destroy(&g->vm);
		return r;
	}
	guest_write_identity_tables(&g->vm);
	memcpy(vm_gpa_to_host(&g->vm, GUEST_LOAD, len, true), image, len);

	struct vcpu_entry e = {
		.rip = GUEST_LOAD, .rsp = ram, .cr3 = GUEST_PML4,
		.rdi = ram, .rsi = cmd, .rdx = arg,
	};
	r = vcpu_create(&g->vcpu, &g->vm, be, &e, err, errlen);
	if (r) {
		vm_destroy(&g->vm);
		return r;
	}
	g->vcpu.regs.rcx = arg2;
	g->have_vcpu = true;
	return 0;
}

enum vcpu_stop guest_run(struct guest *g)
{
	enum vcpu_stop s = vcpu_run(&g->vcpu);

	if ((s != STOP_EXIT || g->vcpu.exit_code) && s != STOP_YIELD && s != STOP_MEMORY_FAULT)
		printk("guest[%s]: stopped (%s): %s\n", g->vm.name, vcpu_stop_name(s),
		       g->vcpu.stop_reason);
	return s;
}

void guest_destroy(struct guest *g)
{
	if (g->have_vcpu)
		vcpu_destroy(&g->vcpu);
	g->have_vcpu = false;
	vm_destroy(&g->vm);
}

void guest_print_stats(const struct guest *g)
{
	const struct vm_stats *st = &g->vm.stats;
	const struct vcpu_stats *vs = &g->vcpu.stats;

	printk("VM[%s] statistics (%s): vCPU 0: %llu exits; the VM: %llu EPT violations, %llu "
	       "retries, %llu INVEPTs\n", g->vm.name, g->vcpu.be ? g->vcpu.be->name : "-",
	       (unsigned long long)vs->exits_total,
	       (unsigned long long)st->ept_violations, (unsigned long long)st->ept_retries,
	       (unsigned long long)st->invept);
	printk("VM[%s]   EPT leaves installed: %llu x 4K, %llu x 2M, %llu x 1G; "
	       "EPT table pages: %lu\n", g->vm.name,
	       (unsigned long long)st->ept_installed[PT_LEVEL_4K],
	       (unsigned long long)st->ept_installed[PT_LEVEL_2M],
	       (unsigned long long)st->ept_installed[PT_LEVEL_1G], g->vm.ept.table_pages);
	if (g->vm.shadow) {
		char prefix[48];

		ksnprintf(prefix, sizeof(prefix), "VM[%s]   ", g->vm.name);
		vm_print_shadow_stats(&g->vm, prefix);
	}
	for (unsigned k = 0; k < VEXIT_KINDS; k++)
		if (vs->exits[k])
			printk("VM[%s]   exit %-18s %llu\n", g->vm.name, vcpu_exit_kind_name(k),
			       (unsigned long long)vs->exits[k]);
}

static int write_gpa(void *ctx, uint64_t gpa, const void *src, size_t len)
{
	return vm_write_guest(ctx, gpa, src, len);
}

int guest_pc_ram_check(uint64_t ram, char *err, size_t errlen)
{
	if (ram <= PC_RAM_MAX)
		return 0;
	ksnprintf(err, errlen, "guest RAM of %llu MiB: a PC guest's RAM ends below the PCI hole "
		  "and the local APIC, at %llu MiB", (unsigned long long)ram >> 20,
		  (unsigned long long)PC_RAM_MAX >> 20);
	return -EINVAL;
}

int guest_create_pc(struct guest *g, const char *name, const void *image, size_t len,
		    uint64_t ram, const char *cmdline, const struct mb1_module *mods,
		    unsigned nmods, unsigned ncpus, bool strict_io, char *err, size_t errlen)
{
	struct mb1_image im;
	uint32_t mbi;
	int r;

	memset(g, 0, sizeof(*g));
	r = guest_pc_ram_check(ram, err, errlen);
	if (r)
		return r;
	r = mb1_parse(image, len, ram, &im, err, errlen);
	if (r)
		return r;
	const struct vcpu_backend *be;
	struct mmu_caps mc;

	r = hv_backend(&be, &mc, err, errlen);
	if (r)
		return r;
	r = vm_create(&g->vm, name, &mc, err, errlen);
	if (r)
		return r;
	r = vm_add_ram(&g->vm, 0, ram, PT_LEVEL_4K, VM_RAM_LAZY, 0, err, errlen);
	for (unsigned i = 0; !r && i < im.nseg; i++) /* the rest of memsz is zero: lazy RAM */
		r = vm_write_guest(&g->vm, im.seg[i].paddr,
				   (const uint8_t *)image + im.seg[i].offset, im.seg[i].filesz);
	if (r && !*err)
		ksnprintf(err, errlen, "loading the ELF segments failed (%d)", r);
	struct mb1_boot b = { .ram = ram, .cmdline = cmdline, .mods = mods, .nmods = nmods };

	if (!r)
		r = mb1_write_boot_info(write_gpa, &g->vm, ALIGN_UP((uint64_t)im.end, PAGE_SIZE), &b,
					&mbi, err, errlen);
	if (r) {
		vm_destroy(&g->vm);
		return r;
	}
	pc_platform_init(&g->pc, &g->vm, ram, ncpus, strict_io);
	g->is_pc = true;
	struct vcpu_entry e = {
		.mode = VCPU_ENTRY_PROT32, .rip = im.entry, .rax = MB1_BOOT_MAGIC, .rbx = mbi,
	};
	return guest_pc_vcpu0(g, be, &e, err, errlen);
}

int guest_pc_vcpu0(struct guest *g, const struct vcpu_backend *be, const struct vcpu_entry *e,
		   char *err, size_t errlen)
{
	int r = vcpu_create(&g->vcpu, &g->vm, be, e, err, errlen);

	if (r) {
		vm_destroy(&g->vm);
		return r;
	}
	pc_vcpu_init(&g->vcpu, &g->pc, 0);
	g->have_vcpu = true;
	return 0;
}
