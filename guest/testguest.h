/* Commands of the self-test guest (RSI at entry), shared with the kernel tests. */
#ifndef MINIHV_TESTGUEST_H
#define MINIHV_TESTGUEST_H

#define TG_CPUID 1
#define TG_HLT 2
#define TG_HYPERCALLS 3
#define TG_SERIAL 4
#define TG_PATTERN 5       /* RDX = base, RCX = size: write then verify a pattern */
#define TG_TOUCH 6         /* RDX = base, RCX = size: write one byte per 4 KiB page */
#define TG_READ 7          /* RDX = address: read one byte, return it */
#define TG_WRITE 8         /* RDX = address: write one byte */
#define TG_TRIPLE_FAULT 9
#define TG_LOOP 10
#define TG_INC_YIELD 12   /* RDX = address: forever { yield(*addr); *addr += 1; } */
#define TG_TOUCH_YIELD 13 /* RDX = base, RCX = size: forever { touch each page; yield(round); } */
#define TG_VCPU_INFO 14    /* RDX = area, RCX = second area: see info_loop() */
#define TG_MWAIT 15        /* MONITOR + MWAIT with a deep C-state hint */
#define TG_CPUID_BENCH 11 /* RDX = iterations: returns average TSC ticks per CPUID */

/* What the host answers a TG_VCPU_INFO yield with (RAX on resume). */
#define TG_INFO_CONTINUE 0
#define TG_INFO_MOVE 1     /* re-register at the second area */
#define TG_INFO_DONE 2

/* The value TG_PATTERN stores at guest-physical address a. */
#define TESTGUEST_PATTERN(a) (((a) * 0x9e3779b97f4a7c15ULL) ^ 0x5a5a5a5a5a5a5a5aULL)

#endif
