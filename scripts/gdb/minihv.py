# gdb helpers for minihv: hypervisor-aware commands (GDB's Python API).
# Loaded by scripts/gdbinit. Each command prints the same lines the kernel
# prints for the same structure (vmx/dump.c), so the two can be compared.
#
#   hv-pt ADDR        walk the host page tables for ADDR
#   hv-ept VM GPA     walk VM's EPT tables for GPA
#   hv-inval VM       invalidation state and statistics
#   hv-gpc VM         active gfn-to-pfn caches
#   hv-tests          registered tests and their results so far
#   hv-vms            live VMs (the names and indexes VM arguments accept)
# VM is a name ("gdbvm"), an index into vm_registry, or an expression of type
# struct vm *. ADDR and GPA are gdb expressions. The guest's side (hv-vcpu,
# hv-break, hv-gpa, hv-gva, hv-disas, hv-guest-elf) is in guest.py. Memory is
# read through hostmem.py (hread, HObj, find_vm), sourced after this file,
# so that every command works stopped in minihv or in a guest.

import gdb

PT_LEVELS = 4
LEVEL_NAMES = {0: "none", 1: "4K", 2: "2M", 3: "1G", 4: "512G"}
INVALID_GPA = (1 << 64) - 1
ADDR_MASK = 0x000FFFFFFFFFF000


class HvError(Exception):
    """A user-facing problem: printed as a message, never as a traceback."""


def u64(value):
    return int(value) & ((1 << 64) - 1)


def read_u64(addr):
    return int.from_bytes(hread(addr, 8), "little")


def symbol(expr, what):
    try:
        return gdb.parse_and_eval(expr)
    except gdb.error:
        raise HvError("%s is not available (%s): is the kernel's symbol file loaded?" % (what, expr))


def shift(level):
    return 12 + 9 * (level - 1)


def index(addr, level):
    return (addr >> shift(level)) & 511


def x86_present(e):
    return e & 1


def x86_huge(e):
    return e & 0x80


def x86_flags(e, level):
    s = "P" if e & 1 else "-"
    s += " W" if e & 2 else ""
    s += " U" if e & 4 else ""
    s += " A" if e & 0x20 else ""
    s += " D" if e & 0x40 else ""
    s += " PS" if level > 1 and e & 0x80 else ""
    s += " NX" if e & (1 << 63) else ""
    return s


def ept_present(e):
    return e & 7


def ept_huge(e):
    return e & 0x80


def ept_flags(e, level):
    leaf = (e & 7) and (level == 1 or e & 0x80)
    s = ("R" if e & 1 else "-") + ("W" if e & 2 else "-") + ("X" if e & 4 else "-")
    if leaf:
        s += " MT=" + ("WB" if (e >> 3) & 7 == 6 else "??")
    s += " L" if level > 1 and e & 0x80 else ""
    if e & 0x100:
        s += " A D" if e & 0x200 else " A"
    return s


def resolve(root, addr, read, present, leaf, levels=PT_LEVELS):
    """One 4-level-style walk: the (level, entry) pairs it reads with @read
    (an address to a u64), and the address it ends at, None where an entry is
    not @present. @leaf(e, level) says whether a present entry maps."""
    steps, table = [], root
    for level in range(levels, 0, -1):
        e = read(table + 8 * index(addr, level))
        steps.append((level, e))
        if not present(e):
            return steps, None
        if leaf(e, level):
            size = 1 << shift(level)
            return steps, (e & ADDR_MASK & ~(size - 1)) + (addr & (size - 1))
        table = e & ADDR_MASK
    return steps, None


def walk(what, root, addr, present, huge, flags):
    """Print one walk exactly as dump_walk() in vmx/dump.c does."""
    print("%s %#x root %#x" % (what, addr, root))
    steps, pa = resolve(root, addr, read_u64, present, lambda e, level: level == 1 or huge(e))
    for level, e in steps:
        print("  L%d[%3u] 0x%016x %s" % (level, index(addr, level), e, flags(e, level)))
    level = steps[-1][0]
    if pa is None:
        print("  -> not mapped (stops at L%d)" % level)
    else:
        print("  -> %#x level %s" % (pa, LEVEL_NAMES[level]))


class HvCommand(gdb.Command):
    def __init__(self, name):
        super().__init__(name, gdb.COMMAND_USER)
        self.cmd = name

    def invoke(self, arg, from_tty):
        try:
            self.run(arg)
        except HvError as e:
            print("%s: %s" % (self.cmd, e))
        except gdb.error as e:
            print("%s: %s" % (self.cmd, e))


