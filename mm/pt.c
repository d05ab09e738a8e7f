/*
 * The generic walker. Every entry of a live table is written with
 * pte_write() and read with pte_read() into a local, never re-read (seed
 * ../shared/seeds/003_c1c4202c3c43e2ca.txt:
 * an entry can change under a lockless reader, and re-reading it could walk
 * into a huge page as if it were a table). Tables are filled before they are
 * linked in, so a concurrent walker sees either the old or the new subtree.
 */
#include "mm/pt.h"
#include "lib/lib.h"
#include "arch/x86/arch.h"

static pte_t *table_of(uint64_t pa)
{
	return phys_to_virt(pa);
}

static int alloc_table(struct pt *pt, uint64_t *pa)
{
	int r = frame_alloc(pt->fa, FRAME_ORDER_4K, pa);

	if (r)
		return r;
	memset(table_of(*pa), 0, PAGE_SIZE);
	pt->table_pages++;
	return 0;
}

static void free_table(struct pt *pt, uint64_t pa)
{
	if (pt->defer_frees) {
		/*
		 * A CPU may still hold a cached pointer to this table: keep it
		 * until pt_free_deferred() runs after the flush. The chain link
		 * goes in entry 0 and is page-aligned, so it reads as not
		 * present to any walker that still gets here.
		 */
		pte_write(&table_of(pa)[0], pt->deferred);
		pt->deferred = pa;
		return;
	}
	frame_free(pt->fa, pa, FRAME_ORDER_4K);
	pt->table_pages--;
}

uint64_t pt_deferred_take(struct pt *pt)
{
	uint64_t chain = pt->deferred;

	pt->deferred = 0;
	return chain;
}

void pt_deferred_free(struct pt *pt, uint64_t chain)
{
	while (chain) {
		uint64_t pa = chain;

		chain = pte_read(&table_of(pa)[0]);
		frame_free(pt->fa, pa, FRAME_ORDER_4K);
		pt->table_pages--;
	}
}

void pt_free_deferred(struct pt *pt)
{
	pt_deferred_free(pt, pt_deferred_take(pt));
}

static bool is_leaf(const struct pt *pt, pte_t e, int level)
{
	return level == PT_LEVEL_4K || pt_huge(pt->fmt, e);
}

int pt_init(struct pt *pt, const struct pt_fmt *fmt, struct frame_alloc *fa,
	    unsigned leaf_levels)
{
	pt->fmt = fmt;
	pt->fa = fa;
	pt->table_pages = 0;
	pt->defer_frees = false;
	pt->deferred = 0;
	pt->leaf_levels = (leaf_levels | (1u << PT_LEVEL_4K)) &
			  ((1u << PT_LEVEL_4K) | (1u << PT_LEVEL_2M) | (1u << PT_LEVEL_1G));
	return alloc_table(pt, &pt->root);
}

static void free_subtree(struct pt *pt, uint64_t table, int level)
{
	pte_t *t = table_of(table);

	for (int i = 0; level > PT_LEVEL_4K && i < PT_ENTRIES; i++) {
		pte_t e = pte_read(&t[i]);
		if (pt_present(pt->fmt, e) && !is_leaf(pt, e, level))
			free_subtree(pt, pt_addr(pt->fmt, e, level), level - 1);
	}
	free_table(pt, table);
}

void pt_destroy(struct pt *pt)
{
	if (pt->root)
		free_subtree(pt, pt->root, PT_LEVELS);
	pt->root = 0;
	pt_free_deferred(pt); /* the caller flushed: nothing may be cached any more */
}

static bool table_empty(const struct pt *pt, uint64_t table)
{
	const pte_t *t = table_of(table);

	for (int i = 0; i < PT_ENTRIES; i++)
		if (pt_present(pt->fmt, pte_read(&t[i])))
			return false;
	return true;
}

/*
 * Pointer to the entry for @va at @level, allocating tables on the way when
 * @alloc. Returns NULL with *err set: -ENOENT (not present, !alloc),
 * -EEXIST (a huge leaf above @level covers va), -ENOMEM.
 */
