# gdb helpers for debugging a guest under minihv (QEMU's GDB stub): the
# guest's own symbols, breakpoints that stop only in the guest, its vCPUs'
# live registers, and its memory by guest-physical and guest-virtual address.
# Sourced by scripts/gdbinit after minihv.py and hostmem.py, whose helpers it
# uses (all run in gdb's __main__).
#
#   hv-guest-elf FILE      load the guest's symbols (its ELF), explain the overlap
#   hv-break LOCATION...   breakpoints that stop only when the guest runs there
#   hv-vcpu [VM]           registers: live where they can be read (see below);
#                          sets $vcpu_rip, $vcpu_rsp, $vcpu_cr3 from what it shows
#   hv-gpa [VM] GPA [LEN]  hex dump of guest-physical memory
#   hv-gva [VM] GVA [LEN]  the same through the guest's own page tables
#   hv-disas [VM] GVA [N]  disassemble N guest instructions, with guest symbols
#
# Why gdb's own x, disassemble and bt do not work on guest addresses: flat
# guests are linked at 1 MiB (guest/guest.ld), where minihv's kernel is too
# (linker.ld), so stopped in minihv `x/i 0x100745` shows minihv's code, and
# stopped in the guest QEMU reads guest-physical as host-physical
# (hostmem.py). These commands translate guest addresses the way the CPU
# does: the guest's page tables, then the VM's memslots and the host's page
# tables, and read the result through hostmem.py.

import os
import subprocess

# The VMCB's state-save fields (svm/svm_defs.h, from AMD APM vol. 2, table B-2).
VMCB_FIELDS = {"efer": 0x4d0, "cr4": 0x548, "cr3": 0x550, "cr0": 0x558,
               "rflags": 0x570, "rip": 0x578, "rsp": 0x5d8}
EFER_SVME, EFER_LMA = 1 << 12, 1 << 10
CR0_PE = 1
CR4_PSE, CR4_PAE, CR4_LA57 = 1 << 4, 1 << 5, 1 << 12
GPRS = ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "r8", "r9", "r10", "r11",
        "r12", "r13", "r14", "r15")


class VcpuState:
    """A vCPU's registers and where they came from (@source, for the user)."""

    def __init__(self, vm, v):
        in_run, cpu = v["in_run"].int(), v["cpu"].int()
        in_guest_mode = v["mode"].int() == VCPU_IN_GUEST
        self.regs = {}
        self.live = bool(in_run)
        if in_run and in_guest_mode and self.cpu_regs(cpu):
            self.source = "live: the CPU's registers, in the guest on CPU %d" % cpu
        else:
            for r in GPRS:
                self.regs[r] = v["regs"][r].int()
            if in_run and is_svm(v):
                self.source = "live: the VMCB at its last exit, " + \
                    ("in the guest on CPU %d" if in_guest_mode else "on CPU %d, in minihv") % cpu
                base = min(VMCB_FIELDS.values())
                save = hread(v["hw"]["va"].int() + base, max(VMCB_FIELDS.values()) + 8 - base)
                for r, off in VMCB_FIELDS.items():
                    self.regs[r] = int.from_bytes(save[off - base:off - base + 8], "little")
                self.regs["efer"] &= ~EFER_SVME
            else:
                self.live = False
                self.source = "at the last stop" if not in_run else \
                    "at the last stop: gdb cannot VMREAD the running vCPU's VMCS"
                for r in ("rip", "rsp", "rflags", "cr0", "cr3", "cr4", "efer"):
                    self.regs[r] = v["snap"][r].int()
                return
        if vm["shadow"].int() & 0xff:
            # The CPU walks the shadow root: the guest's own values are kept apart.
            for r in ("cr0", "cr3", "cr4", "efer"):
                self.regs[r] = v["sh"][r].int()

    def cpu_regs(self, cpu):
        """The registers of CPU @cpu (gdb's thread cpu + 1, all stopped with
        the one gdb stopped at) if it runs the guest; False if not."""
        here = selected_thread()
        there = [t for t in gdb.selected_inferior().threads() if t.num == cpu + 1]
        if not there:
            return False
        try:
            there[0].switch()
            if not in_guest():
                return False
            for r in GPRS + ("rip", "rsp", "cr0", "cr3", "cr4", "efer"):
                self.regs[r] = u64(gdb.parse_and_eval("$" + r))
            self.regs["rflags"] = u64(gdb.parse_and_eval("$eflags"))
            self.regs["efer"] &= ~EFER_SVME
            return True
        finally:
            here.switch()


