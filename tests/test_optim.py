"""optim.SGD and optim.Adam: 10 steps against torch.optim (float64) and, to the bit, against the reference."""
import math

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


# ---- state_dict and load_state_dict ----

def trained(name, kwargs, steps, seed=0):
    """(params, optimizer) after `steps` steps on problem(seed)."""
    p0, A, c = problem(seed)
    params = [Value(x) for x in p0]
    opt = getattr(optim, name)(params, **kwargs)
    go_on(params, opt, steps, seed)
    return params, opt


def go_on(params, opt, steps, seed=0):
    _, A, c = problem(seed)
    for _ in range(steps):
        opt.zero_grad()
        objective(params, A, c, lambda v: v.tanh()).backward()
        opt.step()
    return [p.data for p in params]


@pytest.mark.parametrize("name, kwargs", CONFIGS)
def test_a_loaded_state_dict_goes_on_as_the_optimizer_it_came_from(name, kwargs):
    import pickle
    params, opt = trained(name, kwargs, 4)
    state = pickle.loads(pickle.dumps(opt.state_dict()))  # plain Python: saves anywhere
    copies = [Value(p.data) for p in params]
    fresh = getattr(optim, name)(copies, lr=0.5)  # other hyperparameters: all come from the state
    fresh.load_state_dict(state)
    assert fresh.steps == opt.steps == 4
    assert go_on(copies, fresh, 3) == go_on(params, opt, 3)


@pytest.mark.parametrize("name, kwargs", CONFIGS)
def test_state_dict_has_torchs_layout_and_values(name, kwargs):
    torch = pytest.importorskip("torch")
    params, opt = trained(name, kwargs, 3)
    p0, A, c = problem(0)
    p = torch.tensor(p0, dtype=torch.float64, requires_grad=True)
    topt = getattr(torch.optim, name)([p], **kwargs)
    for _ in range(3):
        topt.zero_grad()
        objective(p, torch.tensor(A, dtype=torch.float64), torch.tensor(c, dtype=torch.float64),
                  torch.tanh).backward()
        topt.step()
    ours, theirs = opt.state_dict(), topt.state_dict()
    assert set(ours) == set(theirs) == {"state", "param_groups"}
    (group,), (tgroup,) = ours["param_groups"], theirs["param_groups"]
    assert group["params"] == list(range(len(params)))
    for key, value in group.items():
        if key != "params":
            assert tgroup[key] == pytest.approx(value)
    tstate = theirs["state"].get(0, {})
    for name_ in opt._buffers:
        if tstate.get(name_) is None:  # torch keeps no momentum buffer without momentum
            continue
        assert [ours["state"][i][name_] for i in range(len(params))] == pytest.approx(
            tstate[name_].tolist(), rel=1e-9, abs=1e-12)
    assert all(ours["state"][i]["step"] == 3 for i in range(len(params)))


def test_state_dict_is_empty_before_a_step_and_a_copy_after():
    params = [Value(1.0), Value(2.0)]
    opt = optim.Adam(params, lr=0.1)
    assert opt.state_dict() == {"state": {}, "param_groups": [
        {"lr": 0.1, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "params": [0, 1]}]}
    (params[0] * params[1]).backward()
    opt.step()
    state = opt.state_dict()
    state["state"][0]["exp_avg"] = 123.0  # changing the dict does not change the optimizer
    assert opt.exp_avg[0] != 123.0
    fresh = optim.Adam([Value(1.0), Value(2.0)])
    fresh.load_state_dict(opt.state_dict())
    fresh.exp_avg[1] = 7.0  # nor does the loaded optimizer share arrays with the dict
    assert opt.exp_avg[1] != 7.0


def test_a_state_dict_that_does_not_fit_is_refused_and_changes_nothing():
    params, opt = trained("SGD", dict(lr=0.1, momentum=0.9), 2)
    adam_state = trained("Adam", dict(lr=0.1), 2)[1].state_dict()
    good = opt.state_dict()
    wrong_size = optim.SGD([Value(1.0)], lr=0.1, momentum=0.9).state_dict()
    bad = [
        adam_state,
        wrong_size,
        {"state": {}},
        {"state": {}, "param_groups": []},
        {**good, "param_groups": [{**good["param_groups"][0], "lr": -1.0}]},
        {**good, "state": {i: {**s, "step": 2.5} for i, s in good["state"].items()}},
        {**good, "state": {0: good["state"][0]}},
        "not a dict",
    ]
    before = (opt.state_dict(), opt.momentum_buffer.tolist(), opt.steps)
    for state in bad:
        with pytest.raises(ValueError):
            opt.load_state_dict(state)
        assert (opt.state_dict(), opt.momentum_buffer.tolist(), opt.steps) == before


