#!/usr/bin/env python3
"""make mutants: break the invalidation protocol's key lines one at a time and
check that a test notices.

Each mutant in tests/mutants/*.txt (one list per area, read in name order) replaces one exact piece of text in
one source file (it must occur exactly once, or the list is stale and the run
fails). The mutated sources live in a copy of the tree under
$BUILD/mutants/wK/src, never in the tree itself: the kernel that runs is the
one reviewed. For each mutant the copy is rebuilt incrementally and the host
unit tests run, most likely killer first, until one fails; a mutant marked
"kernel: GLOBS" is also checked by the kernel's tests GLOBS under QEMU TCG.

Mutants are independent: MUTANT_JOBS workers (default: one per core) take
them in turn, each with its own copy of the tree and build directory
($BUILD/mutants/wK). The lines are printed in list order all the same.

Prints TAP lines ("ok N name # killed by ...", "not ok N name # SURVIVED"),
then a table, then "N passed, N failed, N skipped": passed = killed, failed =
survived, skipped = listed as equivalent with the reason. Exits non-zero if
any mutant survived or the list is stale.
"""
import os
import queue
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.abspath(os.environ.get("BUILD", os.path.join(ROOT, "build")))
LISTS = os.path.join(ROOT, "tests", "mutants")
WORK = os.path.join(BUILD, "mutants")
JOBS = max(1, int(os.environ.get("MUTANT_JOBS") or os.cpu_count() or 1))


class Worker:
    """One copy of the tree (src) and its build directory (build): a mutant
    owns a worker from its first edit to its restore."""

    def __init__(self, k):
        self.src = os.path.join(WORK, "w%d" % k, "src")
        self.build = os.path.join(WORK, "w%d" % k, "build")
# The host tests most likely to kill a protocol mutant come first.
ORDER = ["test_inval", "test_mmu", "test_mmu_holes", "test_gpc", "test_mm", "test_mm_holes",
         "test_ept", "test_memslot", "test_pt", "test_frame"]
# A host test takes under 5 s (test_smp, the slowest, about 2 s): a mutant that makes
# one run 30 s has hung it, which kills the mutant (memslot-change-during-invalidation).
TIMEOUT = 30


def parse(path):
    """Blocks: 'name: X', 'file: F', optional 'kernel: GLOBS' / 'equivalent: WHY' /
    'first: TESTS' (host tests to try before the file's usual ones),
    'tries: N' (run each of those up to N times: races),
    then 'find:' and 'replace:' sections whose lines are taken verbatim
    (a leading '|' is stripped, so indentation survives any editor)."""
    mutants, cur, section = [], None, None
    with open(path) as f:
        for raw in f:
            line = raw.rstrip("\n")
            if line.startswith("name: "):
                cur = {"name": line[6:].strip(), "find": [], "replace": []}
                mutants.append(cur)
                section = None
            elif cur is None or line.startswith("#") and section is None:
                continue
            elif line in ("find:", "replace:"):
                section = line[:-1]
            elif section and line.startswith("|"):
                cur[section].append(line[1:])
            elif section and line.strip() == "":
                section = None
            elif ": " in line and section is None:
                key, val = line.split(": ", 1)
                cur[key.strip()] = val.strip()
            else:
                sys.exit("%s: cannot read line: %r" % (path, line))
    for m in mutants:
        m["find"] = "\n".join(m["find"])
        m["replace"] = "\n".join(m["replace"])
        if "file" not in m or not m["find"]:
            sys.exit("%s: mutant %s needs file: and find:" % (path, m["name"]))
    return mutants


def copy_tree(w):
    """The tree as git sees it (tracked and untracked, not ignored) into w.src.
    A file whose content changed since the last run is written anew, so its
    mtime is now: a copy keeping the tree's older mtime would leave the
    objects built from the last run's final mutant looking up to date, and
    a mutant would be "killed" by another one's leftovers."""
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                            "--exclude-standard"], cwd=ROOT, check=True,
                           capture_output=True).stdout.decode().split("\0")
    keep = set()
    for rel in files:
        if not rel or not os.path.isfile(os.path.join(ROOT, rel)):
            continue
        keep.add(rel)
        src, dst = os.path.join(ROOT, rel), os.path.join(w.src, rel)
        with open(src, "rb") as f:
            data = f.read()
        if os.path.isfile(dst):
            with open(dst, "rb") as f:
                if f.read() == data:
                    continue
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        with open(dst, "wb") as f:
            f.write(data)
        shutil.copymode(src, dst)
    for d, _, names in os.walk(w.src):
        for name in names:
            rel = os.path.relpath(os.path.join(d, name), w.src)
            if rel not in keep:
                os.remove(os.path.join(d, name))


