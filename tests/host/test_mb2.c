/*
 * Host unit tests for boot/mb2.c: crafted multiboot2 information buffers.
 * Each buffer is parsed from an exactly sized heap copy, so ASan catches any
 * read past the bytes the parser was allowed to see.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "boot/bootinfo.h"
#include "lib/kerrno.h"
#include "tests/host/hostshim.h"

#define MBI_PA 0x10000ULL

static uint8_t mb[8192] __aligned(8);
static size_t mb_len;
static struct boot_info bi;
static char err[256];

static void put32(size_t off, uint32_t v)
{
	memcpy(mb + off, &v, 4);
}

static void mb_begin(void)
{
	memset(mb, 0xAA, sizeof(mb)); /* junk where nothing is written */
	memset(mb, 0, 8);
	mb_len = 8;
}

/* Append a tag of 8 + @plen bytes; returns its offset. Pads to 8. */
static size_t mb_tag(uint32_t type, const void *payload, uint32_t plen)
{
	size_t off = mb_len;

	put32(off, type);
	put32(off + 4, 8 + plen);
	if (plen)
		memcpy(mb + off + 8, payload, plen);
	mb_len = off + ALIGN_UP(8 + (size_t)plen, 8);
	memset(mb + off + 8 + plen, 0, mb_len - (off + 8 + plen));
	return off;
}

static size_t mb_str(uint32_t type, const char *s)
{
	return mb_tag(type, s, (uint32_t)strlen(s) + 1);
}

/* mmap entries: base, len, type; @esize >= 24 stride. */
struct ent {
	uint64_t base, len;
	uint32_t type;
};

static size_t mb_mmap(const struct ent *e, unsigned n, uint32_t esize)
{
	uint8_t p[16 + 256 * 40] = { 0 };

	memcpy(p, &esize, 4); /* entry_size, then entry_version 0 */
	for (unsigned i = 0; i < n; i++) {
		memcpy(p + 8 + i * esize, &e[i].base, 8);
		memcpy(p + 8 + i * esize + 8, &e[i].len, 8);
		memcpy(p + 8 + i * esize + 16, &e[i].type, 4);
	}
	return mb_tag(6, p, 8 + n * esize);
}

static size_t mb_module(uint32_t start, uint32_t end, const char *name)
{
	uint8_t p[8 + BI_NAME_MAX + 64]; /* room for a name over the limit */
	size_t n = strlen(name) + 1;

	memcpy(p, &start, 4);
	memcpy(p + 4, &end, 4);
	memcpy(p + 8, name, n);
	return mb_tag(3, p, (uint32_t)(8 + n));
}

static size_t mb_rsdp(uint32_t type, const char *sig, uint32_t len, uint8_t fill)
{
	uint8_t p[64];

	memset(p, fill, sizeof(p));
	memcpy(p, sig, 8);
	return mb_tag(type, p, len);
}

static const struct ent basic_map[] = {
	{ 0, 0x9fc00, 1 },
	{ 0x9fc00, 0x400, 2 },
	{ 0xf0000, 0x10000, 2 },
	{ 0x100000, 0x7ff00000, 1 },
	{ 0xfec00000, 0x1000, 2 },
	{ 0x100000000ULL, 0x40000000, 1 },
	{ 0x7fe0000, 0x20000, 3 },
	{ 0x200000000ULL, 0, 1 }, /* empty: no effect on ram_top */
};

/* Build header, @build and end tag: must be refused with @word in the message. */
#define REJECTS(build, word)      \
	do {                       \
		mb_begin();        \
		build;             \
		mb_finish();       \
		T(rejects(word));  \
	} while (0)

/* The common start: header and a 4-entry memory map. */
static void mb_begin_mmap(void)
{
	mb_begin();
	mb_mmap(basic_map, 4, 24);
}

static void mb_finish(void)
{
	mb_tag(0, NULL, 0);
	put32(0, (uint32_t)mb_len);
}

/* Parse an exact heap copy of the first @avail bytes at @pa. */
static int parse_at(size_t avail, uint64_t pa)
{
	uint8_t *copy = malloc(avail ? avail : 1);
	int r;

	memcpy(copy, mb, avail);
	memset(err, 'Z', sizeof(err));
	r = mb2_parse(copy, pa, avail, &bi, err, sizeof(err));
	free(copy);
	return r;
}

