"""cffi build script: compiles csrc/ into micrograd_c._core (API, out-of-line mode).

setup.py names this file in `cffi_modules`, so `pip install .` runs it. The C
API declared here is micrograd.h's, minus the preprocessor lines cffi cannot read.
Set MICROGRAD_C_SANITIZE=1 to build with AddressSanitizer and UBSan.
"""
import os
import sys

from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCES = ["store.c", "ops.c", "backward.c", "replay.c", "threads.c", "optim.c"]


def _cdef():
    with open(os.path.join(HERE, "micrograd.h")) as f:
        lines = [line for line in f if not line.lstrip().startswith("#")]
    return "".join(lines)


def _compile_args():
    if sys.platform == "win32":
        return ["/std:c11", "/fp:precise", "/W3"], []
    # -ffp-contract=off: no fused multiply-adds, whose single rounding would make a*b + c differ
    # from Python's (and the reference's) two roundings in the last bit.
    args = ["-std=c11", "-O2", "-fvect-cost-model=dynamic", "-Wall", "-Wextra", "-ffp-contract=off"]
    link = []
    if os.environ.get("MICROGRAD_C_SANITIZE") == "1":
        san = ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined",
               "-fno-omit-frame-pointer", "-g"]
        args = [a for a in args if a != "-O2"] + ["-O1"] + san
        link = san
    return args, link


compile_args, link_args = _compile_args()
ffibuilder = FFI()
ffibuilder.cdef(_cdef())
ffibuilder.set_source(
    "micrograd_c._core",
    '#include "micrograd.h"',
    sources=[os.path.join("csrc", s) for s in SOURCES],
    include_dirs=["csrc"],
    extra_compile_args=compile_args,
    extra_link_args=link_args,
    libraries=[] if sys.platform == "win32" else ["m"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
