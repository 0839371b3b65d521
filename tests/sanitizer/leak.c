/* SPDX-License-Identifier: Apache-2.0 */
/* Leaks on purpose: LeakSanitizer must report it (tests/sanitizer). */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	char *volatile p = malloc(64);

	if (p)
		p[0] = 1;
	p = NULL;
	puts("leaked 64 bytes");
	return 0;
}
