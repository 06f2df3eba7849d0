"""pydl.layers: backward of every layer by float64 finite differences (with
the layer in the middle of a small network), constructor validation, shape
errors, initialisers, float32 vs float64, parameters and gradients."""
import zlib

import numpy as np
import pytest

import pydl
from pydl.layers import (AvgPool2D, BatchNorm1D, BatchNorm2D, Conv2D, Dense, Dropout, Flatten,
                         GlobalAvgPool2D, LeakyReLU, MaxPool2D, ReLU, Sigmoid, Softmax, Tanh,
                         init)
from pydl.layers.base import REGISTRY, Layer

from helpers import check_layer_gradients


@pytest.fixture(autouse=True)
def _seed_pydl(request):
    pydl.seed(zlib.crc32(request.node.nodeid.encode()))


# --------------------------------------------------------------------------
# Gradients: the layer under test between two others, float64
# --------------------------------------------------------------------------
def conv_sandwich(layer, c_in, c_mid, c_out_mid, hw_out, n_out=3, in_hw=None):
    """1x1 Conv2D(c_in -> c_mid) -> layer -> Flatten -> Dense(c_out_mid*hw_out -> n_out)."""
    return [Conv2D(c_in, c_mid, 1), layer, Flatten(), Dense(c_out_mid * hw_out, n_out)]


CONV_CASES = {
    "3x3": (dict(kernel_size=3), 4, 4, (5, 5)),
    "stride2": (dict(kernel_size=3, stride=2), 4, 4, (6, 6)),
    "pad_same": (dict(kernel_size=3, padding="same"), 4, 4, (5, 5)),
    "pad_same_even_k": (dict(kernel_size=(2, 4), padding="same"), 4, 4, (5, 5)),
    "pad1_stride2": (dict(kernel_size=3, stride=2, padding=1), 4, 4, (5, 5)),
    "pad_asym": (dict(kernel_size=3, padding=((0, 1), (2, 0))), 4, 4, (4, 4)),
    "dilation2": (dict(kernel_size=3, dilation=2), 4, 4, (6, 6)),
    "dilation2_same": (dict(kernel_size=3, dilation=2, padding="same"), 4, 4, (5, 5)),
    "rect_stride": (dict(kernel_size=(3, 2), stride=(2, 1)), 4, 4, (6, 5)),
    "groups2": (dict(kernel_size=3, groups=2), 4, 6, (5, 5)),
    "depthwise": (dict(kernel_size=3, groups=4, padding=1), 4, 4, (4, 4)),
    "depthwise_x2": (dict(kernel_size=3, groups=4, padding=1), 4, 8, (4, 4)),
    "no_bias": (dict(kernel_size=3, bias=False), 4, 4, (5, 5)),
}


@pytest.mark.parametrize("case", sorted(CONV_CASES))
def test_conv2d_gradients(case, rng):
    kwargs, c_in, c_out, (h, w) = CONV_CASES[case]
    layer = Conv2D(c_in, c_out, **kwargs)
    oc, oh, ow = layer.output_shape((c_in, h, w))
    assert oc == c_out
    check_layer_gradients(conv_sandwich(layer, 2, c_in, c_out, oh * ow), (2, h, w), rng)


def test_conv2d_same_keeps_size():
    for k, d in ((3, 1), (3, 2), (4, 1), (5, 1)):
        assert Conv2D(2, 3, k, padding="same", dilation=d).output_shape((2, 7, 6)) == (3, 7, 6)


def test_dense_gradients(rng):
    check_layer_gradients([Dense(5, 4), Dense(4, 6), Dense(6, 3)], (5,), rng, batch=3)


def test_dense_no_bias_gradients(rng):
    layer = Dense(4, 6, bias=False)
    assert sorted(layer.params) == ["weight"]
    check_layer_gradients([Dense(5, 4), layer, Dense(6, 3)], (5,), rng, batch=3)


