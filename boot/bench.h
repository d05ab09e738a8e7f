/* The parts of `make bench` (kernel option `bench`), run by bench_run() in boot/bench.c. */
#ifndef MINIHV_BENCH_H
#define MINIHV_BENCH_H

#include "boot/loader.h"
#include "vmx/vmx.h"

/* Create the self-test guest (4 MiB of RAM) with command @cmd; 0 or -errno, printed. */
int bench_guest(struct guest *g, uint64_t cmd, uint64_t arg, uint64_t arg2);
/* The invalidation mix (boot/bench_inval.c). */
void bench_inval(void);
/* The invalidation mix with several vCPUs (boot/bench_smp.c). */
void bench_smp(void);
/* Shadow paging next to EPT/NPT (boot/bench_shadow.c). */
void bench_shadow(void);
/* Everything `make bench` measures in the kernel (the `bench` option). */
void bench_run(void);

#endif
