/*
 * COM1 as a guest driver sees it: a 16550A whose registers read back what a
 * real one would, so probing drivers (scratch test, loopback test, divisor
 * round trip) find a UART. Transmission is instant: THR and the transmitter
 * are always empty, so output never blocks. A flat guest receives only
 * what it sends itself in loopback mode; a PC guest also what the host's
 * serial line brings (uart_receive(), virt/pc_uart.c). The modem inputs
 * show a terminal that is connected and ready (CTS, DSR, DCD on; RI off).
 * IIR reports pending interrupts as the chip does; uart_irq_line() is the
 * interrupt output, which a PC guest's I/O APIC takes as IRQ 4.
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

/* Highest-priority pending interrupt (data sheet table 4), without side effects. */
static uint8_t pending_id(const struct uart16550 *u)
{
	if ((u->ier & UART_IER_RLSI) && u->overrun)
		return UART_IIR_RLSI;
	if ((u->ier & UART_IER_RDI) && u->rx_count)
		return UART_IIR_RDI;
	if ((u->ier & UART_IER_THRI) && u->thre_pending)
		return UART_IIR_THRI;
	if ((u->ier & UART_IER_MSI) && u->msr_delta)
		return UART_IIR_MSI;
	return UART_IIR_NO_INT;
}

bool uart_irq_line(const struct uart16550 *u)
{
	return pending_id(u) != UART_IIR_NO_INT && (u->mcr & UART_MCR_OUT2);
}

/* Reading IIR when it reports THRI clears it (data sheet, table 4). */
static uint8_t read_iir(struct uart16550 *u)
{
	uint8_t id = pending_id(u);

	if (id == UART_IIR_THRI)
		u->thre_pending = false;
	return id | (u->fifo_on ? UART_IIR_FIFO_ON : 0);
}

unsigned uart_rx_room(const struct uart16550 *u)
{
	unsigned cap = u->fifo_on ? UART_RX_FIFO : 1;

	return cap > u->rx_count ? cap - u->rx_count : 0;
}

bool uart_receive(struct uart16550 *u, uint8_t c)
{
	if (!uart_rx_room(u)) {
		u->overrun = true;
		if (u->fifo_on)
			return false; /* the FIFO keeps its bytes; the new one is lost */
		u->rx[u->rx_head] = c; /* 16450 mode: the new byte replaces the unread one */
		return false;
	}
	u->rx[(u->rx_head + u->rx_count) % UART_RX_FIFO] = c;
	u->rx_count++;
	return true;
}

static uint8_t rx_pop(struct uart16550 *u)
{
	uint8_t c;

	if (!u->rx_count)
		return 0;
	c = u->rx[u->rx_head];
	u->rx_head = (uint8_t)((u->rx_head + 1) % UART_RX_FIFO);
	u->rx_count--;
	return c;
}

static void transmit(struct vcpu *v, struct uart16550 *u, uint8_t c)
{
	if (u->mcr & UART_MCR_LOOP) /* the byte goes to our own receiver, not the line */
		uart_receive(u, c);
	else
		vcpu_console_putc(v, c);
	u->thre_pending = true; /* sent at once: THR is empty again */
}

uint8_t uart_read(struct uart16550 *u, unsigned reg)
{
	bool dlab = u->lcr & UART_LCR_DLAB;
	uint8_t val;

	switch (reg) {
	case UART_RBR:
		return dlab ? u->dll : rx_pop(u);
	case UART_IER:
		return dlab ? u->dlm : u->ier;
	case UART_IIR:
		return read_iir(u);
	case UART_LCR:
		return u->lcr;
	case UART_MCR:
		return u->mcr;
	case UART_LSR:
		val = UART_LSR_THRE | UART_LSR_TEMT | (u->rx_count ? UART_LSR_DR : 0) |
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

void uart_write(struct vcpu *v, struct uart16550 *u, unsigned reg, uint8_t val)
{
	bool dlab = u->lcr & UART_LCR_DLAB;

	switch (reg) {
	case UART_THR:
		if (dlab)
			u->dll = val;
		else
			transmit(v, u, val);
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
		/* FCR bit 0 changed, or RX reset: the receive FIFO is emptied (data sheet, FCR). */
		if ((val & UART_FCR_CLEAR_RX) || u->fifo_on != (bool)(val & UART_FCR_ENABLE))
			u->rx_count = 0;
		u->fifo_on = val & UART_FCR_ENABLE;
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

uint32_t uart_io(struct vcpu *v, struct uart16550 *u, unsigned reg, unsigned size, bool in,
		 uint32_t val)
{
	uint32_t r = 0;

	for (unsigned i = 0; i < size; i++) {
		if (in)
			r |= (uint32_t)uart_read(u, reg + i) << (8 * i);
		else
			uart_write(v, u, reg + i, (uint8_t)(val >> (8 * i)));
	}
	return r;
}
