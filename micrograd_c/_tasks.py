"""What the training tasks of `python -m micrograd_c` share: their optional dependencies, their
progress bar, their seeds and their clock. (Each task is a module: moons, digits, names, cartpole.)"""
import importlib
import random
import sys
import time

import numpy as np


class MissingExtra(ImportError):
    """A task's optional dependency is not installed; the message names the extra to install."""


def need(module: str, extra: str, what: str):
    """import_module(module), or MissingExtra naming the pip extra that brings it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        package = {"sklearn": "scikit-learn"}.get(module, module)
        raise MissingExtra(f"{what} needs {package}: pip install 'micrograd-c[{extra}]'") from None


def progress(total: int, unit: str, desc: str | None = None):
    """A tqdm bar on stderr (stdout keeps the results)."""
    from tqdm import tqdm
    return tqdm(total=total, unit=unit, desc=desc, file=sys.stderr, dynamic_ncols=True)


def seed_all(seed: int) -> None:
    """Seed Python's and numpy's global generators (micrograd's MLP draws from Python's)."""
    random.seed(seed)
    np.random.seed(seed)


class Clock:
    """Seconds spent inside `with clock:` blocks, summed (training time without evaluation)."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __enter__(self):
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds += time.perf_counter() - self._start