POOL_CASES = {
    "max2": (lambda: MaxPool2D(2), (4, 4)),
    "max3_s2_p1": (lambda: MaxPool2D(3, stride=2, padding=1), (5, 5)),
    "max2_s1": (lambda: MaxPool2D(2, stride=1), (4, 4)),
    "max3_s2_ceil": (lambda: MaxPool2D(3, stride=2, ceil_mode=True), (6, 6)),
    "max2_dil2": (lambda: MaxPool2D(2, stride=1, dilation=2), (5, 5)),
    "avg2": (lambda: AvgPool2D(2), (4, 4)),
    "avg3_s2_p1": (lambda: AvgPool2D(3, stride=2, padding=1), (5, 5)),
    "avg3_s2_p1_excl": (lambda: AvgPool2D(3, stride=2, padding=1, count_include_pad=False),
                        (5, 5)),
    "avg3_s2_ceil": (lambda: AvgPool2D(3, stride=2, ceil_mode=True), (6, 6)),
}


@pytest.mark.parametrize("case", sorted(POOL_CASES))
def test_pool_gradients(case, rng):
    make, (h, w) = POOL_CASES[case]
    layer = make()
    c, oh, ow = layer.output_shape((3, h, w))
    assert c == 3
    # Conv -> pool -> Conv -> Flatten -> Dense: the pool really is in the middle.
    layers = [Conv2D(2, 3, 1), layer, Conv2D(3, 2, 1), Flatten(), Dense(2 * oh * ow, 3)]
    check_layer_gradients(layers, (2, h, w), rng)


def test_global_avg_pool_gradients(rng):
    layers = [Conv2D(2, 3, 1), GlobalAvgPool2D(), Dense(3, 4)]
    model = check_layer_gradients(layers, (2, 3, 4), rng, batch=3)
    assert model.output_shapes[1] == (3,)


def test_flatten_gradients(rng):
    layers = [Conv2D(2, 3, 2), Flatten(), Dense(3 * 3 * 2, 4)]
    check_layer_gradients(layers, (2, 4, 3), rng)


ACTIVATIONS = {
    "relu": ReLU, "leaky_relu": lambda: LeakyReLU(0.1), "sigmoid": Sigmoid, "tanh": Tanh,
    "softmax": Softmax,
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_gradients_dense(name, rng):
    check_layer_gradients([Dense(5, 6), ACTIVATIONS[name](), Dense(6, 3)], (5,), rng, batch=3)


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "sigmoid", "tanh", "softmax"])
def test_activation_gradients_conv(name, rng):
    layers = [Conv2D(2, 3, 1), ACTIVATIONS[name](), Conv2D(3, 2, 2), Flatten(), Dense(2 * 2 * 2, 3)]
    check_layer_gradients(layers, (2, 3, 3), rng)


@pytest.mark.parametrize("p", [0.3, 0.6])
def test_dropout_gradients(p, rng):
    model = check_layer_gradients([Dense(5, 8), Dropout(p), Dense(8, 3)], (5,), rng, batch=4)
    mask = model.layers[1]._mask
    assert mask is not None and 0 < np.count_nonzero(mask) < mask.size


def test_dropout_gradients_conv(rng):
    layers = [Conv2D(2, 3, 1), Dropout(0.5), Conv2D(3, 2, 2), Flatten(), Dense(8, 3)]
    check_layer_gradients(layers, (2, 3, 3), rng)


def test_batchnorm1d_gradients(rng):
    check_layer_gradients([Dense(4, 5), BatchNorm1D(5), Dense(5, 3)], (4,), rng, batch=6)


def test_batchnorm1d_no_affine_gradients(rng):
    layer = BatchNorm1D(5, affine=False)
    assert layer.params == {}
    check_layer_gradients([Dense(4, 5), layer, Dense(5, 3)], (4,), rng, batch=6)


def test_batchnorm2d_gradients(rng):
    layers = [Conv2D(2, 3, 1), BatchNorm2D(3), Conv2D(3, 2, 2), Flatten(), Dense(2 * 2 * 2, 3)]
    check_layer_gradients(layers, (2, 3, 3), rng, batch=3)


def test_batchnorm2d_random_affine_gradients(rng):
    bn = BatchNorm2D(3)
    bn.params["gamma"][...] = rng.uniform(0.5, 2.0, 3)
    bn.params["beta"][...] = rng.uniform(-1, 1, 3)
    layers = [Conv2D(2, 3, 1), bn, Conv2D(3, 2, 2), Flatten(), Dense(2 * 2 * 2, 3)]
    check_layer_gradients(layers, (2, 3, 3), rng, batch=3)


