"""pydl.datasets: the bundled digits, IDX read/write (and each malformed-file
case), and the MNIST / Fashion-MNIST directory loaders."""
import gzip
import os
import struct

import numpy as np
import pytest

from pydl import datasets
from pydl.datasets import (
    FASHION_MNIST_DIR,
    load_digits,
    load_fashion_mnist,
    load_idx,
    load_mnist,
    save_idx,
)


# --------------------------------------------------------------------------
# load_digits
# --------------------------------------------------------------------------
def test_load_digits_bunch():
    d = load_digits()
    assert d.images.shape == (1797, 8, 8) and d.images.dtype == np.float32
    assert d.data.shape == (1797, 64) and d.data.dtype == np.float32
    assert d.target.shape == (1797,) and d.target.dtype == np.int64
    assert d["data"] is d.data
    np.testing.assert_array_equal(d.images.reshape(1797, 64), d.data)
    np.testing.assert_array_equal(d.target_names, np.arange(10))
    assert d.data.min() == 0 and d.data.max() == 16
    assert np.all(d.data == np.round(d.data))
    counts = np.bincount(d.target)
    assert counts.tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    assert "CC BY 4.0" in d.DESCR and "10.24432/C50P49" in d.DESCR
    # The first sample is a zero: its centre columns are empty, its sides are not.
    assert d.target[0] == 0 and d.images[0, 3:5, 3:5].sum() == 0 and d.images[0, 3, 1] > 0


def test_load_digits_return_X_y_and_fresh_arrays():
    x, y = load_digits(return_X_y=True)
    assert x.shape == (1797, 64) and y.shape == (1797,)
    x[0, 0] = 99.0  # writable, and a copy: the next call is unaffected
    assert load_digits().data[0, 0] == 0.0
    with pytest.raises(TypeError, match="return_X_y to be True or False"):
        load_digits(return_X_y="yes")
    with pytest.raises(AttributeError):
        load_digits().nope


def test_digits_licence_file_is_shipped():
    here = os.path.join(os.path.dirname(datasets.__file__), "data")
    text = open(os.path.join(here, "README.md")).read()
    assert "CC BY 4.0" in text and "10.24432/C50P49" in text and "Alpaydin" in text


# --------------------------------------------------------------------------
# IDX round trip
# --------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32,
                                   np.float64])
@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
def test_idx_round_trip(tmp_path, rng, dtype, gz):
    a = (rng.standard_normal((3, 4, 5)) * 50).astype(dtype)
    path = tmp_path / ("a.idx" + (".gz" if gz else ""))
    save_idx(path, a)
    with open(path, "rb") as f:
        assert (f.read(2) == b"\x1f\x8b") == gz
    b = load_idx(path)
    assert b.dtype == np.dtype(dtype) and b.dtype.isnative and b.shape == a.shape
    np.testing.assert_array_equal(b, a)


def test_idx_layout_and_gzip_detection(tmp_path):
    a = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.int16)
    save_idx(tmp_path / "x", a)
    raw = (tmp_path / "x").read_bytes()
    assert raw == b"\x00\x00\x0b\x02" + struct.pack(">II", 2, 3) + a.astype(">i2").tobytes()
    # Gzip is detected by content, not by name.
    save_idx(tmp_path / "plain-name", a, compress=True)
    np.testing.assert_array_equal(load_idx(str(tmp_path / "plain-name")), a)
    save_idx(tmp_path / "y.gz", a, compress=False)
    np.testing.assert_array_equal(load_idx(tmp_path / "y.gz"), a)
    # 1-D and a big-endian input array
    save_idx(tmp_path / "l", np.arange(7, dtype=">i4"))
    np.testing.assert_array_equal(load_idx(tmp_path / "l"), np.arange(7))


def _write(path, content: bytes, gz=False):
    path.write_bytes(gzip.compress(content) if gz else content)
    return path


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
@pytest.mark.parametrize("content, message", [
    (b"", "shorter than the 4-byte magic"),
    (b"\x00\x00", "shorter than the 4-byte magic"),
    (b"\x01\x00\x08\x01" + struct.pack(">I", 1) + b"\x00", "bad magic number 0x01000801"),
    (b"\x00\x00\x07\x01" + struct.pack(">I", 1) + b"\x00", "unknown IDX type code 0x07"),
    (b"\x00\x00\x08\x00", "0 dimensions"),
    (b"\x00\x00\x08\x03" + struct.pack(">I", 2), r"truncated: its header declares 3 dimensions"),
    (b"\x00\x00\x08\x02" + struct.pack(">II", 2, 3) + bytes(5),
     r"truncated \(size mismatch\): shape \(2, 3\) of uint8 needs 6 data bytes, the file has 5"),
    (b"\x00\x00\x0d\x01" + struct.pack(">I", 2) + bytes(7), "float32 needs 8 data bytes"),
    (b"\x00\x00\x08\x01" + struct.pack(">I", 2) + bytes(3), "1 bytes of trailing data"),
])
def test_idx_malformed(tmp_path, content, message, gz):
    path = _write(tmp_path / "bad", content, gz)
    with pytest.raises(ValueError, match=message):
        load_idx(path)


