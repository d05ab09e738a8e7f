/*
 * The PC-platform test guest (tests/kernel/test_pc_platform.c): a
 * multiboot1 kernel written the way third-party ones are (guest/pc/entry.S
 * turns on long mode), that runs the check its command line names and
 * reports through COM1 ("PASS: ..." / "FAIL: ...") and QEMU's
 * isa-debug-exit: `outl code, 0xf4` with 0 when every check passed, else
 * the number of the first that failed (minihv's exit status is
 * (code << 1) | 1). The command line is "CHECK [ram=BYTES] [cpus=N]",
 * the values the test gave minihv.
 */
#include "guest/pc/pcguest.h"

struct frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error, rip, cs, rflags, rsp, ss;
};

struct mb_info {
	uint32_t flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
	uint32_t syms[4], mmap_length, mmap_addr;
};

struct __attribute__((packed)) mb_mmap {
	uint32_t size;
	uint64_t addr, len;
	uint32_t type;
};

struct idt_entry {
	uint16_t off0, sel, attr, off1;
	uint32_t off2, zero;
};

/* entry.S */
extern uint32_t entry_eax, entry_ebx, entry_cr0, flat_read[2];
extern uint16_t entry_sel[4];
extern const char isr_stubs[];
void idt_load(void);
void trap(struct frame *f);
void pc_main(void);

static struct idt_entry idt[256] __attribute__((aligned(16)));
static volatile unsigned exc_count[32];
volatile unsigned irq_count[256];
static volatile unsigned gp_skip;      /* bytes a #GP skips (the faulting RDMSR/WRMSR), 0: none expected */
static volatile uint64_t gp_error;
static unsigned nchecks;
unsigned first_fail;
static const char *cmdline = "";

static inline uint64_t read_cr(int n)
{
	uint64_t v = 0;

	if (n == 0)
		__asm__ volatile("mov %%cr0, %0" : "=r"(v));
	else if (n == 4)
		__asm__ volatile("mov %%cr4, %0" : "=r"(v));
	return v;
}

static void putc_com1(char c)
{
	outb(PORT_COM1, (uint8_t)c);
}

void puts_com1(const char *s)
{
	while (*s)
		putc_com1(*s++);
}

static void puthex(uint64_t v)
{
	puts_com1("0x");
	for (int i = 60; i >= 0; i -= 4)
		if ((v >> i) || !i)
			putc_com1("0123456789abcdef"[(v >> i) & 15]);
}

__attribute__((noreturn)) void debug_exit(uint32_t code)
{
	outl(PORT_DEBUG_EXIT, code);
	for (;;)
		__asm__ volatile("cli; hlt");
}

void report(bool ok, const char *what)
{
	nchecks++;
	puts_com1(ok ? "PASS: " : "FAIL: ");
	puts_com1(what);
	putc_com1('\n');
	if (!ok && !first_fail)
		first_fail = nchecks;
}

void note(const char *what, uint64_t v)
{
	puts_com1(what);
	puthex(v);
	putc_com1('\n');
}

/* The command line's first word is @w. */
static bool is_check(const char *w)
{
	const char *c = cmdline;

	while (*w && *c == *w)
		c++, w++;
	return !*w && (*c == ' ' || !*c);
}

/* The decimal value of " key=" on the command line, or @def. */
static uint64_t arg(const char *key, uint64_t def)
{
	for (const char *c = cmdline; *c; c++) {
		const char *k = key, *p = c + 1;

		if (*c != ' ')
			continue;
		while (*k && *p == *k)
			p++, k++;
		if (*k || *p != '=')
			continue;
		uint64_t v = 0;

		for (p++; *p >= '0' && *p <= '9'; p++)
			v = v * 10 + (uint64_t)(*p - '0');
		return v;
	}
	return def;
}

void idt_load(void)
{
	for (unsigned i = 0; i < 256; i++) {
		uint64_t a = (uint64_t)(uintptr_t)(isr_stubs + 16 * i);

		idt[i] = (struct idt_entry){ .off0 = (uint16_t)a, .sel = 0x08, .attr = 0x8e00,
					     .off1 = (uint16_t)(a >> 16), .off2 = (uint32_t)(a >> 32) };
	}
	struct __attribute__((packed)) { uint16_t limit; uint64_t base; } p = {
		sizeof(idt) - 1, (uint64_t)(uintptr_t)idt,
	};
	__asm__ volatile("lidt %0" :: "m"(p));
}

