"""`IDLError`: what is wrong in an IDL file, and exactly where."""

from __future__ import annotations

from .._exceptions import ConfigError

__all__ = ["IDLError"]


class IDLError(ConfigError):
    """A syntax or semantic error in a Thrift IDL file, at ``file:line:column``.

    The message reads ``shop.thrift:12:5: unknown type 'Itm' (at 'Itm')``; the parts are also
    attributes: `file`, `line` and `column` (1-based; 0 when the error concerns the whole file)
    and `token` (the offending text, "" at the end of the file).
    """

    def __init__(self, message: str, *, file: str, line: int, column: int, token: str):
        super().__init__(f"{file}:{line}:{column}: {message} (at {token!r})")
        self.reason = message
        self.file = file
        self.line = line
        self.column = column
        self.token = token
