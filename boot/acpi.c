/*
 * ACPI walk for SMP bring-up: RSDP -> XSDT or RSDT -> MADT -> the enabled
 * processors. Every length is checked before it is used and the checksums of
 * the RSDP, the root table and the MADT are verified; a refusal names the
 * table, its address and the offset. Section numbers are ACPI 6.5's.
 */
#include "boot/acpi.h"
#include "lib/lib.h"

#define RSDP_V1_LEN 20         /* 5.2.5.3: through RsdtAddress, the ACPI 1.0 checksum */
#define RSDP_V2_LEN 36         /* 5.2.5.3: the whole XSDP, its extended checksum */
#define SDT_HDR_LEN 36         /* 5.2.6: the header every table starts with */
#define SDT_MAX_LEN (1u << 20) /* no sane RSDT, XSDT or MADT comes near 1 MiB */
#define MADT_ENTRIES 44        /* 5.2.12: header, LocalApicAddress, Flags */

/* MADT entry types (5.2.12, table 5.21) and their minimum lengths. */
#define MADT_LAPIC 0		/* 5.2.12.2 Processor Local APIC, 8 bytes */
#define MADT_LAPIC_OVERRIDE 5	/* 5.2.12.8 Local APIC Address Override, 12 bytes */
#define MADT_X2APIC 9		/* 5.2.12.12 Processor Local x2APIC, 16 bytes */
#define MADT_ENABLED (1u << 0)	/* 5.2.12.2, table 5.23: usable now */

/* The bytes of a checksummed structure add up to 0 (mod 256). */
static uint8_t sum8(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s += *p++;
	return s;
}

#define FAIL(code, ...)                                 \
	do {                                            \
		ksnprintf(err, errlen, __VA_ARGS__);    \
		return code;                            \
	} while (0)

/* 5.2.5: the root table's address and entry size (XSDT 8, RSDT 4). */
static int parse_rsdp(uint64_t pa, uint64_t *root, unsigned *esize, char *err, size_t errlen)
{
	const uint8_t *p = phys_to_virt(pa);
	unsigned long long at = pa;

	if (memcmp(p, "RSD PTR ", 8))
		FAIL(-EINVAL, "ACPI RSDP at %#llx: bad signature (want \"RSD PTR \")", at);
	if (sum8(p, RSDP_V1_LEN))
		FAIL(-EINVAL, "ACPI RSDP at %#llx: bad checksum over its first %u bytes", at,
		     RSDP_V1_LEN);
	*root = get_unaligned32(p + 16);
	*esize = 4;
	/*
	 * Revision 2 and later is the XSDP. Its Length field could claim more,
	 * but the boot loader's copy (multiboot2 tag 15) holds exactly 36 bytes.
	 */
	if (p[15] >= 2) {
		if (sum8(p, RSDP_V2_LEN))
			FAIL(-EINVAL, "ACPI XSDP at %#llx: bad extended checksum over %u bytes",
			     at, RSDP_V2_LEN);
		if (get_unaligned64(p + 24)) {
			*root = get_unaligned64(p + 24);
			*esize = 8;
		}
	}
	return 0;
}

/* 5.2.6: maps the table at @pa after checking its length and checksum. */
static int map_sdt(uint64_t pa, const char *sig, const uint8_t **tp, uint32_t *lenp, char *err,
		   size_t errlen)
{
	const char *name = strcmp(sig, "APIC") ? sig : "MADT";
	unsigned long long at = pa;

	if (!pa)
		FAIL(-EINVAL, "ACPI %s: address 0", name);
	const uint8_t *t = phys_to_virt(pa);
	uint32_t len = get_unaligned32(t + 4);

	if (memcmp(t, sig, 4))
		FAIL(-EINVAL, "ACPI %s at %#llx: signature \"%.4s\"", name, at, (const char *)t);
	if (len < SDT_HDR_LEN || len > SDT_MAX_LEN || pa + len < pa)
		FAIL(-EINVAL, "ACPI %s at %#llx: length %u outside [%u, %u]", name, at, len,
		     SDT_HDR_LEN, SDT_MAX_LEN);
	if (sum8(t, len))
		FAIL(-EINVAL, "ACPI %s at %#llx: bad checksum over %u bytes", name, at, len);
	*tp = t;
	*lenp = len;
	return 0;
}

