"""Apache's TJSONProtocol wire format, written from generated `thrift_spec` tables.

Apache's `TJSONProtocol` reads and writes one character at a time in Python. Here each struct
class gets a writer compiled once from its `thrift_spec`, building the message text in a few
joins; `_json_read` reads what the standard library's C scanner parsed and `_json_stream`
frames and parses messages.

Writing is byte for byte what Apache's Python writer produces, with two deliberate exceptions:

- NaN and the infinities are written "NaN", "Infinity" and "-Infinity" (quoted), as Apache's
  C++ and Java writers do. Apache's Python writer emits bare ``nan``/``inf``, which no Thrift
  reader accepts, its own included.
- An integer field holding a float or a string raises TypeError, as the binary C codec does;
  Apache's writer would send ``1.5`` or ``True`` for the server to reject.
"""

from __future__ import annotations

import binascii
import keyword
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from thrift.protocol.TProtocol import TProtocolException
from thrift.Thrift import TApplicationException, TType

__all__ = [
    "INTEGERS",
    "TYPE_NAMES",
    "JsonLimits",
    "compiled",
    "encode_message",
    "plain_attribute",
    "quote",
    "spec_of",
    "struct_writer",
]

#: The type names TJSONProtocol writes before each value (TJSONProtocol.py CTYPES).
TYPE_NAMES: Final = {
    TType.BOOL: "tf",
    TType.BYTE: "i8",
    TType.I16: "i16",
    TType.I32: "i32",
    TType.I64: "i64",
    TType.DOUBLE: "dbl",
    TType.STRING: "str",
    TType.STRUCT: "rec",
    TType.LIST: "lst",
    TType.SET: "set",
    TType.MAP: "map",
    TType.UUID: "uid",
}
INTEGERS: Final = {TType.BYTE: 8, TType.I16: 16, TType.I32: 32, TType.I64: 64}

#: TApplicationException has no thrift_spec; its read() follows this one.
_APPLICATION_EXCEPTION_SPEC: Final = (
    None,
    (1, TType.STRING, "message", "UTF8", None),
    (2, TType.I32, "type", None, None),
)


@dataclass(frozen=True)
class JsonLimits:
    """What a reply may hold: bytes in all, characters a string, elements a container, depth.

    Depth counts structs and containers, the reply's own struct being 1 (64 is Thrift's
    TConfiguration default). Strings and containers default to the message size, as our
    binary and compact protocols are configured.
    """

    max_message_size: int = 100 * 1024 * 1024
    string_length_limit: int | None = None
    container_length_limit: int | None = None
    max_depth: int = 64

    @property
    def strings(self) -> int:
        """The longest string or binary value read, in characters."""
        return (
            self.max_message_size if self.string_length_limit is None else self.string_length_limit
        )

    @property
    def containers(self) -> int:
        """The most elements (or map pairs) one container may declare."""
        limit = self.container_length_limit
        return self.max_message_size if limit is None else limit


# -- writing ---------------------------------------------------------------------------------

Writer = Callable[[Any], str]

# Apache escapes these seven and writes every other character as it is, control characters
# included (TJSONProtocol.py ESCAPE_CHAR_VALS). The backslash goes first.
_ESCAPES: Final = (
    ("\\", "\\\\"),
    ('"', '\\"'),
    ("\b", "\\b"),
    ("\f", "\\f"),
    ("\n", "\\n"),
    ("\r", "\\r"),
    ("\t", "\\t"),
)
_NEEDS_ESCAPE: Final = re.compile('["\\\\\b\f\n\r\t]')
_SHORT: Final = 256  # below this a regex search is the cheaper check; above, seven memchr scans


def quote(text: str) -> str:
    """`text` as TJSONProtocol writes a string."""
    if type(text) is not str:
        raise TypeError(f"a Thrift string must be str, not {type(text).__name__}")
    if (
        _NEEDS_ESCAPE.search(text) is not None
        if len(text) < _SHORT
        else any(char in text for char, _ in _ESCAPES)
    ):
        for char, escaped in _ESCAPES:
            text = text.replace(char, escaped)
    return '"' + text + '"'


def _integer(value: Any) -> int:
    """An int subclass (an IntEnum, a bool) as a plain int; anything else is refused."""
    if isinstance(value, int):
        return int(value)
    raise TypeError(f"a Thrift integer must be int, not {type(value).__name__}")


def _integer_writer(bits: int, key: bool) -> Writer:
    """A writer of a `bits`-wide integer, range-checked as Apache's checkIntegerLimits."""
    low, high = -(1 << bits - 1), (1 << bits - 1) - 1
    message = f"i{bits} requires {low} <= number <= {high}"

    def write(value: Any) -> str:
        if type(value) is not int:
            value = _integer(value)
        if low <= value <= high:
            return f'"{value}"' if key else str(value)
        raise TProtocolException(TProtocolException.INVALID_DATA, message)

    return write


