/*
 * Linux's x86 boot protocol (boot/bzimage.h). Every field is read with
 * memcpy (the image is a module at any alignment), every offset checked
 * against the file's length before it is read.
 */
#include "boot/bzimage.h"
#include "boot/mb1.h" /* the PC's memory map: MB1_LOW_MEM, MB1_HIGH_MEM */
#include "lib/lib.h"

#define BZ_SECTOR 512
#define E820_RAM 1
#define E820_RESERVED 2

static uint32_t rd(const uint8_t *b, size_t off, unsigned n)
{
	uint32_t v = 0;

	memcpy(&v, b + off, n);
	return v;
}

int bz_parse(const void *img, size_t len, uint64_t ram, struct bz_image *out, char *err,
	     size_t errlen)
{
	const uint8_t *b = img;

	memset(out, 0, sizeof(*out));
	if (len < BZ_INIT_SIZE + 4 || rd(b, BZ_BOOT_FLAG, 2) != 0xaa55 ||
	    memcmp(b + BZ_HEADER, "HdrS", 4)) {
		ksnprintf(err, errlen, "not a Linux bzImage (no boot flag 0xaa55 and \"HdrS\" "
			  "setup header in its %zu bytes)", len);
		return -EINVAL;
	}
	out->version = (uint16_t)rd(b, BZ_VERSION, 2);
	if (out->version < BZ_MIN_VERSION) {
		ksnprintf(err, errlen, "boot protocol %u.%02u: minihv needs 2.12 or later (the "
			  "64-bit entry)", out->version >> 8, out->version & 0xff);
		return -EINVAL;
	}
	if (!(rd(b, BZ_XLOADFLAGS, 2) & BZ_XLF_KERNEL_64)) {
		ksnprintf(err, errlen, "the kernel has no 64-bit entry (xloadflags %#x): a "
			  "32-bit kernel", rd(b, BZ_XLOADFLAGS, 2));
		return -EINVAL;
	}
	unsigned sects = b[BZ_SETUP_SECTS] ? b[BZ_SETUP_SECTS] : 4; /* 0 means 4 (boot.rst) */

	out->kernel_offset = (sects + 1) * BZ_SECTOR;
	out->header_end = BZ_HEADER + b[BZ_JUMP + 1];
	if (out->kernel_offset >= len || out->header_end > out->kernel_offset) {
		ksnprintf(err, errlen, "setup of %u sectors (header to %#x) leaves no kernel in "
			  "the file's %zu bytes", sects, out->header_end, len);
		return -EINVAL;
	}
	out->kernel_len = (uint32_t)(len - out->kernel_offset);
	memcpy(&out->load_addr, b + BZ_PREF_ADDRESS, 8);
	out->init_size = rd(b, BZ_INIT_SIZE, 4);
	out->cmdline_size = rd(b, BZ_CMDLINE_SIZE, 4);
	out->initrd_addr_max = rd(b, BZ_INITRD_ADDR_MAX, 4);
	if (out->load_addr < MB1_HIGH_MEM || out->init_size < out->kernel_len ||
	    out->load_addr + out->init_size > ram) {
		ksnprintf(err, errlen, "the kernel needs [%#llx, %#llx) (pref_address + init_size) "
			  "in guest RAM of %llu MiB: give the guest more memory (guest_mem=)",
			  (unsigned long long)out->load_addr,
			  (unsigned long long)(out->load_addr + out->init_size),
			  (unsigned long long)ram >> 20);
		return -E2BIG;
	}
	return 0;
}

static void e820(uint8_t *zp, unsigned i, uint64_t addr, uint64_t size, uint32_t type)
{
	uint8_t *e = zp + BZ_E820_TABLE + 20 * i;

	memcpy(e, &addr, 8);
	memcpy(e + 8, &size, 8);
	memcpy(e + 16, &type, 4);
}

int bz_write_zero_page(uint8_t *zp, const void *img, const struct bz_image *bi, uint64_t ram,
		       uint64_t cmdline_gpa, size_t cmdline_len, uint64_t initrd_gpa,
		       uint64_t initrd_len, char *err, size_t errlen)
{
	uint32_t v;

	if (cmdline_len > bi->cmdline_size) {
		ksnprintf(err, errlen, "kernel command line of %zu characters: this kernel takes "
			  "%u", cmdline_len, bi->cmdline_size);
		return -E2BIG;
	}
	if (initrd_len && initrd_gpa + initrd_len - 1 > bi->initrd_addr_max) {
		ksnprintf(err, errlen, "initrd at [%#llx, %#llx) ends above initrd_addr_max %#x",
			  (unsigned long long)initrd_gpa,
			  (unsigned long long)(initrd_gpa + initrd_len), bi->initrd_addr_max);
		return -E2BIG;
	}
	memset(zp, 0, BZ_ZERO_PAGE);
	memcpy(zp + BZ_SETUP_SECTS, (const uint8_t *)img + BZ_SETUP_SECTS,
	       bi->header_end - BZ_SETUP_SECTS);
	zp[BZ_TYPE_OF_LOADER] = BZ_LOADER_UNDEFINED;
	zp[BZ_LOADFLAGS] |= BZ_LOADED_HIGH;
	v = (uint32_t)cmdline_gpa;
	memcpy(zp + BZ_CMD_LINE_PTR, &v, 4);
	v = (uint32_t)initrd_gpa;
	memcpy(zp + BZ_RAMDISK_IMAGE, &v, 4);
	v = (uint32_t)initrd_len;
	memcpy(zp + BZ_RAMDISK_SIZE, &v, 4);
	e820(zp, 0, 0, MB1_LOW_MEM, E820_RAM);
	e820(zp, 1, MB1_LOW_MEM, MB1_HIGH_MEM - MB1_LOW_MEM, E820_RESERVED);
	e820(zp, 2, MB1_HIGH_MEM, ram - MB1_HIGH_MEM, E820_RAM);
	zp[BZ_E820_ENTRIES] = 3;
	return 0;
}
