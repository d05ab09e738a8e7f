/*
 * Multiboot2 information parser. Every size is checked before it is used: a
 * tag that runs past the end of the information, an entry size that is too
 * small, a missing end tag or memory map is refused with a message that says
 * which tag and which offset.
 */
#include "boot/bootinfo.h"
#include "lib/lib.h"

struct mb2_tag {
	uint32_t type;
	uint32_t size;
};

struct mb2_mmap_entry {
	uint64_t base;
	uint64_t len;
	uint32_t type;
	uint32_t reserved;
};

#define MB2_MMAP_HDR 16   /* type, size, entry_size, entry_version */
#define MB2_MODULE_HDR 16 /* type, size, mod_start, mod_end */
#define MB2_RSDP_V1_LEN 20
#define MB2_RSDP_V2_LEN 36

/* Copies a NUL-terminated string that must end inside [s, s + max). */
static int copy_string(char *dst, size_t dstlen, const uint8_t *s, size_t max)
{
	size_t n = 0;

	while (n < max && s[n])
		n++;
	if (n == max)
		return -EINVAL;
	if (n >= dstlen)
		return -E2BIG;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return 0;
}

#define FAIL(...)                                       \
	do {                                            \
		ksnprintf(err, errlen, __VA_ARGS__);    \
		return -EINVAL;                         \
	} while (0)

static int parse_mmap(struct boot_info *bi, const uint8_t *t, uint32_t size, size_t off,
		      char *err, size_t errlen)
{
	if (size < MB2_MMAP_HDR)
		FAIL("mmap tag at offset %#zx: size %u smaller than its header", off, size);
	uint32_t esize = get_unaligned32(t + 8);
	if (esize < sizeof(struct mb2_mmap_entry) || esize % 8)
		FAIL("mmap tag at offset %#zx: entry size %u invalid (need >= 24, multiple of 8)",
		     off, esize);
	uint32_t n = (size - MB2_MMAP_HDR) / esize;
	if (n == 0)
		FAIL("mmap tag at offset %#zx: no entries", off);
	if (n > BI_MAX_REGIONS)
		FAIL("mmap tag at offset %#zx: %u entries, more than the %d supported", off, n,
		     BI_MAX_REGIONS);
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *e = t + MB2_MMAP_HDR + (size_t)i * esize;
		struct mem_region *r = &bi->regions[bi->nregions++];

		r->base = get_unaligned64(e);
		r->len = get_unaligned64(e + 8);
		r->type = get_unaligned32(e + 16);
		if (r->base + r->len < r->base)
			FAIL("mmap entry %u: base %#llx + length %#llx wraps", i,
			     (unsigned long long)r->base, (unsigned long long)r->len);
		if (r->type == MB2_MEM_AVAILABLE && r->len) {
			bi->ram_avail += r->len;
			if (r->base + r->len > bi->ram_top)
				bi->ram_top = r->base + r->len;
		}
	}
	return 0;
}

struct parse_state {
	bool have_mmap, have_end;
};

/*
 * One tag of @size bytes at offset @off (@t points at it), already
 * bounds-checked. One case per tag type: the switch reads best whole.
 */
