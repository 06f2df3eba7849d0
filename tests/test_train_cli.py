"""`pydl train`: accuracy on the bundled digits, K-fold report, usage errors,
--save, and a missing Fashion-MNIST directory."""
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import pydl
from pydl import train as train_mod

# Run outside the repository: `python -m pydl` from its root would import the
# uncompiled source folder instead of the installed package.
RUN_DIR = os.path.dirname(os.path.dirname(pydl.__file__))


def pydl_train(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "pydl", "train", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=RUN_DIR)


def accuracy_of(stdout: str) -> float:
    m = re.search(r"^test accuracy: ([0-9.]+) \((\d+)/(\d+)\)", stdout, re.M)
    assert m, f"no 'test accuracy' line in:\n{stdout}"
    acc, correct, total = float(m.group(1)), int(m.group(2)), int(m.group(3))
    assert abs(acc - correct / total) < 1e-4
    return acc


def test_default_run_reaches_97_percent():
    proc = pydl_train()                       # the defaults, as the README's quick start
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert accuracy_of(out) >= 0.97, out
    assert re.search(r"^training time: [0-9.]+ s for 10 epochs \([0-9,]+ samples/s\)", out, re.M)
    # precision / recall / F1 per class and the confusion matrix of 10 classes
    assert "precision    recall  f1-score   support" in out
    for digit in range(10):
        assert re.search(rf"^\s+{digit}\s+[01]\.\d{{4}}\s+[01]\.\d{{4}}\s+[01]\.\d{{4}}\s+\d+$",
                         out, re.M), digit
    assert "confusion matrix" in out
    cm = [l for l in out.splitlines() if re.match(r"^ ?\d  +(\d+ +){9}\d+$", l)]
    rows = np.array([[int(v) for v in l.split()[1:]] for l in cm])
    assert rows.shape == (10, 10) and rows.sum() == 450
    assert np.trace(rows) == int(re.search(r"\((\d+)/450\)", out).group(1))
    assert "epoch 10/10" in proc.stderr      # the progress bars


def test_cv_reports_five_folds():
    proc = pydl_train("--cv", "5", "--epochs", "6", "--threads", "1")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    folds = re.findall(r"^\s+(\d)\s+[0-9,]+\s+(\d+)\s+([0-9.]+)\s", out, re.M)
    assert [int(f[0]) for f in folds] == [1, 2, 3, 4, 5], out
    assert sum(int(f[1]) for f in folds) == 1797           # the folds partition the data
    accs = np.array([float(f[2]) for f in folds])
    m = re.search(r"^cv accuracy: ([0-9.]+) ± ([0-9.]+) \(mean ± std over 5 folds\)", out, re.M)
    assert m, out
    assert abs(float(m.group(1)) - accs.mean()) < 1e-3
    assert abs(float(m.group(2)) - accs.std()) < 1e-3
    assert accs.mean() >= 0.97 and accs.min() >= 0.95, out


@pytest.mark.parametrize("args", [
    ["--epochs", "0"], ["--epochs", "ten"], ["--batch-size", "-3"], ["--lr", "0"],
    ["--lr", "nan"], ["--model", "resnet"], ["--optimizer", "lbfgs"], ["--dataset", "cifar"],
    ["--cv", "1"], ["--seed", "-1"], ["--threads", "0"], ["--test-size", "1.5"],
    ["--no-such-option"], ["--cv", "3", "--save", "m.npz"], ["--data", "/tmp"],
])
def test_invalid_options_are_usage_errors(args):
    proc = pydl_train(*args)
    assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
    assert proc.stderr.startswith("usage: pydl train"), proc.stderr
    assert "Traceback" not in proc.stderr
    assert "pydl train: error:" in proc.stderr


def test_help():
    proc = pydl_train("--help")
    assert proc.returncode == 0
    for opt in ("--dataset", "--data", "--model", "--epochs", "--batch-size", "--lr",
                "--optimizer", "--cv", "--augment", "--save", "--seed", "--threads", "--quiet"):
        assert opt in proc.stdout


def test_save_writes_a_loadable_model(tmp_path):
    path = tmp_path / "digits.npz"
    proc = pydl_train("--epochs", "3", "--quiet", "--save", str(path), "--seed", "1",
                      "--threads", "1")
    assert proc.returncode == 0, proc.stderr
    assert path.is_file()
    printed = accuracy_of(proc.stdout)
    model = pydl.load_model(str(path))
    # The same stratified split as the command's (seed 1): the same accuracy.
    b = pydl.datasets.load_digits()
    x = (b.images / np.float32(16)).astype(np.float32).reshape(-1, 1, 8, 8)
    _, xte, _, yte = pydl.data.train_test_split(x, b.target, stratify=b.target, seed=1)
    pred = model.predict(xte)
    assert pred.shape == (450, 10)
    assert abs(float(np.mean(pred.argmax(axis=1) == yte)) - printed) < 1e-4


def test_save_to_missing_directory_fails_cleanly(tmp_path):
    proc = pydl_train("--epochs", "1", "--save", str(tmp_path / "no" / "m.npz"))
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().startswith("pydl train: error: cannot save the model")


def test_missing_fashion_mnist_directory_fails_cleanly(tmp_path):
    missing = tmp_path / "nowhere"
    proc = pydl_train("--dataset", "fashion-mnist", "--data", str(missing))
    assert proc.returncode == 1, proc.stdout
    err = proc.stderr.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert err.startswith("pydl train: error: Fashion-MNIST not found")
    assert str(missing) in err
    assert "apt-get install dataset-fashion-mnist" in err and "--data DIR" in err
    # An existing directory without the IDX files: the same kind of message.
    proc = pydl_train("--dataset", "fashion-mnist", "--data", str(tmp_path))
    assert proc.returncode == 1 and "lacks some of the four IDX files" in proc.stderr


def test_same_seed_same_run(capsys):
    cfg = train_mod.TrainConfig(epochs=2, seed=5, quiet=True, threads=1)
    outs = []
    for _ in range(2):
        assert train_mod.run(cfg) == 0
        out = capsys.readouterr().out
        outs.append([l for l in out.splitlines() if not l.startswith("training time")
                     and "samples/s" not in l])
    assert outs[0] == outs[1]


@pytest.mark.parametrize("name", ["cnn", "lenet", "mlp"])
@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 28, 28)])
def test_models_fit_both_image_sizes(name, shape):
    model = train_mod.build_model(name, shape, 10)
    assert model.output_shapes[-1] == (10,)
    if name == "lenet":
        dense = [l for l in model.layers if type(l).__name__ == "Dense"]
        assert [(d.in_features, d.out_features) for d in dense][1:] == [(120, 84), (84, 10)]
        # 28x28: the classic 16x5x5 = 400 features; 8x8 digits: 16x2x2 = 64.
        assert dense[0].in_features == (400 if shape[1] == 28 else 64)
    out = model.predict(np.zeros((2,) + shape, dtype=np.float32))
    assert out.shape == (2, 10)
