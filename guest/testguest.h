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
/*
 * RDX = base, RCX = size of memory never touched before: returns the mean TSC
 * ticks of a first write to each 4 KiB page (one EPT violation each) minus
 * those of a second write to it (no exit).
 */
#define TG_EPT_BENCH 20
/* The guest ABI's checks (guest/testguest_abi.c, guest/testguest_sse.c; guest/ABI.md). */
#define TG_MSR 16          /* the emulated MSRs read and write as guest/ABI.md says */
#define TG_MSR_UNKNOWN 17  /* RDX = MSR, RCX = 0: RDMSR it, 1: WRMSR 0x1234 to it */
#define TG_UART 18         /* COM1 probed as a driver does; yields with TG_UART_LINE pending */
#define TG_SSE 19          /* compiled SSE code; RCX = 1: yield 1 with MXCSR/XMM15 changed */
#define TG_PAGE_FAULT 30   /* RDX = address: read it, no IDT: #PF ends in a triple fault */
#define TG_EXCEPTIONS 31   /* own GDT and IDT: yields the IDT's address, then checks that
			    * #UD, #PF, #GP, #BP and a #DF reach its handlers as on hardware */
/*
 * Own 4-level page tables in RDX's 1 MiB of scratch RAM, changed as an OS
 * does (remap, unmap, read-only, new page table, new PML4 entry, a batch)
 * with RCX = 0: INVLPG, 1: CR3 reload after each; proves shadow paging sees
 * every change. 0, or step * 256 + check (guest/testguest_shadow.c).
 */
#define TG_SHADOW_PT 33
/*
 * make bench: RDX = 4 pages of RAM for tables, RCX = rounds: map 512 pages of
 * [1 GiB, 1 GiB + 4 MiB) at linear 4 GiB through its own page table, reload
 * CR3, touch them; remap each round (guest/testguest_shadow_bench.c).
 */
#define TG_SHADOW_BENCH 34
/* RDX = TSC ticks: CPUID (an exit each) until that many have passed; returns 0. */
#define TG_CPUID_SPIN 35
/* Set CR4.OSXSAVE, then XSETBV of RDX to XCR0; returns 1 if that ran on (guest/ABI.md). */
#define TG_XSETBV 36
#define TG_INVD 37         /* INVD; returns 1 if that ran on: it stops the guest */
#define TG_WBINVD 38       /* WBINVD; returns 0: it is a no-op */
/*
 * RDX = a 2 MiB region (bit 0: yield every so often), RCX = seed << 32 |
 * operations: random changes of its own page tables, each flush checked
 * against its own walk (guest/testguest_ptfuzz.c). 0, or the failing
 * operation's number + 1 with a struct ptf_report at region + PTF_REPORT.
 */
#define TG_PT_FUZZ 39
#define PTF_REGION (2ULL << 20)
#define PTF_REPORT (255 * 4096ULL)
enum ptf_kind {
	PTF_READ_NO_PF = 1, /* the walk says not present, the read did not fault as expected */
	PTF_READ_PF,        /* the walk says present, the read faulted (got = error code) */
	PTF_READ_VALUE,     /* the read gave another value than the GPA holds */
	PTF_WRITE_NO_PF,    /* the walk says read-only, the write did not fault as expected */
	PTF_WRITE_PF,       /* the walk says writable, the write faulted */
	PTF_WRITE_LOST,     /* the written value is not at the GPA */
};
struct ptf_report {
	uint64_t op, va, kind, want, got, cr3;
};

/* What TG_UART writes to COM1 before it yields, and the console line it must become. */
#define TG_UART_LINE "esc:\x1b[2J nul:\0 cr:\r tab:\t hi:\x80 del:\x7f"
#define TG_UART_SHOWN "esc:\\x1b[2J nul:\\x00 cr: tab:\t hi:\\x80 del:\\x7f"
/* Exception exits TG_EXCEPTIONS causes: one per exception minihv intercepts. */
#define TG_EXCEPTIONS_EXITS 5

/* What the host answers a TG_VCPU_INFO yield with (RAX on resume). */
#define TG_INFO_CONTINUE 0
#define TG_INFO_MOVE 1     /* re-register at the second area */
#define TG_INFO_DONE 2

/*
 * Several vCPUs (R8 = index, R9 = count): each writes and checks its share
 * of [RDX & ~0xfff, + RCX) for (RDX & 0xfff) generations (0: until the
 * host writes TG_STRESS_STOP to word TG_STRESS_STOP_WORD of the first page), two words per
 * page holding TG_STRESS_PATTERN(gpa, generation). Returns 0, or the page's
 * GPA | TG_STRESS_STALE (an old or foreign value: a write was lost) or
 * | TG_STRESS_POISON (it read a freed frame's poison).
 */
#define TG_STRESS 32
/* The host asks every vCPU to finish: this value at word 256 of the first page. */
#define TG_STRESS_STOP 0x5709
#define TG_STRESS_STOP_WORD 256
#define TG_STRESS_STALE 1
#define TG_STRESS_POISON 2
#define TG_STRESS_PATTERN(a, gen) (((a) * 0x9e3779b97f4a7c15ULL) ^ ((gen) << 48) ^ 0x1234567ULL)
/* What a freed frame is filled with (the host's stress test poisons them). */
#define TG_POISON 0xdbdbdbdbdbdbdbdbULL

/* The value TG_PATTERN stores at guest-physical address a. */
#define TESTGUEST_PATTERN(a) (((a) * 0x9e3779b97f4a7c15ULL) ^ 0x5a5a5a5a5a5a5a5aULL)

#endif
