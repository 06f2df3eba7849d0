"""The ``pydl train`` workflow: data -> model -> training -> evaluation.

Used by the command line (``pydl train``, ``python -m pydl train``) and
usable from Python:

>>> from pydl.train import TrainConfig, run
>>> run(TrainConfig(model="cnn", epochs=10))           # prints a report, returns 0

The steps:

1. Data: the bundled UCI digits (:func:`pydl.datasets.load_digits`, 1,797
   8x8 images scaled to [0, 1], shape (N, 1, 8, 8)) split into train and test
   parts by a stratified, seeded :func:`pydl.data.train_test_split`; or
   Fashion-MNIST / MNIST IDX files (scaled to [0, 1], shape (N, 1, 28, 28))
   with their own 60,000 / 10,000 split.
2. Model: :func:`build_model` (``cnn``, ``lenet`` or ``mlp``).
3. Training: :meth:`pydl.Sequential.fit` with a progress bar per epoch,
   optionally with :class:`pydl.data.Augment` (small random shifts; no flips,
   which would turn digits into other symbols).
4. Evaluation: test accuracy, per-class precision / recall / F1
   (:func:`pydl.metrics.classification_report`), the confusion matrix,
   training time and samples/s.  With ``cv=K``: K-fold cross-validation
   (:func:`pydl.model_selection.cross_validate`), per-fold accuracy and
   mean +- std.

``pydl.seed(seed)`` plus the same ``seed`` for the split, the shuffling and
the augmentation make a run repeatable.
"""
from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

DATASETS = ("digits", "fashion-mnist")
MODELS = ("cnn", "lenet", "mlp")
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")

#: Learning rate per optimizer when none is given.
DEFAULT_LR = {"sgd": 0.05, "adam": 2e-3, "adamw": 2e-3, "rmsprop": 1e-3}
#: Epochs per data set (and model) when none are given: on the digits, the
#: default cnn reaches >= 97 % test accuracy in about a second; the smaller
#: LeNet-5 needs more passes.
DEFAULT_EPOCHS = {"digits": 10, "fashion-mnist": 5}
DEFAULT_EPOCHS_BY_MODEL = {("digits", "lenet"): 20}


def default_epochs(dataset: str, model: str) -> int:
    return DEFAULT_EPOCHS_BY_MODEL.get((dataset, model), DEFAULT_EPOCHS[dataset])
DEFAULT_BATCH_SIZE = 32


class TrainError(Exception):
    """A problem with the user's setup (missing files, unwritable path):
    the command line prints its message on one line and exits 1."""


@dataclass
class TrainConfig:
    """Settings of one ``pydl train`` run (see ``pydl train --help``).

    ``epochs`` and ``lr`` default (None) to :func:`default_epochs` of the
    data set and model and :data:`DEFAULT_LR` of the optimizer.
    """

    dataset: str = "digits"
    data: Optional[str] = None
    model: str = "cnn"
    epochs: Optional[int] = None
    batch_size: int = DEFAULT_BATCH_SIZE
    lr: Optional[float] = None
    optimizer: str = "sgd"
    cv: Optional[int] = None
    augment: bool = False
    save: Optional[str] = None
    seed: int = 0
    threads: Optional[int] = None
    test_size: float = 0.25
    quiet: bool = False