# What `"%.17g" % x` gives for the non-finite doubles, and what C++ and Java write for them.
_NON_FINITE: Final = {"nan": '"NaN"', "inf": '"Infinity"', "-inf": '"-Infinity"'}


def _write_double(value: Any) -> str:
    if type(value) is not float:
        if not isinstance(value, (int, float)):
            raise TypeError(f"a Thrift double must be float, not {type(value).__name__}")
        value = float(value)
    # 17 significant digits, as Apache's writer formats ('{0:.17g}'); C++ writes the same.
    text = format(value, ".17g")
    return _NON_FINITE[text] if text[-1] in "nf" else text


def _write_double_key(value: Any) -> str:
    text = _write_double(value)
    return text if text[0] == '"' else '"' + text + '"'


def _write_binary(value: Any) -> str:
    return '"' + binascii.b2a_base64(value, newline=False).decode("ascii") + '"'


def _write_uuid(value: Any) -> str:
    return quote(str(value))


def _write_bool(value: Any) -> str:
    return "1" if value is True else "0"  # Apache's test: `1 if boolean is True else 0`


def _write_bool_key(value: Any) -> str:
    return '"1"' if value is True else '"0"'


def _writer(ttype: int, arg: Any, key: bool = False) -> Writer:
    """The writer of one value of Thrift type `ttype` (spec argument `arg`), as a map key too.

    A key is written as a value is, except that numbers are quoted: Apache writes a struct or
    a container key as a bare object or array, which is not JSON, and so do we.
    """
    if ttype in INTEGERS:
        return _integer_writer(INTEGERS[ttype], key)
    if ttype == TType.STRING:
        return _write_binary if arg == "BINARY" else quote
    if ttype == TType.DOUBLE:
        return _write_double_key if key else _write_double
    if ttype == TType.BOOL:
        return _write_bool_key if key else _write_bool
    if ttype == TType.STRUCT:
        return _struct_writer_of(arg[0])
    if ttype in (TType.LIST, TType.SET):
        return _list_writer(arg[0], arg[1])
    if ttype == TType.MAP:
        return _map_writer(arg[0], arg[1], arg[2], arg[3])
    if ttype == TType.UUID:
        return _write_uuid
    raise TypeError(f"Thrift type {ttype} cannot be written as JSON")


def _list_writer(elem_type: int, elem_arg: Any) -> Writer:
    """A list or set writer compiled from source: scalars that need no conversion are written
    in line (a loop: cheaper than a comprehension, or a map of str, even on long lists),
    anything else by the element type's writer."""
    namespace = {**_INLINE_NAMES, "_w": _writer(elem_type, elem_arg)}
    head = f'["{TYPE_NAMES[elem_type]}",'
    lines = [
        "def write(value):",
        "    if not len(value):",
        f"        return {head + '0]'!r}",
    ]
    element = _inline_scalar(elem_type if elem_arg != "BINARY" else -1, "v")
    if element is None:
        items = "map(_w, value)"
    else:
        test, body = element
        items = "items"
        lines += [
            "    items = []",
            "    for v in value:",
            f"        items.append(f{body!r} if {test} else _w(v))",
        ]
    lines.append(f"    return {head!r} + str(len(value)) + ',' + ','.join({items}) + ']'")
    source = "\n".join(lines) + "\n"
    write: Writer = compiled(source, "write", f"a list of {TYPE_NAMES[elem_type]}", namespace)
    return write


#: What the compiled writers' in-line tests refer to by name.
_INLINE_NAMES: Final = {"_needs_escape": _NEEDS_ESCAPE.search}


def _inline_scalar(ttype: int, var: str) -> tuple[str, str] | None:
    """(test, f-string body): where the test holds, the body writes `var` (a plain int in
    range, a finite float, a short string with nothing to escape); None for a type written
    by its writer alone."""
    if ttype in INTEGERS:
        half = 1 << (INTEGERS[ttype] - 1)
        return f"type({var}) is int and {-half} <= {var} <= {half - 1}", f"{{{var}}}"
    if ttype == TType.DOUBLE:
        return f"type({var}) is float and {var} - {var} == 0.0", f"{{{var}:.17g}}"
    if ttype == TType.STRING:
        test = f"type({var}) is str and len({var}) < {_SHORT} and _needs_escape({var}) is None"
        return test, f'"{{{var}}}"'
    return None


def compiled(source: str, function: str, what: str, namespace: dict[str, Any]) -> Any:
    """The function `function` that `source` (a JSON reader's or writer's of `what`) defines,
    its globals `namespace`."""
    exec(compile(source, f"<thrift_bridge JSON {function}() of {what}>", "exec"), namespace)
    return namespace[function]


