/* SPDX-License-Identifier: Apache-2.0 */
/* Overflows a signed int on purpose: UBSan must stop the program
 * (tests/sanitizer). */
#include <limits.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	volatile int x = INT_MAX;

	(void)argv;
	x += argc;
	puts("UBSan did not halt");
	return 0;
}