def test_stack_of_everything_gradients(rng):
    layers = [Conv2D(1, 4, 3, padding="same"), BatchNorm2D(4), Tanh(),
              Conv2D(4, 4, 3, groups=2, padding=1), MaxPool2D(2), LeakyReLU(0.2),
              Conv2D(4, 4, 2, groups=4), Dropout(0.25), Flatten(), Dense(4, 5), Sigmoid(),
              Dense(5, 3)]
    check_layer_gradients(layers, (1, 5, 5), rng)


# --------------------------------------------------------------------------
# Forward values against numpy references
# --------------------------------------------------------------------------
def test_dense_forward_reference(rng):
    layer = Dense(5, 3, dtype=np.float64)
    layer.params["bias"][...] = rng.uniform(-1, 1, 3)
    x = rng.uniform(-1, 1, (4, 5))
    np.testing.assert_allclose(layer.forward(x),
                               x @ layer.params["weight"].T + layer.params["bias"], rtol=1e-12)


def test_activation_forward_reference(rng):
    x = rng.uniform(-3, 3, (4, 6))
    np.testing.assert_allclose(ReLU().forward(x), np.maximum(x, 0))
    np.testing.assert_allclose(LeakyReLU(0.2).forward(x), np.where(x > 0, x, 0.2 * x))
    np.testing.assert_allclose(Sigmoid().forward(x), 1 / (1 + np.exp(-x)), rtol=1e-12)
    np.testing.assert_allclose(Tanh().forward(x), np.tanh(x), rtol=1e-12)
    e = np.exp(x - x.max(axis=1, keepdims=True))
    np.testing.assert_allclose(Softmax().forward(x), e / e.sum(axis=1, keepdims=True),
                               rtol=1e-12)


def test_parameterless_layers_keep_float64(rng):
    x = rng.uniform(-1, 1, (2, 3, 4, 4))
    for layer in (ReLU(), LeakyReLU(), Sigmoid(), Tanh(), Softmax(), MaxPool2D(2),
                  AvgPool2D(2), GlobalAvgPool2D(), Flatten(), Dropout(0.5)):
        y = layer.forward(x, training=True)
        assert y.dtype == np.float64, layer
        assert layer.backward(np.ones_like(y)).dtype == np.float64, layer


def test_global_avg_pool_forward(rng):
    x = rng.uniform(-1, 1, (2, 3, 4, 5))
    y = GlobalAvgPool2D().forward(x)
    assert y.shape == (2, 3)
    np.testing.assert_allclose(y, x.mean(axis=(2, 3)), rtol=1e-12)


def test_flatten_shape_and_backward(rng):
    x = rng.uniform(-1, 1, (2, 3, 4, 5)).astype(np.float32)
    f = Flatten()
    y = f.forward(x, training=True)
    assert y.shape == (2, 60) and f.output_shape((3, 4, 5)) == (60,)
    np.testing.assert_array_equal(y, x.reshape(2, -1))
    assert f.backward(np.ones((2, 60), np.float32)).shape == (2, 3, 4, 5)


def test_dropout_inference_is_identity_and_scales_in_training(rng):
    x = rng.uniform(0.5, 1.0, (200, 50)).astype(np.float32)
    d = Dropout(0.25, seed=3)
    np.testing.assert_array_equal(d.forward(x, training=False), x)
    y = d.forward(x, training=True)
    kept = y != 0
    assert 0.7 < kept.mean() < 0.8
    np.testing.assert_allclose(y[kept], x[kept] / 0.75, rtol=1e-6)
    # A fresh mask every training step.
    y2 = d.forward(x, training=True)
    assert not np.array_equal(y2 != 0, kept)
    np.testing.assert_array_equal(Dropout(0.0).forward(x, training=True), x)


def test_dropout_seeded_masks_repeat(rng):
    x = rng.uniform(0.5, 1.0, (20, 30)).astype(np.float32)
    a = Dropout(0.5, seed=7)
    b = Dropout(0.5, seed=7)
    for _ in range(3):
        np.testing.assert_array_equal(a.forward(x, True), b.forward(x, True))


