/*
 * Host unit tests for virt/acpi_tables.c: the tables are built into a buffer
 * "at" guest-physical GPA and read back as a guest does: RSDP, then the XSDT
 * (and the RSDT), then each table found by signature, every checksum and
 * every pointer checked (ACPI 6.5, 5.2). The buffer is an exactly sized heap
 * copy when it matters, so ASan catches a write past the end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "virt/acpi_tables.h"
#include "ept/vm.h" /* VM_MAX_VCPUS */
#include "lib/kerrno.h"
#include "tests/host/hostshim.h"

#define GPA 0xe0000ULL
#define CAP 4096

static uint8_t buf[CAP];
static size_t used;
static char err[256];

static const struct acpi_platform pc = {
	.ncpus = 1,
	.lapic_base = 0xfee00000,
	.ioapic_id = 0,
	.ioapic_base = 0xfec00000,
	.ioapic_gsi_base = 0,
	.sci_irq = 9,
	.pm1a_evt = 0x600,
	.pm1a_cnt = 0x604,
};

static uint32_t rd(const uint8_t *p, size_t off, unsigned n)
{
	uint32_t v = 0;

	memcpy(&v, p + off, n);
	return v;
}

static uint64_t rd64(const uint8_t *p, size_t off)
{
	uint64_t v;

	memcpy(&v, p + off, 8);
	return v;
}

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s += *p++;
	return s;
}

/* The table at guest-physical @pa, or NULL if it is not inside what was built. */
static const uint8_t *at(uint64_t pa, size_t len)
{
	if (pa < GPA || pa - GPA > used || len > used - (pa - GPA))
		return NULL;
	return buf + (pa - GPA);
}

/* A description table at @pa: signature @sig, its length inside the buffer, checksum 0. */
static const uint8_t *sdt(uint64_t pa, const char *sig)
{
	const uint8_t *t = at(pa, ACPI_SDT_HDR_LEN);

	if (!t || memcmp(t, sig, 4) || !at(pa, rd(t, 4, 4)) || sum(t, rd(t, 4, 4))) {
		printf("# table %s at %#llx: missing, outside or bad checksum\n", sig,
		       (unsigned long long)pa);
		return NULL;
	}
	if (memcmp(t + 10, "MINIHV", 6) || memcmp(t + 16, "MINIHV  ", 8)) {
		printf("# table %s: OEM ID \"%.6s\", table ID \"%.8s\"\n", sig, t + 10, t + 16);
		return NULL;
	}
	return t;
}

static int build(const struct acpi_platform *p)
{
	memset(buf, 0xa5, sizeof(buf));
	err[0] = 'x';
	return acpi_tables_build(buf, CAP, GPA, p, &used, err, sizeof(err));
}

/* Find a table listed in the root table @root (entries @esize bytes wide). */
static const uint8_t *find(const uint8_t *root, unsigned esize, const char *sig)
{
	uint32_t len = rd(root, 4, 4);

	for (uint32_t o = ACPI_SDT_HDR_LEN; o + esize <= len; o += esize) {
		uint64_t pa = esize == 8 ? rd64(root, o) : rd(root, o, 4);
		const uint8_t *t = at(pa, 4);

		if (t && !memcmp(t, sig, 4))
			return sdt(pa, sig);
	}
	return NULL;
}

static const uint8_t *xsdt(void)
{
	T(!memcmp(buf, "RSD PTR ", 8));
	T(sum(buf, ACPI_RSDP_V1_LEN) == 0 && sum(buf, ACPI_RSDP_LEN) == 0);
	T(buf[15] == 2 && rd(buf, 20, 4) == ACPI_RSDP_LEN);
	T(!memcmp(buf + 9, "MINIHV", 6));
	return sdt(rd64(buf, 24), "XSDT");
}

static void test_rsdp_and_roots(void)
{
	T(build(&pc) == 0 && err[0] == '\0');
	T(used > ACPI_RSDP_LEN && used < CAP);
	const uint8_t *x = xsdt(), *r = sdt(rd(buf, 16, 4), "RSDT");

	T(x && rd(x, 4, 4) == ACPI_SDT_HDR_LEN + 2 * 8);
	T(r && rd(r, 4, 4) == ACPI_SDT_HDR_LEN + 2 * 4);
	if (!x || !r)
		return;
	/* Both roots list the same FADT and MADT. */
	T(find(x, 8, "FACP") && find(x, 8, "FACP") == find(r, 4, "FACP"));
	T(find(x, 8, "APIC") && find(x, 8, "APIC") == find(r, 4, "APIC"));
	T(!find(x, 8, "DSDT")); /* reached through the FADT only */
	/* Nothing past what *used says was written. */
	T(buf[used] == 0xa5 && buf[used - 1] != 0xa5);
}

