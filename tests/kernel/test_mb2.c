/* Multiboot2 parsing: the live boot information and crafted buffers. */
#include "boot/bootinfo.h"
#include "lib/kerrno.h"
#include "lib/kstring.h"
#include "lib/ktest.h"

extern struct boot_info boot_info;

KTEST(mb2_live_info)
{
	CHECK(boot_info.nregions > 0);
	CHECK(boot_info.ram_avail >= (16ULL << 20), "only %llu bytes of RAM",
	      (unsigned long long)boot_info.ram_avail);
	CHECK(strstr(boot_info.cmdline, "tests="), "cmdline '%s'", boot_info.cmdline);
	CHECK(boot_info.mbi_end > boot_info.mbi_start);
}

/* Builds: header, optional cmdline tag, optional mmap tag (one region), end tag. */
static uint32_t build(uint8_t *buf, bool cmdline, bool mmap, bool end)
{
	uint32_t off = 8;

	memset(buf, 0, 256);
	if (cmdline) {
		uint32_t t[2] = { MB2_TAG_CMDLINE, 8 + 6 };
		memcpy(buf + off, t, 8);
		memcpy(buf + off + 8, "quiet", 6);
		off += 16;
	}
	if (mmap) {
		uint32_t t[4] = { MB2_TAG_MMAP, 16 + 24, 24, 0 };
		uint64_t e[3] = { 0x100000, 64ULL << 20, MB2_MEM_AVAILABLE };
		memcpy(buf + off, t, 16);
		memcpy(buf + off + 16, e, 24);
		off += 40;
	}
	if (end) {
		uint32_t t[2] = { MB2_TAG_END, 8 };
		memcpy(buf + off, t, 8);
		off += 8;
	}
	memcpy(buf, &off, 4);
	return off;
}

KTEST(mb2_crafted)
{
	static uint8_t buf[256] __aligned(8);
	static struct boot_info bi;
	char err[200];
	uint32_t n;

	n = build(buf, true, true, true);
	CHECK_EQ(mb2_parse(buf, 0x8000, n, &bi, err, sizeof(err)), 0);
	CHECK(!strcmp(bi.cmdline, "quiet"));
	CHECK_EQ(bi.ram_avail, 64ULL << 20);

	n = build(buf, true, false, true);
	CHECK_EQ(mb2_parse(buf, 0x8000, n, &bi, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "no memory map"), "message: %s", err);

	n = build(buf, true, true, false);
	CHECK_EQ(mb2_parse(buf, 0x8000, n, &bi, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "no end tag"), "message: %s", err);

	n = build(buf, true, true, true);
	uint32_t big = 0x1000;
	memcpy(buf + 8 + 4, &big, 4); /* cmdline tag claims 4 KiB */
	CHECK_EQ(mb2_parse(buf, 0x8000, n, &bi, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "runs past end"), "message: %s", err);

	n = build(buf, true, true, true);
	CHECK_EQ(mb2_parse(buf, 0x8000, n - 8, &bi, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "past the"), "message: %s", err);
}