static pte_t *entry_at(struct pt *pt, uint64_t va, int level, bool alloc, int *err)
{
	uint64_t table = pt->root;

	for (int l = PT_LEVELS; l > level; l--) {
		pte_t *slot = &table_of(table)[pt_index(va, l)];
		pte_t e = pte_read(slot);

		if (!pt_present(pt->fmt, e)) {
			uint64_t next;

			if (!alloc) {
				*err = -ENOENT;
				return NULL;
			}
			*err = alloc_table(pt, &next);
			if (*err)
				return NULL;
			pte_write(slot, pt->fmt->mk_table(next));
			table = next;
			continue;
		}
		if (is_leaf(pt, e, l)) {
			*err = -EEXIST;
			return NULL;
		}
		table = pt_addr(pt->fmt, e, l);
	}
	return &table_of(table)[pt_index(va, level)];
}

static bool range_ok(uint64_t va, uint64_t size, uint64_t align)
{
	return size && IS_ALIGNED(va, align) && IS_ALIGNED(size, align) &&
	       va + size > va && va + size <= (1ULL << PT_VA_BITS);
}

int pt_map(struct pt *pt, uint64_t va, uint64_t pa, uint64_t size, unsigned prot, int level)
{
	uint64_t sz = level >= PT_LEVEL_4K && level <= PT_LEVEL_1G ? pt_level_size(level) : 0;

	if (!sz || !(pt->leaf_levels & (1u << level)) || !range_ok(va, size, sz) ||
	    !IS_ALIGNED(pa, sz))
		return -EINVAL;
	/*
	 * Check the whole range first so a refusal changes nothing. One leaf
	 * needs no check: the loop below refuses it before it writes anything
	 * (a table it built on the way is empty, so its slot is free), and
	 * a fault installs one leaf at a time: one walk, not two (issue 22).
	 */
	for (uint64_t off = 0; size > sz && off < size; off += sz) {
		struct pt_walk w;

		if (pt_lookup(pt, va + off, &w) == 0)
			return -EEXIST;
	}
	for (uint64_t off = 0; off < size; off += sz) {
		int err;
		pte_t *slot = entry_at(pt, va + off, level, true, &err);

		if (!slot || pt_present(pt->fmt, pte_read(slot))) {
			/*
			 * Roll back what this call mapped; tables it built go too,
			 * also the empty ones built for this chunk before -ENOMEM
			 * (nothing was mapped under them: their parent was absent).
			 */
			uint64_t undo = off + (!slot && err == -ENOMEM ? sz : 0);

			if (undo)
				pt_unmap(pt, va, undo);
			return slot ? -EEXIST : err;
		}
		pte_write(slot, pt->fmt->mk_leaf(pa + off, level, prot));
	}
	return 0;
}

/*
 * entry_at(alloc = false) would find the same slot, but out of line with
 * its allocating branch it cost the fault's round trip 58 instructions on
 * Bochs (753 against 695): this walk is written out for the hot path.
 */
int pt_map_4k(struct pt *pt, uint64_t va, uint64_t pa, unsigned prot)
{
	const struct pt_fmt *fmt = pt->fmt;
	uint64_t table = pt->root;

	for (int l = PT_LEVELS; l > PT_LEVEL_4K; l--) {
		pte_t e = pte_read(&table_of(table)[pt_index(va, l)]);

		if (!pt_present(fmt, e) || pt_huge(fmt, e))
			return -EAGAIN;
		table = pt_addr(fmt, e, l);
	}
	pte_t *slot = &table_of(table)[pt_index(va, PT_LEVEL_4K)];

	if (pt_present(fmt, pte_read(slot)))
		return -EEXIST;
	pte_write(slot, fmt->mk_leaf(pa, PT_LEVEL_4K, prot));
	return 0;
}

int pt_map_best(struct pt *pt, uint64_t va, uint64_t pa, uint64_t size, unsigned prot)
{
	if (!range_ok(va, size, PAGE_SIZE) || !IS_ALIGNED(pa, PAGE_SIZE))
		return -EINVAL;
	for (uint64_t off = 0; off < size;) {
		int level = PT_LEVEL_1G;

		while (level > PT_LEVEL_4K &&
		       (!(pt->leaf_levels & (1u << level)) ||
			!IS_ALIGNED(va + off, pt_level_size(level)) ||
			!IS_ALIGNED(pa + off, pt_level_size(level)) ||
			size - off < pt_level_size(level)))
			level--;
		int r = pt_map(pt, va + off, pa + off, pt_level_size(level), prot, level);
		if (r) {
			if (off)
				pt_unmap(pt, va, off);
			return r;
		}
		off += pt_level_size(level);
	}
	return 0;
}

