#ifndef MINIHV_RUN_GUEST_H
#define MINIHV_RUN_GUEST_H

#include "boot/bootinfo.h"

const struct boot_module *find_guest_module(const struct boot_info *bi);
/* 0 if the guest exited with code 0. */
int run_guest_module(const struct boot_module *m);

#endif