static int parse(void)
{
	return parse_at(mb_len, MBI_PA);
}

/* Expect -EINVAL with a message containing @word. */
static int rejects(const char *word)
{
	int r = parse();

	if (r != -EINVAL || !err[0] || !strstr(err, word)) {
		printf("# got %d \"%s\", want -EINVAL with \"%s\"\n", r, err, word);
		return 0;
	}
	return 1;
}

static void test_valid(void)
{
	mb_begin();
	mb_str(1, "tests=* quiet");
	mb_str(2, "GRUB 2.12");
	mb_tag(8, "\x01\x02\x03\x04\x05", 5); /* framebuffer-ish tag: skipped */
	mb_mmap(basic_map, ARRAY_SIZE(basic_map), 24);
	mb_module(0x200000, 0x210000, "initrd.img arg=1");
	mb_module(0x300000, 0x300000, "");
	mb_rsdp(14, "RSD PTR ", 20, 0x11);
	size_t xsdp = mb_rsdp(15, "RSD PTR ", 36, 0x22);
	mb_finish();

	T(parse() == 0 && err[0] == '\0');
	T(bi.mbi_start == MBI_PA && bi.mbi_end == MBI_PA + mb_len);
	T(!strcmp(bi.cmdline, "tests=* quiet") && !strcmp(bi.loader, "GRUB 2.12"));
	T(bi.nregions == ARRAY_SIZE(basic_map));
	for (unsigned i = 0; i < bi.nregions && i < ARRAY_SIZE(basic_map); i++)
		T(bi.regions[i].base == basic_map[i].base && bi.regions[i].len == basic_map[i].len &&
		  bi.regions[i].type == basic_map[i].type);
	T(bi.ram_top == 0x140000000ULL);
	T(bi.ram_avail == 0x9fc00ULL + 0x7ff00000ULL + 0x40000000ULL);
	T(bi.nmodules == 2 && bi.modules[0].start == 0x200000 && bi.modules[0].end == 0x210000);
	T(!strcmp(bi.modules[0].name, "initrd.img arg=1"));
	T(bi.modules[1].start == 0x300000 && bi.modules[1].end == 0x300000 && !bi.modules[1].name[0]);
	/* The XSDP is preferred; rsdp points at the copy inside the info. */
	T(bi.rsdp_rev == 2 && bi.rsdp == MBI_PA + xsdp + 8);
	/* A larger avail than total_size is fine. */
	T(parse_at(mb_len + 64 <= sizeof(mb) ? mb_len + 64 : mb_len, MBI_PA) == 0);
}

static void test_rsdp_choice(void)
{
	/* New before old: still the new one. */
	mb_begin_mmap();
	size_t xsdp = mb_rsdp(15, "RSD PTR ", 36, 0);
	mb_rsdp(14, "RSD PTR ", 20, 0);
	mb_finish();
	T(parse() == 0 && bi.rsdp_rev == 2 && bi.rsdp == MBI_PA + xsdp + 8);

	/* Only the old one. */
	mb_begin();
	size_t old = mb_rsdp(14, "RSD PTR ", 20, 0);
	mb_mmap(basic_map, 4, 24);
	mb_finish();
	T(parse() == 0 && bi.rsdp_rev == 1 && bi.rsdp == MBI_PA + old + 8);

	/* None: rsdp 0. Minimal info: mmap + end only; no cmdline is fine. */
	mb_begin();
	mb_mmap(basic_map, 1, 24);
	mb_finish();
	T(parse() == 0 && bi.rsdp == 0 && bi.cmdline[0] == '\0' && bi.nmodules == 0);
	T(bi.ram_top == 0x9fc00 && bi.ram_avail == 0x9fc00);
}

static void test_mmap_wide_entries(void)
{
	/* entry_size 32: the parser steps by entry_size, not by 24. */
	mb_begin();
	mb_mmap(basic_map, 6, 32);
	mb_finish();
	T(parse() == 0 && bi.nregions == 6);
	T(bi.regions[5].base == 0x100000000ULL && bi.regions[5].len == 0x40000000);
	T(bi.regions[3].type == 1 && bi.regions[4].type == 2);
	T(bi.ram_top == 0x140000000ULL);
}

