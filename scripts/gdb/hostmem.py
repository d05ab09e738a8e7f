# Reading minihv's own memory and its VMs from gdb at any stop, in minihv or
# in a guest (QEMU's GDB stub). Sourced by scripts/gdbinit after minihv.py,
# whose helpers it uses, and before guest.py, which uses these (all run in
# gdb's __main__).
#
# Why not gdb's own memory access: QEMU's stub shows the CPU as it runs.
# While a guest runs (SVM under QEMU TCG) the CPU's registers are the
# guest's, and QEMU translates gdb's addresses through the guest's CR3 as if
# guest-physical were host-physical, so reads of minihv's structures fail or
# return guest memory. QEMU's monitor (`xp`) reads host-physical memory in
# either case, and minihv maps memory 1:1 (arch/x86/hal.h: phys_to_virt), so
# a host address is the physical one.

CR0_PG = 1 << 31
VCPU_IN_GUEST = 1  # enum vcpu_mode (virt/vcpu.h)


# ---- host-physical memory, from either context ----

def monitor_xp(pa, n):
    try:
        out = gdb.execute("monitor xp /%dxb %#x" % (n, pa), to_string=True)
    except gdb.error as e:
        raise HvError("cannot read host-physical %#x through QEMU's monitor (%s): "
                      "these commands need QEMU's GDB stub" % (pa, e))
    data = []
    for line in out.splitlines():
        if ":" in line:
            data += [int(t, 16) for t in line.split(":", 1)[1].split()]
    if len(data) < n:
        raise HvError("cannot read host-physical %#x (QEMU says: %s)" % (pa, out.strip()))
    return bytes(data[:n])


# What one stop showed, forgotten when the target runs again: whether each
# CPU (gdb thread) runs a guest, the host's page-table root, and the 256-byte
# chunks of host memory read through the monitor.
STOP = {"in_guest": {}, "root": None, "chunks": {}}
CHUNK = 256


def forget_stop(_event=None):
    STOP["in_guest"].clear()
    STOP["chunks"].clear()
    STOP["root"] = None


gdb.events.cont.connect(forget_stop)
gdb.events.stop.connect(forget_stop)
gdb.events.memory_changed.connect(forget_stop)


def host_root():
    """host_mm.pt.root, the same on every CPU: 0 while minihv boots."""
    if STOP["root"] is None:
        addr = u64(symbol("&host_mm.pt.root", "the host page tables"))
        STOP["root"] = int.from_bytes(monitor_xp(addr, 8), "little")
    return STOP["root"]


def in_guest():
    """True while the CPU gdb stopped runs the guest: its CR3 is not the host's
    (or its paging is off) once the host has its page tables."""
    t = selected_thread().num
    if t not in STOP["in_guest"]:
        root = host_root()
        cr0 = u64(gdb.parse_and_eval("$cr0"))
        cr3 = u64(gdb.parse_and_eval("$cr3"))
        # A root of 0: minihv is still booting, no guest yet.
        STOP["in_guest"][t] = bool(root) and (not cr0 & CR0_PG or cr3 & ADDR_MASK != root)
    return STOP["in_guest"][t]


def hread(addr, n):
    """Host memory (1:1 mapped: virtual is physical)."""
    if not in_guest():
        try:
            return bytes(gdb.selected_inferior().read_memory(addr, n))
        except gdb.MemoryError:
            raise HvError("cannot read memory at %#x" % addr)
    # Through the monitor, a chunk at a time: each is a round trip, and the
    # commands read a structure's fields, a table's entries, one by one.
    out = b""
    while len(out) < n:
        a = addr + len(out)
        base = a - a % CHUNK
        if base not in STOP["chunks"]:
            STOP["chunks"][base] = monitor_xp(base, CHUNK)
        out += STOP["chunks"][base][a - base:a - base + n - len(out)]
    return out


