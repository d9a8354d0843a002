"""The source of one service module: ``Iface``, ``Client``, ``Processor``, method structs.

As Apache 0.17 writes them: ``Client.<method>`` and ``send_<method>`` with the method's own
parameters (so signatures match the generated ones), ``recv_*`` and ``process_*`` from
`_runtime.py`, ``<method>_args`` and ``<method>_result`` like any struct.
"""

from __future__ import annotations

from . import _model as m
from ._resolve import Program, type_info
from ._source import ModuleSource, emit_structs

__all__ = ["helper_structs", "service_source"]


def service_source(
    program: Program, service: m.Service, name: str, packages: dict[str, str], base: str | None
) -> str:
    """One service module: ``Iface``, ``Client``, ``Processor`` and each method's structs.

    `base` is the module name of the service it extends.
    """
    out = ModuleSource(program, name, packages)
    lines = out.lines
    lines += [
        "import logging",
        "from thrift.Thrift import TProcessor",
        "from thrift_bridge._idl._runtime import attach_service as _tb_attach_service, "
        "on_message_begin as _tb_on_message_begin, process as _tb_process",
        f"_tb_import_star({packages[program.path] + '.ttypes'!r}, globals())",
    ]
    parent = ""
    if base is not None:
        lines.append(f"_tb_extends = sys.modules[{base!r}]")
        parent = "_tb_extends."
    lines.append(f"class Iface({parent + 'Iface' if parent else 'object'}):")
    lines.append("    pass")
    for function in service.functions:
        lines.append(f"    def {_signature(function)}:")
        lines.append("        pass")
    lines.append(f"class Client({parent + 'Client, ' if parent else ''}Iface):")
    lines.append("    def __init__(self, iprot, oprot=None):")
    if parent:
        lines.append("        _tb_extends.Client.__init__(self, iprot, oprot)")
    else:
        lines += [
            "        self._iprot = self._oprot = iprot",
            "        if oprot is not None:",
            "            self._oprot = oprot",
            "        self._seqid = 0",
        ]
    structs: list[m.Struct] = []
    methods: list[str] = []
    for function in service.functions:
        _client_methods(lines, function)
        structs += helper_structs(function)
        throws = "".join(f"({t.name!r}, {_class_of(out, t)}), " for t in function.throws)
        arguments = "".join(f"{a.name!r}, " for a in function.arguments)
        methods.append(
            f"({function.name!r}, {function.oneway}, {function.return_type is None}, "
            f"({arguments}), ({throws})), "
        )
    lines.append(
        f"class Processor({'_tb_extends.Processor, ' if parent else ''}Iface, TProcessor):"
    )
    lines.append("    def __init__(self, handler):")
    if parent:
        lines.append("        _tb_extends.Processor.__init__(self, handler)")
    else:
        lines += ["        self._handler = handler", "        self._processMap = {}"]
    lines += [
        f"        self._processMap[{f.name!r}] = Processor.process_{f.name}"
        for f in service.functions
    ]
    lines.append("        self._on_message_begin = None")
    lines += ["    on_message_begin = _tb_on_message_begin", "    process = _tb_process"]
    emit_structs(out, structs)
    lines.append(f"_tb_attach_service(Client, Processor, globals(), ({''.join(methods)}))")
    return out.source()


def _client_methods(lines: list[str], function: m.Function) -> None:
    """A client's ``<method>`` and ``send_<method>``, as generated (``recv_*`` is shared)."""
    arguments = ", ".join(a.name for a in function.arguments)
    lines.append(f"    def {_signature(function)}:")
    lines.append(f"        self.send_{function.name}({arguments})")
    if not function.oneway:
        returns = "" if function.return_type is None else "return "
        lines.append(f"        {returns}self.recv_{function.name}()")
    kind = "ONEWAY" if function.oneway else "CALL"
    lines.append(f"    def send_{_signature(function)}:")
    lines.append(
        f"        self._oprot.writeMessageBegin({function.name!r}, TMessageType.{kind}, "
        "self._seqid)"
    )
    lines.append(f"        args = {function.name}_args()")
    lines += [f"        args.{a.name} = {a.name}" for a in function.arguments]
    lines += [
        "        args.write(self._oprot)",
        "        self._oprot.writeMessageEnd()",
        "        self._oprot.trans.flush()",
    ]


def helper_structs(function: m.Function) -> list[m.Struct]:
    """``<method>_args`` and (unless oneway) ``<method>_result``, as Apache defines them."""
    line, column = function.line, function.column
    structs = [
        m.Struct(
            line, column, kind="struct", name=f"{function.name}_args", fields=function.arguments
        )
    ]
    if not function.oneway:
        success = (
            ()
            if function.return_type is None
            else (m.Field(line, column, id=0, name="success", type=function.return_type),)
        )
        structs.append(
            m.Struct(
                line,
                column,
                kind="struct",
                name=f"{function.name}_result",
                fields=(*success, *function.throws),
            )
        )
    return structs


def _signature(function: m.Function) -> str:
    """``name(self, a, b)``."""
    return f"{function.name}({', '.join(['self', *(a.name for a in function.arguments)])})"


def _class_of(out: ModuleSource, field: m.Field) -> str:
    """How the service module names the exception class of a ``throws`` entry."""
    info = type_info(out.program, field.type)
    assert info.program is not None
    assert info.definition is not None
    return out.class_name(info.program, info.definition.name)