# -- models -----------------------------------------------------------------
def build_model(name: str, input_shape: Sequence[int], num_classes: int = 10):
    """A new, untrained :class:`pydl.Sequential` for (C, H, W) images.

    ``cnn``
        conv3x3 16 (same) -> relu -> [maxpool2, when H, W >= 16] -> conv3x3 32
        (same) -> relu -> maxpool2 -> dense 64 -> relu -> dense classes.  On
        8x8 digits: 1x8x8 -> 16x8x8 -> 32x8x8 -> 32x4x4 -> 64 -> 10; on 28x28:
        16x28x28 -> 16x14x14 -> 32x14x14 -> 32x7x7 -> 64 -> 10.
    ``lenet``
        LeNet-5: conv5x5 6 -> relu -> maxpool2 -> conv5x5 16 -> relu -> maxpool2
        -> dense 120 -> relu -> dense 84 -> relu -> dense classes.  The first
        convolution pads by 2, as LeNet-5 on 28x28 MNIST does (the same as
        padding the images to the original 32x32).  The second convolution
        is valid when its input is at least 10x10 (28x28 images: 6x28x28 ->
        6x14x14 -> 16x10x10 -> 16x5x5, the classic 400 features) and pads by 2
        otherwise so that small images fit (8x8 digits: 6x8x8 -> 6x4x4 ->
        16x4x4 -> 16x2x2, 64 features).
    ``mlp``
        flatten -> dense 256 -> relu -> dense 128 -> relu -> dense classes.

    Weights are drawn from pydl's random stream: call :func:`pydl.seed` first
    for a repeatable model.
    """
    import pydl
    from pydl.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU

    if len(input_shape) != 3:
        raise ValueError(f"build_model: expected a (C, H, W) input shape, got {input_shape}")
    c, h, w = (int(s) for s in input_shape)
    if name == "cnn":
        layers: List[Any] = [Conv2D(c, 16, 3, padding=1), ReLU()]
        if h >= 16 and w >= 16:
            layers.append(MaxPool2D(2))
            h, w = h // 2, w // 2
        layers += [Conv2D(16, 32, 3, padding=1), ReLU(), MaxPool2D(2)]
        h, w = h // 2, w // 2
        layers += [Flatten(), Dense(32 * h * w, 64), ReLU(), Dense(64, num_classes)]
    elif name == "lenet":
        layers = [Conv2D(c, 6, 5, padding=2), ReLU(), MaxPool2D(2)]
        h, w = h // 2, w // 2
        if h >= 10 and w >= 10:
            layers.append(Conv2D(6, 16, 5))
            h, w = h - 4, w - 4
        else:
            layers.append(Conv2D(6, 16, 5, padding=2))
        layers += [ReLU(), MaxPool2D(2)]
        h, w = h // 2, w // 2
        layers += [Flatten(), Dense(16 * h * w, 120), ReLU(), Dense(120, 84), ReLU(),
                   Dense(84, num_classes)]
    elif name == "mlp":
        layers = [Flatten(), Dense(c * h * w, 256), ReLU(), Dense(256, 128), ReLU(),
                  Dense(128, num_classes)]
    else:
        raise ValueError(f"build_model: unknown model {name!r}; expected one of "
                         f"{', '.join(MODELS)}")
    return pydl.Sequential(layers, input_shape=(c, int(input_shape[1]), int(input_shape[2])))


def make_optimizer(name: str, lr: Optional[float] = None):
    """The optimizer ``name`` with learning rate ``lr`` (default
    :data:`DEFAULT_LR`); SGD gets momentum 0.9."""
    from pydl import optimizers

    lr = DEFAULT_LR[name] if lr is None else lr
    if name == "sgd":
        return optimizers.SGD(lr=lr, momentum=0.9)
    return optimizers.get(name, lr=lr)


# -- data -------------------------------------------------------------------
@dataclass
class Data:
    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: Optional[np.ndarray]      # None: split x_train (digits)
    y_test: Optional[np.ndarray]
    class_names: List[str]


