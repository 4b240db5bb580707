"""`import dlcore` on top of `import numpy`: fresh interpreters, the two commands alternated,
medians. The figure a user feels at the top of every script (issue floor: <= 50 ms)."""
from __future__ import annotations

import os
import statistics
import subprocess
import sys

_CODE = ("import time; t0 = time.perf_counter(); {imports}; "
         "print(time.perf_counter() - t0)")


def _one(imports: str) -> float:
    out = subprocess.run([sys.executable, "-c", _CODE.format(imports=imports)], check=True,
                         capture_output=True, text=True, env=dict(os.environ)).stdout
    return float(out.strip().splitlines()[-1])


def run(quick: bool = False) -> dict:
    reps = 5 if quick else 21
    _one("import numpy, dlcore")  # warm the page cache and any .pyc compilation
    base, with_dlcore = [], []
    for _ in range(reps):  # alternate so machine load hits both columns alike
        base.append(_one("import numpy"))
        with_dlcore.append(_one("import numpy; import dlcore"))
    b, d = statistics.median(base) * 1e3, statistics.median(with_dlcore) * 1e3
    print(f"import numpy            {b:7.1f} ms  (median of {reps} fresh interpreters)")
    print(f"import numpy; dlcore    {d:7.1f} ms")
    print(f"dlcore on top of numpy  {d - b:7.1f} ms")
    return {"numpy_ms": b, "numpy_dlcore_ms": d, "delta_ms": d - b}