static void test_bad_header(void)
{
	mb_begin_mmap();
	mb_finish();
	T(parse_at(mb_len, MBI_PA + 4) == -EINVAL && strstr(err, "aligned"));
	T(parse_at(mb_len, MBI_PA + 1) == -EINVAL && strstr(err, "aligned"));
	T(parse_at(mb_len - 8, MBI_PA) == -EINVAL && strstr(err, "past"));
	T(parse_at(4, MBI_PA) == -EINVAL && strstr(err, "at least 8"));
	T(parse_at(0, MBI_PA) == -EINVAL && err[0]);

	put32(0, 8);
	T(rejects("too small"));
	put32(0, 15);
	T(rejects("too small"));
	put32(0, (uint32_t)mb_len + 8);
	T(rejects("past"));
	put32(0, 0xffffffffu);
	T(rejects("past"));
}

static void test_bad_tags(void)
{
	size_t t;

	/* A tag whose size is below its own header. */
	mb_begin_mmap();
	t = mb_str(1, "x");
	mb_finish();
	put32(t + 4, 4);
	T(rejects("smaller than a tag header"));
	put32(t + 4, 0);
	T(rejects("smaller than a tag header"));

	/* A tag that runs past total_size. */
	put32(t + 4, (uint32_t)(mb_len - t + 1));
	T(rejects("past end"));
	put32(t + 4, 0xfffffff0u);
	T(rejects("past end"));

	/* No end tag at all: total_size stops right after the mmap. */
	mb_begin_mmap();
	put32(0, (uint32_t)mb_len);
	T(rejects("no end tag"));

	/* total_size leaves 4 bytes: not room for another tag header. */
	mb_begin_mmap();
	put32(0, (uint32_t)mb_len + 4);
	mb_len += 4;
	T(rejects("past end"));

	/* End tag with the wrong size. */
	mb_begin_mmap();
	t = mb_tag(0, "\0\0\0\0\0\0\0\0", 8);
	put32(0, (uint32_t)mb_len);
	T(rejects("expected 8"));
}

static void test_bad_mmap(void)
{
	size_t t;

	REJECTS(mb_str(1, "quiet"), "no memory map");

	static const uint32_t bad_sizes[] = { 0, 8, 16, 20, 28, 30 };
	for (unsigned i = 0; i < ARRAY_SIZE(bad_sizes); i++) {
		mb_begin();
		t = mb_mmap(basic_map, 2, 24);
		mb_finish();
		put32(t + 8, bad_sizes[i]);
		T(rejects("entry size"));
	}

	REJECTS(mb_mmap(basic_map, 0, 24), "no entries");

	/* Room for less than one entry. */
	mb_begin();
	t = mb_mmap(basic_map, 1, 24);
	mb_finish();
	put32(t + 4, 16 + 23);
	T(rejects("no entries"));

	/* mmap tag smaller than its 16-byte header. */
	REJECTS(mb_tag(6, "\x18\0\0\0", 4), "header");

	static const struct ent wrap[] = { { 0xfffffffffffff000ULL, 0x2000, 1 } };
	REJECTS(mb_mmap(wrap, 1, 24), "wraps");

	static const struct ent none[] = { { 0, 0x100000, 2 }, { 0x100000, 0, 1 } };
	REJECTS(mb_mmap(none, 2, 24), "no available RAM");

	static struct ent many[BI_MAX_REGIONS + 1];
	for (unsigned i = 0; i < ARRAY_SIZE(many); i++)
		many[i] = (struct ent){ (uint64_t)i << 20, 1 << 20, 1 };
	mb_begin();
	mb_mmap(many, BI_MAX_REGIONS, 24);
	mb_finish();
	T(parse() == 0 && bi.nregions == BI_MAX_REGIONS);
	T(bi.ram_top == (uint64_t)BI_MAX_REGIONS << 20);
	REJECTS(mb_mmap(many, BI_MAX_REGIONS + 1, 24), "more than");

	REJECTS(mb_mmap(basic_map, 2, 24); mb_mmap(basic_map, 2, 24), "second memory map");
}