def make(w, *targets):
    r = subprocess.run(["make", "-s", "-C", w.src, "BUILD=" + w.build]
                       + list(targets), capture_output=True, text=True)
    return r.returncode == 0, r.stdout + r.stderr


# The host tests that exercise a file most directly run first for its mutants.
FIRST = {
    "ept/inval.c": ["test_inval"], "ept/fault.c": ["test_mmu"], "ept/notify.c": ["test_mmu"],
    "ept/vm_memslot.c": ["test_mmu"], "ept/check.c": ["test_mmu_holes"], "ept/gpc.c": ["test_gpc"],
    "ept/unsync.c": ["test_unsync"], "ept/shadow.c": ["test_shadow", "test_shadow_rules"],
    "ept/shadow_notify.c": ["test_shadow"], "mm/mm.c": ["test_mm", "test_mm_holes"],
    "mm/pt.c": ["test_pt"], "virt/remote.c": ["test_remote"], "virt/vcpu.h": ["test_remote"]}


def host_tests(first=None):
    names = sorted(f[:-2] for f in os.listdir(os.path.join(ROOT, "tests", "host"))
                   if f.startswith("test_") and f.endswith(".c"))
    order = [n for n in (first or []) if n in names] + [n for n in ORDER if n in names]
    return list(dict.fromkeys(order + names))


class Broken(Exception):
    """The mutated tree does not build: the mutant proves nothing (fix the list)."""


def first_failure(output):
    for line in output.splitlines():
        if line.startswith("not ok "):
            return line.split(None, 3)[3] if len(line.split(None, 3)) > 3 else line
    return None


def build_host(w, names):
    """One make for them all: make reads the Makefile and every .d file once."""
    ok, out = make(w, *[os.path.join(w.build, "host", n) for n in names])
    if not ok:
        raise Broken("%s does not build: %s" % (" ".join(names) if len(names) < 3 else "the host tests",
                                                " ".join(out.strip().splitlines()[-2:])))


def run_host(w, name, built=False):
    exe = os.path.join(w.build, "host", name)
    if not built:
        build_host(w, [name])
    try:
        # Line-buffered (stdbuf preloads a library: tell ASan that is fine), so
        # that a test binary that aborts keeps the "not ok" lines before it.
        env = dict(os.environ, ASAN_OPTIONS="verify_asan_link_order=0")
        r = subprocess.run(["stdbuf", "-oL", exe], capture_output=True, text=True,
                           timeout=TIMEOUT, stdin=subprocess.DEVNULL, env=env)
    except subprocess.TimeoutExpired:
        return "%s (timed out)" % name
    if r.returncode == 0:
        return None
    what = first_failure(r.stdout) or ("crashed, exit %d" % r.returncode)
    return "%s: %s" % (name, what)


# The images `test.sh qemu` boots (NPT and mmu=shadow) and its part for each.
# One missing would make every run fail, and every kernel mutant look killed.
IMAGES = [("minihv-test.iso", "qemu-tcg"), ("minihv-shadow.iso", "qemu-shadow")]


