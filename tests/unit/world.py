"""The app's real services wired by the real composition root, over the in-memory fakes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from shared.bootstrap import AppServices
from shared.caller import Caller
from shared.organisations.model import Switches
from shared.secrets import SecretName
from shared.settings import load_settings
from tests.fakes import (
    GRAPH,
    Clock,
    FakeGraph,
    FakeIdentity,
    FakeSecrets,
    FakeTables,
    FakeWorkQueue,
)

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
VISIBILITY_TIMEOUT = timedelta(seconds=10)  # host.json's extensions.queues.visibilityTimeout
ORG = "org-contoso"
HOST_APP = "https://people.test"
SETTINGS = {
    "AzureWebJobsStorage": "UseDevelopmentStorage=true",  # never used: the tables are fakes
    "APP_PUBLIC_BASE_URL": "https://sync.test",
    "ENTRA_CLIENT_ID": "00000000-0000-0000-0000-00000000c11e",
    "GRAPH_BASE_URL": GRAPH,
    "HOST_APP_ORIGINS": HOST_APP,
    "HOST_APP_TOKEN_ISSUER": "https://people.test",
    "HOST_APP_TOKEN_AUDIENCE": "calendar-sync",
    "WEBHOOK_CLIENT_STATE_KEYS": "w1:dGVzdC13ZWJob29rLWNsaWVudC1zdGF0ZS1rZXktMzI=",
}
SECRETS = {
    SecretName.ENTRA_CLIENT_SECRET: "client-secret",
    SecretName.TOKEN_ENCRYPTION_KEYS: "k1:MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=",
    SecretName.HOST_APP_TOKEN_SECRET: "a-host-app-secret-that-is-long-enough",
}


class Person:
    def __init__(self, user_id: str, upn: str, name: str, *, admin: bool = False) -> None:
        self.user_id, self.upn, self.name = user_id, upn, name
        roles = frozenset({"admin"}) if admin else frozenset()
        self.caller = Caller(user_id=user_id, org_id=ORG, email=upn, name=name, roles=roles)


ADELE = Person("u-adele", "adele@contoso.test", "Adele Vance", admin=True)  # the manager
ALEX = Person("u-alex", "alex@contoso.test", "Alex Wilber")
LYNNE = Person("u-lynne", "lynne@contoso.test", "Lynne Robbins")


class World:
    def __init__(
        self,
        now: datetime = NOW,
        tables: FakeTables | None = None,
        graph: FakeGraph | None = None,
        settings: dict[str, str] | None = None,
    ) -> None:
        """`tables` and `graph`: another World's, for a second instance of the app over the
        same storage and Microsoft; `settings`: changed app settings."""
        self.clock = Clock(now)
        self.tables = tables or FakeTables()
        self.graph = graph or FakeGraph(self.clock)
        self.identity = FakeIdentity(self.graph)
        self.secrets = FakeSecrets(dict(SECRETS))
        self.work_queue = FakeWorkQueue(self.clock)
        if graph is None:
            for person in (ADELE, ALEX, LYNNE):
                self.graph.add_person(person.upn, person.name)
        self.app = AppServices(
            load_settings({**SETTINGS, **(settings or {})}),
            self.secrets,
            clock=self.clock,
            sleep=lambda seconds: self.clock.advance(timedelta(seconds=seconds)),
            tables=self.tables,
            graph_session=self.graph,
            identity=self.identity,
            work_queue=self.work_queue,
        )

    @classmethod
    def connected(cls, *people: Person) -> World:
        """An organisation with Outlook on, and these people's calendars connected."""
        world = cls()
        world.switch()
        for person in people:
            assert world.connect(person) == "connected"
        return world

    def switch(self, *, allow: bool = True, sync: bool = True, tenant: str | None = None) -> None:
        switches = Switches(allow_outlook=allow, sync_conversations=sync, tenant_id=tenant)
        self.app.lifecycle.replace_settings(ADELE.caller, switches, None)

    def connect(self, person: Person, *, as_upn: str | None = None, **answer: str) -> str:
        """Sign in as `as_upn` (the person's own account by default), and complete as the
        person did: the outcome."""
        back = self.sign_in(person, as_upn=as_upn, **answer)
        if "outlook" in back:  # the sign-in ended at Microsoft
            return back["outlook"]
        return self.app.lifecycle.complete_connect(person.caller, back["outlookCompletion"]).outcome

    def sign_in(
        self, person: Person, *, as_upn: str | None = None, **answer: str
    ) -> dict[str, str]:
        """`person` starts connecting, `as_upn` signs in at Microsoft: the query the browser
        brings back to the host app's page."""
        started = self.app.connections.begin_connect(person.caller, None)
        state = dict(parse_qsl(urlsplit(started.url).query))["state"]
        self.identity.signing_in = as_upn or person.upn
        back = self.app.connections.sign_in_returned({"state": state, "code": "c", **answer})
        return dict(parse_qsl(urlsplit(back).query))

    def timer(self) -> dict[str, dict[str, int]]:
        """A timer run, then queue workers until the queue has nothing visible: what became of
        each item, by kind (an item whose handler raised counts as "failed" and, as the real
        queue would, is visible again later)."""
        self.app.maintenance_timer.run()
        return self.work()

    def work(self) -> dict[str, dict[str, int]]:
        """Queue workers run every visible message: outcomes by kind."""
        report: dict[str, dict[str, int]] = {k: {} for k in self.app.maintenance.handlers.kinds()}
        while (message := self.work_queue.take_visible()) is not None:
            message.dequeue_count += 1
            try:
                outcome = self.app.maintenance_worker.process(message.text, message.id)
            except Exception:
                outcome = "failed"
                message.visible_at = self.clock() + VISIBILITY_TIMEOUT
                self.work_queue.messages.append(message)
            kind = json.loads(message.text)["kind"]
            outcomes = report.setdefault(kind, {})
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        return report

    def feed(self, person: Person) -> list[dict[str, Any]]:
        page = self.app.changes.since(ORG, person.user_id, None)
        return [entry.change for entry in page.entries]

    def table_rows(self, name: str) -> int:
        return len(self.tables.table(name).rows())
