#ifndef MINIHV_SMP_BOOT_H
#define MINIHV_SMP_BOOT_H

#include "boot/bootinfo.h"

/* Start the CPUs the MADT lists; returns how many are online (at least 1). */
unsigned smp_boot(const struct boot_info *bi);

#endif
