"""Tokens: the signing key (published as JWKS), JWT minting and checking, codes and refresh tokens.

Access tokens for Graph are v1.0-format JWTs as Entra issues them for Graph (RS256, `aud` Graph,
`scp`, `oid`, `tid`, `upn`); id tokens are v2.0 (`aud` = client id, `nonce`, `preferred_username`).
Authorization codes and refresh tokens are opaque random strings remembered server side.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from devtools.graph_emulator import sts_errors
from devtools.graph_emulator.consent import ScopeRequest
from devtools.graph_emulator.directory import DirectoryUser
from devtools.graph_emulator.persistence import PersistedFields

AUTHORIZATION_CODE_LIFETIME = 600  # "Authorization codes are short lived ... about 10 minutes"
REFRESH_TOKEN_INACTIVITY = 90 * 24 * 3600  # web apps: 90 days, sliding with use
CLOCK_SKEW = 300  # Microsoft.IdentityModel's default tolerance when Graph checks exp/nbf


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class SigningKey:
    """One RSA key made at start; its public half is served at the JWKS endpoint."""

    def __init__(self) -> None:
        self._use(rsa.generate_private_key(public_exponent=65537, key_size=2048))

    def _use(self, private: rsa.RSAPrivateKey) -> None:
        self._private = private
        public_der = self._private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.kid = b64url(hashlib.sha1(public_der).digest())  # noqa: S324 - a key id, like x5t

    def export_state(self) -> bytes:
        """Kept across restarts (persistence.py): tokens the app holds stay verifiable."""
        return self._private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def import_state(self, data: bytes) -> None:
        private = serialization.load_pem_private_key(data, password=None)
        if not isinstance(private, rsa.RSAPrivateKey):
            raise ValueError("the saved signing key is not an RSA key")
        self._use(private)

    def jwk(self, issuer: str) -> dict[str, Any]:
        numbers = self._private.public_key().public_numbers()
        return {
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "x5t": self.kid,
            "n": b64url(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
            "e": b64url(numbers.e.to_bytes(3, "big")),
            "issuer": issuer,
        }

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(
            claims, self._private, algorithm="RS256", headers={"kid": self.kid, "x5t": self.kid}
        )

    def decode(self, token: str, audiences: list[str]) -> dict[str, Any]:
        """Signature and audience only: times are judged against the emulator's clock."""
        return jwt.decode(
            token,
            self._private.public_key(),
            algorithms=["RS256"],
            audience=audiences,
            options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
        )

    def verify_signature(self, token: str) -> dict[str, Any]:
        """The claims of a token this key signed, whatever its audience and times."""
        return jwt.decode(
            token,
            self._private.public_key(),
            algorithms=["RS256"],
            options={"verify_aud": False, "verify_exp": False, "verify_nbf": False,
                     "verify_iat": False},
        )  # fmt: skip


class AccessTokenRejected(Exception):
    """Why Graph refuses a bearer token (the message Graph puts in InvalidAuthenticationToken)."""


def check_access_token(
    key: SigningKey, token: str, audiences: list[str], now: float
) -> dict[str, Any]:
    if "." not in token:
        raise AccessTokenRejected(
            "IDX14100: JWT is not well formed, there are no dots (.).\nThe token needs to be in "
            "JWS or JWE Compact Serialization Format. (JWS): "
            "'EncodedHeader.EndcodedPayload.EncodedSignature'. (JWE): 'EncodedProtectedHeader."
            "EncodedEncryptedKey.EncodedInitializationVector.EncodedCiphertext."
            "EncodedAuthenticationTag'."
        )
    try:
        claims = key.decode(token, audiences)
    except jwt.InvalidAudienceError as error:
        raise AccessTokenRejected("Access token validation failure. Invalid audience.") from error
    except jwt.InvalidSignatureError as error:
        raise AccessTokenRejected("Access token validation failure. Invalid signature.") from error
    except jwt.PyJWTError as error:
        raise AccessTokenRejected("Access token validation failure.") from error
    if now > claims.get("exp", 0) + CLOCK_SKEW:
        raise AccessTokenRejected("Lifetime validation failed, the token is expired.")
    if now < claims.get("nbf", 0) - CLOCK_SKEW:
        raise AccessTokenRejected("Lifetime validation failed, the token is not yet valid.")
    return claims


