/*
 * Bad input refused with a message, on every CPU (these checks come before
 * anything needs VMX). The end-to-end versions, booted from GRUB with the bad
 * input itself, are scripts/test-badinput.sh.
 */
#include "tests/kernel/guest_util.h"
#include "boot/options.h"

KTEST(guest_image_empty)
{
	static const char nothing[1];
	struct guest g;
	char err[200] = "";

	/* An empty module used to run zeroed RAM until the watchdog stopped it. */
	CHECK_EQ(guest_create(&g, "empty", nothing, 0, TEST_RAM, 0, 0, 0, err, sizeof(err)),
		 -EINVAL);
	CHECK(strstr(err, "guest image is empty (0 bytes)"), "message: %s", err);
}
