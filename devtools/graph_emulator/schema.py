"""Graph's own schema (the v1.0 CSDL) and request-body validation against it.

The metadata ships with the emulator, xz-compressed (metadata/README.md: its source, and how to
refresh it). It is big (3.5 MB of XML), so it is parsed on first use and cached per path. Bodies
are checked the way Graph's OData reader does: unknown properties, wrong JSON node kinds,
primitive values that do not convert, enum literals that are not members, nulls where the type
forbids them, recursively through complex types, collections and navigation properties (deep
insert). Keys containing '@' are annotations (`@odata.type`, `x@odata.bind`), not properties.
"""

from __future__ import annotations

import base64
import binascii
import lzma
import os
import re
import threading
import uuid
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from typing import IO, Any

from devtools.graph_emulator.errors import GraphError, request_body_read

METADATA_ENV = "GRAPH_METADATA_PATH"
DEFAULT_METADATA = Path(__file__).resolve().parent / "metadata" / "v1.0-metadata.xml.xz"
GRAPH_NAMESPACE = "microsoft.graph"
# Outlook's items are declared open in the metadata, yet Exchange refuses properties it does not
# define; bodies for these are checked as closed types.
OUTLOOK_ITEM = "microsoft.graph.outlookItem"

_EDM = "{http://docs.oasis-open.org/odata/ns/edm}"
_INTEGER_RANGES = {
    "Edm.Byte": (0, 255),
    "Edm.SByte": (-128, 127),
    "Edm.Int16": (-(2**15), 2**15 - 1),
    "Edm.Int32": (-(2**31), 2**31 - 1),
    "Edm.Int64": (-(2**63), 2**63 - 1),
}
_FLOATS = {"Edm.Double", "Edm.Single", "Edm.Decimal"}
_DATE_TIME_OFFSET = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,12})?)?(Z|[+-]\d{2}:\d{2})?$"
)
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_TIME_OF_DAY = re.compile(r"^(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,12})?)?$")
_DURATION = re.compile(r"^-?P(?=\d|T\d)(?:\d+D)?(?:T(?=\d)(?:\d+H)?(?:\d+M)?(?:\d+(?:\.\d+)?S)?)?$")


@dataclass(frozen=True)
class TypeRef:
    name: str  # qualified, e.g. Edm.String or microsoft.graph.attendee
    collection: bool
    nullable: bool

    def describe(self) -> str:
        return f"Collection({self.name})" if self.collection else self.name


@dataclass
class StructuredType:
    name: str  # qualified
    kind: str  # "entity" | "complex"
    base: str | None
    abstract: bool
    open: bool
    properties: dict[str, TypeRef] = field(default_factory=dict)
    navigation: dict[str, TypeRef] = field(default_factory=dict)


@dataclass(frozen=True)
class EnumType:
    name: str
    members: frozenset[str]
    flags: bool