class HvPt(HvCommand):
    """hv-pt ADDR: walk the host page tables (the primary MMU) for ADDR."""

    def run(self, arg):
        if not arg.strip():
            raise HvError("usage: hv-pt ADDR")
        root = host_root()
        if not root:
            raise HvError("the host page tables are not set up yet (host_mm.pt.root is 0)")
        walk("hv-pt", root, u64(gdb.parse_and_eval(arg)), x86_present, x86_huge, x86_flags)


class HvEpt(HvCommand):
    """hv-tdp VM GPA (alias hv-ept): walk VM's second-level tables (the secondary MMU)
    for GPA, in their format: EPT on VMX, NPT (the x86 format) on SVM."""

    def run(self, arg):
        parts = arg.split(None, 1)
        if len(parts) != 2:
            raise HvError("usage: %s VM GPA" % self.cmd)
        vm = find_vm(parts[0])
        root = vm["ept"]["root"].int()
        if not root:
            raise HvError("VM %s has no second-level tables yet" % vm["name"].string())
        fmt = vm["ept"]["fmt"]
        npt = fmt.int() and fmt.deref()["name"].string() == "NPT"
        walk("%s %s" % (self.cmd, vm["name"].string()), root,
             u64(gdb.parse_and_eval(parts[1])),
             *((x86_present, x86_huge, x86_flags) if npt else (ept_present, ept_huge, ept_flags)))


class HvInval(HvCommand):
    """hv-inval VM: invalidation state (in_progress, seq, range) and statistics."""

    def run(self, arg):
        vm = find_vm(arg)
        iv, st = vm["inval"], vm["stats"]
        name = vm["name"].string()
        start, end = iv["range_start"].int(), iv["range_end"].int()
        rng = "none" if start == INVALID_GPA else "[%#x, %#x)" % (start, end)
        print("hv-inval %s: in_progress %d seq %d range %s" %
              (name, iv["in_progress"].int(), iv["seq"].int(), rng))
        print("  invalidations %d zaps %d invept %d retries %d violations %d%s" %
              (st["invalidations"].int(), st["ept_zaps"].int(), st["invept"].int(),
               st["ept_retries"].int(), st["ept_violations"].int(),
               " BUGGED" if vm["bugged"].int() else ""))


class HvGpc(HvCommand):
    """hv-gpc VM: each active gfn-to-pfn cache with gpa, hva, pa, valid, generation."""

    def run(self, arg):
        vm = find_vm(arg)
        print("hv-gpc %s" % vm["name"].string())
        p = vm["gpc_list"]
        n = 0
        while p.int() and n < 64:
            g = p.deref()
            print("  gpc gpa %#x len %d hva %#x pa %#x valid %d generation %d" %
                  (g["gpa"].int(), g["len"].int(), g["uhva"].int(), g["pa"].int(),
                   1 if g["valid"].int() else 0, g["generation"].int()))
            p = g["next"]
            n += 1
        if not n:
            print("  no active gfn-to-pfn caches")


class HvTests(HvCommand):
    """hv-tests: registered tests and their results so far."""

    STATES = {0: "pending", 1: "running", 2: "ok", 3: "not ok", 4: "skip"}

    def run(self, arg):
        start = symbol("&__ktests_start", "the test table")
        end = symbol("&__ktests_end", "the test table")
        total = (u64(end) - u64(start)) // gdb.lookup_type("struct ktest").sizeof
        n = int(symbol("ktest_nresults", "the test results"))
        print("hv-tests: %d registered, %d selected in this run" % (total, n))
        if not n:
            print("  no test has been selected yet (tests= not given, or the run has not started)")
            return
        res = symbol("ktest_results", "the test results")
        for i in range(n):
            t = res[i]["test"]
            print("  %d %s: %s" % (i + 1, t["name"].string(),
                                   self.STATES.get(int(res[i]["state"]), "?")))


class HvVms(HvCommand):
    """hv-vms: live VMs."""

    def run(self, arg):
        vms = hvms()
        if not vms:
            print("hv-vms: no live VM")
        for i, vm in vms:
            print("  %d %s" % (i, vm["name"].string()))


for cls, name in ((HvPt, "hv-pt"), (HvEpt, "hv-ept"), (HvEpt, "hv-tdp"), (HvInval, "hv-inval"),
                  (HvGpc, "hv-gpc"), (HvTests, "hv-tests"), (HvVms, "hv-vms")):
    cls(name)
