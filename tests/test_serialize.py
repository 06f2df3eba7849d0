"""Sequential.save / pydl.load_model: round trips (identical predictions,
batch-norm running statistics), and the rejection of missing, corrupt,
truncated, foreign and tampered files -- never unpickling anything."""
import json
import os
import pickle

import numpy as np
import pytest

import pydl
from pydl import _serialize
from pydl.layers import (AvgPool2D, BatchNorm1D, BatchNorm2D, Conv2D, Dense, Dropout, Flatten,
                         GlobalAvgPool2D, LeakyReLU, MaxPool2D, ReLU, Sigmoid, Softmax, Tanh)

META = "__pydl_model__"


def every_layer_model(dtype=np.float32):
    pydl.seed(0)
    model = pydl.Sequential([
        Conv2D(1, 4, 3, padding="same", dilation=1, bias=False), BatchNorm2D(4), LeakyReLU(0.05),
        MaxPool2D(3, stride=2, padding=1), Conv2D(4, 6, (2, 3), stride=(1, 1), padding=((0, 1),
                                                                                      (1, 1)),
                                              groups=2, weight_init="glorot_normal"),
        Tanh(), AvgPool2D(2, count_include_pad=False), Conv2D(6, 6, 1, groups=6), Sigmoid(),
        Dropout(0.2), Flatten(), Dense(6 * 2 * 2, 8), BatchNorm1D(8, momentum=0.3), ReLU(),
        Dense(8, 5), Softmax()])
    return model.astype(dtype)


def trained(model, rng, n=24):
    """Two epochs (the model ends in Softmax: MSE on one-hot targets), so
    weights and batch-norm statistics are no longer their initial values."""
    x = rng.uniform(-1, 1, (n, 1, 8, 8)).astype(model.dtype)
    y = np.eye(5, dtype=np.float32)[np.arange(n) % 5]
    model.fit(x, y, epochs=2, batch_size=8, loss="mse", optimizer="adam", verbose=0)
    return model, x


def read_npz(path):
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(arrays.pop(META).tobytes().decode())
    return meta, arrays


