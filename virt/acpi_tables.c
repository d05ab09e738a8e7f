/*
 * The guest's firmware ACPI tables (virt/acpi_tables.h). Section numbers are
 * ACPI 6.5's. The tables sit one after the other in the buffer:
 *
 *   RSDP | FACS | RSDT | XSDT | FADT | MADT | DSDT
 *
 * A full, not a hardware-reduced, ACPI platform: the FADT names PM1 event
 * and control blocks at I/O ports (so poweroff is a PM1a_CNT write) and an
 * SCI; the MADT lists the local APICs, one I/O APIC and the SCI's routing.
 */
#include "virt/acpi_tables.h"
#include "ept/vm.h" /* VM_MAX_VCPUS */
#include "lib/lib.h"

#define SDT_CHECKSUM 9      /* 5.2.6: the header's checksum byte */
#define RSDP_CHECKSUM 8     /* 5.2.5.3 */
#define RSDP_XCHECKSUM 32   /* 5.2.5.3: over all 36 bytes */
#define RSDP_REVISION 2     /* 5.2.5.3: ACPI 2.0 and later, the XsdtAddress is there */

#define RSDT_REVISION 1
#define XSDT_REVISION 1
#define FADT_REVISION 6     /* 5.2.9: FADT Major Version */
#define FADT_MINOR 5        /* 5.2.9: FADT Minor Version, ACPI 6.5 */
#define MADT_REVISION 5     /* every entry used here exists since ACPI 1.0 */
#define DSDT_REVISION 2     /* 5.2.11.1: 2 and above, AML integers are 64-bit */
#define FACS_VERSION 2
#define OEM_REVISION 1
#define CREATOR_REVISION 1
#define ENTRY_ALIGN 16      /* each table after the RSDP starts on 16 bytes */

/* 5.2.10: the FACS's Length and Version. */
#define FACS_LENGTH 4
#define FACS_VERSION_OFF 32

/* MADT (5.2.12): Local Interrupt Controller Address, Flags; then the entries. */
#define MADT_LAPIC_ADDR 36
#define MADT_FLAGS 40
#define MADT_FIXED_ENTRIES (MADT_IOAPIC_LEN + MADT_ISO_LEN + MADT_LAPIC_NMI_LEN)
#define LINT1 1

/*
 * The DSDT's AML (chapter 20, "ACPI Machine Language (AML) Specification"):
 *   Name (_S5, Package () { 5, 0, 0, 0 })
 * DefName (20.2.5.1) := NameOp NameString DataRefObject, NameOp 0x08; the
 * name "_S5_" (20.2.2: four characters, '_'-padded) at the root, where the
 * DSDT's definitions are; DefPackage (20.2.5.4) := PackageOp PkgLength
 * NumElements PackageElementList, PackageOp 0x12; the PkgLength (20.2.4)
 * counts itself and what follows: one byte, since that is under 64. The
 * elements: BytePrefix 0x0A with 5 (20.2.3), then ZeroOp 0x00 three times.
 * \_S5 (7.4.2) gives SLP_TYP for PM1a_CNT and PM1b_CNT; the last two are
 * reserved. 5 is ours to choose: the PM1a_CNT emulation reads it back.
 */
#define AML_NAME_OP 0x08
#define AML_PACKAGE_OP 0x12
#define AML_BYTE_PREFIX 0x0a
#define AML_ZERO_OP 0x00
#define S5_PKG_LEN 7 /* PkgLength byte, NumElements, BytePrefix 5, 3 x ZeroOp */
static const uint8_t dsdt_aml[] = {
	AML_NAME_OP, '_', 'S', '5', '_',
	AML_PACKAGE_OP, S5_PKG_LEN, 4 /* NumElements */,
	AML_BYTE_PREFIX, ACPI_S5_SLP_TYP, AML_ZERO_OP, AML_ZERO_OP, AML_ZERO_OP,
};
_Static_assert(sizeof(dsdt_aml) == 6 + S5_PKG_LEN, "the package ends the AML");

#define RSDT_LEN (ACPI_SDT_HDR_LEN + 2 * 4) /* FADT, MADT */
#define XSDT_LEN (ACPI_SDT_HDR_LEN + 2 * 8)
#define DSDT_LEN (ACPI_SDT_HDR_LEN + sizeof(dsdt_aml))
#define GPA_LIMIT (1ULL << 32) /* 32-bit pointers: RSDT entries, DSDT, FIRMWARE_CTRL */

