/*
 * Host unit tests for virt/insn.c. The byte strings are GNU as's encodings
 * (objdump -d) or, where as has no spelling (MOV CR with mod != 11, REX
 * before a legacy prefix, prefix runs), hand-assembled from the SDM's
 * tables. Every instruction is decoded from a buffer of exactly its length,
 * so ASan catches a read past its last byte, and again from every shorter
 * buffer, which must give -EINVAL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "virt/insn.h"
#include "lib/kerrno.h"
#include "tests/host/hostshim.h"

#define BYTES(...) .b = { __VA_ARGS__ }, .n = sizeof((uint8_t[]){ __VA_ARGS__ })
#define D32 0x78, 0x56, 0x34, 0x12 /* disp32 0x12345678 */

/* The expected struct insn of each kind. */
#define CR(k, l, c, g) { .kind = k, .len = l, .cr = c, .gpr = g }
#define PLAIN(k, l) { .kind = k, .len = l, .gpr = -1 }
#define LMSW_REG(l, g) { .kind = INSN_LMSW, .len = l, .gpr = g }
#define LMSW_MEM(l) { .kind = INSN_LMSW, .len = l, .gpr = -1, .mem = true }
#define ST(l, g, s) { .kind = INSN_STORE, .len = l, .gpr = g, .size = s }
#define ST_HI(l, g) { .kind = INSN_STORE, .len = l, .gpr = g, .high8 = true, .size = 1 }
#define ST_IMM(l, s, v) { .kind = INSN_STORE, .len = l, .gpr = -1, .size = s, .imm = v }
#define LD(l, g, s) { .kind = INSN_LOAD, .len = l, .gpr = g, .size = s }
#define LD_HI(l, g) { .kind = INSN_LOAD, .len = l, .gpr = g, .high8 = true, .size = 1 }
#define OTHER(l) { .kind = INSN_OTHER, .len = l, .gpr = -1 }
#define BAD { .kind = INSN_OTHER, .gpr = -1 }

struct tcase {
	const char *name;
	uint8_t b[20];
	size_t n;
	int rc;
	struct insn want;
};

