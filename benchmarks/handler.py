"""The bench service's handler for the Python fallback server (the C++ one has its own)."""

from __future__ import annotations

from typing import Any


class BenchHandler:
    """Echoes every argument back, like `Handler` in server/bench_server.cpp."""

    def ping(self) -> None:
        """Do nothing."""

    def echo(self, s: str) -> str:
        return s

    def echo_bin(self, b: bytes) -> bytes:
        return b

    def batch(self, items: list[Any]) -> list[Any]:
        return items

    def echo_item(self, item: Any) -> Any:
        return item
