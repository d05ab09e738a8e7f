/*
 * lib/lockdep.h: ranked locks taken in order pass; out of order, twice, or
 * released without being held is a named panic (run in a child process,
 * whose stderr is read back). Owner tracking: lockdep_assert_held() asks
 * whether this CPU holds the lock.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "lib/lib.h"
#include "tests/host/hostshim.h"

extern unsigned long warn_count;

static struct spinlock mmu, gpc_l, frame;
static struct rwlock rw;

static void init_locks(void)
{
	spin_lock_init(&mmu, LOCK_RANK_MMU, "mmu_lock");
	spin_lock_init(&gpc_l, LOCK_RANK_GPC, "gpc->lock");
	spin_lock_init(&frame, LOCK_RANK_FRAME, "frame allocator");
	rwlock_init(&rw, LOCK_RANK_GPC_REFRESH, "refresh");
}

/* Run @fn in a child; true if it panicked with @want in its message. */
static bool panics_with(void (*fn)(void), const char *want)
{
	int fds[2];
	char buf[1024] = "";

	if (pipe(fds))
		return false;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fds[1], 2);
		fn();
		_exit(0);
	}
	close(fds[1]);
	size_t len = 0;
	ssize_t n;
	while (len < sizeof(buf) - 1 && (n = read(fds[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	int status;
	waitpid(pid, &status, 0);
	close(fds[0]);
	buf[len] = 0;
	if (!strstr(buf, want))
		printf("# child said: %s\n", buf);
	return WIFSIGNALED(status) && strstr(buf, want);
}

static void in_order(void)
{
	init_locks();
	read_lock(&rw);
	spin_lock(&mmu);
	spin_lock(&gpc_l);
	spin_lock(&frame);
	T(lockdep_depth() == 4);
	spin_unlock(&gpc_l); /* out-of-order release is fine */
	spin_unlock(&frame);
	spin_unlock(&mmu);
	read_unlock(&rw);
	T(lockdep_depth() == 0);
}

static void take_inverted(void)
{
	init_locks();
	spin_lock(&gpc_l);
	spin_lock(&mmu);
}

static void take_twice(void)
{
	init_locks();
	spin_lock(&frame);
	spin_lock(&frame);
}

static void release_unheld(void)
{
	init_locks();
	lockdep_release(&mmu);
}

static void violations_panic_by_name(void)
{
	T(panics_with(take_inverted, "takes mmu_lock (rank 40)"));
	T(panics_with(take_inverted, "while holding gpc->lock (rank 50"));
	T(panics_with(take_twice, "takes frame allocator at"));
	T(panics_with(release_unheld, "releases a lock it does not hold"));
}

static void *hold_other_cpu(void *arg)
{
	host_cpu_set_id(1);
	spin_lock(&mmu);
	*(bool *)arg = spin_held_here(&mmu);
	spin_unlock(&mmu);
	return NULL;
}

static void owner_is_this_cpu(void)
{
	pthread_t t;
	bool held_there = false;

	init_locks();
	spin_lock(&mmu);
	T(spin_held_here(&mmu));
	unsigned long w = warn_count;
	lockdep_assert_held(&mmu);
	T(warn_count == w);
	spin_unlock(&mmu);
	T(!spin_held_here(&mmu));
	/* Another "CPU" holds it: held, but not here. */
	pthread_create(&t, NULL, hold_other_cpu, &held_there);
	pthread_join(t, NULL);
	T(held_there);
	T(!spin_is_locked(&mmu));
}

static void irqsave_restores(void)
{
	unsigned long flags;

	init_locks();
	T(!host_irqs_disabled());
	spin_lock_irqsave(&mmu, flags);
	T(host_irqs_disabled());
	spin_unlock_irqrestore(&mmu, flags);
	T(!host_irqs_disabled());
}

int main(void)
{
	RUN(in_order);
	RUN(violations_panic_by_name);
	RUN(owner_is_this_cpu);
	RUN(irqsave_restores);
	return tap_finish();
}