static const struct tcase cases[] = {
	/* MOV CR, both directions, CR0/CR3/CR4/CR8, r8-r15 through REX.R/REX.B. */
	{ "mov_cr0_rax", BYTES(0x0f, 0x20, 0xc0), 0, CR(INSN_MOV_FROM_CR, 3, 0, 0) },
	{ "mov_rax_cr0", BYTES(0x0f, 0x22, 0xc0), 0, CR(INSN_MOV_TO_CR, 3, 0, 0) },
	{ "mov_cr0_r10", BYTES(0x41, 0x0f, 0x20, 0xc2), 0, CR(INSN_MOV_FROM_CR, 4, 0, 10) },
	{ "mov_r8_cr3", BYTES(0x41, 0x0f, 0x22, 0xd8), 0, CR(INSN_MOV_TO_CR, 4, 3, 8) },
	{ "mov_cr3_r15", BYTES(0x41, 0x0f, 0x20, 0xdf), 0, CR(INSN_MOV_FROM_CR, 4, 3, 15) },
	{ "mov_rdi_cr3", BYTES(0x0f, 0x22, 0xdf), 0, CR(INSN_MOV_TO_CR, 3, 3, 7) },
	{ "mov_r12_cr4", BYTES(0x41, 0x0f, 0x22, 0xe4), 0, CR(INSN_MOV_TO_CR, 4, 4, 12) },
	{ "mov_cr4_r9", BYTES(0x41, 0x0f, 0x20, 0xe1), 0, CR(INSN_MOV_FROM_CR, 4, 4, 9) },
	{ "mov_rax_cr8", BYTES(0x44, 0x0f, 0x22, 0xc0), 0, CR(INSN_MOV_TO_CR, 4, 8, 0) },
	{ "mov_cr8_r11", BYTES(0x45, 0x0f, 0x20, 0xc3), 0, CR(INSN_MOV_FROM_CR, 4, 8, 11) },
	{ "mov_r13_cr8", BYTES(0x45, 0x0f, 0x22, 0xc5), 0, CR(INSN_MOV_TO_CR, 4, 8, 13) },
	/* mod is ignored: 00/01/10 still name a register and take no SIB or displacement. */
	{ "mov_cr_mod00", BYTES(0x0f, 0x22, 0x18), 0, CR(INSN_MOV_TO_CR, 3, 3, 0) },
	{ "mov_cr_mod00_rm100", BYTES(0x0f, 0x20, 0x1c), 0, CR(INSN_MOV_FROM_CR, 3, 3, 4) },
	{ "mov_cr_mod10_rm101", BYTES(0x0f, 0x22, 0x9d), 0, CR(INSN_MOV_TO_CR, 3, 3, 5) },
	{ "mov_cr_66_ignored", BYTES(0x66, 0x0f, 0x22, 0xe0), 0, CR(INSN_MOV_TO_CR, 4, 4, 0) },
	{ "mov_cr_rex_w", BYTES(0x4d, 0x0f, 0x20, 0xc7), 0, CR(INSN_MOV_FROM_CR, 4, 8, 15) },
	{ "lock_mov_cr0", BYTES(0xf0, 0x0f, 0x22, 0xc0), -EOPNOTSUPP, OTHER(4) },

	{ "clts", BYTES(0x0f, 0x06), 0, PLAIN(INSN_CLTS, 2) },
	{ "clts_seg", BYTES(0x2e, 0x0f, 0x06), 0, PLAIN(INSN_CLTS, 3) },

	{ "lmsw_ax", BYTES(0x0f, 0x01, 0xf0), 0, LMSW_REG(3, 0) },
	{ "lmsw_r9w", BYTES(0x41, 0x0f, 0x01, 0xf1), 0, LMSW_REG(4, 9) },
	{ "lmsw_rax_mem", BYTES(0x0f, 0x01, 0x30), 0, LMSW_MEM(3) },
	{ "lmsw_disp8_rbp", BYTES(0x0f, 0x01, 0x75, 0x10), 0, LMSW_MEM(4) },
	{ "lmsw_rip", BYTES(0x0f, 0x01, 0x35, D32), 0, LMSW_MEM(7) },

	{ "invlpg_rax", BYTES(0x0f, 0x01, 0x38), 0, PLAIN(INSN_INVLPG, 3) },
	{ "invlpg_disp8_rbp", BYTES(0x0f, 0x01, 0x7d, 0x10), 0, PLAIN(INSN_INVLPG, 4) },
	{ "invlpg_sib_disp32", BYTES(0x0f, 0x01, 0xbc, 0xcc, D32), 0, PLAIN(INSN_INVLPG, 8) },
	{ "invlpg_rip", BYTES(0x0f, 0x01, 0x3d, D32), 0, PLAIN(INSN_INVLPG, 7) },
	{ "invlpg_addr32_eax", BYTES(0x67, 0x0f, 0x01, 0x38), 0, PLAIN(INSN_INVLPG, 4) },
	{ "invlpg_addr32_sib", BYTES(0x67, 0x0f, 0x01, 0xbc, 0xcc, D32), 0, PLAIN(INSN_INVLPG, 9) },
	{ "invlpg_r13", BYTES(0x41, 0x0f, 0x01, 0x7d, 0x00), 0, PLAIN(INSN_INVLPG, 5) },
	{ "invlpg_r12", BYTES(0x41, 0x0f, 0x01, 0x3c, 0x24), 0, PLAIN(INSN_INVLPG, 5) },
	{ "invlpg_abs", BYTES(0x0f, 0x01, 0x3c, 0x25, 0x00, 0x10, 0x00, 0x00), 0, PLAIN(INSN_INVLPG, 8) },
	{ "invlpg_gs", BYTES(0x65, 0x0f, 0x01, 0x38), 0, PLAIN(INSN_INVLPG, 4) },

	/* 0F 01 forms that are none of ours: length known, not decoded. */
	{ "swapgs", BYTES(0x0f, 0x01, 0xf8), -EOPNOTSUPP, OTHER(3) },
	{ "rdtscp", BYTES(0x0f, 0x01, 0xf9), -EOPNOTSUPP, OTHER(3) },
	{ "vmcall", BYTES(0x0f, 0x01, 0xc1), -EOPNOTSUPP, OTHER(3) },
	{ "sgdt_rax", BYTES(0x0f, 0x01, 0x00), -EOPNOTSUPP, OTHER(3) },
	{ "sidt_sib_disp32", BYTES(0x0f, 0x01, 0x8c, 0xcc, D32), -EOPNOTSUPP, OTHER(8) },

	/* Stores through (%rbx) from each kind of source. */
	{ "mov_rax_mem", BYTES(0x48, 0x89, 0x03), 0, ST(3, 0, 8) },
	{ "mov_eax_mem", BYTES(0x89, 0x03), 0, ST(2, 0, 4) },
	{ "mov_ax_mem", BYTES(0x66, 0x89, 0x03), 0, ST(3, 0, 2) },
	{ "mov_al_mem", BYTES(0x88, 0x03), 0, ST(2, 0, 1) },
	{ "mov_ah_mem", BYTES(0x88, 0x23), 0, ST_HI(2, 0) },
	{ "mov_bh_mem", BYTES(0x88, 0x3b), 0, ST_HI(2, 3) },
	{ "mov_spl_mem", BYTES(0x40, 0x88, 0x23), 0, ST(3, 4, 1) },
	{ "mov_r12b_mem", BYTES(0x44, 0x88, 0x23), 0, ST(3, 12, 1) },
	{ "mov_r9_mem", BYTES(0x4c, 0x89, 0x0b), 0, ST(3, 9, 8) },
	{ "mov_r9_sib_rex_xb", BYTES(0x4f, 0x89, 0x8c, 0x7c, D32), 0, ST(8, 9, 8) },
	{ "mov_r9d_r13", BYTES(0x45, 0x89, 0x4d, 0x00), 0, ST(4, 9, 4) },
	{ "mov_dil_rsi", BYTES(0x40, 0x88, 0x3e), 0, ST(3, 7, 1) },
	{ "movq_imm_minus1", BYTES(0x48, 0xc7, 0x03, 0xff, 0xff, 0xff, 0xff), 0, ST_IMM(7, 8, ~0ULL) },
	{ "movq_imm_max", BYTES(0x48, 0xc7, 0x45, 0x10, 0xff, 0xff, 0xff, 0x7f), 0,
	  ST_IMM(8, 8, 0x7fffffff) },
	{ "movl_imm", BYTES(0xc7, 0x03, 0xef, 0xcd, 0xab, 0x89), 0, ST_IMM(6, 4, 0xffffffff89abcdefULL) },
	{ "movw_imm", BYTES(0x66, 0xc7, 0x03, 0x01, 0x80), 0, ST_IMM(5, 2, 0xffffffffffff8001ULL) },
	{ "movb_imm", BYTES(0xc6, 0x03, 0x80), 0, ST_IMM(3, 1, 0xffffffffffffff80ULL) },
	{ "movb_imm_sib_nobase", BYTES(0xc6, 0x04, 0x85, 0x10, 0, 0, 0, 0x01), 0, ST_IMM(8, 1, 1) },
	/* REX.W beats 66: size 8, imm32. */
	{ "movq_imm_66_rexw", BYTES(0x66, 0x48, 0xc7, 0x03, 0x00, 0x00, 0x00, 0x80), 0,
	  ST_IMM(8, 8, 0xffffffff80000000ULL) },
	/* REX.W on a byte store changes nothing but the REX-ness. */
	{ "movb_rexw_sil", BYTES(0x48, 0x88, 0x33), 0, ST(3, 6, 1) },
	/* A REX followed by a legacy prefix is ignored: %ah, %ax. */
	{ "rex_then_seg_ah", BYTES(0x44, 0x2e, 0x88, 0x23), 0, ST_HI(4, 0) },
	{ "rexw_then_66_ax", BYTES(0x48, 0x66, 0x89, 0x03), 0, ST(4, 0, 2) },
	/* Of two REX prefixes the last counts. */
	{ "two_rex", BYTES(0x48, 0x41, 0x89, 0x03), 0, ST(4, 0, 4) },

	/* Segment, REP (XRELEASE) and address-size prefixes. */
	{ "mov_rax_fs_abs", BYTES(0x64, 0x48, 0x89, 0x04, 0x25, 0x28, 0, 0, 0), 0, ST(9, 0, 8) },
	{ "mov_rax_gs_rbx", BYTES(0x65, 0x48, 0x89, 0x03), 0, ST(4, 0, 8) },
	{ "mov_eax_es_rdi", BYTES(0x26, 0x89, 0x07), 0, ST(3, 0, 4) },
	{ "xrelease_mov", BYTES(0xf3, 0x89, 0x03), 0, ST(3, 0, 4) },
	{ "all_segs_addr32", BYTES(0x2e, 0x36, 0x3e, 0x26, 0x64, 0x65, 0x67, 0x4c, 0x89, 0x0b), 0,
	  ST(10, 9, 8) },
	/* 14 prefixes: the 15-byte maximum. */
	{ "fifteen_bytes", BYTES(0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e,
				 0x2e, 0x2e, 0x88, 0x03), 0, ST(15, 0, 1) },
	/* LOCK MOV is #UD. */
	{ "lock_mov_mem", BYTES(0xf0, 0x48, 0x89, 0x03), -EOPNOTSUPP, OTHER(4) },
	{ "lock_seg_movb_imm", BYTES(0x64, 0xf0, 0xc6, 0x03, 0x01), -EOPNOTSUPP, OTHER(5) },

	/* Register destinations: not stores, but the length is known. */
	{ "mov_rax_rbx", BYTES(0x48, 0x89, 0xc3), -EOPNOTSUPP, OTHER(3) },
	{ "mov_al_bl", BYTES(0x88, 0xc3), -EOPNOTSUPP, OTHER(2) },
	{ "movl_imm_eax_c7", BYTES(0xc7, 0xc0, 0x05, 0, 0, 0), -EOPNOTSUPP, OTHER(6) },
	{ "movw_imm_ax_c7", BYTES(0x66, 0xc7, 0xc0, 0x05, 0), -EOPNOTSUPP, OTHER(5) },
	{ "movb_imm_al_c6", BYTES(0xc6, 0xc0, 0x05), -EOPNOTSUPP, OTHER(3) },
	/* C6/C7 /1-/7 (XABORT, XBEGIN, #UD), other opcodes: length unknown. */
	{ "xabort", BYTES(0xc6, 0xf8, 0x01), -EOPNOTSUPP, OTHER(0) },
	{ "c7_reg1_mem", BYTES(0xc7, 0x0b, 0, 0, 0, 0), -EOPNOTSUPP, OTHER(0) },
	{ "mov_eax_imm_b8", BYTES(0xb8, 0x05, 0, 0, 0), -EOPNOTSUPP, OTHER(0) },
	{ "load_8b", BYTES(0x48, 0x8b, 0x03), 0, LD(3, 0, 8) },
	{ "load_8b_32_disp32", BYTES(0x8b, 0x80, 0x20, 0, 0xe0, 0xfe), 0, LD(6, 0, 4) },
	{ "load_8a_ah", BYTES(0x8a, 0x23), 0, LD_HI(2, 0) },
	{ "load_8b_r9w", BYTES(0x66, 0x44, 0x8b, 0x0b), 0, LD(4, 9, 2) },
	{ "load_8b_reg", BYTES(0x8b, 0xc3), -EOPNOTSUPP, OTHER(2) },
	{ "load_a1_moffs64", BYTES(0xa1, 0x20, 0, 0xe0, 0xfe, 0, 0, 0, 0), 0, LD(9, 0, 4) },
	{ "store_a3_moffs64_rexw", BYTES(0x48, 0xa3, 0x20, 0, 0xe0, 0xfe, 0, 0, 0, 0), 0,
	  ST(10, 0, 8) },
	{ "load_a0_moffs32", BYTES(0x67, 0xa0, 0x20, 0, 0xe0, 0xfe), 0, LD(6, 0, 1) },
	{ "load_a1_short", BYTES(0xa1, 0x20, 0, 0xe0, 0xfe, 0, 0, 0), -EINVAL, BAD },
	{ "cpuid", BYTES(0x0f, 0xa2), -EOPNOTSUPP, OTHER(0) },

	/* Malformed. */
	{ "empty", .n = 0, .rc = -EINVAL, .want = BAD },
	{ "prefixes_only", BYTES(0x66, 0x2e, 0x48), -EINVAL, BAD },
	{ "sixteen_prefixes", BYTES(0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e,
				    0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x88, 0x03), -EINVAL, BAD },
	{ "fifteen_prefixes", BYTES(0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e,
				    0x2e, 0x2e, 0x2e, 0x2e, 0x0f, 0x06), -EINVAL, BAD },
	/* 14 prefixes + a 2-byte store: 16 bytes. */
	{ "sixteen_bytes", BYTES(0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e,
				 0x2e, 0x2e, 0x2e, 0x88, 0x03), -EINVAL, BAD },
	/* 7 prefixes + REX + C7 with SIB, disp32 and imm32: 16 bytes. */
	{ "sixteen_bytes_imm", BYTES(0x2e, 0x36, 0x3e, 0x26, 0x64, 0x65, 0x67, 0x48, 0xc7, 0x84,
				     0xcc, D32, 0x01), -EINVAL, BAD },
};

