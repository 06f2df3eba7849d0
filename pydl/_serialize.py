"""Model files: one .npz archive holding a JSON description of the layers
(entry ``__pydl_model__``, UTF-8 bytes) and every parameter and state array
(``layer<i>.<kind>.<name>``).  Read with allow_pickle=False; layer types
are resolved only from pydl's registry."""
from __future__ import annotations

import json
import os
import zipfile
from typing import Any

import numpy as np

from pydl._version import __version__
from pydl.layers.base import REGISTRY

FORMAT = "pydl.Sequential"
VERSION = 1
_META = "__pydl_model__"


def save_model(model: Any, path: Any) -> None:
    arrays = {}
    layers = []
    for i, layer in enumerate(model.layers):
        layers.append({"type": type(layer).__name__, "config": layer.get_config(),
                       "params": list(layer.params), "state": list(layer.state)})
        for kind in ("params", "state"):
            for name, arr in getattr(layer, kind).items():
                arrays[f"layer{i}.{kind}.{name}"] = arr
    meta = {"format": FORMAT, "version": VERSION, "pydl_version": __version__,
            "input_shape": None if model.input_shape is None else list(model.input_shape),
            "layers": layers}
    arrays[_META] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    path = os.fspath(path)
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def _bad(path: Any, why: str) -> ValueError:
    return ValueError(f"load_model: {path!s} is not a valid pydl model file: {why}")


def load_model(path: Any) -> Any:
    """Read a model written by :meth:`pydl.Sequential.save`.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        A corrupt, truncated or foreign file, an unknown layer type, or
        arrays that do not fit the described layers.
    """
    from pydl.model import Sequential

    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"load_model: no such file: {path}")
    try:
        npz = np.load(path, allow_pickle=False)
        if not isinstance(npz, np.lib.npyio.NpzFile):  # a bare .npy array
            raise _bad(path, "it holds a single array, not a pydl .npz archive")
        with npz:
            if _META not in npz.files:
                raise _bad(path, f"no {_META} entry (not written by pydl)")
            meta = json.loads(npz[_META].tobytes().decode("utf-8"))
            arrays = {k: npz[k] for k in npz.files if k != _META}
    except ValueError as e:
        if str(e).startswith("load_model:"):
            raise
        raise _bad(path, str(e)) from None
    except (OSError, zipfile.BadZipFile, EOFError, KeyError, UnicodeDecodeError) as e:
        raise _bad(path, f"{type(e).__name__}: {e}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise _bad(path, "the description is not a pydl.Sequential model")
    if meta.get("version") != VERSION:
        raise _bad(path, f"format version {meta.get('version')!r}; this pydl reads {VERSION}")
    layers = []
    for i, spec in enumerate(meta.get("layers") or []):
        try:
            kind, config = spec["type"], spec["config"]
            names = {"params": list(spec["params"]), "state": list(spec["state"])}
        except (TypeError, KeyError):
            raise _bad(path, f"layer {i} has no type/config/params/state") from None
        cls = REGISTRY.get(kind) if isinstance(kind, str) else None
        if cls is None:
            raise _bad(path, f"layer {i} has unknown type {kind!r}; known: {sorted(REGISTRY)}")
        try:
            layer = cls(**config)
        except (TypeError, ValueError) as e:
            raise _bad(path, f"layer {i} ({kind}) has a bad config {config!r}: {e}") from None
        for group in ("params", "state"):
            target = getattr(layer, group)
            if sorted(names[group]) != sorted(target):
                raise _bad(path, f"layer {i} ({kind}) lists {group} {names[group]}, expected "
                                 f"{sorted(target)}")
            for name in target:
                key = f"layer{i}.{group}.{name}"
                if key not in arrays:
                    raise _bad(path, f"array {key} is missing")
                arr = arrays[key]
                if arr.shape != target[name].shape or arr.dtype != target[name].dtype:
                    raise _bad(path, f"array {key} has shape {arr.shape} and dtype {arr.dtype}, "
                                     f"expected {target[name].shape} {target[name].dtype}")
                target[name][...] = arr
        layers.append(layer)
    if not layers:
        raise _bad(path, "it describes no layers")
    shape = meta.get("input_shape")
    try:
        return Sequential(layers, input_shape=tuple(shape) if shape else None)
    except (TypeError, ValueError) as e:
        raise _bad(path, f"input_shape {shape!r} does not fit the layers: {e}") from None
