/*
 * The PC-platform test guest's local APIC checks (guest/pc/pcguest.c runs
 * them): timers, IPIs, an AP started by INIT and SIPI, HLT. vCPU 0 (the
 * BSP) starts in xAPIC mode at APIC_MMIO; check_lapic_timer() turns on
 * x2APIC for the TSC-deadline timer.
 */
#include "guest/pc/pcguest.h"

#define AP_PAGE 0x8000         /* the trampoline: SIPI vector 8 */
#define AP_CS (AP_PAGE >> 4)   /* real mode at CS:0 with CS = vector << 8 */
#define TIMER_COUNT 100000     /* 100 us at the APIC's 1 GHz bus */

/* entry.S */
extern const char ap_tramp[], ap_tramp_end[], ap_tramp_cs[], ap_tramp_msw[];
void ap_main(void);

static volatile bool x2apic_on;
static volatile uint32_t ap_up, ap_apic_id, ap_ipis;
static volatile uint64_t ap_efer;

static uint32_t apic_read(uint32_t off)
{
	if (x2apic_on)
		return (uint32_t)rdmsr(MSR_X2APIC + off / 16);
	return *(volatile uint32_t *)(APIC_MMIO + off);
}

void apic_write(uint32_t off, uint32_t v)
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

void apic_irq(unsigned vec)
{
	if (vec == VEC_AP) { /* on the AP: answer the BSP */
		ap_ipis++;
		apic_ipi(0, VEC_BSP);
	}
	if (vec != VEC_SPURIOUS) /* the spurious vector takes no EOI */
		apic_write(APIC_EOI, 0);
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

static void timer_oneshot(void)
{
	apic_write(APIC_SVR, APIC_SVR_ON);
	apic_write(APIC_TIMER_DIV, APIC_DIV_1);
	apic_write(APIC_LVT_TIMER, VEC_TIMER);
	irq_count[VEC_TIMER] = 0;
	apic_write(APIC_TIMER_INIT, TIMER_COUNT);
}

void check_lapic_timer(void)
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

void check_init_sipi(void)
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

void check_ipi(uint64_t cpus)
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

void check_hlt_sleep(void)
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
