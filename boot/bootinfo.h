/*
 * Everything the kernel takes from the multiboot2 information, parsed and
 * checked once (boot/mb2.c, pure and host-tested).
 */
#ifndef MINIHV_BOOTINFO_H
#define MINIHV_BOOTINFO_H

#include "mm/mm.h"
#include "arch/x86/arch.h"

/* Multiboot2 information tag types (multiboot2 spec, section 3.6). */
#define MB2_TAG_END 0
#define MB2_TAG_CMDLINE 1
#define MB2_TAG_LOADER 2
#define MB2_TAG_MODULE 3
#define MB2_TAG_MEMINFO 4
#define MB2_TAG_MMAP 6
#define MB2_TAG_ACPI_OLD 14
#define MB2_TAG_ACPI_NEW 15

#define MB2_BOOT_MAGIC 0x36d76289u
#define MB2_MEM_AVAILABLE MEM_REGION_AVAILABLE

#define BI_MAX_REGIONS 128
#define BI_MAX_MODULES 8
#define BI_CMDLINE_MAX 4096
#define BI_NAME_MAX 2048 /* a module's string: "guest" and the guest's command line */

struct boot_module {
	uint64_t start; /* physical, [start, end) */
	uint64_t end;
	char name[BI_NAME_MAX];
};

struct boot_info {
	uint64_t mbi_start; /* physical range of the information itself */
	uint64_t mbi_end;
	char cmdline[BI_CMDLINE_MAX];
	size_t cmdline_overlong; /* length of a command line too long to keep (cmdline is ""), else 0 */
	char loader[BI_NAME_MAX];
	struct mem_region regions[BI_MAX_REGIONS];
	unsigned nregions;
	struct boot_module modules[BI_MAX_MODULES];
	unsigned nmodules;
	uint64_t rsdp;       /* physical address of the RSDP copy in the info, 0 if none */
	unsigned rsdp_rev;   /* 1 (ACPI 1.0 RSDP) or 2 (XSDP) */
	uint64_t ram_top;    /* end of the highest available region */
	uint64_t ram_avail;  /* bytes in available regions */
};

/*
 * Parse the multiboot2 information at @mbi (host pointer; @mbi_pa is its
 * physical address, recorded for the allocator). @avail bounds how many bytes
 * may be read at all. Returns 0, or -EINVAL with a message naming the problem
 * in @err.
 */
/*
 * The ranges the frame allocator must never hand out, besides the low 1 MiB
 * (mm/memmap.c): the kernel image [kstart, kend), the boot information and
 * each module. Fills @out (room for 2 + BI_MAX_MODULES); returns how many.
 */
unsigned boot_reserved(const struct boot_info *bi, uint64_t kstart, uint64_t kend,
		       struct phys_range *out);

int mb2_parse(const void *mbi, uint64_t mbi_pa, size_t avail, struct boot_info *bi, char *err,
	      size_t errlen);

#endif
