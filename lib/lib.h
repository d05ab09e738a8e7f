/*
 * lib/'s public interface: other areas include this header only
 * (scripts/check-layers.sh); each header below holds one idea.
 */
#ifndef MINIHV_LIB_H
#define MINIHV_LIB_H

#include "lib/kerrno.h"
#include "lib/kstring.h"
#include "lib/bug.h"
#include "lib/printk.h"
#include "lib/spinlock.h"
#include "lib/rwlock.h"
#include "lib/cmdline.h"
#include "lib/glob.h"
#include "lib/guests.h"
#include "lib/ksyms.h"
#include "lib/emu_exit.h"
#include "lib/ktest.h"

#endif