# ---- guest addresses ----

def host_translate(hva):
    """hva to host-physical through minihv's own tables, None if not mapped."""
    return resolve(host_root(), hva, lambda a: int.from_bytes(hread(a, 8), "little"),
                   x86_present, lambda e, level: level == 1 or x86_huge(e))[1]


def gpa_to_hpa(vm, gpa):
    slots = vm["slots"]
    arr = slots["slot"].deref()
    for i in range(slots["n"].int()):
        s = HObj(arr.addr + i * arr.type.sizeof, arr.type)
        base, n = s["base_gfn"].int(), s["npages"].int()
        if base <= gpa >> 12 < base + n:
            hva = s["hva"].int() + gpa - (base << 12)
            hpa = host_translate(hva)
            if hpa is None:
                raise HvError("gpa %#x: its host page (hva %#x) is not mapped now" % (gpa, hva))
            return hpa
    raise HvError("gpa %#x is in no memslot of VM %s" % (gpa, vm["name"].string()))


def gpa_read(vm, gpa, n):
    out = b""
    while len(out) < n:
        a = gpa + len(out)
        k = min(n - len(out), 4096 - (a & 4095))
        out += hread(gpa_to_hpa(vm, a), k)
    return out


def gva_to_gpa(vm, regs, gva):
    """The guest's page walk (SDM vol. 3A, 4.3-4.5) with its CR0/CR3/CR4/EFER."""
    cr0, cr3, cr4, efer = regs["cr0"], regs["cr3"], regs["cr4"], regs["efer"]
    if not cr0 & CR0_PG:
        return gva
    if efer & EFER_LMA or cr4 & CR4_PAE:
        if efer & EFER_LMA:
            levels, table = (5 if cr4 & CR4_LA57 else 4), cr3 & ADDR_MASK
        else:  # PAE: the PDPTE, 4 of them at CR3[31:5]
            pdpte = int.from_bytes(gpa_read(vm, (cr3 & 0xffffffe0) + 8 * ((gva >> 30) & 3), 8),
                                   "little")
            if not pdpte & 1:
                raise HvError("gva %#x: not mapped (PDPTE %#x)" % (gva, pdpte))
            levels, table = 2, pdpte & ADDR_MASK
        # PS maps 1 GiB at L3 and 2 MiB at L2; it is reserved higher up.
        steps, gpa = resolve(table, gva, lambda a: int.from_bytes(gpa_read(vm, a, 8), "little"),
                             x86_present, lambda e, level: level == 1 or
                             (level in (2, 3) and x86_huge(e)), levels)
        if gpa is None:
            raise HvError("gva %#x: not mapped (L%d entry %#x)" % ((gva,) + steps[-1]))
        return gpa
    # 32-bit paging: 10+10+12, 4 MiB pages with CR4.PSE
    pde = int.from_bytes(gpa_read(vm, (cr3 & 0xfffff000) + 4 * ((gva >> 22) & 1023), 4), "little")
    if not pde & 1:
        raise HvError("gva %#x: not mapped (PDE %#x)" % (gva, pde))
    if cr4 & CR4_PSE and pde & 0x80:
        return (pde & 0xffc00000) + (gva & 0x3fffff)
    pte = int.from_bytes(gpa_read(vm, (pde & 0xfffff000) + 4 * ((gva >> 12) & 1023), 4), "little")
    if not pte & 1:
        raise HvError("gva %#x: not mapped (PTE %#x)" % (gva, pte))
    return (pte & 0xfffff000) + (gva & 0xfff)


