/* The kernel's command-line options (boot/options.c holds the table). */
#ifndef MINIHV_OPTIONS_H
#define MINIHV_OPTIONS_H

#include "arch/x86/arch.h"

struct kernel_options {
	char tests[256]; /* tests= value, "" when none given */
	bool have_tests;
	bool quiet;
	uint64_t guest_mem; /* RAM of the guest given as the "guest" module */
	bool guest_mem_given; /* else a multiboot1 guest gets PC_DEFAULT_RAM, as QEMU's */
	unsigned guest_vcpus; /* its vCPUs: vCPU 0 here, the others one per CPU */
	bool bench;         /* run the measurements of `make bench` */
	unsigned dump;      /* dump=: DUMP_* bits (vmx/dump.h), printed at VM teardown */
	uint64_t fuzz_seed; /* fuzz_seed=: the page-table fuzzer's seed (a failing one, again) */
	uint64_t fuzz_ops;  /* fuzz_ops=: its operations per vCPU (0: the test's default) */
	bool console_raw;   /* console=raw: a PC guest's lines without the "guest[name]: " prefix */
	bool console_live;  /* console=live: its bytes as they come, for an interactive shell */
	bool watchdog_off;  /* watchdog=off: the module guest runs as long as it likes */
	unsigned watchdog_secs; /* watchdog=N: about N seconds without an exit (0: default) */
	bool strict_io;     /* strict_io: an unknown port stops a PC guest, as a flat one */
};

extern struct kernel_options kopts;

/*
 * Parses @line into kopts; returns the number of errors, messages in @err.
 * @overlong is the length of a command line the boot loader gave that was
 * too long to keep (struct boot_info), 0 otherwise: that is one error.
 */
int options_parse(const char *line, size_t overlong, char *err, size_t errlen);

#endif
