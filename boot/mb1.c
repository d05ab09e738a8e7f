/*
 * Multiboot1 ELF32 kernels (boot/mb1.h). The ELF layout is the System V
 * gABI's (https://refspecs.linuxfoundation.org/elf/gabi4+/ch4.eheader.html);
 * every field is read with memcpy, since the image is a module at any
 * alignment, and every offset is checked against the file's length first.
 */
#include "boot/mb1.h"
#include "lib/lib.h"

#define MB1_PAGE 4096u /* modules are page-aligned (header flag 0, which QEMU always honours) */

#define ELF_CLASS32 1
#define ELF_DATA_LSB 1
#define ELF_TYPE_EXEC 2
#define ELF_MACHINE_386 3
#define ELF_PT_LOAD 1
#define ELF32_EHDR_SIZE 52
#define ELF32_PHDR_SIZE 32

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint16_t rd16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return v;
}

/* The multiboot1 header's offset, or -1 if there is none (spec 3.1.1). */
static long find_header(const uint8_t *b, size_t len)
{
	for (size_t off = 0; off + 12 <= len && off < MB1_SEARCH; off += 4)
		if (rd32(b + off) == MB1_HEADER_MAGIC &&
		    (uint32_t)(rd32(b + off) + rd32(b + off + 4) + rd32(b + off + 8)) == 0)
			return (long)off;
	return -1;
}

int guest_image_format(const void *img, size_t len, enum guest_format *fmt, char *err,
		       size_t errlen)
{
	const uint8_t *b = img;

	if (len >= 4 && !memcmp(b, "\x7f" "ELF", 4)) {
		*fmt = GUEST_MB1_ELF;
		return 0;
	}
	const char *what = NULL;

	/* Linux's boot protocol: checked in full by bz_parse() (boot/bzimage.c). */
	if (len >= 0x206 && !memcmp(b + 0x202, "HdrS", 4)) {
		*fmt = GUEST_BZIMAGE;
		return 0;
	}
	if (len >= 2 && b[0] == 'M' && b[1] == 'Z')
		what = "a PE/COFF (EFI) image";
	else if (len >= 2 && b[0] == 0x1f && b[1] == 0x8b)
		what = "a gzip file (decompress it first)";
	else if (find_header(b, len) >= 0)
		what = "a multiboot1 kernel that is not ELF (the a.out kludge is not supported)";
	if (what) {
		ksnprintf(err, errlen, "guest image is %s: minihv runs a flat 64-bit binary, a "
			  "multiboot1 ELF32 kernel or a Linux bzImage (guest/ABI.md)", what);
		return -EINVAL;
	}
	*fmt = GUEST_FLAT;
	return 0;
}

static int check_header(const uint8_t *b, size_t len, char *err, size_t errlen)
{
	long off = find_header(b, len);

	if (off < 0) {
		ksnprintf(err, errlen, "ELF guest has no multiboot1 header (magic %#x with a valid "
			  "checksum, 4-byte aligned in the first %u bytes)", MB1_HEADER_MAGIC,
			  MB1_SEARCH);
		return -EINVAL;
	}
	uint32_t flags = rd32(b + off + 4);

	if (flags & MB1_HDR_AOUT_KLUDGE) {
		ksnprintf(err, errlen, "multiboot1 header flags %#x: the a.out kludge (bit 16) is "
			  "not supported, load from the ELF program headers instead", flags);
		return -EINVAL;
	}
	/* Bits 0 (aligned modules) and 1 (memory map) are always honoured; 2 is video. */
	if (flags & 0xfffcu & ~MB1_HDR_VIDEO) {
		ksnprintf(err, errlen, "multiboot1 header flags %#x: required bits %#x are not "
			  "ones minihv knows", flags, flags & 0xfffcu & ~MB1_HDR_VIDEO);
		return -EINVAL;
	}
	return 0;
}

