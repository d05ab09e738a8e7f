/*
 * Linux's x86 boot protocol (Documentation/arch/x86/boot.rst in the
 * kernel tree, "THE LINUX/x86 BOOT PROTOCOL", version 2.12 and later):
 * checking a bzImage's setup header and writing the zero page (struct
 * boot_params) a 64-bit entry expects in RSI. Groundwork for issue 24 (a
 * Debian kernel as a guest): pure, host-tested by tests/host/test_bzimage.c,
 * not yet wired into the loader (guest_image_format() still refuses a
 * bzImage by name).
 */
#ifndef MINIHV_BOOT_BZIMAGE_H
#define MINIHV_BOOT_BZIMAGE_H

#include "arch/x86/arch.h"

/* Offsets in the image's first sector(s) and in the zero page (boot.rst, "THE REAL-MODE KERNEL HEADER"). */
#define BZ_SETUP_SECTS 0x1f1
#define BZ_BOOT_FLAG 0x1fe       /* 0xaa55 */
#define BZ_JUMP 0x200            /* its second byte: the header's length past 0x202 */
#define BZ_HEADER 0x202          /* "HdrS" */
#define BZ_VERSION 0x206
#define BZ_TYPE_OF_LOADER 0x210
#define BZ_LOADFLAGS 0x211
#define BZ_RAMDISK_IMAGE 0x218
#define BZ_RAMDISK_SIZE 0x21c
#define BZ_CMD_LINE_PTR 0x228
#define BZ_INITRD_ADDR_MAX 0x22c
#define BZ_KERNEL_ALIGNMENT 0x230
#define BZ_RELOCATABLE 0x234
#define BZ_XLOADFLAGS 0x236
#define BZ_CMDLINE_SIZE 0x238
#define BZ_PREF_ADDRESS 0x258
#define BZ_INIT_SIZE 0x260
#define BZ_ACPI_RSDP_ADDR 0x070  /* zero page: the RSDP's address (protocol 2.14 and later) */
#define BZ_E820_ENTRIES 0x1e8    /* zero page: the count, then the table at 0x2d0 */
#define BZ_E820_TABLE 0x2d0
#define BZ_E820_MAX 128

#define BZ_MIN_VERSION 0x020c    /* 2.12: xloadflags, and with it the 64-bit entry */
#define BZ_LOADED_HIGH 0x01      /* loadflags: the protected-mode kernel is at 1 MiB or above */
#define BZ_XLF_KERNEL_64 0x01    /* xloadflags: a 64-bit entry at the load address + 0x200 */
#define BZ_ENTRY64 0x200
#define BZ_LOADER_UNDEFINED 0xff /* type_of_loader: a boot loader without an assigned ID */
#define BZ_ZERO_PAGE 4096

struct bz_image {
	uint16_t version;
	uint32_t kernel_offset;  /* where the protected-mode kernel starts in the file */
	uint32_t kernel_len;     /* its bytes */
	uint64_t load_addr;      /* where it goes: pref_address */
	uint32_t init_size;      /* the memory it needs from there while it decompresses */
	uint32_t cmdline_size;   /* the longest command line, without its NUL */
	uint32_t initrd_addr_max;
	uint32_t header_end;     /* the setup header is bytes [0x1f1, header_end) */
};

/*
 * Check a bzImage for a guest of @ram bytes: the boot flag, "HdrS",
 * protocol 2.12 or later with a 64-bit entry, the protected-mode kernel
 * inside the file, and load_addr + init_size inside RAM. 0 and @out
 * filled, or -errno with the reason in @err.
 */
int bz_parse(const void *img, size_t len, uint64_t ram, struct bz_image *out, char *err,
	     size_t errlen);

/*
 * Write the zero page for @img (checked by bz_parse() into @bi) to @zp
 * (BZ_ZERO_PAGE bytes): zeroes, the setup header copied from the image,
 * type_of_loader 0xff, LOADED_HIGH, the command line at @cmdline_gpa
 * (@cmdline_len bytes, NUL excluded), the initrd at @initrd_gpa (@initrd_len
 * bytes; 0 for none) and the e820 map of a PC with @ram bytes: RAM below
 * 639 KiB, the EBDA and BIOS area reserved, RAM from 1 MiB. -E2BIG with the
 * reason when the command line is longer than the kernel takes or the
 * initrd lies above initrd_addr_max.
 */
int bz_write_zero_page(uint8_t *zp, const void *img, const struct bz_image *bi, uint64_t ram,
		       uint64_t cmdline_gpa, size_t cmdline_len, uint64_t initrd_gpa,
		       uint64_t initrd_len, char *err, size_t errlen);

#endif