def run_kernel(w, m):
    """The kernel's tests m["kernel"] under QEMU TCG, on each image in turn
    until one fails: the first failure kills the mutant, the other image
    would only say so again. A shadow-paging mutant tries mmu=shadow first."""
    images = IMAGES[::-1] if "shadow" in m["file"] + m["kernel"] else IMAGES
    env = dict(os.environ, BUILD=w.build)
    for iso, part in images:
        ok, out = make(w, "TESTS=" + m["kernel"], os.path.join(w.build, iso))
        if not ok:
            raise Broken("the kernel does not build: %s" % " ".join(out.strip().splitlines()[-2:]))
        r = subprocess.run([os.path.join(w.src, "scripts", "test.sh"), part], cwd=w.src, env=env,
                           capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if r.returncode == 0:
            continue
        for line in r.stdout.splitlines():
            if "| not ok" in line:
                return "kernel (QEMU TCG): " + line.split("| not ok", 1)[1].split(None, 1)[-1]
        return "kernel (QEMU TCG): run failed"
    return None


def try_mutant(w, n, m):
    """Apply mutant m in worker w, look for a test that kills it, restore.
    Returns (TAP line, table row, outcome)."""
    path = os.path.join(w.src, m["file"])
    with open(os.path.join(ROOT, m["file"])) as f:
        orig = f.read()
    count = orig.count(m["find"])
    if count != 1:
        return ("not ok %d %s # STALE: the text to replace occurs %d times in %s"
                % (n, m["name"], count, m["file"]),
                (m["name"], m["file"], "STALE (list out of date)"), "stale")
    if "equivalent" in m:
        return ("ok %d %s # SKIP equivalent: %s" % (n, m["name"], m["equivalent"]),
                (m["name"], m["file"], "equivalent: " + m["equivalent"]), "skipped")
    start = time.time()
    with open(path, "w") as f:
        f.write(orig.replace(m["find"], m["replace"]))
    broken = None
    first = m["first"].split() if "first" in m else FIRST.get(m["file"], [])
    # The likeliest killers first: the file's own host tests and the first
    # of ORDER, then the kernel tests the list names (a boot costs what a sweep of every host
    # test, each relinked, costs), then the other host tests, until one fails.
    everything = host_tests(first)
    nfirst = len(set(first) & set(everything)) + 3  # and the top of ORDER
    firsts, rest = everything[:nfirst], everything[nfirst:]
    try:
        by = None
        # tries: N runs each of them up to N times: a race test kills only
        # when its threads run at once, which a loaded machine may not give
        # on one try (vcpu-register-unlocked survived one make test so).
        for t in firsts:
            for _ in range(int(m.get("tries", 1))):
                by = by or run_host(w, t)
        if not by and "kernel" in m:
            by = run_kernel(w, m)
        if not by:
            # Past the likeliest killers: build the rest in one make (it reads
            # the Makefile and every .d file once), run them one by one.
            build_host(w, rest)
            for t in rest:
                by = by or run_host(w, t, built=True)
    except Broken as e:
        broken = str(e)
    finally:
        with open(path, "w") as f:
            f.write(orig)
    secs = time.time() - start
    if broken:
        return ("not ok %d %s # BROKEN: %s" % (n, m["name"], broken),
                (m["name"], m["file"], "BROKEN (does not build)"), "stale")
    if by:
        return ("ok %d %s # killed by %s (%.0fs)" % (n, m["name"], by, secs),
                (m["name"], m["file"], by), "killed")
    return ("not ok %d %s # SURVIVED (%.0fs)" % (n, m["name"], secs),
            (m["name"], m["file"], "SURVIVED"), "survived")


def main():
    only = sys.argv[1:]
    lists = sorted(os.path.join(LISTS, f) for f in os.listdir(LISTS) if f.endswith(".txt"))
    mutants = [m for path in lists for m in parse(path) if not only or m["name"] in only]
    workers = [Worker(k) for k in range(min(JOBS, max(1, len(mutants))))]

    def prepare(w):
        copy_tree(w)
        return make(w, *[os.path.join(w.build, "host", t) for t in host_tests()])

    with ThreadPoolExecutor(len(workers)) as ex:
        for ok, out in ex.map(prepare, workers):
            if not ok:
                sys.exit("mutants: the unmutated tree does not build:\n" + out)
    print("TAP version 13\n1..%d" % len(mutants))
    sys.stdout.flush()
    free = queue.Queue()
    for w in workers:
        free.put(w)

    def one(n, m):
        w = free.get()
        try:
            return try_mutant(w, n, m)
        finally:
            free.put(w)

    # Results print in list order, each as soon as those before it are in.
    rows, counts = [], {"killed": 0, "survived": 0, "skipped": 0, "stale": 0}
    with ThreadPoolExecutor(len(workers)) as ex:
        futures = [ex.submit(one, n, m) for n, m in enumerate(mutants, 1)]
        for fut in futures:
            line, row, outcome = fut.result()
            print(line)
            sys.stdout.flush()
            rows.append(row)
            counts[outcome] += 1
    killed, survived, skipped, stale = (counts[k] for k in ("killed", "survived", "skipped", "stale"))
    w0 = max(len(r[0]) for r in rows) if rows else 6
    w1 = max(len(r[1]) for r in rows) if rows else 4
    print("# %-*s  %-*s  %s" % (w0, "mutant", w1, "file", "killed by"))
    for r in rows:
        print("# %-*s  %-*s  %s" % (w0, r[0], w1, r[1], r[2]))
    print("%d passed, %d failed, %d skipped" % (killed, survived + stale, skipped))
    return 0 if survived + stale == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
