"""Thread control: set/get/num_threads, threadpoolctl, PYDL_NUM_THREADS."""
import json
import os

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

import pydl
from helpers import SERIAL_BUILD, check_gemm, rand, run_python

pytestmark = pytest.mark.skipif(SERIAL_BUILD, reason="serial build (no OpenMP): thread "
                                                          "control is a no-op")


def test_get_num_threads_is_a_positive_int():
    n = pydl.get_num_threads()
    assert isinstance(n, int)
    assert n >= 1


@pytest.mark.parametrize("n", [1, 2, 3, 7])
def test_set_then_get(n):
    pydl.set_num_threads(n)
    assert pydl.get_num_threads() == n


def test_set_accepts_numpy_integers():
    pydl.set_num_threads(np.int64(1))
    assert pydl.get_num_threads() == 1
    pydl.set_num_threads(np.int32(2))
    assert pydl.get_num_threads() == 2


def test_context_manager_sets_and_restores():
    pydl.set_num_threads(2)
    with pydl.num_threads(1) as value:
        assert value is None
        assert pydl.get_num_threads() == 1
    assert pydl.get_num_threads() == 2


def test_context_manager_nests():
    pydl.set_num_threads(3)
    with pydl.num_threads(1):
        with pydl.num_threads(2):
            assert pydl.get_num_threads() == 2
        assert pydl.get_num_threads() == 1
    assert pydl.get_num_threads() == 3


def test_context_manager_restores_on_exception():
    pydl.set_num_threads(2)
    with pytest.raises(KeyError):
        with pydl.num_threads(1):
            assert pydl.get_num_threads() == 1
            raise KeyError("boom")
    assert pydl.get_num_threads() == 2


def test_results_are_right_inside_the_context_manager(rng):
    a, b = rand((200, 150), np.float32, rng), rand((150, 180), np.float32, rng)
    for n in (1, 2):
        with pydl.num_threads(n):
            check_gemm(pydl.ops.gemm(a, b), a, b)


BAD_COUNTS = [
    (0, ValueError, r"int >= 1, got 0"),
    (-1, ValueError, r"int >= 1, got -1"),
    (2.0, TypeError, r"int >= 1, got float 2\.0"),
    (1.5, TypeError, r"int >= 1, got float"),
    ("2", TypeError, r"int >= 1, got str"),
    (None, TypeError, r"int >= 1, got NoneType"),
]
BAD_IDS = ["zero", "negative", "float_2.0", "float_1.5", "str", "None"]


@pytest.mark.parametrize("n,exc,match", BAD_COUNTS, ids=BAD_IDS)
def test_set_num_threads_rejects(n, exc, match):
    pydl.set_num_threads(2)
    with pytest.raises(exc, match=r"set_num_threads: expected an " + match):
        pydl.set_num_threads(n)
    assert pydl.get_num_threads() == 2


@pytest.mark.parametrize("n,exc,match", BAD_COUNTS, ids=BAD_IDS)
def test_num_threads_context_rejects(n, exc, match):
    pydl.set_num_threads(2)
    with pytest.raises(exc, match=r"num_threads: expected an " + match):
        with pydl.num_threads(n):
            pytest.fail("the block must not run with an invalid thread count")
    assert pydl.get_num_threads() == 2


# --------------------------------------------------------------------------
# threadpoolctl
# --------------------------------------------------------------------------
def _openmp_entries():
    return [e for e in threadpool_info() if e["user_api"] == "openmp"]


def test_threadpoolctl_sees_pydl_openmp_runtime():
    entries = _openmp_entries()
    assert entries, f"threadpoolctl sees no OpenMP runtime: {threadpool_info()}"
    paths = [e["filepath"] for e in entries]
    assert any("gomp" in os.path.basename(p) or "omp" in os.path.basename(p) for p in paths), paths
    # the runtime pydl is linked against is one of them
    lib = pydl._core.openmp_library()
    assert lib, "pydl was built without OpenMP"
    assert os.path.realpath(lib) in {os.path.realpath(p) for p in paths}, (lib, paths)