static bool insn_eq(const struct insn *a, const struct insn *b)
{
	return a->kind == b->kind && a->len == b->len && a->cr == b->cr && a->gpr == b->gpr &&
	       a->high8 == b->high8 && a->size == b->size && a->imm == b->imm && a->mem == b->mem;
}

static void show(const char *what, const struct insn *i)
{
	printf("# %s: kind %d len %u cr %u gpr %d high8 %d size %u imm %#llx mem %d\n", what,
	       i->kind, i->len, i->cr, i->gpr, i->high8, i->size, (unsigned long long)i->imm, i->mem);
}

/* insn_decode() on a heap copy of exactly @n bytes, so ASan sees any read past them. */
static int decode(const uint8_t *b, size_t n, struct insn *out)
{
	uint8_t *p = malloc(n ? n : 1);
	int rc;

	memcpy(p, b, n);
	rc = insn_decode(p, n, out);
	free(p);
	return rc;
}

/* Checks @c as it is, padded, and truncated; false if any check failed. */
static bool check_case(const struct tcase *c)
{
	size_t n = c->n;
	struct insn got;
	uint8_t pad[32];
	bool ok = true;
	int rc;

	rc = decode(c->b, n, &got);
	if (!T(rc == c->rc && insn_eq(&got, &c->want))) {
		ok = false;
		printf("# rc %d, want %d\n", rc, c->rc);
		show("got ", &got);
		show("want", &c->want);
	}
	/* Bytes after the instruction change nothing. */
	memset(pad, 0x90, sizeof(pad));
	memcpy(pad, c->b, n);
	rc = decode(pad, sizeof(pad), &got);
	if ((c->rc != -EINVAL || n > INSN_MAX_LEN) && !T(rc == c->rc && insn_eq(&got, &c->want))) {
		ok = false;
		printf("# padded: rc %d len %u\n", rc, got.len);
	}
	/* Every shorter buffer is a truncated instruction. */
	for (size_t k = 0; k < c->want.len; k++) {
		const struct insn bad = BAD;

		rc = decode(c->b, k, &got);
		if (!T(rc == -EINVAL && insn_eq(&got, &bad))) {
			ok = false;
			printf("# truncated to %zu: rc %d len %u\n", k, rc, got.len);
		}
	}
	return ok;
}

