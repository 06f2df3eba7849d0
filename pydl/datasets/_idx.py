"""IDX files (the MNIST format): read, write, and the MNIST / Fashion-MNIST loaders."""
from __future__ import annotations

import gzip
import os
import struct
import zlib
from typing import Tuple

import numpy as np

# IDX type code -> big-endian dtype stored in the file.
_IDX_TYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_IDX_CODES = {dt.newbyteorder("="): code for code, dt in _IDX_TYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"

#: Where Debian's ``dataset-fashion-mnist`` package installs the files.
FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"

#: Class names of Fashion-MNIST, by label.
FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                         "Shirt", "Sneaker", "Bag", "Ankle boot")

_MNIST_FILES = (("train", "images", 3), ("train", "labels", 1),
                ("t10k", "images", 3), ("t10k", "labels", 1))


def _check_path(path, func: str) -> str:
    if isinstance(path, bool) or not isinstance(path, (str, bytes, os.PathLike)):
        raise TypeError(f"{func}: expected path to be a str or os.PathLike, got "
                        f"{type(path).__name__} {path!r}")
    return os.fsdecode(path)


def load_idx(path) -> np.ndarray:
    """Read an IDX file (the MNIST format), gzip-compressed or not.

    An IDX file is a 4-byte magic number ``0x00 0x00 <type> <ndim>``, then
    ``ndim`` big-endian uint32 sizes, then the values in C order, big-endian.
    Type codes: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32,
    0x0E float64.  Gzip compression is recognised by the file's first two
    bytes (``1f 8b``), whatever its name.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    ndarray of shape (d_1, ..., d_ndim)
        In the file's type, native byte order (MNIST images: uint8 of shape
        (N, 28, 28); labels: uint8 of shape (N,)).

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    ValueError
        A malformed file: corrupt gzip data, a header shorter than it says,
        a bad magic number, an unknown type code, or data that is shorter
        (truncated) or longer (trailing bytes) than the sizes say.
    """
    func = "load_idx"
    path = _check_path(path, func)
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(f"{func}: {path!r} starts like a gzip file but its compressed "
                             f"data is corrupt or truncated ({exc})") from None
    if len(raw) < 4:
        raise ValueError(f"{func}: {path!r} is not an IDX file: {len(raw)} bytes, shorter "
                         f"than the 4-byte magic number")
    zero, code, ndim = raw[:2], raw[2], raw[3]
    if zero != b"\x00\x00":
        raise ValueError(f"{func}: {path!r} is not an IDX file: bad magic number "
                         f"0x{raw[:4].hex()} (IDX files start with two zero bytes, a type code "
                         f"and the number of dimensions)")
    if code not in _IDX_TYPES:
        known = ", ".join(f"0x{c:02X} {dt.newbyteorder('=').name}"
                          for c, dt in _IDX_TYPES.items())
        raise ValueError(f"{func}: {path!r} has unknown IDX type code 0x{code:02X}; "
                         f"expected one of {known}")
    if ndim == 0:
        raise ValueError(f"{func}: {path!r} has an IDX header with 0 dimensions; expected "
                         f">= 1")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{func}: {path!r} is truncated: its header declares {ndim} "
                         f"dimensions ({header} bytes) but the file has {len(raw)} bytes")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = _IDX_TYPES[code]
    expected = int(np.prod(shape, dtype=object)) * dtype.itemsize
    got = len(raw) - header
    if got < expected:
        raise ValueError(f"{func}: {path!r} is truncated (size mismatch): shape {shape} of "
                         f"{dtype.newbyteorder('=').name} needs {expected} data bytes, the "
                         f"file has {got}")
    if got > expected:
        raise ValueError(f"{func}: {path!r} has {got - expected} bytes of trailing data after "
                         f"the {expected} data bytes of shape {shape} (size mismatch)")
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def save_idx(path, array, compress=None) -> None:
    """Write an array as an IDX file (the MNIST format).

    Parameters
    ----------
    path : str or os.PathLike
    array : array of shape (d_1, ..., d_ndim), 1 <= ndim <= 255
        dtype uint8, int8, int16, int32, float32 or float64; every size must
        fit in uint32.
    compress : bool, optional
        Gzip the file.  Default: when ``path`` ends in ``.gz``.

    Notes
    -----
    :func:`load_idx` reads the file back as an equal array of the same dtype.
    """
    func = "save_idx"
    path = _check_path(path, func)
    if compress is None:
        compress = path.endswith(".gz")
    elif not isinstance(compress, bool):
        raise TypeError(f"{func}: expected compress to be True, False or None, got "
                        f"{type(compress).__name__} {compress!r}")
    if not isinstance(array, np.ndarray):
        try:
            array = np.asarray(array)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{func}: could not convert array to a numpy array ({exc})") from None
    dtype = array.dtype.newbyteorder("=")
    if dtype not in _IDX_CODES:
        raise TypeError(f"{func}: IDX files hold uint8, int8, int16, int32, float32 or float64; "
                        f"got dtype {array.dtype}. Convert it first, e.g. "
                        f"array.astype(np.float32)")
    if not 1 <= array.ndim <= 255:
        raise ValueError(f"{func}: IDX files hold arrays of 1 to 255 dimensions, got "
                         f"{array.ndim}-D; for a scalar use np.reshape(array, 1)")
    if max(array.shape) > 0xFFFFFFFF:
        raise ValueError(f"{func}: every size must fit in uint32, got shape {array.shape}")
    header = bytes((0, 0, _IDX_CODES[dtype], array.ndim)) + struct.pack(
        f">{array.ndim}I", *array.shape)
    body = np.ascontiguousarray(array, dtype=_IDX_TYPES[_IDX_CODES[dtype]]).tobytes()
    opener = gzip.open if compress else open
    with opener(path, "wb") as f:
        f.write(header)
        f.write(body)


