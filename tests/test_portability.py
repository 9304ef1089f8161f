"""The suite collects where POSIX-only modules do not exist (Windows): a test module that imported
one at its top would stop pytest at collection there, and with it the Windows wheel job."""
import os
import re
import subprocess
import sys

TESTS = os.path.dirname(os.path.abspath(__file__))
POSIX_ONLY = ("resource", "fcntl", "termios", "pwd", "grp", "posix_ipc")

COLLECT = """
import sys
for name in {blocked!r}:
    sys.modules[name] = None  # `import name` now raises ImportError, as on Windows
import pytest
sys.exit(pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", {tests!r}]))
"""


def collect(blocked, tests=TESTS):
    """(exit code, output, number of tests collected) of collecting the tests in a new process
    where the modules named in blocked cannot be imported; a collection error is never code 0."""
    r = subprocess.run([sys.executable, "-c", COLLECT.format(blocked=blocked, tests=str(tests))],
                       capture_output=True, text=True, timeout=300, cwd=os.path.dirname(TESTS))
    out = r.stdout + r.stderr
    found = re.search(r"(\d+) tests? collected", out)
    errors = "ERROR collecting" in out or re.search(r"\d+ errors?\b", out) is not None
    return r.returncode if not errors else r.returncode or -1, out, int(found.group(1)) if found else 0


def test_the_suite_collects_without_posix_only_modules():
    code, out, n = collect(POSIX_ONLY)
    assert code == 0, out
    normal_code, normal_out, normal_n = collect(())
    assert normal_code == 0, normal_out
    assert n == normal_n > 500, (n, normal_n)  # every test of the suite, not a part of it


def test_a_top_level_posix_import_would_be_caught(tmp_path):
    """The check above can fail: a module that imports `resource` at its top stops collection."""
    (tmp_path / "test_posix.py").write_text("import resource\n\ndef test_x():\n    assert resource\n")
    code, out, _ = collect(("resource",), tmp_path)
    assert code != 0 and "ERROR collecting" in out, out
