"""pydl.optimizers: SGD / Adam / AdamW / RMSProp against torch.optim (or a
numpy reference when torch is missing), lr changes between steps,
minimize(), argument validation."""
import numpy as np
import pytest

from pydl import ops, optimizers
from pydl.optimizers import SGD, Adam, AdamW, RMSProp, minimize

CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3)),
    ("SGD", dict(lr=0.1, momentum=0.8, nesterov=True)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("SGD", dict(lr=0.1, weight_decay=0.05)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.02, betas=(0.85, 0.95), weight_decay=0.2)),
    ("RMSProp", dict(lr=0.01)),
    ("RMSProp", dict(lr=0.01, alpha=0.9, eps=1e-6, weight_decay=0.05)),
    ("RMSProp", dict(lr=0.005, momentum=0.9)),
]
IDS = [f"{n}-{'-'.join(k for k in c if k != 'lr') or 'plain'}" for n, c in CONFIGS]
TORCH_NAMES = {"SGD": "SGD", "Adam": "Adam", "AdamW": "AdamW", "RMSProp": "RMSprop"}


def numpy_reference(name, cfg, params, grads_seq, lrs=None):
    """The torch.optim update rules in float64 numpy."""
    ps = [p.astype(np.float64).copy() for p in params]
    st = [dict() for _ in ps]
    for step, grads in enumerate(grads_seq, start=1):
        lr = cfg["lr"] if lrs is None else lrs[step - 1]
        for p, g, s in zip(ps, grads, st):
            g = g.astype(np.float64)
            if name == "SGD":
                mom, damp = cfg.get("momentum", 0.0), cfg.get("dampening", 0.0)
                g = g + cfg.get("weight_decay", 0.0) * p
                if mom:
                    s["v"] = g.copy() if step == 1 else mom * s["v"] + (1 - damp) * g
                    g = g + mom * s["v"] if cfg.get("nesterov") else s["v"]
                p -= lr * g
            elif name in ("Adam", "AdamW"):
                b1, b2 = cfg.get("betas", (0.9, 0.999))
                eps = cfg.get("eps", 1e-8)
                wd = cfg.get("weight_decay", 0.0 if name == "Adam" else 0.01)
                if name == "AdamW":
                    p *= 1 - lr * wd
                else:
                    g = g + wd * p
                s.setdefault("m", np.zeros_like(p))
                s.setdefault("v", np.zeros_like(p))
                s["m"] = b1 * s["m"] + (1 - b1) * g
                s["v"] = b2 * s["v"] + (1 - b2) * g * g
                mhat = s["m"] / (1 - b1 ** step)
                denom = np.sqrt(s["v"]) / np.sqrt(1 - b2 ** step) + eps
                p -= lr * mhat / denom
            else:
                alpha, eps = cfg.get("alpha", 0.99), cfg.get("eps", 1e-8)
                mom = cfg.get("momentum", 0.0)
                g = g + cfg.get("weight_decay", 0.0) * p
                s["sq"] = alpha * s.get("sq", 0.0) + (1 - alpha) * g * g
                avg = np.sqrt(s["sq"]) + eps
                if mom:
                    s["b"] = mom * s.get("b", 0.0) + g / avg
                    p -= lr * s["b"]
                else:
                    p -= lr * g / avg
    return ps


def torch_reference(name, cfg, params, grads_seq, lrs=None):
    torch = pytest.importorskip("torch")
    tp = [torch.tensor(p.astype(np.float64), requires_grad=True) for p in params]
    opt = getattr(torch.optim, TORCH_NAMES[name])(tp, **cfg)
    for step, grads in enumerate(grads_seq):
        if lrs is not None:
            for group in opt.param_groups:
                group["lr"] = lrs[step]
        for t, g in zip(tp, grads):
            t.grad = torch.tensor(g.astype(np.float64))
        opt.step()
    return [t.detach().numpy() for t in tp]


