"""Which functions' machine code differs between two CMake build directories.

    python tools/compare_builds.py BUILD_A BUILD_B [N]

Disassembles every kernel object file (not the bindings) of both builds and compares each
function's instructions with addresses, offsets and symbol names blanked out, so moving code
between translation units (unity batches) or reordering files does not count as a change.
Prints how many functions are the same / differ / exist in one build only, then the first N
names of each group. A function that is the same needs no speed A/B; code placement can
still differ (a tight loop that now crosses a 64-byte line can run slower with the same
instructions, see benchmarks/notes/2026-12-03-buildtime.md)."""
import subprocess, sys, re, glob, collections, hashlib
def funcs(bdir):
    d = {}
    for o in glob.glob(f"{bdir}/CMakeFiles/**/*.o", recursive=True):
        if "bindings" in o: continue
        out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", o], capture_output=True, text=True).stdout
        cur = None; buf = []
        for l in out.splitlines():
            m = re.match(r"^[0-9a-f]+ <(.*)>:$", l)
            if m:
                if cur: d[cur] = "\n".join(buf)
                cur = m.group(1); buf = []
            elif cur and "\t" in l:
                ins = l.split(":", 1)[1] if ":" in l else l
                ins = ins.split("#")[0]; ins = re.sub(r"<[^>]*>", "", ins); ins = re.sub(r"0x[0-9a-f]+", "", ins); ins = re.sub(r"\b[0-9a-f]+\b", "", ins)
                buf.append(ins.strip())
        if cur: d[cur] = "\n".join(buf)
    return d
a, b = funcs(sys.argv[1]), funcs(sys.argv[2])
dem = lambda n: subprocess.run(["c++filt", n], capture_output=True, text=True).stdout.strip()
same = diff = onlya = onlyb = 0; out = collections.defaultdict(list)
for n in sorted(set(a) | set(b)):
    if n in a and n in b:
        if a[n] == b[n]: same += 1
        else: diff += 1; out["differs"].append(n)
    elif n in a: onlya += 1; out["only A"].append(n)
    else: onlyb += 1; out["only B"].append(n)
print(f"same {same} differs {diff} onlyA {onlya} onlyB {onlyb}")
for k, v in out.items():
    print("==", k, len(v))
    for n in v[: int(sys.argv[3]) if len(sys.argv) > 3 else 40]: print("  ", dem(n)[:150])