/* 5.2.7 RSDT, 5.2.8 XSDT: the physical address of the first MADT. */
static int find_madt(uint64_t root_pa, unsigned esize, uint64_t *madt, char *err, size_t errlen)
{
	const char *sig = esize == 8 ? "XSDT" : "RSDT";
	unsigned long long at = root_pa;
	const uint8_t *t;
	uint32_t len;
	int r = map_sdt(root_pa, sig, &t, &len, err, errlen);

	if (r)
		return r;
	if ((len - SDT_HDR_LEN) % esize)
		FAIL(-EINVAL, "ACPI %s at %#llx: length %u is not the header plus %u-byte entries",
		     sig, at, len, esize);
	unsigned n = (len - SDT_HDR_LEN) / esize;
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *e = t + SDT_HDR_LEN + (size_t)i * esize;
		uint64_t pa = esize == 8 ? get_unaligned64(e) : get_unaligned32(e);

		/* Only the signature of the tables we pass over is read. */
		if (pa && !memcmp(phys_to_virt(pa), "APIC", 4)) {
			*madt = pa;
			return 0;
		}
	}
	FAIL(-ENOENT, "no MADT (APIC) table among %u tables of the %s at %#llx", n, sig, at);
}

/*
 * Keeps an enabled processor. Online Capable without Enabled (5.2.12.2,
 * table 5.23) is hot-plug we do not do: skipped. A second entry with an
 * APIC ID already kept (firmware may list a CPU as both type 0 and type 9)
 * is ignored and counted in skipped_duplicate.
 */
static void add_cpu(struct acpi_cpus *out, uint32_t apic_id, uint32_t uid, bool x2apic,
		    uint32_t flags)
{
	if (!(flags & MADT_ENABLED)) {
		out->skipped_disabled++;
		return;
	}
	for (unsigned i = 0; i < out->n; i++) {
		if (out->cpu[i].apic_id == apic_id) {
			out->skipped_duplicate++;
			return;
		}
	}
	if (out->n == ACPI_MAX_CPUS) {
		out->dropped_over_max++;
		return;
	}
	out->cpu[out->n++] = (struct acpi_cpu){ apic_id, uid, x2apic };
}

/* 5.2.12: the entries of the MADT @t, @len bytes at @pa, already checked. */
static int parse_madt(const uint8_t *t, uint32_t len, uint64_t pa, struct acpi_cpus *out,
		      char *err, size_t errlen)
{
	static const uint8_t need[] = { [MADT_LAPIC] = 8, [MADT_LAPIC_OVERRIDE] = 12,
					[MADT_X2APIC] = 16 };
	unsigned long long at = pa;

	if (len < MADT_ENTRIES)
		FAIL(-EINVAL, "MADT at %#llx: length %u, shorter than its %u-byte header", at, len,
		     MADT_ENTRIES);
	out->lapic_pa = get_unaligned32(t + 36);
	for (uint32_t off = MADT_ENTRIES; off < len; off += t[off + 1]) {
		if (len - off < 2)
			FAIL(-EINVAL, "MADT at %#llx: entry at offset %#x runs past the table end "
				      "(length %u)", at, off, len);
		const uint8_t *e = t + off;
		uint8_t type = e[0], elen = e[1];

		if (elen < 2)
			FAIL(-EINVAL, "MADT at %#llx: entry type %u at offset %#x has length %u "
				      "(< 2)", at, type, off, elen);
		if (elen > len - off)
			FAIL(-EINVAL, "MADT at %#llx: entry type %u at offset %#x, length %u, runs "
				      "past the table end (length %u)", at, type, off, elen, len);
		if (type < sizeof(need) && elen < need[type])
			FAIL(-EINVAL, "MADT at %#llx: entry type %u at offset %#x has length %u, "
				      "needs %u", at, type, off, elen, need[type]);
		if (type == MADT_LAPIC)
			add_cpu(out, e[3], e[2], false, get_unaligned32(e + 4));
		else if (type == MADT_X2APIC)
			add_cpu(out, get_unaligned32(e + 4), get_unaligned32(e + 12), true, get_unaligned32(e + 8));
		else if (type == MADT_LAPIC_OVERRIDE)
			out->lapic_pa = get_unaligned64(e + 4);
	}
	return 0;
}

int acpi_find_cpus(uint64_t rsdp_pa, struct acpi_cpus *out, char *err, size_t errlen)
{
	uint64_t root_pa, madt_pa;
	unsigned esize;
	const uint8_t *madt;
	uint32_t len;
	int r;

	memset(out, 0, sizeof(*out));
	if (errlen)
		err[0] = '\0';
	if (!rsdp_pa)
		FAIL(-ENOENT, "no ACPI RSDP from the boot loader");
	if ((r = parse_rsdp(rsdp_pa, &root_pa, &esize, err, errlen)) ||
	    (r = find_madt(root_pa, esize, &madt_pa, err, errlen)) ||
	    (r = map_sdt(madt_pa, "APIC", &madt, &len, err, errlen)) ||
	    (r = parse_madt(madt, len, madt_pa, out, err, errlen)))
		return r;
	if (!out->n)
		FAIL(-EINVAL, "MADT at %#llx: no enabled processor (%u disabled)",
		     (unsigned long long)madt_pa, out->skipped_disabled);
	return 0;
}
