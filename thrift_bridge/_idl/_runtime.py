"""What every loaded struct and service shares: the methods Apache's generator writes per class.

Apache's generated ``read``/``write`` try the C codec first and otherwise read and write field
by field; the ``process_<method>`` functions of a ``Processor`` and the ``recv_<method>``
functions of a ``Client`` differ only in names and types. Here each is written once and given
its types from a table, so a loaded module compiles only what has its own signature
(``__init__``, the client's methods, ``validate``). Behaviour follows Apache 0.17's output line
by line; the comments name the few places where that output is surprising.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from thrift.Thrift import TApplicationException, TFrozenDict, TMessageType, TType
from thrift.transport import TTransport

__all__ = [
    "attach_service",
    "attach_struct",
    "exception_str",
    "frozen",
    "import_star",
    "on_message_begin",
    "process",
    "struct_eq",
    "struct_ne",
    "struct_repr",
]

#: One field: (id, TType, name, type arguments as in ``thrift_spec``).
FieldSpec = tuple[int, int, str, Any]

_READERS = {
    TType.BOOL: "readBool",
    TType.BYTE: "readByte",
    TType.I16: "readI16",
    TType.I32: "readI32",
    TType.I64: "readI64",
    TType.DOUBLE: "readDouble",
}
_WRITERS = {
    TType.BOOL: "writeBool",
    TType.BYTE: "writeByte",
    TType.I16: "writeI16",
    TType.I32: "writeI32",
    TType.I64: "writeI64",
    TType.DOUBLE: "writeDouble",
}
_UUID = getattr(TType, "UUID", None)  # thrift >= 0.21


def _read_value(iprot: Any, ttype: int, args: Any) -> Any:
    """One value of type (ttype, args), read as the generated code reads it."""
    if ttype == TType.STRING:
        return iprot.readBinary() if args == "BINARY" else iprot.readString()
    if ttype == TType.STRUCT:
        cls: Any = args[0]
        immutable = getattr(cls.read, "__self__", None) is cls  # read is a classmethod
        if immutable:
            return cls.read(iprot)
        obj = cls()
        obj.read(iprot)
        return obj
    if ttype == TType.LIST or ttype == TType.SET:
        begin = iprot.readListBegin if ttype == TType.LIST else iprot.readSetBegin
        _etype, size = begin()  # the declared element type is read, whatever the wire says
        items = [_read_value(iprot, args[0], args[1]) for _ in range(size)]
        (iprot.readListEnd if ttype == TType.LIST else iprot.readSetEnd)()
        if ttype == TType.LIST:
            return tuple(items) if args[2] else items
        return frozenset(items) if args[2] else set(items)
    if ttype == TType.MAP:
        _ktype, _vtype, size = iprot.readMapBegin()
        result = {}
        for _ in range(size):
            key = _read_value(iprot, args[0], args[1])
            result[key] = _read_value(iprot, args[2], args[3])
        iprot.readMapEnd()
        return TFrozenDict(result) if args[4] else result
    if ttype == _UUID:
        return iprot.readUuid()
    return getattr(iprot, _READERS[ttype])()


def _write_value(oprot: Any, ttype: int, args: Any, value: Any) -> None:
    """One value of type (ttype, args), written as the generated code writes it."""
    if ttype == TType.STRING:
        (oprot.writeBinary if args == "BINARY" else oprot.writeString)(value)
    elif ttype == TType.STRUCT:
        value.write(oprot)
    elif ttype == TType.LIST or ttype == TType.SET:
        (oprot.writeListBegin if ttype == TType.LIST else oprot.writeSetBegin)(args[0], len(value))
        for item in value:
            _write_value(oprot, args[0], args[1], item)
        (oprot.writeListEnd if ttype == TType.LIST else oprot.writeSetEnd)()
    elif ttype == TType.MAP:
        oprot.writeMapBegin(args[0], args[2], len(value))
        for key, item in value.items():
            _write_value(oprot, args[0], args[1], key)
            _write_value(oprot, args[2], args[3], item)
        oprot.writeMapEnd()
    elif ttype == _UUID:
        oprot.writeUuid(value)
    else:
        getattr(oprot, _WRITERS[ttype])(value)


def _read_fields(iprot: Any, by_id: dict[int, FieldSpec], store: Callable[[str, Any], Any]) -> None:
    """The Python read loop: a known field of the declared wire type is stored, others skipped."""
    iprot.readStructBegin()
    while True:
        _fname, ftype, fid = iprot.readFieldBegin()
        if ftype == TType.STOP:
            break
        field = by_id.get(fid)
        if field is not None and field[1] == ftype:
            store(field[2], _read_value(iprot, ftype, field[3]))
        else:
            iprot.skip(ftype)
        iprot.readFieldEnd()
    iprot.readStructEnd()


def attach_struct(
    cls: Any,
    fields: tuple[FieldSpec, ...] | None = None,
    defaults: Callable[[], dict[str, Any]] | None = None,
) -> None:
    """Give a built struct class its ``read`` and ``write``.

    `fields` is needed only when ``thrift_spec`` cannot list them: Apache writes ``()`` for a
    struct with a negative (implicit) field id, so the C codec sees no fields at all there,
    while the Python path still reads and writes every one. `defaults` (immutable structs only)
    makes the fresh default values the Python read starts from.
    """
    if fields is None:
        fields = tuple(f[:4] for f in cls.thrift_spec if f is not None)
    by_id = {f[0]: f for f in fields}
    in_id_order = sorted(fields)
    name = cls.__name__

    def write(self: Any, oprot: Any) -> None:
        if oprot._fast_encode is not None and self.thrift_spec is not None:
            oprot.trans.write(oprot._fast_encode(self, [self.__class__, self.thrift_spec]))
            return
        oprot.writeStructBegin(name)
        for fid, ftype, fname, args in in_id_order:
            value = getattr(self, fname)
            if value is not None:
                oprot.writeFieldBegin(fname, ftype, fid)
                _write_value(oprot, ftype, args, value)
                oprot.writeFieldEnd()
        oprot.writeFieldStop()
        oprot.writeStructEnd()

    if defaults is None:

        def read(self: Any, iprot: Any) -> None:
            if (
                iprot._fast_decode is not None
                and isinstance(iprot.trans, TTransport.CReadableTransport)
                and self.thrift_spec is not None
            ):
                iprot._fast_decode(self, iprot, [self.__class__, self.thrift_spec])
                return
            _read_fields(iprot, by_id, lambda key, value: setattr(self, key, value))

        read.__qualname__ = f"{cls.__qualname__}.read"
        cls.read = read
    else:
        names = [f[2] for f in fields]

        def read_immutable(cls: Any, iprot: Any) -> Any:
            if (
                iprot._fast_decode is not None
                and isinstance(iprot.trans, TTransport.CReadableTransport)
                and cls.thrift_spec is not None
            ):
                # The C codec passes only the fields it saw, so a missing field keeps its
                # default; the Python path below passes every field (a missing one as its
                # default too). Both as Apache's generated code.
                return iprot._fast_decode(None, iprot, [cls, cls.thrift_spec])
            values = dict.fromkeys(names)
            values.update(defaults())
            _read_fields(iprot, by_id, values.__setitem__)
            return cls(**values)

        read_immutable.__name__ = "read"
        read_immutable.__qualname__ = f"{cls.__qualname__}.read"
        cls.read = classmethod(read_immutable)
    write.__qualname__ = f"{cls.__qualname__}.write"
    cls.write = write


def import_star(module_name: str, namespace: dict[str, Any]) -> None:
    """``from <module_name> import *`` into `namespace` (generated modules have no __all__)."""
    import sys

    module = sys.modules[module_name]
    namespace.update((k, v) for k, v in vars(module).items() if not k.startswith("_"))


def struct_repr(self: Any) -> str:
    """``Name(field=value, ...)`` in the order the attributes were set, as generated."""
    shown = ["%s=%r" % (key, value) for key, value in self.__dict__.items()]  # noqa: UP031
    return "%s(%s)" % (self.__class__.__name__, ", ".join(shown))  # noqa: UP031


def struct_eq(self: Any, other: Any) -> bool:
    """Same class (or a subclass) and the same attributes."""
    return isinstance(other, self.__class__) and self.__dict__ == other.__dict__


def struct_ne(self: Any, other: Any) -> bool:
    """Not equal (spelled as generated: through ``__eq__``)."""
    return not (self == other)  # noqa: SIM201


def exception_str(self: Any) -> str:
    """Exceptions print like their repr (Python bug 5882, as Apache works around it)."""
    return repr(self)


def frozen(self: Any, *args: Any) -> None:
    """``__setattr__`` and ``__delattr__`` of an immutable struct or exception."""
    raise TypeError("can't modify immutable instance")


# --- services -----------------------------------------------------------------------------

#: One method: (name, oneway, void, argument names, declared exceptions as (field, class)).
MethodSpec = tuple[str, bool, bool, tuple[str, ...], tuple[tuple[str, Any], ...]]


def on_message_begin(self: Any, func: Any) -> None:
    """Register a callback given (name, type, seqid) of each message read."""
    self._on_message_begin = func


def process(self: Any, iprot: Any, oprot: Any) -> Any:
    """Read one request and answer it (an unknown method gets a TApplicationException)."""
    (name, type, seqid) = iprot.readMessageBegin()
    if self._on_message_begin:
        self._on_message_begin(name, type, seqid)
    if name not in self._processMap:
        iprot.skip(TType.STRUCT)
        iprot.readMessageEnd()
        x = TApplicationException(TApplicationException.UNKNOWN_METHOD, f"Unknown function {name}")
        oprot.writeMessageBegin(name, TMessageType.EXCEPTION, seqid)
        x.write(oprot)
        oprot.writeMessageEnd()
        oprot.trans.flush()
        return None
    self._processMap[name](self, seqid, iprot, oprot)
    return True


def _recv(namespace: dict[str, Any], method: MethodSpec) -> Callable[[Any], Any]:
    """A client's ``recv_<method>``: read the reply, return its success or raise."""
    name, _oneway, void, _arguments, throws = method

    def recv(self: Any) -> Any:
        iprot = self._iprot
        (_fname, mtype, _rseqid) = iprot.readMessageBegin()
        if mtype == TMessageType.EXCEPTION:
            x = TApplicationException()
            x.read(iprot)
            iprot.readMessageEnd()
            raise x
        result = namespace[f"{name}_result"]()
        result.read(iprot)
        iprot.readMessageEnd()
        if not void and result.success is not None:
            return result.success
        for field, _cls in throws:
            if getattr(result, field) is not None:
                raise getattr(result, field)
        if void:
            return None
        raise TApplicationException(
            TApplicationException.MISSING_RESULT, f"{name} failed: unknown result"
        )

    recv.__name__ = f"recv_{name}"
    return recv


