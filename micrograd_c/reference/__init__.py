"""A pure-Python micrograd_c, written for clarity: the oracle the C engine is tested against."""
from . import nn, optim
from .engine import Value

__all__ = ["Value", "nn", "optim"]