static void test_cases(void)
{
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		const struct tcase *c = &cases[k];

		tap_begin(c->name);
		check_case(c);
		tap_end();
	}
}


/*
 * Every store source with every addressing form and prefix set, put
 * together byte by byte: [segments] [67] [66] [REX] opcode ModRM [SIB]
 * [disp] [imm]. The form's ModRM has reg 0; the source supplies reg.
 */
struct form {
	const char *name;
	bool a32;      /* 67 */
	uint8_t rex;   /* the REX.X and REX.B it needs */
	uint8_t m[6];  /* ModRM, SIB, displacement */
	size_t n;
};

#define M(...) .m = { __VA_ARGS__ }, .n = sizeof((uint8_t[]){ __VA_ARGS__ })

static const struct form forms[] = {
	{ "(%rbx)", false, 0, M(0x03) },
	{ "(%r13)", false, 0x01, M(0x45, 0x00) }, /* mod 01 rm 101: disp8 0 */
	{ "0x10(%rbp)", false, 0, M(0x45, 0x10) },
	{ "-0x80(%rsp)", false, 0, M(0x44, 0x24, 0x80) },
	{ "0x12(%r12)", false, 0x01, M(0x44, 0x24, 0x12) },
	{ "0x12345678(%rax)", false, 0, M(0x80, D32) },
	{ "0x12345678(%rsp,%rcx,8)", false, 0, M(0x84, 0xcc, D32) },
	{ "0x12345678(%r8,%r9)", false, 0x03, M(0x84, 0x08, D32) },
	{ "(%r12,%r15,2)", false, 0x03, M(0x04, 0x7c) },
	{ "0x10(%rbp,%rsi)", false, 0, M(0x44, 0x35, 0x10) },
	{ "0x1000", false, 0, M(0x04, 0x25, 0x00, 0x10, 0x00, 0x00) },
	{ "0x10(,%rax,4)", false, 0, M(0x04, 0x85, 0x10, 0x00, 0x00, 0x00) },
	/* SIB base 101 with mod 00 is "no base, disp32" whatever REX.B says. */
	{ "0x12345678(,%rax) REX.B", false, 0x01, M(0x04, 0x05, D32) },
	{ "0x12345678(%rip)", false, 0, M(0x05, D32) },
	{ "0x12345678(%rip) REX.B", false, 0x01, M(0x05, D32) },
	{ "addr32 (%eax)", true, 0, M(0x00) },
	{ "addr32 0x12345678(%esp,%ecx,8)", true, 0, M(0x84, 0xcc, D32) },
	{ "addr32 0x12345678(%eip)", true, 0, M(0x05, D32) },
	{ "addr32 -0x80(%r13d)", true, 0x01, M(0x45, 0x80) },
};

