"""The bundled UCI optical-recognition handwritten digits."""
from __future__ import annotations

import functools
import gzip
import io
from importlib import resources

import numpy as np

_DESCR = """\
Optical Recognition of Handwritten Digits (UCI Machine Learning Repository)
--------------------------------------------------------------------------
1,797 digits written by 13 people (the UCI test set, optdigits.tes), 10 classes
(0..9), about 180 of each.  Each image is 8x8: the 32x32 bitmap of a digit cut
into 4x4 blocks, each pixel counting the set bits of its block (0..16).

Licence: CC BY 4.0.  Cite: E. Alpaydin and C. Kaynak (1998). Optical Recognition
of Handwritten Digits. UCI Machine Learning Repository. doi:10.24432/C50P49.
"""


class Bunch(dict):
    """A dict whose keys are also attributes (``b.data`` is ``b["data"]``)."""

    def __getattr__(self, key):
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None

    def __setattr__(self, key, value):
        self[key] = value

    def __dir__(self):
        return list(self.keys()) + list(super().__dir__())


@functools.lru_cache(maxsize=1)
def _read_digits():
    raw = resources.files("pydl.datasets").joinpath("data", "digits.csv.gz").read_bytes()
    table = np.loadtxt(io.BytesIO(gzip.decompress(raw)), delimiter=",", dtype=np.float32)
    if table.shape != (1797, 65):
        raise RuntimeError(f"load_digits: the bundled digits.csv.gz has shape {table.shape}, "
                           f"expected (1797, 65); the pydl installation is damaged")
    table.setflags(write=False)
    return table


def load_digits(return_X_y: bool = False):
    """Load the UCI handwritten digits that ship with pydl (no download).

    1,797 grey-level 8x8 images of the digits 0..9 (about 180 per class),
    pixel values 0..16.  Source: E. Alpaydin and C. Kaynak (1998), "Optical
    Recognition of Handwritten Digits", UCI Machine Learning Repository,
    doi:10.24432/C50P49, licensed CC BY 4.0.

    Parameters
    ----------
    return_X_y : bool, default False
        Return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    Bunch
        A dict with attribute access, holding:

        - ``images`` : ndarray of float32, shape (1797, 8, 8), values 0..16;
        - ``data`` : ndarray of float32, shape (1797, 64), the images flattened;
        - ``target`` : ndarray of int64, shape (1797,), labels 0..9;
        - ``target_names`` : ndarray of int64, shape (10,), ``0..9``;
        - ``DESCR`` : str, a description with the licence and citation.

        Every call returns new (writable) arrays.
    (data, target) : tuple of ndarray
        With ``return_X_y=True``: shapes (1797, 64) and (1797,).
    """
    if not isinstance(return_X_y, (bool, np.bool_)):
        raise TypeError(f"load_digits: expected return_X_y to be True or False, got "
                        f"{type(return_X_y).__name__} {return_X_y!r}")
    table = _read_digits()
    data = table[:, :64].copy()
    target = table[:, 64].astype(np.int64)
    if return_X_y:
        return data, target
    return Bunch(images=data.reshape(-1, 8, 8), data=data, target=target,
                 target_names=np.arange(10, dtype=np.int64), DESCR=_DESCR)
