"""pydl.Sequential: training on the bundled digits (MLP and LeNet-style
CNN), fit options and History, train_on_batch, evaluate, predict, summary,
weights, input errors, and bitwise reproducibility (seed, 1 vs 2 threads)."""
import re
import time

import numpy as np
import pytest

import pydl
from pydl.callbacks import Callback
from pydl.layers import (AvgPool2D, BatchNorm1D, BatchNorm2D, Conv2D, Dense, Dropout, Flatten,
                         GlobalAvgPool2D, MaxPool2D, ReLU, Tanh)
from pydl.losses import MSE, BinaryCrossEntropy, CrossEntropy
from pydl.optimizers import SGD, Adam

from helpers import needs_openmp


@pytest.fixture(scope="module")
def digits():
    x, y = pydl.datasets.load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32)
    x_tr, x_te, y_tr, y_te = pydl.data.train_test_split(x, y, test_size=0.25, stratify=y,
                                                        seed=0)
    return x_tr, x_te, y_tr, y_te


@pytest.fixture
def one_thread():
    """Training tests run on one thread: on a shared, oversubscribed machine
    two OpenMP threads can be many times slower (the 1-vs-2-thread tests
    below still cover two)."""
    with pydl.num_threads(1):
        yield


def mlp():
    return pydl.Sequential([Dense(64, 64), ReLU(), Dense(64, 10)])


def lenet():
    return pydl.Sequential([Conv2D(1, 8, 3, padding=1), ReLU(), MaxPool2D(2),
                            Conv2D(8, 16, 3, padding=1), ReLU(), MaxPool2D(2), Flatten(),
                            Dense(16 * 2 * 2, 32), ReLU(), Dense(32, 10)])


def tiny_data(rng, n=48, d=4, classes=3):
    x = rng.normal(0, 1, (n, d)).astype(np.float32)
    y = (np.arange(n) % classes).astype(np.int64)
    x[:, 0] += y  # learnable
    return x, y


def tiny(d=4, classes=3):
    return pydl.Sequential([Dense(d, 8), ReLU(), Dense(8, classes)])


# --------------------------------------------------------------------------
# Training on real data
# --------------------------------------------------------------------------
def test_mlp_learns_digits(digits, one_thread):
    x_tr, x_te, y_tr, y_te = digits
    pydl.seed(0)
    model = mlp()
    t0 = time.perf_counter()
    h = model.fit(x_tr, y_tr, epochs=15, batch_size=32, loss="cross_entropy",
                  optimizer=Adam(lr=3e-3), verbose=0)
    assert time.perf_counter() - t0 < 10
    res = model.evaluate(x_te, y_te)
    assert res["accuracy"] >= 0.95, res
    assert h["loss"][-1] < h["loss"][0] / 5
    pred = model.predict(x_te).argmax(axis=1)
    assert np.mean(pred == y_te) == pytest.approx(res["accuracy"])


def test_lenet_learns_digits(digits, one_thread):
    x_tr, x_te, y_tr, y_te = digits
    pydl.seed(0)
    model = lenet()
    t0 = time.perf_counter()
    model.fit(x_tr.reshape(-1, 1, 8, 8), y_tr, epochs=12, batch_size=32,
              loss=CrossEntropy(), optimizer=Adam(lr=3e-3), verbose=0)
    assert time.perf_counter() - t0 < 10
    res = model.evaluate(x_te.reshape(-1, 1, 8, 8), y_te)
    assert res["accuracy"] >= 0.95, res


def test_sgd_momentum_cnn_with_batchnorm_learns_digits(digits, one_thread):
    x_tr, x_te, y_tr, y_te = digits
    pydl.seed(1)
    model = pydl.Sequential([Conv2D(1, 8, 3, padding="same"), BatchNorm2D(8), ReLU(),
                             AvgPool2D(2), Conv2D(8, 16, 3, padding=1), ReLU(),
                             GlobalAvgPool2D(), Dropout(0.1), Dense(16, 10)])
    model.fit(x_tr.reshape(-1, 1, 8, 8), y_tr, epochs=10, batch_size=32, loss="ce",
              optimizer=SGD(lr=0.1, momentum=0.9), verbose=0)
    assert model.evaluate(x_te.reshape(-1, 1, 8, 8), y_te)["accuracy"] >= 0.85


def test_regression_with_mse(rng):
    x = rng.uniform(-1, 1, (256, 3)).astype(np.float32)
    t = np.stack([x @ [1.0, -2.0, 0.5], np.sin(2 * x[:, 0])], axis=1).astype(np.float32)
    pydl.seed(3)
    model = pydl.Sequential([Dense(3, 32), Tanh(), Dense(32, 2)])
    h = model.fit(x, t, epochs=60, batch_size=32, loss="mse", optimizer=Adam(lr=0.01),
                  verbose=0)
    assert "accuracy" not in h.history
    assert model.evaluate(x, t)["loss"] < 0.01
    assert set(model.evaluate(x, t)) == {"loss"}


