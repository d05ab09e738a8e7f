/*
 * Loading a Linux bzImage as a PC guest (issue 24; guest/ABI.md, "Linux
 * guests"): the 64-bit boot protocol of the kernel's
 * Documentation/arch/x86/boot.rst ("64-bit BOOT PROTOCOL"). The vCPU
 * starts in long mode on minihv's identity map of [0, 4 GiB), as a flat
 * guest does, at the protected-mode kernel + 0x200, with RSI = the zero
 * page; the kernel's startup_64 loads its own GDT, IDT and page tables.
 *
 * Guest-physical layout: minihv's page tables at [0x1000, 0x7000), the
 * zero page at 0x7000, the command line at 0x8000, the boot stack below
 * 64 KiB, the kernel at its pref_address (16 MiB for Debian's), the
 * initrd at the top of RAM. All of it is RAM in the e820 map the kernel
 * gets: it reuses the low pages once it runs on its own page tables.
 */
#include "boot/loader.h"
#include "boot/bzimage.h"
#include "lib/lib.h"

#define LINUX_ZERO_PAGE 0x7000ULL
#define LINUX_CMDLINE 0x8000ULL
#define LINUX_CMDLINE_MAX 4096
#define LINUX_STACK_TOP 0x10000ULL

/*
 * The user's command line plus what this platform needs: the TSC's rate,
 * which nothing else tells the kernel (there is no PIT, HPET or PM timer
 * to calibrate against: without it the kernel stops at "could not
 * calculate TSC khz"), and tsc=reliable (no other clocksource to watch
 * it), and no_timer_check (the I/O APIC's timer check waits for IRQ 0 from
 * a PIT, which this PC does not have: the local APIC's TSC-deadline timer
 * is the clock). Each is added unless the user's line sets it.
 */
static int linux_cmdline(char *buf, size_t size, const char *user, char *err, size_t errlen)
{
	char khz[40];
	const struct { const char *key, *opt; } add[] = {
		{ "tsc_early_khz=", khz }, { "tsc=", "tsc=reliable" },
		{ "no_timer_check", "no_timer_check" },
	};
	size_t n = (size_t)ksnprintf(buf, size, "%s", user);

	ksnprintf(khz, sizeof(khz), "tsc_early_khz=%llu", (unsigned long long)tsc_khz);
	for (size_t i = 0; i < ARRAY_SIZE(add); i++)
		if (!strstr(user, add[i].key))
			n += (size_t)ksnprintf(buf + MIN(n, size), size - MIN(n, size), "%s%s",
					       n ? " " : "", add[i].opt);
	if (n >= size) {
		ksnprintf(err, errlen, "kernel command line of %zu characters: minihv takes %zu", n,
			  size - 1);
		return -E2BIG;
	}
	return 0;
}

/*
 * The ACPI tables (virt/acpi_tables.c) at PC_ACPI_TABLES, in the BIOS
 * area the e820 map reserves: the MADT is where Linux finds its CPUs and
 * the I/O APIC (Debian's kernel has no MP-table parser), the FADT its PM1
 * block for poweroff.
 */
static int write_acpi(struct vm *vm, unsigned ncpus, char *err, size_t errlen)
{
	static uint8_t buf[PAGE_SIZE];
	struct acpi_platform p = {
		.ncpus = ncpus, .lapic_base = (uint32_t)PC_LAPIC_BASE, .ioapic_id = (uint8_t)ncpus,
		.ioapic_base = IOAPIC_BASE, .sci_irq = PC_SCI_IRQ, .pm1a_evt = PC_PM1A_EVT,
		.pm1a_cnt = PC_PM1A_CNT,
	};
	size_t used;
	int r = acpi_tables_build(buf, sizeof(buf), PC_ACPI_TABLES, &p, &used, err, errlen);

	if (!r)
		r = vm_write_guest(vm, PC_ACPI_TABLES, buf, used);
	return r;
}

