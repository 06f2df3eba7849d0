"""Progress bars for fit(): tqdm when installed, else a one-line bar."""
from __future__ import annotations

import sys
import time
from typing import Any, Dict


class _LineBar:
    """A minimal one-line bar on stderr, redrawn at most 10 times a second."""

    def __init__(self, total: int, desc: str) -> None:
        self.total, self.desc, self.n = total, desc, 0
        self.start = self.last = time.perf_counter()
        self.postfix = ""

    def update(self, n: int) -> None:
        self.n += n
        now = time.perf_counter()
        if now - self.last >= 0.1 and self.n < self.total:  # close() draws the last one
            self.last = now
            self._draw(now)

    def set_postfix(self, values: Dict[str, Any], refresh: bool = True) -> None:
        self.postfix = ", ".join(f"{k}={v}" for k, v in values.items())

    def _draw(self, now: float) -> None:
        frac = self.n / self.total if self.total else 1.0
        filled = int(25 * frac)
        rate = self.n / max(now - self.start, 1e-9)
        line = (f"{self.desc} [{'=' * filled}{' ' * (25 - filled)}] {self.n}/{self.total} "
                f"{rate:,.0f} samples/s {self.postfix}")
        self.width = max(getattr(self, "width", 0), len(line))
        sys.stderr.write("\r" + line.ljust(self.width))
        sys.stderr.flush()

    def close(self) -> None:
        self._draw(time.perf_counter())
        sys.stderr.write("\n")
        sys.stderr.flush()


def progress_bar(total: int, desc: str) -> Any:
    """A bar with update(n), set_postfix(dict) and close()."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _LineBar(total, desc)
    return tqdm(total=total, desc=desc, unit="sample", unit_scale=True, leave=True)