def test_idx_corrupt_gzip(tmp_path):
    good = gzip.compress(b"\x00\x00\x08\x01" + struct.pack(">I", 100) + bytes(100))
    path = _write(tmp_path / "cut.gz", good[:-10])
    with pytest.raises(ValueError, match="gzip .*corrupt or truncated"):
        load_idx(path)


def test_idx_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_idx(tmp_path / "missing")
    with pytest.raises(TypeError, match="path to be a str or os.PathLike"):
        load_idx(3)
    with pytest.raises(TypeError, match=r"uint8, int8, int16, int32, float32 or float64.*int64"):
        save_idx(tmp_path / "a", np.arange(3))
    with pytest.raises(TypeError, match="dtype bool"):
        save_idx(tmp_path / "a", np.ones(3, bool))
    with pytest.raises(ValueError, match="1 to 255 dimensions, got 0-D"):
        save_idx(tmp_path / "a", np.float32(1.0))
    with pytest.raises(TypeError, match="compress"):
        save_idx(tmp_path / "a", np.ones(3, np.uint8), compress="gz")


# --------------------------------------------------------------------------
# MNIST-style directories
# --------------------------------------------------------------------------
def _fake_mnist(directory, n_train=6, n_test=4, gz=True, style="-"):
    rng = np.random.default_rng(0)
    parts = {}
    for split, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n).astype(np.uint8)
        for kind, arr, dims in (("images", images, 3), ("labels", labels, 1)):
            name = f"{split}-{kind}{style}idx{dims}-ubyte" + (".gz" if gz else "")
            save_idx(os.path.join(directory, name), arr)
        parts[split] = (images, labels)
    return parts


@pytest.mark.parametrize("gz, style", [(True, "-"), (False, "-"), (False, ".")])
def test_load_mnist(tmp_path, gz, style):
    parts = _fake_mnist(str(tmp_path), gz=gz, style=style)
    (x_tr, y_tr), (x_te, y_te) = load_mnist(tmp_path)
    assert x_tr.shape == (6, 28, 28) and x_tr.dtype == np.uint8
    assert y_tr.shape == (6,) and y_tr.dtype == np.int64 and x_te.shape == (4, 28, 28)
    np.testing.assert_array_equal(x_tr, parts["train"][0])
    np.testing.assert_array_equal(y_te, parts["t10k"][1])


def test_load_mnist_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no directory"):
        load_mnist(tmp_path / "nope")
    with pytest.raises(TypeError, match="directory to be a str"):
        load_mnist(None)
    _fake_mnist(str(tmp_path))
    os.remove(tmp_path / "t10k-labels-idx1-ubyte.gz")
    with pytest.raises(FileNotFoundError, match=r"lacks t10k-labels-idx1-ubyte\[.gz\]"):
        load_mnist(tmp_path)
    save_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(3, np.uint8))  # 4 images, 3 labels
    with pytest.raises(ValueError, match="should hold 4 labels"):
        load_mnist(tmp_path)
    save_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(4, np.uint8))
    os.remove(tmp_path / "train-images-idx3-ubyte.gz")
    save_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((6, 28, 28), np.float32))
    with pytest.raises(ValueError, match="uint8 images"):
        load_mnist(tmp_path)


def test_load_fashion_mnist_directory_and_missing(tmp_path, monkeypatch):
    _fake_mnist(str(tmp_path))
    (x_tr, _), (x_te, _) = load_fashion_mnist(tmp_path)
    assert x_tr.shape == (6, 28, 28) and x_te.shape == (4, 28, 28)
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        load_fashion_mnist(tmp_path / "empty")
    monkeypatch.setattr(datasets._idx, "FASHION_MNIST_DIR", str(tmp_path / "absent"))
    with pytest.raises(FileNotFoundError,
                       match=r"apt-get install dataset-fashion-mnist.*or pass directory="):
        load_fashion_mnist()
    assert len(datasets.FASHION_MNIST_CLASSES) == 10


@pytest.mark.skipif(not os.path.isdir(FASHION_MNIST_DIR),
                    reason="Debian's dataset-fashion-mnist package is not installed")
def test_load_fashion_mnist_debian_package():
    (x_tr, y_tr), (x_te, y_te) = load_fashion_mnist()
    assert x_tr.shape == (60000, 28, 28) and x_tr.dtype == np.uint8
    assert x_te.shape == (10000, 28, 28) and y_te.shape == (10000,)
    assert np.bincount(y_tr).tolist() == [6000] * 10
    assert np.bincount(y_te).tolist() == [1000] * 10