struct src {
	const char *name;
	bool o16;     /* 66 */
	uint8_t rex;  /* REX.W and REX.R; 0x40: a REX with no bits */
	uint8_t op, reg;
	uint8_t imm[4];
	size_t nimm;
	struct insn want; /* but len */
	uint64_t value;   /* insn_store_value() with regs() */
};

#define IMM(...) .imm = { __VA_ARGS__ }, .nimm = sizeof((uint8_t[]){ __VA_ARGS__ })
#define NOIMM .nimm = 0

static const struct src srcs[] = {
	{ "%rax", false, 0x48, 0x89, 0, NOIMM, ST(0, 0, 8), 0x887766004433a050ULL },
	{ "%rsp", false, 0x48, 0x89, 4, NOIMM, ST(0, 4, 8), 0x887766044433a454ULL },
	{ "%r9", false, 0x4c, 0x89, 1, NOIMM, ST(0, 9, 8), 0x887766094433a959ULL },
	{ "%eax", false, 0, 0x89, 0, NOIMM, ST(0, 0, 4), 0x4433a050 },
	{ "%r10d", false, 0x44, 0x89, 2, NOIMM, ST(0, 10, 4), 0x4433aa5a },
	{ "%ax", true, 0, 0x89, 0, NOIMM, ST(0, 0, 2), 0xa050 },
	{ "%r15w", true, 0x44, 0x89, 7, NOIMM, ST(0, 15, 2), 0xaf5f },
	{ "%al", false, 0, 0x88, 0, NOIMM, ST(0, 0, 1), 0x50 },
	{ "%ah", false, 0, 0x88, 4, NOIMM, ST_HI(0, 0), 0xa0 },
	{ "%bh", false, 0, 0x88, 7, NOIMM, ST_HI(0, 3), 0xa3 },
	{ "%spl", false, 0x40, 0x88, 4, NOIMM, ST(0, 4, 1), 0x54 },
	{ "%r12b", false, 0x44, 0x88, 4, NOIMM, ST(0, 12, 1), 0x5c },
	{ "movq $-1", false, 0x48, 0xc7, 0, IMM(0xff, 0xff, 0xff, 0xff), ST_IMM(0, 8, ~0ULL), ~0ULL },
	{ "movq $0x7fffffff", false, 0x48, 0xc7, 0, IMM(0xff, 0xff, 0xff, 0x7f),
	  ST_IMM(0, 8, 0x7fffffff), 0x7fffffff },
	{ "movq 66 $-0x80000000", true, 0x48, 0xc7, 0, IMM(0x00, 0x00, 0x00, 0x80),
	  ST_IMM(0, 8, 0xffffffff80000000ULL), 0xffffffff80000000ULL },
	{ "movl $0x89abcdef", false, 0, 0xc7, 0, IMM(0xef, 0xcd, 0xab, 0x89),
	  ST_IMM(0, 4, 0xffffffff89abcdefULL), 0x89abcdef },
	{ "movw $0x8001", true, 0, 0xc7, 0, IMM(0x01, 0x80), ST_IMM(0, 2, 0xffffffffffff8001ULL), 0x8001 },
	{ "movw $0x7fff", true, 0, 0xc7, 0, IMM(0xff, 0x7f), ST_IMM(0, 2, 0x7fff), 0x7fff },
	{ "movb $0x80", false, 0, 0xc6, 0, IMM(0x80), ST_IMM(0, 1, 0xffffffffffffff80ULL), 0x80 },
	{ "movb $0x7f", false, 0, 0xc6, 0, IMM(0x7f), ST_IMM(0, 1, 0x7f), 0x7f },
};

