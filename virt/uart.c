/*
 * COM1 as a guest driver sees it: a 16550A whose registers read back what a
 * real one would, so probing drivers (scratch test, loopback test, divisor
 * round trip) find a UART. Transmission is instant: THR and the transmitter
 * are always empty, so output never blocks. Nothing is ever received except
 * what the guest sends itself in loopback mode. The modem inputs show a
 * terminal that is connected and ready (CTS, DSR, DCD on; RI off). No
 * interrupt is ever delivered (the guest has no interrupt controller), but
 * IIR reports pending ones as the chip would, for drivers that poll it.
 */
#include "virt/uart.h"
#include "virt/console.h"
#include "virt/vcpu.h"
#include "arch/x86/arch.h"

#define MSR_CONNECTED (UART_MSR_CTS | UART_MSR_DSR | UART_MSR_DCD)

void uart_reset(struct uart16550 *u)
{
	*u = (struct uart16550){ .dll = 1 }; /* the divisor is undefined at power-on: say 115200 */
}

/* The modem inputs: in loopback mode they are wired to the MCR outputs. */
static uint8_t modem_inputs(const struct uart16550 *u)
{
	if (!(u->mcr & UART_MCR_LOOP))
		return MSR_CONNECTED;
	return (u->mcr & UART_MCR_RTS ? UART_MSR_CTS : 0) | (u->mcr & UART_MCR_DTR ? UART_MSR_DSR : 0) |
	       (u->mcr & UART_MCR_OUT1 ? UART_MSR_RI : 0) | (u->mcr & UART_MCR_OUT2 ? UART_MSR_DCD : 0);
}

static void write_mcr(struct uart16550 *u, uint8_t val)
{
	uint8_t before = modem_inputs(u), after, changed;

	u->mcr = val & UART_MCR_MASK;
	after = modem_inputs(u);
	changed = before ^ after;
	u->msr_delta |= (changed & UART_MSR_CTS ? UART_MSR_DCTS : 0) |
			(changed & UART_MSR_DSR ? UART_MSR_DDSR : 0) |
			(changed & before & UART_MSR_RI ? UART_MSR_TERI : 0) |
			(changed & UART_MSR_DCD ? UART_MSR_DDCD : 0);
}

/* Highest-priority pending interrupt (data sheet table 4); reading it clears THRI. */
static uint8_t read_iir(struct uart16550 *u)
{
	uint8_t id = UART_IIR_NO_INT;

	if ((u->ier & UART_IER_RLSI) && u->overrun)
		id = UART_IIR_RLSI;
	else if ((u->ier & UART_IER_RDI) && u->rx_full)
		id = UART_IIR_RDI;
	else if ((u->ier & UART_IER_THRI) && u->thre_pending) {
		id = UART_IIR_THRI;
		u->thre_pending = false;
	} else if ((u->ier & UART_IER_MSI) && u->msr_delta)
		id = UART_IIR_MSI;
	return id | (u->fifo_on ? UART_IIR_FIFO_ON : 0);
}

static void transmit(struct vcpu *v, uint8_t c)
{
	struct uart16550 *u = &v->uart;

	if (u->mcr & UART_MCR_LOOP) { /* the byte goes to our own receiver, not the line */
		u->overrun |= u->rx_full;
		u->rbr = c;
		u->rx_full = true;
	} else {
		vcpu_console_putc(v, c);
	}
	u->thre_pending = true; /* sent at once: THR is empty again */
}

uint8_t uart_read(struct vcpu *v, unsigned reg)
{
	struct uart16550 *u = &v->uart;
	bool dlab = u->lcr & UART_LCR_DLAB;
	uint8_t val;

	switch (reg) {
	case UART_RBR:
		if (dlab)
			return u->dll;
		u->rx_full = false;
		return u->rbr;
	case UART_IER:
		return dlab ? u->dlm : u->ier;
	case UART_IIR:
		return read_iir(u);
	case UART_LCR:
		return u->lcr;
	case UART_MCR:
		return u->mcr;
	case UART_LSR:
		val = UART_LSR_THRE | UART_LSR_TEMT | (u->rx_full ? UART_LSR_DR : 0) |
		      (u->overrun ? UART_LSR_OE : 0);
		u->overrun = false; /* error bits clear on read */
		return val;
	case UART_MSR:
		val = modem_inputs(u) | u->msr_delta;
		u->msr_delta = 0;
		return val;
	default:
		return u->scr;
	}
}

void uart_write(struct vcpu *v, unsigned reg, uint8_t val)
{
	struct uart16550 *u = &v->uart;
	bool dlab = u->lcr & UART_LCR_DLAB;

	switch (reg) {
	case UART_THR:
		if (dlab)
			u->dll = val;
		else
			transmit(v, val);
		break;
	case UART_IER:
		if (dlab) {
			u->dlm = val;
			break;
		}
		/* Enabling THRI with THR empty raises it at once, as on the chip. */
		if (val & ~u->ier & UART_IER_THRI)
			u->thre_pending = true;
		u->ier = val & UART_IER_MASK;
		break;
	case UART_FCR:
		u->fifo_on = val & UART_FCR_ENABLE;
		if (val & UART_FCR_CLEAR_RX)
			u->rx_full = false;
		break;
	case UART_LCR:
		u->lcr = val;
		break;
	case UART_MCR:
		write_mcr(u, val);
		break;
	case UART_SCR:
		u->scr = val;
		break;
	default:
		break; /* LSR and MSR: writes have no effect (factory test on the chip) */
	}
}
