r"""Apache's own TJSONProtocol reader, held to our limits: the fallback for what JSON refuses.

Apache's format is not quite JSON (bare-object map keys, number spellings like ``+1``, escapes
like ``\\u+041``). `_json_stream` parses with the standard library's C scanner and hands what it
refuses to `ApacheJSONReader`, which reads it exactly as Apache does, but with our nesting
depth, container and string limits, and with its errors as our `ProtocolError`.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from thrift.protocol.TJSONProtocol import TJSONProtocol
from thrift.protocol.TProtocol import TProtocolException
from thrift.Thrift import TException
from thrift.transport.TTransport import TMemoryBuffer, TTransportException

from .._exceptions import ProtocolError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ._json_write import JsonLimits

__all__ = ["ApacheJSONReader", "apache_errors"]


class _ExactBuffer(TMemoryBuffer):  # type: ignore[misc]
    """A memory buffer that raises at its end: Apache's reader reads a number at the end of
    its input one empty byte at a time until its string limit (100 MiB of loop) otherwise."""

    def read(self, sz: int) -> bytes:
        data: bytes = self._buffer.read(sz)
        if len(data) < sz:
            raise TTransportException(TTransportException.END_OF_FILE, "the message ends early")
        return data


class ApacheJSONReader(TJSONProtocol):  # type: ignore[misc]
    """Apache's reader, for what JSON's scanner refuses, held to our depth and size limits."""

    def __init__(self, data: bytes, limits: JsonLimits):
        self._buffer = _ExactBuffer(data)
        super().__init__(self._buffer, string_length_limit=limits.strings)
        self._limits = limits
        self._nesting = 0

    def _enter(self, size: int = 0) -> None:
        self._nesting += 1
        if self._nesting > self._limits.max_depth:
            raise ProtocolError(f"the reply nests deeper than max_depth={self._limits.max_depth}")
        if size > self._limits.containers:
            raise ProtocolError(
                f"a container of {size} elements exceeds "
                f"container_length_limit={self._limits.containers}"
            )

    def readStructBegin(self) -> None:  # noqa: N802 - Apache's names from here on
        self._enter()
        super().readStructBegin()

    def readStructEnd(self) -> None:  # noqa: N802
        super().readStructEnd()
        self._nesting -= 1

    def readListBegin(self) -> tuple[int, int]:  # noqa: N802
        elem_type, size = super().readListBegin()
        self._enter(size)
        return elem_type, size

    readSetBegin = readListBegin  # noqa: N815

    def readListEnd(self) -> None:  # noqa: N802
        super().readListEnd()
        self._nesting -= 1

    readSetEnd = readListEnd  # noqa: N815

    def readMapBegin(self) -> tuple[int, int, int]:  # noqa: N802
        key_type, value_type, size = super().readMapBegin()
        self._enter(size)
        return key_type, value_type, size

    def readMapEnd(self) -> None:  # noqa: N802
        super().readMapEnd()
        self._nesting -= 1

    def read_body(self, cls: type, size: int) -> Any:
        """The message's struct as the generated read() decodes it, then the message's end."""
        with apache_errors():
            read: Any = getattr(cls, "read", None)
            if getattr(read, "__self__", None) is cls:  # a classmethod (thrift_spec only)
                result = read(self)
            else:
                result = cls()
                result.read(self)
            self.readMessageEnd()
        if self._buffer._buffer.tell() != size:
            raise ProtocolError("malformed TJSONProtocol reply: bytes after the message's end")
        return result


@contextlib.contextmanager
def apache_errors() -> Iterator[None]:
    """Re-raise what Apache's reader raises on malformed input as our ProtocolError."""
    try:
        yield
    except RecursionError as exc:
        raise ProtocolError("the reply nests too deep for Apache's reader") from exc
    except (TException, ValueError, KeyError, TypeError, IndexError, EOFError) as exc:
        detail = exc.message if isinstance(exc, TProtocolException) else exc
        raise ProtocolError(f"malformed TJSONProtocol reply: {detail!r}") from exc
