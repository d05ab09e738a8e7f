/*
 * The 64-bit-mode instruction decoder of virt/insn.h. Section numbers are
 * the Intel SDM's, vol. 2. Only lengths and the operands the emulation
 * needs are decoded: no effective address is computed (the exit or fault
 * gives the address), so the address-size prefix matters only as a byte of
 * the length, and 32-bit addressing has the same ModRM/SIB layout (2.2.1.3).
 */
#include "virt/insn.h"
#include "lib/lib.h"

/* 2.2.1: REX is 0100WRXB. */
#define REX_B 0x01 /* extends ModRM.rm (or SIB.base) */
#define REX_R 0x04 /* extends ModRM.reg */
#define REX_W 0x08 /* 64-bit operand size */

#define PFX_OPSIZE 0x66 /* 2.1.1 group 3: 16-bit operands */
#define PFX_LOCK 0xf0   /* 2.1.1 group 1: #UD on a MOV (and so on all our kinds) */
#define PFX_REPNE 0xf2
#define PFX_REP 0xf3
#define OP_STOSB 0xaa
#define OP_STOS 0xab    /* STOSW/D/Q by operand size */

/* 2.1.2: ModRM is mod(7:6) reg(6:3) rm(2:0); SIB is scale index base alike. */
#define MODRM_MOD(m) ((m) >> 6)
#define MODRM_REG(m) (((m) >> 3) & 7)
#define MODRM_RM(m) ((m) & 7)
#define MOD_REG 3 /* mod 11: the operand is a register */
#define RM_SIB 4  /* rm 100 with mod != 11: a SIB byte follows */
#define RM_DISP32 5 /* rm 101 with mod 00: RIP-relative disp32 (2.2.1.6); SIB.base likewise: no base */

struct cursor {
	const uint8_t *b;
	size_t avail;
	unsigned pos;
};

static bool has(const struct cursor *c, unsigned n)
{
	return c->pos + n <= c->avail && c->pos + n <= INSN_MAX_LEN;
}

/* The next byte, or -EINVAL when it is not there. */
static int next(struct cursor *c, uint8_t *v)
{
	if (!has(c, 1))
		return -EINVAL;
	*v = c->b[c->pos++];
	return 0;
}

/* An @n-byte little-endian immediate, sign-extended to 64 bits. */
static int imm(struct cursor *c, unsigned n, uint64_t *v)
{
	uint64_t x = 0;

	if (!has(c, n))
		return -EINVAL;
	for (unsigned k = 0; k < n; k++)
		x |= (uint64_t)c->b[c->pos + k] << (8 * k);
	c->pos += n;
	if (n < 8 && (x >> (8 * n - 1)) & 1)
		x |= ~0ULL << (8 * n);
	*v = x;
	return 0;
}

static bool legacy_prefix(uint8_t p)
{
	switch (p) {
	case 0xf0: case 0xf2: case 0xf3:                     /* group 1: LOCK, REPNE, REP */
	case 0x2e: case 0x36: case 0x3e: case 0x26: case 0x64: case 0x65: /* group 2: segments */
	case 0x66:                                           /* group 3: operand size */
	case 0x67:                                           /* group 4: address size */
		return true;
	}
	return false;
}

/*
 * Reads the ModRM byte into @m and steps over the SIB byte and the
 * displacement that follow it (2.1.5, tables 2-2 and 2-3 at 32-bit
 * addressing, which 64-bit addressing shares).
 */
static int modrm(struct cursor *c, uint8_t *m)
{
	uint8_t sib;
	unsigned mod, disp = 0;

	if (next(c, m))
		return -EINVAL;
	mod = MODRM_MOD(*m);
	if (mod == MOD_REG)
		return 0;
	if (MODRM_RM(*m) == RM_SIB) {
		if (next(c, &sib))
			return -EINVAL;
		if (mod == 0 && MODRM_RM(sib) == RM_DISP32)
			disp = 4;
	} else if (mod == 0 && MODRM_RM(*m) == RM_DISP32) {
		disp = 4;
	}
	if (mod == 1)
		disp = 1;
	else if (mod == 2)
		disp = 4;
	if (!has(c, disp))
		return -EINVAL;
	c->pos += disp;
	return 0;
}

/* 0F 20, 0F 22, 0F 06, 0F 01 /6, 0F 01 /7. */
static int decode_0f(struct cursor *c, unsigned rex, struct insn *i)
{
	uint8_t op, m;

	if (next(c, &op))
		return -EINVAL;
	switch (op) {
	case 0x06:
		i->kind = INSN_CLTS;
		return 0;
	case 0x20:
	case 0x22:
		/* MOV CR ignores mod: always the register form, no SIB or displacement. */
		if (next(c, &m))
			return -EINVAL;
		i->kind = op == 0x22 ? INSN_MOV_TO_CR : INSN_MOV_FROM_CR;
		i->cr = MODRM_REG(m) | (rex & REX_R ? 8 : 0);
		i->gpr = (int)(MODRM_RM(m) | (rex & REX_B ? 8 : 0));
		return 0;
	case 0x01:
		if (modrm(c, &m))
			return -EINVAL;
		if (MODRM_REG(m) == 6) {
			i->kind = INSN_LMSW;
			i->mem = MODRM_MOD(m) != MOD_REG;
			if (!i->mem)
				i->gpr = (int)(MODRM_RM(m) | (rex & REX_B ? 8 : 0));
			return 0;
		}
		/* /7 with mod 11 is SWAPGS, RDTSCP, INVLPGB and others. */
		if (MODRM_REG(m) == 7 && MODRM_MOD(m) != MOD_REG) {
			i->kind = INSN_INVLPG;
			return 0;
		}
		return -EOPNOTSUPP;
	}
	c->pos = 0; /* an opcode not read here: length unknown */
	return -EOPNOTSUPP;
}

