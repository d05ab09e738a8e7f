/*
 * The guest's COM1: a 16550A UART at ports 0x3f8-0x3ff (virt/uart.c), whose
 * transmitter feeds the guest console line (virt/console.c).
 */
#ifndef MINIHV_UART_H
#define MINIHV_UART_H

#include "arch/x86/arch.h"

struct vcpu;

#define UART_RX_FIFO 16 /* the 16550A's receive FIFO */

struct uart16550 {
	uint8_t ier, lcr, mcr, scr;
	uint8_t dll, dlm;      /* divisor latch, reached with LCR.DLAB set */
	uint8_t rx[UART_RX_FIFO]; /* received bytes, oldest at rx_head */
	uint8_t rx_head, rx_count;
	uint8_t msr_delta;     /* MSR bits 3:0, cleared when MSR is read */
	bool overrun;
	bool fifo_on;          /* FCR bit 0, seen in IIR bits 7:6 */
	bool thre_pending;     /* the "THR empty" interrupt, until IIR reports it */
};

/* Power-on state: divisor 1 (115200 baud), 8 data bits are the guest's to set. */
void uart_reset(struct uart16550 *u);
/*
 * One byte at register @reg (0-7) of COM1 @u; what it transmits goes to
 * @v's console line. A PC guest's vCPUs share one COM1 (v->pc->uart,
 * under the platform lock); a flat guest's vCPU has its own (v->uart).
 */
uint8_t uart_read(struct uart16550 *u, unsigned reg);
void uart_write(struct vcpu *v, struct uart16550 *u, unsigned reg, uint8_t val);
/*
 * An IN (@in) or OUT of @size bytes from register @reg: a 16- or 32-bit
 * access reaches consecutive byte registers, as on the ISA bus. Returns
 * what an IN read (0 for an OUT, which writes @val).
 */
uint32_t uart_io(struct vcpu *v, struct uart16550 *u, unsigned reg, unsigned size, bool in,
		 uint32_t val);
/* Bytes the receiver can take: 16 with the FIFO on, 1 without (16450 mode). */
unsigned uart_rx_room(const struct uart16550 *u);
/*
 * A byte from the line (the host's serial input, or the guest's own in
 * loopback): false on an overrun (no room: with the FIFO on the new byte
 * is lost, without it the new byte replaces the unread one, as the chip's).
 */
bool uart_receive(struct uart16550 *u, uint8_t c);
/*
 * The chip's INTRPT output as the PC wires it: an enabled interrupt is
 * pending and MCR.OUT2 (which gates the line on PC serial ports) is set.
 */
bool uart_irq_line(const struct uart16550 *u);

#endif
