/*
 * Host unit tests for boot/acpi.c: crafted RSDP, RSDT/XSDT and MADT in the
 * arena. The MADT ends exactly at the end of the arena, so ASan catches any
 * read past the table's last byte.
 */
#include <stdio.h>
#include <string.h>
#include "boot/acpi.h"
#include "lib/kerrno.h"
#include "tests/host/hostshim.h"

#define ARENA (2ULL << 20)
#define RSDP_PA 0x1000ULL
#define ROOT_PA 0x2000ULL
#define OTHER_PA 0x3000ULL /* tables listed before the MADT, 0x100 apart */
#define EMPTY_PA 0x5000ULL /* zeros: an RSDT the parser must not use */
#define LAPIC_PA 0xfee00000u

static const char *const others[] = { "FACP", "HPET", "SSDT" };

static uint8_t madt[4096];
static uint32_t madt_len;
static uint64_t madt_pa;
static struct acpi_cpus cpus;
static char err[256];

static void put(uint8_t *p, uint64_t v, unsigned n)
{
	memcpy(p, &v, n); /* little-endian host */
}

/* Set the checksum byte at @ck so the @n bytes at @p add up to 0. */
static void fix_sum(uint8_t *p, size_t n, size_t ck)
{
	uint8_t s = 0;

	p[ck] = 0;
	for (size_t i = 0; i < n; i++)
		s += p[i];
	p[ck] = (uint8_t)-s;
}

static void madt_begin(void)
{
	memset(madt, 0, sizeof(madt));
	memcpy(madt, "APIC", 4);
	put(madt + 36, LAPIC_PA, 4);
	put(madt + 40, 1, 4); /* PCAT_COMPAT */
	madt_len = 44;
}

static void madt_raw(const uint8_t *e, unsigned n)
{
	memcpy(madt + madt_len, e, n);
	madt_len += n;
}

static void lapic(uint8_t uid, uint8_t id, uint32_t flags)
{
	uint8_t e[8] = { 0, 8, uid, id };

	put(e + 4, flags, 4);
	madt_raw(e, 8);
}

static void x2apic(uint32_t id, uint32_t flags, uint32_t uid)
{
	uint8_t e[16] = { 9, 16 };

	put(e + 4, id, 4);
	put(e + 8, flags, 4);
	put(e + 12, uid, 4);
	madt_raw(e, 16);
}

static void lapic_override(uint64_t pa)
{
	uint8_t e[12] = { 5, 12 };

	put(e + 4, pa, 8);
	madt_raw(e, 12);
}

/* A table of @len bytes at @pa: header only, checksummed. */
static uint8_t *sdt(uint64_t pa, const char *sig, uint32_t len)
{
	uint8_t *t = arena + pa;

	memcpy(t, sig, 4);
	put(t + 4, len, 4);
	t[8] = 1;
	memcpy(t + 10, "MINIHV", 6);
	fix_sum(t, len, 9);
	return t;
}

/*
 * RSDP of revision @rev -> root table with @esize-byte entries (8: XSDT,
 * 4: RSDT) -> @nbefore other tables, then the MADT, which ends the arena.
 */
static void install(uint8_t rev, unsigned esize, unsigned nbefore)
{
	uint32_t rlen = 36 + (nbefore + 1) * esize;
	uint8_t *root = arena + ROOT_PA, *p = arena + RSDP_PA;

	memset(arena, 0, ARENA);
	madt_pa = ARENA - madt_len;
	put(madt + 4, madt_len, 4);
	fix_sum(madt, madt_len, 9);
	memcpy(arena + madt_pa, madt, madt_len);

	for (unsigned i = 0; i < nbefore; i++) {
		sdt(OTHER_PA + i * 0x100, others[i], 36);
		put(root + 36 + i * esize, OTHER_PA + i * 0x100, esize);
	}
	put(root + 36 + nbefore * esize, madt_pa, esize);
	sdt(ROOT_PA, esize == 8 ? "XSDT" : "RSDT", rlen);

	memcpy(p, "RSD PTR ", 8);
	memcpy(p + 9, "MINIHV", 6);
	p[15] = rev;
	put(p + 16, esize == 8 ? EMPTY_PA : ROOT_PA, 4);
	fix_sum(p, 20, 8);
	if (rev >= 2) { /* the extended checksum covers the first one too */
		put(p + 20, 36, 4);
		put(p + 24, esize == 8 ? ROOT_PA : 0, 8);
		fix_sum(p, 36, 32);
	}
}

static int find(void)
{
	memset(err, 'Z', sizeof(err));
	return acpi_find_cpus(RSDP_PA, &cpus, err, sizeof(err));
}

