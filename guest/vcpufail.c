/*
 * A guest whose vCPU 2 fails (scripts/test-badinput.sh, issue 25): every
 * vCPU says which it is; vCPU 2 then exits with code 5, the others with 0.
 * minihv's report must name vCPU 2 (guest/ABI.md, "Exit status").
 */
#include "guest/guest.h"

#define FAILING_VCPU 2
#define FAIL_CODE 5

long guest_main(uint64_t ram, uint64_t cmd, uint64_t arg, uint64_t arg2, uint64_t index,
		uint64_t count)
{
	char line[] = "vCPU ? of ?\n";

	(void)ram, (void)cmd, (void)arg, (void)arg2;
	line[5] = (char)('0' + index % 10);
	line[10] = (char)('0' + count % 10);
	hc_puts(line);
	return index == FAILING_VCPU ? FAIL_CODE : 0;
}
