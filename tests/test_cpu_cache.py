"""The host block cache (csrc/core/cpu_allocator.cpp): big CPU blocks are reused, bounded."""
import gc
import os
import subprocess
import sys

import numpy as np
import pytest

import dlcore

MiB = 1 << 20


@pytest.fixture
def cache():
    limit = dlcore.cpu.cache_limit()
    if limit == 0:
        pytest.skip("host block cache disabled (limit 0: AddressSanitizer build or DLCORE_CPU_CACHE_MB=0)")
    dlcore.cpu.empty_cache()
    yield dlcore.cpu
    dlcore.cpu.set_cache_limit(limit)
    dlcore.cpu.empty_cache()


def test_freed_big_block_is_cached_and_reused(cache):
    t = dlcore.empty(3 * MiB // 4)            # 3 MiB of float32: a 64 KiB size class
    del t
    gc.collect()
    assert cache.memory_cached() == 3 * MiB
    u = dlcore.empty(3 * MiB // 4 - 5)        # same size class: takes the cached block
    assert cache.memory_cached() == 0
    del u
    assert cache.memory_cached() == 3 * MiB


def test_mid_size_block_is_cached(cache):
    # A few hundred KiB (one activation of a small recurrent model) is cached too: glibc's
    # heap would otherwise hand such blocks back to the system and fault them in again.
    t = dlcore.empty(400 * 1024 // 4)         # 400 KiB: the 448 KiB size class
    del t
    gc.collect()
    assert cache.memory_cached() == 448 * 1024
    u = dlcore.empty(420 * 1024 // 4)         # same class
    assert cache.memory_cached() == 0
    del u


def test_small_blocks_bypass_the_cache(cache):
    t = dlcore.empty(1000)
    del t
    assert cache.memory_cached() == 0


def test_reused_block_holds_the_new_values(cache):
    n = (5 * MiB) // 4
    a = dlcore.full((n,), 7.0)
    del a
    z = dlcore.zeros(n)                       # the cached block, still full of 7s
    assert cache.memory_cached() == 0
    assert not np.any(z.numpy())
    r = dlcore.arange(n, dtype=dlcore.float32) * 2
    np.testing.assert_array_equal(r.numpy(), np.arange(n, dtype=np.float32) * 2)


def test_limit_is_respected_and_oldest_blocks_go_first(cache):
    cache.set_cache_limit(10 * MiB)
    blocks = [dlcore.empty(4 * MiB // 4), dlcore.empty(6 * MiB // 4), dlcore.empty(8 * MiB // 4)]
    for i in range(3):
        blocks[i] = None                      # freed in order: 4, 6, 8 MiB
        assert cache.memory_cached() <= 10 * MiB
    assert cache.memory_cached() == 8 * MiB   # 4 and 6 were evicted to make room for 8
    cache.set_cache_limit(5 * MiB)            # lowering the limit evicts at once
    assert cache.memory_cached() == 0
    big = dlcore.empty(6 * MiB // 4)
    del big                                   # larger than the whole limit: not kept
    assert cache.memory_cached() == 0


def test_disable_and_empty(cache):
    t = dlcore.empty(2 * MiB // 4)
    del t
    assert cache.memory_cached() > 0
    cache.empty_cache()
    assert cache.memory_cached() == 0
    cache.set_cache_limit(0)
    t = dlcore.empty(2 * MiB // 4)
    del t
    assert cache.memory_cached() == 0
    with pytest.raises(ValueError, match="set_cache_limit"):
        cache.set_cache_limit(-1)


def test_environment_sets_the_limit():
    code = "import dlcore; print(dlcore.cpu.cache_limit())"
    env = dict(os.environ, DLCORE_CPU_CACHE_MB="3")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    limit = int(out.stdout.strip())
    assert limit in (3 * MiB, 0)              # 0: an AddressSanitizer build ignores it
