"""Organisation admins: the integration's switches and the tenant-wide admin consent."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from shared.caller import Caller
from shared.connections.repository import PendingSignIn, PendingSignInRepository
from shared.connections.service import SIGN_IN_LIFETIME, ConnectionService, with_query
from shared.errors import BadRequest, Forbidden, PreconditionFailed
from shared.identity import IdentityClient
from shared.organisations.model import AdminConsent, ConsentStatus, Switches
from shared.organisations.repository import OrgSettingsRepository
from shared.storage.entities import ConcurrencyConflict, EntityAlreadyExists
from shared.token_cipher import TokenCipher

logger = logging.getLogger(__name__)

CONSENT_CALLBACK_PATH = "/api/admin/consent/callback"


def require_admin(caller: Caller) -> None:
    if not caller.is_admin:
        raise Forbidden("Only organisation admins can do this.", code="admin_only")


class OrganisationService:
    def __init__(
        self,
        *,
        orgs: OrgSettingsRepository,
        connections: ConnectionService,
        sign_ins: PendingSignInRepository,
        identity: IdentityClient,
        cipher: TokenCipher,
        public_base_url: str,
        clock: Callable[[], datetime],
        switched_on: Callable[[str], None] = lambda org_id: None,
    ) -> None:
        self._switched_on = switched_on  # told when connecting is allowed again after a pause
        self._orgs = orgs
        self._connections = connections
        self._sign_ins = sign_ins
        self._identity = identity
        self._cipher = cipher
        self._public_base_url = public_base_url
        self._clock = clock

    def settings(self, caller: Caller) -> tuple[dict[str, Any], str | None]:
        require_admin(caller)
        stored = self._orgs.get(caller.org_id)
        return stored.settings.as_view(), stored.etag

    def replace_settings(
        self, caller: Caller, switches: Switches, if_match: str | None
    ) -> tuple[dict[str, Any], str]:
        """PUT semantics; with If-Match, a change made meanwhile by another admin is not lost."""
        require_admin(caller)
        stored = self._orgs.get(caller.org_id)
        if if_match not in (None, "*") and if_match != stored.etag:
            raise PreconditionFailed(
                "The settings changed since you read them; reload and try again.", code="stale"
            )
        updated = stored.settings.replaced_by(switches, by=caller.user_id, at=self._clock())
        try:
            etag = self._orgs.put(updated, stored.etag)
        except (ConcurrencyConflict, EntityAlreadyExists) as error:
            raise PreconditionFailed(
                "The settings changed while saving; reload and try again.", code="stale"
            ) from error
        if updated.allow_outlook and not stored.settings.allow_outlook:
            self._switched_on(caller.org_id)
        logger.info(
            "org %s settings by %s: outlook=%s sync=%s",
            caller.org_id,
            caller.user_id,
            switches.allow_outlook,
            switches.sync_conversations,
        )
        return updated.as_view(), etag

    def consent_link(self, caller: Caller, return_url: str | None) -> dict[str, Any]:
        require_admin(caller)
        target = self._connections.checked_return_url(return_url)
        tenant = self._orgs.get(caller.org_id).settings.tenant_id or "organizations"
        state = secrets.token_urlsafe(32)
        expires_at = self._clock() + SIGN_IN_LIFETIME
        self._sign_ins.add(
            PendingSignIn(
                state=state,
                kind="admin_consent",
                org_id=caller.org_id,
                user_id=caller.user_id,
                return_url=target,
                flow=self._cipher.seal(b"{}", f"sign-in/{state}"),
                expires_at=expires_at,
            )
        )
        redirect_uri = self._public_base_url + CONSENT_CALLBACK_PATH
        return {
            "consentUrl": self._identity.admin_consent_url(tenant, redirect_uri, state),
            "expiresAt": expires_at.isoformat(),
        }

    def complete_consent(self, query: dict[str, str]) -> str:
        pending = self._connections.take_sign_in(query.get("state"), "admin_consent")
        if self._clock() >= pending.expires_at:
            return with_query(pending.return_url, {"adminConsent": "expired"})
        granted = query.get("admin_consent", "").lower() == "true" and "error" not in query
        if not granted and "error" not in query:
            raise BadRequest(
                "The consent response says neither granted nor an error.",
                code="invalid_consent_response",
            )
        consent = AdminConsent(
            status=ConsentStatus.GRANTED if granted else ConsentStatus.DECLINED,
            tenant_id=query.get("tenant"),
            at=self._clock(),
            error=None if granted else query.get("error"),
            error_description=None if granted else query.get("error_description", "")[:500],
        )
        for _ in range(3):  # another admin may be saving the switches at the same moment
            stored = self._orgs.get(pending.org_id)
            try:
                self._orgs.put(replace(stored.settings, consent=consent), stored.etag)
                break
            except (ConcurrencyConflict, EntityAlreadyExists):
                continue
        logger.info("org %s admin consent: %s", pending.org_id, consent.status.value)
        return with_query(pending.return_url, {"adminConsent": consent.status.value})