def test_threadpoolctl_reports_pydl_thread_count():
    pydl.set_num_threads(2)
    counts = {e["num_threads"] for e in _openmp_entries()}
    assert 2 in counts


def test_threadpoolctl_limits_pydl(rng):
    pydl.set_num_threads(2)
    a, b = rand((300, 200), np.float64, rng), rand((200, 250), np.float64, rng)
    with threadpool_limits(1, user_api="openmp"):
        assert pydl.get_num_threads() == 1
        check_gemm(pydl.ops.gemm(a, b), a, b)
    assert pydl.get_num_threads() == 2


def test_threadpoolctl_limits_all_apis():
    pydl.set_num_threads(2)
    with threadpool_limits(limits=1):
        assert pydl.get_num_threads() == 1
    assert pydl.get_num_threads() == 2


def test_pydl_context_inside_threadpoolctl_limit():
    with threadpool_limits(1, user_api="openmp"):
        with pydl.num_threads(2):
            assert pydl.get_num_threads() == 2
        assert pydl.get_num_threads() == 1


# --------------------------------------------------------------------------
# Environment variables at import (in a subprocess)
# --------------------------------------------------------------------------
_REPORT = (
    "import json, warnings\n"
    "with warnings.catch_warnings(record=True) as w:\n"
    "    warnings.simplefilter('always')\n"
    "    import pydl\n"
    "print(json.dumps({'threads': pydl.get_num_threads(),\n"
    "                  'warnings': [(c.category.__name__, str(c.message)) for c in w]}))\n"
)


def _import_report(env):
    proc = run_python(["-c", _REPORT], env=env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("env,expected", [
    ({"PYDL_NUM_THREADS": "1"}, 1),
    ({"PYDL_NUM_THREADS": "3"}, 3),
    ({"PYDL_NUM_THREADS": " 2 "}, 2),
    ({"OMP_NUM_THREADS": "1"}, 1),
    ({"PYDL_NUM_THREADS": "3", "OMP_NUM_THREADS": "1"}, 3),
], ids=["pydl_1", "pydl_3", "pydl_spaces", "omp_1", "pydl_over_omp"])
def test_num_threads_env_at_import(env, expected):
    report = _import_report(env)
    assert report["threads"] == expected
    assert report["warnings"] == []


@pytest.mark.parametrize("value", ["0", "-2", "two", "1.5"])
def test_bad_num_threads_env_warns_and_import_works(value):
    report = _import_report({"PYDL_NUM_THREADS": value})
    assert report["threads"] >= 1
    categories = [c for c, _ in report["warnings"]]
    assert categories == ["RuntimeWarning"], report
    assert "PYDL_NUM_THREADS" in report["warnings"][0][1]


def _threads_seen_from_another_thread():
    import threading

    seen = []
    worker = threading.Thread(target=lambda: seen.append(pydl.get_num_threads()))
    worker.start()
    worker.join()
    return seen[0]


@pytest.mark.parametrize("n", [1, 3])
def test_set_num_threads_applies_to_other_python_threads(n):
    pydl.set_num_threads(n)
    assert _threads_seen_from_another_thread() == n


def test_num_threads_env_applies_to_other_python_threads():
    code = ("import threading, pydl; seen = []; "
            "t = threading.Thread(target=lambda: seen.append(pydl.get_num_threads())); "
            "t.start(); t.join(); print(seen[0])")
    out = run_python(["-c", code], env={"PYDL_NUM_THREADS": "1", "OMP_NUM_THREADS": "2"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "1"


def test_context_manager_inside_threadpoolctl_restores_both():
    base = pydl.get_num_threads()
    with threadpool_limits(1, user_api="openmp"):
        with pydl.num_threads(2):
            assert pydl.get_num_threads() == 2
        assert pydl.get_num_threads() == 1
    assert pydl.get_num_threads() == base
    assert _threads_seen_from_another_thread() == base
