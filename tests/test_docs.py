"""The API reference covers the public API (the strict build itself runs in `make docs`)."""

from __future__ import annotations

import re
from pathlib import Path

import thrift_bridge

ROOT = Path(__file__).resolve().parent.parent


def test_every_public_name_has_a_reference_entry():
    text = "\n".join(p.read_text() for p in (ROOT / "docs" / "reference").glob("*.md"))
    documented = set(re.findall(r"^::: thrift_bridge\.(\w+)$", text, re.MULTILINE))
    public = set(thrift_bridge.__all__) - {"__version__"}
    assert sorted(public - documented) == []


def test_every_page_is_in_the_nav():
    config = (ROOT / "mkdocs.yml").read_text()
    pages = {p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md")}
    assert sorted(page for page in pages if f": {page}" not in config) == []


def _python_blocks(page: str) -> list[str]:
    """The ```python blocks of a docs page."""
    text = (ROOT / "docs" / page).read_text()
    return re.findall(r"```python\n(.*?)```", text, re.DOTALL)


def test_the_quick_start_runs_against_the_demo_service(capsys):
    from thrift_bridge.generated.demo import CustomerService
    from thrift_bridge.testing import serve

    from .handlers import CustomerServiceHandler

    sync, asynchronous = _python_blocks("quickstart.md")[:2]
    with serve(CustomerService.Processor(CustomerServiceHandler())) as server:
        for block in (sync, asynchronous):
            exec(
                compile(block.replace("tcp://127.0.0.1:9090", server.url), "quickstart", "exec"), {}
            )
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "Ada Lovelace"
    assert printed[1].isdigit()  # the visit count
    assert printed[2] == "['Ada Lovelace', 'Alan Turing', 'Grace Hopper']"
