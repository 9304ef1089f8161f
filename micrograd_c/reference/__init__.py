"""A pure-Python micrograd_c, written for clarity: the oracle the C engine is tested against."""
from . import nn
from .engine import Value

__all__ = ["Value", "nn"]
