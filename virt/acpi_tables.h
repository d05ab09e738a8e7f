/*
 * The firmware ACPI tables a PC guest (Linux) reads to find its CPUs, its
 * I/O APIC, the SCI and the way to power off (issue 24). Built into a
 * buffer the caller copies to guest-physical memory: RSDP, RSDT, XSDT,
 * FADT, FACS, MADT and a DSDT holding only \_S5. Pure: host-tested by
 * tests/host/test_acpi_tables.c. Section numbers are ACPI 6.5's.
 */
#ifndef MINIHV_VIRT_ACPI_TABLES_H
#define MINIHV_VIRT_ACPI_TABLES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Sizes fixed by the spec. */
#define ACPI_RSDP_LEN 36       /* 5.2.5.3: revision 2, the XSDP */
#define ACPI_RSDP_V1_LEN 20    /* 5.2.5.3: the part the first checksum covers */
#define ACPI_RSDP_ALIGN 16     /* 5.2.5.1: found by a scan on 16-byte boundaries */
#define ACPI_SDT_HDR_LEN 36    /* 5.2.6: every description table starts with it */
#define ACPI_FADT_LEN 276      /* 5.2.9: FADT major version 6 */
#define ACPI_FACS_LEN 64       /* 5.2.10 */
#define ACPI_FACS_ALIGN 64     /* 5.2.10: "aligned on a 64-byte boundary" */
#define ACPI_MADT_HDR_LEN 44   /* 5.2.12: header, Local Interrupt Controller Address, Flags */

/* Offsets in the FADT (5.2.9), for the port emulation and the tests. */
#define FADT_FIRMWARE_CTRL 36
#define FADT_DSDT 40
#define FADT_SCI_INT 46
#define FADT_SMI_CMD 48
#define FADT_PM1A_EVT_BLK 56
#define FADT_PM1A_CNT_BLK 64
#define FADT_PM_TMR_BLK 76
#define FADT_PM1_EVT_LEN 88
#define FADT_PM1_CNT_LEN 89
#define FADT_PM_TMR_LEN 91
#define FADT_IAPC_BOOT_ARCH 109
#define FADT_FLAGS 112
#define FADT_MINOR_VERSION 131
#define FADT_X_FIRMWARE_CTRL 132
#define FADT_X_DSDT 140
#define FADT_X_PM1A_EVT_BLK 148
#define FADT_X_PM1A_CNT_BLK 172
#define FADT_X_PM_TMR_BLK 208

/* FADT Flags (5.2.9, "Fixed ACPI Description Table Fixed Feature Flags"). */
#define FADT_F_WBINVD (1u << 0)     /* WBINVD works (it is what the CPU has) */
#define FADT_F_PWR_BUTTON (1u << 4) /* 1: no fixed-feature power button */
#define FADT_F_SLP_BUTTON (1u << 5) /* 1: no fixed-feature sleep button */
#define FADT_F_HW_REDUCED (1u << 20)

/* IAPC_BOOT_ARCH (5.2.9.3). */
#define FADT_BOOT_8042 (1u << 1)          /* an 8042 keyboard controller */
#define FADT_BOOT_VGA_NOT_PRESENT (1u << 2)

/* Generic Address Structure (5.2.3.2): 12 bytes. */
#define ACPI_GAS_LEN 12
#define ACPI_GAS_SYSTEM_IO 1
#define ACPI_GAS_ACCESS_WORD 2

