/* arch/x86/hal.h for the kernel: physical memory is identity-mapped (mm/hostpt.c). */
#include "arch/x86/hal.h"

void *phys_to_virt(uint64_t pa)
{
	return (void *)(uintptr_t)pa;
}

uint64_t virt_to_phys(const void *va)
{
	return (uint64_t)(uintptr_t)va;
}