/* Expect @code with a message containing @w1 and @w2 (if given). */
static int rejects(int code, const char *w1, const char *w2)
{
	int r = find();

	if (r != code || !strstr(err, w1) || (w2 && !strstr(err, w2))) {
		printf("# got %d \"%s\", want %d with \"%s\"%s%s\n", r, err, code, w1,
		       w2 ? " and " : "", w2 ? w2 : "");
		return 0;
	}
	return 1;
}

/* cpu[0..n) has APIC IDs @ids, legacy entries, nothing skipped. */
static int found(unsigned n, const uint32_t *ids)
{
	if (find() || err[0] || cpus.n != n || cpus.lapic_pa != LAPIC_PA)
		return 0;
	for (unsigned i = 0; i < n; i++)
		if (cpus.cpu[i].apic_id != ids[i] || cpus.cpu[i].x2apic)
			return 0;
	return !cpus.skipped_disabled && !cpus.skipped_duplicate && !cpus.dropped_over_max;
}

static void test_one_cpu_rsdt(void)
{
	static const uint32_t ids[] = { 0 };

	madt_begin();
	lapic(0, 0, 1);
	install(0, 4, 0);
	T(found(1, ids));
	T(cpus.cpu[0].acpi_uid == 0);
}

static void test_two_cpus_xsdt(void)
{
	static const uint32_t ids[] = { 0, 2 };

	madt_begin();
	lapic(1, 0, 1);
	lapic(2, 2, 1);
	install(2, 8, 0);
	T(found(2, ids));
	T(cpus.cpu[0].acpi_uid == 1 && cpus.cpu[1].acpi_uid == 2);
	install(2, 4, 0); /* XSDP whose XsdtAddress is 0: the RSDT */
	T(found(2, ids));
}

/* The MADT after other tables, among entries of other types (I/O APIC, ISO). */
static void test_four_cpus_after_other_tables(void)
{
	static const uint32_t ids[] = { 0, 2, 4, 6 };
	static const uint8_t ioapic[12] = { 1, 12, 0, 0, 0, 0, 0xc0, 0xfe };
	static const uint8_t iso[10] = { 2, 10, 0, 0, 2 };

	madt_begin();
	for (uint8_t i = 0; i < 4; i++)
		lapic(i, 2 * i, 1);
	madt_raw(ioapic, sizeof(ioapic));
	madt_raw(iso, sizeof(iso));
	install(2, 8, 2);
	T(found(4, ids));
	T(cpus.cpu[3].acpi_uid == 3);
	install(0, 4, 3);
	T(found(4, ids));
}

static void test_disabled_skipped(void)
{
	madt_begin();
	lapic(0, 0, 0);     /* disabled */
	lapic(1, 1, 1);
	lapic(2, 2, 2);     /* online capable, not enabled */
	x2apic(300, 0, 3);  /* disabled */
	install(2, 8, 0);
	T(find() == 0);
	T(cpus.n == 1 && cpus.cpu[0].apic_id == 1 && cpus.cpu[0].acpi_uid == 1);
	T(cpus.skipped_disabled == 3);
}

static void test_x2apic(void)
{
	madt_begin();
	lapic(0, 0, 1);
	x2apic(0x100, 1, 7);
	x2apic(0xffff0001u, 3, 0x12345678);
	x2apic(0, 1, 9); /* the CPU of the first entry again */
	install(2, 8, 1);
	T(find() == 0);
	T(cpus.n == 3 && cpus.skipped_duplicate == 1);
	T(!cpus.cpu[0].x2apic);
	T(cpus.cpu[1].x2apic && cpus.cpu[1].apic_id == 0x100 && cpus.cpu[1].acpi_uid == 7);
	T(cpus.cpu[2].x2apic && cpus.cpu[2].apic_id == 0xffff0001u);
	T(cpus.cpu[2].acpi_uid == 0x12345678);
}

static void test_lapic_override(void)
{
	madt_begin();
	lapic(0, 0, 1);
	lapic_override(0x123456789000ULL);
	lapic(1, 1, 1);
	install(2, 8, 0);
	T(find() == 0);
	T(cpus.n == 2 && cpus.lapic_pa == 0x123456789000ULL);
}

static void test_over_max(void)
{
	madt_begin();
	for (unsigned i = 0; i < ACPI_MAX_CPUS + 6; i++)
		lapic((uint8_t)i, (uint8_t)(i + 1), 1);
	install(2, 8, 0);
	T(find() == 0);
	T(cpus.n == ACPI_MAX_CPUS && cpus.dropped_over_max == 6);
	T(cpus.cpu[0].apic_id == 1 && cpus.cpu[ACPI_MAX_CPUS - 1].apic_id == ACPI_MAX_CPUS);
}