/* Where each table goes, as offsets in the buffer. */
struct layout {
	size_t facs, rsdt, xsdt, fadt, madt, dsdt, end;
	size_t madt_len;
};

static void put8(uint8_t *p, size_t off, uint8_t v) { p[off] = v; }
static void put16(uint8_t *p, size_t off, uint16_t v) { memcpy(p + off, &v, 2); }
static void put32(uint8_t *p, size_t off, uint32_t v) { memcpy(p + off, &v, 4); }
static void put64(uint8_t *p, size_t off, uint64_t v) { memcpy(p + off, &v, 8); }

/* The byte that makes the @n bytes at @p (its own place holding 0) add up to 0. */
static uint8_t checksum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s += *p++;
	return (uint8_t)-s;
}

/* A space-padded fixed-width string field (OEM ID, OEM Table ID). */
static void put_str(uint8_t *p, size_t off, const char *s, size_t width)
{
	size_t n = strlen(s);

	memset(p + off, ' ', width);
	memcpy(p + off, s, MIN(n, width));
}

/* 5.2.6: the header of the table at @t; its checksum is set by sdt_seal(). */
static void sdt_header(uint8_t *t, const char *sig, uint32_t len, uint8_t rev,
		       const struct acpi_platform *p)
{
	memcpy(t, sig, 4);
	put32(t, 4, len);
	put8(t, 8, rev);
	put_str(t, 10, p->oem_id ? p->oem_id : ACPI_OEM_ID, 6);
	put_str(t, 16, p->oem_table_id ? p->oem_table_id : ACPI_OEM_TABLE_ID, 8);
	put32(t, 24, OEM_REVISION);
	memcpy(t + 28, ACPI_CREATOR_ID, 4);
	put32(t, 32, CREATOR_REVISION);
}

static void sdt_seal(uint8_t *t, uint32_t len)
{
	t[SDT_CHECKSUM] = 0;
	t[SDT_CHECKSUM] = checksum(t, len);
}

/* 5.2.3.2: a System I/O register block of @len bytes at @port, accessed by words. */
static void put_gas_io(uint8_t *t, size_t off, uint16_t port, uint8_t len)
{
	put8(t, off, ACPI_GAS_SYSTEM_IO);
	put8(t, off + 1, (uint8_t)(len * 8)); /* Register Bit Width */
	put8(t, off + 2, 0);                  /* Register Bit Offset */
	put8(t, off + 3, ACPI_GAS_ACCESS_WORD);
	put64(t, off + 4, port);
}

static void build_rsdp(uint8_t *b, uint64_t gpa, const struct layout *l,
		       const struct acpi_platform *p)
{
	memcpy(b, "RSD PTR ", 8);
	put_str(b, 9, p->oem_id ? p->oem_id : ACPI_OEM_ID, 6);
	put8(b, 15, RSDP_REVISION);
	put32(b, 16, (uint32_t)(gpa + l->rsdt));
	put32(b, 20, ACPI_RSDP_LEN);
	put64(b, 24, gpa + l->xsdt);
	b[RSDP_CHECKSUM] = checksum(b, ACPI_RSDP_V1_LEN);
	b[RSDP_XCHECKSUM] = checksum(b, ACPI_RSDP_LEN);
}

/* 5.2.7 and 5.2.8: the RSDT and XSDT list the same two tables. */
static void build_roots(uint8_t *b, uint64_t gpa, const struct layout *l,
			const struct acpi_platform *p)
{
	uint8_t *r = b + l->rsdt, *x = b + l->xsdt;

	sdt_header(r, "RSDT", RSDT_LEN, RSDT_REVISION, p);
	put32(r, ACPI_SDT_HDR_LEN, (uint32_t)(gpa + l->fadt));
	put32(r, ACPI_SDT_HDR_LEN + 4, (uint32_t)(gpa + l->madt));
	sdt_seal(r, RSDT_LEN);
	sdt_header(x, "XSDT", XSDT_LEN, XSDT_REVISION, p);
	put64(x, ACPI_SDT_HDR_LEN, gpa + l->fadt);
	put64(x, ACPI_SDT_HDR_LEN + 8, gpa + l->madt);
	sdt_seal(x, XSDT_LEN);
}

/*
 * 5.2.10: the FACS. Required unless the platform is hardware-reduced (5.2.9,
 * FIRMWARE_CTRL); all zero but its signature, length and version: no
 * waking vector (no S3), no global lock owner (no SMM firmware to share with).
 */
