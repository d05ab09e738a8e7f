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

/* A conversion's flags, width, precision (-1: none) and length (0 int, 1 long, 2 long long, -1 short, -2 char). */
struct spec {
	int flags, width, prec, lng;
};

/* Parse what follows '%' up to the conversion character; returns a pointer to it. */
static const char *parse_spec(const char *p, va_list *ap, struct spec *sp)
{
	static const char flag_chars[] = "-0+ #";
	static const int flag_bits[] = { F_LEFT, F_ZERO, F_PLUS, F_SPACE, F_ALT };
	const char *f;

	*sp = (struct spec){ 0, 0, -1, 0 };
	while (*p && (f = strchr(flag_chars, *p)))
		sp->flags |= flag_bits[f - flag_chars], p++;
	if (*p == '*') {
		sp->width = va_arg(*ap, int);
		if (sp->width < 0) {
			sp->flags |= F_LEFT;
			sp->width = -sp->width;
		}
		p++;
	}
	while (*p >= '0' && *p <= '9')
		sp->width = sp->width * 10 + (*p++ - '0');
	if (*p == '.') {
		p++;
		sp->prec = 0;
		if (*p == '*') {
			sp->prec = va_arg(*ap, int);
			p++;
		}
		while (*p >= '0' && *p <= '9')
			sp->prec = sp->prec * 10 + (*p++ - '0');
	}
	for (;; p++) {
		if (*p == 'l')
			sp->lng++;
		else if (*p == 'z')
			sp->lng = 1;
		else if (*p == 'h')
			sp->lng--;
		else
			return p;
	}
}

static long long arg_signed(va_list *ap, int lng)
{
	if (lng >= 2)
		return va_arg(*ap, long long);
	if (lng == 1)
		return va_arg(*ap, long);
	if (lng == -1)
		return (short)va_arg(*ap, int);
	if (lng <= -2)
		return (signed char)va_arg(*ap, int);
	return va_arg(*ap, int);
}

static unsigned long long arg_unsigned(va_list *ap, int lng)
{
	if (lng >= 2)
		return va_arg(*ap, unsigned long long);
	if (lng == 1)
		return va_arg(*ap, unsigned long);
	if (lng == -1)
		return (unsigned short)va_arg(*ap, unsigned int);
	if (lng <= -2)
		return (unsigned char)va_arg(*ap, unsigned int);
	return va_arg(*ap, unsigned int);
}

/* One conversion @c with @sp. An unknown one is printed verbatim so the bug is visible. */
static void convert(struct out *o, char c, const struct spec *sp, va_list *ap)
{
	switch (c) {
	case 'd':
	case 'i': {
		long long s = arg_signed(ap, sp->lng);
		unsigned long long u = s < 0 ? 0ULL - (unsigned long long)s : (unsigned long long)s;

		put_num(o, u, s < 0, 10, false, sp->flags, sp->width);
		break;
	}
	case 'u':
	case 'x':
	case 'X':
	case 'o':
		put_num(o, arg_unsigned(ap, sp->lng), false, c == 'u' ? 10 : c == 'o' ? 8 : 16,
			c == 'X', sp->flags & ~(F_PLUS | F_SPACE), sp->width);
		break;
	case 'p':
		put_num(o, (uintptr_t)va_arg(*ap, void *), false, 16, false,
			F_ALT | (sp->flags & F_LEFT), sp->width);
		break;
	case 's':
		put_str(o, va_arg(*ap, const char *), sp->flags, sp->width, sp->prec);
		break;
	case 'c': {
		char s[2] = { (char)va_arg(*ap, int), 0 };

		put_str(o, s, sp->flags, sp->width, 1);
		break;
	}
	case '%':
		put(o, '%');
		break;
	default:
		put(o, '%');
		put(o, c);
		break;
	}
}

int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { .buf = buf, .size = size, .len = 0 };
	va_list args;

	va_copy(args, ap); /* by pointer to the helpers: a va_list parameter is an array */
	for (const char *p = fmt; *p; p++) {
		struct spec sp;

		if (*p != '%') {
			put(&o, *p);
			continue;
		}
		p = parse_spec(p + 1, &args, &sp);
		if (!*p) {
			/* A lone '%' at the end: print it rather than read past the string. */
			put(&o, '%');
			break;
		}
		convert(&o, *p, &sp, &args);
	}
	va_end(args);
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
