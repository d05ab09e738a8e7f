/*
 * Text dumps of the hypervisor's structures. gdb's hv-* commands
 * (scripts/gdb/minihv.py, guest.py) print exactly the same lines from memory, and the
 * gdb test compares the two.
 */
#ifndef MINIHV_DUMP_H
#define MINIHV_DUMP_H

#include "arch/x86/arch.h"

struct vm;

#define DUMP_PT 1u
#define DUMP_EPT 2u
#define DUMP_INVAL 4u
#define DUMP_GPC 8u
#define DUMP_VCPU 16u
#define DUMP_ALL 31u

void dump_host_walk(uint64_t va);
void dump_ept_walk(struct vm *vm, uint64_t gpa);
void dump_inval(struct vm *vm);
void dump_gpc(struct vm *vm);
void dump_vcpu(struct vm *vm);
/* What dump=LIST asks for, on @vm (used at VM teardown). */
void dump_vm(struct vm *vm, unsigned what);

#endif
