/* I/O ports minihv uses, and the emulator exit devices. */
#ifndef MINIHV_PORTS_H
#define MINIHV_PORTS_H

#include "arch/x86/cpu.h"

#define COM1_BASE 0x3f8
#define COM1_PORTS 8
/* 16550 register offsets and bits (PC16550D data sheet). */
#define UART_RBR 0   /* receive buffer (DLAB=0, read) */
#define UART_THR 0   /* transmit holding (DLAB=0, write) */
#define UART_DLL 0   /* divisor latch low (DLAB=1) */
#define UART_IER 1
#define UART_DLM 1   /* divisor latch high (DLAB=1) */
#define UART_IIR 2   /* interrupt identification (read) */
#define UART_FCR 2   /* FIFO control (write) */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6   /* modem status */
#define UART_SCR 7   /* scratch */
#define UART_IER_RDI 0x01  /* received data available */
#define UART_IER_THRI 0x02 /* transmit holding register empty */
#define UART_IER_RLSI 0x04 /* receiver line status */
#define UART_IER_MSI 0x08  /* modem status */
#define UART_IER_MASK 0x0f /* bits 7:4 always read 0 */
#define UART_IIR_NO_INT 0x01
#define UART_IIR_MSI 0x00
#define UART_IIR_THRI 0x02
#define UART_IIR_RDI 0x04
#define UART_IIR_RLSI 0x06
#define UART_IIR_FIFO_ON 0xc0
#define UART_FCR_ENABLE 0x01
#define UART_FCR_CLEAR_RX 0x02
#define UART_LCR_8N1 0x03
#define UART_LCR_DLAB 0x80
#define UART_FCR_ENABLE_CLEAR 0x07 /* enable FIFOs, clear RX and TX */
#define UART_MCR_DTR 0x01
#define UART_MCR_RTS 0x02
#define UART_MCR_OUT1 0x04
#define UART_MCR_OUT2 0x08
#define UART_MCR_LOOP 0x10
#define UART_MCR_MASK 0x1f /* bits 7:5 always read 0 */
#define UART_MCR_DTR_RTS_OUT2 0x0b
#define UART_LSR_DR 0x01   /* data ready */
#define UART_LSR_OE 0x02   /* overrun error */
#define UART_LSR_THRE 0x20
#define UART_LSR_TEMT 0x40 /* transmitter empty */
#define UART_MSR_DCTS 0x01 /* delta bits 3:0: changed since last read */
#define UART_MSR_DDSR 0x02
#define UART_MSR_TERI 0x04 /* RI went from on to off */
#define UART_MSR_DDCD 0x08
#define UART_MSR_CTS 0x10
#define UART_MSR_DSR 0x20
#define UART_MSR_RI 0x40
#define UART_MSR_DCD 0x80
#define UART_BAUD_BASE 115200

/* QEMU isa-debug-exit: writing v exits QEMU with status (v << 1) | 1. */
#define QEMU_DEBUG_EXIT_PORT 0xf4
/* Bochs: "Shutdown" written to 0x8900 is a fatal panic (exit 1); 'D' breaks into
 * the built-in debugger, which runs the `quit` left for it in the -rc file (exit 0). */
#define BOCHS_SHUTDOWN_PORT 0x8900
/* Bochs' port 0xE9 hack (bochsrc port_e9_hack, on in scripts/emu.sh): a read returns 0xE9. */
#define BOCHS_E9_PORT 0xe9

/* The MC146818 RTC and CMOS RAM (its data sheet; the PC's ports). */
#define CMOS_INDEX 0x70      /* bit 7: NMI disable on the PC */
#define CMOS_DATA 0x71
#define CMOS_REG_MASK 0x7f
#define RTC_STATUS_A 0x0a     /* bit 7: update in progress */
#define RTC_STATUS_B 0x0b     /* data mode (BCD/binary), 12/24 hour, interrupt enables */
#define RTC_STATUS_C 0x0c     /* interrupt flags, cleared by reading */
#define RTC_STATUS_D 0x0d     /* bit 7: valid RAM and time */
#define RTC_VRT 0x80
#define RTC_CENTURY 0x32      /* the PC's century byte (ACPI FADT's default) */

/* Register @reg of this machine's CMOS (index port then data port: no other CPU may interleave). */
static inline uint8_t cmos_read(unsigned reg)
{
	outb(CMOS_INDEX, (uint8_t)(reg & CMOS_REG_MASK));
	return inb(CMOS_DATA);
}

#endif