def plain_attribute(name: str) -> bool:
    """Whether generated source may spell attribute `name` as `obj.name`: an ASCII identifier
    (source identifiers are NFKC-normalised, so `ﬁeld` would be `field`), no keyword, and not
    `__debug__` (assigning it is a SyntaxError); anything else goes through get/setattr."""
    return (
        name.isascii()
        and name.isidentifier()
        and not keyword.iskeyword(name)
        and name != "__debug__"
    )


def _map_writer(key_type: int, key_arg: Any, value_type: int, value_arg: Any) -> Writer:
    head = f'["{TYPE_NAMES[key_type]}","{TYPE_NAMES[value_type]}",'
    write_key = _writer(key_type, key_arg, key=True)
    write_value = _writer(value_type, value_arg)

    def write(value: Any) -> str:
        pairs = [write_key(k) + ":" + write_value(v) for k, v in value.items()]
        return head + str(len(value)) + ",{" + ",".join(pairs) + "}]"

    return write


def spec_of(cls: type) -> tuple[Any, ...]:
    """The field table of a struct class (TApplicationException's own for it)."""
    if cls is TApplicationException:
        return _APPLICATION_EXCEPTION_SPEC
    spec = getattr(cls, "thrift_spec", None)
    if spec is None:
        raise TypeError(f"{cls.__qualname__} has no thrift_spec: not a generated Thrift struct")
    return tuple(spec)


def encode_message(name: str, message_type: int, seqid: int, args: Any) -> bytes:
    """A whole message, `[1,"name",type,seqid,{args}]`, with `args` written by its class's spec."""
    body = struct_writer(type(args))(args)
    return f"[1,{quote(name)},{message_type},{seqid},{body}]".encode()


_writers: dict[type, Writer] = {}
_building: dict[type, Writer] = {}
_compile_lock = threading.RLock()


def struct_writer(cls: type) -> Writer:
    """The writer of instances of a generated struct class, compiled once per class."""
    writer = _writers.get(cls)
    return writer if writer is not None else _struct_writer_of(cls)


def _struct_writer_of(cls: type) -> Writer:
    with _compile_lock:
        writer = _writers.get(cls) or _building.get(cls)
        if writer is not None:
            return writer  # compiled, or being compiled further up this thread's stack
        # thrift_spec is indexed by field id, and the generated write() emits fields in id
        # order whatever order the IDL declares them in (t_py_generator: sorted members).
        spec = [field for field in spec_of(cls) if field is not None]
        namespace: dict[str, Any] = dict(_INLINE_NAMES)
        write: Writer = compiled(_struct_source(spec), "write", cls.__qualname__, namespace)
        _building[cls] = write  # a recursive struct refers to itself while being compiled
        try:
            for index, (_, ftype, _, arg, _) in enumerate(spec):
                namespace[f"_w{index}"] = _writer(ftype, arg)
        finally:
            del _building[cls]
        _writers[cls] = write
        return write


def _struct_source(spec: list[Any]) -> str:
    """The source of a struct writer: with every field set (and each scalar one `_inline_scalar`
    writes), one f-string; else each field set after the one before. A scalar is written in
    line where `_inline_scalar` can, anything else by its type's writer `_w<index>`."""
    lines = ["def write(obj):"]
    tests, texts = [], []
    for index, (fid, ftype, name, arg, _) in enumerate(spec):
        if plain_attribute(name):
            lines.append(f"    v{index} = obj.{name}")
        else:
            lines.append(f"    v{index} = getattr(obj, {name!r})")
        head = f'"{fid}":{{"{TYPE_NAMES[ftype]}":'.replace("{", "{{")
        inline = _inline_scalar(ftype if arg != "BINARY" else -1, f"v{index}")
        if inline is None:
            tests.append(f"v{index} is not None")
            texts.append(head + "{" + f"_w{index}(v{index})" + "}}}")
        else:
            tests.append(inline[0])
            texts.append(head + inline[1] + "}}")
    if spec:
        lines.append(f"    if {' and '.join(tests)}:")
        lines.append("        return f" + repr("{{" + ",".join(texts) + "}}"))
    lines.append("    parts = []")
    for index, (fid, ftype, _, arg, _) in enumerate(spec):
        head = f'"{fid}":{{"{TYPE_NAMES[ftype]}":'
        lines.append(f"    if v{index} is not None:")
        inline = _inline_scalar(ftype if arg != "BINARY" else -1, f"v{index}")
        slow = f"parts.append({head!r} + _w{index}(v{index}) + '}}')"
        if inline is None:
            lines.append(f"        {slow}")
            continue
        test, text = inline
        fast = "f" + repr(head.replace("{", "{{") + text + "}}")
        lines += [
            f"        if {test}:",
            f"            parts.append({fast})",
            "        else:",
            f"            {slow}",
        ]
    lines.append("    return '{' + ','.join(parts) + '}'")
    return "\n".join(lines) + "\n"