def test_binary_cross_entropy_accuracy_in_unit_range(rng):
    x = rng.normal(0, 1, (128, 4)).astype(np.float32)
    t = np.stack([x[:, 0] > 0, x[:, 1] > 0, x[:, 2] + x[:, 3] > 0], axis=1).astype(np.float32)
    pydl.seed(2)
    model = pydl.Sequential([Dense(4, 16), ReLU(), Dense(16, 3)])
    h = model.fit(x, t, epochs=30, batch_size=16, loss=BinaryCrossEntropy(),
                  optimizer=Adam(lr=0.01), verbose=0)
    assert all(0 <= a <= 1 for a in h["accuracy"])
    res = model.evaluate(x, t)
    assert 0.9 <= res["accuracy"] <= 1
    expect = np.mean((model.predict(x) > 0) == (t > 0.5))
    assert res["accuracy"] == pytest.approx(expect)
    # (N,) targets for a single output
    model1 = pydl.Sequential([Dense(4, 1)])
    model1.fit(x, t[:, 0], epochs=2, loss="bce", optimizer="sgd", verbose=0)
    assert 0 <= model1.evaluate(x, t[:, 0])["accuracy"] <= 1


# --------------------------------------------------------------------------
# fit options and History
# --------------------------------------------------------------------------
def test_history_contents(rng):
    x, y = tiny_data(rng)
    model = tiny()
    h = model.fit(x, y, epochs=3, batch_size=16, loss="ce", optimizer=SGD(lr=0.1), verbose=0)
    assert isinstance(h, pydl.History)
    assert h.epochs == [0, 1, 2]
    assert set(h.history) == {"loss", "accuracy", "lr", "time", "samples_per_s"}
    assert all(len(v) == 3 for v in h.history.values())
    assert h["lr"] == [0.1] * 3
    assert all(isinstance(v, float) and v > 0 for v in h["loss"])
    assert all(0 <= a <= 1 for a in h["accuracy"])
    assert all(t > 0 for t in h["time"]) and all(s > 0 for s in h["samples_per_s"])


def test_fit_loss_is_the_mean_of_batch_losses(rng):
    x, y = tiny_data(rng, n=40)
    pydl.seed(4)
    a = tiny()
    pydl.seed(4)
    b = tiny()
    h = a.fit(x, y, epochs=1, batch_size=16, loss="ce", optimizer=SGD(lr=0.1), shuffle=False,
              verbose=0)
    vals = [b.train_on_batch(x[s:s + 16], y[s:s + 16], loss="ce", optimizer=SGD(lr=0.1))
            if s == 0 else b.train_on_batch(x[s:s + 16], y[s:s + 16]) for s in (0, 16, 32)]
    assert h["loss"][0] == pytest.approx((16 * vals[0] + 16 * vals[1] + 8 * vals[2]) / 40,
                                         rel=1e-6)
    # shuffle=False is exactly a loop of train_on_batch over consecutive batches
    for u, v in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(u, v)


def test_shuffle_true_differs_from_false(rng):
    x, y = tiny_data(rng)
    ws = []
    for shuffle in (False, True):
        pydl.seed(5)
        m = tiny()
        m.fit(x, y, epochs=2, batch_size=8, loss="ce", optimizer="sgd", shuffle=shuffle,
              verbose=0)
        ws.append(m.get_weights())
    assert not all(np.array_equal(u, v) for u, v in zip(*ws))


def test_fit_seed_argument(rng):
    x, y = tiny_data(rng)
    init = tiny().get_weights()
    ws = []
    for seed in (1, 1, 2):
        m = tiny()
        m.set_weights(init)
        pydl.seed(seed + 100)  # the global stream must not matter with seed=
        m.fit(x, y, epochs=2, batch_size=8, loss="ce", optimizer="sgd", seed=seed, verbose=0)
        ws.append(m.get_weights())
    assert all(np.array_equal(u, v) for u, v in zip(ws[0], ws[1]))
    assert not all(np.array_equal(u, v) for u, v in zip(ws[0], ws[2]))


def test_validation_split_uses_the_last_samples(rng):
    x, y = tiny_data(rng, n=40)
    model = tiny()
    h = model.fit(x, y, epochs=2, batch_size=8, loss="ce", optimizer="sgd",
                  validation_split=0.25, verbose=0)
    assert {"val_loss", "val_accuracy"} <= set(h.history)
    assert h["samples_per_s"][0] > 0
    res = model.evaluate(x[30:], y[30:])
    assert h["val_loss"][-1] == pytest.approx(res["loss"], rel=1e-6)
    assert h["val_accuracy"][-1] == res["accuracy"]