def test_batchnorm_running_stats_and_inference(rng):
    x = rng.normal(2.0, 3.0, (64, 4))
    bn = BatchNorm1D(4, momentum=0.1, dtype=np.float64)
    y = bn.forward(x, training=True)
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=0), 1, rtol=1e-4)
    np.testing.assert_allclose(bn.state["running_mean"], 0.1 * x.mean(axis=0), rtol=1e-10)
    np.testing.assert_allclose(bn.state["running_var"], 0.9 + 0.1 * x.var(axis=0, ddof=1),
                               rtol=1e-10)
    rm, rv = bn.state["running_mean"].copy(), bn.state["running_var"].copy()
    y = bn.forward(x, training=False)
    np.testing.assert_allclose(y, (x - rm) / np.sqrt(rv + 1e-5), rtol=1e-10)
    np.testing.assert_array_equal(bn.state["running_mean"], rm)  # inference leaves them


def test_backward_before_forward_raises():
    for layer in (Dense(2, 2), Conv2D(1, 1, 1), ReLU(), MaxPool2D(2), AvgPool2D(2),
                  Flatten(), BatchNorm1D(2), GlobalAvgPool2D()):
        with pytest.raises(RuntimeError, match="before forward"):
            layer.backward(np.zeros((1, 2), np.float32))


def test_backward_after_inference_forward_raises(rng):
    layer = Dense(3, 2)
    layer.forward(rng.uniform(-1, 1, (4, 3)), training=False)
    with pytest.raises(RuntimeError, match="Dense"):
        layer.backward(np.zeros((4, 2), np.float32))


def test_backward_wrong_grad_shape(rng):
    layer = Dense(3, 2)
    layer.forward(rng.uniform(-1, 1, (4, 3)), training=True)
    with pytest.raises(ValueError, match=r"Dense: grad_out has shape \(4, 3\)"):
        layer.backward(np.zeros((4, 3), np.float32))


# --------------------------------------------------------------------------
# float32 against float64
# --------------------------------------------------------------------------
def _mixed_net():
    return [Conv2D(1, 4, 3, padding=1), BatchNorm2D(4), ReLU(), MaxPool2D(2),
            Conv2D(4, 6, 3, groups=2, padding="same"), Tanh(), AvgPool2D(2), Flatten(),
            Dense(6 * 2 * 2, 8), Sigmoid(), Dropout(0.3, seed=5), Dense(8, 3), Softmax()]


def test_float32_matches_float64(rng):
    m32 = pydl.Sequential(_mixed_net())
    assert all(l.dtype == np.float32 for l in m32.layers)
    m64 = pydl.Sequential(_mixed_net()).astype(np.float64)
    m64.set_weights(m32.get_weights())
    x = rng.uniform(-1, 1, (5, 1, 8, 8))
    g = rng.uniform(-1, 1, (5, 3))
    outs = []
    for m, dt in ((m32, np.float32), (m64, np.float64)):
        m.layers[0].needs_input_grad = True
        y = m.forward(x.astype(dt), training=True).copy()
        gx = m.backward(g.astype(dt)).copy()
        assert y.dtype == dt and gx.dtype == dt
        assert all(p.dtype == dt and q.dtype == dt for p, q in m.parameters())
        outs.append((y, gx, [q.copy() for _, q in m.parameters()]))
    (y32, gx32, g32), (y64, gx64, g64) = outs
    np.testing.assert_allclose(y32, y64, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(gx32, gx64, rtol=1e-3, atol=1e-4 * np.abs(gx64).max())
    for a, b in zip(g32, g64):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4 * max(1e-3, np.abs(b).max()))
    # Inference too.
    np.testing.assert_allclose(m32.predict(x), m64.predict(x), rtol=1e-4, atol=1e-5)


def test_layer_casts_other_input_dtypes(rng):
    layer = Dense(3, 2)
    y = layer.forward(np.arange(6).reshape(2, 3))  # int input
    assert y.dtype == np.float32
    y = layer.forward(rng.uniform(-1, 1, (2, 3)))  # float64 input to a float32 layer
    assert y.dtype == np.float32
    with pytest.raises(TypeError, match="numeric"):
        layer.forward(np.array([["a", "b", "c"]]))


