#include "arch/x86/smp.h"
#include "arch/x86/cpu.h"
#include "arch/x86/desc.h"
#include "arch/x86/hal.h"
#include "arch/x86/lapic.h"
#include "arch/x86/msr.h"
#include "arch/x86/percpu.h"
#include "arch/x86/ports.h"

extern char ap_trampoline_start[], ap_trampoline_end[];
extern char ap_tr_cr3[], ap_tr_efer[], ap_tr_stack[], ap_tr_cpu[], ap_tr_entry[];
extern char ipi_call_isr[], ipi_kick_isr[];

volatile uint64_t cpu_online_mask;

static uint64_t ipis_sent[NR_CPUS];
static uint64_t kicks_to[NR_CPUS]; /* kicks each CPU was sent (make bench) */

/* smp_run_on()'s work: WORK_FREE -> WORK_QUEUED (sender) -> WORK_FREE (the AP, once done). */
enum { WORK_FREE, WORK_CLAIMED, WORK_QUEUED };

static struct work_slot {
	int state;
	smp_call_fn fn;
	void *arg;
} __aligned(64) work_slots[NR_CPUS];
static uint64_t bsp_cr4; /* the APs start from the boot CPU's CR4 (OSFXSR, ...) */

/* I/O port 0x80 (POST codes) takes about 1 us on PC hardware: a clock-free delay. */
static void io_delay_us(unsigned us)
{
	while (us--)
		outb(0x80, 0);
}

