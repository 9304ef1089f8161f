"""The losses against PyTorch (float64) and, on the reference Value, against the reference engine."""
import math

import numpy as np
import pytest

from micrograd_c import Value, nn, reference

SEEDS = range(5)


def inputs(seed):
    """Random predictions, regression targets, +-1 labels, probabilities, 0/1 targets, a class."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 8))
    return {
        "pred": (3 * rng.normal(size=n)).tolist(),
        "target": rng.normal(size=n).tolist(),
        "labels": rng.choice([-1.0, 1.0], size=n).tolist(),
        "probs": rng.uniform(0.01, 0.99, size=n).tolist(),
        "binary": rng.integers(0, 2, size=n).astype(float).tolist(),
        "index": int(rng.integers(0, n)),
    }


# each case: the input that becomes Values, the loss of those Values, the same loss in torch of x
CASES = {
    "mse": ("pred",
            lambda v, d: nn.mse_loss(v, d["target"]),
            lambda torch, x, d: torch.nn.functional.mse_loss(x, torch.tensor(d["target"], dtype=x.dtype))),
    "hinge": ("pred",
              lambda v, d: nn.hinge_loss(v, d["labels"]),
              lambda torch, x, d: torch.relu(1 - torch.tensor(d["labels"], dtype=x.dtype) * x).mean()),
    "bce": ("probs",
            lambda v, d: nn.binary_cross_entropy(v, d["binary"]),
            lambda torch, x, d: torch.nn.functional.binary_cross_entropy(
                x, torch.tensor(d["binary"], dtype=x.dtype))),
    "cross_entropy": ("pred",
                      lambda v, d: nn.cross_entropy(v, d["index"]),
                      lambda torch, x, d: torch.nn.functional.cross_entropy(x, torch.tensor(d["index"]))),
}


def loss_and_grads(V, case, d):
    key, loss_of, _ = CASES[case]
    values = [V(x) for x in d[key]]
    loss = loss_of(values, d)
    loss.backward()
    return loss.data, [v.grad for v in values]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("seed", SEEDS)
def test_loss_matches_torch(case, seed):
    torch = pytest.importorskip("torch")
    d = inputs(seed)
    key, _, torch_loss = CASES[case]
    x = torch.tensor(d[key], dtype=torch.float64, requires_grad=True)
    expected = torch_loss(torch, x, d)
    expected.backward()
    loss, grads = loss_and_grads(Value, case, d)
    assert loss == pytest.approx(expected.item(), rel=1e-12, abs=1e-15)
    assert grads == pytest.approx(x.grad.tolist(), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("seed", SEEDS)
def test_loss_c_and_reference_agree_bit_for_bit(case, seed):
    d = inputs(seed)
    assert loss_and_grads(Value, case, d) == loss_and_grads(reference.Value, case, d)


def test_losses_are_exported_by_both_nn_modules():
    for name in ("mse_loss", "hinge_loss", "binary_cross_entropy", "cross_entropy"):
        assert getattr(nn, name) is getattr(reference.nn, name)


def test_hinge_loss_is_micrograds_svm_loss():
    """The expression of micrograd's demo notebook, with micrograd's own Value."""
    engine = pytest.importorskip("micrograd.engine")
    d = inputs(7)
    scores = [engine.Value(p) for p in d["pred"]]
    losses = [(1 + -yi*scorei).relu() for yi, scorei in zip(d["labels"], scores)]
    expected = sum(losses) * (1.0 / len(losses))
    assert nn.hinge_loss([Value(p) for p in d["pred"]], d["labels"]).data == expected.data


TARGET_KEYS = {"mse": "target", "hinge": "labels", "bce": "binary"}


@pytest.mark.parametrize("case", TARGET_KEYS)
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("form", [np.array, tuple, lambda t: np.array(t, dtype=np.float32).astype(np.float64),
                                  lambda t: iter(t)])
def test_targets_as_numpy_arrays_tuples_or_iterables_give_the_same_bits(case, seed, form):
    """What make_moons returns (a numpy array) is taken as the list of its numbers."""
    d = inputs(seed)
    as_list = loss_and_grads(Value, case, d)
    d[TARGET_KEYS[case]] = form(d[TARGET_KEYS[case]])
    if form is not np.array:
        assert loss_and_grads(Value, case, d)[0] == pytest.approx(as_list[0], rel=1e-6)
    else:
        assert loss_and_grads(Value, case, d) == as_list


def test_integer_numpy_labels_as_make_moons_gives_them():
    y = np.array([0, 1, 1, 0]) * 2 - 1  # numpy ints, -1 and 1
    scores = [Value(x) for x in (0.5, -0.25, 2.0, -3.0)]
    assert nn.hinge_loss(scores, y).data == nn.hinge_loss(scores, y.tolist()).data == (1.5 + 1.25) / 4  # relu(1 + 0.5), relu(1 + 0.25), 0, 0


def test_predictions_as_a_numpy_array_of_values():
    values = [Value(1.0), Value(2.0)]
    assert nn.mse_loss(np.array(values, dtype=object), [0.0, 0.0]).data == 2.5


@pytest.mark.parametrize("target, message", [
    ([1.0], "got 3 predictions and 1 targets"),
    (np.zeros(2), "got 3 predictions and 2 targets"),
    (np.zeros((3, 2)), r"of the same shape, got \(3,\) and \(3, 2\)"),
    (np.zeros((3, 1, 1)), r"1 or 2 dimensions, got shape \(3, 1, 1\)"),
    ([[1.0], [2.0, 3.0], [4.0]], "equal-length lists"),
])
def test_targets_that_do_not_fit_say_how(target, message):
    with pytest.raises(ValueError, match=message):
        nn.mse_loss([Value(1.0), Value(2.0), Value(3.0)], target)


@pytest.mark.parametrize("target", ["abc", object(), None])
def test_targets_that_are_not_numbers_are_a_type_error(target):
    with pytest.raises(TypeError):
        nn.mse_loss([Value(1.0)], target)


def test_single_value_and_list_of_one_agree():
    assert nn.mse_loss(Value(3.0), 1.0).data == nn.mse_loss([Value(3.0)], [1.0]).data == 4.0


def test_cross_entropy_is_stable_for_large_logits():
    torch = pytest.importorskip("torch")
    logits = [1000.0, -1000.0, 999.0]
    x = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
    expected = torch.nn.functional.cross_entropy(x, torch.tensor(2))
    expected.backward()
    values = [Value(z) for z in logits]
    loss = nn.cross_entropy(values, 2)
    loss.backward()
    assert loss.data == pytest.approx(expected.item(), rel=1e-12)
    assert [v.grad for v in values] == pytest.approx(x.grad.tolist(), rel=1e-12, abs=1e-300)


@pytest.mark.parametrize("scale", [1.0, 30.0, 400.0])
def test_cross_entropy_with_class_probabilities_matches_torch(scale):
    """Targets as probabilities (random rows, one-hot rows), one example and batches, against
    torch's probability targets; the same bits on the reference Value."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(int(scale))
    for n, c in [(1, 2), (7, 3), (16, 10)]:
        logits = rng.normal(size=(n, c)) * scale
        probs = rng.dirichlet(np.ones(c), size=n) if n != 7 else np.eye(c)[rng.integers(0, c, n)]
        x = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
        expected = torch.nn.functional.cross_entropy(x, torch.tensor(probs))
        expected.backward()
        for V in (Value, reference.Value):
            values = [[V(z) for z in row] for row in logits.tolist()]
            loss = nn.cross_entropy(values, probs) if n > 1 else nn.cross_entropy(values[0], probs[0])
            loss.backward()
            assert loss.data == pytest.approx(expected.item(), rel=1e-12)
            grads = [v.grad for row in values for v in row]
            assert grads == pytest.approx(x.grad.flatten().tolist(), rel=1e-9, abs=1e-15)
            if V is Value:
                ours = (loss.data, grads)
            else:
                assert (loss.data, grads) == ours  # the reference's bits


