import zlib

import numpy as np
import pytest

import pydl


@pytest.fixture(autouse=True)
def _restore_pydl_state():
    """Every test starts and ends with the same kernel path and thread count."""
    isa = pydl.get_isa()
    threads = pydl.get_num_threads()
    yield
    pydl.set_isa(isa)
    pydl.set_num_threads(threads)


@pytest.fixture
def rng(request) -> np.random.Generator:
    """A generator seeded from the test's id: reproducible, different per test."""
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))