/* 88 /r, 89 /r, C6 /0 ib, C7 /0 iw/id: MOV to memory; 8A /r, 8B /r: from it. */
static int decode_store(struct cursor *c, uint8_t op, unsigned rex, bool opsize16, struct insn *i)
{
	uint8_t m;
	unsigned reg;

	if (modrm(c, &m))
		return -EINVAL;
	reg = MODRM_REG(m);
	if (op == 0x88 || op == 0x8a || op == 0xc6)
		i->size = 1;
	else
		i->size = rex & REX_W ? 8 : opsize16 ? 2 : 4; /* REX.W beats 66 (2.2.1.2) */
	if (op == 0xc6 || op == 0xc7) {
		/* C6/C7 /1-/7: XABORT, XBEGIN or #UD; XBEGIN's length is not ours to know. */
		if (reg != 0) {
			c->pos = 0;
			return -EOPNOTSUPP;
		}
		if (imm(c, i->size == 1 ? 1 : i->size == 2 ? 2 : 4, &i->imm))
			return -EINVAL;
	} else {
		i->gpr = (int)(reg | (rex & REX_R ? 8 : 0));
		/* 3.7.2.1 (vol. 1): without REX, byte registers 4-7 are AH, CH, DH, BH. */
		if ((op == 0x88 || op == 0x8a) && !rex && reg >= 4) {
			i->high8 = true;
			i->gpr -= 4;
		}
	}
	if (MODRM_MOD(m) == MOD_REG)
		return -EOPNOTSUPP; /* a register destination: not a store */
	i->kind = op == 0x8a || op == 0x8b ? INSN_LOAD : INSN_STORE;
	return 0;
}

/* A0-A3: MOV between AL/AX/EAX/RAX and a 64-bit absolute address (moffs; 4 bytes with 67). */
static int decode_moffs(struct cursor *c, uint8_t op, unsigned rex, bool opsize16, bool addr32,
			struct insn *i)
{
	unsigned n = addr32 ? 4 : 8;

	if (!has(c, n))
		return -EINVAL;
	c->pos += n;
	i->size = !(op & 1) ? 1 : rex & REX_W ? 8 : opsize16 ? 2 : 4;
	i->gpr = 0;
	i->kind = op >= 0xa2 ? INSN_STORE : INSN_LOAD;
	return 0;
}

int insn_decode(const uint8_t *b, size_t avail, struct insn *out)
{
	const struct insn none = { .kind = INSN_OTHER, .gpr = -1 };
	struct cursor c = { .b = b, .avail = avail };
	struct insn i = none;
	unsigned rex = 0;
	bool opsize16 = false, lock = false, addr32 = false, rep = false;
	uint8_t op;
	int rc;

	*out = none;
	for (;;) {
		if (next(&c, &op))
			return -EINVAL; /* also a run of 15 prefixes: no room for an opcode */
		if ((op & 0xf0) == 0x40) {
			rex = op; /* of several, the last counts */
			continue;
		}
		if (!legacy_prefix(op))
			break;
		rex = 0; /* 2.2.1: a REX not directly before the opcode is ignored */
		opsize16 |= op == PFX_OPSIZE;
		addr32 |= op == 0x67;
		lock |= op == PFX_LOCK;
		rep |= op == PFX_REP || op == PFX_REPNE;
	}

	switch (op) {
	case 0x0f:
		rc = decode_0f(&c, rex, &i);
		break;
	case 0xa0:
	case 0xa1:
	case 0xa2:
	case 0xa3:
		rc = decode_moffs(&c, op, rex, opsize16, addr32, &i);
		break;
	case 0x88:
	case 0x89:
	case 0x8a:
	case 0x8b:
	case 0xc6:
	case 0xc7:
		rc = decode_store(&c, op, rex, opsize16, &i);
		break;
	case OP_STOSB:
	case OP_STOS:
		/* ES:RDI, RAX, RCX (SDM 2B, STOS); 32-bit addressing (EDI, ECX) is not emulated. */
		i.kind = INSN_STOS;
		i.gpr = 0;
		i.rep = rep;
		i.size = op == OP_STOSB ? 1 : rex & REX_W ? 8 : opsize16 ? 2 : 4;
		rc = addr32 ? -EOPNOTSUPP : 0;
		break;
	default:
		return -EOPNOTSUPP;
	}
	if (rc == -EINVAL)
		return rc;
	/*
	 * LOCK is #UD on MOV, CLTS, LMSW and INVLPG; on MOV CR0 it is #UD too,
	 * or AMD's alternative encoding of CR8, which no 64-bit guest needs.
	 */
	if (rc == 0 && lock)
		rc = -EOPNOTSUPP;
	if (rc) {
		i = none;
		i.len = c.pos; /* 0 where unknown */
		*out = i;
		return rc;
	}
	i.len = c.pos;
	*out = i;
	return 0;
}

uint64_t insn_store_value(const struct insn *i, const uint64_t gprs[16])
{
	uint64_t v;

	if (i->gpr < 0)
		v = i->imm;
	else if (i->high8)
		v = gprs[i->gpr] >> 8;
	else
		v = gprs[i->gpr];
	return i->size >= 8 ? v : v & ((1ULL << (8 * i->size)) - 1);
}

uint64_t insn_load_result(const struct insn *i, uint64_t old, uint64_t val)
{
	if (i->size == 8)
		return val;
	if (i->size == 4)
		return (uint32_t)val;
	uint64_t mask = (1ULL << (8 * i->size)) - 1;
	unsigned shift = i->high8 ? 8 : 0;

	return (old & ~(mask << shift)) | ((val & mask) << shift);
}
