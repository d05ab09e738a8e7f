/*
 * Guest images in the multiboot1 format (Multiboot Specification 0.6.96,
 * https://www.gnu.org/software/grub/manual/multiboot/multiboot.html): an
 * ELF32 kernel with a multiboot1 header in its first 8 KiB, as
 * kvm-unit-tests' x86 .flat files are. Pure (host-tested by
 * tests/host/test_mb1.c): telling the formats apart, checking the ELF's
 * program headers against the guest's RAM, and writing the information
 * block the kernel finds at EBX.
 */
#ifndef MINIHV_BOOT_MB1_H
#define MINIHV_BOOT_MB1_H

#include "arch/x86/arch.h"

#define MB1_HEADER_MAGIC 0x1BADB002u  /* in the image (spec 3.1.1) */
#define MB1_BOOT_MAGIC 0x2BADB002u    /* in EAX at entry (spec 3.2) */
#define MB1_SEARCH 8192               /* the header lies in the first 8 KiB, 4-aligned */
#define MB1_HDR_AOUT_KLUDGE (1u << 16) /* load addresses in the header: not supported */
#define MB1_HDR_VIDEO (1u << 2)        /* a video mode: minihv has no display */
#define MB1_MAX_SEGS 8
#define MB1_LOW_MEM 0x9fc00u          /* 639 KiB of conventional memory, as a PC */
#define MB1_HIGH_MEM 0x100000u        /* "upper memory" starts at 1 MiB */

/* The information block's flags (spec 3.3) that minihv fills in. */
#define MB1_INFO_MEM (1u << 0)
#define MB1_INFO_CMDLINE (1u << 2)
#define MB1_INFO_MODS (1u << 3)
#define MB1_INFO_MMAP (1u << 6)
#define MB1_INFO_LOADER (1u << 9)
#define MB1_MMAP_RAM 1
#define MB1_MMAP_RESERVED 2

enum guest_format { GUEST_FLAT, GUEST_MB1_ELF, GUEST_BZIMAGE };

struct mb1_segment {
	uint32_t paddr, memsz;   /* where it goes, and how much (the rest of memsz is zeroes) */
	uint32_t offset, filesz; /* the bytes of the file it holds */
};

struct mb1_image {
	uint32_t entry;
	uint32_t end; /* the first byte above every segment */
	unsigned nseg;
	struct mb1_segment seg[MB1_MAX_SEGS];
};

/*
 * Which format @img (@len bytes) is: GUEST_MB1_ELF for an ELF file (which
 * mb1_parse() then checks), GUEST_BZIMAGE for a Linux kernel ("HdrS" at
 * 0x202; bz_parse() checks the rest), GUEST_FLAT for minihv's own flat
 * binary, which has no header; -EINVAL with the reason for a file that is
 * none of them (a PE or gzip file), and for a multiboot1 header on a file
 * that is not ELF (the a.out kludge, which minihv does not load).
 */
int guest_image_format(const void *img, size_t len, enum guest_format *fmt, char *err,
		       size_t errlen);

/*
 * Check an ELF32 multiboot1 kernel: a valid header (magic, flags minihv
 * honours, checksum), i386 executable, every PT_LOAD inside the file and
 * inside RAM (below 639 KiB or in [1 MiB, @ram)), none overlapping, the
 * entry in one of them.
 * 0 and @out filled, or -errno with the reason in @err.
 */
int mb1_parse(const void *img, size_t len, uint64_t ram, struct mb1_image *out, char *err,
	      size_t errlen);

struct mb1_module {
	const void *data;
	size_t len;
	const char *string; /* its command line */
};

struct mb1_boot {
	uint64_t ram;        /* RAM at [0, ram), with the PC's holes below 1 MiB */
	const char *cmdline; /* the kernel's command line */
	const struct mb1_module *mods;
	unsigned nmods;
};

/* Copies @len bytes to guest-physical @gpa: 0 or -errno. */
typedef int (*mb1_write_fn)(void *ctx, uint64_t gpa, const void *src, size_t len);

/*
 * Lay out what the kernel finds at entry, through @write, from GPA @at
 * upwards (above the kernel, as QEMU does): the modules, each
 * page-aligned, then their strings, the command line, the memory map and
 * the information block. 0 and *@mbi_gpa set (EBX), or -E2BIG with the
 * reason when it does not fit below @b->ram.
 */
int mb1_write_boot_info(mb1_write_fn write, void *ctx, uint64_t at, const struct mb1_boot *b,
			uint32_t *mbi_gpa, char *err, size_t errlen);

#endif
