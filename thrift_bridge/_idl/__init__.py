"""Load a Thrift IDL file at run time, without the Thrift compiler (work in progress)."""

from __future__ import annotations

from ._errors import IDLError

__all__ = ["IDLError"]