static void build_facs(uint8_t *b, const struct layout *l)
{
	uint8_t *f = b + l->facs;

	memcpy(f, "FACS", 4);
	put32(f, FACS_LENGTH, ACPI_FACS_LEN);
	put8(f, FACS_VERSION_OFF, FACS_VERSION);
}

/*
 * 5.2.9: the FADT. SMI_CMD 0 says there is no SMI command port: the system
 * is in ACPI mode already, so OSPM never writes ACPI_ENABLE anywhere. No PM
 * timer (PM_TMR_BLK 0) and no GPE blocks. The 32-bit fields and the X_ ones
 * hold the same addresses (OSPM prefers X_; ACPICA warns when they differ).
 * No fixed power or sleep button: no event source we could raise. The 8042
 * bit is clear: Linux then does not probe for a keyboard controller.
 */
static void build_fadt(uint8_t *b, uint64_t gpa, const struct layout *l,
		       const struct acpi_platform *p)
{
	uint8_t *t = b + l->fadt;

	sdt_header(t, "FACP", ACPI_FADT_LEN, FADT_REVISION, p);
	put32(t, FADT_FIRMWARE_CTRL, (uint32_t)(gpa + l->facs));
	put32(t, FADT_DSDT, (uint32_t)(gpa + l->dsdt));
	put16(t, FADT_SCI_INT, p->sci_irq);
	put32(t, FADT_SMI_CMD, 0);
	put32(t, FADT_PM1A_EVT_BLK, p->pm1a_evt);
	put32(t, FADT_PM1A_CNT_BLK, p->pm1a_cnt);
	put32(t, FADT_PM_TMR_BLK, 0);
	put8(t, FADT_PM1_EVT_LEN, ACPI_PM1_EVT_LEN);
	put8(t, FADT_PM1_CNT_LEN, ACPI_PM1_CNT_LEN);
	put8(t, FADT_PM_TMR_LEN, 0);
	put16(t, FADT_IAPC_BOOT_ARCH, FADT_BOOT_VGA_NOT_PRESENT);
	put32(t, FADT_FLAGS, FADT_F_WBINVD | FADT_F_PWR_BUTTON | FADT_F_SLP_BUTTON);
	put8(t, FADT_MINOR_VERSION, FADT_MINOR);
	put64(t, FADT_X_FIRMWARE_CTRL, gpa + l->facs);
	put64(t, FADT_X_DSDT, gpa + l->dsdt);
	put_gas_io(t, FADT_X_PM1A_EVT_BLK, p->pm1a_evt, ACPI_PM1_EVT_LEN);
	put_gas_io(t, FADT_X_PM1A_CNT_BLK, p->pm1a_cnt, ACPI_PM1_CNT_LEN);
	sdt_seal(t, ACPI_FADT_LEN);
}

/*
 * 5.2.12: the MADT. One enabled Processor Local APIC per vCPU (UID = APIC
 * ID = its number), the I/O APIC, the SCI's Interrupt Source Override and
 * LINT1 as NMI on every processor (5.2.12.7), the PC's wiring (Intel
 * MultiProcessor Specification 1.4, chapter 5).
 *
 * The SCI's override: level-triggered, because the SCI is a shared level
 * interrupt (5.2.9, SCI_INT: OSPM treats it as "sharable, level, active
 * low"): it stays asserted while an enabled PM1 status bit is set, and is
 * delivered again after the EOI if the handler left one set. Active-high
 * rather than the default active-low, because the emulated line is driven
 * as "1 = asserted" (ioapic_set_irq()) and idles at 0 after reset: an
 * active-low pin would read an idle line as asserted. An override may
 * give any polarity (5.2.12.5); the guest programs the I/O APIC pin from it.
 */
