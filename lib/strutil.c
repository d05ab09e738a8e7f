/* Small pure string helpers used by both builds. */
#include "lib/kstring.h"
#include "lib/kerrno.h"
#include "lib/glob.h"

size_t kstrlcpy(char *dst, const char *src, size_t size)
{
	size_t n = strlen(src);

	if (size) {
		size_t c = n < size - 1 ? n : size - 1;
		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return n;
}

/* '*' matches any run (including empty), '?' one character. */
bool glob_match(const char *pat, size_t patlen, const char *s)
{
	const char *star = NULL, *star_s = NULL;
	size_t i = 0;

	while (*s) {
		/* '*' first: it is a wildcard even where the string holds a '*'. */
		if (i < patlen && pat[i] == '*') {
			star = pat + i++;
			star_s = s;
		} else if (i < patlen && (pat[i] == '?' || pat[i] == *s)) {
			i++;
			s++;
		} else if (star) {
			i = (size_t)(star - pat) + 1;
			s = ++star_s;
		} else {
			return false;
		}
	}
	while (i < patlen && pat[i] == '*')
		i++;
	return i == patlen;
}

const char *errno_name(int err)
{
	switch (err < 0 ? -err : err) {
	case 0: return "OK";
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case EIO: return "EIO";
	case E2BIG: return "E2BIG";
	case EAGAIN: return "EAGAIN";
	case ENOMEM: return "ENOMEM";
	case EACCES: return "EACCES";
	case EFAULT: return "EFAULT";
	case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST";
	case ENODEV: return "ENODEV";
	case EINVAL: return "EINVAL";
	case ENOSPC: return "ENOSPC";
	case ERANGE: return "ERANGE";
	case EDEADLK: return "EDEADLK";
	case ENOSYS: return "ENOSYS";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	default: return "E?";
	}
}
