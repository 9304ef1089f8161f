#!/usr/bin/env bash
# Run the whole test suite against the C core built with AddressSanitizer, LeakSanitizer and
# UBSan. Exits non-zero on any sanitizer report or failing test.
#
# The build goes into a copy of the tree in a temporary directory: rebuilding in place would
# replace the _core .so that other processes (an editable install, other test runs) are using.
# Needs gcc (for its libasan) and the test dependencies in the current Python.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# The interpreter itself, not a wrapper script (pyenv's shims are bash: ASan would check bash).
PYTHON="$("${PYTHON:-python3}" -c 'import sys; print(sys.executable)')"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/micrograd_c_sanitize.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# The checkout's files, tracked or new, without what .gitignore names (builds, caches, .venv).
cd "$ROOT"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files -z --cached --others --exclude-standard |
        tar --null --ignore-failed-read -T - -cf - | tar -xf - -C "$WORK"
else  # an unpacked sdist, say
    cp -r . "$WORK"
    rm -f "$WORK"/micrograd_c/_core*.so
fi
cd "$WORK"
MICROGRAD_C_SANITIZE=1 "$PYTHON" setup.py -q build_ext --inplace >build.log 2>&1 || { cat build.log; exit 1; }


# The runtime must be loaded before anything else: python itself is not built with ASan. So must
# libstdc++, or ASan cannot find the real __cxa_throw and the first C++ exception (matplotlib,
# torch) stops the process with "CHECK failed".
PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libstdc++.so)"

# Only the C core's leaks count. CPython, numpy, torch, the system libraries they load (libcrypto,
# fontconfig...) and programs the tests run (graphviz's dot: it inherits LD_PRELOAD) leave memory
# behind at exit by design, so a leak allocated in a file under Python's prefixes, in those
# libraries or in a program is suppressed. Stacks are two frames deep (malloc_context_size=2):
# ASan's malloc and its caller, and each malloc of ours is called from our module, so none of our
# leaks carries a frame from elsewhere that a suppression could match. LSan matches a pattern
# anywhere in a frame's file path, so no pattern may occur in our module's path or libasan's
# (the first frame of every leak): those are left out.
"$PYTHON" - "$WORK/micrograd_c/" "$(gcc -print-file-name=libasan.so)" >lsan.supp <<'PY'
import os, site, sys, sysconfig
ours, libasan = sys.argv[1], sys.argv[2]
dirs = {sys.prefix, sys.base_prefix, sys.exec_prefix, *site.getsitepackages(), site.getusersitepackages(),
        sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"]}
files = {os.path.realpath(sys.executable),
         os.path.join(sysconfig.get_config_var("LIBDIR") or "", sysconfig.get_config_var("LDLIBRARY") or "")}
libraries = ["/bin/", "libc.so", "libstdc++", "ld-linux", "libgomp", "libcrypto", "libssl", "libexpat",
             "libfontconfig", "libfreetype", "libglib", "libgobject", "libpango", "libcairo", "libxml2",
             "libgvc", "libcgraph", "libcdt", "libpathplan", "libxdot", "libltdl"]
patterns = sorted({d.rstrip("/") + "/" for d in dirs} | files) + libraries
keep = lambda p: not any(p in path for path in (ours, libasan, os.path.realpath(libasan)))
print("\n".join(f"leak:{p}" for p in patterns if keep(p)))
PY

# Only Python runs under ASan (and the Python subprocesses some tests start: they inherit it).
# Reports go to files: pytest captures stderr, and a process a sanitizer stops loses its
# captured output.
mkdir reports
sanitized() {
    LD_PRELOAD="$PRELOAD" \
    ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:allocator_may_return_null=1:malloc_context_size=2:log_path=$WORK/reports/asan" \
    LSAN_OPTIONS="suppressions=$WORK/lsan.supp:print_suppressions=0" \
    UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$WORK/reports/ubsan" \
    "$PYTHON" "$@"
}

# Make sure it is this build that gets tested.
sanitized -c "
import micrograd_c._core as c
assert c.__file__.startswith('$WORK/'), c.__file__
assert b'__asan_init' in open(c.__file__, 'rb').read(), 'not built with ASan'
"

run_suite() {
    rm -rf reports && mkdir reports
    status=0
    sanitized -m pytest -q -p no:cacheprovider "$@" || status=$?
}
# LeakSanitizer's own tracer now and then crashes as it stops the world at exit ("Tracer caught
# signal 11"): then no leak check ran at all. Only then, the suite runs once more.
tracer_crash_only() {
    [ -n "$(ls reports)" ] && grep -q "LeakSanitizer has encountered a fatal error" reports/* &&
        ! grep -q -E "ERROR: AddressSanitizer|detected memory leaks|runtime error" reports/*
}
run_suite "$@"
if tracer_crash_only; then
    echo "sanitize.sh: LeakSanitizer's tracer crashed at exit (no check ran); running the suite again" >&2
    run_suite "$@"
fi
if [ -n "$(ls reports)" ]; then
    cat reports/*
    echo "sanitize.sh: sanitizer reports above" >&2
    status=1
fi
[ "$status" -eq 0 ] && echo "sanitize.sh: no sanitizer reports, all tests passed"
exit "$status"
