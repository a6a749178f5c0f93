"""The use cases that span a connection and its mailbox's sync (the service layer above both).

Connecting and switching an organisation on report what happened (a connection made, the
switch turned on); the reactions live here: watch a newly connected mailbox, resume an
organisation's mailboxes, and the pushes to Outlook that waited for either. Disconnecting stops
watching first, while the tokens still work.
"""

from __future__ import annotations

import logging

from shared.caller import Caller
from shared.connections.service import ConnectionService, SignInFinished
from shared.conversations.service import ConversationService
from shared.organisations.model import Switches
from shared.organisations.service import OrganisationService, SettingsSaved
from shared.sync.watch import MailboxWatcher

logger = logging.getLogger(__name__)


class ConnectionLifecycle:
    def __init__(
        self,
        *,
        connections: ConnectionService,
        organisations: OrganisationService,
        watcher: MailboxWatcher,
        conversations: ConversationService,
    ) -> None:
        self._connections = connections
        self._organisations = organisations
        self._watcher = watcher
        self._conversations = conversations

    def complete_connect(self, caller: Caller, code: object) -> SignInFinished:
        """Complete the sign-in the caller started, and watch the connected mailbox."""
        finished = self._connections.complete_connect(caller, code)
        connection = finished.connected
        if connection is not None:
            try:
                self._conversations.resume_pushes_later(connection.org_id, connection.user_id)
                self._watcher.watch(connection.org_id, connection.user_id)
            except Exception:  # the connection stands: the user is connected either way
                logger.exception("after connecting %s/%s", connection.org_id, connection.user_id)
        return finished

    def disconnect(self, caller: Caller) -> None:
        self._watcher.stop(caller.org_id, caller.user_id)
        self._connections.disconnect(caller)

    def replace_settings(
        self, caller: Caller, switches: Switches, if_match: str | None
    ) -> SettingsSaved:
        saved = self._organisations.replace_settings(caller, switches, if_match)
        if saved.switched_on:
            self._watcher.resume_later(caller.org_id)
            self._conversations.resume_pushes_later(caller.org_id)
        return saved
