"""GET /api/me/changes: a page of the change feed as the host app reads it."""

from __future__ import annotations

from typing import Any

from shared.changes.feed import FeedPage


def page_view(page: FeedPage) -> dict[str, Any]:
    return {
        "value": [entry.change | {"cursor": entry.cursor} for entry in page.entries],
        "cursor": page.cursor,
    }
