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
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MB1_BOOT_MAGIC 0x2badb002u
#define MBI_MEM (1u << 0)
#define MBI_CMDLINE (1u << 2)
#define MBI_MMAP (1u << 6)
#define CR0_PE (1u << 0)
#define CR0_PG (1u << 31)
#define MSR_APIC_BASE 0x1b
#define APIC_BASE_X2APIC (1u << 10)
#define MSR_TSC_DEADLINE 0x6e0
#define MSR_X2APIC 0x800   /* x2APIC register at xAPIC offset off: MSR 0x800 + off / 16 */
#define MSR_EFER 0xc0000080
#define MSR_LSTAR 0xc0000082
#define EFER_SCE (1u << 0)
#define EFER_LMA (1u << 10)
#define MSR_UNKNOWN 0x12345678
#define PORT_DEBUG_EXIT 0xf4
#define PORT_COM1 0x3f8
#define PORT_FWCFG 0x510
#define PORT_UNKNOWN 0x5a0     /* nothing there on a PC */
#define FWCFG_SIGNATURE 0
#define FWCFG_RAM_SIZE 3
#define FWCFG_NB_CPUS 5

#define APIC_MMIO 0xfee00000ul
#define APIC_ID 0x20
#define APIC_EOI 0xb0
#define APIC_SVR 0xf0
#define APIC_ISR 0x100
#define APIC_IRR 0x200
#define APIC_ICR 0x300
#define APIC_ICR2 0x310
#define APIC_LVT_TIMER 0x320
#define APIC_TIMER_INIT 0x380
#define APIC_TIMER_CUR 0x390
#define APIC_TIMER_DIV 0x3e0
#define APIC_SVR_ON 0x1ff      /* enabled, spurious vector 0xff */
#define APIC_DIV_1 0xb
#define LVT_MASKED (1u << 16)
#define LVT_PERIODIC (1u << 17)
#define LVT_TSC_DEADLINE (2u << 17)
#define ICR_SELF (1u << 18)    /* destination shorthand: self */
#define ICR_INIT 0x4500        /* INIT, level assert */
#define ICR_SIPI 0x0600        /* startup, vector in bits 7:0 */

#define VEC_TIMER 0x40
#define VEC_SELF 0x41
#define VEC_AP 0x42            /* BSP -> AP */
#define VEC_BSP 0x43           /* the AP's answer */
#define AP_PAGE 0x8000         /* the trampoline: SIPI vector 8 */
#define AP_CS (AP_PAGE >> 4)   /* real mode at CS:0 with CS = vector << 8 */
#define TIMER_COUNT 100000     /* 100 us at the APIC's 1 GHz bus */

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
extern const char isr_stubs[], ap_tramp[], ap_tramp_end[], ap_tramp_cs[], ap_tramp_msw[];
void idt_load(void);
void trap(struct frame *f);
void pc_main(void);
void ap_main(void);

static struct idt_entry idt[256] __attribute__((aligned(16)));
static volatile unsigned exc_count[32], irq_count[256];
static volatile unsigned gp_skip;      /* bytes a #GP skips (the faulting RDMSR/WRMSR), 0: none expected */
static volatile uint64_t gp_error;
static volatile bool x2apic_on;
static volatile uint32_t ap_up, ap_apic_id, ap_ipis;
static volatile uint64_t ap_efer;
static unsigned nchecks, first_fail;
static const char *cmdline = "";

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" :: "a"(v), "Nd"(port)); }
static inline void outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" :: "a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" :: "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint16_t inw(uint16_t port) { uint16_t v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint32_t inl(uint16_t port) { uint32_t v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr) : "memory");
	return (uint64_t)hi << 32 | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" :: "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

static inline void cpuid(uint32_t leaf, uint32_t r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(0));
}

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

static void puts_com1(const char *s)
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

static __attribute__((noreturn)) void debug_exit(uint32_t code)
{
	outl(PORT_DEBUG_EXIT, code);
	for (;;)
		__asm__ volatile("cli; hlt");
}

static void report(bool ok, const char *what)
{
	nchecks++;
	puts_com1(ok ? "PASS: " : "FAIL: ");
	puts_com1(what);
	putc_com1('\n');
	if (!ok && !first_fail)
		first_fail = nchecks;
}

static void note(const char *what, uint64_t v)
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