void trap(struct frame *f)
{
	if (f->vector < 32) {
		exc_count[f->vector]++;
		if (f->vector == VEC_GP && gp_skip) {
			gp_error = f->error;
			f->rip += gp_skip;
			return;
		}
		puts_com1("FAIL: unexpected exception ");
		puthex(f->vector);
		puts_com1(" error ");
		puthex(f->error);
		puts_com1(" at RIP ");
		puthex(f->rip);
		putc_com1('\n');
		debug_exit(0x7e);
	}
	irq_count[f->vector]++;
	apic_irq((unsigned)f->vector);
}

/* RDMSR/WRMSR (2 bytes each) that may #GP: true if it did. */
static bool rdmsr_gp(uint32_t msr)
{
	unsigned before = exc_count[13];

	gp_skip = 2;
	(void)rdmsr(msr);
	gp_skip = 0;
	return exc_count[13] != before;
}

static bool wrmsr_gp(uint32_t msr, uint64_t v)
{
	unsigned before = exc_count[13];

	gp_skip = 2;
	wrmsr(msr, v);
	gp_skip = 0;
	return exc_count[13] != before;
}

static void check_entry(const struct mb_info *mbi, uint64_t ram)
{
	note("entry EBX ", entry_ebx);
	note("entry CR0 ", entry_cr0);
	note("entry CS, DS, ES, SS ", (uint64_t)entry_sel[0] << 48 | (uint64_t)entry_sel[1] << 32 |
	     (uint64_t)entry_sel[2] << 16 | entry_sel[3]);
	report(entry_eax == MB1_BOOT_MAGIC, "EAX = 0x2BADB002 at entry");
	report((mbi->flags & (MBI_MEM | MBI_CMDLINE | MBI_MMAP)) == (MBI_MEM | MBI_CMDLINE | MBI_MMAP),
	       "multiboot info flags: mem, cmdline, mmap");
	report(mbi->mem_lower == 639, "mem_lower = 639 KiB");
	report(mbi->mem_upper == (ram - 0x100000) / 1024, "mem_upper = RAM above 1 MiB in KiB");
	report(is_check("entry"), "command line read from the multiboot info");
	bool low = false, high = false, hole = true;

	for (uint32_t off = 0; off < mbi->mmap_length;) {
		const struct mb_mmap *m = (const void *)(uintptr_t)(mbi->mmap_addr + off);

		if (m->type == 1 && m->addr == 0 && m->len >= 0x9f000 && m->len <= 0xa0000)
			low = true;
		if (m->type == 1 && m->addr == 0x100000 && m->len == ram - 0x100000)
			high = true;
		if (m->type == 1 && m->addr < 0x100000 && m->addr + m->len > 0xa0000)
			hole = false;
		off += m->size + 4;
	}
	report(low && high && hole, "mmap: RAM below 640 KiB and [1 MiB, RAM), none in the hole");
	report((entry_cr0 & CR0_PE) && !(entry_cr0 & CR0_PG), "CR0: PE set, PG clear at entry");
	report(flat_read[0] == 0x5aa5c33c && flat_read[1] == 0x5aa5c33c,
	       "flat segments: a store through ES reads back through DS and SS");
	report(rdmsr(MSR_EFER) & EFER_LMA, "long mode: EFER.LMA set");
	report((read_cr(0) & CR0_PG) && (read_cr(4) & CR4_PAE), "long mode: CR0.PG, CR4.PAE set");
}

static void fwcfg_select(uint16_t key)
{
	outw(PORT_FWCFG, key);
}

static uint64_t fwcfg_read(unsigned len)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < len; i++)
		v |= (uint64_t)inb(PORT_FWCFG + 1) << (8 * i);
	return v;
}

static void check_fwcfg(uint64_t ram, uint64_t cpus)
{
	fwcfg_select(FWCFG_SIGNATURE);
	report(fwcfg_read(4) == 0x554d4551, "fw_cfg signature \"QEMU\"");
	fwcfg_select(FWCFG_NB_CPUS);
	uint64_t n = fwcfg_read(2);

	note("fw_cfg CPUs ", n);
	report(n == cpus, "fw_cfg CPU count = the vCPUs given");
	fwcfg_select(FWCFG_RAM_SIZE);
	uint64_t r = fwcfg_read(8);

	note("fw_cfg RAM ", r);
	report(r == ram, "fw_cfg RAM size = the RAM given");
}