def test_astype_converts_params_grads_state():
    bn = BatchNorm2D(3)
    bn.astype(np.float64)
    assert all(a.dtype == np.float64 for d in (bn.params, bn.grads, bn.state) for a in d.values())
    assert bn.dtype == np.float64
    with pytest.raises(TypeError, match="float32 or float64"):
        bn.astype(np.int32)


# --------------------------------------------------------------------------
# Parameters, gradients, configs
# --------------------------------------------------------------------------
def test_parameters_and_grads_exposed():
    d = Dense(4, 3)
    assert d.params["weight"].shape == (3, 4) and d.params["bias"].shape == (3,)
    assert d.grads["weight"].shape == (3, 4) and d.num_params() == 15
    np.testing.assert_array_equal(d.params["bias"], 0)
    c = Conv2D(4, 6, (3, 2), groups=2)
    assert c.params["weight"].shape == (6, 2, 3, 2) and c.params["bias"].shape == (6,)
    assert c.num_params() == 6 * 2 * 3 * 2 + 6
    bn = BatchNorm2D(5)
    assert sorted(bn.params) == ["beta", "gamma"]
    assert sorted(bn.state) == ["running_mean", "running_var"]
    np.testing.assert_array_equal(bn.params["gamma"], 1)
    np.testing.assert_array_equal(bn.state["running_var"], 1)
    for layer in (ReLU(), Flatten(), MaxPool2D(2), Dropout(0.5), GlobalAvgPool2D()):
        assert layer.params == {} and layer.grads == {} and layer.num_params() == 0