def gva_read(vm, regs, gva, n, partial=False):
    """@n bytes from @gva; with @partial, those before the first page that
    does not translate (an error if that is the first)."""
    out = b""
    while len(out) < n:
        a = gva + len(out)
        k = min(n - len(out), 4096 - (a & 4095))
        try:
            out += gpa_read(vm, gva_to_gpa(vm, regs, a), k)
        except HvError:
            if not partial or not out:
                raise
            break
    return out


def hexdump(addr, data):
    for i in range(0, len(data), 16):
        print("  %#x: %s" % (addr + i, " ".join("%02x" % b for b in data[i:i + 16])))


def guest_regs_of(vm, v):
    """The registers of @v (the VM's vCPU on this CPU), else of its first vCPU."""
    if v is None:
        vs = vcpus_of(vm)
        if not vs:
            raise HvError("VM %s has no vCPU" % vm["name"].string())
        v = vs[0]
    return VcpuState(vm, v)


# ---- the guest's symbols ----

GUEST = {"syms": []}  # (address, name) of hv-guest-elf's text symbols, by address


def guest_symbol(addr):
    best = None
    for a, name in GUEST["syms"]:
        if a > addr:
            break
        best = (a, name)
    if best is None:
        return ""
    off = addr - best[0]
    return " <%s%s>" % (best[1], "+%d" % off if off else "")


def elf_info(path):
    """(entry, [(start, end)] of its loaded segments) from the ELF headers."""
    with open(path, "rb") as f:
        h = f.read(64)
        if h[:4] != b"\x7fELF":
            raise HvError("%s is not an ELF file (give the ELF the guest was made from)" % path)
        is64 = h[4] == 2
        le = lambda b: int.from_bytes(b, "little")
        entry = le(h[24:32]) if is64 else le(h[24:28])
        phoff = le(h[32:40]) if is64 else le(h[28:32])
        phentsize, phnum = (le(h[54:56]), le(h[56:58])) if is64 else (le(h[42:44]), le(h[44:46]))
        segs = []
        for i in range(phnum):
            f.seek(phoff + i * phentsize)
            p = f.read(phentsize)
            if le(p[0:4]) != 1:  # PT_LOAD
                continue
            paddr, memsz = (le(p[24:32]), le(p[40:48])) if is64 else (le(p[12:16]), le(p[20:24]))
            segs.append((paddr, paddr + memsz))
    return entry, segs


class HvGuestElf(HvCommand):
    """hv-guest-elf FILE: load the guest's symbols from the ELF its image was made from."""

    def run(self, arg):
        path = os.path.expanduser(arg.strip())
        if not path:
            raise HvError("usage: hv-guest-elf FILE (the guest's ELF, e.g. build/guest/hello.elf)")
        if not os.path.isfile(path):
            raise HvError("%s: no such file" % path)
        entry, segs = elf_info(path)
        gdb.execute("add-symbol-file %s" % path, to_string=True)
        nm = subprocess.run(["nm", "-n", "--defined-only", path], capture_output=True, text=True)
        GUEST["syms"] = [(int(a, 16), n) for a, t, n in
                         (l.split(None, 2) for l in nm.stdout.splitlines() if l.count(" ") >= 2)
                         if t in "TtWw"]
        gdb.set_convenience_variable("guest_entry", entry)
        print("hv-guest-elf: %s, entry %#x ($guest_entry)" % (path, entry))
        ks, ke = u64(symbol("&_kernel_start", "minihv's kernel")), u64(symbol("&__bss_end", "x"))
        for s, e in segs:
            if s < ke and e > ks:
                print("  its [%#x, %#x) overlaps minihv's own kernel [%#x, %#x): a guest\n"
                      "  address there is also minihv's. gdb's own stop lines may name minihv's\n"
                      "  symbols there, and its x, disassemble and bt read minihv's memory (in\n"
                      "  minihv) or fail (in the guest). Use hv-break to stop in the guest only,\n"
                      "  hv-disas/hv-gva/hv-gpa to read its memory, hv-vcpu for its registers."
                      % (s, e, ks, ke))
                break