def test_validation_data(rng):
    x, y = tiny_data(rng, n=40)
    xv, yv = tiny_data(rng, n=12)
    model = tiny()
    h = model.fit(x, y, epochs=2, batch_size=8, loss="ce", optimizer="sgd",
                  validation_data=(xv, yv), validation_split=0.5, verbose=0)
    res = model.evaluate(xv, yv)
    assert h["val_loss"][-1] == pytest.approx(res["loss"], rel=1e-6)
    assert h["samples_per_s"][-1] == pytest.approx(40 / h["time"][-1], rel=1e-6)
    with pytest.raises(TypeError, match="pair"):
        model.fit(x, y, validation_data=xv, verbose=0)
    with pytest.raises(ValueError, match="samples"):
        model.fit(x, y, validation_data=(xv, yv[:5]), verbose=0)


def test_callbacks_plain_callable_and_object(rng):
    x, y = tiny_data(rng)
    calls = []
    ends = []

    class End(Callback):
        def on_train_end(self, model):
            ends.append(model)

    model = tiny()
    model.fit(x, y, epochs=3, batch_size=16, loss="ce", optimizer="sgd", verbose=0,
              callbacks=[lambda epoch, logs: calls.append((epoch, sorted(logs))), End()])
    assert [c[0] for c in calls] == [0, 1, 2]
    assert calls[0][1] == ["accuracy", "loss", "lr", "samples_per_s", "time"]
    assert ends == [model]
    with pytest.raises(TypeError, match="callbacks"):
        model.fit(x, y, callbacks=[3], verbose=0)


def test_verbose_progress_bar(rng, capsys, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "tqdm", None)  # the built-in bar, tqdm or not
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    x, y = tiny_data(rng)
    tiny().fit(x, y, epochs=2, batch_size=16, loss="ce", optimizer="sgd", verbose=1,
               validation_split=0.25)
    out = capsys.readouterr()
    text = out.err + out.out
    assert "epoch 1/2" in text and "epoch 2/2" in text
    assert "samples/s" in text and "loss=" in text and "val_loss=" in text
    assert re.search(r"36/36", text)
    assert text.count("\n") >= 2
    tiny().fit(x, y, epochs=1, loss="ce", optimizer="sgd", verbose=0)
    out = capsys.readouterr()
    assert out.err == "" and out.out == ""


def test_augment_callable(rng):
    x, y = tiny_data(rng, n=40)
    seen = []

    def augment(xb):
        seen.append(xb.shape)
        return xb * 0  # the model then sees only zeros

    model = tiny()
    before = model.get_weights()
    model.fit(x, y, epochs=2, batch_size=16, loss="ce", optimizer=SGD(lr=0.1), augment=augment,
              verbose=0)
    assert seen == [(16, 4), (16, 4), (8, 4)] * 2
    # With zero inputs the first layer's weight gets no gradient.
    np.testing.assert_array_equal(model.layers[0].params["weight"], before[0])
    assert not np.array_equal(model.layers[2].params["bias"], before[3])


def test_augment_with_pydl_data_augment(rng):
    x = rng.uniform(0, 1, (32, 1, 8, 8)).astype(np.float32)
    y = np.arange(32) % 2
    ws = []
    for seed in (0, 0):
        pydl.seed(1)
        model = pydl.Sequential([Conv2D(1, 2, 3), Flatten(), Dense(72, 2)])
        model.fit(x, y, epochs=2, batch_size=8, loss="ce", optimizer="sgd",
                  augment=pydl.data.Augment(flip=True, shift=1, noise=0.05, seed=seed),
                  verbose=0)
        ws.append(model.get_weights())
    for u, v in zip(*ws):
        np.testing.assert_array_equal(u, v)


def test_fit_on_memmap(rng, tmp_path):
    x, y = tiny_data(rng)
    mm = np.lib.format.open_memmap(tmp_path / "x.npy", mode="w+", dtype=np.float32,
                                   shape=x.shape)
    mm[...] = x
    mm.flush()
    mm = np.load(tmp_path / "x.npy", mmap_mode="r")
    pydl.seed(6)
    a = tiny()
    ha = a.fit(mm, y, epochs=2, batch_size=8, loss="ce", optimizer="sgd", verbose=0)
    pydl.seed(6)
    b = tiny()
    hb = b.fit(x, y, epochs=2, batch_size=8, loss="ce", optimizer="sgd", verbose=0)
    assert ha["loss"] == hb["loss"]
    np.testing.assert_array_equal(a.predict(mm), b.predict(x))


