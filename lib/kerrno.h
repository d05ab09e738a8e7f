/* Error numbers: negative returns as in Linux (same values, so messages match). */
#ifndef MINIHV_KERRNO_H
#define MINIHV_KERRNO_H

#define EPERM 1
#define ENOENT 2
#define EIO 5
#define E2BIG 7
#define EAGAIN 11
#define ENOMEM 12
#define EACCES 13
#define EFAULT 14
#define EBUSY 16
#define EEXIST 17
#define ENODEV 19
#define EINVAL 22
#define ENOSPC 28
#define ERANGE 34
#define EDEADLK 35
#define ENOSYS 38
#define EOPNOTSUPP 95

const char *errno_name(int err);

#endif