def load_data(dataset: str, directory: Optional[str] = None) -> Data:
    """The images as float32 in [0, 1], shape (N, 1, H, W), and int64 labels.

    Raises :class:`TrainError` when IDX files are missing."""
    from pydl import datasets

    if dataset == "digits":
        if directory is not None:
            raise TrainError("--data is only used with --dataset fashion-mnist (the digits are "
                             "bundled with pydl)")
        b = datasets.load_digits()
        x = (b.images / np.float32(16.0)).astype(np.float32).reshape(-1, 1, 8, 8)
        return Data("digits", x, b.target.astype(np.int64), None, None,
                    [str(v) for v in b.target_names.tolist()])
    if dataset == "fashion-mnist":
        try:
            (xtr, ytr), (xte, yte) = datasets.load_fashion_mnist(directory)
        except FileNotFoundError:
            where = datasets.FASHION_MNIST_DIR if directory is None else os.fspath(directory)
            why = (f"no directory {where!r}" if not os.path.isdir(where) else
                   f"{where!r} lacks some of the four IDX files")
            raise TrainError(
                f"Fashion-MNIST not found: {why}. Fix: `sudo apt-get install "
                f"dataset-fashion-mnist` (installs {datasets.FASHION_MNIST_DIR}), or pass --data "
                f"DIR holding train-images-idx3-ubyte, train-labels-idx1-ubyte, "
                f"t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte (each may be .gz)") from None
        except (ValueError, OSError) as e:
            raise TrainError(f"could not read the IDX files: {e}") from None
        scale = np.float32(1.0 / 255.0)

        def prep(a):
            return (a.astype(np.float32) * scale)[:, None, :, :]

        names = list(datasets.FASHION_MNIST_CLASSES)
        if not (np.all(ytr < len(names)) and np.all(yte < len(names))):  # e.g. other IDX data
            names = [str(v) for v in range(int(max(ytr.max(), yte.max())) + 1)]
        return Data(dataset, prep(xtr), ytr, prep(xte), yte, names)
    raise ValueError(f"unknown dataset {dataset!r}; expected one of {', '.join(DATASETS)}")


# -- reporting --------------------------------------------------------------
def format_confusion_matrix(cm: np.ndarray, labels: Sequence[str]) -> str:
    """A confusion matrix as text: rows are true classes, columns predicted
    ones (columns headed by class index; rows also name the class when its
    name is not just its index)."""
    labels = [str(n) for n in labels]
    named = labels != [str(i) for i in range(len(labels))]
    width = max(4, len(str(int(cm.max())) if cm.size else "0") + 2)
    first = max(len("true"), max(len(n) for n in labels) + 4 if named else 2)
    rows = [f"{'true':<{first}}" + "".join(f"{i:>{width}}" for i in range(len(labels)))]
    for i, row in enumerate(cm):
        head = f"{i:>2}  {labels[i]}" if named else f"{i:>2}"
        rows.append(f"{head:<{first}}" + "".join(f"{int(v):>{width}}" for v in row))
    return "\n".join(rows)


class _Printer:
    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet

    def __call__(self, *args: Any, always: bool = False) -> None:
        if always or not self.quiet:
            print(*args, flush=True)


def _augmenter(cfg: TrainConfig, image_hw: Tuple[int, int]):
    if not cfg.augment:
        return None
    from pydl.data import Augment

    # 1 pixel on 8x8 digits, 2 on 28x28 images; never flip (a flipped digit
    # is another symbol, and a flipped shoe points the other way but a
    # flipped 2 is not a 2).
    shift = 1 if min(image_hw) < 16 else 2
    return Augment(flip=False, shift=shift, seed=cfg.seed)


def _describe(cfg: TrainConfig, data: Data, epochs: int, lr: float) -> str:
    import pydl

    threads = pydl.get_num_threads()
    shape = "x".join(str(s) for s in data.x_train.shape[1:])
    n = len(data.x_train) + (0 if data.x_test is None else len(data.x_test))
    opt = f"{cfg.optimizer} (lr {lr:g}{', momentum 0.9' if cfg.optimizer == 'sgd' else ''})"
    return (f"pydl train: {data.name} ({n:,} images {shape}, {len(data.class_names)} classes), "
            f"model {cfg.model}, optimizer {opt}, {epochs} epoch{'s' if epochs != 1 else ''}, "
            f"batch {cfg.batch_size}, seed {cfg.seed}{', augment' if cfg.augment else ''}, "
            f"{threads} thread{'s' if threads != 1 else ''}")


