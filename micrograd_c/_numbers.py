"""What both engines take as a number: what Python's float arithmetic takes as a real number."""
import numbers


_REAL_TYPES = set()  # the types of numbers.Real seen so far: isinstance on an ABC is slow


def as_float(x: object) -> float | None:
    """x as a float if it is a real number, else None.

    Real numbers are those of `numbers.Real` (int, float, bool, Fraction, numpy's integer and
    floating scalars) and numpy's bool_ and 0-d arrays of bool, integer or floating dtype, which
    `1.0 + x` takes too. Not: str, complex, Decimal (`1.0 + Decimal(1)` is a TypeError), arrays
    with ndim >= 1. An int too large for a double raises OverflowError, as float(x) does.
    """
    if type(x) in _REAL_TYPES:  # (numpy's integer scalars, say: `-y * score` in a loss)
        return float(x)
    if isinstance(x, numbers.Real):
        _REAL_TYPES.add(type(x))
        return float(x)
    # numpy is not imported here: a numpy object has already brought it in
    if type(x).__module__ == "numpy" and getattr(x, "ndim", None) == 0 and x.dtype.kind in "biuf":
        return float(x)
    return None