static void test_bad_rsdp(void)
{
	T(acpi_find_cpus(0, &cpus, err, sizeof(err)) == -ENOENT);
	T(strstr(err, "no ACPI RSDP from the boot loader"));

	madt_begin();
	lapic(0, 0, 1);
	install(0, 4, 0);
	arena[RSDP_PA + 3] = 'X';
	T(rejects(-EINVAL, "RSDP at 0x1000", "bad signature"));

	install(0, 4, 0);
	arena[RSDP_PA + 9] ^= 1;
	T(rejects(-EINVAL, "RSDP at 0x1000", "bad checksum"));

	install(2, 8, 0);
	arena[RSDP_PA + 33] ^= 1; /* reserved byte: only the extended checksum sees it */
	T(rejects(-EINVAL, "XSDP at 0x1000", "extended checksum"));
}

static void test_bad_root(void)
{
	madt_begin();
	lapic(0, 0, 1);
	install(2, 8, 0);
	arena[ROOT_PA + 10] ^= 1;
	T(rejects(-EINVAL, "XSDT at 0x2000", "bad checksum"));

	install(0, 4, 0);
	put(arena + ROOT_PA + 4, 20, 4);
	T(rejects(-EINVAL, "RSDT at 0x2000", "length 20"));

	install(2, 8, 0);
	sdt(ROOT_PA, "XSDT", 36 + 6);
	T(rejects(-EINVAL, "XSDT at 0x2000", "8-byte entries"));

	install(0, 4, 0);
	memcpy(arena + ROOT_PA, "XSDT", 4);
	T(rejects(-EINVAL, "RSDT at 0x2000", "signature \"XSDT\""));

	install(2, 8, 3);
	memcpy(arena + madt_pa, "OEM1", 4); /* the MADT becomes another table */
	T(rejects(-ENOENT, "no MADT (APIC) table among 4 tables of the XSDT", NULL));
}

static void test_bad_madt(void)
{
	madt_begin();
	lapic(0, 0, 1);
	install(2, 8, 0);
	arena[madt_pa + 44 + 3] ^= 1;
	T(rejects(-EINVAL, "MADT at 0x1fffcc", "bad checksum"));

	install(2, 8, 0);
	put(arena + madt_pa + 4, 2u << 20, 4);
	T(rejects(-EINVAL, "MADT", "length 2097152"));

	madt_len = 40; /* a table header, but no LocalApicAddress/Flags */
	install(2, 8, 0);
	T(rejects(-EINVAL, "MADT", "shorter than its 44-byte header"));

	madt_begin();
	lapic(0, 0, 0);
	install(2, 8, 0);
	T(rejects(-EINVAL, "no enabled processor (1 disabled)", NULL));
}

static void test_bad_entries(void)
{
	static const uint8_t cut[4] = { 0, 8, 1, 1 }, zero[8] = { 0, 0 }, one[8] = { 7, 1 };
	static const uint8_t half = 0, short_x2[12] = { 9, 12 };

	madt_begin();
	lapic(0, 0, 1);
	madt_raw(cut, sizeof(cut)); /* length 8, 4 bytes left */
	install(2, 8, 0);
	T(rejects(-EINVAL, "offset 0x34, length 8, runs past the table end", NULL));

	madt_begin();
	lapic(0, 0, 1);
	madt_raw(&half, 1); /* not even a type and a length */
	install(2, 8, 0);
	T(rejects(-EINVAL, "entry at offset 0x34 runs past the table end", NULL));

	madt_begin();
	lapic(0, 0, 1);
	madt_raw(zero, sizeof(zero));
	install(2, 8, 0);
	T(rejects(-EINVAL, "offset 0x34 has length 0", NULL));

	madt_begin();
	madt_raw(one, sizeof(one));
	lapic(0, 0, 1);
	install(2, 8, 0);
	T(rejects(-EINVAL, "type 7 at offset 0x2c has length 1", NULL));

	madt_begin();
	lapic(0, 0, 1);
	madt_raw(short_x2, sizeof(short_x2));
	install(2, 8, 0);
	T(rejects(-EINVAL, "type 9 at offset 0x34 has length 12, needs 16", NULL));
}

static void test_small_err_buffer(void)
{
	char small[8];

	madt_begin();
	lapic(0, 0, 0);
	install(2, 8, 0);
	memset(small, 'Z', sizeof(small));
	T(acpi_find_cpus(RSDP_PA, &cpus, small, sizeof(small)) == -EINVAL);
	T(small[7] == '\0' && !memcmp(small, "MADT at", 7));
	T(acpi_find_cpus(RSDP_PA, &cpus, NULL, 0) == -EINVAL);
}

int main(void)
{
	arena_init(ARENA);
	RUN(test_one_cpu_rsdt);
	RUN(test_two_cpus_xsdt);
	RUN(test_four_cpus_after_other_tables);
	RUN(test_disabled_skipped);
	RUN(test_x2apic);
	RUN(test_lapic_override);
	RUN(test_over_max);
	RUN(test_bad_rsdp);
	RUN(test_bad_root);
	RUN(test_bad_madt);
	RUN(test_bad_entries);
	RUN(test_small_err_buffer);
	return tap_finish();
}