static const struct { const char *name; uint8_t p[4]; size_t n; } prefix_sets[] = {
	{ "", { 0 }, 0 },
	{ "fs ", { 0x64 }, 1 },
	{ "gs ", { 0x65 }, 1 },
	{ "cs ss ds es ", { 0x2e, 0x36, 0x3e, 0x26 }, 4 },
	{ "xrelease ", { 0xf3 }, 1 },
};

/* RAX..R15: byte 0 0x50 + n, byte 1 0xa0 + n, byte 4 n. */
static void regs(uint64_t g[16])
{
	for (uint64_t k = 0; k < 16; k++)
		g[k] = 0x8877660044330000ULL | k << 32 | (0xa0 + k) << 8 | (0x50 + k);
}

static void check_store(const struct src *s, const struct form *f, const char *pset,
			const uint8_t *pp, size_t np)
{
	struct tcase c = { .name = s->name, .rc = 0, .want = s->want };
	uint8_t rex = s->rex | f->rex;
	uint64_t g[16], value = s->value;
	struct insn got;
	bool ok;

	memcpy(c.b, pp, np);
	c.n = np;
	if (f->a32)
		c.b[c.n++] = 0x67;
	if (s->o16)
		c.b[c.n++] = 0x66;
	if (rex)
		c.b[c.n++] = rex | 0x40;
	c.b[c.n++] = s->op;
	memcpy(c.b + c.n, f->m, f->n);
	c.b[c.n] |= s->reg << 3;
	c.n += f->n;
	memcpy(c.b + c.n, s->imm, s->nimm);
	c.n += s->nimm;
	c.want.len = (unsigned)c.n;
	/* A REX turns AH, CH, DH, BH into SPL, BPL, SIL, DIL. */
	if (c.want.high8 && rex) {
		c.want.high8 = false;
		c.want.gpr += 4;
		value = 0x50 + (unsigned)c.want.gpr;
	}
	/* 2.3.11: past 15 bytes, the longest prefix sets with SIB, disp32 and imm32. */
	if (c.n > INSN_MAX_LEN) {
		c.rc = -EINVAL;
		c.want = (struct insn)BAD;
	}
	regs(g);
	ok = check_case(&c);
	if (insn_decode(c.b, c.n, &got) == 0 && !T(insn_store_value(&got, g) == value)) {
		printf("# value %#llx, want %#llx\n", (unsigned long long)insn_store_value(&got, g),
		       (unsigned long long)value);
		ok = false;
	}
	if (!ok)
		printf("# in: %s%s -> %s\n", pset, s->name, f->name);
}

