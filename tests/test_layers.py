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
