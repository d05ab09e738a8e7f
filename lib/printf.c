/*
 * kvsnprintf: the formatter behind printk. Pure: no I/O, host-tested.
 * Supports %d %i %u %x %X %o %p %s %c %%, the l/ll/z/h length modifiers,
 * flags '-' '0' ' ' '+' '#', a field width (or '*') and a precision for %s.
 * Like C99 vsnprintf it returns the length the output would have had.
 */
#include "lib/printk.h"
#include "lib/kstring.h"

struct out {
	char *buf;
	size_t size;
	size_t len;
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void pad(struct out *o, char c, int n)
{
	while (n-- > 0)
		put(o, c);
}

enum {
	F_LEFT = 1,
	F_ZERO = 2,
	F_PLUS = 4,
	F_SPACE = 8,
	F_ALT = 16,
};

static void put_num(struct out *o, unsigned long long v, bool neg, unsigned base,
		    bool upper, int flags, int width)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0;
	char sign = 0;
	const char *prefix = "";

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);

	if (neg)
		sign = '-';
	else if (flags & F_PLUS)
		sign = '+';
	else if (flags & F_SPACE)
		sign = ' ';
	if ((flags & F_ALT) && base == 16)
		prefix = upper ? "0X" : "0x";

	int body = n + (sign != 0) + (int)strlen(prefix);
	int fill = width > body ? width - body : 0;

	if (!(flags & (F_LEFT | F_ZERO)))
		pad(o, ' ', fill);
	if (sign)
		put(o, sign);
	for (const char *p = prefix; *p; p++)
		put(o, *p);
	if ((flags & F_ZERO) && !(flags & F_LEFT))
		pad(o, '0', fill);
	while (n)
		put(o, tmp[--n]);
	if (flags & F_LEFT)
		pad(o, ' ', fill);
}

static void put_str(struct out *o, const char *s, int flags, int width, int prec)
{
	int n = 0;

	if (!s)
		s = "(null)";
	while ((prec < 0 || n < prec) && s[n])
		n++;
	if (!(flags & F_LEFT))
		pad(o, ' ', width - n);
	for (int i = 0; i < n; i++)
		put(o, s[i]);
	if (flags & F_LEFT)
		pad(o, ' ', width - n);
}

int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { .buf = buf, .size = size, .len = 0 };

	for (const char *p = fmt; *p; p++) {
		if (*p != '%') {
			put(&o, *p);
			continue;
		}
		p++;

		int flags = 0;
		for (;; p++) {
			if (*p == '-')
				flags |= F_LEFT;
			else if (*p == '0')
				flags |= F_ZERO;
			else if (*p == '+')
				flags |= F_PLUS;
			else if (*p == ' ')
				flags |= F_SPACE;
			else if (*p == '#')
				flags |= F_ALT;
			else
				break;
		}

		int width = 0;
		if (*p == '*') {
			width = va_arg(ap, int);
			if (width < 0) {
				flags |= F_LEFT;
				width = -width;
			}
			p++;
		}
		while (*p >= '0' && *p <= '9')
			width = width * 10 + (*p++ - '0');

		int prec = -1;
		if (*p == '.') {
			p++;
			prec = 0;
			if (*p == '*') {
				prec = va_arg(ap, int);
				p++;
			}
			while (*p >= '0' && *p <= '9')
				prec = prec * 10 + (*p++ - '0');
		}

		int lng = 0; /* 0 int, 1 long, 2 long long, -1 short, -2 char */
		for (;; p++) {
			if (*p == 'l')
				lng++;
			else if (*p == 'z')
				lng = 1;
			else if (*p == 'h')
				lng--;
			else
				break;
		}

		unsigned long long u;
		long long s;
		switch (*p) {
		case 'd':
		case 'i':
			if (lng >= 2)
				s = va_arg(ap, long long);
			else if (lng == 1)
				s = va_arg(ap, long);
			else if (lng == -1)
				s = (short)va_arg(ap, int);
			else if (lng <= -2)
				s = (signed char)va_arg(ap, int);
			else
				s = va_arg(ap, int);
			u = s < 0 ? 0ULL - (unsigned long long)s : (unsigned long long)s;
			put_num(&o, u, s < 0, 10, false, flags, width);
			break;
		case 'u':
		case 'x':
		case 'X':
		case 'o':
			if (lng >= 2)
				u = va_arg(ap, unsigned long long);
			else if (lng == 1)
				u = va_arg(ap, unsigned long);
			else if (lng == -1)
				u = (unsigned short)va_arg(ap, unsigned int);
			else if (lng <= -2)
				u = (unsigned char)va_arg(ap, unsigned int);
			else
				u = va_arg(ap, unsigned int);
			put_num(&o, u, false, *p == 'u' ? 10 : *p == 'o' ? 8 : 16, *p == 'X',
				flags & ~(F_PLUS | F_SPACE), width);
			break;
		case 'p':
			u = (uintptr_t)va_arg(ap, void *);
			put_num(&o, u, false, 16, false, F_ALT | (flags & F_LEFT), width);
			break;
		case 's':
			put_str(&o, va_arg(ap, const char *), flags, width, prec);
			break;
		case 'c': {
			char c[2] = { (char)va_arg(ap, int), 0 };
			put_str(&o, c, flags, width, 1);
			break;
		}
		case '%':
			put(&o, '%');
			break;
		case '\0':
			/* A lone '%' at the end: print it rather than read past the string. */
			put(&o, '%');
			p--;
			break;
		default:
			/* Unknown conversion: print it verbatim so the bug is visible. */
			put(&o, '%');
			put(&o, *p);
			break;
		}
	}
	if (o.size)
		o.buf[o.len < o.size ? o.len : o.size - 1] = '\0';
	return (int)o.len;
}

int ksnprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = kvsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
