/*
 * The processors the firmware lists in the ACPI MADT, for SMP bring-up
 * (boot/acpi.c, pure and host-tested).
 */
#ifndef MINIHV_ACPI_H
#define MINIHV_ACPI_H

#include "arch/x86/arch.h"

#define ACPI_MAX_CPUS 64

struct acpi_cpu {
	uint32_t apic_id;  /* local APIC ID (x2APIC ID when x2apic) */
	uint32_t acpi_uid; /* ACPI processor UID */
	bool x2apic;       /* from a Processor Local x2APIC entry (type 9) */
};

struct acpi_cpus {
	unsigned n; /* enabled processors kept in cpu[], in MADT order */
	struct acpi_cpu cpu[ACPI_MAX_CPUS];
	uint64_t lapic_pa;          /* local APIC base, after any override entry */
	unsigned skipped_disabled;  /* not Enabled (Online Capable or not) */
	unsigned skipped_duplicate; /* an APIC ID already kept: the first entry wins */
	unsigned dropped_over_max;  /* enabled, but past the first ACPI_MAX_CPUS */
};

/*
 * Walks RSDP -> XSDT (or RSDT) -> MADT from the RSDP at physical @rsdp_pa
 * and fills @out. Returns 0, -ENOENT when ACPI does not say (no RSDP, no
 * MADT), or -EINVAL for a malformed table or no enabled processor; on an
 * error @err says which table, address and offset.
 */
int acpi_find_cpus(uint64_t rsdp_pa, struct acpi_cpus *out, char *err, size_t errlen);

#endif
