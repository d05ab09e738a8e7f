#!/bin/bash
# Dependencies point down: tests -> boot -> vmx|svm -> virt -> ept -> mm -> lib -> arch
# (../shared/DESIGN.md, "Layout"). Fails, naming file and line, on
#  - an #include of a header of a higher layer (a circle between files of
#    different areas always contains one);
#  - a call from an object of the kernel build into a higher layer (read from
#    the objects with nm, when $BUILD/k holds them);
#  - a source file over 600 lines;
#  - an #include, from another area, of a header that is not its area's one
#    public header (PUBLIC below); tests/ test the areas' insides and may
#    include any header below them.
# guest/ holds the guest ABI and the guest programs: any layer may include
# its headers, and it includes nothing but arch and itself.
# Usage: check-layers.sh [--self-test] [ROOT]   (ROOT: the tree, default the repository)
set -u
here=$(cd "$(dirname "$0")" && pwd)
if [ "${1:-}" = --self-test ]; then
	# Plant an upward include in a copy of the tree: the check must fail and name it;
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	(cd "$here/.." && git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t "$tmp" 2>/dev/null)
	# and a private header of a lower area in another.
	sed -i '0,/^#include/s//#include "ept\/vm.h"\n#include/' "$tmp/mm/pt.c"
	sed -i '0,/^#include/s//#include "mm\/frame.h"\n#include/' "$tmp/vmx/vcpu.c"
	out=$(BUILD=/nonexistent "$here/check-layers.sh" "$tmp" 2>&1)
	if [ $? -ne 0 ] && grep -q '^mm/pt.c:[0-9]*: .*includes ept/vm.h' <<< "$out" &&
	   grep -q '^vmx/vcpu.c:[0-9]*: includes mm/frame.h, private to mm/' <<< "$out"; then
		echo "ok 1 check_layers_catches_upward_and_private_includes"
		echo "1 passed, 0 failed, 0 skipped"
		exit 0
	fi
	echo "not ok 1 check_layers_catches_upward_and_private_includes"
	echo "# a planted include (mm/pt.c, vmx/vcpu.c) went unnoticed:"
	sed 's/^/# /' <<< "$out" | tail -5
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
fi
ROOT=${1:-$here/..}
BUILD=${BUILD:-$ROOT/build}
exec python3 - "$ROOT" "$BUILD" <<'PY'
import os, re, subprocess, sys

root, build = sys.argv[1], sys.argv[2]
RANK = {"arch": 0, "lib": 1, "mm": 2, "ept": 3, "virt": 4, "vmx": 5, "svm": 5, "boot": 6,
        "tests": 7}
# Entered from below by the hardware or the boot loader, not called: the
# exception stubs call the handler, the boot path calls kmain.
ENTRY_POINTS = {"trap_handler", "kmain", "kernel_start64"}
MAX_LINES = 600
# Each area's one public header; the others are private to their area.
PUBLIC = {"arch": "arch/x86/arch.h", "lib": "lib/lib.h", "mm": "mm/mm.h",
          "ept": "ept/vm.h", "virt": "virt/vcpu.h", "vmx": "vmx/vmx.h", "svm": "svm/svm.h"}

r = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=root,
                   capture_output=True, text=True)
if r.returncode == 0:
    files = r.stdout.split()
else:  # not a git checkout (the self-test's copy): every file but build output
    files = []
    for d, dirs, names in os.walk(root):
        dirs[:] = [x for x in dirs if x != "build" and not x.startswith(".")]
        files += [os.path.relpath(os.path.join(d, n), root) for n in names]
files = [f for f in files if os.path.isfile(os.path.join(root, f))]
headers = set(f for f in files if f.endswith(".h"))


def area(path):
    return path.split("/")[0]


def allowed(src, dst):
    if src == "guest":
        return dst in ("guest", "arch")
    if dst == "guest":
        return True
    # The backends (vmx, svm) share a rank and never use each other.
    return src in RANK and dst in RANK and (src == dst or RANK[dst] < RANK[src])


bad = []
for f in files:
    a = area(f) if f.endswith((".c", ".h", ".S", ".asm")) else None
    if a not in RANK and a != "guest":
        continue
    with open(os.path.join(root, f), errors="replace") as fh:
        lines = fh.readlines()
    if len(lines) > MAX_LINES:
        bad.append("%s:%d: %d lines, more than %d: split it by idea"
                   % (f, MAX_LINES + 1, len(lines), MAX_LINES))
    for n, line in enumerate(lines, 1):
        m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
        if not m:
            continue
        h = m.group(1)
        if h not in headers:
            bad.append("%s:%d: includes \"%s\": headers are included by their path "
                       "from the top of the tree" % (f, n, h))
            continue
        b = area(h)
        if not allowed(a, b):
            bad.append("%s:%d: %s (%s) includes %s (%s): upward" % (f, n, f, a, h, b))
        elif a != b and a not in ("tests", "guest") and b in PUBLIC and h != PUBLIC[b]:
            bad.append("%s:%d: includes %s, private to %s/: include %s"
                       % (f, n, h, b, PUBLIC[b]))

# Calls, from the kernel's objects: who defines a symbol, who uses it.
objdir = os.path.join(build, "k")
if os.path.isdir(objdir):
    defs, uses = {}, []
    for dirpath, _, names in os.walk(objdir):
        for name in names:
            if not name.endswith(".o"):
                continue
            obj = os.path.join(dirpath, name)
            src = os.path.relpath(obj, objdir)[:-2]
            # Only objects of sources that exist: a build dir keeps old ones.
            if not any(os.path.isfile(os.path.join(root, src + e)) for e in (".c", ".S", ".asm")):
                continue
            out = subprocess.run(["nm", obj], capture_output=True, text=True).stdout
            for l in out.splitlines():
                parts = l.split()
                if len(parts) == 3 and parts[1] in "TDBR":
                    defs[parts[2]] = src
                elif len(parts) == 2 and parts[0] == "U":
                    uses.append((src, parts[1]))
    for src, sym in uses:
        if sym not in defs or sym in ENTRY_POINTS:
            continue
        a, b = src.split("/")[0], defs[sym].split("/")[0]
        if a in RANK and b in RANK and not allowed(a, b):
            bad.append("%s: calls or uses %s, defined in %s (%s): upward"
                       % (src, sym, defs[sym], b))

for line in sorted(set(bad)):
    print(line)
if bad:
    print("check-layers: %d problem(s); layers, bottom up: arch, lib, mm, ept, virt, vmx|svm, boot, tests"
          % len(set(bad)))
    sys.exit(1)
print("check-layers: dependencies point down (arch <- lib <- mm <- ept <- virt <- vmx|svm <- boot <- tests)")
PY