# --------------------------------------------------------------------------
# train_on_batch, evaluate, predict, forward/backward
# --------------------------------------------------------------------------
def test_train_on_batch_decreases_loss(rng):
    x, y = tiny_data(rng, n=32)
    model = tiny()
    first = model.train_on_batch(x, y, loss=CrossEntropy(), optimizer=SGD(lr=0.1, momentum=0.9))
    assert isinstance(first, float)
    values = [first] + [model.train_on_batch(x, y) for _ in range(30)]
    assert all(isinstance(v, float) for v in values)
    assert values[-1] < 0.5 * values[0]
    assert values[5] < values[0]


def test_train_on_batch_keeps_loss_and_optimizer(rng):
    x, y = tiny_data(rng, n=16)
    model = tiny()
    opt = Adam(lr=0.01)
    model.train_on_batch(x, y, loss="ce", optimizer=opt)
    model.train_on_batch(x, y)
    assert model.optimizer is opt and isinstance(model.loss, CrossEntropy)
    assert all(st["step"] == 2 for st in opt.state.values())
    assert len(opt.state) == 4


def _run_layer_by_layer(model, x, grad):
    h = x
    for layer in model.layers:
        h = layer.forward(h, True)
    g = grad
    for layer in reversed(model.layers):
        g = layer.backward(g)
    return h, g


def test_run_steps_follow_a_change_of_the_layers(rng):
    # the fused steps are worked out once, and again after model.layers changes
    model = pydl.Sequential([Dense(4, 3), ReLU(), Dense(3, 2)], input_shape=(4,))
    x = rng.standard_normal((5, 4)).astype(np.float32)
    before = model.forward(x).copy()
    assert [fused for _, fused in model._run_steps()] == [True, False]
    model.layers[1] = Tanh()
    assert [fused for _, fused in model._run_steps()] == [False, False, False]
    after = model.forward(x).copy()
    expected = model.layers[2].forward(np.tanh(model.layers[0].forward(x)))
    np.testing.assert_allclose(after, expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(before, after)


@pytest.mark.parametrize("pool", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1)],
                         ids=["2x2", "3x3_s2_overlapping"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [5, 40])
def test_fused_relu_steps_are_bitwise_equal_to_the_layers(pool, dtype, n, rng):
    # Sequential runs Conv2D -> ReLU -> MaxPool2D as one step (one pass for
    # float32 2x2 pools of 32+ images on the avx512 path, else the conv and
    # then the pool with the ReLU on the pooled values), Conv2D -> ReLU and
    # Dense -> ReLU with the ReLU in place; the result and every gradient
    # must equal the layers run one by one.  Inputs with exact zeros and
    # windows wholly <= 0 test the ties.
    model = pydl.Sequential([Conv2D(2, 3, 3, padding=1), ReLU(), MaxPool2D(**pool),
                             Conv2D(3, 4, 3, padding=1), ReLU(), Flatten(),
                             Dense(4 * 4 * 4, 6), ReLU(), Dense(6, 4)],
                            input_shape=(2, 8, 8)).astype(dtype)
    model.layers[0].needs_input_grad = True
    x = rng.standard_normal((n, 2, 8, 8)).astype(dtype)
    x[:, :, :3] = 0.0
    grad = rng.standard_normal((n, 4)).astype(dtype)
    calls = []
    for relu in (model.layers[1], model.layers[4], model.layers[7]):
        relu.forward = (lambda f: lambda *a, **k: calls.append("relu") or f(*a, **k))(
            relu.forward)
    assert [(type(layer).__name__, fused) for layer, fused in pydl.model._steps(model.layers)] == [
        ("_ConvReluPool", False), ("Conv2D", True), ("Flatten", False), ("Dense", True),
        ("Dense", False)]
    out = model.forward(x, training=True).copy()
    gx = model.backward(grad).copy()
    fused_grads = [g.copy() for _, g in model.parameters()]
    assert calls == [], "a ReLU layer's forward ran: its step was not fused"
    assert (model.layers[2]._buffers["y"] == 0).mean() > 0.1  # windows wholly <= 0 exist
    one_pass = (dtype == np.float32 and pool == dict(kernel_size=2) and n >= 32
                and pydl.get_isa() == "avx512")
    assert ("y" not in model.layers[0]._buffers) == one_pass  # the conv output not written
    assert ("gx" not in model.layers[2]._buffers) == one_pass  # nor the pool's input gradient

    h, g = _run_layer_by_layer(model, x, grad)
    assert calls == ["relu"] * 3
    np.testing.assert_array_equal(out, h)
    np.testing.assert_array_equal(gx, g)
    for fused, (_, plain) in zip(fused_grads, model.parameters()):
        np.testing.assert_array_equal(fused, plain)