def test_grads_filled_by_backward(rng):
    d = Dense(4, 3, dtype=np.float64)
    x = rng.uniform(-1, 1, (5, 4))
    g = rng.uniform(-1, 1, (5, 3))
    d.forward(x, training=True)
    gx = d.backward(g)
    np.testing.assert_allclose(d.grads["weight"], g.T @ x, rtol=1e-12)
    np.testing.assert_allclose(d.grads["bias"], g.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(gx, g @ d.params["weight"], rtol=1e-12)
    d.needs_input_grad = False
    d.forward(x, training=True)
    assert d.backward(g) is None


ALL_LAYERS = [Dense(3, 4, bias=False, weight_init="glorot_normal"),
              Conv2D(2, 4, (3, 1), stride=(1, 2), padding="same", dilation=2, groups=2),
              MaxPool2D(3, stride=2, padding=1, ceil_mode=True), AvgPool2D(2, padding=1,
                                                                          count_include_pad=False),
              GlobalAvgPool2D(), Flatten(), ReLU(), LeakyReLU(0.3), Sigmoid(), Tanh(), Softmax(),
              Dropout(0.2), BatchNorm1D(4, eps=1e-3, momentum=0.2, affine=False),
              BatchNorm2D(3, dtype=np.float64)]


@pytest.mark.parametrize("layer", ALL_LAYERS, ids=lambda l: type(l).__name__)
def test_config_round_trip(layer):
    import json

    cfg = json.loads(json.dumps(layer.get_config()))
    clone = type(layer)(**cfg)
    assert clone.get_config() == layer.get_config()
    assert repr(clone) == repr(layer)
    assert REGISTRY[type(layer).__name__] is type(layer)
    assert {k: v.shape for k, v in clone.params.items()} == \
        {k: v.shape for k, v in layer.params.items()}
    assert clone.dtype == layer.dtype


def test_registry_holds_every_layer():
    assert set(REGISTRY) >= {"Dense", "Conv2D", "MaxPool2D", "AvgPool2D", "GlobalAvgPool2D",
                             "Flatten", "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Softmax",
                             "Dropout", "BatchNorm1D", "BatchNorm2D"}
    assert all(issubclass(c, Layer) for c in REGISTRY.values())


# --------------------------------------------------------------------------
# Constructor validation
# --------------------------------------------------------------------------
@pytest.mark.parametrize("make, exc, match", [
    (lambda: Dense(0, 3), ValueError, "in_features"),
    (lambda: Dense(3, -1), ValueError, "out_features"),
    (lambda: Dense(2.5, 3), TypeError, "in_features"),
    (lambda: Dense(True, 3), TypeError, "in_features"),
    (lambda: Dense(3, 3, weight_init="nope"), ValueError, "initialiser"),
    (lambda: Dense(3, 3, dtype=np.int32), TypeError, "float32 or float64"),
    (lambda: Conv2D(0, 3, 3), ValueError, "in_channels"),
    (lambda: Conv2D(3, 0, 3), ValueError, "out_channels"),
    (lambda: Conv2D(3, 4, 0), ValueError, "kernel_size"),
    (lambda: Conv2D(3, 4, (3, -1)), ValueError, "kernel_size"),
    (lambda: Conv2D(3, 4, (3, 3, 3)), TypeError, "kernel_size"),
    (lambda: Conv2D(3, 4, "3"), TypeError, "kernel_size"),
    (lambda: Conv2D(3, 4, 3.0), TypeError, "kernel_size"),
    (lambda: Conv2D(4, 6, 3, groups=4), ValueError, "divisible by groups"),
    (lambda: Conv2D(3, 6, 3, groups=2), ValueError, "divisible by groups"),
    (lambda: Conv2D(4, 4, 3, groups=0), ValueError, "groups"),
    (lambda: Conv2D(3, 4, 3, stride=0), ValueError, "stride"),
    (lambda: Conv2D(3, 4, 3, dilation=0), ValueError, "dilation"),
    (lambda: Conv2D(3, 4, 3, padding=-1), ValueError, "padding"),
    (lambda: Conv2D(3, 4, 3, padding="full"), ValueError, "padding"),
    (lambda: MaxPool2D(0), ValueError, "kernel"),
    (lambda: MaxPool2D(2, stride=0), ValueError, "stride"),
    (lambda: MaxPool2D(2, padding=2), ValueError, "padding"),
    (lambda: AvgPool2D(-2), ValueError, "kernel"),
    (lambda: AvgPool2D(3, padding=-1), ValueError, "padding"),
    (lambda: Dropout(1.0), ValueError, r"\[0, 1\)"),
    (lambda: Dropout(-0.1), ValueError, r"\[0, 1\)"),
    (lambda: Dropout("0.5"), TypeError, "p must"),
    (lambda: Dropout(True), TypeError, "p must"),
    (lambda: LeakyReLU("x"), TypeError, "negative_slope"),
    (lambda: BatchNorm1D(0), ValueError, "num_features"),
    (lambda: BatchNorm2D(3, eps=0), ValueError, "eps"),
    (lambda: BatchNorm2D(3, momentum=1.5), ValueError, "momentum"),
    (lambda: Dense(3, 3, seed=-1), ValueError, "seed"),
])
def test_constructor_validation(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


# --------------------------------------------------------------------------
# Wrong input shapes
# --------------------------------------------------------------------------
@pytest.mark.parametrize("layer, x_shape, name", [
    (Dense(4, 3), (2, 5), "Dense"),
    (Dense(4, 3), (2, 4, 1), "Dense"),
    (Conv2D(3, 4, 3), (2, 2, 5, 5), "Conv2D"),
    (Conv2D(3, 4, 3), (2, 3, 5), "Conv2D"),
    (Conv2D(3, 4, 3), (2, 3, 2, 2), "Conv2D"),  # smaller than the kernel
    (MaxPool2D(2), (2, 3, 4), "MaxPool2D"),
    (MaxPool2D(3), (2, 3, 2, 2), "MaxPool2D"),
    (AvgPool2D(2), (2, 4), "AvgPool2D"),
    (GlobalAvgPool2D(), (2, 3), "GlobalAvgPool2D"),
    (BatchNorm1D(4), (2, 5), "BatchNorm1D"),
    (BatchNorm2D(4), (2, 4), "BatchNorm2D"),
    (BatchNorm2D(4), (2, 3, 2, 2), "BatchNorm2D"),
])
def test_wrong_input_shape_names_layer(layer, x_shape, name):
    x = np.zeros(x_shape, np.float32)
    with pytest.raises(ValueError, match=name):
        layer.forward(x, training=True)
    with pytest.raises(ValueError, match=name):
        layer.output_shape(x_shape[1:])


def test_dense_error_says_expected_and_got():
    with pytest.raises(ValueError, match=r"\(N, 4\).*\(2, 5\)"):
        Dense(4, 3).forward(np.zeros((2, 5), np.float32))


def test_batchnorm_needs_two_values_per_channel():
    with pytest.raises(ValueError):
        BatchNorm1D(3).forward(np.zeros((1, 3), np.float32), training=True)
    BatchNorm1D(3).forward(np.zeros((1, 3), np.float32), training=False)


# --------------------------------------------------------------------------
# Initialisers
# --------------------------------------------------------------------------
def test_fans():
    assert init.fans((30, 20)) == (20, 30)
    assert init.fans((16, 3, 5, 4)) == (60, 320)


@pytest.mark.parametrize("name, var, uniform", [
    ("he_uniform", lambda fi, fo: 2 / fi, True),
    ("he_normal", lambda fi, fo: 2 / fi, False),
    ("glorot_uniform", lambda fi, fo: 2 / (fi + fo), True),
    ("glorot_normal", lambda fi, fo: 2 / (fi + fo), False),
])
def test_initialiser_statistics(name, var, uniform):
    shape = (200, 50, 3, 3)
    fi, fo = init.fans(shape)
    w = init.get(name)(shape, fi, fo, np.random.default_rng(0))
    assert w.shape == shape
    expected = var(fi, fo)
    assert abs(w.mean()) < 0.01 * np.sqrt(expected) * 10
    assert w.var() == pytest.approx(expected, rel=0.03)
    if uniform:
        bound = np.sqrt(3 * expected)
        assert np.abs(w).max() <= bound
        assert np.abs(w).max() > 0.99 * bound
    else:  # normal: kurtosis 3 (uniform's is 1.8)
        z = (w - w.mean()) / w.std()
        assert np.mean(z ** 4) == pytest.approx(3.0, rel=0.05)


def test_layer_initialiser_statistics():
    d = Dense(400, 300, weight_init="glorot_uniform", seed=1)
    assert d.params["weight"].var() == pytest.approx(2 / 700, rel=0.03)
    c = Conv2D(32, 64, 3, weight_init="he_normal", seed=1)
    assert c.params["weight"].var() == pytest.approx(2 / (32 * 9), rel=0.03)
    c = Conv2D(32, 64, 3, groups=4, seed=1)  # he_uniform, fan_in 8 * 9
    assert c.params["weight"].var() == pytest.approx(2 / (8 * 9), rel=0.03)


def test_zeros_initialiser():
    np.testing.assert_array_equal(Dense(3, 4, weight_init="zeros").params["weight"], 0)
    np.testing.assert_array_equal(init.zeros((2, 3), 3, 2, np.random.default_rng(0)), 0)


def test_initialisers_seeded():
    a = Conv2D(3, 4, 3, seed=11).params["weight"]
    b = Conv2D(3, 4, 3, seed=11).params["weight"]
    c = Conv2D(3, 4, 3, seed=12).params["weight"]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    pydl.seed(5)
    d1 = [Dense(6, 5).params["weight"], Dense(5, 2).params["weight"]]
    pydl.seed(5)
    d2 = [Dense(6, 5).params["weight"], Dense(5, 2).params["weight"]]
    for u, v in zip(d1, d2):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(Dense(6, 5).params["weight"], d1[0])


def test_seed_validation():
    with pytest.raises(ValueError):
        pydl.seed(-1)
    with pytest.raises(TypeError):
        pydl.seed(1.5)
    with pytest.raises(TypeError):
        Dense(2, 2, seed="a")


def test_initialiser_names():
    assert set(init.INITIALIZERS) == {"he_uniform", "he_normal", "glorot_uniform",
                                      "glorot_normal", "zeros"}
    with pytest.raises(ValueError, match="unknown initialiser"):
        init.get("kaiming")


def test_dropout_backward_needs_a_training_forward():
    d = Dropout(0.5)
    with pytest.raises(RuntimeError, match="before forward"):
        d.backward(np.ones(3))
    d.forward(np.ones((2, 3)), training=False)
    with pytest.raises(RuntimeError, match="before forward"):
        d.backward(np.ones((7, 7)))
    d.forward(np.ones((2, 3)), training=True)
    with pytest.raises(ValueError, match="grad_out has shape"):
        d.backward(np.ones((7, 7)))
