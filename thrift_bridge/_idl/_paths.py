"""Where an ``include`` is looked for (shared by the parser's resolver and the plan cache)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["first_file", "include_candidates"]


def include_candidates(including: str, name: str, include_dirs: Sequence[str]) -> list[str]:
    """Where an include may be, in search order: beside the including file, then each dir."""
    if os.path.isabs(name):
        return [name]
    dirs = [os.path.dirname(including), *include_dirs]
    return [os.path.abspath(os.path.join(d, name)) for d in dirs]


def first_file(candidates: Sequence[str]) -> str | None:
    """The first candidate that is a file, or None."""
    return next((c for c in candidates if os.path.isfile(c)), None)
