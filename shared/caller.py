"""Who is calling: the host web app's user, proven by the host app's bearer token (JWT)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeGuard

from shared.errors import ErrorCode, Unauthenticated
from shared.limits import MAX_EMAIL, MAX_HOST_ID, MAX_NAME

if TYPE_CHECKING:
    import jwt

ADMIN_ROLE = "admin"
_LEEWAY_SECONDS = 30


@dataclass(frozen=True)
class Caller:
    user_id: str
    org_id: str
    email: str | None = None
    name: str | None = None
    roles: frozenset[str] = frozenset()

    @property
    def is_admin(self) -> bool:
        return ADMIN_ROLE in self.roles


class SigningKeys(Protocol):
    """The host app's published keys (jwt.PyJWKClient over HOST_APP_JWKS_URL)."""

    def get_signing_key_from_jwt(self, token: str) -> jwt.PyJWK: ...


class HostTokenVerifier:
    """HS256 with a shared secret, or RS256/ES256 with keys from the host app's JWKS URL."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        secret: str | None = None,
        jwks_client: SigningKeys | None = None,
    ) -> None:
        if (secret is None) == (jwks_client is None):
            raise ValueError("give exactly one of a shared secret or a JWKS client")
        self._issuer = issuer
        self._audience = audience
        self._key_for: Callable[[str], Any]
        if secret is not None:
            self._algorithms = ["HS256"]
            self._key_for = lambda _token: secret
        else:
            assert jwks_client is not None
            self._algorithms = ["RS256", "ES256"]
            self._key_for = lambda token: jwks_client.get_signing_key_from_jwt(token).key

    def verify(self, authorization: str | None) -> Caller:
        import jwt  # here, not at module level: importing the app stays cheap

        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("a bearer token is required")
        try:
            claims = jwt.decode(
                token.strip(),
                self._key_for(token.strip()),
                algorithms=self._algorithms,
                audience=self._audience,
                issuer=self._issuer,
                leeway=_LEEWAY_SECONDS,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("the token has expired", ErrorCode.TOKEN_EXPIRED) from None
        except jwt.InvalidAudienceError:
            raise Unauthenticated("the token is not meant for this service") from None
        except jwt.InvalidIssuerError:
            raise Unauthenticated("the token's issuer is not trusted") from None
        except (jwt.PyJWKClientError, jwt.InvalidTokenError):
            raise Unauthenticated("the token is invalid") from None
        org, sub = claims.get("org"), claims.get("sub")
        if not _host_id(org) or not _host_id(sub):
            raise Unauthenticated(
                f"the token must carry sub and org claims of 1 to {MAX_HOST_ID} printable "
                "characters"
            )
        roles = claims.get("roles") or []
        return Caller(
            user_id=sub,
            org_id=org,
            email=_text_up_to(claims.get("email"), MAX_EMAIL),
            name=_text_up_to(claims.get("name"), MAX_NAME),
            roles=frozenset(r for r in roles if _text_up_to(r, MAX_NAME))
            if isinstance(roles, list)
            else frozenset(),
        )


def _host_id(value: Any) -> TypeGuard[str]:
    """A host-app user or organisation id: part of storage keys, so bounded and printable."""
    return isinstance(value, str) and 0 < len(value) <= MAX_HOST_ID and value.isprintable()


def _text_up_to(value: Any, longest: int) -> str | None:
    """An optional claim: kept when it is printable text within its limit, ignored otherwise."""
    if isinstance(value, str) and 0 < len(value) <= longest and value.isprintable():
        return value
    return None
