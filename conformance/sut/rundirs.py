"""The run's temporary folders, named after the process that owns them, and the removal of dead runs' folders.

A run removes its folders when it ends, SIGINT and SIGTERM included; only a
SIGKILLed harness cannot. So each folder carries its owner's pid
(``hlc-run-<pid>-<random>``), and the next run removes every such folder
whose owner is no longer alive. A live run's folders are never touched, and
neither is anything not named this way (older runs, other tools).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path


def new(prefix: str) -> Path:
    """A fresh folder ``<tmp>/<prefix><pid>-<random>`` owned by this process."""
    return Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-"))


def owner_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def leftovers(prefix: str, where: Path | None = None) -> list[Path]:
    """Folders ``<prefix><pid>-...`` under ``where`` (default: the temp directory) whose owner is dead."""
    base = Path(where if where is not None else tempfile.gettempdir())
    pattern = re.compile(re.escape(prefix) + r"(\d+)-[^/]+\Z")
    found = []
    try:
        entries = list(base.iterdir())
    except OSError:
        return []
    for entry in entries:
        match = pattern.match(entry.name)
        if match and int(match.group(1)) != os.getpid() and not owner_alive(int(match.group(1))):
            if entry.is_dir() and not entry.is_symlink():
                found.append(entry)
    return found


def sweep(prefix: str, where: Path | None = None) -> list[Path]:
    """Remove the folders of dead runs (see :func:`leftovers`); returns what was removed."""
    removed = []
    for folder in leftovers(prefix, where):
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            removed.append(folder)
    return removed