class GraphSchema:
    def __init__(self, structured: dict[str, StructuredType], enums: dict[str, EnumType]) -> None:
        self._structured = structured
        self._enums = enums
        self._members_cache: dict[str, dict[str, TypeRef]] = {}
        self._cache_lock = threading.Lock()

    @classmethod
    def parse(cls, path: Path) -> GraphSchema:
        return cls(*_parse_csdl(path))

    # --- the model ------------------------------------------------------------------------

    def qualified(self, type_name: str) -> str:
        """`event`, `graph.event`, `#microsoft.graph.event` -> `microsoft.graph.event`."""
        name = type_name.lstrip("#")
        if name in self._structured or name in self._enums:
            return name
        if name.startswith("graph."):
            name = GRAPH_NAMESPACE + name[len("graph") :]
        elif "." not in name:
            name = f"{GRAPH_NAMESPACE}.{name}"
        return name

    def structured_type(self, type_name: str) -> StructuredType | None:
        return self._structured.get(self.qualified(type_name))

    def enum_type(self, type_name: str) -> EnumType | None:
        return self._enums.get(self.qualified(type_name))

    def lineage(self, type_name: str) -> list[str]:
        """The type and its base types, most derived first."""
        chain: list[str] = []
        current: str | None = self.qualified(type_name)
        while current and current in self._structured and current not in chain:
            chain.append(current)
            current = self._structured[current].base
        return chain

    def members(self, type_name: str) -> dict[str, TypeRef]:
        """Structural and navigation properties, inherited ones included."""
        qualified = self.qualified(type_name)
        with self._cache_lock:
            cached = self._members_cache.get(qualified)
        if cached is not None:
            return cached
        merged: dict[str, TypeRef] = {}
        for name in reversed(self.lineage(qualified)):
            declared = self._structured[name]
            merged.update(declared.properties)
            merged.update(declared.navigation)
        with self._cache_lock:
            self._members_cache[qualified] = merged
        return merged

    def property_names(self, type_name: str) -> set[str]:
        return set(self.members(type_name))

    def is_closed(self, type_name: str) -> bool:
        lineage = self.lineage(type_name)
        if OUTLOOK_ITEM in lineage:
            return True
        return not any(self._structured[name].open for name in lineage)

    # --- validation ---------------------------------------------------------------------------

    def validate(self, type_name: str, body: Any) -> None:
        """Raise a Graph-shaped 400 (`RequestBodyRead`) if Graph would refuse this body."""
        declared = self.structured_type(type_name)
        if declared is None:
            raise KeyError(f"no structured type {type_name!r} in the Graph schema")
        self._check_value(TypeRef(declared.name, collection=False, nullable=False), body, None)

    def _check_value(self, expected: TypeRef, value: Any, property_name: str | None) -> None:
        if value is None:
            if expected.collection or not expected.nullable:
                raise _null_not_allowed(expected, property_name)
            return
        if not expected.collection:
            self._check_item(expected.name, value)
            return
        if not isinstance(value, list):
            raise _unexpected_node(value, "StartArray")
        for item in value:
            if item is None:
                if not expected.nullable:
                    raise _null_not_allowed(
                        TypeRef(expected.name, collection=False, nullable=False), None
                    )
                continue
            self._check_item(expected.name, item)

    def _check_item(self, type_name: str, value: Any) -> None:
        if type_name.startswith("Edm."):
            _check_primitive(type_name, value)
        elif type_name in self._enums:
            self._check_enum(self._enums[type_name], value)
        elif type_name in self._structured:
            self._check_object(type_name, value)
        # Anything else (types outside the parsed schemas) is accepted as is.

    def _check_enum(self, enum: EnumType, value: Any) -> None:
        if not isinstance(value, str):
            raise (
                _unexpected_node(value, "PrimitiveValue")
                if isinstance(value, dict | list)
                else _cannot_convert_primitive(enum.name)
            )
        literals = [part.strip() for part in value.split(",")] if enum.flags else [value]
        if not all(literal in enum.members for literal in literals):
            raise request_body_read(
                f"Cannot convert the literal '{value}' to the expected type '{enum.name}'."
            )

    def _check_object(self, expected: str, value: Any) -> None:
        if not isinstance(value, dict):
            raise _unexpected_node(value, "StartObject")
        actual = expected
        annotated = value.get("@odata.type")
        if annotated is not None:
            actual = self.qualified(str(annotated))
            if actual not in self._structured:
                raise request_body_read(
                    f"A type named '{str(annotated).lstrip('#')}' could not be resolved by the "
                    "model. When a model is available, each type name must resolve to a valid "
                    "type."
                )
            if expected not in self.lineage(actual):
                raise request_body_read(
                    f"A resource with type '{actual}' was found, but it is not assignable to the "
                    f"expected type '{expected}'. The type specified in the resource must be "
                    "equal to either the expected type or a derived type."
                )
        members = self.members(actual)
        closed = self.is_closed(actual)
        for key, item in value.items():
            if "@" in key:
                continue  # an instance or property annotation, not a property
            member = members.get(key)
            if member is None:
                if closed:
                    raise request_body_read(
                        f"The property '{key}' does not exist on type '{actual}'. Make sure to "
                        "only use property names that are defined by the type or mark the type "
                        "as open type."
                    )
                continue  # a dynamic property of an open type
            self._check_value(member, item, key)