void smp_run_call(void)
{
	struct call_slot *s = &cpu_locals[cpu_id()].call;
	int pending = CALL_PENDING;

	if (!__atomic_compare_exchange_n(&s->state, &pending, CALL_RUNNING, false,
					 __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return;
	s->fn(s->arg);
	__atomic_store_n(&s->state, CALL_FREE, __ATOMIC_RELEASE);
}

/* arch/x86/ipi_isr.S */
void smp_ipi_interrupt(void);
void smp_ipi_interrupt(void)
{
	lapic_eoi();
	smp_poll_calls();
}

static void send_call(unsigned cpu, smp_call_fn fn, void *arg)
{
	struct call_slot *s = &cpu_locals[cpu].call;

	for (;;) {
		int free = CALL_FREE;

		if (__atomic_compare_exchange_n(&s->state, &free, CALL_CLAIMED, false,
						__ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			break;
		hal_cpu_relax(); /* runs our calls: that CPU may be waiting on us */
	}
	s->fn = fn;
	s->arg = arg;
	__atomic_store_n(&s->state, CALL_PENDING, __ATOMIC_RELEASE);
	ipis_sent[cpu_id()]++;
	lapic_send_ipi(cpu_locals[cpu].apic_id, ICR_FIXED | IPI_CALL_VECTOR);
}

void smp_call_many(uint64_t mask, smp_call_fn fn, void *arg, bool wait)
{
	unsigned self = cpu_id();

	mask &= cpu_online_mask & ~(1ULL << self);
	for (unsigned c = 0; c < NR_CPUS; c++)
		if (mask & (1ULL << c))
			send_call(c, fn, arg);
	if (!wait)
		return;
	/*
	 * Done when the slot is free again. A later sender may have claimed it
	 * meanwhile: still done, since the slot is only claimable once ours ran.
	 */
	for (unsigned c = 0; c < NR_CPUS; c++) {
		if (!(mask & (1ULL << c)))
			continue;
		while (__atomic_load_n(&cpu_locals[c].call.state, __ATOMIC_ACQUIRE) != CALL_FREE &&
		       __atomic_load_n(&cpu_locals[c].call.fn, __ATOMIC_RELAXED) == fn &&
		       __atomic_load_n(&cpu_locals[c].call.arg, __ATOMIC_RELAXED) == arg)
			hal_cpu_relax();
	}
}

static void wake(void *arg)
{
	(void)arg; /* the IPI itself woke the CPU from HLT */
}

int smp_run_on(unsigned cpu, smp_call_fn fn, void *arg)
{
	struct work_slot *w = &work_slots[cpu];
	int free = WORK_FREE;

	if (cpu >= NR_CPUS || cpu == cpu_id() || !(cpu_online_mask & (1ULL << cpu)) ||
	    !__atomic_compare_exchange_n(&w->state, &free, WORK_CLAIMED, false, __ATOMIC_ACQUIRE,
					 __ATOMIC_RELAXED))
		return -1;
	w->fn = fn;
	w->arg = arg;
	__atomic_store_n(&w->state, WORK_QUEUED, __ATOMIC_RELEASE);
	smp_call_many(1ULL << cpu, wake, NULL, false);
	return 0;
}

void smp_work_wait(unsigned cpu)
{
	while (cpu < NR_CPUS && __atomic_load_n(&work_slots[cpu].state, __ATOMIC_ACQUIRE) != WORK_FREE)
		hal_cpu_relax();
}

static void run_work(void)
{
	struct work_slot *w = &work_slots[cpu_id()];

	if (__atomic_load_n(&w->state, __ATOMIC_ACQUIRE) != WORK_QUEUED)
		return;
	w->fn(w->arg);
	__atomic_store_n(&w->state, WORK_FREE, __ATOMIC_RELEASE);
}

void smp_kick(unsigned cpu)
{
	if (cpu >= NR_CPUS || cpu == cpu_id())
		return;
	ipis_sent[cpu_id()]++;
	__atomic_add_fetch(&kicks_to[cpu], 1, __ATOMIC_RELAXED);
	lapic_send_ipi(cpu_locals[cpu].apic_id, ICR_FIXED | IPI_KICK_VECTOR);
}

void hal_cpu_relax(void)
{
	__builtin_ia32_pause();
	smp_poll_calls();
}

unsigned smp_other_cpus(unsigned *cpus, unsigned max)
{
	unsigned n = 0;

	for (unsigned c = 0; c < NR_CPUS && n < max; c++)
		if (c != cpu_id() && (cpu_online_mask & (1ULL << c)))
			cpus[n++] = c;
	return n;
}

uint64_t smp_ipis_sent(unsigned cpu)
{
	return cpu < NR_CPUS ? ipis_sent[cpu] : 0;
}

uint64_t smp_kicks_to(unsigned cpu)
{
	return cpu < NR_CPUS ? __atomic_load_n(&kicks_to[cpu], __ATOMIC_RELAXED) : 0;
}

void smp_init_bsp(void)
{
	lapic_init();
	this_cpu_local()->apic_id = lapic_id();
	this_cpu_local()->online = true;
	idt_set_gate(IPI_CALL_VECTOR, (uint64_t)ipi_call_isr);
	idt_set_gate(IPI_KICK_VECTOR, (uint64_t)ipi_kick_isr);
	bsp_cr4 = read_cr4();
	__atomic_or_fetch(&cpu_online_mask, 1ULL << cpu_id(), __ATOMIC_RELEASE);
}

/* The AP's C entry (trampoline): per-CPU data, descriptors, APIC, then idle. */
__noreturn void ap_main(unsigned cpu);
__noreturn void ap_main(unsigned cpu)
{
	percpu_init(cpu, 0);
	write_cr0(read_cr0() & ~(X86_CR0_CD | X86_CR0_NW));
	write_cr4(bsp_cr4 & ~X86_CR4_VMXE); /* VMX is turned on per CPU, later */
	gdt_init();
	idt_load();
	lapic_enable_this_cpu();
	this_cpu_local()->apic_id = lapic_id();
	this_cpu_local()->online = true;
	__atomic_or_fetch(&cpu_online_mask, 1ULL << cpu, __ATOMIC_RELEASE);
	for (;;) {
		/* STI's one-instruction shadow: an IPI cannot slip in before HLT. */
		__asm__ __volatile__("sti; hlt; cli" ::: "memory");
		smp_poll_calls();
		run_work();
	}
}

static void *tr_field(const char *sym)
{
	return phys_to_virt(AP_TRAMPOLINE + (uint64_t)(sym - ap_trampoline_start));
}

bool smp_start_ap(unsigned cpu, uint32_t apic_id, uint64_t stack_top)
{
	if (cpu >= NR_CPUS || apic_id > XAPIC_MAX_ID || read_cr3() >> 32)
		return false;
	uint8_t *tr = phys_to_virt(AP_TRAMPOLINE);
	for (long i = 0; i < ap_trampoline_end - ap_trampoline_start; i++)
		tr[i] = (uint8_t)ap_trampoline_start[i];
	*(uint64_t *)tr_field(ap_tr_cr3) = read_cr3();
	*(uint64_t *)tr_field(ap_tr_efer) = rdmsr(MSR_EFER) & (EFER_LME | EFER_NXE);
	*(uint64_t *)tr_field(ap_tr_stack) = stack_top;
	*(uint64_t *)tr_field(ap_tr_cpu) = cpu;
	*(uint64_t *)tr_field(ap_tr_entry) = (uint64_t)ap_main;
	cpu_locals[cpu].apic_id = apic_id;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);

	/* SDM 3A, 9.4.4.1: INIT, 10 ms, SIPI, 200 us, SIPI. */
	lapic_send_ipi(apic_id, ICR_INIT | ICR_LEVEL_ASSERT);
	io_delay_us(10000);
	for (int sipi = 0; sipi < 2; sipi++) {
		lapic_send_ipi(apic_id, ICR_STARTUP | (AP_TRAMPOLINE >> 12));
		io_delay_us(200);
		if (__atomic_load_n(&cpu_online_mask, __ATOMIC_ACQUIRE) & (1ULL << cpu))
			return true;
	}
	/* Up to about a second: an emulator may schedule the new CPU late. */
	for (unsigned ms = 0; ms < 1000; ms++) {
		if (__atomic_load_n(&cpu_online_mask, __ATOMIC_ACQUIRE) & (1ULL << cpu))
			return true;
		io_delay_us(1000);
	}
	return false;
}
