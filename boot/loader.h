/*
 * Running a guest image: one VM with RAM at guest-physical 0, identity page
 * tables, the image at 1 MiB and one vCPU (guest/ABI.md).
 */
#ifndef MINIHV_GUEST_LOADER_H
#define MINIHV_GUEST_LOADER_H

#include "virt/vcpu.h"
#include "ept/vm.h"
#include "arch/x86/arch.h"

#define GUEST_PML4 0x1000ULL
#define GUEST_PDPT 0x2000ULL
#define GUEST_PD 0x3000ULL      /* 4 page directories: 4 GiB of 2 MiB pages */
#define GUEST_PT_END 0x7000ULL
#define GUEST_LOAD 0x100000ULL  /* image load address and entry point */
#define GUEST_MIN_RAM (2ULL << 20)
#define GUEST_MAPPED_GPA (4ULL << 30) /* the guest page tables map [0, 4 GiB) */

/*
 * The backend this CPU offers: VMX with EPT where it has VMX (turned on
 * here), else SVM with NPT. 0 with @be and @mc filled, or -errno with the
 * reason ("no VMX: ...; no SVM: ..." where it has neither).
 */
int hv_backend(const struct vcpu_backend **be, struct mmu_caps *mc, char *err, size_t errlen);
/*
 * mmu=shadow on the command line: every VM uses shadow paging even where
 * the CPU has EPT/NPT (ept/shadow.c), so each suite runs both ways. Tests
 * may set it around one guest.
 */
extern bool hv_mmu_shadow;

struct guest {
	struct vm vm;
	struct vcpu vcpu;
	bool have_vcpu;
	bool is_pc;              /* a multiboot1 guest: @pc is its platform */
	struct pc_platform pc;
};

/*
 * Create the VM, give it @ram bytes (4 KiB backing) at GPA 0, write the page
 * tables, copy the image and create the vCPU with RDI = ram, RSI = cmd,
 * RDX = arg, RCX = arg2. Extra memory can be added with vm_add_ram() before
 * guest_run(). Returns 0 or -errno with a message.
 */
int guest_create(struct guest *g, const char *name, const void *image, size_t len, uint64_t ram,
		 uint64_t cmd, uint64_t arg, uint64_t arg2, char *err, size_t errlen);
enum vcpu_stop guest_run(struct guest *g);

/*
 * A multiboot1 ELF32 guest on the PC platform (boot/mb1.h, virt/platform.h):
 * check and load @image's segments into @ram bytes, write the multiboot1
 * information (@cmdline, @mods) above it, and create vCPU 0 in 32-bit
 * protected mode with EAX = 0x2BADB002, EBX = the information's address.
 * @ncpus vCPUs in all (the others: guest_start_vcpu(), waiting for a SIPI).
 * Returns 0 or -errno with a message.
 */
struct mb1_module;
int guest_create_pc(struct guest *g, const char *name, const void *image, size_t len,
		    uint64_t ram, const char *cmdline, const struct mb1_module *mods,
		    unsigned nmods, unsigned ncpus, bool strict_io, char *err, size_t errlen);

/*
 * A Linux bzImage on the PC platform (boot/linux.c, guest/ABI.md "Linux
 * guests"): the protected-mode kernel at its pref_address, @initrd at the
 * top of RAM, the zero page and @cmdline (with minihv's additions) below
 * 64 KiB, and vCPU 0 at the 64-bit entry with RSI = the zero page.
 * Returns 0 or -errno with a message.
 */
int guest_create_linux(struct guest *g, const char *name, const void *image, size_t len,
		       uint64_t ram, const char *cmdline, const void *initrd, size_t initrd_len,
		       unsigned ncpus, bool strict_io, char *err, size_t errlen);

/*
 * A PC guest's vCPU 0 with entry state @e, on its platform g->pc (set up
 * already); on failure the VM is destroyed. 0 or -errno with a message.
 */
int guest_pc_vcpu0(struct guest *g, const struct vcpu_backend *be, const struct vcpu_entry *e,
		   char *err, size_t errlen);

/* 0, or -EINVAL with the reason: a PC guest's RAM must end below PC_RAM_MAX. */
int guest_pc_ram_check(uint64_t ram, char *err, size_t errlen);

/* Identity-map [0, 4 GiB) for the guest with 2 MiB pages, at GUEST_PML4. */
void guest_write_identity_tables(struct vm *vm);

/* Each vCPU's stack: vCPU i starts with RSP = ram - i * GUEST_VCPU_STACK (guest/ABI.md). */
#define GUEST_VCPU_STACK 0x10000ULL

/* A further vCPU of a guest, created and run on a CPU of its own. */
struct guest_vcpu {
	struct guest *g;
	struct vcpu vcpu;
	unsigned index, count, cpu;
	uint64_t cmd, arg, arg2;
	int err;                /* creation failed: -errno, reason in @why */
	char why[200];
	enum vcpu_stop stop;
	uint64_t resumes;       /* after memory faults the host was still fixing */
	bool ready;             /* created: an IPI can find it (PC guests wait for this) */
	bool done;              /* set last, with release order */
};

/*
 * Start vCPU @index of @count on CPU @cpu (not this one): it is created
 * there (VMX or SVM turned on there first), enters at the guest's entry
 * point with R8 = @index, R9 = @count, and runs until it stops. Returns 0,
 * or -EBUSY / -EINVAL with a message when that CPU cannot take it.
 */
int guest_start_vcpu(struct guest *g, struct guest_vcpu *gv, unsigned index, unsigned count,
		     unsigned cpu, uint64_t cmd, uint64_t arg, uint64_t arg2, char *err,
		     size_t errlen);
/* Apply watchdog= to @v, a vCPU of the module guest (boot/run_guest.c). */
void guest_module_watchdog(struct vcpu *v);
/* Wait until it stopped and was destroyed on its CPU. */
void guest_wait_vcpu(struct guest_vcpu *gv);
/*
 * A PC guest's AP: wait until it is created and waits for its INIT and SIPI,
 * or its creation failed (gv->err, gv->why): before vCPU 0 runs, so that
 * its INIT and SIPI find it. 0, or gv->err.
 */
int guest_wait_vcpu_ready(struct guest_vcpu *gv);
void guest_destroy(struct guest *g);
void guest_print_stats(const struct guest *g);

#endif
