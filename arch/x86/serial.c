/* COM1 at 115200 8N1: the console. '\n' goes out as "\r\n". */
#include "arch/x86/serial.h"
#include "arch/x86/cpu.h"
#include "arch/x86/ports.h"

void serial_init(void)
{
	uint16_t div = UART_BAUD_BASE / 115200;

	outb(COM1_BASE + UART_IER, 0);
	outb(COM1_BASE + UART_LCR, UART_LCR_DLAB);
	outb(COM1_BASE + UART_DLL, div & 0xff);
	outb(COM1_BASE + UART_DLM, div >> 8);
	outb(COM1_BASE + UART_LCR, UART_LCR_8N1);
	outb(COM1_BASE + UART_FCR, UART_FCR_ENABLE_CLEAR);
	outb(COM1_BASE + UART_MCR, UART_MCR_DTR_RTS_OUT2);
}

static void serial_raw(char c)
{
	/* Bounded wait: a missing UART must not hang the kernel. */
	for (int i = 0; i < 100000 && !(inb(COM1_BASE + UART_LSR) & UART_LSR_THRE); i++)
		cpu_relax();
	outb(COM1_BASE + UART_THR, (uint8_t)c);
}

int serial_getc(void)
{
	if (!(inb(COM1_BASE + UART_LSR) & UART_LSR_DR))
		return -1;
	return inb(COM1_BASE + UART_RBR);
}

static bool at_line_start = true;

void serial_putc(char c)
{
	if (c == '\n')
		serial_raw('\r');
	serial_raw(c);
	at_line_start = c == '\n';
}

void serial_end_line(void)
{
	if (!at_line_start)
		serial_putc('\n');
}

void serial_drain(void)
{
	/*
	 * Bochs sends a byte a character time after THR takes it (its serial
	 * model's transmit timer): one power-off later the log lost its end.
	 * Bounded, as serial_raw(); a missing UART reads 0xff, TEMT set.
	 */
	for (long i = 0; i < 10000000 && !(inb(COM1_BASE + UART_LSR) & UART_LSR_TEMT); i++)
		cpu_relax();
}

void serial_write(const char *s, size_t n)
{
	while (n--)
		serial_putc(*s++);
}
