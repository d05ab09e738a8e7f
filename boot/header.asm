; Multiboot2 header (multiboot2 spec, section 3.1). GRUB finds it in the first
; 32 KiB of the image; the checksum makes magic + arch + length + checksum == 0.

MB2_MAGIC       equ 0xe85250d6
MB2_ARCH_I386   equ 0          ; 32-bit protected mode entry
MB2_TAG_END     equ 0
MB2_TAG_INFOREQ equ 1
MB2_TAG_OPTIONAL equ 1         ; flags bit 0: loader may ignore the tag

; Information the kernel asks for (multiboot2 spec, section 3.6 tag types).
MB2_INFO_CMDLINE  equ 1
MB2_INFO_MODULE   equ 3
MB2_INFO_MMAP     equ 6
MB2_INFO_ACPI_OLD equ 14
MB2_INFO_ACPI_NEW equ 15

section .multiboot
align 8
mb2_start:
	dd MB2_MAGIC
	dd MB2_ARCH_I386
	dd mb2_end - mb2_start
	dd -(MB2_MAGIC + MB2_ARCH_I386 + (mb2_end - mb2_start))

align 8
inforeq_start:
	dw MB2_TAG_INFOREQ, MB2_TAG_OPTIONAL
	dd inforeq_end - inforeq_start
	dd MB2_INFO_CMDLINE, MB2_INFO_MODULE, MB2_INFO_MMAP
	dd MB2_INFO_ACPI_OLD, MB2_INFO_ACPI_NEW
inforeq_end:

align 8
	dw MB2_TAG_END, 0
	dd 8
mb2_end:
