/*
 * arch/'s public interface: other areas include this header only
 * (scripts/check-layers.sh); each header below holds one part of the CPU.
 */
#ifndef MINIHV_ARCH_H
#define MINIHV_ARCH_H

#include "arch/x86/compiler.h"
#include "arch/x86/msr.h"
#include "arch/x86/cpu.h"
#include "arch/x86/desc.h"
#include "arch/x86/hal.h"
#include "arch/x86/lapic.h"
#include "arch/x86/percpu.h"
#include "arch/x86/smp.h"
#include "arch/x86/ports.h"
#include "arch/x86/serial.h"
#include "arch/x86/traps.h"
#include "arch/x86/tsc.h"

#endif
