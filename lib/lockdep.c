/*
 * A per-CPU stack of held locks, checked on every acquisition (lib/lockdep.h).
 * Each CPU only touches its own stack, so it needs no lock of its own.
 */
#include "lib/lockdep.h"
#include "lib/bug.h"
#include "arch/x86/arch.h"

struct held {
	const void *lock;
	const struct lockdep_map *map;
	const char *site;
};

static struct {
	unsigned depth;
	struct held held[LOCKDEP_DEPTH];
} cpus[LOCKDEP_MAX_CPUS];

static const char *name_of(const struct lockdep_map *m)
{
	return m && m->name ? m->name : "(unnamed lock)";
}

void lockdep_acquire(const void *lock, const struct lockdep_map *map, const char *site)
{
	unsigned cpu = cpu_id();

	if (cpu >= LOCKDEP_MAX_CPUS)
		return;
	typeof(cpus[0]) *c = &cpus[cpu];
	for (unsigned i = 0; i < c->depth; i++) {
		const struct held *h = &c->held[i];

		if (h->lock == lock)
			panic("lock order: CPU %u takes %s at %s again; it holds it since %s", cpu,
			      name_of(map), site, h->site);
		if (map && map->rank && h->map && h->map->rank >= map->rank)
			panic("lock order: CPU %u takes %s (rank %d) at %s while holding %s "
			      "(rank %d, taken at %s)", cpu, name_of(map), map->rank, site,
			      name_of(h->map), h->map->rank, h->site);
	}
	if (c->depth == LOCKDEP_DEPTH)
		panic("lock order: CPU %u holds %u locks, taking %s at %s", cpu, c->depth,
		      name_of(map), site);
	c->held[c->depth++] = (struct held){ lock, map, site };
}

void lockdep_release(const void *lock)
{
	unsigned cpu = cpu_id();

	if (cpu >= LOCKDEP_MAX_CPUS)
		return;
	typeof(cpus[0]) *c = &cpus[cpu];
	/* Locks may be dropped out of order: remove this one wherever it sits. */
	for (unsigned i = c->depth; i-- > 0;) {
		if (c->held[i].lock == lock) {
			for (unsigned j = i; j + 1 < c->depth; j++)
				c->held[j] = c->held[j + 1];
			c->depth--;
			return;
		}
	}
	panic("lock order: CPU %u releases a lock it does not hold", cpu);
}

unsigned lockdep_depth(void)
{
	unsigned cpu = cpu_id();

	return cpu < LOCKDEP_MAX_CPUS ? cpus[cpu].depth : 0;
}
