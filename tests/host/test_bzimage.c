/*
 * Host unit tests for boot/bzimage.c: crafted bzImage headers (each parsed
 * from an exactly sized heap copy: ASan catches a read past it) and the
 * zero page read back as Linux's boot code reads it (boot.rst's offsets).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "boot/bzimage.h"
#include "lib/kerrno.h"
#include "tests/host/hostshim.h"

#define RAM (256ull << 20)
#define LEN (16 * 512)

static uint8_t img[LEN];
static char err[256];

static void put(size_t off, uint64_t v, unsigned n) { memcpy(img + off, &v, n); }

/* A 6.1-like header: protocol 2.15, 64-bit entry, 16 MiB, 4 setup sectors. */
static void make_bz(void)
{
	memset(img, 0xcc, sizeof(img));
	img[BZ_SETUP_SECTS] = 4;
	put(BZ_BOOT_FLAG, 0xaa55, 2);
	img[BZ_JUMP] = 0xeb;
	img[BZ_JUMP + 1] = 0x6a; /* the header ends at 0x26c */
	memcpy(img + BZ_HEADER, "HdrS", 4);
	put(BZ_VERSION, 0x020f, 2);
	put(BZ_TYPE_OF_LOADER, 0, 1);
	put(BZ_LOADFLAGS, 0x81, 1);
	put(BZ_INITRD_ADDR_MAX, 0x7fffffff, 4);
	put(BZ_XLOADFLAGS, 0x7f, 2);
	put(BZ_CMDLINE_SIZE, 2047, 4);
	put(BZ_PREF_ADDRESS, 0x1000000, 8);
	put(BZ_INIT_SIZE, 0x3380000, 4); /* 51.5 MiB */
}

static int parse(size_t len, uint64_t ram, struct bz_image *bi)
{
	uint8_t *copy = malloc(len);
	int r;

	memcpy(copy, img, len);
	r = bz_parse(copy, len, ram, bi, err, sizeof(err));
	free(copy);
	return r;
}

#define REJECTS(len, ram, what)                                   \
	do {                                                      \
		struct bz_image bi_;                              \
		T(parse(len, ram, &bi_) < 0);                     \
		if (!T(strstr(err, what) != NULL))                \
			printf("# got: %s\n", err);               \
	} while (0)

static void test_valid(void)
{
	struct bz_image bi;

	make_bz();
	T(parse(LEN, RAM, &bi) == 0);
	T(bi.version == 0x020f && bi.kernel_offset == 5 * 512 && bi.kernel_len == LEN - 5 * 512);
	T(bi.load_addr == 0x1000000 && bi.init_size == 0x3380000 && bi.header_end == 0x26c);
	img[BZ_SETUP_SECTS] = 0; /* 0 means 4 */
	T(parse(LEN, RAM, &bi) == 0 && bi.kernel_offset == 5 * 512);
}

static void test_bad(void)
{
	make_bz();
	put(BZ_BOOT_FLAG, 0, 2);
	REJECTS(LEN, RAM, "not a Linux bzImage");
	make_bz();
	img[BZ_HEADER] = 'X';
	REJECTS(LEN, RAM, "not a Linux bzImage");
	REJECTS(0x200, RAM, "not a Linux bzImage");
	make_bz();
	put(BZ_VERSION, 0x020a, 2);
	REJECTS(LEN, RAM, "boot protocol 2.10");
	make_bz();
	put(BZ_XLOADFLAGS, 0, 2);
	REJECTS(LEN, RAM, "no 64-bit entry");
	make_bz();
	img[BZ_SETUP_SECTS] = 30;
	REJECTS(LEN, RAM, "leaves no kernel");
	make_bz();
	REJECTS(LEN, 64ull << 20, "give the guest more memory");
	put(BZ_PREF_ADDRESS, 0x8000, 8);
	REJECTS(LEN, RAM, "pref_address + init_size");
}

static void test_zero_page(void)
{
	struct bz_image bi;
	static uint8_t zp[BZ_ZERO_PAGE];
	uint32_t v;
	uint64_t a, s;

	make_bz();
	T(parse(LEN, RAM, &bi) == 0);
	T(bz_write_zero_page(zp, img, &bi, RAM, 0x20000, 30, 0x8000000, 0x100000, err,
			     sizeof(err)) == 0);
	T(!memcmp(zp + BZ_HEADER, "HdrS", 4) && zp[BZ_SETUP_SECTS] == 4);
	T(zp[BZ_TYPE_OF_LOADER] == 0xff && (zp[BZ_LOADFLAGS] & BZ_LOADED_HIGH));
	T(zp[0x26c] == 0 && zp[0x1f0] == 0); /* nothing past the header, nothing before it */
	memcpy(&v, zp + BZ_CMD_LINE_PTR, 4);
	T(v == 0x20000);
	memcpy(&v, zp + BZ_RAMDISK_IMAGE, 4);
	T(v == 0x8000000);
	memcpy(&v, zp + BZ_RAMDISK_SIZE, 4);
	T(v == 0x100000);
	T(zp[BZ_E820_ENTRIES] == 3);
	memcpy(&a, zp + BZ_E820_TABLE + 40, 8);
	memcpy(&s, zp + BZ_E820_TABLE + 48, 8);
	memcpy(&v, zp + BZ_E820_TABLE + 56, 4);
	T(a == 0x100000 && s == RAM - 0x100000 && v == 1);
	memcpy(&v, zp + BZ_E820_TABLE + 36, 4);
	T(v == 2); /* the EBDA and BIOS area: reserved */
	T(bz_write_zero_page(zp, img, &bi, RAM, 0x20000, 2048, 0, 0, err, sizeof(err)) == -E2BIG);
	T(strstr(err, "takes 2047") != NULL);
	T(bz_write_zero_page(zp, img, &bi, RAM, 0x20000, 10, 0x7ffff000, 0x2000, err,
			     sizeof(err)) == -E2BIG);
	T(strstr(err, "initrd_addr_max") != NULL);
}

int main(void)
{
	RUN(test_valid);
	RUN(test_bad);
	RUN(test_zero_page);
	return tap_finish();
}
