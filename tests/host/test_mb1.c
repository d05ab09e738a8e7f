/*
 * Host unit tests for boot/mb1.c: crafted ELF32 multiboot1 kernels, each
 * parsed from an exactly sized heap copy (ASan catches a read past it), and
 * the information block read back as a kernel would (kvm-unit-tests'
 * lib/x86/setup.c reads mem_upper, cmdline and the one module).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "boot/mb1.h"
#include "lib/kerrno.h"
#include "tests/host/hostshim.h"

#define RAM (64ull << 20)

static uint8_t img[16384];
static char err[256];

static void put32(uint8_t *b, size_t off, uint32_t v) { memcpy(b + off, &v, 4); }
static void put16(uint8_t *b, size_t off, uint16_t v) { memcpy(b + off, &v, 2); }

/* An ELF32 i386 executable: header, @nph program headers at 52, mb1 header at 0x1000. */
static size_t make_elf(unsigned nph, uint32_t entry, uint32_t mbflags)
{
	memset(img, 0, sizeof(img));
	memcpy(img, "\x7f" "ELF", 4);
	img[4] = 1, img[5] = 1, img[6] = 1;
	put16(img, 16, 2);
	put16(img, 18, 3);
	put32(img, 24, entry);
	put32(img, 28, 52);
	put16(img, 42, 32);
	put16(img, 44, (uint16_t)nph);
	put32(img, 0x1000, MB1_HEADER_MAGIC);
	put32(img, 0x1004, mbflags);
	put32(img, 0x1008, 0u - MB1_HEADER_MAGIC - mbflags);
	return sizeof(img);
}

static void set_ph(unsigned i, uint32_t type, uint32_t off, uint32_t paddr, uint32_t filesz,
		   uint32_t memsz)
{
	uint8_t *ph = img + 52 + 32 * i;

	put32(ph, 0, type);
	put32(ph, 4, off);
	put32(ph, 8, paddr);
	put32(ph, 12, paddr);
	put32(ph, 16, filesz);
	put32(ph, 20, memsz);
}

static int parse(size_t len, struct mb1_image *im)
{
	uint8_t *copy = malloc(len);
	int r;

	memcpy(copy, img, len);
	r = mb1_parse(copy, len, RAM, im, err, sizeof(err));
	free(copy);
	return r;
}

#define REJECTS(len, what)                                         \
	do {                                                       \
		struct mb1_image im_;                              \
		T(parse(len, &im_) < 0);                           \
		if (!T(strstr(err, what) != NULL))                 \
			printf("# got: %s\n", err);                \
	} while (0)

static void test_valid(void)
{
	struct mb1_image im;
	size_t len = make_elf(3, 0x4000bc, 0);

	set_ph(0, 1, 0xb0, 0x4000b0, 0x100, 0x100);
	set_ph(1, 4, 0, 0, 0, 0x20); /* PT_NOTE: ignored */
	set_ph(2, 1, 0x2000, 0x407000, 0x1000, 0xd27ed0);
	T(parse(len, &im) == 0);
	T(im.entry == 0x4000bc && im.nseg == 2);
	T(im.seg[1].paddr == 0x407000 && im.seg[1].filesz == 0x1000 && im.seg[1].memsz == 0xd27ed0);
	T(im.end == 0x407000 + 0xd27ed0);
}

static void test_bad(void)
{
	size_t len = make_elf(1, 0x400100, 0);

	set_ph(0, 1, 0xb0, 0x400000, 0x100, 0x100); /* the entry is one byte past its end */
	REJECTS(len, "entry point 0x400100 is in no loadable segment");
	put32(img, 24, 0x4000ff);
	struct mb1_image im;
	T(parse(len, &im) == 0);
	set_ph(0, 1, 0x3f00, 0x400000, 0x200, 0x200);
	REJECTS(len, "past the file");
	set_ph(0, 1, 0, 0x400000, 0x200, 0x100);
	REJECTS(len, "over its memory size");
	set_ph(0, 1, 0, 0x9fb00, 0x100, 0x200); /* into the EBDA */
	REJECTS(len, "outside guest RAM ([0, 0x9fc00) and [0x100000, 0x4000000))");
	set_ph(0, 1, 0, 0x8000, 0x100, 0x100); /* realmode.flat's place: conventional memory */
	put32(img, 24, 0x8000);
	T(parse(len, &im) == 0 && im.seg[0].paddr == 0x8000);
	set_ph(0, 1, 0, 0x3fff000, 0x100, 0x2000);
	REJECTS(len, "give the guest more memory");
	set_ph(0, 1, 0, 0xfffff000, 0x100, 0x2000); /* paddr + memsz wraps 32 bits */
	REJECTS(len, "outside guest RAM");
	put16(img, 44, 1000);
	REJECTS(len, "program headers");
	make_elf(2, 0x400010, 0);
	set_ph(0, 1, 0, 0x400000, 0x100, 0x1000);
	set_ph(1, 1, 0, 0x400800, 0x100, 0x1000);
	REJECTS(len, "overlap");
	make_elf(1, 0x400010, MB1_HDR_AOUT_KLUDGE);
	REJECTS(len, "a.out kludge");
	make_elf(1, 0x400010, 1u << 5);
	REJECTS(len, "required bits 0x20");
	make_elf(1, 0x400010, 0);
	put32(img, 0x1008, 0);
	REJECTS(len, "no multiboot1 header");
	make_elf(1, 0x400010, 0);
	img[4] = 2;
	REJECTS(len, "ELF32");
	make_elf(1, 0x400010, 0);
	put16(img, 18, 62);
	REJECTS(len, "machine 62");
	REJECTS(40, "not an ELF file");
}

