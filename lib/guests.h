#ifndef MINIHV_GUESTS_H
#define MINIHV_GUESTS_H

#include "arch/x86/arch.h"

struct guest_image {
	const char *name;
	const char *start, *end;
};

extern const struct guest_image testguest_image; /* commands in guest/testguest.h */
extern const struct guest_image hello_image;     /* the demo guest */

#endif