@dataclass(frozen=True)
class Issuance:
    """Everything a token response is minted from."""

    user: DirectoryUser
    client_id: str
    app_name: str
    scopes: ScopeRequest
    granted: frozenset[str]  # every Graph permission consented for this user and app
    nonce: str | None
    now: float
    access_token_lifetime: int
    auth_time: float | None = None  # set when the request had max_age (MSAL then checks it)


def mint_access_token(key: SigningKey, issuance: Issuance, issuer_host: str) -> str:
    user, now = issuance.user, int(issuance.now)
    return key.sign(
        {
            "aud": issuance.scopes.audience,
            "iss": f"{issuer_host}/{user.tenant_id}/",
            "iat": now,
            "nbf": now,
            "exp": now + issuance.access_token_lifetime,
            "acr": "1",
            "amr": ["pwd"],
            "app_displayname": issuance.app_name,
            "appid": issuance.client_id,
            "appidacr": "1",
            "family_name": user.surname,
            "given_name": user.given_name,
            "idtyp": "user",
            "ipaddr": "127.0.0.1",
            "name": user.display_name,
            "oid": user.object_id,
            "scp": " ".join(sorted(issuance.granted | (issuance.scopes.oidc - {"offline_access"}))),
            "sub": _pairwise_subject(user.object_id, "graph"),
            "tid": user.tenant_id,
            "unique_name": user.user_principal_name,
            "upn": user.user_principal_name,
            "uti": b64url(secrets.token_bytes(16)),
            "ver": "1.0",
        }
    )


def mint_id_token(key: SigningKey, issuance: Issuance, issuer_host: str) -> str:
    user, now, oidc = issuance.user, int(issuance.now), issuance.scopes.oidc
    claims: dict[str, Any] = {
        "aud": issuance.client_id,
        "iss": f"{issuer_host}/{user.tenant_id}/v2.0",
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "oid": user.object_id,
        "sub": _pairwise_subject(user.object_id, issuance.client_id),
        "tid": user.tenant_id,
        "uti": b64url(secrets.token_bytes(16)),
        "ver": "2.0",
    }
    if issuance.nonce:
        claims["nonce"] = issuance.nonce
    if issuance.auth_time is not None:
        claims["auth_time"] = int(issuance.auth_time)
    if "profile" in oidc:
        claims["name"] = user.display_name
        if user.user_principal_name:  # an account without one has no preferred_username
            claims["preferred_username"] = user.user_principal_name
    if "email" in oidc:
        claims["email"] = user.mail
    return key.sign(claims)


def client_info(user: DirectoryUser) -> str:
    """base64url JSON {uid, utid}: MSAL builds the account's home id `uid.utid` from it."""
    return b64url(f'{{"uid":"{user.object_id}","utid":"{user.tenant_id}"}}'.encode())


def _pairwise_subject(object_id: str, audience: str) -> str:
    return b64url(hashlib.sha256(f"{object_id}|{audience}".encode()).digest())


# --- authorization codes ------------------------------------------------------------------


@dataclass(frozen=True)
class AuthorizationCode:
    client_id: str
    redirect_uri: str
    user: DirectoryUser
    scopes: ScopeRequest
    code_challenge: str | None
    code_challenge_method: str
    nonce: str | None
    expires_at: float
    auth_time: float | None = None
    redeemed: bool = False


