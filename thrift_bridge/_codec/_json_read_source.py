"""The Python source of the JSON readers `_json_read.Readers` compiles, one per struct class
and per list or set type, from `thrift_spec`.

The source names what it uses (`_bad`, `_as_int`, `_read_double`, `_read_string`,
`_check_size`, `_too_deep`, `_MAX_DEPTH`, `_STRINGS`, `_CONTAINERS`, `_TYPE_IDS`, `_MISSING`,
`_cls`, `_other_field`, and `_r<index>` for each field's or element's reader): the namespace
`Readers` gives it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from thrift.Thrift import TType

from ._json_write import INTEGERS, TYPE_NAMES, plain_attribute

__all__ = ["CHAIN_FIELDS", "MISSING", "PLAIN_SCALARS", "inline", "struct_source"]

Reader = Callable[[Any, int], Any]


#: A field not (yet) read in a compiled struct reader.
MISSING: Final = object()

#: The most fields a struct reader tests key by key in an if/elif chain (wider: by dict).
CHAIN_FIELDS: Final = 32


#: What a scalar element the scanner parsed must be to be read as it is (no conversion).
PLAIN_SCALARS: Final = {
    **{ttype: "type(item) is int" for ttype in INTEGERS},
    TType.DOUBLE: "type(item) is float",
    TType.STRING: "type(item) is str and len(item) <= _STRINGS",
}


def inline(ttype: int, arg: Any, index: int, item: str = "item") -> str:
    """The expression reading `item` as a field of type `ttype` (depth in `inner`)."""
    if ttype in INTEGERS:
        return f"{item} if type({item}) is int else _as_int({item})"
    if ttype == TType.BOOL:
        return f"({item} if type({item}) is int else _as_int({item})) != 0"
    if ttype == TType.DOUBLE:
        return f"{item} if type({item}) is float else _read_double({item}, 0)"
    if ttype == TType.STRING and arg != "BINARY":
        return (
            f"{item} if type({item}) is str and len({item}) <= _STRINGS "
            f"else _read_string({item}, 0)"
        )
    return f"_r{index}({item}, inner)"


def _field_lines(ttype: int, arg: Any, index: int) -> list[str]:
    """Lines reading field `index` of the all-present path from `i<index>` into `f<index>`: a
    list of scalars the scanner already made what they read as, in line when its head is
    plainly right (else its reader `_r<index>` decides, errors included); other types by
    `inline`."""
    indent = "                "
    plain = PLAIN_SCALARS.get(arg[0]) if ttype == TType.LIST and not arg[2] else None
    if plain is None or arg[1] == "BINARY":
        return [f"{indent}f{index} = {inline(ttype, arg, index, f'i{index}')}"]
    value = f"i{index}"
    head = (
        f"type({value}) is list and len({value}) >= 2 and inner <= _MAX_DEPTH"
        f" and type({value}[0]) is str and {value}[0] in _TYPE_IDS"
        f" and type({value}[1]) is int and 0 <= {value}[1] <= _CONTAINERS"
        f" and {value}[1] == len({value}) - 2"
    )
    return [
        f"{indent}if {head}:",
        f"{indent}    f{index} = {value}[2:]",
        f"{indent}    for item in f{index}:",
        f"{indent}        if not ({plain}):",
        f"{indent}            f{index} = _r{index}({value}, inner)",
        f"{indent}            break",
        f"{indent}else:",
        f"{indent}    f{index} = _r{index}({value}, inner)",
    ]


def _construct(spec: list[Any], frozen: bool, indent: str, all_set: bool) -> list[str]:
    """The lines making and returning the instance from the fields read, f<index> each (or
    _MISSING, unless `all_set`: fields never seen keep their defaults)."""
    lines = [f"{indent}fields = {{}}" if frozen else f"{indent}obj = _cls()"]
    for index, (_, _, name, _, _) in enumerate(spec):
        if not all_set:
            lines.append(f"{indent}if f{index} is not _MISSING:")
        inner = indent if all_set else indent + "    "
        if frozen:
            lines.append(f"{inner}fields[{name!r}] = f{index}")
        elif plain_attribute(name):
            lines.append(f"{inner}obj.{name} = f{index}")
        else:
            lines.append(f"{inner}setattr(obj, {name!r}, f{index})")
    lines.append(f"{indent}return _cls(**fields)" if frozen else f"{indent}return obj")
    return lines


def struct_source(spec: list[Any], frozen: bool) -> str:
    """The source of a compiled struct reader (see `Readers._compile_struct`)."""
    count = len(spec)
    lines = [
        "def read(value, depth):",
        "    if type(value) is not tuple:",
        '        raise _bad("a struct object", value)',
        "    if depth > _MAX_DEPTH:",
        "        raise _too_deep()",
        "    inner = depth + 1",
    ]
    if count:
        # Every field once, in id order, as writers write them: no loop, no search.
        pairs = ", ".join(f"(k{i}, t{i})" for i in range(count))
        keys = " and ".join(f"k{i} == {str(f[0])!r}" for i, f in enumerate(spec))
        typed = " and ".join(f"type(t{i}) is tuple and len(t{i}) == 1" for i in range(count))
        names = " and ".join(f"n{i} == {TYPE_NAMES[f[1]]!r}" for i, f in enumerate(spec))
        lines += [
            f"    if len(value) == {count}:",
            f"        {pairs}{',' if count == 1 else ''} = value",
            f"        if {keys} and {typed}:",
            *(f"            ((n{i}, i{i}),) = t{i}" for i in range(count)),
            f"            if {names}:",
            *(line for i, f in enumerate(spec) for line in _field_lines(f[1], f[3], i)),
            *_construct(spec, frozen, "                ", all_set=True),
        ]
        lines.append("    " + " = ".join(f"f{i}" for i in range(count)) + " = _MISSING")
    if count > CHAIN_FIELDS:
        # One key at a time: by the dict `_other_field` keeps (an if/elif chain this long is
        # quadratic, and past a few thousand fields it nests too deep to compile).
        lines += [
            f"    got = [_MISSING] * {count}",
            "    for key, typed in value:",
            "        found = _other_field(key, typed, inner)",
            "        if found is not None:",
            "            got[found[0]] = found[1]",
            "    " + "".join(f"f{i}, " for i in range(count)) + "= got",
            *_construct(spec, frozen, "    ", all_set=False),
        ]
        return "\n".join(lines) + "\n"
    lines += [
        "    for key, typed in value:",
        "        if type(typed) is tuple and len(typed) == 1:",
        "            type_name, item = typed[0]",
    ]
    for index, (fid, ftype, _, arg, _) in enumerate(spec):
        lines += [
            f"            {'if' if index == 0 else 'elif'} key == {str(fid)!r}:",
            f"                if type_name == {TYPE_NAMES[ftype]!r}:",
            f"                    f{index} = {inline(ftype, arg, index)}",
            "                    continue",
        ]
    lines.append("        found = _other_field(key, typed, inner)")
    if count:
        lines += ["        if found is not None:", "            index, item = found"]
        for index in range(count):
            lines.append(f"            {'if' if index == 0 else 'elif'} index == {index}:")
            lines.append(f"                f{index} = item")
    lines += _construct(spec, frozen, "    ", all_set=False)
    return "\n".join(lines) + "\n"
