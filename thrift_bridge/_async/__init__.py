"""The asyncio client: the same URLs, options, decisions and guarantees as the sync one,
with asyncio's own transports for I/O (see `_connection`, `_pool`, `_calls`, `_client`)."""