class CodeStore(PersistedFields):
    persisted = ("_codes",)

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._codes: dict[str, AuthorizationCode] = {}

    def reset(self) -> None:
        with self._lock:
            self._codes.clear()

    def issue(self, grant: AuthorizationCode) -> str:
        code = "1.A" + b64url(secrets.token_bytes(48))
        with self._lock:
            self._codes[code] = grant
        return code

    def find(self, code: str, now: float) -> AuthorizationCode:
        with self._lock:
            grant = self._codes.get(code)
        if grant is None:
            raise sts_errors.StsError(
                "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid."
            )
        if grant.redeemed:
            raise sts_errors.StsError(
                "invalid_grant",
                54005,
                "OAuth2 Authorization code was already redeemed, please retry with a new valid "
                "code or use an existing refresh token.",
            )
        if now > grant.expires_at:
            raise sts_errors.StsError(
                "invalid_grant",
                70008,
                "The provided authorization code or refresh token has expired due to inactivity. "
                "Send a new interactive authorization request for this user and resource.",
            )
        return grant

    def consume(self, code: str) -> bool:
        """Mark the code used; False when a concurrent redemption already did."""
        with self._lock:
            grant = self._codes.get(code)
            if grant is None or grant.redeemed:
                return False
            self._codes[code] = replace(grant, redeemed=True)
            return True


# --- refresh tokens -------------------------------------------------------------------------


@dataclass(frozen=True)
class RefreshGrant:
    client_id: str
    user: DirectoryUser
    scopes: ScopeRequest
    sequence: int  # issue order; revocation invalidates everything issued up to a point
    issued_at: float
    last_used_at: float


@dataclass(frozen=True)
class _Revocation:
    through_sequence: int
    at: float


class RefreshTokenStore(PersistedFields):
    persisted = ("_tokens", "_revoked", "_sequence")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[str, RefreshGrant] = {}
        self._revoked: dict[str, _Revocation] = {}  # by object id
        self._sequence = 0

    def reset(self) -> None:
        with self._lock:
            self._tokens.clear()
            self._revoked.clear()

    def issue(self, client_id: str, user: DirectoryUser, scopes: ScopeRequest, now: float) -> str:
        token = "1.A" + b64url(secrets.token_bytes(96))
        with self._lock:
            self._sequence += 1
            self._tokens[token] = RefreshGrant(client_id, user, scopes, self._sequence, now, now)
        return token

    def redeem(self, token: str, client_id: str, now: float) -> RefreshGrant:
        """The grant behind a refresh token still usable now; records the use (sliding expiry).

        Like Entra, a refresh token stays valid after it was used to get a new one.
        """
        with self._lock:
            grant = self._tokens.get(token)
            if grant is None or grant.client_id != client_id:
                raise sts_errors.StsError(
                    "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid."
                )
            revocation = self._revoked.get(grant.user.object_id)
            if revocation and grant.sequence <= revocation.through_sequence:
                raise sts_errors.StsError(
                    "invalid_grant",
                    50173,
                    "The provided grant has expired due to it being revoked, a fresh auth token "
                    "is needed. The user might have changed or reset their password. The grant "
                    f"was issued on '{_iso(grant.issued_at)}' and the TokensValidFrom date "
                    f"(before which tokens are not valid) for this user is "
                    f"'{_iso(revocation.at)}'.",
                )
            if now - grant.last_used_at > REFRESH_TOKEN_INACTIVITY:
                raise sts_errors.StsError(
                    "invalid_grant",
                    700082,
                    "The refresh token has expired due to inactivity. The token was issued on "
                    f"{_iso(grant.issued_at)} and was inactive for 90.00:00:00.",
                )
            self._tokens[token] = replace(grant, last_used_at=now)
            return grant

    def expire_user(self, object_id: str, now: float) -> int:
        """Age the user's refresh tokens past the inactivity limit; answers how many."""
        inactive_since = now - REFRESH_TOKEN_INACTIVITY - 86400
        with self._lock:
            mine = [t for t, g in self._tokens.items() if g.user.object_id == object_id]
            for token in mine:
                self._tokens[token] = replace(self._tokens[token], last_used_at=inactive_since)
            return len(mine)

    def revoke_user(self, object_id: str, now: float) -> int:
        """As after a password reset or an admin's revokeSignInSessions: all earlier grants die."""
        with self._lock:
            self._revoked[object_id] = _Revocation(self._sequence, now)
            return sum(1 for g in self._tokens.values() if g.user.object_id == object_id)


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%m/%d/%Y %H:%M:%S")


def new_guid() -> str:
    return str(uuid.uuid4())
