"""What the app knows of each host-app user: their name, and their mailbox's SMTP address.

people: PartitionKey = org id, RowKey = "user|<user id>"  -> Name, Email (host-app token), Mail
        PartitionKey = org id, RowKey = "mail|<address>"  -> UserId (an address Graph gave)

A person is known once they used the app (their host-app token's `name` and `email`) or
connected their calendar (Graph's `displayName` and `mail`, which win). Only an address Graph
gave at connect time leads from an email back to a person: a host-app token's `email` is the
host app's word, not proof of a mailbox.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from shared.caller import Caller
from shared.storage.entities import EntityStore
from shared.storage.keys import table_key

logger = logging.getLogger(__name__)

_REMEMBERED = 10_000  # people whose last write this process remembers (to skip repeating it)


@dataclass(frozen=True)
class KnownPerson:
    user_id: str
    name: str
    email: str  # the host app's
    mail: str  # Graph's, once they connected

    @property
    def display_name(self) -> str:
        return self.name or self.mail or self.email or self.user_id


class PeopleDirectory:
    def __init__(self, table: EntityStore) -> None:
        self._table = table
        self._written: dict[tuple[str, str], tuple[str, ...]] = {}
        self._lock = threading.Lock()

    def seen(self, caller: Caller) -> None:
        """The caller used the app: remember their name and email (a write only when changed,
        as far as this process knows); a failure here never fails their request."""
        known = (caller.name or "", caller.email or "")
        if not any(known) or self._remembered(caller.org_id, caller.user_id) == known:
            return
        try:
            person = self.person(caller.org_id, caller.user_id)
            connected = person is not None and bool(person.mail)  # then Graph's name stays
            self._write(
                caller.org_id,
                caller.user_id,
                name=person.name if person and connected else known[0],
                email=known[1],
                mail=person.mail if person else "",
            )
        except Exception as error:  # remembering is a nicety: the request goes on
            logger.warning("could not remember %s/%s: %s", caller.org_id, caller.user_id, error)
            return
        self._remember(caller.org_id, caller.user_id, known)

    def connected(self, org_id: str, user_id: str, *, name: str, mail: str) -> None:
        """The person connected their calendar: Graph's name and SMTP address for them. The
        connection is made already: a failure here is logged (the next check writes it again)."""
        try:
            person = self.person(org_id, user_id)
            email = person.email if person else ""
            self._write(org_id, user_id, name=name or (person.name if person else ""),
                        email=email, mail=mail)  # fmt: skip
            if mail:
                self._table.upsert(table_key(org_id), _mail_row(mail), {"UserId": user_id})
        except Exception as error:
            logger.warning("could not remember %s/%s's mailbox: %s", org_id, user_id, error)

    def person(self, org_id: str, user_id: str) -> KnownPerson | None:
        stored = self._table.get(table_key(org_id), _user_row(user_id))
        if stored is None:
            return None
        p = stored.properties
        return KnownPerson(user_id, p.get("Name", ""), p.get("Email", ""), p.get("Mail", ""))

    def user_with_mail(self, org_id: str, mail: str) -> str | None:
        """The host-app user who connected with this SMTP address, if anyone did."""
        stored = self._table.get(table_key(org_id), _mail_row(mail))
        return None if stored is None else str(stored.properties["UserId"])

    def _write(self, org_id: str, user_id: str, *, name: str, email: str, mail: str) -> None:
        row = {"Name": name, "Email": email, "Mail": mail}
        self._table.upsert(table_key(org_id), _user_row(user_id), row)

    def _remembered(self, org_id: str, user_id: str) -> tuple[str, ...] | None:
        with self._lock:
            return self._written.get((org_id, user_id))

    def _remember(self, org_id: str, user_id: str, known: tuple[str, ...]) -> None:
        with self._lock:
            if len(self._written) >= _REMEMBERED:
                self._written.clear()
            self._written[(org_id, user_id)] = known


def _user_row(user_id: str) -> str:
    return table_key("user", user_id)


def _mail_row(mail: str) -> str:
    return table_key("mail", mail.lower())
