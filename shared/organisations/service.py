"""Organisation admins: the integration's switches and the tenant-wide admin consent."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from shared.caller import Caller
from shared.connections.service import Identity
from shared.connections.sign_ins import SignInKind, SignIns, SignInStarted, with_query
from shared.errors import AdminOnly, ErrorCode, InvalidRequest, StaleVersion
from shared.organisations.model import AdminConsent, ConsentStatus, OrgSettings, Switches
from shared.organisations.repository import OrgSettingsRepository, StoredOrgSettings
from shared.storage.entities import ConcurrencyConflict, EntityAlreadyExists

logger = logging.getLogger(__name__)

CONSENT_CALLBACK_PATH = "/api/admin/consent/callback"


@dataclass(frozen=True)
class SettingsSaved:
    settings: OrgSettings
    etag: str
    switched_on: bool  # connecting is allowed again after the switch was off (or never on)


class ConsentOutcome(StrEnum):
    GRANTED = "granted"
    DECLINED = "declined"
    EXPIRED = "expired"  # completed too late: nothing recorded


@dataclass(frozen=True)
class ConsentCompleted:
    outcome: ConsentOutcome
    settings: StoredOrgSettings


def require_admin(caller: Caller) -> None:
    if not caller.is_admin:
        raise AdminOnly("Only organisation admins can do this.")


class OrganisationService:
    def __init__(
        self,
        *,
        orgs: OrgSettingsRepository,
        sign_ins: SignIns,
        identity: Identity,
        public_base_url: str,
        clock: Callable[[], datetime],
    ) -> None:
        self._orgs = orgs
        self._sign_ins = sign_ins
        self._identity = identity
        self._public_base_url = public_base_url
        self._clock = clock

    def settings(self, caller: Caller) -> StoredOrgSettings:
        require_admin(caller)
        return self._orgs.get(caller.org_id)

    def replace_settings(
        self, caller: Caller, switches: Switches, if_match: str | None
    ) -> SettingsSaved:
        """PUT semantics; with If-Match, a change made meanwhile by another admin is not lost."""
        require_admin(caller)
        stored = self._orgs.get(caller.org_id)
        if if_match not in (None, "*") and if_match != stored.etag:
            raise StaleVersion("The settings changed since you read them; reload and try again.")
        updated = stored.settings.replaced_by(switches, by=caller.user_id, at=self._clock())
        try:
            etag = self._orgs.put(updated, stored.etag)
        except (ConcurrencyConflict, EntityAlreadyExists) as error:
            raise StaleVersion(
                "The settings changed while saving; reload and try again."
            ) from error
        logger.info(
            "org %s settings by %s: outlook=%s sync=%s",
            caller.org_id,
            caller.user_id,
            switches.allow_outlook,
            switches.sync_conversations,
        )
        switched_on = updated.allow_outlook and not stored.settings.allow_outlook
        return SettingsSaved(updated, etag, switched_on)

    def consent_link(self, caller: Caller, return_url: str | None) -> SignInStarted:
        require_admin(caller)
        target = self._sign_ins.return_url(return_url)
        tenant = self._orgs.get(caller.org_id).settings.tenant_id or "organizations"
        state = secrets.token_urlsafe(32)
        expires_at = self._sign_ins.begin(
            SignInKind.ADMIN_CONSENT,
            state=state,
            org_id=caller.org_id,
            user_id=caller.user_id,
            return_url=target,
            flow={},
        )
        redirect_uri = self._public_base_url + CONSENT_CALLBACK_PATH
        url = self._identity.admin_consent_url(tenant, redirect_uri, state)
        return SignInStarted(url, expires_at)

    def consent_returned(self, answer: dict[str, str]) -> str:
        """Microsoft's consent answer at the callback, in whatever browser gave it: where that
        browser goes next. Nothing is recorded here: the answer waits, sealed, for the admin
        who asked for it to complete it (`complete_consent`) with the one-time code the browser
        carries back (`adminConsentCompletion`)."""
        pending = self._sign_ins.take(answer.get("state"), SignInKind.ADMIN_CONSENT)
        if self._sign_ins.expired(pending):
            return with_query(pending.return_url, {"adminConsent": "expired"})
        granted = answer.get("admin_consent", "").lower() == "true" and "error" not in answer
        if not granted and "error" not in answer:
            raise InvalidRequest(
                "The consent response says neither granted nor an error.",
                ErrorCode.INVALID_CONSENT_RESPONSE,
            )
        values = {
            "granted": granted,
            "tenant": _short(answer.get("tenant"), 100),
            "error": None if granted else _short(answer.get("error"), 100),
            "errorDescription": None if granted else _short(answer.get("error_description"), 500),
        }
        code = self._sign_ins.park(pending, SignInKind.CONSENT_ANSWER, values)
        return with_query(pending.return_url, {"adminConsentCompletion": code})

    def complete_consent(self, caller: Caller, code: object) -> ConsentCompleted:
        """Record the consent answer the calling admin asked for (SignInNotYours for anyone
        else). The answer shows which tenant consented; it never sets the organisation's
        tenant (`tenantId`), which only an admin's PUT does."""
        require_admin(caller)
        parked = self._sign_ins.redeem(code, SignInKind.CONSENT_ANSWER, caller)
        if parked.values is None:
            return ConsentCompleted(ConsentOutcome.EXPIRED, self._orgs.get(caller.org_id))
        values = parked.values
        consent = AdminConsent(
            status=ConsentStatus.GRANTED if values["granted"] else ConsentStatus.DECLINED,
            tenant_id=values["tenant"],
            at=self._clock(),
            error=values["error"],
            error_description=values["errorDescription"],
        )
        for _ in range(3):  # another admin may be saving the switches at the same moment
            stored = self._orgs.get(caller.org_id)
            try:
                etag = self._orgs.put(replace(stored.settings, consent=consent), stored.etag)
                break
            except (ConcurrencyConflict, EntityAlreadyExists):
                continue
        else:
            raise StaleVersion("The settings kept changing while saving; complete again.")
        logger.info("org %s admin consent: %s", caller.org_id, consent.status.value)
        saved = StoredOrgSettings(replace(stored.settings, consent=consent), etag)
        return ConsentCompleted(ConsentOutcome(consent.status.value), saved)


def _short(value: str | None, limit: int) -> str | None:
    return None if value is None else value[:limit]