class GuestBreakpoint(gdb.Breakpoint):
    skipped = 0  # hits in minihv's own code at a guest breakpoint's address, in all

    def stop(self):
        forget_stop()  # gdb resumes after a passed hit without a cont event: no stale answer
        try:
            if not in_guest():
                GuestBreakpoint.skipped += 1
                return False
            vm, v = vcpu_on_this_cpu(hvms())
            pc = u64(gdb.parse_and_eval("$pc"))
            who = "vCPU %s" % vcpu_tag(vm, v) if v is not None else "a guest"
            print("hv-break: CPU %d stopped in %s at %#x%s (%d hits in minihv's own code "
                  "passed)" % (this_cpu(), who, pc, guest_symbol(pc), GuestBreakpoint.skipped))
        except (HvError, gdb.error) as e:
            print("hv-break: %s" % e)
        return True


class HvBreak(HvCommand):
    """hv-break LOCATION...: hardware breakpoints that stop only in guest code (the
    guest and minihv share addresses: see hv-guest-elf)."""

    def run(self, arg):
        if not arg.strip():
            raise HvError("usage: hv-break LOCATION... (guest symbols, or *ADDRESS)")
        kind = getattr(gdb, "BP_HARDWARE_BREAKPOINT", gdb.BP_BREAKPOINT)
        for loc in arg.split():
            b = GuestBreakpoint(loc, type=kind)
            print("hv-break %d at %s: stops only in the guest" % (b.number, loc))


class HvVcpu(HvCommand):
    """hv-vcpu [VM]: the registers of each of VM's vCPUs, or of the vCPU running on the
    CPU gdb stopped: live from the CPU (stopped in the guest) or the VMCB (SVM), else
    as the last stop left them, each labelled with its source."""

    def run(self, arg):
        if arg.strip():
            hvm = find_vm(arg)
            vs = vcpus_of(hvm)
            if not vs:
                print("hv-vcpu %s: no vCPU (not created yet)" % hvm["name"].string())
        else:
            hvm, v = vcpu_on_this_cpu(hvms())
            if v is None:
                raise HvError("no vCPU runs on CPU %d: name a VM (hv-vms)" % this_cpu())
            vs = [v]
        for v in vs:
            self.show(hvm, v)

    def show(self, vm, v):
        reason = v["last_exit_reason"].int()
        stop = string_array("stop_names", v["stop"].int(), "?")
        tag = vcpu_tag(vm, v)
        if is_svm(v):
            # The same line as dump_vcpu's on SVM (vmx/dump.c).
            print("hv-vcpu %s: last SVM exit %#x (%s) EXITINFO1 %#x stop %s" %
                  (tag, reason & 0xFFFFFFFF, svm_exit_name(reason & 0xFFFFFFFF)
                   if v["stats"]["exits_total"].int() else "none yet",
                   v["last_exit_qual"].int(), stop))
        else:
            rname = string_array("exit_names", reason & 0xFFFF, "UNKNOWN")
            print("hv-vcpu %s: last exit %d (%s) qualification %#x stop %s" %
                  (tag, reason & 0xFFFF, rname, v["last_exit_qual"].int(), stop))
        s = VcpuState(vm, v)
        r = s.regs

        def line(names):
            return "  " + " ".join("%s %#x" % (n, r[n]) for n in names)
        # The same lines as the kernel's dump_vcpu; the gdb test compares them.
        print(line(("rip", "rsp", "rflags")) + " (%s)" % s.source)
        print(line(("rax", "rbx", "rcx", "rdx")))
        print(line(("rsi", "rdi", "rbp", "r8")))
        print(line(("r9", "r10", "r11", "r12")))
        print(line(("r13", "r14", "r15")))
        print(line(("cr0", "cr3", "cr4", "efer")))
        # For hv-disas $vcpu_rip and the like from minihv's side, where $rip is minihv's.
        for n in ("rip", "rsp", "cr3"):
            gdb.set_convenience_variable("vcpu_" + n, r[n])


def svm_exit_name(code):
    """svm/names.c's svm_exit_name(): its table, then the codes above it."""
    if code < 0x90:
        return string_array("svm_exit_names", code, "UNKNOWN")
    if 0x90 <= code <= 0x9f:
        return "CR_WRITE_TRAP"
    return {0x400: "NPF", 0xFFFFFFFF: "INVALID"}.get(code, "UNKNOWN")


