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
