"""Views of the test project: they call Thrift through request.thrift."""

import asyncio

from django.http import HttpResponse

from thrift_bridge.adapters.django import aclients, clients


def add(request, a, b):
    return HttpResponse(str(request.thrift.calc.add(a, b)))


def pinned(request, a):
    session = request.thrift.calc.connection()
    first = session.add(a, 1)
    second = session.add(a, 2)
    in_use = clients["calc"].stats()["in_use"]
    return HttpResponse(f"{first} {second} in_use={in_use}")


def pinned_then_fail(request):
    request.thrift.calc.connection().add(1, 1)
    raise RuntimeError("view failed after pinning")


def plain(request):
    return HttpResponse("no thrift here")


def missing_alias(request):
    try:
        request.thrift.nope.add(1, 2)
    except AttributeError as exc:
        return HttpResponse(str(exc))
    return HttpResponse("unexpected")


async def aadd(request, a, b):
    total = await request.thrift.calc.add(a, b)
    same = await aclients["calc"].add(a, b)
    return HttpResponse(f"{total} {same} {type(request.thrift.calc._client).__name__}")


def kind(request):
    return HttpResponse(type(request.thrift.calc._client).__name__)


async def apinned(request, a):
    async with request.thrift.calc.connection() as session:
        first = await session.add(a, 1)
        second = await session.add(a, 2)
        in_use = aclients["calc"].stats()["in_use"]
    return HttpResponse(f"{first} {second} in_use={in_use}")


async def apinned_then_fail(request):
    session = request.thrift.calc.connection()
    await session.__aenter__()  # never exited: the middleware gives it back
    await session.add(1, 1)
    raise RuntimeError("async view failed after pinning")


async def amissing_alias(request):
    try:
        await request.thrift.nope.add(1, 2)
    except AttributeError as exc:
        return HttpResponse(str(exc))
    return HttpResponse("unexpected")


#: Calls of `aslow` cancelled (by Django's ASGI handler, when the client disconnected).
CANCELLED: list[str] = []


async def aslow(request, value):
    try:
        return HttpResponse(await request.thrift.alltypes.slow_echo(value, 0.0))
    except asyncio.CancelledError:
        CANCELLED.append(value)
        raise
