#!/usr/bin/env python3
"""Usage: mkinitramfs.py [--node PATH:c|b:MAJOR:MINOR:MODE]... DIR > initrd.img

Writes DIR as an uncompressed "newc" cpio archive, the format Linux unpacks
into its initramfs (Documentation/driver-api/early-userspace/buffer-format.rst),
and adds the device nodes given with --node (octal MODE, e.g.
--node dev/console:c:5:1:600): creating those in DIR would need root.

The archive depends only on DIR's names, types, permission bits, file
contents and link targets: every entry has mtime 0, uid and gid 0, an inode
number counted from 1 in name order, and the entries come in byte order of
their names, so a directory always precedes what it holds. Hard links are
written as separate files. Directories, regular files and symbolic links
only; anything else in DIR is an error.
"""
import os
import stat
import sys

MAGIC = b"070701"


def pad4(n):
    return (4 - n % 4) % 4


def record(ino, mode, nlink, data=b"", rdev=(0, 0), name=""):
    """One entry: the 110-byte header, the name with its NUL, padding to 4
    bytes, the data, padding to 4 bytes."""
    bname = name.encode() + b"\0"
    fields = (ino, mode, 0, 0, nlink, 0, len(data), 0, 0, rdev[0], rdev[1],
              len(bname), 0)
    # ino mode uid gid nlink mtime filesize devmajor devminor
    # rdevmajor rdevminor namesize check: eight hex digits each.
    hdr = MAGIC + b"".join(b"%08X" % f for f in fields)
    assert len(hdr) == 110
    out = hdr + bname + b"\0" * pad4(len(hdr) + len(bname))
    return out + data + b"\0" * pad4(len(data))


def parse_node(arg):
    try:
        path, kind, major, minor, mode = arg.split(":")
        kind = {"c": stat.S_IFCHR, "b": stat.S_IFBLK}[kind]
        return path.strip("/"), kind | int(mode, 8), (int(major), int(minor))
    except (ValueError, KeyError):
        sys.exit(f"mkinitramfs: --node {arg}: want PATH:c|b:MAJOR:MINOR:MODE")


def entries(top):
    """(name, mode, data, rdev) for everything under top, top itself excluded."""
    for dirpath, dirnames, filenames in os.walk(top):
        for n in dirnames + filenames:
            full = os.path.join(dirpath, n)
            name = os.path.relpath(full, top)
            st = os.lstat(full)
            perm = stat.S_IMODE(st.st_mode)
            if stat.S_ISLNK(st.st_mode):
                yield name, stat.S_IFLNK | 0o777, os.readlink(full).encode(), (0, 0)
            elif stat.S_ISDIR(st.st_mode):
                yield name, stat.S_IFDIR | perm, b"", (0, 0)
            elif stat.S_ISREG(st.st_mode):
                with open(full, "rb") as f:
                    yield name, stat.S_IFREG | perm, f.read(), (0, 0)
            else:
                sys.exit(f"mkinitramfs: {full}: not a directory, file or symlink")


def main(argv):
    nodes = []
    while len(argv) >= 2 and argv[0] == "--node":
        nodes.append(parse_node(argv[1]))
        argv = argv[2:]
    if len(argv) != 1 or not os.path.isdir(argv[0]):
        sys.exit(__doc__.split("\n\n")[0])
    items = list(entries(argv[0]))
    names = {e[0] for e in items}
    for path, mode, rdev in nodes:
        if path in names or os.path.dirname(path) not in names | {""}:
            sys.exit(f"mkinitramfs: --node {path}: exists already, or its directory does not")
        items.append((path, mode, b"", rdev))
        names.add(path)
    items.sort(key=lambda e: e[0].encode())
    out = bytearray()
    for ino, (name, mode, data, rdev) in enumerate(items, start=1):
        nlink = 2 if stat.S_ISDIR(mode) else 1
        out += record(ino, mode, nlink, data, rdev, name)
    out += record(0, 0, 1, name="TRAILER!!!")
    sys.stdout.buffer.write(out)


if __name__ == "__main__":
    main(sys.argv[1:])