static uint32_t apic_read(uint32_t off)
{
	if (x2apic_on)
		return (uint32_t)rdmsr(MSR_X2APIC + off / 16);
	return *(volatile uint32_t *)(APIC_MMIO + off);
}

static void apic_write(uint32_t off, uint32_t v)
{
	if (x2apic_on)
		wrmsr(MSR_X2APIC + off / 16, v);
	else
		*(volatile uint32_t *)(APIC_MMIO + off) = v;
}

static void apic_ipi(uint32_t dest, uint32_t icr)
{
	if (x2apic_on) {
		wrmsr(MSR_X2APIC + APIC_ICR / 16, (uint64_t)dest << 32 | icr);
		return;
	}
	apic_write(APIC_ICR2, dest << 24);
	apic_write(APIC_ICR, icr);
}

static bool vec_bit(uint32_t reg, unsigned vec)
{
	return apic_read(reg + 0x10 * (vec / 32)) & (1u << (vec % 32));
}

void trap(struct frame *f)
{
	if (f->vector < 32) {
		exc_count[f->vector]++;
		if (f->vector == 13 && gp_skip) {
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
	if (f->vector == VEC_AP) { /* on the AP: answer the BSP */
		ap_ipis++;
		apic_ipi(0, VEC_BSP);
	}
	if (f->vector != 0xff) /* the spurious vector takes no EOI */
		apic_write(APIC_EOI, 0);
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

/* Sleep in HLT with interrupts on until @vec was taken @n times, at most @tries HLTs. */
static unsigned wait_irq(unsigned vec, unsigned n, unsigned tries)
{
	while (irq_count[vec] < n && tries--)
		__asm__ volatile("sti; hlt; cli" ::: "memory");
	return irq_count[vec];
}

/* Spin (interrupts as they are) until *@p is non-zero or about 2^31 TSC ticks pass. */
static bool wait_flag(volatile uint32_t *p)
{
	uint64_t t0 = rdtsc();

	while (!*p && rdtsc() - t0 < (1ull << 31))
		__asm__ volatile("pause" ::: "memory");
	return *p != 0;
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
	report((read_cr(0) & CR0_PG) && (read_cr(4) & 0x20), "long mode: CR0.PG, CR4.PAE set");
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

static void timer_oneshot(void)
{
	apic_write(APIC_SVR, APIC_SVR_ON);
	apic_write(APIC_TIMER_DIV, APIC_DIV_1);
	apic_write(APIC_LVT_TIMER, VEC_TIMER);
	irq_count[VEC_TIMER] = 0;
	apic_write(APIC_TIMER_INIT, TIMER_COUNT);
}

static void check_lapic_timer(void)
{
	timer_oneshot();
	report(wait_irq(VEC_TIMER, 1, 1000) == 1, "xAPIC one-shot timer: sti; hlt woke once");
	report(apic_read(APIC_TIMER_CUR) == 0, "one-shot timer: current count 0 after");
	report(!vec_bit(APIC_ISR, VEC_TIMER), "ISR clear after EOI");

	irq_count[VEC_TIMER] = 0;
	apic_write(APIC_LVT_TIMER, VEC_TIMER | LVT_PERIODIC);
	apic_write(APIC_TIMER_INIT, TIMER_COUNT);
	unsigned n = wait_irq(VEC_TIMER, 3, 1000);

	apic_write(APIC_TIMER_INIT, 0);
	apic_write(APIC_LVT_TIMER, VEC_TIMER | LVT_MASKED);
	note("periodic ticks ", n);
	report(n >= 2, "xAPIC periodic timer fired at least twice");

	uint64_t base = rdmsr(MSR_APIC_BASE);

	wrmsr(MSR_APIC_BASE, base | APIC_BASE_X2APIC);
	x2apic_on = true;
	report(rdmsr(MSR_APIC_BASE) & APIC_BASE_X2APIC, "x2APIC mode by APIC_BASE bit 10");
	report(apic_read(APIC_ID) == 0, "x2APIC ID 0");
	irq_count[VEC_TIMER] = 0;
	apic_write(APIC_LVT_TIMER, VEC_TIMER | LVT_TSC_DEADLINE);
	wrmsr(MSR_TSC_DEADLINE, rdtsc() + 200000);
	report(wait_irq(VEC_TIMER, 1, 1000) == 1, "TSC-deadline timer fired (x2APIC)");
	report(rdmsr(MSR_TSC_DEADLINE) == 0, "TSC deadline reads 0 once fired");
}

/* INIT, SIPI, SIPI to APIC ID 1 with the trampoline at AP_PAGE; true once it is up. */
static bool start_ap(void)
{
	size_t len = (size_t)(ap_tramp_end - ap_tramp);
	volatile char *dst = (volatile char *)AP_PAGE;

	for (size_t i = 0; i < len; i++)
		dst[i] = ap_tramp[i];
	apic_write(APIC_SVR, APIC_SVR_ON);
	apic_ipi(1, ICR_INIT);
	apic_ipi(1, ICR_SIPI | (AP_PAGE >> 12));
	apic_ipi(1, ICR_SIPI | (AP_PAGE >> 12));
	return wait_flag(&ap_up);
}

void ap_main(void)
{
	ap_efer = rdmsr(MSR_EFER);
	apic_write(APIC_SVR, APIC_SVR_ON);
	ap_apic_id = apic_read(APIC_ID) >> 24;
	__atomic_store_n(&ap_up, 1, __ATOMIC_RELEASE);
	for (;;)
		__asm__ volatile("sti; hlt" ::: "memory");
}

static void check_init_sipi(void)
{
	const volatile uint16_t *cs = (const volatile uint16_t *)(AP_PAGE + (ap_tramp_cs - ap_tramp));
	const volatile uint16_t *msw = (const volatile uint16_t *)(AP_PAGE + (ap_tramp_msw - ap_tramp));

	report(start_ap(), "INIT, SIPI, SIPI: the AP came up");
	note("AP CS in real mode ", *cs);
	report(*cs == AP_CS, "AP entered real mode at CS = SIPI vector << 8");
	report(!(*msw & CR0_PE), "AP started with CR0.PE clear");
	report(ap_efer & EFER_LMA, "AP reached long mode");
	report(ap_apic_id == 1, "AP's APIC ID is 1");
}

static void check_ipi(uint64_t cpus)
{
	apic_write(APIC_SVR, APIC_SVR_ON);
	irq_count[VEC_SELF] = 0;
	__asm__ volatile("sti" ::: "memory");
	apic_ipi(0, ICR_SELF | VEC_SELF);
	__asm__ volatile("nop; cli" ::: "memory");
	report(irq_count[VEC_SELF] == 1, "self-IPI delivered to its handler");
	report(!vec_bit(APIC_ISR, VEC_SELF) && !vec_bit(APIC_IRR, VEC_SELF),
	       "self-IPI: IRR and ISR clear after EOI");
	if (cpus < 2) {
		puts_com1("SKIP: IPI to another vCPU (one vCPU)\n");
		return;
	}
	report(start_ap(), "AP started");
	__asm__ volatile("sti" ::: "memory");
	apic_ipi(1, VEC_AP);
	bool to_ap = wait_flag(&ap_ipis);
	bool back = wait_flag(&irq_count[VEC_BSP]);

	__asm__ volatile("cli" ::: "memory");
	report(to_ap && ap_ipis == 1, "fixed IPI to APIC ID 1 taken by the AP");
	report(back && irq_count[VEC_BSP] == 1, "the AP's IPI back taken by the BSP");
}

static void check_hlt_sleep(void)
{
	uint32_t r[4];

	cpuid(0x40000010, r);
	uint64_t t0 = rdtsc(), min = (uint64_t)TIMER_COUNT * r[0] / 1000000;

	timer_oneshot();
	__asm__ volatile("sti; hlt; cli" ::: "memory");
	uint64_t dt = rdtsc() - t0;

	note("TSC ticks in HLT ", dt);
	report(irq_count[VEC_TIMER] == 1, "sti; hlt returned with the timer's interrupt taken");
	report(dt >= min, "HLT slept until the timer was due");
	if (first_fail)
		debug_exit(first_fail);
	apic_write(APIC_LVT_TIMER, VEC_TIMER | LVT_MASKED);
	puts_com1("HLT with interrupts off and nothing armed: minihv stops the guest\n");
	__asm__ volatile("cli; hlt" ::: "memory");
	report(false, "HLT with interrupts off returned");
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
