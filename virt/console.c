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

/* Whether @needle occurs in the @len bytes at @hay (no NUL there). */
static bool strnstr_len(const char *hay, size_t len, const char *needle)
{
	size_t n = strlen(needle);

	for (size_t i = 0; i + n <= len; i++)
		if (!memcmp(hay + i, needle, n))
			return true;
	return false;
}

/* The line @v's output goes to: the PC's lines are under its lock. */
static struct console_line *line_of(struct vcpu *v)
{
	return v->pc ? &v->pc->line : &v->line;
}

/*
 * console=live: a shell on the user's terminal needs its prompt and the
 * echo of each key at once, so bytes go out as they come, without a
 * prefix. The terminal is still not the guest's to drive: escape
 * sequences (ESC and a byte, or a CSI up to its final byte) are dropped,
 * and of the control characters only those that move within a line pass.
 */
static void live_putc(struct pc_platform *pc, uint8_t c)
{
	if (pc->live_esc == 1) {
		pc->live_esc = c == '[' ? 2 : 0;
		return;
	}
	if (pc->live_esc == 2) {
		if (c >= 0x40 && c <= 0x7e) /* a CSI's final byte (ECMA-48, 5.4) */
			pc->live_esc = 0;
		return;
	}
	if (c == 0x1b)
		pc->live_esc = 1;
	else if ((c >= 0x20 && c < 0x7f) || c == '\n' || c == '\r' || c == '\t' || c == '\b')
		printk("%c", c);
}

static void flush_line(struct vcpu *v, struct console_line *l)
{
	struct pc_platform *pc = v->pc;

	if (pc && pc->console_live)
		; /* printed as it came: the line is kept for pc->watch only */
	else if (pc && pc->console_raw) /* a third-party kernel's own lines (console=raw) */
		printk("%.*s\n", (int)l->len, l->buf);
	else if (!pc && v->vm->max_vcpus_seen > 1) /* a flat guest's vCPUs each have a line */
		printk("guest[%s/%u]: %.*s\n", v->vm->name, v->number, (int)l->len, l->buf);
	else
		printk("guest[%s]: %.*s\n", v->vm->name, (int)l->len, l->buf);
	for (unsigned i = 0; pc && i < pc->nmarks; i++)
		if (!pc->mark_tsc[i] && strnstr_len(l->buf, l->len, pc->marks[i])) {
			pc->mark_tsc[i] = rdtsc();
			pc->mark_exits[i] = pc_vm_exits(pc);
		}
	if (pc && pc->input_gate && strnstr_len(l->buf, l->len, pc->input_gate))
		pc->input_open = true;
	if (pc && pc->watch && l->len >= strlen(pc->watch) &&
	    !memcmp(l->buf, pc->watch, strlen(pc->watch))) {
		memcpy(pc->watched, l->buf, l->len);
		pc->watched[l->len] = '\0';
		pc->watch_hits++;
	}
	l->len = 0;
}

void vcpu_flush_console(struct vcpu *v)
{
	if (v->pc)
		spin_lock(&v->pc->lock);
	if (line_of(v)->len)
		flush_line(v, line_of(v));
	if (v->pc)
		spin_unlock(&v->pc->lock);
}

void vcpu_console_putc(struct vcpu *v, uint8_t c)
{
	struct console_line *l = line_of(v);
	char s[4];
	size_t n;

	if (v->pc && v->pc->console_live)
		live_putc(v->pc, c);
	if (c == '\n') {
		flush_line(v, l);
		return;
	}
	n = console_escape(c, s);
	if (l->len + n > sizeof(l->buf))
		flush_line(v, l); /* an escape is never split across lines */
	memcpy(l->buf + l->len, s, n);
	l->len += (unsigned)n;
	if (l->len == sizeof(l->buf))
		flush_line(v, l); /* a long line is wrapped, not dropped */
}
