"""Small file helpers shared by the writers that replace a file atomically (ICD index, knowledge
cache, batch output)."""

from __future__ import annotations

import os


def discard(tmp) -> None:
    """Remove a temporary file left by a write that failed; a file already gone is fine."""
    try:
        os.unlink(tmp)
    except OSError:
        pass