def test_evaluate_keys_and_values(rng):
    x, y = tiny_data(rng, n=30)
    model = tiny()
    with pytest.raises(ValueError, match="no loss"):
        model.evaluate(x, y)
    res = model.evaluate(x, y, loss="ce")
    assert set(res) == {"loss", "accuracy"}
    out = model.predict(x)
    e = np.exp(out - out.max(axis=1, keepdims=True))
    ref = -np.mean(np.log(e[np.arange(30), y] / e.sum(axis=1)))
    assert res["loss"] == pytest.approx(ref, rel=1e-5)
    assert res["accuracy"] == pytest.approx(np.mean(out.argmax(axis=1) == y))
    # batch size does not change the result (beyond rounding)
    res7 = model.evaluate(x, y, batch_size=7, loss="ce")
    assert res7["loss"] == pytest.approx(res["loss"], rel=1e-6)
    assert res7["accuracy"] == res["accuracy"]
    mse = model.evaluate(x, np.zeros((30, 3), np.float32), loss=MSE())
    assert set(mse) == {"loss"} and mse["loss"] == pytest.approx(np.mean(out ** 2), rel=1e-5)
    assert model.loss is None  # evaluate's loss= is not kept


def test_predict_shape_and_forward(rng):
    x = rng.uniform(-1, 1, (37, 1, 6, 6))
    model = pydl.Sequential([Conv2D(1, 3, 3), ReLU(), MaxPool2D(2), Flatten(), Dense(12, 5)])
    p = model.predict(x, batch_size=10)
    assert p.shape == (37, 5) and p.dtype == np.float32
    np.testing.assert_array_equal(p, model.forward(x.astype(np.float32)))
    np.testing.assert_array_equal(p, model.predict(x, batch_size=37))
    np.testing.assert_array_equal(p, model(x))
    np.testing.assert_array_equal(model.predict(x[:1]), p[:1])
    assert model.predict(x.tolist()).shape == (37, 5)


def test_predict_is_inference_mode(rng):
    x = rng.uniform(-1, 1, (20, 4)).astype(np.float32)
    model = pydl.Sequential([Dense(4, 6), BatchNorm1D(6), Dropout(0.5), Dense(6, 2)])
    stats = [a.copy() for a in model.layers[1].state.values()]
    a, b = model.predict(x), model.predict(x)
    np.testing.assert_array_equal(a, b)  # no dropout
    for s, t in zip(stats, model.layers[1].state.values()):
        np.testing.assert_array_equal(s, t)  # running stats untouched


def test_backward_returns_input_grad(rng):
    model = pydl.Sequential([Dense(4, 5), Tanh(), Dense(5, 2)]).astype(np.float64)
    x = rng.uniform(-1, 1, (3, 4))
    g = rng.uniform(-1, 1, (3, 2))
    model.forward(x, training=True)
    assert model.backward(g) is None  # default: nothing upstream needs it
    model.layers[0].needs_input_grad = True
    model.forward(x, training=True)
    gx = model.backward(g)
    w1, w2 = model.layers[0].params["weight"], model.layers[2].params["weight"]
    h = np.tanh(x @ w1.T)
    np.testing.assert_allclose(gx, ((g @ w2) * (1 - h ** 2)) @ w1, rtol=1e-12)


def test_huge_logits_through_the_loss_object(rng):
    x = rng.uniform(-1, 1, (8, 4)).astype(np.float32)
    y = np.arange(8) % 3
    model = pydl.Sequential([Dense(4, 3)])
    model.layers[0].params["weight"][...] = 0
    model.layers[0].params["bias"][...] = [1e4, -1e4, 0]
    loss = CrossEntropy()
    out = model.forward(x)
    value, grad = loss(out, y)
    assert np.isfinite(value) and np.isfinite(grad).all()
    assert value == pytest.approx(np.mean([0.0, 2e4, 1e4] * 2 + [0.0, 2e4]), rel=1e-5)
    v = model.train_on_batch(x, y, loss=loss, optimizer=SGD(lr=0.1))
    assert np.isfinite(v)
    assert all(np.isfinite(p).all() for p, _ in model.parameters())
    h = model.fit(x, y, epochs=2, batch_size=4, verbose=0)
    assert all(np.isfinite(h["loss"]))


