"""OData answer helpers: `$select` and `@odata.context`, checked against Graph's schema."""

from __future__ import annotations

from typing import Any

from devtools.graph_emulator import errors
from devtools.graph_emulator.schema import load_schema


def selected(entity: dict[str, Any], select: list[str] | None, type_name: str) -> dict[str, Any]:
    """The entity with only the `$select`ed properties (`id` always stays, as in Graph)."""
    if not select:
        return entity
    schema = load_schema()
    known = schema.property_names(type_name)
    qualified = schema.qualified(type_name)
    for name in select:
        if name not in known:
            raise errors.unknown_select_property(name, qualified)
    keep = set(select) | {"id"}
    return {k: v for k, v in entity.items() if k in keep or k.startswith("@")}


def context(graph_base_url: str, entity_set: str, select: list[str] | None) -> str:
    shape = f"{entity_set}({','.join(select)})" if select else entity_set
    return f"{graph_base_url}/$metadata#{shape}/$entity"