static void test_format(void)
{
	enum guest_format f = GUEST_MB1_ELF;
	uint8_t flat[0x300] = { 0x48, 0x89, 0xe5 };

	T(guest_image_format(flat, sizeof(flat), &f, err, sizeof(err)) == 0 && f == GUEST_FLAT);
	make_elf(0, 0, 0);
	T(guest_image_format(img, sizeof(img), &f, err, sizeof(err)) == 0 && f == GUEST_MB1_ELF);
	memcpy(flat + 0x202, "HdrS", 4);
	T(guest_image_format(flat, sizeof(flat), &f, err, sizeof(err)) == 0 && f == GUEST_BZIMAGE);
	T(guest_image_format(flat, 0x205, &f, err, sizeof(err)) == 0 && f == GUEST_FLAT);
	memset(flat, 0, sizeof(flat));
	put32(flat, 0x40, MB1_HEADER_MAGIC);
	put32(flat, 0x48, 0u - MB1_HEADER_MAGIC);
	T(guest_image_format(flat, sizeof(flat), &f, err, sizeof(err)) == -EINVAL);
	T(strstr(err, "not ELF") != NULL);
	flat[0] = 'M', flat[1] = 'Z';
	T(guest_image_format(flat, 2, &f, err, sizeof(err)) == -EINVAL && strstr(err, "PE"));
}

static uint8_t *guest;
static uint64_t guest_size;

static int write_guest(void *ctx, uint64_t gpa, const void *src, size_t len)
{
	(void)ctx;
	if (gpa + len > guest_size)
		return -EFAULT;
	memcpy(guest + gpa, src, len);
	return 0;
}

static uint32_t g32(uint64_t gpa) { uint32_t v; memcpy(&v, guest + gpa, 4); return v; }

static void test_boot_info(void)
{
	static const char env[] = "NR_CPUS=1\nFOO=bar\n";
	struct mb1_module m = { env, sizeof(env) - 1, "guest-env" };
	struct mb1_boot b = { .ram = 8 << 20, .cmdline = "a b c", .mods = &m, .nmods = 1 };
	uint32_t mbi = 0;

	guest_size = b.ram;
	guest = calloc(1, guest_size);
	T(mb1_write_boot_info(write_guest, NULL, 0x401234, &b, &mbi, err, sizeof(err)) == 0);
	T(mbi > 0x402000 && (mbi & 7) == 0);
	T(g32(mbi) == (MB1_INFO_MEM | MB1_INFO_CMDLINE | MB1_INFO_MODS | MB1_INFO_MMAP |
		       MB1_INFO_LOADER));
	T(g32(mbi + 4) == 639 && g32(mbi + 8) == (8 << 10) - 1024);
	T(!strcmp((char *)guest + g32(mbi + 16), "a b c"));
	T(g32(mbi + 20) == 1);
	uint32_t mod = g32(mbi + 24);
	T(g32(mod) == 0x402000 && g32(mod + 4) == 0x402000 + sizeof(env) - 1);
	T(!memcmp(guest + g32(mod), env, sizeof(env) - 1));
	T(!strcmp((char *)guest + g32(mod + 8), "guest-env"));
	T(g32(mbi + 44) == 72);
	uint32_t mm = g32(mbi + 48);
	uint64_t base, len;
	memcpy(&base, guest + mm + 48 + 4, 8);
	memcpy(&len, guest + mm + 48 + 12, 8);
	T(g32(mm) == 20 && base == 0x100000 && len == (8 << 20) - 0x100000 &&
	  g32(mm + 48 + 20) == MB1_MMAP_RAM && g32(mm + 24 + 20) == MB1_MMAP_RESERVED);
	T(!strcmp((char *)guest + g32(mbi + 64), "minihv"));
	/* Too little RAM above the kernel: refused, naming the RAM. */
	T(mb1_write_boot_info(write_guest, NULL, b.ram - 64, &b, &mbi, err, sizeof(err)) == -E2BIG);
	T(strstr(err, "do not fit in its 8192 KiB") != NULL);
	b.nmods = 9;
	T(mb1_write_boot_info(write_guest, NULL, 0x401000, &b, &mbi, err, sizeof(err)) == -EINVAL);
	free(guest);
}

int main(void)
{
	RUN(test_valid);
	RUN(test_bad);
	RUN(test_format);
	RUN(test_boot_info);
	return tap_finish();
}
