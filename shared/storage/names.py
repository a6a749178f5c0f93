"""Every table and queue the app uses: created up front by infra/ and by the local stack."""

from typing import Final

# Tables (Azure Table names: alphanumeric, 3-63 characters, starting with a letter).
ORG_SETTINGS_TABLE: Final = "orgsettings"
CONNECTIONS_TABLE: Final = "connections"
ACCOUNT_LINKS_TABLE: Final = "accountlinks"
AUTH_STATES_TABLE: Final = "authstates"
CONVERSATIONS_TABLE: Final = "conversations"
CONVERSATION_INDEX_TABLE: Final = "conversationindex"
IDEMPOTENCY_TABLE: Final = "idempotency"
CONVERSATION_RECORDS_TABLE: Final = "conversationrecords"
SUBSCRIPTIONS_TABLE: Final = "subscriptions"
EVENT_INDEX_TABLE: Final = "eventindex"
MAILBOX_SYNC_TABLE: Final = "mailboxsync"
SCHEDULE_TABLE: Final = "schedule"  # due-time ordered work of the maintenance timer
CHANGES_TABLE: Final = "changes"
PEOPLE_TABLE: Final = "people"  # what the app knows of each host-app user (shared/directory.py)

TABLES: Final[tuple[str, ...]] = (
    ORG_SETTINGS_TABLE,
    CONNECTIONS_TABLE,
    ACCOUNT_LINKS_TABLE,
    AUTH_STATES_TABLE,
    CONVERSATIONS_TABLE,
    CONVERSATION_INDEX_TABLE,
    IDEMPOTENCY_TABLE,
    CONVERSATION_RECORDS_TABLE,
    SUBSCRIPTIONS_TABLE,
    EVENT_INDEX_TABLE,
    MAILBOX_SYNC_TABLE,
    SCHEDULE_TABLE,
    CHANGES_TABLE,
    PEOPLE_TABLE,
)

# Queues (lowercase letters, digits and single dashes, 3-63 characters). The Functions host adds
# "<name>-poison" for messages that failed maxDequeueCount times.
GRAPH_NOTIFICATIONS_QUEUE: Final = "graph-notifications"
GRAPH_NOTIFICATIONS_POISON_QUEUE: Final = GRAPH_NOTIFICATIONS_QUEUE + "-poison"

# One small, idempotent item of the maintenance timer's work per message (shared/sync/dispatch.py).
MAINTENANCE_WORK_QUEUE: Final = "maintenance-work"
MAINTENANCE_WORK_POISON_QUEUE: Final = MAINTENANCE_WORK_QUEUE + "-poison"

QUEUES: Final[tuple[str, ...]] = (GRAPH_NOTIFICATIONS_QUEUE, MAINTENANCE_WORK_QUEUE)
