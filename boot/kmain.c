/*
 * C entry: console, descriptor tables, boot information, physical memory,
 * host page tables, then the self-tests the command line asks for.
 */
#include "boot/bench.h"
#include "boot/bootinfo.h"
#include "boot/options.h"
#include "boot/run_guest.h"
#include "boot/smp_boot.h"
#include "vmx/vmx.h"
#include "svm/svm.h"
#include "ept/vm.h"
#include "mm/mm.h"
#include "lib/lib.h"
#include "arch/x86/arch.h"

void kmain(uint32_t magic, uint32_t mbi_pa);

struct boot_info boot_info;
static uint64_t frame_bitmap[MEMMAP_MAX_PHYS / PAGE_SIZE / 64];

extern char _kernel_start[], _kernel_end[];

/* The information is bounded by its own total_size; cap what we trust. */
#define MBI_MAX_BYTES (1u << 20)

static void print_boot_info(const struct boot_info *bi)
{
	pr_info("boot: loader '%s', cmdline '%s'\n", bi->loader, bi->cmdline);
	for (unsigned i = 0; i < bi->nregions; i++)
		pr_info("boot: mem [%#014llx-%#014llx) type %u\n",
			(unsigned long long)bi->regions[i].base,
			(unsigned long long)(bi->regions[i].base + bi->regions[i].len),
			bi->regions[i].type);
	for (unsigned i = 0; i < bi->nmodules; i++)
		pr_info("boot: module '%s' [%#llx-%#llx)\n", bi->modules[i].name,
			(unsigned long long)bi->modules[i].start,
			(unsigned long long)bi->modules[i].end);
	pr_info("boot: ACPI RSDP %s %#llx\n", bi->rsdp ? (bi->rsdp_rev == 2 ? "v2" : "v1") : "none",
		(unsigned long long)bi->rsdp);
}

static void dump_at_teardown(struct vm *vm)
{
	printk("# dump of VM %s at teardown (dump= option)\n", vm->name);
	dump_vm(vm, kopts.dump);
}

/* What the CPU offers, for scripts/test.sh: "# probe: vmx=..." and "# probe: svm=...". */
static void print_probes(void)
{
	vmx_print_probe();
	svm_print_probe();
}

/* The frame allocator over the boot memory map, then the host page tables. */
static void memory_init(void)
{
	if (boot_info.ram_top > MEMMAP_MAX_PHYS)
		printk("minihv: RAM above %llu GiB is not used (the frame bitmap ends there)\n",
		       (unsigned long long)MEMMAP_MAX_PHYS >> 30);
	char memerr[256];
	struct phys_range rsv[2 + BI_MAX_MODULES];
	unsigned nrsv = boot_reserved(&boot_info, (uint64_t)_kernel_start, (uint64_t)_kernel_end,
				      rsv);
	if (memmap_setup(&phys_frames, frame_bitmap, boot_info.regions, boot_info.nregions,
			 boot_info.ram_top, rsv, nrsv, memerr, sizeof(memerr)))
		panic("%s", memerr);
	pr_info("mm: %llu MiB free of %llu MiB available\n",
		(unsigned long long)(phys_frames.nfree << PAGE_SHIFT) >> 20,
		(unsigned long long)boot_info.ram_avail >> 20);

	/* Cover at least 4 GiB so MMIO (local APIC, ...) stays reachable. */
	int r = hostpt_init(MAX(boot_info.ram_top, 4ULL << 30));
	if (r)
		panic("host page tables: error %d", r);
	pr_info("mm: host page tables at %#llx, %lu table pages\n",
		(unsigned long long)host_mm.pt.root, host_mm.pt.table_pages);
}

void kmain(uint32_t magic, uint32_t mbi_pa)
{
	char err[1024];

	/*
	 * Caches on: the firmware may leave CR0.CD/NW set (reset value, and
	 * Bochs' BIOS does), which would also reach every guest, since VM entry
	 * leaves CD and NW alone (guest/ABI.md). Clearing them needs no flush.
	 */
	write_cr0(read_cr0() & ~(X86_CR0_CD | X86_CR0_NW));
	percpu_init(0, 0); /* cpu_id() and the locks need it; the APIC ID comes with SMP */
	serial_init();
	printk("minihv: booting\n");
	gdt_init();
	idt_init();
	tsc_calibrate();

	if (magic != MB2_BOOT_MAGIC)
		panic("bad multiboot2 magic %#x", magic);
	const void *mbi = (const void *)(uintptr_t)mbi_pa;
	uint32_t total = *(const uint32_t *)mbi;
	if (mb2_parse(mbi, mbi_pa, MIN(total, MBI_MAX_BYTES), &boot_info, err, sizeof(err)))
		panic("multiboot2 information rejected: %s", err);

	int nbad = options_parse(boot_info.cmdline, boot_info.cmdline_overlong, err, sizeof(err));
	console_quiet = kopts.quiet;
	if (nbad)
		printk("minihv: bad command line '%s': %s\n", boot_info.cmdline, err);
	print_boot_info(&boot_info);
	printk("minihv: TSC %llu kHz (measured against the PIT)\n", (unsigned long long)tsc_khz);

	memory_init();
	smp_boot(&boot_info);
	if (kopts.dump)
		vm_destroy_hook = dump_at_teardown;

	int status = EXIT_PASS;
	bool pass = true;
	const struct boot_module *guest = find_guest_module(&boot_info);
	if (kopts.have_tests || nbad) {
		/* The probe lines tell the runner what the CPU offers, whatever tests= selects. */
		struct ktest_summary s = ktest_run(kopts.have_tests ? kopts.tests : NULL, nbad > 0,
						   err, print_probes);
		status = s.failed ? EXIT_FAIL : EXIT_PASS;
		pass = !s.failed;
	} else if (kopts.bench) {
		bench_run();
	} else if (guest) {
		status = run_guest_module(&boot_info, guest, &pass);
	} else {
		printk("minihv: nothing to run (no tests= option, no \"guest\" module); exiting\n");
	}
	vmx_disable(&this_cpu); /* VMXOFF on the way out, if VMX was turned on */
	svm_disable(&svm_this_cpu); /* and EFER.SVME off, if SVM was */
	emu_exit_as(status, pass);
}
