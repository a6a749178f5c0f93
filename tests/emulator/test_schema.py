"""Request bodies checked against Graph's real v1.0 schema, as Graph's OData reader checks them."""

from pathlib import Path

import pytest

from devtools.graph_emulator.errors import GraphError
from devtools.graph_emulator.schema import DEFAULT_METADATA, GraphSchema, load_schema, validate_body

pytestmark = pytest.mark.integration


def valid_event() -> dict:
    return {
        "@odata.type": "#microsoft.graph.event",
        "subject": "1:1 Adele / Alex",
        "body": {"contentType": "html", "content": "<p>Agenda</p>"},
        "start": {"dateTime": "2025-03-10T09:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2025-03-10T09:30:00", "timeZone": "UTC"},
        "location": {"displayName": "Room 1", "locationType": "conferenceRoom"},
        "attendees": [
            {
                "emailAddress": {"address": "alex.wilber@contoso.com", "name": "Alex"},
                "type": "required",
            },
            {"emailAddress": {"address": "nestor.wilke@northwind.example"}, "type": "optional"},
        ],
        "isOnlineMeeting": True,
        "onlineMeetingProvider": "teamsForBusiness",
        "allowNewTimeProposals": False,
        "transactionId": "conversation-42",
        "recurrence": {
            "pattern": {
                "type": "weekly",
                "interval": 2,
                "daysOfWeek": ["monday", "thursday"],
                "firstDayOfWeek": "monday",
            },
            "range": {
                "type": "endDate",
                "startDate": "2025-03-10",
                "endDate": "2025-06-30",
                "recurrenceTimeZone": "UTC",
            },
        },
        "categories": ["Conversations"],
        "showAs": "busy",
        "reminderMinutesBeforeStart": 15,
        "singleValueExtendedProperties": [
            {"id": "String {00020329-0000-0000-C000-000000000046} Name app", "value": "x"}
        ],
    }


def message_of(excinfo: pytest.ExceptionInfo[GraphError]) -> str:
    error = excinfo.value
    assert (error.status, error.code) == (400, "RequestBodyRead")
    return error.message


def test_a_complete_event_body_passes():
    validate_body("event", valid_event())
    validate_body("microsoft.graph.event", {"subject": "minimal"})


def test_an_unknown_property_is_refused_even_though_outlook_items_are_open_in_the_csdl():
    with pytest.raises(GraphError) as excinfo:
        validate_body("event", {**valid_event(), "conversationId": "c-1"})

    assert message_of(excinfo) == (
        "The property 'conversationId' does not exist on type 'microsoft.graph.event'. Make sure "
        "to only use property names that are defined by the type or mark the type as open type."
    )


def test_unknown_properties_are_found_inside_nested_complex_types():
    event = valid_event()
    event["attendees"][1]["emailAddress"]["displayName"] = "Nestor"

    with pytest.raises(GraphError) as excinfo:
        validate_body("event", event)

    assert "'displayName' does not exist on type 'microsoft.graph.emailAddress'" in message_of(
        excinfo
    )


def test_a_bad_enum_literal_names_the_enum_type():
    with pytest.raises(GraphError) as excinfo:
        validate_body("event", {**valid_event(), "onlineMeetingProvider": "zoom"})

    assert message_of(excinfo) == (
        "Cannot convert the literal 'zoom' to the expected type "
        "'microsoft.graph.onlineMeetingProviderType'."
    )


def test_enum_literals_inside_collections_of_nested_types_are_checked():
    event = valid_event()
    event["recurrence"]["pattern"]["daysOfWeek"] = ["monday", "Funday"]

    with pytest.raises(GraphError) as excinfo:
        validate_body("event", event)

    assert "'Funday' to the expected type 'microsoft.graph.dayOfWeek'" in message_of(excinfo)


def test_an_object_where_a_collection_belongs_is_refused():
    with pytest.raises(GraphError) as excinfo:
        validate_body("event", {"attendees": {"emailAddress": {"address": "a@contoso.com"}}})

    assert message_of(excinfo) == (
        "An unexpected 'StartObject' node was found when reading from the JSON reader. "
        "A 'StartArray' node was expected."
    )


def test_null_is_refused_where_the_schema_says_not_nullable():
    event = valid_event()
    event["recurrence"]["pattern"]["interval"] = None

    with pytest.raises(GraphError) as excinfo:
        validate_body("event", event)

    assert message_of(excinfo).startswith(
        "A null value was found for the property named 'interval', which has the expected type "
        "'Edm.Int32[Nullable=False]'."
    )