static int check_segment(const struct mb1_image *im, const struct mb1_segment *s, size_t len,
			 uint64_t ram, unsigned i, char *err, size_t errlen)
{
	if (s->filesz > s->memsz || (uint64_t)s->offset + s->filesz > len) {
		ksnprintf(err, errlen, "ELF segment %u: file bytes [%#x, +%#x) past the file's %zu "
			  "bytes or over its memory size %#x", i, s->offset, s->filesz, len, s->memsz);
		return -EINVAL;
	}
	uint64_t end = (uint64_t)s->paddr + s->memsz;

	/* RAM is conventional memory below the EBDA, and from 1 MiB up (the memory map's). */
	if (!(end <= MB1_LOW_MEM || (s->paddr >= MB1_HIGH_MEM && end <= ram))) {
		ksnprintf(err, errlen, "ELF segment %u at [%#x, %#llx) is outside guest RAM ([0, %#x) "
			  "and [%#x, %#llx))%s", i, s->paddr, (unsigned long long)end, MB1_LOW_MEM,
			  MB1_HIGH_MEM, (unsigned long long)ram,
			  s->paddr >= MB1_HIGH_MEM ? ": give the guest more memory (guest_mem=)" : "");
		return -E2BIG;
	}
	for (unsigned j = 0; j < im->nseg; j++) {
		const struct mb1_segment *o = &im->seg[j];

		if (s->paddr < o->paddr + o->memsz && o->paddr < s->paddr + s->memsz) {
			ksnprintf(err, errlen, "ELF segments %u and %u overlap at %#x", j, i,
				  MAX(s->paddr, o->paddr));
			return -EINVAL;
		}
	}
	return 0;
}

int mb1_parse(const void *img, size_t len, uint64_t ram, struct mb1_image *out, char *err,
	      size_t errlen)
{
	const uint8_t *b = img;

	memset(out, 0, sizeof(*out));
	if (len < ELF32_EHDR_SIZE || memcmp(b, "\x7f" "ELF", 4)) {
		ksnprintf(err, errlen, "not an ELF file (%zu bytes)", len);
		return -EINVAL;
	}
	if (b[4] != ELF_CLASS32 || b[5] != ELF_DATA_LSB) {
		ksnprintf(err, errlen, "ELF class %u, data %u: a multiboot1 kernel is ELF32 "
			  "little-endian (an ELF64 kernel needs objcopy -O elf32-i386)", b[4], b[5]);
		return -EINVAL;
	}
	if (rd16(b + 16) != ELF_TYPE_EXEC || rd16(b + 18) != ELF_MACHINE_386) {
		ksnprintf(err, errlen, "ELF type %u, machine %u: need an i386 executable (2, 3)",
			  rd16(b + 16), rd16(b + 18));
		return -EINVAL;
	}
	int r = check_header(b, len, err, errlen);

	if (r)
		return r;
	uint32_t phoff = rd32(b + 28);
	unsigned phentsize = rd16(b + 42), phnum = rd16(b + 44);

	if (phentsize < ELF32_PHDR_SIZE || (uint64_t)phoff + (uint64_t)phnum * phentsize > len) {
		ksnprintf(err, errlen, "ELF program headers (%u of %u bytes at %#x) are not inside "
			  "the file's %zu bytes", phnum, phentsize, phoff, len);
		return -EINVAL;
	}
	out->entry = rd32(b + 24);
	for (unsigned i = 0; i < phnum; i++) {
		const uint8_t *ph = b + phoff + (size_t)i * phentsize;
		struct mb1_segment s = { .offset = rd32(ph + 4), .paddr = rd32(ph + 12),
					 .filesz = rd32(ph + 16), .memsz = rd32(ph + 20) };

		if (rd32(ph) != ELF_PT_LOAD || !s.memsz)
			continue;
		if (out->nseg == MB1_MAX_SEGS) {
			ksnprintf(err, errlen, "more than %u loadable ELF segments", MB1_MAX_SEGS);
			return -EINVAL;
		}
		r = check_segment(out, &s, len, ram, i, err, errlen);
		if (r)
			return r;
		out->seg[out->nseg++] = s;
		out->end = MAX(out->end, s.paddr + s.memsz);
	}
	for (unsigned i = 0; i < out->nseg; i++)
		if (out->entry - out->seg[i].paddr < out->seg[i].memsz)
			return 0;
	ksnprintf(err, errlen, "ELF entry point %#x is in no loadable segment%s", out->entry,
		  out->nseg ? "" : " (the file has none)");
	return -EINVAL;
}

