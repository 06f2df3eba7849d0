"""show_config(), config() and the `python -m pydl` command line."""
import re

import pytest

import pydl
from helpers import SERIAL_BUILD, needs_openmp, run_python
from pydl import cli

KEYS = ("pydl", "compiler", "openmp", "cpu_features", "kernel_path", "threads")


def _parse(text):
    """{key: value} from show_config's 'key : value' lines."""
    pairs = {}
    for line in text.splitlines():
        m = re.match(r"^(\S+)\s*: (.*)$", line)
        if m:
            pairs[m.group(1)] = m.group(2).strip()
    return pairs


def test_config_dict():
    info = pydl.config()
    for key in KEYS:
        assert key in info
    assert info["pydl"] == pydl.__version__
    assert info["kernel_path"] == pydl.get_isa()
    assert info["threads"] == pydl.get_num_threads()
    assert info["compiler"]


def test_config_follows_runtime_changes():
    pydl.set_isa("generic")
    pydl.set_num_threads(1)
    info = pydl.config()
    assert info["kernel_path"] == "generic"
    assert info["threads"] == 1


@needs_openmp
def test_show_config_prints_the_key_fields(capsys):
    pydl.set_num_threads(2)
    assert pydl.show_config() is None
    pairs = _parse(capsys.readouterr().out)
    for key in KEYS:
        assert key in pairs, f"{key!r} missing from show_config output"
    assert pairs["pydl"] == pydl.__version__
    assert pairs["kernel_path"] == pydl.get_isa()
    assert pairs["threads"] == "2"
    assert pairs == {k: str(v) for k, v in pydl.config().items()}


def test_cli_main_info_in_process(capsys):
    assert cli.main(["info"]) == 0
    pairs = _parse(capsys.readouterr().out)
    assert pairs["kernel_path"] == pydl.get_isa()


def test_python_m_pydl_info():
    proc = run_python(["-m", "pydl", "info"], env={"PYDL_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr
    pairs = _parse(proc.stdout)
    for key in KEYS:
        assert key in pairs, proc.stdout
    assert pairs["pydl"] == pydl.__version__
    assert pairs["kernel_path"] == pydl.best_isa()
    assert pairs["threads"] == "1"
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("args", [["frobnicate"], [], ["bench", "--threads", "0"]],
                         ids=["bad_subcommand", "no_subcommand", "bad_threads"])
def test_python_m_pydl_usage_errors(args):
    proc = run_python(["-m", "pydl", *args])
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "usage:" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_get_include_holds_the_c_header():
    import os

    header = os.path.join(pydl.get_include(), "pydl.h")
    assert os.path.isfile(header)
    with open(header) as f:
        assert "pydl_sgemm" in f.read()
    assert any(name.startswith("libpydl") for name in
               os.listdir(os.path.dirname(pydl.get_include())))


@pytest.mark.skipif(not SERIAL_BUILD, reason="needs a build without OpenMP")
def test_serial_build_runs_on_one_thread_and_says_so():
    pydl.set_num_threads(3)
    assert pydl.get_num_threads() == 1
    assert "serial" in pydl.config()["openmp"]
