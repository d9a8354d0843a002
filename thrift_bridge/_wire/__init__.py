"""The blocking I/O shell: sockets, TLS, byte transports (buffered, framed, zlib, HTTP) and the
stack built from an `Endpoint`. Every error leaving it is ours (`_exceptions`)."""