def test_cross_entropy_one_hot_and_index_targets_agree():
    rng = np.random.default_rng(5)
    logits = rng.normal(size=(6, 4)) * 3
    labels = rng.integers(0, 4, 6)
    a = nn.cross_entropy([[Value(z) for z in r] for r in logits.tolist()], labels)
    b = nn.cross_entropy([[Value(z) for z in r] for r in logits.tolist()], np.eye(4)[labels])
    assert a.data == pytest.approx(b.data, rel=1e-14)


def test_cross_entropy_passes_no_gradient_through_its_shift():
    """The max it subtracts is detached: the gradient is softmax - onehot exactly as if it were a
    constant (a differentiable max would add rounding noise to the largest logit's grad)."""
    logits = [Value(2.0), Value(-1.0), Value(0.5)]
    loss = nn.cross_entropy(logits, 0)
    loss.backward()
    e = [math.exp(z - 2.0) for z in (2.0, -1.0, 0.5)]
    softmax = [v / sum(e) for v in e]
    assert logits[1].grad == pytest.approx(softmax[1], rel=1e-15)
    assert logits[0].grad == pytest.approx(softmax[0] - 1, rel=1e-14)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="same length"):
        nn.mse_loss([Value(1.0), Value(2.0)], [1.0])
    with pytest.raises(ValueError, match="non-empty"):
        nn.hinge_loss([], [])
    with pytest.raises(IndexError):
        nn.cross_entropy([Value(1.0), Value(2.0)], 2)
    with pytest.raises(IndexError):
        nn.cross_entropy([Value(1.0), Value(2.0)], -1)
    with pytest.raises(TypeError):
        nn.cross_entropy([Value(1.0), Value(2.0)], 1.0)
    with pytest.raises(TypeError, match="probabilities"):
        nn.cross_entropy([Value(1.0), Value(2.0)], Value(1.0))
    with pytest.raises(ValueError, match="one per class"):
        nn.cross_entropy([Value(1.0), Value(2.0)], [0.5, 0.25, 0.25])
    with pytest.raises(ValueError, match="at least one logit"):
        nn.cross_entropy([], 0)
    with pytest.raises(ValueError, match="math domain error"):  # log(0): torch clamps it instead
        nn.binary_cross_entropy([Value(0.0)], [1.0])