# --------------------------------------------------------------------------
# Structure: summary, weights, dtype
# --------------------------------------------------------------------------
def test_summary_text():
    model = lenet()
    text = model.summary(input_shape=(1, 8, 8), print_fn=None)
    lines = text.splitlines()
    assert "output shape" in lines[0] and "params" in lines[0]
    assert "(N, 8, 8, 8)" in text and "(N, 16, 2, 2)" in text and "(N, 64)" in text
    assert "(N, 10)" in lines[-3]
    assert "Conv2D" in lines[2] and "Dense" in text
    total = model.num_params()
    assert total == (8 * 9 + 8) + (16 * 8 * 9 + 16) + (64 * 32 + 32) + (32 * 10 + 10)
    assert f"total parameters: {total:,}" in lines[-1]
    assert "input (N, 1, 8, 8)" in lines[-1]
    assert re.search(r"\b1,168\b", text)  # the second conv's parameters
    printed = []
    assert model.summary(print_fn=printed.append) == text and printed == [text]
    unbuilt = pydl.Sequential([Dense(3, 2)]).summary(print_fn=None)
    assert "?" in unbuilt and "total parameters: 8" in unbuilt


def test_summary_prints(capsys):
    pydl.Sequential([Dense(3, 2)]).summary()
    assert "total parameters: 8" in capsys.readouterr().out


def test_get_set_weights(rng):
    model = pydl.Sequential([Dense(4, 5), BatchNorm1D(5), Dense(5, 2)])
    w = model.get_weights()
    assert [a.shape for a in w] == [(5, 4), (5,), (5,), (5,), (5,), (5,), (2, 5), (2,)]
    w[0][...] = 7  # copies
    assert not np.any(model.layers[0].params["weight"] == 7)
    new = [rng.uniform(-1, 1, a.shape) for a in w]
    model.set_weights(new)
    for got, want in zip(model.get_weights(), new):
        np.testing.assert_allclose(got, want, rtol=1e-7)
        assert got.dtype == np.float32
    with pytest.raises(ValueError, match="expected 8 arrays"):
        model.set_weights(new[:-1])
    with pytest.raises(ValueError, match="shape"):
        model.set_weights(new[:-1] + [np.zeros(3)])


def test_astype(rng):
    x = rng.uniform(-1, 1, (6, 4))
    y = np.arange(6) % 2
    model = pydl.Sequential([Dense(4, 5), ReLU(), Dense(5, 2)])
    model.train_on_batch(x, y, loss="ce", optimizer=Adam())
    p32 = model.predict(x)
    assert model.astype(np.float64) is model
    assert model.dtype == np.float64 and model.optimizer.state == {}
    p64 = model.predict(x)
    assert p64.dtype == np.float64
    np.testing.assert_allclose(p64, p32, rtol=1e-5, atol=1e-6)
    model.train_on_batch(x, y)
    assert all(p.dtype == np.float64 for p, _ in model.parameters())


def test_repr_and_parameters():
    model = tiny()
    assert repr(model).startswith("Sequential([Dense(in_features=4")
    pairs = model.parameters()
    assert len(pairs) == 4 and all(p.shape == g.shape for p, g in pairs)
    assert model.num_params() == 4 * 8 + 8 + 8 * 3 + 3


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------
def test_wrong_shape_for_first_layer(rng):
    model = lenet()
    y = np.zeros(4, np.int64)
    with pytest.raises(ValueError, match=r"layer 0 \(Conv2D\).*\(1, H, W\), got \(2, 8, 8\)"):
        model.fit(np.zeros((4, 2, 8, 8), np.float32), y, loss="ce", optimizer="sgd", verbose=0)
    with pytest.raises(ValueError, match=r"Conv2D.*got \(64,\)"):
        model.predict(np.zeros((4, 64), np.float32))
    with pytest.raises(ValueError, match=r"layer 0 \(Dense\).*expected per-sample input shape "
                                         r"\(64,\), got \(63,\)"):
        mlp().fit(np.zeros((4, 63), np.float32), y, loss="ce", optimizer="sgd", verbose=0)
    with pytest.raises(ValueError, match=r"Dense.*\(64,\).*\(8, 8\)"):
        mlp().predict(np.zeros((4, 8, 8), np.float32))
    with pytest.raises(ValueError, match=r"layer 0 \(Conv2D\).*kernel"):
        pydl.Sequential([Conv2D(1, 2, 3), Flatten()]).predict(np.zeros((4, 1, 2, 2)))
    # a later layer that does not fit is named too, at construction with input_shape
    with pytest.raises(ValueError, match=r"layer 2 \(Dense\).*\(5,\).*\(4,\)"):
        pydl.Sequential([Dense(3, 4), ReLU(), Dense(5, 2)], input_shape=(3,))


