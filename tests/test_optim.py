"""optim.SGD and optim.Adam: 10 steps against torch.optim (float64) and, to the bit, against the reference."""
import numpy as np
import pytest

from micrograd_c import Value, optim, reference

CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.5, weight_decay=0.1)),
    ("SGD", dict(lr=0.1, weight_decay=0.01)),
    ("Adam", dict()),
    ("Adam", dict(lr=0.1)),
    ("Adam", dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
]
STEPS = 10


def problem(seed):
    rng = np.random.default_rng(seed)
    return rng.normal(size=6).tolist(), rng.normal(size=(3, 6)).tolist(), rng.normal(size=6).tolist()


def objective(p, A, c, tanh):
    """sum_i tanh(A_i . p)**2 + sum_j (p_j - c_j)**2 / 2: a few ops of each kind, same in every engine."""
    fit = sum(tanh(sum(a * pj for a, pj in zip(row, p)))**2 for row in A)
    return fit + sum((pj - cj)**2 for pj, cj in zip(p, c)) * 0.5


def train(make_value, make_optimizer, seed, lr_at=None):
    """The parameters after each of STEPS steps (with the learning rate lr_at(k) at step k, if given)."""
    p0, A, c = problem(seed)
    params = [make_value(x) for x in p0]
    opt = make_optimizer(params)
    history = []
    for k in range(STEPS):
        if lr_at:
            opt.lr = lr_at(k)
        opt.zero_grad()
        objective(params, A, c, lambda v: v.tanh()).backward()
        opt.step()
        history.append([p.data for p in params])
    return history


@pytest.mark.parametrize("name, kwargs", CONFIGS)
@pytest.mark.parametrize("seed", range(3))
def test_matches_torch_optim(name, kwargs, seed):
    torch = pytest.importorskip("torch")
    p0, A, c = problem(seed)
    p = torch.tensor(p0, dtype=torch.float64, requires_grad=True)
    opt = getattr(torch.optim, name)([p], **kwargs)
    expected = []
    for _ in range(STEPS):
        opt.zero_grad()
        objective(p, torch.tensor(A, dtype=torch.float64), torch.tensor(c, dtype=torch.float64),
                  torch.tanh).backward()
        opt.step()
        expected.append(p.tolist())
    got = train(Value, lambda params: getattr(optim, name)(params, **kwargs), seed)
    for step, (g, e) in enumerate(zip(got, expected)):
        assert g == pytest.approx(e, rel=1e-9, abs=1e-12), f"step {step + 1}"
    assert got[-1] != got[0]  # it did move


@pytest.mark.parametrize("name, kwargs", CONFIGS)
def test_c_and_reference_agree_bit_for_bit(name, kwargs):
    got = train(Value, lambda params: getattr(optim, name)(params, **kwargs), 5)
    expected = train(reference.Value, lambda params: getattr(reference.optim, name)(params, **kwargs), 5)
    assert got == expected


def test_learning_rate_can_change_between_steps():
    """As micrograd's demo decays it: every step reads the attribute."""
    decay = lambda k: 1.0 - 0.09 * k  # noqa: E731
    got = train(Value, lambda params: optim.SGD(params, lr=1.0, momentum=0.5), 1, decay)
    expected = train(reference.Value, lambda params: reference.optim.SGD(params, lr=1.0, momentum=0.5), 1, decay)
    constant = train(Value, lambda params: optim.SGD(params, lr=1.0, momentum=0.5), 1)
    assert got == expected != constant


def test_zero_grad():
    params = [Value(1.0), Value(2.0)]
    (params[0] * params[1]).backward()
    optim.Adam(params).zero_grad()
    assert [p.grad for p in params] == [0.0, 0.0]


def test_bad_arguments_raise():
    p = Value(1.0)
    with pytest.raises(ValueError, match="empty"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError):
        optim.SGD([1.0], lr=0.1)
    with pytest.raises(TypeError):
        optim.Adam([reference.Value(1.0)])
    with pytest.raises(ValueError, match="more than once"):
        optim.SGD([p, p], lr=0.1)
    with pytest.raises(ValueError, match="learning rate"):
        optim.SGD([p], lr=-1.0)
    with pytest.raises(ValueError, match="momentum"):
        optim.SGD([p], lr=0.1, momentum=-0.5)
    with pytest.raises(ValueError, match="betas"):
        optim.Adam([p], betas=(1.0, 0.999))
    with pytest.raises(ValueError, match="eps"):
        optim.Adam([p], eps=-1.0)


def test_state_arrays_are_checked_before_c_uses_them():
    params = [Value(1.0), Value(2.0)]
    opt = optim.Adam(params)
    opt.exp_avg = np.zeros(1)  # too short: C would write past its end
    with pytest.raises(ValueError, match="one entry per parameter"):
        opt.step()
    sgd = optim.SGD(params, lr=0.1, momentum=0.9)
    sgd.momentum_buffer = np.zeros(2, dtype=np.float32)
    with pytest.raises(ValueError, match="float64"):
        sgd.step()
    assert [p.data for p in params] == [1.0, 2.0]


def test_params_are_fixed():
    params = [Value(1.0)]
    opt = optim.SGD(params, lr=0.1)
    params.append(Value(2.0))
    assert len(opt.params) == 1
    with pytest.raises(AttributeError):
        opt.params = params


@pytest.mark.parametrize("name, kwargs", CONFIGS)
def test_copies_and_pickles_of_an_optimizer_step_on_their_own_parameters(name, kwargs):
    import copy
    import pickle

    def make(params):
        return getattr(optim, name)(params, **kwargs)

    p0, A, c = problem(0)
    params = [Value(x) for x in p0]
    opt = make(params)
    for _ in range(3):
        opt.zero_grad()
        objective(params, A, c, lambda v: v.tanh()).backward()
        opt.step()
    for clone in (lambda x: copy.deepcopy(x), lambda x: pickle.loads(pickle.dumps(x))):
        cparams, copt = clone((params, opt))
        assert copt.params == tuple(cparams) and copt.steps == opt.steps
        assert not any(cp is p for cp, p in zip(cparams, params))
        for ps, o in ((params, opt), (cparams, copt)):  # both go on, each on its own parameters
            o.zero_grad()
            objective(ps, A, c, lambda v: v.tanh()).backward()
            o.step()
        assert [p.data for p in cparams] == [p.data for p in params]


@pytest.mark.parametrize("steps", [-5, 2.0, "3", None])
def test_a_bad_step_count_says_so(steps):
    for opt in (optim.SGD([Value(1.0)], lr=0.1), optim.Adam([Value(1.0)])):
        opt.steps = steps
        with pytest.raises(ValueError, match="steps must be an int"):
            opt.step()
