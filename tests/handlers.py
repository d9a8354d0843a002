"""Handlers for the test IDL services (the demo handler lives in thrift_bridge.demo._service)."""

from __future__ import annotations

import threading
import time

from thrift_bridge.demo._service import CustomerServiceHandler

from .generated.alltypes.ttypes import BadInput, Unavailable
from .generated.calculator.ttypes import DivideByZero

__all__ = ["AllTypesHandler", "CalculatorHandler", "CustomerServiceHandler", "HeldHandler"]


def _echo(value: object) -> object:
    """Return the argument unchanged."""
    return value


class AllTypesHandler:
    """Implements ``alltypes.AllTypes.Iface``: echoes, errors on demand, slow calls, oneway."""

    echo_bool = echo_byte = echo_i16 = echo_i32 = echo_i64 = echo_double = staticmethod(_echo)
    echo_string = echo_binary = echo_enum = echo_struct = echo_union = staticmethod(_echo)
    echo_nested = echo_list = echo_set = echo_map = echo_blob = echo_big = staticmethod(_echo)

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_fired = ""
        self.fired: list[str] = []

    def nothing(self) -> None:
        """Do nothing and return void."""

    def fire(self, token: str) -> None:
        """Remember a oneway token."""
        with self._lock:
            self._last_fired = token
            self.fired.append(token)

    def last_fired(self) -> str:
        """The last token fire() saw ('' if none)."""
        with self._lock:
            return self._last_fired

    def raise_error(self, kind: int) -> None:
        """Raise BadInput (1), Unavailable (2) or an undeclared error (3)."""
        if kind == 1:
            raise BadInput(message="bad input", code=400)
        if kind == 2:
            raise Unavailable(message="try later", retry_after_seconds=1.5)
        if kind == 3:
            raise RuntimeError("undeclared failure on the server")

    def slow_echo(self, value: str, delay_seconds: float) -> str:
        """Sleep, then echo (for timeout tests)."""
        time.sleep(delay_seconds)
        return value

    def add(self, a: int, b: int) -> int:
        """Add two i64 values."""
        return a + b


class CalculatorHandler:
    """Implements ``calculator.Calculator.Iface``."""

    def add(self, num1: int, num2: int) -> int:
        """Add two i32 values."""
        return num1 + num2

    def divide(self, a: float, b: float) -> float:
        """Divide, raising DivideByZero for b == 0."""
        if b == 0:
            raise DivideByZero(message=f"cannot divide {a} by zero")
        return a / b


class HeldHandler(AllTypesHandler):
    """`slow_echo` signals it started, then holds until the test lets it go (at most 10 s)."""

    def __init__(self) -> None:
        super().__init__()
        self.started = threading.Event()
        self.release = threading.Event()
        #: Released once per call that arrived: ``arrived.acquire(timeout=...)`` counts them.
        self.arrived = threading.Semaphore(0)

    def slow_echo(self, value: str, delay_seconds: float) -> str:
        """Set `started` (and count the call in `arrived`), wait for `release`, then echo."""
        self.started.set()
        self.arrived.release()
        self.release.wait(10)
        return value