static void check_msr_gp(void)
{
	report(rdmsr_gp(MSR_UNKNOWN), "RDMSR of unknown MSR 0x12345678 raises #GP");
	report(gp_error == 0, "#GP error code 0");
	report(wrmsr_gp(MSR_UNKNOWN, 0), "WRMSR of unknown MSR 0x12345678 raises #GP");
	uint64_t efer = rdmsr(MSR_EFER);

	wrmsr(MSR_EFER, efer | EFER_SCE);
	bool set = rdmsr(MSR_EFER) & EFER_SCE;

	wrmsr(MSR_EFER, efer & ~(uint64_t)EFER_SCE);
	report(set && !(rdmsr(MSR_EFER) & EFER_SCE), "EFER.SCE writable both ways");
	wrmsr(MSR_EFER, efer);
	report(wrmsr_gp(MSR_LSTAR, 0x8000000000000000ull), "non-canonical LSTAR write raises #GP");
	report(!wrmsr_gp(MSR_LSTAR, 0xffff800000001000ull) &&
	       rdmsr(MSR_LSTAR) == 0xffff800000001000ull, "canonical LSTAR write reads back");
	report(exc_count[13] == 3, "exactly three #GP");
}

static void check_unknown_port(void)
{
	report(inb(PORT_UNKNOWN) == 0xff, "IN byte from an unknown port reads 0xff");
	report(inw(PORT_UNKNOWN) == 0xffff, "IN word reads 0xffff");
	report(inl(PORT_UNKNOWN) == 0xffffffffu, "IN dword reads 0xffffffff");
	outb(PORT_UNKNOWN, 0x12); /* goes nowhere */
	report(inb(PORT_UNKNOWN) == 0xff, "a write changes nothing");
}

static void check_cpuid(void)
{
	uint32_t r[4];

	static const char sig[] = "minihvminihv";
	bool same = true;

	cpuid(0x40000000, r);
	for (unsigned i = 0; i < 12; i++) /* EBX, ECX, EDX, little-endian */
		same &= (char)(r[1 + i / 4] >> (8 * (i % 4))) == sig[i];
	report(same, "CPUID 0x40000000: \"minihvminihv\"");
	report(r[0] >= 0x40000010, "CPUID 0x40000000: EAX >= 0x40000010");
	cpuid(0x40000010, r);
	note("TSC kHz ", r[0]);
	report(r[0] != 0, "CPUID 0x40000010: TSC kHz");
	cpuid(1, r);
	report(r[2] & (1u << 21), "CPUID.1:ECX.x2APIC");
	report(r[2] & (1u << 24), "CPUID.1:ECX.TSC-deadline");
	report(r[2] & (1u << 31), "CPUID.1:ECX.hypervisor");
	report(r[3] & (1u << 9), "CPUID.1:EDX.APIC");
}

void pc_main(void)
{
	const struct mb_info *mbi = (const void *)(uintptr_t)entry_ebx;

	if (entry_eax == MB1_BOOT_MAGIC && (mbi->flags & MBI_CMDLINE))
		cmdline = (const char *)(uintptr_t)mbi->cmdline;
	puts_com1("pcguest: command line '");
	puts_com1(cmdline);
	puts_com1("'\n");
	uint64_t ram = arg("ram", 0), cpus = arg("cpus", 1);

	if (is_check("entry"))
		check_entry(mbi, ram);
	else if (is_check("fwcfg"))
		check_fwcfg(ram, cpus);
	else if (is_check("msr_gp"))
		check_msr_gp();
	else if (is_check("unknown_port"))
		check_unknown_port();
	else if (is_check("cpuid"))
		check_cpuid();
	else if (is_check("lapic_timer"))
		check_lapic_timer();
	else if (is_check("ipi"))
		check_ipi(cpus);
	else if (is_check("init_sipi"))
		check_init_sipi();
	else if (is_check("hlt_sleep"))
		check_hlt_sleep();
	else if (is_check("debug_exit"))
		outb(PORT_DEBUG_EXIT, 5);
	else
		report(false, "a check named on the command line");
	if (!nchecks)
		report(false, "the check returned");
	puts_com1(first_fail ? "pcguest: FAILED\n" : "pcguest: all passed\n");
	debug_exit(first_fail);
}
