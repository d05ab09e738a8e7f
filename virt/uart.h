/*
 * The guest's COM1: a 16550A UART at ports 0x3f8-0x3ff (virt/uart.c), whose
 * transmitter feeds the guest console line (virt/console.c).
 */
#ifndef MINIHV_UART_H
#define MINIHV_UART_H

#include "arch/x86/arch.h"

struct vcpu;

struct uart16550 {
	uint8_t ier, lcr, mcr, scr;
	uint8_t dll, dlm;      /* divisor latch, reached with LCR.DLAB set */
	uint8_t rbr;           /* the byte the receiver holds (loopback only) */
	uint8_t msr_delta;     /* MSR bits 3:0, cleared when MSR is read */
	bool rx_full, overrun;
	bool fifo_on;          /* FCR bit 0, seen in IIR bits 7:6 */
	bool thre_pending;     /* the "THR empty" interrupt, until IIR reports it */
};

/* Power-on state: divisor 1 (115200 baud), 8 data bits are the guest's to set. */
void uart_reset(struct uart16550 *u);
/* One byte at register @reg (0-7) of the vCPU's COM1. */
uint8_t uart_read(struct vcpu *v, unsigned reg);
void uart_write(struct vcpu *v, unsigned reg, uint8_t val);

#endif
