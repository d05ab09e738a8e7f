/*
 * The hypercalls of guest/ABI.md: VMCALL (or VMMCALL) with the number in RAX and the
 * arguments in RDI, RSI; the result in RAX. A bad argument is an error
 * code for the guest, never a stop.
 */
#include "virt/console.h"
#include "virt/vcpu.h"
#include "ept/vm.h"
#include "lib/lib.h"
#include "guest/hypercall.h"

/*
 * A hypercall whose buffer the host is changing right now: the guest runs
 * its VMCALL again (RIP not advanced), as it would re-execute a store
 * after a fault. A marker value no hypercall returns.
 */
#define HC_RETRY (-1000L)

static long hc_write(struct vcpu *v, uint64_t gpa, uint64_t len)
{
	char buf[256];
	uint64_t done = 0;

	if (len > HC_WRITE_MAX)
		return HC_EINVAL;
	/* The ABI's -EFAULT comes before any byte is printed. */
	if (len && !vm_is_guest_ram(v->vm, gpa, len))
		return HC_EFAULT;
	while (done < len) {
		uint64_t n = MIN(len - done, sizeof(buf));
		int r = vm_read_guest(v->vm, gpa + done, buf, n);

		if (r == -EAGAIN && !done)
			return HC_RETRY;
		if (r) /* a slot removed meanwhile, or the host kept the page away: what went out */
			return (long)done;
		if (v->pc) /* a PC guest's line is its COM1's, under the platform lock */
			spin_lock(&v->pc->lock);
		for (uint64_t i = 0; i < n; i++)
			vcpu_console_putc(v, (uint8_t)buf[i]);
		if (v->pc)
			spin_unlock(&v->pc->lock);
		done += n;
	}
	return (long)len;
}

static long hc_stats(struct vcpu *v, uint64_t gpa, uint64_t len)
{
	struct hc_stats out = {
		.exits = v->stats.exits_total,
		.ept_violations = v->vm->stats.ept_violations,
		.hypercalls = v->stats.hypercalls,
		.io_exits = v->stats.io_exits,
	};

	if (len > sizeof(out))
		len = sizeof(out);
	if (!len)
		return HC_EINVAL;
	/* One path for minihv's writes into guest RAM: shadow paging sees this one too. */
	int r = vm_write_guest(v->vm, gpa, &out, len);
	if (r == -EAGAIN)
		return HC_RETRY;
	return r ? HC_EFAULT : (long)len;
}

static long hc_vcpu_info_set(struct vcpu *v, uint64_t gpa, uint64_t len)
{
	gpc_deactivate(&v->info); /* re-registering moves the area */
	if (gpa == ~0ULL)
		return 0;
	if (len < sizeof(struct hc_vcpu_info))
		return HC_EINVAL;
	int r = gpc_activate(&v->info, gpa, len);
	if (r == -EFAULT && v->info.active)
		return 0; /* backed by a memslot, just not mapped right now: updates resume later */
	if (r) {
		gpc_deactivate(&v->info);
		return r == -EINVAL ? HC_EINVAL : HC_EFAULT;
	}
	return 0;
}

static long hc_vcpu_info(struct vcpu *v, uint64_t gpa, uint64_t len)
{
	long r = hc_vcpu_info_set(v, gpa, len);

	v->exits_slow = v->info.active || v->pc;
	return r;
}

void vcpu_handle_hypercall(struct vcpu *v)
{
	uint64_t nr = v->regs.rax, a0 = v->regs.rdi, a1 = v->regs.rsi, rip = v->be->rip(v);
	long ret;

	v->stats.hypercalls++;
	v->be->skip_instruction(v);
	switch (nr) {
	case HC_WRITE:
		ret = hc_write(v, a0, a1);
		break;
	case HC_EXIT:
		v->exit_code = (long)a0;
		vcpu_stop(v, STOP_EXIT, "guest exited with code %ld", (long)a0);
		return;
	case HC_STATS:
		ret = hc_stats(v, a0, a1);
		break;
	case HC_VCPU_INFO:
		ret = hc_vcpu_info(v, a0, a1);
		break;
	case HC_YIELD:
		v->exit_code = (long)a0;
		v->regs.rax = 0; /* what the guest sees once resumed */
		vcpu_stop(v, STOP_YIELD, "guest yielded %#lx", (unsigned long)a0);
		return;
	default:
		ret = HC_ENOSYS;
		break;
	}
	if (ret == HC_RETRY) {
		v->be->set_rip(v, rip);
		return;
	}
	v->regs.rax = (uint64_t)ret;
}
