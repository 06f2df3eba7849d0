"""pydl.callbacks: EarlyStopping (patience, modes, restore_best_weights),
StepLR / CosineAnnealingLR against torch's lr sequences,
LearningRateScheduler, LambdaCallback and plain callables, the hooks."""
import math

import numpy as np
import pytest

import pydl
from pydl.callbacks import (Callback, CosineAnnealingLR, EarlyStopping, LambdaCallback,
                            LearningRateScheduler, StepLR, as_callback)
from pydl.layers import Dense, ReLU
from pydl.optimizers import SGD


@pytest.fixture
def problem(rng):
    x = rng.normal(0, 1, (64, 4)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    return x, y


def small_model(seed=0):
    pydl.seed(seed)
    return pydl.Sequential([Dense(4, 8), ReLU(), Dense(8, 2)])


def fit(model, x, y, epochs, callbacks, lr=0.05, **kw):
    return model.fit(x, y, epochs=epochs, batch_size=16, loss="cross_entropy",
                     optimizer=SGD(lr=lr), callbacks=callbacks, verbose=0, **kw)


def inject(key, values):
    """A plain callable that writes values[epoch] into the logs under key
    (callbacks run in order on the same logs)."""
    return lambda epoch, logs: logs.__setitem__(key, values[epoch])


# --------------------------------------------------------------------------
# EarlyStopping
# --------------------------------------------------------------------------
@pytest.mark.parametrize("patience, last", [(0, 3), (1, 3), (2, 4), (3, 5), (4, 6)])
def test_early_stopping_patience(problem, patience, last):
    """Training ends at the patience-th epoch in a row without improvement."""
    x, y = problem
    scores = [5.0, 4.0, 3.0, 3.5, 3.2, 3.1, 3.3, 2.0, 1.0, 0.5]
    #  epochs: 0    1    2    3    4    5    6    7    8    9   (best 3.0 at epoch 2)
    es = EarlyStopping(monitor="score", patience=patience)
    h = fit(small_model(), x, y, 10, [inject("score", scores), es])
    assert h.epochs == list(range(last + 1))
    assert es.stopped_epoch == last and es.best_epoch == 2
    assert len(h["loss"]) == last + 1


def test_early_stopping_never_triggers_while_improving(problem):
    x, y = problem
    es = EarlyStopping(monitor="score", patience=1)
    h = fit(small_model(), x, y, 5, [inject("score", [5, 4, 3, 2, 1]), es])
    assert h.epochs == [0, 1, 2, 3, 4] and es.stopped_epoch is None and es.best_epoch == 4


def test_early_stopping_min_delta_and_max_mode(problem):
    x, y = problem
    es = EarlyStopping(monitor="score", patience=2, min_delta=0.5)
    h = fit(small_model(), x, y, 10, [inject("score", [5, 4.8, 4.6, 4.4, 1, 0, 0, 0, 0, 0]), es])
    assert h.epochs == [0, 1, 2] and es.best_epoch == 0  # improvements of 0.2 < min_delta
    es = EarlyStopping(monitor="score", patience=1, mode="max")
    h = fit(small_model(), x, y, 10, [inject("score", [1, 2, 3, 2, 5, 6, 7, 8, 9, 10]), es])
    assert h.epochs == [0, 1, 2, 3] and es.best_epoch == 2
    # mode='auto' maximises accuracy-like keys
    es = EarlyStopping(monitor="my_acc", patience=1)
    h = fit(small_model(), x, y, 10, [inject("my_acc", [0.5, 0.6, 0.55, 0.9] + [1] * 6), es])
    assert h.epochs == [0, 1, 2] and es.best_epoch == 1


def test_early_stopping_restore_best_weights(problem):
    x, y = problem
    model = small_model()
    seen = []
    scores = [3.0, 1.0, 2.0, 2.5, 0.5]
    es = EarlyStopping(monitor="score", patience=2, restore_best_weights=True)
    fit(model, x, y, 5, [inject("score", scores), es,
                         lambda epoch, logs: seen.append(model.get_weights())])
    assert len(seen) == 4  # stopped after epoch 3
    for got, best in zip(model.get_weights(), seen[1]):
        np.testing.assert_array_equal(got, best)
    assert not all(np.array_equal(a, b) for a, b in zip(seen[1], seen[3]))


def test_early_stopping_without_restore_keeps_last_weights(problem):
    x, y = problem
    model = small_model()
    seen = []
    es = EarlyStopping(monitor="score", patience=1)
    fit(model, x, y, 5, [inject("score", [1.0, 2.0, 3.0, 0, 0]), es,
                         lambda epoch, logs: seen.append(model.get_weights())])
    for got, last in zip(model.get_weights(), seen[-1]):
        np.testing.assert_array_equal(got, last)


def test_early_stopping_val_loss_falls_back_to_loss(problem):
    x, y = problem
    es = EarlyStopping(patience=1)  # monitor='val_loss', no validation data
    fit(small_model(), x, y, 3, [es])
    assert es.best is not None
    es = EarlyStopping(monitor="val_loss", patience=1)
    h = fit(small_model(), x, y, 2, [es], validation_split=0.25)
    assert "val_loss" in h.history and es.best == -min(h["val_loss"][:es.best_epoch + 1])


def test_early_stopping_reusable(problem):
    x, y = problem
    es = EarlyStopping(monitor="score", patience=1)
    cbs = [inject("score", [1.0, 2.0, 0, 0]), es]
    assert fit(small_model(), x, y, 4, cbs).epochs == [0, 1]
    assert fit(small_model(), x, y, 4, cbs).epochs == [0, 1]  # state reset at train begin


def test_early_stopping_unknown_monitor(problem):
    x, y = problem
    with pytest.raises(KeyError, match="nope"):
        fit(small_model(), x, y, 2, [EarlyStopping(monitor="nope")])


def test_early_stopping_validation():
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping(patience=-1)
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping(patience=1.5)
    with pytest.raises(ValueError, match="mode"):
        EarlyStopping(mode="up")


# --------------------------------------------------------------------------
# Learning-rate schedules against torch
# --------------------------------------------------------------------------
def torch_lrs(make_sched, lr0, epochs):
    torch = pytest.importorskip("torch")
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr0)
    sched = make_sched(torch.optim.lr_scheduler, opt)
    lrs = []
    for _ in range(epochs):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return lrs


