#include "arch/x86/percpu.h"
#include "arch/x86/hal.h"
#include "arch/x86/msr.h"
#include "arch/x86/cpu.h"

struct cpu_local cpu_locals[NR_CPUS];
unsigned nr_cpus_online;

void percpu_init(unsigned id, uint32_t apic_id)
{
	struct cpu_local *c = &cpu_locals[id];

	c->self = c;
	c->id = id;
	c->apic_id = apic_id;
	wrmsr(MSR_GS_BASE, (uint64_t)c);
}