@pytest.mark.parametrize("where", ["fit", "train_on_batch", "validation"])
def test_nan_in_inputs(rng, where):
    x, y = tiny_data(rng, n=20)
    bad = x.copy()
    bad[7, 2] = np.nan
    model = tiny()
    with pytest.raises(ValueError, match="NaN or inf.*sample 7"):
        if where == "fit":
            model.fit(bad, y, loss="ce", optimizer="sgd", verbose=0)
        elif where == "train_on_batch":
            model.train_on_batch(bad, y, loss="ce", optimizer="sgd")
        else:
            model.fit(x, y, loss="ce", optimizer="sgd", validation_data=(bad, y), verbose=0)
    bad[7, 2] = np.inf
    with pytest.raises(ValueError, match="NaN or inf"):
        model.fit(bad, y, loss="ce", optimizer="sgd", verbose=0)


def test_labels_out_of_range(rng):
    x, y = tiny_data(rng, n=20)
    model = tiny()
    for bad in (3, -1):
        yb = y.copy()
        yb[4] = bad
        with pytest.raises(ValueError, match=f"label {bad} is out of range.*3 outputs"):
            model.fit(x, yb, loss="ce", optimizer="sgd", verbose=0)
        with pytest.raises(ValueError, match="out of range"):
            model.train_on_batch(x, yb, loss="ce", optimizer="sgd")
        with pytest.raises(ValueError, match="out of range"):
            model.evaluate(x, yb, loss="ce")
    with pytest.raises(ValueError, match="integer class labels"):
        model.fit(x, y.astype(np.float32), loss="ce", optimizer="sgd", verbose=0)


@pytest.mark.parametrize("bs", [0, -3])
def test_bad_batch_size(rng, bs):
    x, y = tiny_data(rng, n=10)
    model = tiny()
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        model.fit(x, y, batch_size=bs, loss="ce", optimizer="sgd", verbose=0)
    with pytest.raises(ValueError, match="batch_size"):
        model.predict(x, batch_size=bs)
    with pytest.raises(ValueError, match="batch_size"):
        model.evaluate(x, y, batch_size=bs, loss="ce")
    with pytest.raises(TypeError, match="batch_size"):
        model.fit(x, y, batch_size=2.0, loss="ce", optimizer="sgd", verbose=0)


def test_empty_arrays():
    model = tiny()
    x, y = np.zeros((0, 4), np.float32), np.zeros(0, np.int64)
    with pytest.raises(ValueError, match="empty"):
        model.fit(x, y, loss="ce", optimizer="sgd", verbose=0)
    with pytest.raises(ValueError, match="empty"):
        model.predict(x)
    with pytest.raises(ValueError, match="empty"):
        model.evaluate(x, y, loss="ce")
    with pytest.raises(ValueError, match="empty"):
        model.train_on_batch(x, y, loss="ce", optimizer="sgd")


def test_mismatched_lengths(rng):
    x, y = tiny_data(rng, n=10)
    model = tiny()
    with pytest.raises(ValueError, match="x has 10 samples but y has 9"):
        model.fit(x, y[:9], loss="ce", optimizer="sgd", verbose=0)
    with pytest.raises(ValueError, match="10 samples but y has 11"):
        model.train_on_batch(x, np.zeros(11, np.int64), loss="ce", optimizer="sgd")
    with pytest.raises(ValueError, match="samples"):
        model.evaluate(x, y[:3], loss="ce")


def test_missing_or_unknown_loss_and_optimizer(rng):
    x, y = tiny_data(rng, n=10)
    with pytest.raises(ValueError, match="pass loss= and optimizer="):
        tiny().fit(x, y, verbose=0)
    with pytest.raises(ValueError, match="pass loss= and optimizer="):
        tiny().fit(x, y, loss="ce", verbose=0)
    with pytest.raises(ValueError, match="pass loss= and optimizer="):
        tiny().train_on_batch(x, y, optimizer="sgd")
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        tiny().fit(x, y, loss="hinge", optimizer="sgd", verbose=0)
    with pytest.raises(ValueError, match="unknown optimizer 'lbfgs'"):
        tiny().fit(x, y, loss="ce", optimizer="lbfgs", verbose=0)
    with pytest.raises(ValueError, match="unknown loss"):
        tiny().evaluate(x, y, loss="nope")


def test_other_bad_arguments(rng):
    x, y = tiny_data(rng, n=10)
    model = tiny()
    kw = dict(loss="ce", optimizer="sgd", verbose=0)
    for epochs in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="epochs"):
            model.fit(x, y, epochs=epochs, **kw)
    for split in (-0.1, 1.0):
        with pytest.raises(ValueError, match="validation_split"):
            model.fit(x, y, validation_split=split, **kw)
    with pytest.raises(ValueError, match="validation_split=0.01 leaves"):
        model.fit(x, y, validation_split=0.01, **kw)
    with pytest.raises(ValueError, match="at least 2 axes"):
        model.fit(x[:, 0], y, **kw)
    with pytest.raises(TypeError, match="numeric"):
        model.predict(np.array([["a"] * 4]))
    with pytest.raises(ValueError, match="non-empty"):
        pydl.Sequential([])
    with pytest.raises(TypeError, match="item 1 is str"):
        pydl.Sequential([Dense(2, 2), "relu"])
    with pytest.raises(ValueError, match="MSE: targets have per-sample shape"):
        model.fit(x, np.zeros((10, 2), np.float32), loss="mse", optimizer="sgd", verbose=0)


