"""The compiled module exports its entry point, not the C++ or CUDA runtime it carries.

A toolchain that links libstdc++ statically (a GCC 13.3 in /opt/gcc on an Ubuntu 24.04 machine
with a GPU did) would otherwise export ~4000 libstdc++ symbols from dlcore/_C; the dynamic linker
binds them to the libstdc++.so.6 that NumPy or torch loaded first, of another version, and the
module runs half its own copy, half theirs: there, formatting a bad-input error segfaulted.
CMakeLists.txt links with --exclude-libs,ALL; this reads the module's dynamic symbol table
(ELF, parsed here so no binutils are needed) and checks that it holds.
"""
import struct
import sys

import pytest

from dlcore import _C

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ELF symbol table: Linux only")

SHT_DYNSYM = 11
STB_GLOBAL, STB_WEAK = 1, 2
STV_DEFAULT = 0


def exported_symbols(path):
    """Names of the symbols a shared object defines and exports (global or weak, default
    visibility), read from its .dynsym section. 64-bit little-endian ELF only."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:4] == b"\x7fELF" and data[4] == 2 and data[5] == 1, f"{path}: not a 64-bit little-endian ELF"
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    names = set()
    for _name, kind, _flags, _addr, offset, size, link, _info, _align, entsize in sections:
        if kind != SHT_DYNSYM:
            continue
        strtab_offset = sections[link][4]
        for pos in range(offset + entsize, offset + size, entsize):        # entry 0 is the null symbol
            st_name, st_info, st_other, st_shndx = struct.unpack_from("<IBBH", data, pos)
            if st_shndx == 0 or st_info >> 4 not in (STB_GLOBAL, STB_WEAK) or st_other & 3 != STV_DEFAULT:
                continue                                                   # undefined, local or hidden
            end = data.index(b"\0", strtab_offset + st_name)
            names.add(data[strtab_offset + st_name:end].decode())
    return names


def test_module_exports_its_entry_point_and_no_runtime_library():
    names = exported_symbols(_C.__file__)
    assert "PyInit__C" in names
    # libstdc++'s own (exception throwing, locales, streams) and the CUDA runtime's entry points:
    # defined here only if a static copy leaked out.
    leaked = sorted(n for n in names
                    if n in ("__cxa_throw", "__cxa_allocate_exception", "cudaMalloc", "cudaLaunchKernel",
                             "cudaGetDeviceCount")
                    or n.startswith(("_ZNSt6locale", "_ZNSo", "_ZNSt8ios_base", "_ZSt9terminate")))
    assert not leaked, f"dlcore/_C exports runtime-library symbols: {leaked[:10]} ({len(leaked)})"
    # Our own code is compiled with hidden visibility: what remains are pybind11's and template
    # instantiations' weak symbols (~100). Thousands mean a whole library leaked.
    assert len(names) < 1000, f"dlcore/_C exports {len(names)} symbols"
