"""The headers every Graph request of the app carries, built in one place."""

from __future__ import annotations


def prefer_header(*, utc: bool = False, max_page_size: int | None = None) -> dict[str, str]:
    """Graph's Prefer header: immutable ids always; with `utc`, event times in UTC; with
    `max_page_size`, pages of at most that many items (delta queries)."""
    preferences = ['outlook.timezone="UTC"'] if utc else []
    preferences.append('IdType="ImmutableId"')
    if max_page_size is not None:
        preferences.append(f"odata.maxpagesize={max_page_size}")
    return {"Prefer": ", ".join(preferences)}