# --------------------------------------------------------------------------
# Reproducibility
# --------------------------------------------------------------------------
def _train_reproducibly(x, y, seed):
    pydl.seed(seed)
    model = pydl.Sequential([Conv2D(1, 4, 3, padding=1), BatchNorm2D(4), ReLU(), MaxPool2D(2),
                             Conv2D(4, 8, 3, padding=1, groups=2), ReLU(), Flatten(),
                             Dropout(0.3), Dense(8 * 4 * 4, 16), ReLU(), Dense(16, 10)])
    h = model.fit(x, y, epochs=2, batch_size=32, loss="ce", optimizer=Adam(lr=3e-3),
                  validation_split=0.1, verbose=0)
    return model.get_weights(), h["loss"]


def _assert_bitwise_equal(a, b):
    wa, la = a
    wb, lb = b
    assert la == lb
    assert len(wa) == len(wb)
    for u, v in zip(wa, wb):
        assert u.tobytes() == v.tobytes()


def test_seed_gives_bitwise_identical_training(digits, one_thread):
    x, _, y, _ = digits
    x = x[:400].reshape(-1, 1, 8, 8)
    y = y[:400]
    a = _train_reproducibly(x, y, 7)
    b = _train_reproducibly(x, y, 7)
    _assert_bitwise_equal(a, b)
    c = _train_reproducibly(x, y, 8)
    assert c[1] != a[1]


@needs_openmp
def test_identical_on_one_and_two_threads(digits):
    x, _, y, _ = digits
    x = x[:400].reshape(-1, 1, 8, 8)
    y = y[:400]
    with pydl.num_threads(1):
        assert pydl.get_num_threads() == 1
        a = _train_reproducibly(x, y, 11)
    with pydl.num_threads(2):
        assert pydl.get_num_threads() == 2
        b = _train_reproducibly(x, y, 11)
    _assert_bitwise_equal(a, b)


@needs_openmp
def test_mlp_identical_on_one_and_two_threads(digits):
    x, _, y, _ = digits
    res = []
    for threads in (1, 2):
        with pydl.num_threads(threads):
            pydl.seed(3)
            model = pydl.Sequential([Dense(64, 128), ReLU(), Dropout(0.2), Dense(128, 10)])
            model.fit(x, y, epochs=1, batch_size=256, loss="ce",
                      optimizer=SGD(lr=0.1, momentum=0.9, nesterov=True), verbose=0)
            res.append((model.get_weights(), [model.evaluate(x, y)["loss"]]))
    _assert_bitwise_equal(*res)


def test_optimizer_named_again_keeps_its_state():
    # train_on_batch(..., optimizer='adam') on every call must not restart Adam at step 1
    model = pydl.Sequential([Dense(3, 2)])
    x = np.ones((4, 3), np.float32)
    y = np.array([0, 1, 0, 1])
    model.train_on_batch(x, y, loss="cross_entropy", optimizer="adam")
    first = model.optimizer
    model.train_on_batch(x, y, loss="cross_entropy", optimizer="adam")
    assert model.optimizer is first
    assert all(st["step"] == 2 for st in first.state.values())
    model.train_on_batch(x, y, optimizer="sgd")
    assert isinstance(model.optimizer, pydl.optimizers.SGD)


def test_a_layer_object_may_appear_only_once():
    relu = ReLU()
    with pytest.raises(ValueError, match="same ReLU object"):
        pydl.Sequential([Dense(3, 3), relu, Dense(3, 3), relu])


def test_batchnorm_with_a_last_batch_of_one_sample_is_refused_up_front():
    model = pydl.Sequential([Dense(3, 4), BatchNorm1D(4), Dense(4, 2)])
    with pytest.raises(ValueError, match="last batch of one sample"):
        model.fit(np.ones((33, 3), np.float32), np.zeros(33, np.int64), batch_size=32,
                  loss="cross_entropy", optimizer="sgd", verbose=0)


def test_scalar_targets_are_refused():
    model = pydl.Sequential([Dense(3, 2)])
    with pytest.raises(ValueError, match="one target per sample"):
        model.fit(np.ones((4, 3), np.float32), 1, loss="cross_entropy", optimizer="sgd",
                  verbose=0)