static void test_bad_modules(void)
{
	size_t t;

	REJECTS(mb_mmap(basic_map, 4, 24); mb_module(0x300000, 0x2fffff, "m"), "below start");

	mb_begin_mmap();
	t = mb_module(0x300000, 0x400000, "abcdefg"); /* 16 + 8 bytes */
	mb_finish();
	memset(mb + t + 16, 'x', 8);                  /* name without its NUL */
	T(rejects("unterminated"));

	REJECTS(mb_mmap(basic_map, 4, 24); mb_tag(3, "\0\0\x30\0\0\0\x40\0", 8), "too small"); /* no room for a name */

	char longname[BI_NAME_MAX + 36]; /* over the limit, inside the 8 KiB buffer */
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	REJECTS(mb_mmap(basic_map, 4, 24); mb_module(0x300000, 0x400000, longname), "longer than");

	mb_begin_mmap();
	for (unsigned i = 0; i < BI_MAX_MODULES; i++)
		mb_module(0x300000 + i * 0x1000, 0x301000 + i * 0x1000, "m");
	mb_finish();
	T(parse() == 0 && bi.nmodules == BI_MAX_MODULES);
	T(bi.modules[BI_MAX_MODULES - 1].start == 0x300000 + (BI_MAX_MODULES - 1) * 0x1000);
	mb_len -= 8; /* drop the end tag, add one module too many */
	mb_module(0x500000, 0x501000, "m");
	mb_finish();
	T(rejects("more than 8 modules"));
}

static void test_bad_strings(void)
{
	size_t t;

	mb_begin();
	t = mb_str(1, "abcdefg"); /* 8 + 8 bytes, exactly filled */
	mb_mmap(basic_map, 4, 24);
	mb_finish();
	mb[t + 15] = 'h';         /* drop the NUL: unterminated */
	T(rejects("unterminated"));
	put32(t + 4, 8);          /* empty payload: no NUL either */
	T(rejects("cmdline"));

	char longline[BI_CMDLINE_MAX + 10];
	memset(longline, 'c', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = '\0';
	/* Too long: not a parse error; the line is kept empty and its length recorded. */
	mb_begin();
	mb_str(1, longline);
	mb_mmap(basic_map, 4, 24);
	mb_finish();
	T(parse() == 0 && bi.cmdline[0] == '\0' && bi.cmdline_overlong == sizeof(longline) - 1);

	/* The longest cmdline that fits. */
	longline[BI_CMDLINE_MAX - 1] = '\0';
	mb_begin();
	mb_str(1, longline);
	mb_mmap(basic_map, 4, 24);
	mb_finish();
	T(parse() == 0 && strlen(bi.cmdline) == BI_CMDLINE_MAX - 1 && !bi.cmdline_overlong);

	mb_begin();
	t = mb_str(2, "GRUB 2.0");
	mb_mmap(basic_map, 4, 24);
	mb_finish();
	memset(mb + t + 8, 'L', 9); /* the 9-byte payload, NUL included */
	T(rejects("loader name"));
}

static void test_bad_rsdp(void)
{
	REJECTS(mb_mmap(basic_map, 4, 24); mb_rsdp(14, "RSD PTX ", 20, 0), "bad signature");

	REJECTS(mb_mmap(basic_map, 4, 24); mb_rsdp(15, "rsd ptr ", 36, 0), "bad signature");

	REJECTS(mb_mmap(basic_map, 4, 24); mb_rsdp(14, "RSD PTR ", 19, 0), "RSDP needs 20");

	/* An XSDP tag holding only a v1-sized RSDP. */
	REJECTS(mb_mmap(basic_map, 4, 24); mb_rsdp(15, "RSD PTR ", 20, 0), "RSDP needs 36");

	REJECTS(mb_mmap(basic_map, 4, 24); mb_tag(14, NULL, 0), "RSDP needs");
}

static void test_small_err_buffer(void)
{
	char small[12];
	uint8_t buf[16] __aligned(8) = { 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0 };

	memset(small, 'Z', sizeof(small));
	T(mb2_parse(buf, MBI_PA, sizeof(buf), &bi, small, sizeof(small)) == -EINVAL);
	T(memchr(small, '\0', sizeof(small)) != NULL && small[0] != '\0');
	T(mb2_parse(buf, MBI_PA, sizeof(buf), &bi, NULL, 0) == -EINVAL);
}

int main(void)
{
	RUN(test_valid);
	RUN(test_rsdp_choice);
	RUN(test_mmap_wide_entries);
	RUN(test_bad_header);
	RUN(test_bad_tags);
	RUN(test_bad_mmap);
	RUN(test_bad_modules);
	RUN(test_bad_strings);
	RUN(test_bad_rsdp);
	RUN(test_small_err_buffer);
	return tap_finish();
}