# -- the workflow -----------------------------------------------------------
def run(cfg: TrainConfig) -> int:
    """Run one ``pydl train`` job and print its report; returns the exit
    status (0).  Raises :class:`TrainError` for setup problems."""
    import pydl

    threads = cfg.threads
    if threads is None and cfg.dataset == "digits":
        # The kernels' work on 8x8 images in batches of 32 is too small to
        # split: 2 threads gain ~20 % on an idle machine but run up to 7x
        # slower when another process keeps a core busy.
        threads = 1
    if threads is not None:
        pydl.set_num_threads(threads)
    if cfg.save is not None:
        parent = os.path.dirname(os.path.abspath(cfg.save))
        if not os.path.isdir(parent):
            raise TrainError(f"cannot save the model to {cfg.save!r}: no directory {parent!r}")
    epochs = cfg.epochs if cfg.epochs is not None else default_epochs(cfg.dataset, cfg.model)
    lr = cfg.lr if cfg.lr is not None else DEFAULT_LR[cfg.optimizer]
    data = load_data(cfg.dataset, cfg.data)
    say = _Printer(cfg.quiet)
    say(_describe(cfg, data, epochs, lr))
    if cfg.cv is not None:
        return _run_cv(cfg, data, epochs, lr, say)
    return _run_split(cfg, data, epochs, lr, say)


def _fit_kwargs(cfg: TrainConfig, epochs: int, verbose: int, hw) -> Dict[str, Any]:
    return {"epochs": epochs, "batch_size": cfg.batch_size, "verbose": verbose,
            "seed": cfg.seed, "augment": _augmenter(cfg, hw)}


def _run_split(cfg: TrainConfig, data: Data, epochs: int, lr: float, say: _Printer) -> int:
    import pydl
    from pydl import losses, metrics
    from pydl.data import train_test_split

    if data.x_test is None:
        xtr, xte, ytr, yte = train_test_split(data.x_train, data.y_train, test_size=cfg.test_size,
                                              stratify=data.y_train, seed=cfg.seed)
        say(f"split: {len(xtr):,} train / {len(xte):,} test (stratified, test_size "
            f"{cfg.test_size:g}, seed {cfg.seed})")
    else:
        xtr, ytr, xte, yte = data.x_train, data.y_train, data.x_test, data.y_test
        say(f"split: {len(xtr):,} train / {len(xte):,} test (the data set's own)")
    pydl.seed(cfg.seed)
    model = build_model(cfg.model, xtr.shape[1:], len(data.class_names))
    if not cfg.quiet:
        model.summary()
    t0 = time.perf_counter()
    hist = model.fit(xtr, ytr, loss=losses.CrossEntropy(),
                     optimizer=make_optimizer(cfg.optimizer, lr),
                     **_fit_kwargs(cfg, epochs, 0 if cfg.quiet else 1, xtr.shape[2:]))
    train_time = time.perf_counter() - t0
    t0 = time.perf_counter()
    pred = model.predict(xte).argmax(axis=1)
    predict_time = time.perf_counter() - t0
    n_seen = len(xtr) * len(hist.epochs)
    correct = int(np.count_nonzero(pred == yte))
    acc = correct / len(yte)
    say(f"training time: {train_time:.2f} s for {len(hist.epochs)} "
        f"epoch{'s' if len(hist.epochs) != 1 else ''} "
        f"({n_seen / max(train_time, 1e-9):,.0f} samples/s); final training loss "
        f"{hist['loss'][-1]:.4f}", always=True)
    say(f"test accuracy: {acc:.4f} ({correct}/{len(yte)}); predict {predict_time:.3f} s "
        f"({len(xte) / max(predict_time, 1e-9):,.0f} samples/s)", always=True)
    labels = np.arange(len(data.class_names))
    say("", always=True)
    say("per-class precision / recall / F1:", always=True)
    say(metrics.classification_report(yte, pred, labels=labels,
                                      target_names=data.class_names, digits=4), always=True)
    cm = metrics.confusion_matrix(yte, pred, labels=labels)
    say("confusion matrix (rows: true class, columns: predicted class):", always=True)
    say(format_confusion_matrix(cm, data.class_names), always=True)
    if cfg.save is not None:
        try:
            model.save(cfg.save)
        except OSError as e:
            raise TrainError(f"cannot save the model to {cfg.save!r}: {e}") from None
        say(f"\nsaved the model to {cfg.save} (load it with pydl.load_model)", always=True)
    return 0