/* One TAP test per source. */
static void test_stores(void)
{
	char name[64];

	for (size_t k = 0; k < sizeof(srcs) / sizeof(srcs[0]); k++) {
		snprintf(name, sizeof(name), "store_forms %s", srcs[k].name);
		tap_begin(name);
		for (size_t f = 0; f < sizeof(forms) / sizeof(forms[0]); f++)
			for (size_t p = 0; p < sizeof(prefix_sets) / sizeof(prefix_sets[0]); p++)
				check_store(&srcs[k], &forms[f], prefix_sets[p].name, prefix_sets[p].p,
					    prefix_sets[p].n);
		tap_end();
	}
}

static void test_stos(void)
{
	struct insn i;
	uint64_t gprs[16] = { 0x1122334455667788ULL };
	static const struct { uint8_t b[4]; size_t n; unsigned size, len; bool rep; int rc; } t[] = {
		{ { 0xf3, 0x48, 0xab }, 3, 8, 3, true, 0 },  /* rep stosq (clear_page_rep) */
		{ { 0xf3, 0xaa }, 2, 1, 2, true, 0 },        /* rep stosb (clear_page_erms) */
		{ { 0xab }, 1, 4, 1, false, 0 },             /* stosd */
		{ { 0x66, 0xab }, 2, 2, 2, false, 0 },       /* stosw */
		{ { 0xf2, 0x48, 0xab }, 3, 8, 3, true, 0 },  /* repne: STOS repeats all the same */
		{ { 0x67, 0xf3, 0xab }, 3, 4, 3, true, -EOPNOTSUPP }, /* EDI/ECX: not emulated */
		{ { 0xf3, 0x48 }, 2, 0, 0, false, -EINVAL }, /* cut short */
	};

	for (size_t k = 0; k < sizeof(t) / sizeof(t[0]); k++) {
		int rc = insn_decode(t[k].b, t[k].n, &i);

		T(rc == t[k].rc);
		if (rc == 0)
			T(i.kind == INSN_STOS && i.size == t[k].size && i.len == t[k].len &&
			  i.rep == t[k].rep);
		if (rc == -EOPNOTSUPP)
			T(i.len == t[k].len);
	}
	i = (struct insn){ .kind = INSN_STOS, .gpr = 0, .size = 2 };
	T(insn_store_value(&i, gprs) == 0x7788); /* stosw stores AX */
}