static void test_fadt(void)
{
	T(build(&pc) == 0);
	const uint8_t *x = xsdt(), *f = x ? find(x, 8, "FACP") : NULL;

	T(f != NULL);
	if (!f)
		return;
	T(rd(f, 4, 4) == ACPI_FADT_LEN && f[8] == 6 && f[FADT_MINOR_VERSION] == 5);
	T(rd(f, FADT_SCI_INT, 2) == 9);
	T(rd(f, FADT_SMI_CMD, 4) == 0);
	T(rd(f, FADT_PM1A_EVT_BLK, 4) == 0x600 && f[FADT_PM1_EVT_LEN] == 4);
	T(rd(f, FADT_PM1A_CNT_BLK, 4) == 0x604 && f[FADT_PM1_CNT_LEN] == 2);
	T(rd(f, FADT_PM_TMR_BLK, 4) == 0 && f[FADT_PM_TMR_LEN] == 0);
	T(rd(f, 60, 4) == 0 && rd(f, 68, 4) == 0 && rd(f, 80, 4) == 0); /* no PM1b, no GPE0 */
	uint32_t boot = rd(f, FADT_IAPC_BOOT_ARCH, 2), flags = rd(f, FADT_FLAGS, 4);

	T((boot & FADT_BOOT_VGA_NOT_PRESENT) && !(boot & FADT_BOOT_8042));
	T((flags & FADT_F_WBINVD) && !(flags & FADT_F_HW_REDUCED));
	/* X_ blocks: SystemIO, the same ports, the widths of the lengths. */
	static const struct { unsigned off; uint16_t port; uint8_t bits; } gas[] = {
		{ FADT_X_PM1A_EVT_BLK, 0x600, 32 },
		{ FADT_X_PM1A_CNT_BLK, 0x604, 16 },
	};
	for (unsigned i = 0; i < 2; i++) {
		const uint8_t *g = f + gas[i].off;

		T(g[0] == ACPI_GAS_SYSTEM_IO && g[1] == gas[i].bits && g[2] == 0);
		T(rd64(g, 4) == gas[i].port);
	}
	T(rd64(f, FADT_X_PM_TMR_BLK) == 0 && f[FADT_X_PM_TMR_BLK] == 0);
	/* DSDT and X_DSDT agree, as do FIRMWARE_CTRL and X_FIRMWARE_CTRL. */
	T(rd(f, FADT_DSDT, 4) == rd64(f, FADT_X_DSDT));
	T(sdt(rd64(f, FADT_X_DSDT), "DSDT") != NULL);
	uint64_t facs = rd64(f, FADT_X_FIRMWARE_CTRL);
	const uint8_t *fc = at(facs, ACPI_FACS_LEN);

	T(rd(f, FADT_FIRMWARE_CTRL, 4) == facs && facs % ACPI_FACS_ALIGN == 0);
	T(fc && !memcmp(fc, "FACS", 4) && rd(fc, 4, 4) == ACPI_FACS_LEN);
}

static void test_dsdt_s5(void)
{
	static const uint8_t s5[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x07, 0x04,
				      0x0a, ACPI_S5_SLP_TYP, 0x00, 0x00, 0x00 };

	T(build(&pc) == 0);
	const uint8_t *x = xsdt(), *f = x ? find(x, 8, "FACP") : NULL;
	const uint8_t *d = f ? sdt(rd64(f, FADT_X_DSDT), "DSDT") : NULL;

	T(d != NULL);
	if (!d)
		return;
	T(rd(d, 4, 4) == ACPI_SDT_HDR_LEN + sizeof(s5) && d[8] >= 2);
	T(!memcmp(d + ACPI_SDT_HDR_LEN, s5, sizeof(s5)));
	/* What the PM1a_CNT emulation will see on poweroff. */
	uint16_t cnt = ACPI_S5_SLP_TYP << ACPI_PM1_SLP_TYP_SHIFT | ACPI_PM1_SLP_EN;

	T(cnt == 0x3400 && (cnt & ACPI_PM1_SLP_TYP_MASK) >> ACPI_PM1_SLP_TYP_SHIFT == 5);
}

