"""The core stays independent of generated code and of the optional frameworks."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_library_loads_no_generated_code_and_no_framework():
    code = (
        "import sys; from thrift_bridge import *; "
        "bad = sorted(m for m in sys.modules if m.startswith('thrift_bridge.generated') "
        "or m.split('.')[0] in ('flask', 'django', 'trustme')); print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


#: Lines a module may have before its docstring must say why it is one module.
MODULE_LINES = 420
LONG_ON_PURPOSE = "Over 400 lines on purpose"


def test_no_module_grows_past_about_400_lines_without_saying_why():
    import ast
    from pathlib import Path

    package = Path(__file__).resolve().parent.parent / "thrift_bridge"
    long = []
    for path in sorted(package.rglob("*.py")):
        if "generated" in path.parts:
            continue
        text = path.read_text()
        if text.count("\n") > MODULE_LINES:
            docstring = ast.get_docstring(ast.parse(text)) or ""
            if LONG_ON_PURPOSE not in " ".join(docstring.split()):
                long.append(f"{path.relative_to(package)}: {text.count(chr(10))} lines")
    assert long == [], f"split these, or say '{LONG_ON_PURPOSE}: <why>' in their docstrings"


#: Top-level packages the runtime must never need: every extra's, and the test tools'.
OPTIONAL = (
    "dns",
    "opentelemetry",
    "starlette",
    "fastapi",
    "aiohttp",
    "uvloop",
    "lark",
    "anyio",
    "flask",
    "django",
)

#: Run in a fresh interpreter: every OPTIONAL package unimportable, one call through each
#: client, then discovery=dns at construction. Prints what happened, one line each.
WITHOUT_EXTRAS = """
import asyncio, sys

OPTIONAL = set(sys.argv[2].split(","))

class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in OPTIONAL:
            raise ModuleNotFoundError(f"blocked: {name}", name=name)
        return None

sys.meta_path.insert(0, Blocker())

from thrift_bridge import AsyncClient, Client, ConfigError
from thrift_bridge.generated.demo import CustomerService

url = sys.argv[1]
with Client(CustomerService, url) as client:
    print("sync", client.ping())

async def main():
    async with AsyncClient(CustomerService, url) as client:
        return await asyncio.wait_for(client.ping(), 10)

print("async", asyncio.run(main()))
for cls in (Client, AsyncClient):
    try:
        named = cls(CustomerService, "tcp://api.svc.test:9090?discovery=dns")
    except ConfigError as exc:
        print(cls.__name__, "ConfigError", exc)
        continue
    print(cls.__name__, "constructed")
    if cls is AsyncClient:  # then its first call must say it
        try:
            asyncio.run(asyncio.wait_for(named.ping(), 10))
        except ConfigError as exc:
            print("first call ConfigError", exc)
print("loaded", sorted({m.split(".")[0] for m in sys.modules} & OPTIONAL))
"""


#: What discovery=dns without dnspython says.
NEEDS_DNS = "discovery=dns and discovery=srv need dnspython: pip install 'thrift-bridge[dns]'"


def _without_extras(url: str) -> list[str]:
    """The lines WITHOUT_EXTRAS printed, calling `url`."""
    out = subprocess.run(
        [sys.executable, "-c", WITHOUT_EXTRAS, url, ",".join(OPTIONAL)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.splitlines()


def test_the_runtime_needs_no_extra(demo_server):
    """With every optional package unimportable, both clients call a loopback server, and
    discovery=dns fails naming the `dns` extra: Client at construction, AsyncClient at the
    latest at its first call."""
    lines = _without_extras(demo_server.url)
    assert lines[:3] == ["sync pong", "async pong", f"Client ConfigError {NEEDS_DNS}"]
    assert lines[3:-1] in (
        [f"AsyncClient ConfigError {NEEDS_DNS}"],
        ["AsyncClient constructed", f"first call ConfigError {NEEDS_DNS}"],
    )
    assert lines[-1] == "loaded []"


def test_the_async_client_names_the_dns_extra_at_construction(demo_server):
    assert _without_extras(demo_server.url)[3] == f"AsyncClient ConfigError {NEEDS_DNS}"
