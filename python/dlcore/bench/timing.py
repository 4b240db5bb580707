"""Timing helpers: warm up, then the median of repeated measurements."""
from __future__ import annotations

import statistics
import time


def median_time(fn, min_time=0.3, max_reps=200, min_reps=5, settle=0.25):
    """Median seconds per call of fn(). Short calls are grouped so each sample lasts >= ~2 ms.

    `settle` seconds of sleep come first: the thread pools of the library measured just before
    (OpenBLAS, PyTorch's OpenMP) keep spinning for a while after their last call, and on a
    2-core machine those spinning threads would otherwise steal a core from this measurement.
    """
    if settle:
        time.sleep(settle)
    fn()  # warm-up: first-touch page faults, thread-pool start, packing buffers
    t0 = time.perf_counter()
    fn()
    one = max(time.perf_counter() - t0, 1e-7)
    group = max(1, int(2e-3 / one))
    samples = []
    start = time.perf_counter()
    while len(samples) < min_reps or (time.perf_counter() - start < min_time and len(samples) < max_reps):
        t0 = time.perf_counter()
        for _ in range(group):
            fn()
        samples.append((time.perf_counter() - t0) / group)
    return statistics.median(samples)


def interleaved_times(fns, rounds=5, min_time=0.1, **kw):
    """{name: [median seconds per call in round r]} for the callables in `fns` (a dict).

    The libraries take turns, round after round, instead of one long run each: on a shared
    (virtual) machine the speed drifts by 10-30% over seconds, and back-to-back blocks would
    charge that drift to whichever library happened to run during a slow stretch. Ratios
    are then taken within a round (same conditions) and summarised by their median.
    """
    out = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            out[name].append(median_time(fn, min_time=min_time, **kw))
    return out


def median_ratio(num, den):
    """Median over rounds of num[r] / den[r] (two lists from interleaved_times)."""
    return statistics.median(n / d for n, d in zip(num, den))


def measure(fn, flops=None, nbytes=None, **kw):
    """(seconds, GFLOP/s or None, GB/s or None)."""
    s = median_time(fn, **kw)
    return s, (flops / s / 1e9 if flops else None), (nbytes / s / 1e9 if nbytes else None)