def write_npz(path, meta, arrays, **extra):
    payload = dict(arrays)
    if meta is not None:
        payload[META] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    payload.update(extra)
    with open(path, "wb") as f:
        np.savez(f, **payload)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A trained model with every layer type, its inputs and its file (read-only)."""
    with pydl.num_threads(1):
        model, x = trained(every_layer_model(), np.random.default_rng(0))
    path = tmp_path_factory.mktemp("saved") / "model.npz"
    model.save(path)
    return model, x, path


# --------------------------------------------------------------------------
# Round trips
# --------------------------------------------------------------------------
def test_round_trip_identical_predictions(saved):
    model, x, path = saved
    loaded = pydl.load_model(path)
    assert isinstance(loaded, pydl.Sequential)
    assert [type(l) for l in loaded.layers] == [type(l) for l in model.layers]
    assert [l.get_config() for l in loaded.layers] == [l.get_config() for l in model.layers]
    assert loaded.input_shape == model.input_shape == (1, 8, 8)
    assert loaded.predict(x).tobytes() == model.predict(x).tobytes()
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes()


def test_round_trip_batchnorm_running_stats(saved):
    model, _, path = saved
    loaded = pydl.load_model(path)
    for i in (1, 12):
        for k in ("running_mean", "running_var"):
            ref = model.layers[i].state[k]
            assert not np.array_equal(ref, np.zeros_like(ref) if "mean" in k else 1)
            np.testing.assert_array_equal(loaded.layers[i].state[k], ref)


def test_round_trip_float64_and_str_path(tmp_path, rng):
    with pydl.num_threads(1):
        model, x = trained(every_layer_model(np.float64), rng)
    path = str(tmp_path / "m64.npz")
    model.save(path)
    loaded = pydl.load_model(path)
    assert loaded.dtype == np.float64
    assert loaded.predict(x).tobytes() == model.predict(x).tobytes()


def test_round_trip_unbuilt_model(tmp_path, rng):
    model = pydl.Sequential([Dense(3, 4), ReLU(), Dense(4, 2)])
    assert model.input_shape is None
    model.save(tmp_path / "m.npz")
    loaded = pydl.load_model(tmp_path / "m.npz")
    assert loaded.input_shape is None
    x = rng.uniform(-1, 1, (5, 3))
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_numpy_int_arguments_round_trip(tmp_path, rng):
    i = np.int64
    model = pydl.Sequential([Conv2D(1, 2, i(3), stride=i(2), padding=(i(1), 1), dilation=(1, i(1))),
                             MaxPool2D(i(2), stride=(i(1), 1)), AvgPool2D([i(1), 1]), Flatten()],
                            input_shape=(1, 7, 7))
    model.save(tmp_path / "np_ints.npz")
    loaded = pydl.load_model(tmp_path / "np_ints.npz")
    x = rng.uniform(-1, 1, (2, 1, 7, 7))
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_loaded_model_keeps_training(saved):
    model, x, path = saved
    loaded = pydl.load_model(path)
    y = np.eye(5, dtype=np.float32)[np.arange(len(x)) % 5]
    a = loaded.fit(x, y, epochs=1, loss="mse", optimizer="sgd", verbose=0, shuffle=False)
    assert np.isfinite(a["loss"][0])


def test_file_layout(saved):
    model, _, path = saved
    meta, arrays = read_npz(path)
    assert meta["format"] == "pydl.Sequential" and meta["version"] == 1
    assert meta["pydl_version"] == pydl.__version__
    assert [l["type"] for l in meta["layers"]] == [type(l).__name__ for l in model.layers]
    assert "layer1.state.running_mean" in arrays and "layer0.params.weight" in arrays
    assert "layer0.params.bias" not in arrays  # bias=False
    assert all(a.dtype != object for a in arrays.values())


# --------------------------------------------------------------------------
# Rejections
# --------------------------------------------------------------------------
def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        pydl.load_model(tmp_path / "nope.npz")


def test_directory(tmp_path):
    with pytest.raises(ValueError, match="not a valid pydl model file"):
        pydl.load_model(tmp_path)


@pytest.mark.parametrize("content", [b"", b"hello", bytes(range(256)) * 40, b"PK\x03\x04junk",
                                     b"\x93NUMPY\x01\x00junk"], ids=["empty", "text", "random",
                                                                     "zip_magic", "npy_magic"])
def test_random_bytes(tmp_path, content, rng):
    path = tmp_path / "bad.npz"
    if len(content) > 100:
        content = rng.integers(0, 256, 10000, dtype=np.uint8).tobytes()
    path.write_bytes(content)
    with pytest.raises(ValueError, match="not a valid pydl model file"):
        pydl.load_model(path)


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9, 0.99])
def test_truncated_file(saved, keep, tmp_path):
    _, _, path = saved
    data = path.read_bytes()
    bad = tmp_path / "truncated.npz"
    bad.write_bytes(data[:int(len(data) * keep)])
    with pytest.raises(ValueError, match="not a valid pydl model file"):
        pydl.load_model(bad)


def test_corrupted_member(saved, tmp_path):
    _, _, path = saved
    data = bytearray(path.read_bytes())
    i = data.find(b"layer0.params.weight")
    assert i > 0
    data[i + 200:i + 260] = b"\xff" * 60  # inside the first array's bytes or header
    bad = tmp_path / "corrupt.npz"
    bad.write_bytes(bytes(data))
    try:
        loaded = pydl.load_model(bad)
    except ValueError as e:
        assert "not a valid pydl model file" in str(e)
    else:  # only the values changed; still a well-formed model
        assert isinstance(loaded, pydl.Sequential)


def test_npz_without_pydl_entry(tmp_path):
    path = tmp_path / "foreign.npz"
    np.savez(path, a=np.arange(3), b=np.eye(2))
    with pytest.raises(ValueError, match=f"no {META} entry"):
        pydl.load_model(path)


def test_plain_npy_file(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.arange(10))
    with pytest.raises(ValueError, match="not a valid pydl model file"):
        pydl.load_model(path)


def test_unknown_layer_type(saved, tmp_path):
    _, _, path = saved
    meta, arrays = read_npz(path)
    meta["layers"][5]["type"] = "os.system"
    bad = tmp_path / "unknown.npz"
    write_npz(bad, meta, arrays)
    with pytest.raises(ValueError, match=r"layer 5 has unknown type 'os.system'"):
        pydl.load_model(bad)
    meta["layers"][5]["type"] = "Layer"  # the base class is not registered either
    write_npz(bad, meta, arrays)
    with pytest.raises(ValueError, match="unknown type 'Layer'"):
        pydl.load_model(bad)


def test_unknown_layer_type_crafted_from_scratch(tmp_path):
    meta = {"format": "pydl.Sequential", "version": 1, "input_shape": [3],
            "layers": [{"type": "Lambda", "config": {"fn": "__import__('os')"}, "params": [],
                        "state": []}]}
    path = tmp_path / "crafted.npz"
    write_npz(path, meta, {})
    with pytest.raises(ValueError, match="unknown type 'Lambda'; known: "):
        pydl.load_model(path)


def test_wrong_array_shape(saved, tmp_path):
    _, _, path = saved
    meta, arrays = read_npz(path)
    arrays["layer11.params.weight"] = arrays["layer11.params.weight"][:, :-1]
    bad = tmp_path / "shape.npz"
    write_npz(bad, meta, arrays)
    with pytest.raises(ValueError, match=r"array layer11.params.weight has shape \(8, 23\)"):
        pydl.load_model(bad)


def test_wrong_array_dtype(saved, tmp_path):
    _, _, path = saved
    meta, arrays = read_npz(path)
    arrays["layer1.state.running_var"] = arrays["layer1.state.running_var"].astype(np.float64)
    bad = tmp_path / "dtype.npz"
    write_npz(bad, meta, arrays)
    with pytest.raises(ValueError, match="running_var has shape.*dtype float64"):
        pydl.load_model(bad)


def test_missing_array(saved, tmp_path):
    _, _, path = saved
    meta, arrays = read_npz(path)
    del arrays["layer14.params.bias"]
    bad = tmp_path / "missing.npz"
    write_npz(bad, meta, arrays)
    with pytest.raises(ValueError, match="array layer14.params.bias is missing"):
        pydl.load_model(bad)


def test_config_that_does_not_match_the_arrays(saved, tmp_path):
    _, _, path = saved
    meta, arrays = read_npz(path)
    meta["layers"][11]["config"]["out_features"] = 9
    bad = tmp_path / "config.npz"
    write_npz(bad, meta, arrays)
    with pytest.raises(ValueError, match="layer11.params.weight has shape"):
        pydl.load_model(bad)
    meta, arrays = read_npz(path)
    meta["layers"][0]["config"]["kernel_size"] = 0
    write_npz(bad, meta, arrays)
    with pytest.raises(ValueError, match=r"layer 0 \(Conv2D\) has a bad config"):
        pydl.load_model(bad)
    meta["layers"][0]["config"] = {"bogus": 1}
    write_npz(bad, meta, arrays)
    with pytest.raises(ValueError, match="bad config"):
        pydl.load_model(bad)
    meta, arrays = read_npz(path)
    meta["layers"][1]["state"] = ["running_mean"]
    write_npz(bad, meta, arrays)
    with pytest.raises(ValueError, match="lists state"):
        pydl.load_model(bad)


@pytest.mark.parametrize("change, match", [
    (lambda m: m.update(format="keras.Model"), "not a pydl.Sequential model"),
    (lambda m: m.pop("format"), "not a pydl.Sequential model"),
    (lambda m: m.update(version=2), "format version 2; this pydl reads 1"),
    (lambda m: m.update(version="1"), "format version '1'"),
    (lambda m: m.pop("version"), "format version None"),
    (lambda m: m.update(layers=[]), "describes no layers"),
    (lambda m: m.update(layers=["Dense"]), "layer 0 has no type/config/params/state"),
    (lambda m: m["layers"][0].pop("config"), "layer 0 has no type/config"),
    (lambda m: m.update(input_shape=[2, 8, 8]), r"input_shape \[2, 8, 8\] does not fit"),
    (lambda m: m.update(input_shape=5), "input_shape 5 does not fit"),
])
def test_wrong_format_or_version(saved, tmp_path, change, match):
    _, _, path = saved
    meta, arrays = read_npz(path)
    change(meta)
    bad = tmp_path / "meta.npz"
    write_npz(bad, meta, arrays)
    with pytest.raises(ValueError, match=match):
        pydl.load_model(bad)


@pytest.mark.parametrize("payload", [b"{not json", b"[1, 2, 3]", b'"a string"', b"\xff\xfe"],
                         ids=["bad_json", "list", "string", "bad_utf8"])
def test_bad_description(saved, tmp_path, payload):
    _, _, path = saved
    _, arrays = read_npz(path)
    bad = tmp_path / "desc.npz"
    write_npz(bad, None, arrays, **{META: np.frombuffer(payload, dtype=np.uint8)})
    with pytest.raises(ValueError, match="not a valid pydl model file"):
        pydl.load_model(bad)


def test_object_array_refused(saved, tmp_path):
    _, _, path = saved
    meta, arrays = read_npz(path)
    arrays["layer0.params.weight"] = np.array([{"a": 1}, None], dtype=object)
    bad = tmp_path / "object.npz"
    write_npz(bad, meta, arrays)  # np.savez pickles the object array
    with pytest.raises(ValueError, match="not a valid pydl model file.*allow_pickle"):
        pydl.load_model(bad)


def test_object_description_refused(saved, tmp_path):
    _, _, path = saved
    _, arrays = read_npz(path)
    bad = tmp_path / "objmeta.npz"
    write_npz(bad, None, arrays, **{META: np.array(["x"], dtype=object)})
    with pytest.raises(ValueError, match="not a valid pydl model file"):
        pydl.load_model(bad)


class _Trap:
    """Unpickling this creates a directory: proof that pickle ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def test_pickle_never_runs(tmp_path):
    marker = str(tmp_path / "pwned")
    raw = tmp_path / "raw.pkl"
    raw.write_bytes(pickle.dumps(_Trap(marker)))
    with pytest.raises(ValueError, match="not a valid pydl model file"):
        pydl.load_model(raw)
    npz = tmp_path / "trap.npz"
    meta = {"format": "pydl.Sequential", "version": 1, "input_shape": None,
            "layers": [{"type": "ReLU", "config": {}, "params": [], "state": []}]}
    write_npz(npz, meta, {"layer0.params.x": np.array([_Trap(marker)], dtype=object)})
    with pytest.raises(ValueError, match="allow_pickle"):
        pydl.load_model(npz)
    assert not os.path.exists(marker)


def test_np_load_called_without_pickle(saved, monkeypatch):
    _, _, path = saved
    calls = []
    real = np.load

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(_serialize.np, "load", spy)
    pydl.load_model(path)
    assert calls and all(c.get("allow_pickle") is False for c in calls)


def test_save_does_not_pickle(saved):
    _, _, path = saved
    with np.load(path, allow_pickle=False) as z:  # would raise on any pickled member
        for k in z.files:
            assert z[k].dtype != object