/* Replace the huge leaf in *slot (at @level) by a table of 512 smaller leaves. */
static int split_entry(struct pt *pt, pte_t *slot, int level)
{
	pte_t e = pte_read(slot);
	uint64_t table, base = pt_addr(pt->fmt, e, level), sub = pt_level_size(level - 1);
	unsigned prot = pt->fmt->prot(e);
	int r = alloc_table(pt, &table);

	if (r)
		return r;
	pte_t *t = table_of(table);
	for (int i = 0; i < PT_ENTRIES; i++)
		t[i] = pt->fmt->mk_leaf(base + (uint64_t)i * sub, level - 1, prot);
	pte_write(slot, pt->fmt->mk_table(table));
	return 0;
}

int pt_split(struct pt *pt, uint64_t va, int level)
{
	int err;

	if (level < PT_LEVEL_2M || level > PT_LEVEL_1G)
		return -EINVAL;
	pte_t *slot = entry_at(pt, va, level, false, &err);
	if (!slot)
		return err == -EEXIST ? -EINVAL : err;
	pte_t e = pte_read(slot);
	if (!pt_present(pt->fmt, e))
		return -ENOENT;
	if (!pt_huge(pt->fmt, e))
		return -EINVAL; /* already a table */
	if (!(pt->leaf_levels & (1u << (level - 1))))
		return -EINVAL;
	return split_entry(pt, slot, level);
}

enum range_op { OP_UNMAP, OP_PROTECT };

/*
 * Apply @op to [start, end) inside the table at @table (level @level, whose
 * first entry maps @base). Returns the number of leaves changed or -errno.
 */
static long walk_range(struct pt *pt, uint64_t table, int level, uint64_t base, uint64_t start,
		       uint64_t end, enum range_op op, unsigned prot)
{
	uint64_t sz = pt_level_size(level);
	pte_t *t = table_of(table);
	long count = 0;

	for (unsigned i = pt_index(start, level); i < PT_ENTRIES; i++) {
		uint64_t eb = base + (uint64_t)i * sz, ee = eb + sz;

		if (eb >= end)
			break;
		pte_t e = pte_read(&t[i]);
		if (!pt_present(pt->fmt, e))
			continue;
		bool covered = eb >= start && ee <= end;

		if (is_leaf(pt, e, level)) {
			if (covered) {
				if (op == OP_UNMAP)
					pte_write(&t[i], 0);
				else
					pte_write(&t[i], pt->fmt->mk_leaf(pt_addr(pt->fmt, e, level),
									   level, prot));
				count++;
				continue;
			}
			/* A huge leaf straddles an edge of the range: split it first. */
			int r = split_entry(pt, &t[i], level);
			if (r)
				return r;
			e = pte_read(&t[i]);
		}
		uint64_t child = pt_addr(pt->fmt, e, level);
		if (covered && op == OP_UNMAP) {
			long n = walk_range(pt, child, level - 1, eb, eb, ee, op, prot);
			if (n < 0)
				return n;
			pte_write(&t[i], 0);
			free_subtree(pt, child, level - 1);
			count += n;
			continue;
		}
		long n = walk_range(pt, child, level - 1, eb, MAX(start, eb), MIN(end, ee), op,
				    prot);
		if (n < 0)
			return n;
		count += n;
		if (op == OP_UNMAP && table_empty(pt, child)) {
			pte_write(&t[i], 0);
			free_table(pt, child);
		}
	}
	return count;
}

long pt_unmap(struct pt *pt, uint64_t va, uint64_t size)
{
	if (!range_ok(va, size, PAGE_SIZE))
		return -EINVAL;
	return walk_range(pt, pt->root, PT_LEVELS, 0, va, va + size, OP_UNMAP, 0);
}

long pt_protect(struct pt *pt, uint64_t va, uint64_t size, unsigned prot)
{
	if (!range_ok(va, size, PAGE_SIZE))
		return -EINVAL;
	return walk_range(pt, pt->root, PT_LEVELS, 0, va, va + size, OP_PROTECT, prot);
}

int pt_lookup(const struct pt *pt, uint64_t va, struct pt_walk *w)
{
	uint64_t table = pt->root;

	memset(w, 0, sizeof(*w));
	for (int l = PT_LEVELS; l >= PT_LEVEL_4K; l--) {
		pte_t e = pte_read(&table_of(table)[pt_index(va, l)]);

		w->entries[l] = e;
		w->depth = l;
		if (!pt_present(pt->fmt, e))
			return -ENOENT;
		if (is_leaf(pt, e, l)) {
			w->level = l;
			w->pa = pt_addr(pt->fmt, e, l) + (va & (pt_level_size(l) - 1));
			w->prot = pt->fmt->prot(e);
			return 0;
		}
		table = pt_addr(pt->fmt, e, l);
	}
	BUG_ON(1); /* level 1 entries are always leaves */
}

