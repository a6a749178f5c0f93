"""Calls a user function with its trigger value and collects what its output bindings received."""

from __future__ import annotations

import asyncio
import inspect
from dataclasses import dataclass, field
from typing import Any

import azure.functions as func

from devtools.localhost.catalog import FunctionEntry


class _Out(func.Out[Any]):
    def __init__(self) -> None:
        self._value: Any = None

    def set(self, val: Any) -> None:
        self._value = val

    def get(self) -> Any:
        return self._value


@dataclass
class Invocation:
    result: Any = None
    queue_messages: dict[str, list[str]] = field(default_factory=dict)


def invoke(entry: FunctionEntry, trigger_value: Any) -> Invocation:
    outs = {out.arg_name: _Out() for out in entry.queue_outputs}
    result = entry.user_function(**{entry.trigger_arg: trigger_value}, **outs)
    if inspect.isawaitable(result):
        result = asyncio.run(_await(result))
    invocation = Invocation(result=result)
    for out in entry.queue_outputs:
        messages = _as_messages(outs[out.arg_name].get())
        if messages:
            invocation.queue_messages.setdefault(out.queue_name, []).extend(messages)
    return invocation


async def _await(awaitable: Any) -> Any:
    return await awaitable


def _as_messages(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [m for item in value for m in _as_messages(item)]
    if isinstance(value, bytes):
        return [value.decode("utf-8")]
    if isinstance(value, str):
        return [value]
    raise TypeError(
        f"queue output must be str, bytes or a list of them, got {type(value).__name__}"
    )