MAX_LEN = 4096  # bytes or instructions: each 512 bytes is a monitor round trip


def parse_len(parts, i, default):
    n = int(gdb.parse_and_eval(parts[i])) if len(parts) > i else default
    if not 0 < n <= MAX_LEN:
        raise HvError("a length of %d: give 1 to %d" % (n, MAX_LEN))
    return n


class HvGpa(HvCommand):
    """hv-gpa [VM] GPA [LEN]: LEN bytes (64) of guest-physical memory."""

    def run(self, arg):
        vm, _, parts = split_vm(arg, 1)
        if not parts:
            raise HvError("usage: hv-gpa [VM] GPA [LEN]")
        gpa, n = u64(gdb.parse_and_eval(parts[0])), parse_len(parts, 1, 64)
        print("hv-gpa %s %#x -> hpa %#x" % (vm["name"].string(), gpa, gpa_to_hpa(vm, gpa)))
        hexdump(gpa, gpa_read(vm, gpa, n))


class HvGva(HvCommand):
    """hv-gva [VM] GVA [LEN]: LEN bytes (64) at a guest-virtual address, through the
    guest's page tables (its CR3 from hv-vcpu's source)."""

    def run(self, arg):
        vm, v, parts = split_vm(arg, 1)
        if not parts:
            raise HvError("usage: hv-gva [VM] GVA [LEN]")
        gva, n = u64(gdb.parse_and_eval(parts[0])), parse_len(parts, 1, 64)
        regs = guest_regs_of(vm, v).regs
        gpa = gva_to_gpa(vm, regs, gva)
        print("hv-gva %s %#x -> gpa %#x -> hpa %#x (cr3 %#x)" %
              (vm["name"].string(), gva, gpa, gpa_to_hpa(vm, gpa), regs["cr3"]))
        hexdump(gva, gva_read(vm, regs, gva, n))


class HvDisas(HvCommand):
    """hv-disas [VM] GVA [N]: N (8) guest instructions from a guest-virtual address,
    in the guest's mode (64-bit, 32-bit or real), with its symbols (hv-guest-elf)."""

    def run(self, arg):
        vm, v, parts = split_vm(arg, 1)
        if not parts:
            raise HvError("usage: hv-disas [VM] GVA [N]")
        gva, count = u64(gdb.parse_and_eval(parts[0])), parse_len(parts, 1, 8)
        state = guest_regs_of(vm, v)
        regs = state.regs
        # Up to 15 bytes an instruction (SDM vol. 2A, 2.3.11), stopping short of
        # an unmapped page rather than failing.
        data = gva_read(vm, regs, gva, 15 * count, partial=True)
        mach = "i386:x86-64" if regs["efer"] & EFER_LMA else \
            "i386" if regs["cr0"] & CR0_PE else "i8086"
        tmp = "/tmp/hv-disas-%d.bin" % os.getpid()
        with open(tmp, "wb") as f:
            f.write(data)
        out = subprocess.run(["objdump", "-D", "-b", "binary", "-m", mach, "-M", "intel",
                              "--adjust-vma=%#x" % gva, tmp], capture_output=True, text=True)
        os.unlink(tmp)
        print("hv-disas %s %#x (%s%s)" % (vm["name"].string(), gva, mach,
                                         ", the vCPU's rip marked =>" if state.live else ""))
        n = 0
        for l in out.stdout.splitlines():
            a = l.split(":", 1)[0].strip()
            if n >= count or not a or not all(c in "0123456789abcdef" for c in a) or "\t" not in l:
                continue
            addr = int(a, 16)
            mark = "=>" if state.live and addr == regs["rip"] else "  "
            print("%s %#x%s:%s" % (mark, addr, guest_symbol(addr), l.split(":", 1)[1]))
            n += 1


for cls, name in ((HvGuestElf, "hv-guest-elf"), (HvBreak, "hv-break"), (HvVcpu, "hv-vcpu"),
                  (HvGpa, "hv-gpa"), (HvGva, "hv-gva"), (HvDisas, "hv-disas")):
    cls(name)
