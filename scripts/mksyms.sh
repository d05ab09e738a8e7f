#!/bin/sh
# Usage: mksyms.sh KERNEL.elf > ksyms.S
# Emits the function symbols of KERNEL.elf, sorted by address, into .ksyms for
# backtraces (lib/ksyms.c). Without an argument it emits an empty table (first
# link pass). A sentinel at the end of the text closes the last function.
set -eu
echo '.section .ksyms, "a"'
echo '.balign 8'
if [ $# -eq 0 ]; then
	echo '.globl ksyms_count; ksyms_count: .quad 0'
	echo '.globl ksyms_addrs; ksyms_addrs:'
	echo '.globl ksyms_name_offs; ksyms_name_offs:'
	echo '.globl ksyms_names; ksyms_names: .byte 0'
	exit 0
fi
nm -n --defined-only "$1" | awk 'BEGIN { n = 0 }
NF == 3 && $2 ~ /^[tT]$/ { addr[n] = $1; name[n] = $3; n++ }
END {
	# _etext (linker.ld) is last: it closes the last function.
	printf ".globl ksyms_count; ksyms_count: .quad %d\n", n
	printf ".globl ksyms_addrs; ksyms_addrs:\n"
	for (i = 0; i < n; i++) printf "\t.quad 0x%s\n", addr[i]
	printf ".globl ksyms_name_offs; ksyms_name_offs:\n"
	off = 0
	for (i = 0; i < n; i++) { printf "\t.long %d\n", off; off += length(name[i]) + 1 }
	printf ".globl ksyms_names; ksyms_names:\n"
	for (i = 0; i < n; i++) printf "\t.asciz \"%s\"\n", name[i]
}'
