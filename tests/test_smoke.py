"""micrograd's README example, with the numbers computed by karpathy's micrograd itself."""
import pytest

from micrograd_c import Value
from micrograd_c import reference


def readme_example(V):
    a = V(-4.0)
    b = V(2.0)
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    g.backward()
    return g.data, a.grad, b.grad


def test_readme_example_matches_micrograd():
    micrograd = pytest.importorskip("micrograd.engine")
    expected = readme_example(micrograd.Value)
    assert readme_example(Value) == pytest.approx(expected, rel=1e-12)
    assert readme_example(reference.Value) == pytest.approx(expected, rel=1e-12)
    assert [f"{x:.4f}" for x in readme_example(Value)] == ["24.7041", "138.8338", "645.5773"]


def test_c_and_reference_agree_bit_for_bit():
    assert readme_example(Value) == readme_example(reference.Value)
