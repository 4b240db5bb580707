"""Ops called from several Python threads at once: kernels release the GIL, so the allocator's
block cache, GEMM packing buffers, convolution workspaces and the RNG must be safe. Each thread
computes known results; all must match the single-threaded ones."""
import threading

import numpy as np

import dlcore
import dlcore.nn.functional as F

N_THREADS = 4


def _run_in_threads(fn, n=N_THREADS):
    out, errors = [None] * n, []

    def body(i):
        try:
            out[i] = fn(i)
        except BaseException as e:         # noqa: BLE001 — reported below
            errors.append(e)
    ts = [threading.Thread(target=body, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors, errors
    return out


def test_gemm_conv_pool_from_many_threads_match_serial():
    rng = np.random.default_rng(0)
    a = [rng.standard_normal((257, 129), dtype=np.float32) for _ in range(N_THREADS)]
    b = [rng.standard_normal((129, 300), dtype=np.float32) for _ in range(N_THREADS)]
    x = [rng.standard_normal((4, 3, 33, 33), dtype=np.float32) for _ in range(N_THREADS)]
    w = rng.standard_normal((8, 3, 3, 3), dtype=np.float32)

    def work(i):
        res = []
        for _ in range(5):                 # repeated: blocks go back to the cache and get reused
            m = dlcore.tensor(a[i]) @ dlcore.tensor(b[i])
            xi = dlcore.tensor(x[i], requires_grad=True)
            y = F.max_pool2d(F.relu(F.conv2d(xi, dlcore.tensor(w), padding=1)), 2)
            y.sum().backward()
            big = dlcore.ones(1 << 19) * float(i)          # 2 MiB: through the block cache
            res.append((m.numpy().copy(), y.detach().numpy().copy(), xi.grad.numpy().copy(),
                        float(big.sum())))
        return res
    serial = [work(i) for i in range(N_THREADS)]
    threaded = _run_in_threads(work)
    for s_runs, t_runs in zip(serial, threaded):
        for s, t in zip(s_runs, t_runs):
            for u, v in zip(s, t):
                np.testing.assert_array_equal(u, v)


def test_random_draws_from_threads_never_repeat_counters():
    dlcore.manual_seed(123)
    draws = _run_in_threads(lambda i: [dlcore.rand(1000).numpy().copy() for _ in range(50)])
    got = np.sort(np.concatenate([d for per in draws for d in per]))
    # Each draw reserved its own block of 1000 counters, so together the threads drew exactly
    # the numbers of 200 consecutive serial draws (in some order), none twice.
    dlcore.manual_seed(123)
    want = np.sort(np.concatenate([dlcore.rand(1000).numpy() for _ in range(N_THREADS * 50)]))
    np.testing.assert_array_equal(got, want)


def test_training_steps_in_parallel_threads_match_serial():
    def train(i):
        dlcore.manual_seed(0)                               # same init in every thread
        rng = np.random.default_rng(i)
        X = dlcore.tensor(rng.standard_normal((64, 10), dtype=np.float32))
        y = dlcore.tensor(rng.integers(0, 3, 64))
        return X, y
    data = [train(i) for i in range(N_THREADS)]
    dlcore.manual_seed(0)
    inits = [dlcore.nn.Linear(10, 3).state_dict() for _ in range(N_THREADS)]

    def fit(i):
        net = dlcore.nn.Linear(10, 3)
        net.load_state_dict(inits[i])
        opt = dlcore.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
        X, y = data[i]
        for _ in range(20):
            opt.zero_grad()
            F.cross_entropy(net(X), y).backward()
            opt.step()
        return net.weight.detach().numpy().copy()
    serial = [fit(i) for i in range(N_THREADS)]
    threaded = _run_in_threads(fit)
    for s, t in zip(serial, threaded):
        np.testing.assert_array_equal(s, t)