# --- primitive values -------------------------------------------------------------------------


def _check_primitive(type_name: str, value: Any) -> None:
    if isinstance(value, dict | list):
        raise _unexpected_node(value, "PrimitiveValue")
    if type_name == "Edm.String":
        if not isinstance(value, str):
            raise _cannot_convert_primitive(type_name)
    elif type_name == "Edm.Boolean":
        if not isinstance(value, bool):
            raise _cannot_convert_primitive(type_name)
    elif type_name in _INTEGER_RANGES:
        low, high = _INTEGER_RANGES[type_name]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise _cannot_convert_primitive(type_name)
    elif type_name in _FLOATS:
        special = isinstance(value, str) and value in ("NaN", "INF", "-INF")
        if not special and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise _cannot_convert_primitive(type_name)
    elif type_name in _LITERAL_CHECKS:
        if not isinstance(value, str):
            raise _cannot_convert_primitive(type_name)
        if not _LITERAL_CHECKS[type_name](value):
            raise request_body_read(
                f"Cannot convert the literal '{value}' to the expected type '{type_name}'."
            )
    # Edm.Untyped, Edm.Stream and the geography types take any JSON value.


def _is_date_time_offset(text: str) -> bool:
    match = _DATE_TIME_OFFSET.match(text)
    if not match:
        return False
    year, month, day, hour, minute, second = (int(g or 0) for g in match.groups()[:6])
    return _valid_date(year, month, day) and _valid_time(hour, minute, second)


def _is_date(text: str) -> bool:
    match = _DATE.match(text)
    return bool(match) and _valid_date(*(int(g) for g in match.groups()))


def _is_time_of_day(text: str) -> bool:
    match = _TIME_OF_DAY.match(text)
    return bool(match) and _valid_time(*(int(g or 0) for g in match.groups()))