static int load(struct guest *g, const void *image, const struct bz_image *bi, uint64_t ram,
		const char *cmdline, const void *initrd, size_t initrd_len, unsigned ncpus,
		char *err, size_t errlen)
{
	uint64_t rsdp = PC_ACPI_TABLES;
	static uint8_t zp[BZ_ZERO_PAGE]; /* one guest is created at a time (boot/run_guest.c) */
	static char cmd[LINUX_CMDLINE_MAX];
	uint64_t top = MIN(ram, (uint64_t)bi->initrd_addr_max + 1);
	uint64_t initrd_gpa = initrd_len ? ALIGN_DOWN(top - initrd_len, PAGE_SIZE) : 0;
	int r;

	if (initrd_len && (initrd_len >= top || initrd_gpa < bi->load_addr + bi->init_size)) {
		ksnprintf(err, errlen, "the initrd of %zu KiB does not fit in guest RAM of %llu MiB "
			  "above the kernel's [%#llx, %#llx): give the guest more memory (guest_mem=)",
			  initrd_len >> 10, (unsigned long long)ram >> 20,
			  (unsigned long long)bi->load_addr,
			  (unsigned long long)(bi->load_addr + bi->init_size));
		return -E2BIG;
	}
	r = linux_cmdline(cmd, sizeof(cmd), cmdline, err, errlen);
	if (!r)
		r = bz_write_zero_page(zp, image, bi, ram, LINUX_CMDLINE, strlen(cmd), initrd_gpa,
				       initrd_len, err, errlen);
	if (!r)
		r = write_acpi(&g->vm, ncpus, err, errlen);
	if (r)
		return r;
	memcpy(zp + BZ_ACPI_RSDP_ADDR, &rsdp, sizeof(rsdp));
	guest_write_identity_tables(&g->vm);
	r = vm_write_guest(&g->vm, bi->load_addr, (const uint8_t *)image + bi->kernel_offset,
			   bi->kernel_len);
	if (!r && initrd_len)
		r = vm_write_guest(&g->vm, initrd_gpa, initrd, initrd_len);
	if (!r)
		r = vm_write_guest(&g->vm, LINUX_CMDLINE, cmd, strlen(cmd) + 1);
	if (!r)
		r = vm_write_guest(&g->vm, LINUX_ZERO_PAGE, zp, sizeof(zp));
	if (r)
		ksnprintf(err, errlen, "writing the kernel into guest memory failed (%d)", r);
	else
		printk("minihv: Linux boot protocol %u.%02u, kernel %u KiB at %#llx, initrd %zu KiB "
		       "at %#llx, command line '%s'\n", bi->version >> 8, bi->version & 0xff,
		       bi->kernel_len >> 10, (unsigned long long)bi->load_addr, initrd_len >> 10,
		       (unsigned long long)initrd_gpa, cmd);
	return r;
}

/*
 * A Linux boot's phases, by the console lines that end them: the
 * decompressor and early set-up until the kernel's first line (printed
 * once it has a console: "Linux version"), the kernel's initialisation
 * until it runs /init, and the initramfs's /init until its marker
 * (guest/linux/init). make bench prints the exits and time of each.
 */
static const char *const linux_marks[] = {
	"Linux version", "Run /init as init process", "minihv-linux: init reached",
};

int guest_create_linux(struct guest *g, const char *name, const void *image, size_t len,
		       uint64_t ram, const char *cmdline, const void *initrd, size_t initrd_len,
		       unsigned ncpus, bool strict_io, char *err, size_t errlen)
{
	struct bz_image bi;
	const struct vcpu_backend *be;
	struct mmu_caps mc;
	int r;

	memset(g, 0, sizeof(*g));
	r = guest_pc_ram_check(ram, err, errlen);
	if (!r)
		r = bz_parse(image, len, ram, &bi, err, errlen);
	if (!r)
		r = hv_backend(&be, &mc, err, errlen);
	if (!r)
		r = vm_create(&g->vm, name, &mc, err, errlen);
	if (r)
		return r;
	/*
	 * 2 MiB host pages, allocated now: second-level tables of 2 MiB leaves
	 * (Debian's boot: 1,800 NPT faults instead of 27,000 on lazy 4 KiB RAM).
	 */
	r = vm_add_ram(&g->vm, 0, ram, PT_LEVEL_2M, 0, 0, err, errlen);
	if (!r)
		r = load(g, image, &bi, ram, cmdline, initrd, initrd_len, ncpus, err, errlen);
	if (r) {
		vm_destroy(&g->vm);
		return r;
	}
	pc_platform_init(&g->pc, &g->vm, ram, ncpus, strict_io);
	g->pc.acpi = true;
	g->pc.hlt_off = true;
	g->pc.marks = linux_marks;
	g->pc.nmarks = ARRAY_SIZE(linux_marks);
	g->pc.start_tsc = rdtsc();
	g->is_pc = true;
	struct vcpu_entry e = {
		.rip = bi.load_addr + BZ_ENTRY64, .rsp = LINUX_STACK_TOP, .cr3 = GUEST_PML4,
		.rsi = LINUX_ZERO_PAGE,
	};
	return guest_pc_vcpu0(g, be, &e, err, errlen);
}
