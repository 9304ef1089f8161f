"""micrograd_c: karpathy's micrograd with its autograd engine in C.

    from micrograd_c import Value        # or: from micrograd_c.engine import Value
    import micrograd_c; micrograd_c.install_as_micrograd()   # existing micrograd code, unchanged
    micrograd_c.grad(y, [x], create_graph=True)              # torch.autograd.grad
"""
import sys

from .autograd import GradcheckError, grad, gradcheck, gradgradcheck
from .compile import TraceError, compile, get_num_threads, set_num_threads
from .engine import Value, memory_stats, set_node_limit

__version__ = "0.1.0"
__all__ = ["Value", "memory_stats", "set_node_limit", "install_as_micrograd",
           "grad", "gradcheck", "gradgradcheck", "GradcheckError", "compile", "TraceError",
           "set_num_threads", "get_num_threads"]


def install_as_micrograd() -> None:
    """Make `import micrograd`, `micrograd.engine` and `micrograd.nn` resolve to micrograd_c.

    Call it before code written for micrograd imports it: that code then runs on micrograd_c
    unchanged (its Value is micrograd_c.Value, its MLP micrograd_c.nn.MLP)."""
    from . import engine, nn
    sys.modules["micrograd"] = sys.modules[__name__]
    sys.modules["micrograd.engine"] = engine
    sys.modules["micrograd.nn"] = nn