/* MADT (5.2.12). */
#define MADT_PCAT_COMPAT (1u << 0)   /* 5.2.12: the PC's dual 8259s are there too */
#define MADT_TYPE_LAPIC 0            /* 5.2.12.2, 8 bytes */
#define MADT_TYPE_IOAPIC 1           /* 5.2.12.3, 12 bytes */
#define MADT_TYPE_ISO 2              /* 5.2.12.5 Interrupt Source Override, 10 bytes */
#define MADT_TYPE_LAPIC_NMI 4        /* 5.2.12.7, 6 bytes */
#define MADT_LAPIC_LEN 8
#define MADT_IOAPIC_LEN 12
#define MADT_ISO_LEN 10
#define MADT_LAPIC_NMI_LEN 6
#define MADT_LAPIC_ENABLED (1u << 0) /* 5.2.12.2, Local APIC Flags */
#define MADT_ALL_PROCESSORS 0xff     /* 5.2.12.7: ACPI Processor UID of "all" */
/* MPS INTI flags (5.2.12.5): polarity in bits 1:0, trigger mode in 3:2. */
#define MPS_POLARITY_HIGH 0x1
#define MPS_POLARITY_LOW 0x3
#define MPS_TRIGGER_EDGE (0x1 << 2)
#define MPS_TRIGGER_LEVEL (0x3 << 2)
#define MADT_ISA_BUS 0

/*
 * The PM1 registers the FADT points at (4.8.3.1, 4.8.3.2.1): PM1_EVT_LEN 4
 * bytes, the status register in the first half and the enable register in
 * the second; PM1_CNT_LEN 2 bytes. Writing PM1_CNT with SLP_EN set and
 * SLP_TYP = ACPI_S5_SLP_TYP (the value \_S5 names) enters S5: power off.
 */
#define ACPI_PM1_EVT_LEN 4
#define ACPI_PM1_CNT_LEN 2
#define ACPI_PM1_STS 0                /* offset in PM1_EVT_BLK */
#define ACPI_PM1_EN 2                 /* offset in PM1_EVT_BLK */
#define ACPI_PM1_SCI_EN (1u << 0)     /* 4.8.3.2.1: 1, the SCI, not an SMI, signals events */
#define ACPI_PM1_SLP_TYP_SHIFT 10     /* 4.8.3.2.1: SLP_TYPx, bits 12:10 */
#define ACPI_PM1_SLP_TYP_MASK (7u << ACPI_PM1_SLP_TYP_SHIFT)
#define ACPI_PM1_SLP_EN (1u << 13)    /* 4.8.3.2.1: write-only, enters SLP_TYP's state */
#define ACPI_S5_SLP_TYP 5             /* our \_S5 package's first element */

#define ACPI_OEM_ID "MINIHV"          /* 6 characters at most */
#define ACPI_OEM_TABLE_ID "MINIHV"    /* 8 characters at most, space-padded */
#define ACPI_CREATOR_ID "MNHV"

struct acpi_platform {
	unsigned ncpus;        /* 1 .. VM_MAX_VCPUS: APIC IDs and processor UIDs 0 .. ncpus-1 */
	uint32_t lapic_base;   /* 0xfee00000 */
	uint8_t ioapic_id;
	uint32_t ioapic_base;  /* 0xfec00000 */
	uint32_t ioapic_gsi_base; /* 0: the I/O APIC's pin n is GSI n */
	uint8_t sci_irq;       /* ISA IRQ and GSI of the SCI: 9 */
	uint16_t pm1a_evt;     /* port of PM1a_EVT_BLK, ACPI_PM1_EVT_LEN bytes: 0x600 */
	uint16_t pm1a_cnt;     /* port of PM1a_CNT_BLK, ACPI_PM1_CNT_LEN bytes: 0x604 */
	const char *oem_id;    /* NULL: ACPI_OEM_ID */
	const char *oem_table_id; /* NULL: ACPI_OEM_TABLE_ID */
};

/*
 * Build the tables in @buf (@cap bytes), to be copied to guest-physical
 * @gpa: every pointer in them is a GPA computed from @gpa. The RSDP comes
 * first, at @gpa itself, so @gpa must be 16-byte aligned and, for a guest
 * to find it by scanning, in [0xe0000, 0x100000); all of it must lie below
 * 4 GiB (the RSDT's pointers are 32-bit). Returns 0 with *@used the bytes
 * written, -E2BIG when @cap is too small or -EINVAL on a bad @gpa or
 * platform, with the reason in @err.
 */
int acpi_tables_build(uint8_t *buf, size_t cap, uint64_t gpa, const struct acpi_platform *p,
		      size_t *used, char *err, size_t errlen);

#endif
