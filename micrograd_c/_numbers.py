"""What both engines take as a number: what Python's float arithmetic takes as a real number."""
import numbers


def as_float(x):
    """x as a float if it is a real number, else None.

    Real numbers are those of `numbers.Real` (int, float, bool, Fraction, numpy's integer and
    floating scalars) and numpy's bool_ and 0-d arrays of bool, integer or floating dtype, which
    `1.0 + x` takes too. Not: str, complex, Decimal (`1.0 + Decimal(1)` is a TypeError), arrays
    with ndim >= 1. An int too large for a double raises OverflowError, as float(x) does.
    """
    if isinstance(x, numbers.Real):
        return float(x)
    # numpy is not imported here: a numpy object has already brought it in
    if type(x).__module__ == "numpy" and getattr(x, "ndim", None) == 0 and x.dtype.kind in "biuf":
        return float(x)
    return None