def test_step_lr_matches_torch(problem):
    x, y = problem
    h = fit(small_model(), x, y, 9, [StepLR(step_size=3, gamma=0.5)], lr=0.2)
    expected = [0.2 * 0.5 ** (e // 3) for e in range(9)]
    np.testing.assert_allclose(h["lr"], expected, rtol=1e-12)
    try:
        ref = torch_lrs(lambda s, o: s.StepLR(o, step_size=3, gamma=0.5), 0.2, 9)
    except pytest.skip.Exception:
        return
    np.testing.assert_allclose(h["lr"], ref, rtol=1e-12)


@pytest.mark.parametrize("eta_min", [0.0, 0.01])
def test_cosine_lr_matches_torch(problem, eta_min):
    x, y = problem
    t_max = 6
    h = fit(small_model(), x, y, t_max + 1, [CosineAnnealingLR(T_max=t_max, eta_min=eta_min)],
            lr=0.1)
    expected = [eta_min + (0.1 - eta_min) * (1 + math.cos(math.pi * e / t_max)) / 2
                for e in range(t_max + 1)]
    np.testing.assert_allclose(h["lr"], expected, rtol=1e-12, atol=1e-15)
    assert h["lr"][0] == 0.1 and h["lr"][-1] == pytest.approx(eta_min, abs=1e-15)
    try:
        ref = torch_lrs(lambda s, o: s.CosineAnnealingLR(o, T_max=t_max, eta_min=eta_min),
                        0.1, t_max + 1)
    except pytest.skip.Exception:
        return
    np.testing.assert_allclose(h["lr"], ref, rtol=1e-10, atol=1e-15)


def test_cosine_lr_held_after_t_max(problem):
    x, y = problem
    h = fit(small_model(), x, y, 5, [CosineAnnealingLR(T_max=2, eta_min=0.001)], lr=0.1)
    assert h["lr"][2:] == [pytest.approx(0.001)] * 3


def test_schedule_changes_training(problem):
    """The lr in the logs is the one the optimizer used: lr 0 after epoch 0
    freezes the weights."""
    x, y = problem
    model = small_model()
    seen = []
    sched = LearningRateScheduler(lambda e, lr0: lr0 if e == 0 else 0.0)
    h = fit(model, x, y, 3, [sched, lambda e, logs: seen.append(model.get_weights())])
    assert h["lr"] == [0.05, 0.0, 0.0]
    for a, b in zip(seen[0], seen[2]):
        np.testing.assert_array_equal(a, b)


def test_scheduler_validation(problem):
    x, y = problem
    with pytest.raises(ValueError, match="lr=-1"):
        fit(small_model(), x, y, 2, [LearningRateScheduler(lambda e, lr0: -1.0)])
    with pytest.raises(ValueError, match="lr=nan"):
        fit(small_model(), x, y, 2, [LearningRateScheduler(lambda e, lr0: float("nan"))])
    with pytest.raises(TypeError):
        LearningRateScheduler(0.1)
    for bad in (0, 1.5, True):
        with pytest.raises(ValueError, match="step_size"):
            StepLR(step_size=bad)
        with pytest.raises(ValueError, match="T_max"):
            CosineAnnealingLR(T_max=bad)


# --------------------------------------------------------------------------
# User callables and hooks
# --------------------------------------------------------------------------
def test_lambda_callback_and_plain_callable(problem):
    x, y = problem
    calls_a, calls_b = [], []
    h = fit(small_model(), x, y, 3, [LambdaCallback(lambda e, logs: calls_a.append((e, logs))),
                                     lambda e, logs: calls_b.append((e, dict(logs)))],
            validation_data=(x[:16], y[:16]))
    assert [e for e, _ in calls_a] == [0, 1, 2] and [e for e, _ in calls_b] == [0, 1, 2]
    for e, logs in calls_b:
        assert {"loss", "accuracy", "val_loss", "val_accuracy", "lr", "time",
                "samples_per_s"} <= set(logs)
        assert logs["loss"] == h["loss"][e] and logs["val_loss"] == h["val_loss"][e]


def test_callback_hooks_order(problem):
    x, y = problem
    events = []

    class Recorder(Callback):
        def on_train_begin(self, model):
            events.append("begin")

        def on_epoch_begin(self, epoch, model):
            events.append(f"e{epoch}")

        def on_epoch_end(self, epoch, logs, model):
            events.append(f"/e{epoch}")
            if epoch == 1:
                model.stop_training = True

        def on_train_end(self, model):
            events.append("end")

    h = fit(small_model(), x, y, 5, [Recorder()])
    assert events == ["begin", "e0", "/e0", "e1", "/e1", "end"]
    assert h.epochs == [0, 1]


def test_as_callback_validation():
    cb = Callback()
    assert as_callback(cb) is cb
    assert isinstance(as_callback(print), LambdaCallback)
    with pytest.raises(TypeError, match="callbacks"):
        as_callback(3)
    with pytest.raises(TypeError, match="callable"):
        LambdaCallback("f")
