"""Messages without I/O: a generated method's request encoded and its reply decoded (binary and
compact by Apache's C codec, JSON by ours).
"""