/* Walk the MADT: @ncpus enabled local APICs 0.., one I/O APIC, the SCI override, one NMI. */
static void check_madt(unsigned ncpus)
{
	const uint8_t *x = xsdt(), *m = x ? find(x, 8, "APIC") : NULL;
	unsigned lapics = 0, ioapics = 0, isos = 0, nmis = 0, other = 0;

	T(m != NULL);
	if (!m)
		return;
	uint32_t len = rd(m, 4, 4);

	T(rd(m, 36, 4) == 0xfee00000 && rd(m, 40, 4) == MADT_PCAT_COMPAT);
	T(len == ACPI_MADT_HDR_LEN + ncpus * 8 + 12 + 10 + 6);
	for (uint32_t o = ACPI_MADT_HDR_LEN; o < len; o += m[o + 1]) {
		const uint8_t *e = m + o;

		if (e[1] < 2 || o + e[1] > len) {
			T(!"MADT entry overruns the table");
			return;
		}
		switch (e[0]) {
		case MADT_TYPE_LAPIC:
			T(e[1] == 8 && e[2] == lapics && e[3] == lapics);
			T(rd(e, 4, 4) == MADT_LAPIC_ENABLED);
			lapics++;
			break;
		case MADT_TYPE_IOAPIC:
			T(e[1] == 12 && e[2] == 0 && rd(e, 4, 4) == 0xfec00000 && rd(e, 8, 4) == 0);
			ioapics++;
			break;
		case MADT_TYPE_ISO:
			T(e[1] == 10 && e[2] == 0 && e[3] == 9 && rd(e, 4, 4) == 9);
			T(rd(e, 8, 2) == (MPS_POLARITY_HIGH | MPS_TRIGGER_LEVEL) && rd(e, 8, 2) == 0xd);
			isos++;
			break;
		case MADT_TYPE_LAPIC_NMI:
			T(e[1] == 6 && e[2] == 0xff && rd(e, 3, 2) == 0 && e[5] == 1);
			nmis++;
			break;
		default:
			other++;
		}
	}
	T(lapics == ncpus && ioapics == 1 && isos == 1 && nmis == 1 && other == 0);
}

static void test_madt_one_cpu(void)
{
	T(build(&pc) == 0);
	check_madt(1);
}

static void test_madt_four_cpus(void)
{
	struct acpi_platform p = pc;

	p.ncpus = 4;
	T(build(&p) == 0);
	check_madt(4);
}

/* Exactly the size it needs works; one byte less is -E2BIG, nothing written. */
static void test_too_small(void)
{
	size_t need;
	uint8_t *b;

	T(build(&pc) == 0);
	need = used;
	b = malloc(need);
	T(acpi_tables_build(b, need, GPA, &pc, &used, err, sizeof(err)) == 0 && used == need);
	free(b);
	b = malloc(need - 1);
	memset(b, 0x5a, need - 1);
	used = 12345;
	T(acpi_tables_build(b, need - 1, GPA, &pc, &used, err, sizeof(err)) == -E2BIG);
	T(strstr(err, "need") && used == 12345 && b[0] == 0x5a);
	free(b);
	T(acpi_tables_build(buf, 16, GPA, &pc, &used, NULL, 0) == -E2BIG);
}

static void test_refused(void)
{
	struct acpi_platform p = pc;

	p.ncpus = 0;
	T(acpi_tables_build(buf, CAP, GPA, &p, &used, err, sizeof(err)) == -EINVAL);
	T(strstr(err, "CPUs") != NULL);
	p.ncpus = VM_MAX_VCPUS + 1;
	T(acpi_tables_build(buf, CAP, GPA, &p, &used, err, sizeof(err)) == -EINVAL);
	p.ncpus = VM_MAX_VCPUS;
	T(acpi_tables_build(buf, CAP, GPA, &p, &used, err, sizeof(err)) == 0);
	T(acpi_tables_build(buf, CAP, GPA + 8, &pc, &used, err, sizeof(err)) == -EINVAL);
	T(strstr(err, "boundary") != NULL);
	T(acpi_tables_build(buf, CAP, 0xffffff00ULL, &pc, &used, err, sizeof(err)) == -EINVAL);
	T(strstr(err, "4 GiB") != NULL);
	T(acpi_tables_build(buf, CAP, 1ULL << 32, &pc, &used, err, sizeof(err)) == -EINVAL);
	T(strstr(err, "4 GiB") != NULL);
}

int main(void)
{
	RUN(test_rsdp_and_roots);
	RUN(test_fadt);
	RUN(test_dsdt_s5);
	RUN(test_madt_one_cpu);
	RUN(test_madt_four_cpus);
	RUN(test_too_small);
	RUN(test_refused);
	return tap_finish();
}