class HObj:
    """A host structure at an address, read field by field with hread()."""

    def __init__(self, addr, typ):
        self.addr, self.type = addr, typ.strip_typedefs()

    def __getitem__(self, key):
        if isinstance(key, int):
            elt = self.type.target()
            return HObj(self.addr + key * elt.sizeof, elt)
        for f in self.type.fields():
            if f.name == key:
                return HObj(self.addr + f.bitpos // 8, f.type)
        raise HvError("%s has no field %s" % (self.type, key))

    def int(self):
        """Its value as its C type gives it (signed, bool, pointer)."""
        return int(gdb.Value(hread(self.addr, self.type.sizeof), self.type))

    def deref(self):
        return HObj(self.int(), self.type.target())

    def string(self):
        p = self.int()
        raw = hread(p, 64) if p else b""
        return raw.split(b"\0", 1)[0].decode("ascii", "replace")


def string_array(name, idx, default):
    """Entry @idx of the kernel's string table @name (stop_names, exit_names),
    or @default past its end or where it is NULL."""
    arr = symbol(name, name)
    if not 0 <= idx < int(arr.type.sizeof // arr[0].type.sizeof):
        return default
    p = HObj(u64(arr.address), arr.type)[idx]
    return p.string() if p.int() else default


# ---- VMs and vCPUs, read without gdb's own memory access ----

def vcpus_of(vm):
    vcpu = gdb.lookup_type("struct vcpu")  # vm->vcpus[] holds void *
    ptrs = (vm["vcpus"][i].int() for i in range(vm["nr_vcpus"].int()))
    out = [HObj(p, vcpu) for p in ptrs if p]
    if not out and vm["vcpu"].int():
        out.append(vm["vcpu"].deref())
    return out


def hvms():
    """(index, vm) of each live VM in vm_registry."""
    reg = symbol("vm_registry", "the VM registry")
    arr = HObj(u64(reg.address), reg.type)
    n = int(reg.type.sizeof // reg[0].type.sizeof)
    return [(i, arr[i].deref()) for i in range(n) if arr[i].int()]


def vm_names(vms):
    return ", ".join("%d %s" % (i, vm["name"].string()) for i, vm in vms) or "none yet"


def selected_thread():
    t = gdb.selected_thread()
    if t is None:
        raise HvError("no target: is QEMU still running (make debug)?")
    return t


def this_cpu():
    return selected_thread().num - 1  # QEMU: thread N is CPU N-1


def vcpu_on_this_cpu(vms):
    """(vm, vcpu) of the vCPU running on the CPU gdb stopped, or (None, None)."""
    cpu = this_cpu()
    for _, vm in vms:
        for v in vcpus_of(vm):
            if v["cpu"].int() == cpu and v["in_run"].int():
                return vm, v
    return None, None


def find_vm(arg):
    """The VM @arg names: a name, a registry index, or an expression of type
    struct vm * (or struct vm)."""
    arg = arg.strip()
    if not arg:
        raise HvError("which VM? give a name, an index or a struct vm * (see hv-vms)")
    vms = hvms()
    for _, vm in vms:
        if vm["name"].string() == arg:
            return vm
    if arg.isdigit():
        for i, vm in vms:
            if i == int(arg):
                return vm
        raise HvError("no live VM at index %s (live: %s)" % (arg, vm_names(vms)))
    try:
        v = gdb.parse_and_eval(arg)
    except gdb.error:
        raise HvError("no VM named '%s' (live: %s)" % (arg, vm_names(vms)))
    return HObj(u64(v if v.type.code == gdb.TYPE_CODE_PTR else v.address),
                gdb.lookup_type("struct vm"))


def split_vm(arg, nmin):
    """[VM] ARGS...: a first word naming a live VM picks it; else the VM
    running on this CPU, or the only live one. Returns the VM, the vCPU that
    runs on this CPU (None if it is not one of the VM's) and the other words."""
    parts = arg.split()
    vms = hvms()
    vm, v = vcpu_on_this_cpu(vms)
    if len(parts) > nmin:
        for _, named in vms:
            if named["name"].string() == parts[0]:
                return named, v if vm is not None and vm.addr == named.addr else None, parts[1:]
    if vm is None:
        if len(vms) != 1:
            raise HvError("which VM? no vCPU runs on CPU %d and %d VMs are live (%s): "
                          "name one first" % (this_cpu(), len(vms), vm_names(vms)))
        vm = vms[0][1]
    return vm, v, parts


def is_svm(v):
    return v["be"].deref()["name"].string() == "SVM"


def vcpu_tag(vm, v):
    name = vm["name"].string()
    return "%s/%d" % (name, v["number"].int()) if vm["nr_vcpus"].int() > 1 else name