static void test_store_value(void)
{
	const struct insn ah = ST_HI(2, 0), dh = ST_HI(2, 2), bp = ST(3, 5, 2), r15 = ST(3, 15, 8);
	const struct insn i4 = ST_IMM(6, 4, 0xffffffff89abcdefULL), i1 = ST_IMM(3, 1, ~0ULL);
	uint64_t g[16];

	regs(g);
	T(insn_store_value(&ah, g) == 0xa0);
	T(insn_store_value(&dh, g) == 0xa2);
	T(insn_store_value(&bp, g) == 0xa555);
	T(insn_store_value(&r15, g) == g[15]);
	T(insn_store_value(&i4, g) == 0x89abcdef);
	T(insn_store_value(&i1, g) == 0xff);
}

static void test_load_result(void)
{
	const struct insn ah = LD_HI(2, 0), w = LD(3, 0, 2), d = LD(2, 0, 4), q = LD(3, 0, 8);
	const struct insn b = LD(2, 0, 1);

	T(insn_load_result(&ah, 0x1122334455667788ULL, 0xab) == 0x112233445566ab88ULL);
	T(insn_load_result(&b, 0x1122334455667788ULL, 0xab) == 0x11223344556677abULL);
	T(insn_load_result(&w, 0x1122334455667788ULL, 0xabcd) == 0x112233445566abcdULL);
	T(insn_load_result(&d, 0x1122334455667788ULL, 0xfee00000) == 0xfee00000ULL);
	T(insn_load_result(&q, 1, 0x8000000000000000ULL) == 0x8000000000000000ULL);
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Bytes this decoder looks at, drawn more often than the other 240. */
static const uint8_t hot[] = { 0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x2e, 0x36, 0x3e, 0x26, 0x64, 0x65,
			       0x40, 0x41, 0x44, 0x48, 0x4c, 0x4f, 0x0f, 0x01, 0x06, 0x20, 0x22,
			       0x88, 0x89, 0x8a, 0x8b, 0xa1, 0xa3, 0xc6, 0xc7, 0x04, 0x05, 0x24, 0x25, 0x44, 0x84, 0xc0,
			       0x38, 0x30, 0x3d, 0xf8 };

/*
 * Random bytes: whatever they are, the decoder stays inside them and
 * answers consistently: a decoded instruction decodes alike from exactly
 * its own bytes and is truncated without its last one.
 */
static void test_random(void)
{
	const struct insn bad = BAD;
	unsigned decoded = 0;

	for (int it = 0; it < 200000; it++) {
		uint8_t b[16];
		size_t avail = rnd() % 17;
		struct insn got, again;
		bool ok = true;
		int rc;

		for (size_t k = 0; k < sizeof(b); k++) {
			uint64_t r = rnd();

			b[k] = r & 1 ? hot[(r >> 8) % sizeof(hot)] : (uint8_t)(r >> 8);
		}
		rc = decode(b, avail, &got);
		if (rc == -EINVAL) {
			ok &= T(insn_eq(&got, &bad));
		} else if (rc == -EOPNOTSUPP) {
			ok &= T(got.kind == INSN_OTHER && got.len <= avail && got.len <= INSN_MAX_LEN);
			if (got.len)
				ok &= T(decode(b, got.len, &again) == rc && insn_eq(&got, &again));
		} else if (T(rc == 0)) {
			decoded++;
			ok &= T(got.kind != INSN_OTHER && got.len >= (got.kind == INSN_STOS ? 1 : 2) &&
				got.len <= avail &&
				got.len <= INSN_MAX_LEN);
			ok &= T(decode(b, got.len, &again) == 0 && insn_eq(&got, &again));
			ok &= T(decode(b, got.len - 1, &again) == -EINVAL);
			ok &= T(got.gpr >= -1 && got.gpr <= 15 && got.cr <= 15);
			if (got.kind == INSN_STORE || got.kind == INSN_LOAD)
				ok &= T(got.size == 1 || got.size == 2 || got.size == 4 || got.size == 8);
		} else {
			ok = false;
		}
		if (!ok) {
			printf("# avail %zu rc %d:", avail, rc);
			for (size_t k = 0; k < avail; k++)
				printf(" %02x", b[k]);
			printf("\n");
			return;
		}
	}
	/* The generator must reach the decoder's paths, not only its refusals. */
	T(decoded > 1000);
}

int main(void)
{
	test_cases();
	test_stores();
	RUN(test_store_value);
	RUN(test_stos);
	RUN(test_load_result);
	RUN(test_random);
	return tap_finish();
}
