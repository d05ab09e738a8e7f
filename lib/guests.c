/* Guest images linked into the kernel (see GUESTS in the Makefile). */
#include "lib/guests.h"

extern const char _binary_testguest_bin_start[], _binary_testguest_bin_end[];
extern const char _binary_hello_bin_start[], _binary_hello_bin_end[];

const struct guest_image testguest_image = {
	"testguest", _binary_testguest_bin_start, _binary_testguest_bin_end,
};
const struct guest_image hello_image = {
	"hello", _binary_hello_bin_start, _binary_hello_bin_end,
};