def _find_idx_file(directory: str, split: str, kind: str, dims: int) -> str:
    """The path of e.g. train-images-idx3-ubyte(.gz) in ``directory`` (also
    accepting the train-images.idx3-ubyte spelling), or ''."""
    for stem in (f"{split}-{kind}-idx{dims}-ubyte", f"{split}-{kind}.idx{dims}-ubyte"):
        for suffix in ("", ".gz"):
            candidate = os.path.join(directory, stem + suffix)
            if os.path.isfile(candidate):
                return candidate
    return ""


def _load_mnist_like(directory: str, func: str, missing_hint: str):
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"{func}: no directory {directory!r}{missing_hint}")
    paths, missing = {}, []
    for split, kind, dims in _MNIST_FILES:
        p = _find_idx_file(directory, split, kind, dims)
        if p:
            paths[split, kind] = p
        else:
            missing.append(f"{split}-{kind}-idx{dims}-ubyte[.gz]")
    if missing:
        raise FileNotFoundError(f"{func}: {directory!r} lacks {', '.join(missing)}"
                                f"{missing_hint}")
    out = []
    for split in ("train", "t10k"):
        images = load_idx(paths[split, "images"])
        labels = load_idx(paths[split, "labels"])
        if images.ndim != 3 or images.dtype != np.uint8:
            raise ValueError(f"{func}: {paths[split, 'images']!r} should hold uint8 images of "
                             f"shape (N, H, W), got {images.dtype} of shape {images.shape}")
        if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
            raise ValueError(f"{func}: {paths[split, 'labels']!r} should hold {images.shape[0]} "
                             f"labels (one per image), got shape {labels.shape}")
        out.append((images, labels.astype(np.int64)))
    return tuple(out)


def load_mnist(directory) -> Tuple[Tuple[np.ndarray, np.ndarray], Tuple[np.ndarray, np.ndarray]]:
    """Load MNIST (or any data set in its four-file IDX layout) from a directory.

    The directory must hold ``train-images-idx3-ubyte``,
    ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte`` and
    ``t10k-labels-idx1-ubyte``, each optionally gzipped (``.gz``); the
    ``train-images.idx3-ubyte`` spelling is accepted too.  Nothing is
    downloaded.

    Parameters
    ----------
    directory : str or os.PathLike

    Returns
    -------
    (x_train, y_train), (x_test, y_test)
        ``x_*`` : ndarray of uint8, shape (N, 28, 28), values 0..255;
        ``y_*`` : ndarray of int64, shape (N,).  MNIST has 60,000 training
        and 10,000 test images.

    Raises
    ------
    FileNotFoundError
        The directory or one of the files is missing (the message lists them).
    ValueError
        A malformed file (see :func:`load_idx`) or inconsistent files.
    """
    func = "load_mnist"
    directory = _check_dir(directory, func)
    return _load_mnist_like(directory, func, "")


def _check_dir(directory, func: str) -> str:
    if isinstance(directory, bool) or not isinstance(directory, (str, bytes, os.PathLike)):
        raise TypeError(f"{func}: expected directory to be a str or os.PathLike, got "
                        f"{type(directory).__name__} {directory!r}")
    return os.fsdecode(directory)


def load_fashion_mnist(directory=None):
    """Load Fashion-MNIST (Zalando's 28x28 clothing images, 10 classes).

    Parameters
    ----------
    directory : str or os.PathLike, optional
        A directory with the four IDX files (as for :func:`load_mnist`).
        Default: ``/usr/share/datasets/fashion-mnist``, where Debian's
        ``dataset-fashion-mnist`` package puts them
        (``apt-get install dataset-fashion-mnist``).

    Returns
    -------
    (x_train, y_train), (x_test, y_test)
        ``x_*`` : ndarray of uint8, shape (N, 28, 28); ``y_*`` : ndarray of
        int64, shape (N,), labels 0..9 (names in :data:`FASHION_MNIST_CLASSES`).
        60,000 training and 10,000 test images.

    Raises
    ------
    FileNotFoundError
        The files are not there; the message says how to get them.
    """
    func = "load_fashion_mnist"
    if directory is None:
        directory = FASHION_MNIST_DIR
        hint = (f". Install the files with `apt-get install dataset-fashion-mnist` (Debian/"
                f"Ubuntu; they go to {FASHION_MNIST_DIR}), or pass directory= a folder holding "
                f"the four Fashion-MNIST IDX files")
    else:
        directory = _check_dir(directory, func)
        hint = (". Pass directory= a folder holding the four Fashion-MNIST IDX files, or "
                "`apt-get install dataset-fashion-mnist` and call load_fashion_mnist() "
                "without it")
    return _load_mnist_like(directory, func, hint)
