#ifndef MINIHV_RUN_GUEST_H
#define MINIHV_RUN_GUEST_H

#include "boot/bootinfo.h"

/* The information kmain() parsed (boot/kmain.c). */
extern struct boot_info boot_info;
/* The module whose string's first word is @name, or NULL. */
const struct boot_module *boot_find_module(const struct boot_info *bi, const char *name);
/*
 * The module named "guest": its string is "guest", then the guest's own
 * command line (a multiboot1 guest's; GUEST_ARGS= in `make run`).
 */
const struct boot_module *find_guest_module(const struct boot_info *bi);
/*
 * Run it; returns minihv's exit status: 0 if a flat guest exited with code
 * 0, else 1; for a multiboot1 guest that left through port 0xf4 with code
 * C, (C << 1) | 1, as QEMU's isa-debug-exit exits (HC_EXIT's code alike),
 * 0 for a Linux guest that powered off or reset the machine, else
 * RUN_GUEST_PC_FAILED (even: no guest's code). @bi gives the
 * "guest-env" module (the multiboot1 guest's one module) if there is one.
 * *@pass: whether that is a pass (code 0, or a flat guest's status 0).
 */
#define RUN_GUEST_PC_FAILED 2

int run_guest_module(const struct boot_info *bi, const struct boot_module *m, bool *pass);

#endif
