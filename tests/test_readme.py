"""The README's Python examples run as written, each in a fresh interpreter (one of them makes
`import micrograd` mean micrograd_c), in a scratch folder (one saves a model)."""
import os
import re
import shutil
import subprocess
import sys

import pytest

README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")


def python_blocks():
    if not os.path.exists(README):  # (the tests run against an installed wheel, without it)
        return []
    with open(README, encoding="utf-8") as f:
        return re.findall(r"```python\n(.*?)```", f.read(), flags=re.S)


@pytest.mark.parametrize("code", python_blocks(), ids=lambda code: code.splitlines()[0][:40])
def test_readme_example_runs(code, tmp_path):
    if "import torch" in code:
        pytest.importorskip("torch")
    if "micrograd_c.viz" in code:
        pytest.importorskip("graphviz")
        pytest.importorskip("matplotlib")
        if shutil.which("dot") is None:
            pytest.skip("Graphviz's dot is not installed")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                       cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    for expected in re.findall(r"print\(f['\"]\{\w+\.\w+:\.4f\}['\"]\)\s+# (-?\d+\.\d{4})", code):
        assert expected in r.stdout.split(), (expected, r.stdout)  # the numbers its comments give
    if "# True" in code:  # every line that says it prints True does
        assert r.stdout.split() == ["True"] * code.count("# True"), r.stdout


def test_the_readme_has_examples():
    if not os.path.exists(README):
        pytest.skip("no README beside the tests (an installed wheel's run)")
    assert len(python_blocks()) >= 4
