"""The pool under gevent monkey-patching: only primitives gevent patches, so greenlets wait."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = textwrap.dedent(
    """
    from gevent import monkey

    monkey.patch_all()

    import gevent

    from tests.generated.alltypes import AllTypes
    from tests.handlers import AllTypesHandler
    from thrift_bridge import Client, ReadTimeout
    from thrift_bridge.testing import serve

    with serve(AllTypes.Processor(AllTypesHandler())) as server:
        with Client(AllTypes, server.url, pool_size=4, pool_timeout=30) as client:

            blob = bytes(range(256)) * 1024  # 256 KiB: scatter-gather send, in-place receive

            def work(worker):
                for i in range(30):
                    nonce = f"{worker}-{i}"
                    assert client.slow_echo(nonce, 0.001) == nonce
                assert client.echo_blob(blob) == blob

            jobs = [gevent.spawn(work, n) for n in range(40)]
            gevent.joinall(jobs, timeout=60, raise_error=True)
            assert all(job.successful() for job in jobs)
            stats = client.stats()
            assert stats["open"] <= 4, stats
            assert stats["waits"] > 0, stats
            assert stats["created"] + stats["reused"] == 40 * 31, stats
        # gevent's sockets wait in its hub, not the kernel: the call deadline still holds.
        with Client(AllTypes, server.url, timeout=0.2, retries=0) as slow:
            try:
                slow.slow_echo("late", 2.0)
            except ReadTimeout:
                pass
            else:
                raise AssertionError("no ReadTimeout under gevent")
    print("ok", stats)
    """
)


def test_pool_shared_by_40_greenlets_under_monkey_patching():
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,  # tests.* imports from the repository
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("ok")
