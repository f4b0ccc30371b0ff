"""A real Celery worker process for the benchmarks that measure through one."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")


def celery_worker(
    *, concurrency: int, env: Mapping[str, str], log: IO[bytes], extra: Sequence[str] = ()
) -> subprocess.Popen[bytes]:
    """Start ``celery -A customer360 worker`` (prefork, ``concurrency`` processes)
    with ``env`` (its broker and database), writing to ``log``."""
    return subprocess.Popen(
        [PYTHON, "-m", "celery", "-A", "customer360", "worker", "--pool=prefork",
         f"--concurrency={concurrency}", "--loglevel=WARNING", *extra],
        cwd=ROOT, env=dict(env), stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