class _FoldModel:
    """What cross_validate fits per fold: a fresh model with its own
    optimizer, announcing each fold as it starts."""

    def __init__(self, cfg: TrainConfig, data: Data, lr: float, epochs: int,
                 counter: List[int], say: _Printer) -> None:
        self.cfg, self.data, self.lr, self.epochs = cfg, data, lr, epochs
        self.counter, self.say = counter, say
        self.model = None

    def fit(self, x: np.ndarray, y: np.ndarray, **kw: Any) -> "_FoldModel":
        import pydl
        from pydl import losses

        self.counter[0] += 1
        fold = self.counter[0]
        self.say(f"fold {fold}/{self.cfg.cv}: training on {len(x):,} samples ...")
        pydl.seed(self.cfg.seed + fold)
        self.model = build_model(self.cfg.model, x.shape[1:], len(self.data.class_names))
        self.model.fit(x, y, loss=losses.CrossEntropy(),
                       optimizer=make_optimizer(self.cfg.optimizer, self.lr), **kw)
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.model.predict(x)


def _run_cv(cfg: TrainConfig, data: Data, epochs: int, lr: float, say: _Printer) -> int:
    from pydl.model_selection import cross_validate

    x, y = data.x_train, data.y_train
    k = int(cfg.cv)
    counts = np.bincount(y)
    if k > counts[counts > 0].min():
        raise TrainError(f"--cv {k}: the smallest class has only {counts[counts > 0].min()} "
                         f"samples; use at most that many folds")
    say(f"{k}-fold stratified cross-validation on {len(x):,} samples (seed {cfg.seed})")
    counter = [0]
    t0 = time.perf_counter()
    res = cross_validate(lambda: _FoldModel(cfg, data, lr, epochs, counter, say), x, y, cv=k,
                         fit_kwargs=_fit_kwargs(cfg, epochs, 0, x.shape[2:]),
                         metrics=("accuracy", "precision_macro", "recall_macro", "f1_macro"),
                         stratified=True, seed=cfg.seed)
    total = time.perf_counter() - t0
    say("", always=True)
    say(f"{'fold':>4} {'train':>7} {'test':>6} {'accuracy':>9} {'precision':>10} "
        f"{'recall':>7} {'f1':>7} {'fit s':>7} {'samples/s':>10}", always=True)
    for f in res["folds"]:
        rate = f["train_size"] * epochs / max(f["fit_time"], 1e-9)
        say(f"{f['fold'] + 1:>4} {f['train_size']:>7,} {f['test_size']:>6,} "
            f"{f['accuracy']:>9.4f} {f['precision_macro']:>10.4f} {f['recall_macro']:>7.4f} "
            f"{f['f1_macro']:>7.4f} {f['fit_time']:>7.2f} {rate:>10,.0f}", always=True)
    say("", always=True)
    for m in ("accuracy", "f1_macro"):
        say(f"cv {m}: {res[m + '_mean']:.4f} ± {res[m + '_std']:.4f} (mean ± std over "
            f"{res['n_splits']} folds)", always=True)
    say(f"training time: {float(res['fit_time'].sum()):.2f} s in all ({total:.2f} s with "
        f"prediction)", always=True)
    return 0


# -- command line -------------------------------------------------------------
def _positive_int(text: str) -> int:
    import argparse

    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {v}")
    return v


def _cv_folds(text: str) -> int:
    import argparse

    v = _positive_int(text)
    if v < 2:
        raise argparse.ArgumentTypeError(f"expected K >= 2 folds, got {v}")
    return v