def _is_guid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _is_base64(text: str) -> bool:
    try:
        base64.b64decode(text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return False
    return True


def _valid_date(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _valid_time(hour: int, minute: int, second: int) -> bool:
    try:
        time(hour, minute, second)
    except ValueError:
        return False
    return True


_LITERAL_CHECKS = {
    "Edm.DateTimeOffset": _is_date_time_offset,
    "Edm.Date": _is_date,
    "Edm.TimeOfDay": _is_time_of_day,
    "Edm.Duration": lambda text: bool(_DURATION.match(text)),
    "Edm.Guid": _is_guid,
    "Edm.Binary": _is_base64,
}


def _node_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "StartObject"
    if isinstance(value, list):
        return "StartArray"
    return "PrimitiveValue"


def _unexpected_node(value: Any, expected_node: str) -> GraphError:
    return request_body_read(
        f"An unexpected '{_node_kind(value)}' node was found when reading from the JSON reader. "
        f"A '{expected_node}' node was expected."
    )


def _cannot_convert_primitive(type_name: str) -> GraphError:
    return request_body_read(
        f"Cannot convert a primitive value to the expected type '{type_name}'. See the inner "
        "exception for more details."
    )


def _null_not_allowed(expected: TypeRef, property_name: str | None) -> GraphError:
    described = f"{expected.describe()}[Nullable=False]"
    if property_name is None:
        return request_body_read(
            f"A null value was found with the expected type '{described}'. The expected type "
            f"'{described}' does not allow null values."
        )
    return request_body_read(
        f"A null value was found for the property named '{property_name}', which has the "
        f"expected type '{described}'. The expected type '{described}' does not allow null "
        "values."
    )


# --- parsing the CSDL -------------------------------------------------------------------------


def _parse_csdl(path: Path) -> tuple[dict[str, StructuredType], dict[str, EnumType]]:
    with lzma.open(path) if path.suffix == ".xz" else path.open("rb") as source:
        return _parse_csdl_stream(source)


def _parse_csdl_stream(source: IO[bytes]) -> tuple[dict[str, StructuredType], dict[str, EnumType]]:
    structured: dict[str, StructuredType] = {}
    enums: dict[str, EnumType] = {}
    aliases: dict[str, str] = {}
    namespace = ""
    current: StructuredType | None = None
    enum_name: str | None = None
    enum_flags = False
    enum_members: list[str] = []
    pending: list[tuple[StructuredType, str, str, str, bool]] = []  # resolved once aliases known

    # The metadata is a local file shipped with the project, not untrusted input.
    for event, element in ElementTree.iterparse(source, events=("start", "end")):  # noqa: S314
        tag = element.tag.removeprefix(_EDM)
        if event == "start":
            if tag == "Schema":
                namespace = element.attrib["Namespace"]
                if "Alias" in element.attrib:
                    aliases[element.attrib["Alias"]] = namespace
            elif tag in ("EntityType", "ComplexType"):
                current = StructuredType(
                    name=f"{namespace}.{element.attrib['Name']}",
                    kind="entity" if tag == "EntityType" else "complex",
                    base=element.attrib.get("BaseType"),
                    abstract=element.attrib.get("Abstract") == "true",
                    open=element.attrib.get("OpenType") == "true",
                )
                structured[current.name] = current
            elif tag == "EnumType":
                enum_name = f"{namespace}.{element.attrib['Name']}"
                enum_flags = element.attrib.get("IsFlags") == "true"
                enum_members = []
            elif tag == "Member" and enum_name is not None:
                enum_members.append(element.attrib["Name"])
            elif tag in ("Property", "NavigationProperty") and current is not None:
                pending.append(
                    (
                        current,
                        "properties" if tag == "Property" else "navigation",
                        element.attrib["Name"],
                        element.attrib["Type"],
                        element.attrib.get("Nullable") != "false",
                    )
                )
        else:
            if tag in ("EntityType", "ComplexType"):
                current = None
            elif tag == "EnumType" and enum_name is not None:
                enums[enum_name] = EnumType(enum_name, frozenset(enum_members), enum_flags)
                enum_name = None
            if tag in (
                "EntityType",
                "ComplexType",
                "EnumType",
                "Annotations",
                "Function",
                "Action",
                "EntityContainer",
                "Term",
            ):
                element.clear()  # read: free it, the file is big

    def resolve(name: str) -> str:
        prefix, _, rest = name.partition(".")
        return f"{aliases[prefix]}.{rest}" if prefix in aliases else name

    for declared in structured.values():
        if declared.base:
            declared.base = resolve(declared.base)
    for owner, kind, name, raw_type, nullable in pending:
        collection = raw_type.startswith("Collection(")
        element_type = raw_type[len("Collection(") : -1] if collection else raw_type
        getattr(owner, kind)[name] = TypeRef(resolve(element_type), collection, nullable)
    return structured, enums


_loaded: dict[Path, GraphSchema] = {}
_load_lock = threading.Lock()


def metadata_path() -> Path:
    configured = os.environ.get(METADATA_ENV)
    return Path(configured) if configured else DEFAULT_METADATA


def load_schema(path: Path | None = None) -> GraphSchema:
    """The parsed schema, parsed once per process and path (thread-safe)."""
    source = (path or metadata_path()).resolve()
    with _load_lock:
        if source not in _loaded:
            if not source.exists():
                raise FileNotFoundError(
                    f"Graph metadata not found at {source}; set {METADATA_ENV} to its path"
                )
            _loaded[source] = GraphSchema.parse(source)
        return _loaded[source]


def validate_body(type_name: str, body: Any) -> None:
    """Raise GraphError 400 RequestBodyRead when Graph would refuse `body` for `type_name`."""
    load_schema().validate(type_name, body)
