/* I/O ports minihv uses, and the emulator exit devices. */
#ifndef MINIHV_PORTS_H
#define MINIHV_PORTS_H

#define COM1_BASE 0x3f8
/* 16550 register offsets and bits (PC16550D data sheet). */
#define UART_THR 0   /* transmit holding (DLAB=0) */
#define UART_DLL 0   /* divisor latch low (DLAB=1) */
#define UART_IER 1
#define UART_DLM 1   /* divisor latch high (DLAB=1) */
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_LCR_8N1 0x03
#define UART_LCR_DLAB 0x80
#define UART_FCR_ENABLE_CLEAR 0x07 /* enable FIFOs, clear RX and TX */
#define UART_MCR_DTR_RTS_OUT2 0x0b
#define UART_LSR_THRE 0x20
#define UART_BAUD_BASE 115200

/* QEMU isa-debug-exit: writing v exits QEMU with status (v << 1) | 1. */
#define QEMU_DEBUG_EXIT_PORT 0xf4
/* Bochs: "Shutdown" written to 0x8900 is a fatal panic (exit 1); 'D' breaks into
 * the built-in debugger, which runs the `quit` left for it in the -rc file (exit 0). */
#define BOCHS_SHUTDOWN_PORT 0x8900

#endif