@pytest.mark.parametrize(
    ("patch", "expected"),
    [
        ({"isOnlineMeeting": "yes"}, "'Edm.Boolean'"),
        ({"reminderMinutesBeforeStart": 1.5}, "'Edm.Int32'"),
        ({"subject": 7}, "'Edm.String'"),
        ({"start": "2025-03-10T09:00:00"}, "A 'StartObject' node was expected."),
    ],
)
def test_primitive_values_must_convert_to_the_declared_type(patch, expected):
    with pytest.raises(GraphError) as excinfo:
        validate_body("event", {**valid_event(), **patch})

    assert expected in message_of(excinfo)


def test_date_time_time_zone_takes_exactly_its_two_properties():
    validate_body(
        "dateTimeTimeZone",
        {"dateTime": "2025-03-10T09:00:00.0000000", "timeZone": "Pacific Standard Time"},
    )

    with pytest.raises(GraphError):
        validate_body("dateTimeTimeZone", {"dateTime": "2025-03-10T09:00:00", "zone": "UTC"})


def test_a_subscription_body_passes_and_its_timestamps_must_parse():
    subscription = {
        "changeType": "created,updated,deleted",
        "notificationUrl": "https://example.test/api/graph/notifications",
        "lifecycleNotificationUrl": "https://example.test/api/graph/lifecycle",
        "resource": "me/events",
        "expirationDateTime": "2025-03-12T18:23:45.9356913Z",
        "clientState": "secret-client-state",
        "latestSupportedTlsVersion": "v1_2",
    }
    validate_body("subscription", subscription)

    with pytest.raises(GraphError) as excinfo:
        validate_body("subscription", {**subscription, "expirationDateTime": "next tuesday"})

    assert message_of(excinfo) == (
        "Cannot convert the literal 'next tuesday' to the expected type 'Edm.DateTimeOffset'."
    )


def test_annotations_are_not_properties():
    validate_body(
        "event",
        {"subject": "x", "@odata.etag": 'W/"abc"', "subject@odata.annotation": "anything"},
    )


def test_odata_type_selects_a_derived_type_and_must_exist_and_fit():
    attachment = {
        "@odata.type": "#microsoft.graph.fileAttachment",
        "name": "a.txt",
        "contentBytes": "aGVsbG8=",
    }
    validate_body("event", {"attachments": [attachment]})

    with pytest.raises(GraphError) as unknown:
        validate_body("event", {"attachments": [{**attachment, "@odata.type": "#graph.nope"}]})
    with pytest.raises(GraphError) as unrelated:
        validate_body("event", {"location": {"@odata.type": "#microsoft.graph.attendee"}})

    assert "could not be resolved by the model" in message_of(unknown)
    assert "is not assignable to the expected type 'microsoft.graph.location'" in message_of(
        unrelated
    )


def test_open_types_outside_outlook_take_dynamic_properties():
    validate_body("user", {"displayName": "Adele", "extension_abc_costCentre": "42"})


def test_the_schema_knows_event_inherits_from_outlook_item_and_entity():
    schema = load_schema()

    assert schema.lineage("event") == [
        "microsoft.graph.event",
        "microsoft.graph.outlookItem",
        "microsoft.graph.entity",
    ]
    assert {"id", "changeKey", "subject"} <= schema.property_names("event")


def test_an_unknown_type_name_is_a_programming_error():
    with pytest.raises(KeyError):
        validate_body("noSuchType", {})


def test_the_metadata_path_can_be_overridden(tmp_path, monkeypatch):
    tiny = tmp_path / "tiny.xml"
    tiny.write_text(
        '<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">'
        "<edmx:DataServices>"
        '<Schema Namespace="microsoft.graph" Alias="graph" '
        'xmlns="http://docs.oasis-open.org/odata/ns/edm">'
        '<ComplexType Name="widget"><Property Name="size" Type="Edm.Int32" /></ComplexType>'
        "</Schema></edmx:DataServices></edmx:Edmx>"
    )
    monkeypatch.setenv("GRAPH_METADATA_PATH", str(tiny))

    validate_body("widget", {"size": 3})
    with pytest.raises(GraphError):
        validate_body("widget", {"colour": "red"})
    assert isinstance(load_schema(), GraphSchema)


def test_the_schema_ships_inside_the_repository():
    """A clone alone must run the emulator: the default metadata lives in the project's tree."""
    project = Path(__file__).resolve().parents[2]
    assert DEFAULT_METADATA.is_relative_to(project)
    assert DEFAULT_METADATA.exists()
    schema = GraphSchema.parse(DEFAULT_METADATA)
    schema.validate("event", {"subject": "x"})