static void build_madt(uint8_t *b, const struct layout *l, const struct acpi_platform *p)
{
	uint8_t *t = b + l->madt;
	size_t o = ACPI_MADT_HDR_LEN;

	sdt_header(t, "APIC", (uint32_t)l->madt_len, MADT_REVISION, p);
	put32(t, MADT_LAPIC_ADDR, p->lapic_base);
	put32(t, MADT_FLAGS, MADT_PCAT_COMPAT);
	for (unsigned i = 0; i < p->ncpus; i++, o += MADT_LAPIC_LEN) {
		put8(t, o, MADT_TYPE_LAPIC);
		put8(t, o + 1, MADT_LAPIC_LEN);
		put8(t, o + 2, (uint8_t)i); /* ACPI Processor UID */
		put8(t, o + 3, (uint8_t)i); /* APIC ID */
		put32(t, o + 4, MADT_LAPIC_ENABLED);
	}
	put8(t, o, MADT_TYPE_IOAPIC);
	put8(t, o + 1, MADT_IOAPIC_LEN);
	put8(t, o + 2, p->ioapic_id);
	put32(t, o + 4, p->ioapic_base);
	put32(t, o + 8, p->ioapic_gsi_base);
	o += MADT_IOAPIC_LEN;
	put8(t, o, MADT_TYPE_ISO);
	put8(t, o + 1, MADT_ISO_LEN);
	put8(t, o + 2, MADT_ISA_BUS);
	put8(t, o + 3, p->sci_irq);    /* Source: the ISA IRQ */
	put32(t, o + 4, p->sci_irq);   /* Global System Interrupt: the same pin */
	put16(t, o + 8, MPS_POLARITY_HIGH | MPS_TRIGGER_LEVEL);
	o += MADT_ISO_LEN;
	put8(t, o, MADT_TYPE_LAPIC_NMI);
	put8(t, o + 1, MADT_LAPIC_NMI_LEN);
	put8(t, o + 2, MADT_ALL_PROCESSORS);
	put16(t, o + 3, 0);            /* MPS INTI flags: as the bus says */
	put8(t, o + 5, LINT1);
	sdt_seal(t, (uint32_t)l->madt_len);
}

static void build_dsdt(uint8_t *b, const struct layout *l, const struct acpi_platform *p)
{
	uint8_t *t = b + l->dsdt;

	sdt_header(t, "DSDT", DSDT_LEN, DSDT_REVISION, p);
	memcpy(t + ACPI_SDT_HDR_LEN, dsdt_aml, sizeof(dsdt_aml));
	sdt_seal(t, DSDT_LEN);
}

static void plan(struct layout *l, unsigned ncpus)
{
	l->madt_len = ACPI_MADT_HDR_LEN + ncpus * MADT_LAPIC_LEN + MADT_FIXED_ENTRIES;
	l->facs = ALIGN_UP((size_t)ACPI_RSDP_LEN, ACPI_FACS_ALIGN);
	l->rsdt = ALIGN_UP(l->facs + ACPI_FACS_LEN, ENTRY_ALIGN);
	l->xsdt = ALIGN_UP(l->rsdt + RSDT_LEN, ENTRY_ALIGN);
	l->fadt = ALIGN_UP(l->xsdt + XSDT_LEN, ENTRY_ALIGN);
	l->madt = ALIGN_UP(l->fadt + ACPI_FADT_LEN, ENTRY_ALIGN);
	l->dsdt = ALIGN_UP(l->madt + l->madt_len, ENTRY_ALIGN);
	l->end = l->dsdt + DSDT_LEN;
}

#define FAIL(code, ...)                              \
	do {                                         \
		ksnprintf(err, errlen, __VA_ARGS__); \
		return code;                         \
	} while (0)

int acpi_tables_build(uint8_t *buf, size_t cap, uint64_t gpa, const struct acpi_platform *p,
		      size_t *used, char *err, size_t errlen)
{
	unsigned long long at = gpa;
	struct layout l;

	if (p->ncpus < 1 || p->ncpus > VM_MAX_VCPUS)
		FAIL(-EINVAL, "ACPI tables: %u CPUs, want 1 to %u", p->ncpus, VM_MAX_VCPUS);
	if (!IS_ALIGNED(gpa, ACPI_RSDP_ALIGN))
		FAIL(-EINVAL, "ACPI tables at %#llx: the RSDP needs a %u-byte boundary", at,
		     ACPI_RSDP_ALIGN);
	plan(&l, p->ncpus);
	if (cap < l.end)
		FAIL(-E2BIG, "ACPI tables: need %zu bytes, the buffer has %zu", l.end, cap);
	if (gpa >= GPA_LIMIT || l.end > GPA_LIMIT - gpa)
		FAIL(-EINVAL, "ACPI tables at %#llx: past 4 GiB, out of 32-bit pointers' reach",
		     at);
	memset(buf, 0, l.end);
	build_facs(buf, &l);
	build_dsdt(buf, &l, p);
	build_fadt(buf, gpa, &l, p);
	build_madt(buf, &l, p);
	build_roots(buf, gpa, &l, p);
	build_rsdp(buf, gpa, &l, p);
	*used = l.end;
	if (errlen)
		err[0] = '\0';
	return 0;
}
