# Runtime configuration of the C library: kernel path (ISA), threads, build info.
from pydl._cpydl cimport *


def isa_names():
    """All kernel paths pydl knows, in order of preference from worst to best."""
    return tuple(pydl_isa_name(<pydl_isa>i).decode() for i in range(PYDL_ISA_COUNT))


def supported_isas():
    """The kernel paths this CPU and this build can run."""
    return tuple(pydl_isa_name(<pydl_isa>i).decode()
                 for i in range(PYDL_ISA_COUNT) if pydl_isa_supported(<pydl_isa>i))


def best_isa():
    """The best kernel path this CPU supports (the default)."""
    return pydl_isa_name(pydl_isa_best()).decode()


def get_isa():
    """The kernel path in use: 'generic', 'avx2' or 'avx512'."""
    return pydl_isa_name(pydl_isa_get()).decode()


def set_isa(name):
    """Force a kernel path by name ('generic', 'avx2', 'avx512' or 'best').

    Raises ValueError for an unknown name and RuntimeError for a path the CPU
    (or this build) cannot run; the path in use is then unchanged.
    """
    names = isa_names()
    if not isinstance(name, str):
        raise TypeError(f"set_isa: expected a str, one of {names + ('best',)}, "
                        f"got {type(name).__name__} {name!r}")
    key = name.strip().lower()
    if key == "best":
        key = best_isa()
    if key not in names:
        raise ValueError(f"set_isa: unknown kernel path {name!r}; expected one of "
                         f"{names + ('best',)}")
    cdef int index = names.index(key)
    if pydl_isa_set(<pydl_isa>index) != PYDL_OK:
        raise RuntimeError(f"set_isa: this CPU cannot run the {key!r} kernels; it supports "
                           f"{supported_isas()} (CPU features: {cpu_features() or 'none'})")


def cpu_features():
    """SIMD features the CPU reports, as a space-separated string."""
    return pydl_cpu_features().decode()


def cpu_clock_ghz():
    """Core clock in GHz measured now (dependent-add chain, ~0.2 s); 0.0 if
    not measurable on this platform."""
    cdef double ghz
    with nogil:
        ghz = pydl_cpu_clock_ghz()
    return ghz


def compiler():
    """The C compiler that built the kernels."""
    return pydl_compiler().decode()


def openmp_version():
    """The _OPENMP date the kernels were built with; 0 for a serial build."""
    return pydl_openmp_version()


def openmp_library():
    """Path of the OpenMP runtime in use ('' for a serial build)."""
    return pydl_openmp_library().decode()


def get_num_threads():
    """Threads pydl's kernels use when called from this thread."""
    return pydl_threads_get()


def set_num_threads(int n):
    """Set the threads pydl's kernels use (OpenMP's setting for this thread)."""
    pydl_threads_set(n)


def _threads_state():
    """(pydl's setting or 0, OpenMP's count for this thread): for num_threads()."""
    return pydl_threads_setting(), pydl_threads_here()


def _threads_restore(int setting, int here):
    """Put back a state returned by _threads_state()."""
    pydl_threads_restore(setting, here)