def _process(namespace: dict[str, Any], method: MethodSpec) -> Callable[..., None]:
    """A processor's ``process_<method>``: call the handler, write its reply."""
    name, oneway, void, arguments, throws = method

    def process_method(self: Any, seqid: int, iprot: Any, oprot: Any) -> None:
        args = namespace[f"{name}_args"]()
        args.read(iprot)
        iprot.readMessageEnd()
        handler = self._handler
        if oneway:
            try:
                getattr(handler, name)(*[getattr(args, a) for a in arguments])
            except TTransport.TTransportException:
                raise
            except Exception:
                logging.exception("Exception in oneway handler")
            return
        result: Any = namespace[f"{name}_result"]()
        try:
            success = getattr(handler, name)(*[getattr(args, a) for a in arguments])
            if not void:
                result.success = success
            msg_type = TMessageType.REPLY
        except TTransport.TTransportException:
            raise
        except Exception as exc:
            declared = [field for field, cls in throws if isinstance(exc, cls)]
            if declared:
                msg_type = TMessageType.REPLY
                setattr(result, declared[0], exc)
            elif isinstance(exc, TApplicationException):
                logging.exception("TApplication exception in handler")
                msg_type = TMessageType.EXCEPTION
                result = exc
            else:
                logging.exception("Unexpected exception in handler")
                msg_type = TMessageType.EXCEPTION
                result = TApplicationException(
                    TApplicationException.INTERNAL_ERROR, "Internal error"
                )
        oprot.writeMessageBegin(name, msg_type, seqid)
        result.write(oprot)
        oprot.writeMessageEnd()
        oprot.trans.flush()

    process_method.__name__ = f"process_{name}"
    return process_method


def attach_service(
    client: Any, processor: Any, namespace: dict[str, Any], methods: tuple[MethodSpec, ...]
) -> None:
    """Give a built service its clients' ``recv_*`` and its processor's ``process_*``."""
    for method in methods:
        if not method[1]:  # oneway methods have no reply to receive
            recv = _recv(namespace, method)
            recv.__qualname__ = f"Client.{recv.__name__}"
            setattr(client, recv.__name__, recv)
        handle = _process(namespace, method)
        handle.__qualname__ = f"Processor.{handle.__name__}"
        setattr(processor, handle.__name__, handle)
