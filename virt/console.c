/*
 * The guest console line. What a guest writes to COM1's THR or with HC_WRITE
 * is collected into lines, printed as "guest[name]: ..." on the host console.
 * That console is someone's terminal, so a guest must not be able to drive
 * it (move the cursor, clear the screen, retitle the window): printable ASCII
 * and TAB pass unchanged; '\n' ends the line; '\r' is dropped, so CRLF and LF
 * print alike and a guest cannot overwrite what was printed; every other byte
 * (NUL, ESC and the other control characters, DEL, bytes 0x80-0xff) shows as
 * the four characters \xHH. A line longer than the buffer is wrapped.
 */
#include "virt/console.h"
#include "virt/vcpu.h"
#include "ept/vm.h"
#include "lib/lib.h"

size_t console_escape(uint8_t c, char out[4])
{
	static const char hex[] = "0123456789abcdef";

	if (c == '\r')
		return 0;
	if ((c >= 0x20 && c < 0x7f) || c == '\t') {
		out[0] = (char)c;
		return 1;
	}
	out[0] = '\\';
	out[1] = 'x';
	out[2] = hex[c >> 4];
	out[3] = hex[c & 15];
	return 4;
}

void vcpu_flush_console(struct vcpu *v)
{
	if (v->pc && v->pc->console_raw) /* a third-party kernel's own lines (console=raw) */
		printk("%.*s\n", (int)v->line_len, v->line);
	else
		printk("guest[%s]: %.*s\n", v->vm->name, (int)v->line_len, v->line);
	v->line_len = 0;
}

void vcpu_console_putc(struct vcpu *v, uint8_t c)
{
	char s[4];
	size_t n;

	if (c == '\n') {
		vcpu_flush_console(v);
		return;
	}
	n = console_escape(c, s);
	if (v->line_len + n > sizeof(v->line))
		vcpu_flush_console(v); /* an escape is never split across lines */
	memcpy(v->line + v->line_len, s, n);
	v->line_len += (unsigned)n;
	if (v->line_len == sizeof(v->line))
		vcpu_flush_console(v); /* a long line is wrapped, not dropped */
}
