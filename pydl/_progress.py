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
        if now - self.last >= 0.1 or self.n >= self.total:
            self.last = now
            self._draw(now)

    def set_postfix(self, values: Dict[str, Any]) -> None:
        self.postfix = ", ".join(f"{k}={v}" for k, v in values.items())

    def _draw(self, now: float) -> None:
        frac = self.n / self.total if self.total else 1.0
        filled = int(25 * frac)
        rate = self.n / max(now - self.start, 1e-9)
        sys.stderr.write(f"\r{self.desc} [{'=' * filled}{' ' * (25 - filled)}] "
                         f"{self.n}/{self.total} {rate:,.0f} samples/s {self.postfix}")
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
