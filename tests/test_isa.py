"""Kernel path (ISA) selection: names, set/restore, errors, PYDL_ISA."""
import json

import numpy as np
import pytest

import pydl
from helpers import check_gemm, isa, rand, run_python

UNSUPPORTED = [name for name in pydl.isa_names() if name not in pydl.supported_isas()]


def test_isa_names():
    assert pydl.isa_names() == ("generic", "avx2", "avx512")


def test_supported_isas_are_known_and_ordered():
    supported = pydl.supported_isas()
    names = pydl.isa_names()
    assert "generic" in supported
    assert set(supported) <= set(names)
    assert list(supported) == [n for n in names if n in supported]


def test_best_isa_is_the_best_supported():
    assert pydl.best_isa() == pydl.supported_isas()[-1]


def test_get_isa_is_a_supported_name():
    assert pydl.get_isa() in pydl.supported_isas()


@pytest.mark.parametrize("name", pydl.isa_names())
def test_set_isa_each_path(name, rng):
    with isa(name) as active:
        assert active == name
        assert pydl.get_isa() == name
        a, b = rand((9, 7), np.float32, rng), rand((7, 5), np.float32, rng)
        check_gemm(pydl.ops.gemm(a, b), a, b)


def test_set_isa_best():
    pydl.set_isa("generic")
    pydl.set_isa("best")
    assert pydl.get_isa() == pydl.best_isa()


def test_isa_helper_restores_previous_path():
    pydl.set_isa("generic")
    with isa("best"):
        assert pydl.get_isa() == pydl.best_isa()
    assert pydl.get_isa() == "generic"
    with pytest.raises(ZeroDivisionError):
        with isa("best"):
            1 / 0
    assert pydl.get_isa() == "generic"


@pytest.mark.parametrize("name", ["avx9000", "", "sse", "AVX-512"])
def test_set_isa_unknown_name(name):
    before = pydl.get_isa()
    with pytest.raises(ValueError, match=r"unknown kernel path"):
        pydl.set_isa(name)
    assert pydl.get_isa() == before


@pytest.mark.parametrize("name", [None, 2, b"avx2"], ids=["None", "int", "bytes"])
def test_set_isa_non_str(name):
    with pytest.raises(TypeError, match="expected a str"):
        pydl.set_isa(name)


@pytest.mark.parametrize("name", pydl.isa_names())
def test_set_isa_unsupported_raises_runtime_error(name):
    if name not in UNSUPPORTED:
        pytest.skip(f"this CPU supports {name!r}")
    before = pydl.get_isa()
    with pytest.raises(RuntimeError, match=f"cannot run the '{name}' kernels"):
        pydl.set_isa(name)
    assert pydl.get_isa() == before


# --------------------------------------------------------------------------
# PYDL_ISA at import (in a subprocess)
# --------------------------------------------------------------------------
_REPORT = (
    "import json, warnings\n"
    "with warnings.catch_warnings(record=True) as w:\n"
    "    warnings.simplefilter('always')\n"
    "    import pydl\n"
    "import numpy as np\n"
    "ok = bool((pydl.ops.matmul(np.eye(3), np.ones((3, 2))) == 1).all())\n"
    "print(json.dumps({'isa': pydl.get_isa(), 'best': pydl.best_isa(), 'ok': ok,\n"
    "                  'warnings': [(c.category.__name__, str(c.message)) for c in w]}))\n"
)


def _import_report(env):
    proc = run_python(["-c", _REPORT], env=env)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["ok"]
    return report


def test_default_isa_is_best_without_env():
    report = _import_report({})
    assert report["isa"] == report["best"]
    assert report["warnings"] == []


@pytest.mark.parametrize("value", ["generic", "best"] + list(pydl.supported_isas()))
def test_pydl_isa_env_valid(value):
    report = _import_report({"PYDL_ISA": value})
    expected = report["best"] if value == "best" else value
    assert report["isa"] == expected
    assert report["warnings"] == []


def test_pydl_isa_env_unknown_warns_and_import_works():
    report = _import_report({"PYDL_ISA": "avx9000"})
    assert report["isa"] == report["best"]
    assert [c for c, _ in report["warnings"]] == ["RuntimeWarning"]
    assert "avx9000" in report["warnings"][0][1]


@pytest.mark.parametrize("name", pydl.isa_names())
def test_pydl_isa_env_unsupported_warns_and_import_works(name):
    if name not in UNSUPPORTED:
        pytest.skip(f"this CPU supports {name!r}")
    report = _import_report({"PYDL_ISA": name})
    assert report["isa"] == report["best"]
    assert [c for c, _ in report["warnings"]] == ["RuntimeWarning"]
    assert name in report["warnings"][0][1]