static int parse_tag(struct boot_info *bi, struct parse_state *st, const uint8_t *t, uint32_t type,
		     uint32_t size, size_t off, uint64_t mbi_pa, char *err, size_t errlen)
{
	switch (type) {
	case MB2_TAG_END:
		if (size != 8)
			FAIL("end tag at offset %#zx: size %u, expected 8", off, size);
		st->have_end = true;
		break;
	case MB2_TAG_CMDLINE: {
		int r = copy_string(bi->cmdline, sizeof(bi->cmdline), t + 8, size - 8);

		if (r == -EINVAL)
			FAIL("cmdline tag at offset %#zx: string unterminated", off);
		/*
		 * Too long is the user's mistake, not a broken loader: keep
		 * booting with an empty line and let the kernel refuse it
		 * with the limit in the message (boot/options.c).
		 */
		if (r == -E2BIG)
			bi->cmdline_overlong = strlen((const char *)t + 8);
		break;
	}
	case MB2_TAG_LOADER:
		if (copy_string(bi->loader, sizeof(bi->loader), t + 8, size - 8) == -EINVAL)
			FAIL("loader name tag at offset %#zx: string unterminated", off);
		break;
	case MB2_TAG_MODULE: {
		if (size < MB2_MODULE_HDR + 1)
			FAIL("module tag at offset %#zx: size %u too small", off, size);
		if (bi->nmodules == BI_MAX_MODULES)
			FAIL("module tag at offset %#zx: more than %d modules", off,
			     BI_MAX_MODULES);
		struct boot_module *m = &bi->modules[bi->nmodules];
		m->start = get_unaligned32(t + 8);
		m->end = get_unaligned32(t + 12);
		if (m->end < m->start)
			FAIL("module tag at offset %#zx: end %#llx below start %#llx", off,
			     (unsigned long long)m->end, (unsigned long long)m->start);
		if (copy_string(m->name, sizeof(m->name), t + MB2_MODULE_HDR,
				size - MB2_MODULE_HDR))
			FAIL("module tag at offset %#zx: name unterminated or longer than %d",
			     off, BI_NAME_MAX - 1);
		bi->nmodules++;
		break;
	}
	case MB2_TAG_MMAP:
		if (st->have_mmap)
			FAIL("mmap tag at offset %#zx: a second memory map", off);
		if (parse_mmap(bi, t, size, off, err, errlen))
			return -EINVAL;
		st->have_mmap = true;
		break;
	case MB2_TAG_ACPI_OLD:
	case MB2_TAG_ACPI_NEW: {
		uint32_t need = type == MB2_TAG_ACPI_OLD ? MB2_RSDP_V1_LEN : MB2_RSDP_V2_LEN;
		if (size - 8 < need)
			FAIL("ACPI RSDP tag %u at offset %#zx: %u bytes, RSDP needs %u", type,
			     off, size - 8, need);
		if (memcmp(t + 8, "RSD PTR ", 8))
			FAIL("ACPI RSDP tag %u at offset %#zx: bad signature", type, off);
		/* Prefer the ACPI 2.0 XSDP when both are given. */
		if (type == MB2_TAG_ACPI_NEW || !bi->rsdp) {
			bi->rsdp = mbi_pa + off + 8;
			bi->rsdp_rev = type == MB2_TAG_ACPI_NEW ? 2 : 1;
		}
		break;
	}
	default:
		/* Tags the kernel has no use for (framebuffer, ELF sections, ...). */
		break;
	}
	return 0;
}

int mb2_parse(const void *mbi, uint64_t mbi_pa, size_t avail, struct boot_info *bi, char *err,
	      size_t errlen)
{
	const uint8_t *base = mbi;
	struct parse_state st = { false, false };

	memset(bi, 0, sizeof(*bi));
	if (errlen)
		err[0] = '\0';
	if (avail < 8)
		FAIL("boot information: only %zu bytes available, need at least 8", avail);
	if (mbi_pa & 7)
		FAIL("boot information at %#llx is not 8-byte aligned", (unsigned long long)mbi_pa);

	uint32_t total = get_unaligned32(base);
	if (total < 16)
		FAIL("boot information: total_size %u is too small (need the header and an end tag)",
		     total);
	if (total > avail)
		FAIL("boot information: total_size %u runs past the %zu bytes available", total,
		     avail);
	bi->mbi_start = mbi_pa;
	bi->mbi_end = mbi_pa + total;

	size_t off = 8;
	while (off < total) {
		if (total - off < 8)
			FAIL("tag at offset %#zx: header runs past end of info (total_size %u)", off,
			     total);
		const uint8_t *t = base + off;
		uint32_t type = get_unaligned32(t), size = get_unaligned32(t + 4);

		if (size < 8)
			FAIL("tag %u at offset %#zx: size %u is smaller than a tag header", type, off,
			     size);
		if (size > total - off)
			FAIL("tag %u at offset %#zx: size %u runs past end of info (total_size %u)",
			     type, off, size, total);

		int r = parse_tag(bi, &st, t, type, size, off, mbi_pa, err, errlen);
		if (r)
			return r;
		if (st.have_end)
			break;
		off += ALIGN_UP((size_t)size, 8);
	}
	if (!st.have_end)
		FAIL("boot information: no end tag within total_size %u", total);
	if (!st.have_mmap)
		FAIL("boot information: no memory map tag (type 6); cannot find usable RAM");
	if (!bi->ram_avail)
		FAIL("boot information: memory map lists no available RAM");
	return 0;
}

unsigned boot_reserved(const struct boot_info *bi, uint64_t kstart, uint64_t kend,
		       struct phys_range *out)
{
	unsigned n = 0;

	out[n++] = (struct phys_range){ kstart, kend, "kernel" };
	out[n++] = (struct phys_range){ bi->mbi_start, bi->mbi_end, "boot information" };
	for (unsigned i = 0; i < bi->nmodules; i++)
		out[n++] = (struct phys_range){ bi->modules[i].start, bi->modules[i].end, "module" };
	return n;
}