struct placer {
	mb1_write_fn write;
	void *ctx;
	uint64_t next, ram;
	int r;
};

/* Put @len bytes at the next @align-aligned GPA; returns that GPA (0 once anything failed). */
static uint32_t place(struct placer *p, const void *src, size_t len, uint64_t align)
{
	uint64_t at = ALIGN_UP(p->next, align);

	if (p->r)
		return 0;
	if (at + len > p->ram || at + len > 0xffffffffull) {
		p->r = -E2BIG;
		return 0;
	}
	p->r = len ? p->write(p->ctx, at, src, len) : 0;
	p->next = at + len;
	return (uint32_t)at;
}

static uint32_t place_str(struct placer *p, const char *s)
{
	return place(p, s ? s : "", (s ? strlen(s) : 0) + 1, 1);
}

int mb1_write_boot_info(mb1_write_fn write, void *ctx, uint64_t at, const struct mb1_boot *b,
			uint32_t *mbi_gpa, char *err, size_t errlen)
{
	struct placer p = { .write = write, .ctx = ctx, .next = at, .ram = b->ram };
	uint32_t mods[4 * 8] = { 0 }; /* mod_start, mod_end, string, reserved (spec 3.3) */
	uint32_t info[22] = { 0 };    /* up to vbe_* (88 bytes); the rest stays 0 */
	uint8_t mmap[3 * 24];
	unsigned n = MIN(b->nmods, 8u);

	if (b->nmods > 8) {
		ksnprintf(err, errlen, "%u guest modules: at most 8", b->nmods);
		return -EINVAL;
	}
	for (unsigned i = 0; i < n; i++) {
		mods[4 * i] = place(&p, b->mods[i].data, b->mods[i].len, MB1_PAGE);
		mods[4 * i + 1] = mods[4 * i] + (uint32_t)b->mods[i].len;
	}
	for (unsigned i = 0; i < n; i++)
		mods[4 * i + 2] = place_str(&p, b->mods[i].string);
	/* RAM below the EBDA, the EBDA and BIOS area reserved, RAM from 1 MiB (a PC's e820). */
	const struct { uint64_t base, len; uint32_t type; } map[3] = {
		{ 0, MB1_LOW_MEM, MB1_MMAP_RAM },
		{ MB1_LOW_MEM, MB1_HIGH_MEM - MB1_LOW_MEM, MB1_MMAP_RESERVED },
		{ MB1_HIGH_MEM, b->ram - MB1_HIGH_MEM, MB1_MMAP_RAM },
	};
	for (unsigned i = 0; i < 3; i++) {
		uint32_t size = 20; /* each entry's size field counts the 20 bytes after it */

		memcpy(mmap + 24 * i, &size, 4);
		memcpy(mmap + 24 * i + 4, &map[i].base, 8);
		memcpy(mmap + 24 * i + 12, &map[i].len, 8);
		memcpy(mmap + 24 * i + 20, &map[i].type, 4);
	}
	info[0] = MB1_INFO_MEM | MB1_INFO_CMDLINE | MB1_INFO_MODS | MB1_INFO_MMAP | MB1_INFO_LOADER;
	info[1] = MB1_LOW_MEM >> 10;
	info[2] = (uint32_t)((MIN(b->ram, 0xffffffffull) - MB1_HIGH_MEM) >> 10);
	info[4] = place_str(&p, b->cmdline);
	info[5] = n;
	info[6] = n ? place(&p, mods, 16 * n, 16) : 0;
	info[11] = sizeof(mmap);
	info[12] = place(&p, mmap, sizeof(mmap), 8);
	info[16] = place_str(&p, "minihv");
	*mbi_gpa = place(&p, info, sizeof(info), 8);
	if (p.r == -E2BIG)
		ksnprintf(err, errlen, "the guest's modules, command line and multiboot information "
			  "(from %#llx) do not fit in its %llu KiB of RAM", (unsigned long long)at,
			  (unsigned long long)b->ram >> 10);
	else if (p.r)
		ksnprintf(err, errlen, "writing the multiboot information failed (%d)", p.r);
	return p.r;
}