int pt_lookup_leaf(const struct pt *pt, uint64_t va, struct pt_walk *w)
{
	const struct pt_fmt *fmt = pt->fmt;
	uint64_t table = pt->root;

	for (int l = PT_LEVELS; l >= PT_LEVEL_4K; l--) {
		pte_t e = pte_read(&table_of(table)[pt_index(va, l)]);

		if (!pt_present(fmt, e)) {
			w->level = 0;
			return -ENOENT;
		}
		if (l == PT_LEVEL_4K || pt_huge(fmt, e)) {
			w->level = l;
			w->pa = pt_addr(fmt, e, l) + (va & (pt_level_size(l) - 1));
			w->prot = fmt->prot(e);
			return 0;
		}
		table = pt_addr(fmt, e, l);
	}
	BUG_ON(1); /* level 1 entries are always leaves */
}

int pt_mapping_level(const struct pt *pt, uint64_t va)
{
	struct pt_walk w;

	return pt_lookup(pt, va, &w) ? 0 : w.level;
}

pte_t *pt_find_leaf(const struct pt *pt, uint64_t va, int *level)
{
	uint64_t table = pt->root;

	for (int l = PT_LEVELS; l >= PT_LEVEL_4K; l--) {
		pte_t *slot = &table_of(table)[pt_index(va, l)];
		pte_t e = pte_read(slot);

		if (!pt_present(pt->fmt, e))
			return NULL;
		if (is_leaf(pt, e, l)) {
			*level = l;
			return slot;
		}
		table = pt_addr(pt->fmt, e, l);
	}
	return NULL;
}

struct leaf_iter {
	struct pt *pt;
	uint64_t start, end;
	bool (*fn)(void *ctx, uint64_t leaf_va, int level, pte_t *entry);
	void *ctx;
	bool stop;
};

static void iter_table(struct leaf_iter *it, uint64_t table, int level, uint64_t base)
{
	uint64_t sz = pt_level_size(level);
	pte_t *t = table_of(table);

	for (unsigned i = pt_index(MAX(it->start, base), level); i < PT_ENTRIES && !it->stop; i++) {
		uint64_t eb = base + (uint64_t)i * sz;

		if (eb >= it->end)
			break;
		pte_t e = pte_read(&t[i]);
		if (!pt_present(it->pt->fmt, e))
			continue;
		if (is_leaf(it->pt, e, level)) {
			if (!it->fn(it->ctx, eb, level, &t[i]))
				it->stop = true;
			continue;
		}
		iter_table(it, pt_addr(it->pt->fmt, e, level), level - 1, eb);
	}
}

void pt_for_each_leaf(struct pt *pt, uint64_t va, uint64_t size,
		      bool (*fn)(void *ctx, uint64_t leaf_va, int level, pte_t *entry), void *ctx)
{
	struct leaf_iter it = { pt, va, va + size, fn, ctx, false };

	if (size && va + size > va)
		iter_table(&it, pt->root, PT_LEVELS, 0);
}

struct zap_ctx {
	const struct pt *pt;
	unsigned keep_prot;
	long zapped;
};

static bool zap_one(void *ctx, uint64_t leaf_va, int level, pte_t *entry)
{
	struct zap_ctx *z = ctx;
	pte_t e = pte_read(entry);

	(void)leaf_va, (void)level;
	if (z->keep_prot && !(z->pt->fmt->prot(e) & ~z->keep_prot))
		return true; /* nothing the new protection takes away */
	/*
	 * An exchange, not a store: a CPU running the guest sets accessed and
	 * dirty bits in EPT leaves with a locked read-modify-write (SDM 3C
	 * 29.3.5), and a plain store could land between its read and its
	 * write. Whatever it set goes with the entry; nothing resurrects it.
	 */
	__atomic_exchange_n(entry, 0, __ATOMIC_ACQ_REL);
	z->zapped++;
	return true;
}

long pt_zap(struct pt *pt, uint64_t va, uint64_t size, unsigned keep_prot)
{
	struct zap_ctx z = { pt, keep_prot, 0 };

	pt_for_each_leaf(pt, va, size, zap_one, &z);
	return z.zapped;
}