def run_pydl(name, cfg, params, grads_seq, dtype, lrs=None):
    opt = getattr(optimizers, name)(**cfg)
    ps = [np.array(p, dtype=dtype, copy=True) for p in params]
    for step, grads in enumerate(grads_seq):
        if lrs is not None:
            opt.lr = lrs[step]
        opt.step([(p, np.ascontiguousarray(g, dtype=dtype)) for p, g in zip(ps, grads)])
    return ps


def make_problem(rng, steps=6):
    params = [rng.normal(0, 1, (5, 4)), rng.normal(0, 1, (7,))]
    grads_seq = [[rng.normal(0, 1, p.shape) for p in params] for _ in range(steps)]
    return params, grads_seq


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("name, cfg", CONFIGS, ids=IDS)
def test_matches_numpy_reference(name, cfg, dtype, rng):
    params, grads_seq = make_problem(rng)
    got = run_pydl(name, cfg, params, grads_seq, dtype)
    ref = numpy_reference(name, cfg, params, grads_seq)
    tol = 1e-12 if dtype == np.float64 else 2e-5
    for g, r in zip(got, ref):
        assert g.dtype == dtype
        np.testing.assert_allclose(g, r, rtol=tol, atol=tol)


@pytest.mark.parametrize("name, cfg", CONFIGS, ids=IDS)
def test_matches_torch(name, cfg, rng):
    pytest.importorskip("torch")
    params, grads_seq = make_problem(rng)
    got = run_pydl(name, cfg, params, grads_seq, np.float64)
    ref = torch_reference(name, cfg, params, grads_seq)
    for g, r in zip(got, ref):
        np.testing.assert_allclose(g, r, rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("name, cfg", [CONFIGS[1], CONFIGS[6], CONFIGS[9], CONFIGS[12]],
                         ids=[IDS[1], IDS[6], IDS[9], IDS[12]])
def test_lr_change_between_steps(name, cfg, rng):
    params, grads_seq = make_problem(rng, steps=5)
    lrs = [cfg["lr"], cfg["lr"] * 0.5, 0.0, cfg["lr"] * 2, cfg["lr"] * 0.1]
    got = run_pydl(name, cfg, params, grads_seq, np.float64, lrs)
    try:
        ref = torch_reference(name, cfg, params, grads_seq, lrs)
    except pytest.skip.Exception:
        ref = numpy_reference(name, cfg, params, grads_seq, lrs)
    for g, r in zip(got, ref):
        np.testing.assert_allclose(g, r, rtol=1e-11, atol=1e-12)
    # and the schedule matters: a constant lr gives something else
    const = run_pydl(name, cfg, params, grads_seq, np.float64)
    assert not np.allclose(const[0], got[0])


def test_lr_zero_leaves_params_but_keeps_state(rng):
    p = rng.normal(0, 1, 6)
    before = p.copy()
    opt = SGD(lr=0.0, momentum=0.9)
    opt.step([(p, rng.normal(0, 1, 6))])
    np.testing.assert_array_equal(p, before)
    assert opt.state[id(p)]["step"] == 1 and "velocity" in opt.state[id(p)]


@pytest.mark.parametrize("make, update", [
    (lambda: SGD(lr=0.1), lambda p, g, st, k: ops.sgd_update(p, g, None, 0.1)),
    (lambda: SGD(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
     lambda p, g, st, k: ops.sgd_update(p, g, st, 0.1, 0.9, 0.0, True, 0.01, k == 1)),
    (lambda: Adam(lr=0.01, weight_decay=0.1),
     lambda p, g, st, k: ops.adam_update(p, g, st[0], st[1], k, 0.01, weight_decay=0.1)),
    (lambda: AdamW(lr=0.01, weight_decay=0.1),
     lambda p, g, st, k: ops.adam_update(p, g, st[0], st[1], k, 0.01, weight_decay=0.1,
                                         decoupled_weight_decay=True)),
], ids=["sgd", "sgd_nesterov_wd", "adam", "adamw"])
def test_step_in_one_call_equals_the_op_per_parameter(make, update, rng):
    # SGD and Adam update all parameters in one call; the result must be the
    # op's, parameter by parameter, bit for bit (float32 and float64 mixed,
    # a non-contiguous gradient converted as the op converts it)
    params = [rng.standard_normal(s).astype(dt) for s, dt in
              (((3, 4), np.float32), ((5,), np.float64), ((2, 3, 2), np.float32))]
    ref = [p.copy() for p in params]
    states = [(np.zeros_like(p), np.zeros_like(p)) for p in ref]
    opt = make()
    for k in (1, 2, 3):
        grads = [rng.standard_normal(p.shape).astype(p.dtype) for p in params]
        grads[2] = np.asfortranarray(grads[2])
        opt.step(list(zip(params, grads)))
        for p, g, st in zip(ref, grads, states):
            update(p, g, st[0] if isinstance(opt, SGD) else st, k)
    for p, r in zip(params, ref):
        np.testing.assert_array_equal(p, r)


def test_step_in_one_call_rejects_like_the_op(rng):
    good = (np.zeros(3, np.float32), np.ones(3, np.float32))
    with pytest.raises(TypeError, match="sgd_update: expected param of dtype"):
        SGD(lr=0.1).step([good, (np.zeros(3, np.int64), np.ones(3))])
    with pytest.raises(ValueError, match="adam_update: grad has shape"):
        Adam().step([good, (np.zeros(3), np.ones(4))])
    p = np.zeros(4)
    with pytest.raises(ValueError, match="share memory"):
        SGD(lr=0.1, momentum=0.9).step([(p, p)])


def test_state_per_parameter(rng):
    a, b = rng.normal(0, 1, 3), rng.normal(0, 1, 3)
    opt = Adam(lr=0.1)
    opt.step([(a, np.ones(3)), (b, np.ones(3))])
    opt.step([(a, np.ones(3))])
    assert opt.state[id(a)]["step"] == 2 and opt.state[id(b)]["step"] == 1
    assert opt.state[id(a)]["exp_avg"] is not opt.state[id(b)]["exp_avg"]


# --------------------------------------------------------------------------
# minimize: the seed document's first example
# --------------------------------------------------------------------------
def test_minimize_x_squared():
    r = minimize(lambda x: float(x ** 2), lambda x: 2 * x, 5.0, SGD(lr=0.1), steps=100)
    assert abs(float(r.x)) < 1e-8 and r.fun < 1e-15
    assert len(r.history) == 100 and r.history[0] == 25.0
    assert all(a > b for a, b in zip(r.history, r.history[1:]))
    # plain gradient descent: x_k = 5 * 0.8**k
    assert r.history[3] == pytest.approx((5 * 0.8 ** 3) ** 2)


def test_minimize_shifted_quadratic_default_optimizer():
    r = minimize(lambda x: float((x - 3) ** 2), lambda x: 2 * (x - 3), 0.0, "sgd", steps=100,
                 lr=0.1)
    assert round(float(r.x), 6) == 3.0
    assert np.shape(r.x) == ()


@pytest.mark.parametrize("opt", [SGD(lr=0.05, momentum=0.9), Adam(lr=0.1), AdamW(lr=0.1,
                                 weight_decay=0.0), RMSProp(lr=0.01)],
                         ids=["sgd_momentum", "adam", "adamw", "rmsprop"])
def test_minimize_vector_quadratic(opt):
    target = np.array([[1.0, -2.0], [0.5, 3.0]])
    scale = np.array([[1.0, 2.0], [3.0, 0.5]])
    f = lambda x: float(np.sum(scale * (x - target) ** 2))
    g = lambda x: 2 * scale * (x - target)
    r = minimize(f, g, np.zeros((2, 2)), opt, steps=1000)
    assert r.x.shape == (2, 2)
    np.testing.assert_allclose(r.x, target, atol=1e-3)
    assert r.fun < 1e-5 and r.history[0] == f(np.zeros((2, 2)))


def test_minimize_zero_steps():
    r = minimize(lambda x: float(np.sum(x ** 2)), lambda x: 2 * x, [1.0, 2.0], steps=0)
    np.testing.assert_array_equal(r.x, [1.0, 2.0])
    assert r.fun == 5.0 and r.history == []


def test_minimize_does_not_modify_x0():
    x0 = np.array([1.0, 2.0])
    minimize(lambda x: float(np.sum(x ** 2)), lambda x: 2 * x, x0, steps=3, lr=0.1)
    np.testing.assert_array_equal(x0, [1.0, 2.0])


def test_minimize_errors():
    f, g = (lambda x: float(np.sum(x ** 2))), (lambda x: 2 * x)
    with pytest.raises(TypeError, match="callables"):
        minimize(1.0, g, 0.0)
    with pytest.raises(ValueError, match="steps"):
        minimize(f, g, 0.0, steps=-1)
    with pytest.raises(ValueError, match="steps"):
        minimize(f, g, 0.0, steps=2.5)
    with pytest.raises(ValueError, match="finite"):
        minimize(f, g, [0.0, np.nan])
    with pytest.raises(ValueError, match="shape"):
        minimize(f, lambda x: np.zeros(3), np.zeros(2), steps=1)
    with pytest.raises(ValueError, match="unknown optimizer"):
        minimize(f, g, 0.0, "lbfgs")
    with pytest.raises(TypeError, match=r"\['lr'\] were given with an optimizer object"):
        minimize(f, g, 0.0, SGD(lr=0.1), steps=3, lr=0.5)  # lr would be silently ignored
    with pytest.raises(TypeError, match="momentum"):
        minimize(f, g, 0.0, "sgd", momentum_typo=0.9)


# --------------------------------------------------------------------------
# Validation and names
# --------------------------------------------------------------------------
@pytest.mark.parametrize("make, exc, match", [
    (lambda: SGD(lr=-0.1), ValueError, "lr"),
    (lambda: SGD(lr=float("nan")), ValueError, "lr"),
    (lambda: SGD(lr=float("inf")), ValueError, "lr"),
    (lambda: SGD(lr="0.1"), TypeError, "lr"),
    (lambda: SGD(lr=True), TypeError, "lr"),
    (lambda: SGD(momentum=-0.5), ValueError, "momentum"),
    (lambda: SGD(weight_decay=-1), ValueError, "weight_decay"),
    (lambda: SGD(nesterov=True), ValueError, "nesterov"),
    (lambda: SGD(momentum=0.9, dampening=0.1, nesterov=True), ValueError, "nesterov"),
    (lambda: Adam(lr=-1), ValueError, "lr"),
    (lambda: Adam(betas=(0.9, 1.0)), ValueError, "betas"),
    (lambda: Adam(betas=(1.0, 0.9)), ValueError, "betas"),
    (lambda: Adam(betas=(-0.1, 0.9)), ValueError, "betas"),
    (lambda: Adam(betas=0.9), TypeError, "betas"),
    (lambda: Adam(eps=-1e-8), ValueError, "eps"),
    (lambda: AdamW(weight_decay=-0.01), ValueError, "AdamW: weight_decay"),
    (lambda: RMSProp(alpha=1.5), ValueError, "alpha"),
    (lambda: RMSProp(alpha=-0.1), ValueError, "alpha"),
    (lambda: RMSProp(momentum=-1), ValueError, "momentum"),
    (lambda: RMSProp(eps=None), TypeError, "eps"),
])
def test_argument_validation(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


def test_get_by_name_and_repr():
    assert isinstance(optimizers.get("sgd"), SGD)
    assert isinstance(optimizers.get("Adam"), Adam)
    assert isinstance(optimizers.get("adamw"), AdamW)
    assert isinstance(optimizers.get("rmsprop"), RMSProp)
    assert optimizers.get("sgd", lr=0.3).lr == 0.3
    opt = SGD(lr=0.2)
    assert optimizers.get(opt) is opt
    for bad in ("adagrad", None, 1):
        with pytest.raises(ValueError, match="unknown optimizer"):
            optimizers.get(bad)
    assert repr(SGD(lr=0.5, momentum=0.9)) == ("SGD(lr=0.5, momentum=0.9, dampening=0.0, "
                                               "nesterov=False, weight_decay=0.0)")
    assert AdamW().weight_decay == 0.01 and Adam().weight_decay == 0.0