def _positive_float(text: str) -> float:
    import argparse

    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not (v > 0 and np.isfinite(v)):
        raise argparse.ArgumentTypeError(f"expected a positive, finite number, got {text!r}")
    return v


def _fraction(text: str) -> float:
    import argparse

    v = _positive_float(text)
    if not v < 1:
        raise argparse.ArgumentTypeError(f"expected a fraction in (0, 1), got {text!r}")
    return v


def _seed(text: str) -> int:
    import argparse

    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {v}")
    return v


def add_arguments(p) -> None:
    """The options of ``pydl train`` on an argparse parser."""
    p.add_argument("--dataset", choices=DATASETS, default="digits",
                   help="digits: the bundled 8x8 UCI digits (default); fashion-mnist: 28x28 "
                        "IDX files (also MNIST's, via --data)")
    p.add_argument("--data", metavar="DIR", default=None,
                   help="directory of the four IDX files for --dataset fashion-mnist (default "
                        "/usr/share/datasets/fashion-mnist, from `apt-get install "
                        "dataset-fashion-mnist`); an MNIST directory works too")
    p.add_argument("--model", choices=MODELS, default="cnn",
                   help="cnn: two 3x3 conv layers (default); lenet: LeNet-5 (first conv "
                        "padded by 2; 8x8 digits pad the second too); mlp: 256-128 dense")
    p.add_argument("--epochs", type=_positive_int, default=None,
                   help="passes over the training data (default: digits 10, 20 for lenet; "
                        "fashion-mnist 5)")
    p.add_argument("--batch-size", type=_positive_int, default=DEFAULT_BATCH_SIZE,
                   help=f"mini-batch size (default {DEFAULT_BATCH_SIZE})")
    p.add_argument("--lr", type=_positive_float, default=None,
                   help="learning rate (default per optimizer: "
                        + ", ".join(f"{k} {v:g}" for k, v in DEFAULT_LR.items()) + ")")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default="sgd",
                   help="sgd (momentum 0.9, default), adam, adamw or rmsprop")
    p.add_argument("--cv", type=_cv_folds, default=None, metavar="K",
                   help="K-fold stratified cross-validation instead of one train/test split: "
                        "per-fold accuracy and mean ± std")
    p.add_argument("--test-size", type=_fraction, default=0.25, metavar="FRACTION",
                   help="test share of the digits split (default 0.25)")
    p.add_argument("--augment", action="store_true",
                   help="random shifts of the training images (1 pixel on 8x8, 2 on 28x28; "
                        "no flips)")
    p.add_argument("--save", metavar="PATH", default=None,
                   help="write the trained model there (pydl.load_model reads it back)")
    p.add_argument("--seed", type=_seed, default=0,
                   help="seed of the split, the initial weights, the shuffling and the "
                        "augmentation (default 0): same seed, same run")
    p.add_argument("--threads", type=_positive_int, default=None,
                   help="threads for pydl's kernels (default: 1 on the digits, whose tiny "
                        "kernels do not gain from more; pydl.get_num_threads() otherwise)")
    p.add_argument("--quiet", "-q", action="store_true",
                   help="no progress bars or model summary; print only the results")


def config_from_args(args) -> TrainConfig:
    return TrainConfig(dataset=args.dataset, data=args.data, model=args.model,
                       epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                       optimizer=args.optimizer, cv=args.cv, augment=args.augment,
                       save=args.save, seed=args.seed, threads=args.threads,
                       test_size=args.test_size, quiet=args.quiet)


def main(args, parser) -> int:
    """Entry point of ``pydl train`` (argparse namespace and parser)."""
    if args.cv is not None and args.save is not None:
        parser.error("--save needs a single train/test split; it cannot be combined with --cv")
    if args.data is not None and args.dataset != "fashion-mnist":
        parser.error("--data DIR is for --dataset fashion-mnist (the digits are bundled)")
    try:
        return run(config_from_args(args))
    except TrainError as e:
        print(f"pydl train: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("pydl train: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `pydl train | head`: stop quietly
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except OSError:
            pass
        return 141