# ---- learning-rate schedulers ----

SCHEDULERS = [  # (name, kwargs, the rate at epoch e from base rate b, written out here)
    ("StepLR", dict(step_size=3, gamma=0.5), lambda b, e: b * 0.5 ** (e // 3)),
    ("StepLR", dict(step_size=1), lambda b, e: b * 0.1 ** e),
    ("CosineAnnealingLR", dict(T_max=7, eta_min=0.01),
     lambda b, e: 0.01 + (b - 0.01) * (1 + math.cos(math.pi * e / 7)) / 2),
    ("CosineAnnealingLR", dict(T_max=10), lambda b, e: b * (1 + math.cos(math.pi * e / 10)) / 2),
    ("LambdaLR", dict(lr_lambda=lambda e: 0.95 ** e), lambda b, e: b * 0.95 ** e),
]
EPOCHS = 25


def lr_sequence(opt, scheduler):
    """The optimizer's rate at each of EPOCHS epochs, stepping the scheduler after each."""
    rates = []
    for _ in range(EPOCHS):
        rates.append(opt.lr)
        assert scheduler.get_last_lr() == [opt.lr]
        opt.step()
        scheduler.step()
    return rates


@pytest.mark.parametrize("name, kwargs, rate", SCHEDULERS)
def test_schedulers_follow_their_formula_and_torch(name, kwargs, rate):
    params = [Value(1.0)]
    opt = optim.SGD(params, lr=0.3)
    got = lr_sequence(opt, getattr(optim.lr_scheduler, name)(opt, **kwargs))
    assert got == [rate(0.3, e) for e in range(EPOCHS)]
    ref_opt = reference.optim.SGD([reference.Value(1.0)], lr=0.3)  # any optimizer with an lr
    assert lr_sequence(ref_opt, getattr(optim.lr_scheduler, name)(ref_opt, **kwargs)) == got
    torch = pytest.importorskip("torch")
    topt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.3)
    tsched = getattr(torch.optim.lr_scheduler, name)(topt, **kwargs)
    expected = []
    for _ in range(EPOCHS):
        expected.append(topt.param_groups[0]["lr"])
        topt.step()
        tsched.step()
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-15)  # torch updates it recursively


@pytest.mark.parametrize("name, kwargs, rate", SCHEDULERS[:4])
def test_a_scheduler_resumes_from_its_state_dict(name, kwargs, rate):
    import pickle
    opt = optim.SGD([Value(1.0)], lr=0.3)
    sched = getattr(optim.lr_scheduler, name)(opt, **kwargs)
    for _ in range(5):
        opt.step()
        sched.step()
    saved_opt, saved = pickle.dumps(opt.state_dict()), pickle.dumps(sched.state_dict())
    opt2 = optim.SGD([Value(1.0)], lr=0.3)
    sched2 = getattr(optim.lr_scheduler, name)(opt2, **kwargs)
    opt2.load_state_dict(pickle.loads(saved_opt))
    sched2.load_state_dict(pickle.loads(saved))
    assert sched2.last_epoch == 5 and opt2.lr == opt.lr == rate(0.3, 5)
    assert lr_sequence(opt2, sched2) == lr_sequence(opt, sched)


def test_schedulers_refuse_bad_arguments():
    opt = optim.SGD([Value(1.0)], lr=0.3)
    with pytest.raises(ValueError, match="step_size"):
        optim.lr_scheduler.StepLR(opt, step_size=0)
    with pytest.raises(ValueError, match="T_max"):
        optim.lr_scheduler.CosineAnnealingLR(opt, T_max=2.5)
    with pytest.raises(TypeError, match="lr_lambda"):
        optim.lr_scheduler.LambdaLR(opt, lr_lambda=0.5)
    with pytest.raises(KeyError, match="initial_lr"):
        optim.lr_scheduler.StepLR(optim.SGD([Value(1.0)], lr=0.3), step_size=2, last_epoch=4)
    assert opt.lr == 0.3
