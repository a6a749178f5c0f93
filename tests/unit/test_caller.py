import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from devtools.host_tokens import mint_host_token
from shared.caller import HostTokenVerifier
from shared.errors import ErrorCode, Unauthenticated

SECRET = "a-host-app-secret-that-is-long-enough"
ISSUER, AUDIENCE = "https://host-app.test", "calendar-sync"


def verifier() -> HostTokenVerifier:
    return HostTokenVerifier(issuer=ISSUER, audience=AUDIENCE, secret=SECRET)


def token(**overrides) -> str:
    values = {
        "user_id": "u-1",
        "org_id": "org-1",
        "secret": SECRET,
        "issuer": ISSUER,
        "audience": AUDIENCE,
    }
    return mint_host_token(**{**values, **overrides})


def test_a_valid_token_names_the_caller_and_their_roles():
    caller = verifier().verify(f"Bearer {token(roles=['admin'], email='a@x.test', name='Ann')}")
    assert (caller.user_id, caller.org_id, caller.email, caller.name) == (
        "u-1",
        "org-1",
        "a@x.test",
        "Ann",
    )
    assert caller.is_admin
    assert not verifier().verify(f"Bearer {token()}").is_admin


@pytest.mark.parametrize(
    ("authorization", "reason"),
    [
        (None, "a bearer token is required"),
        ("Basic abc", "a bearer token is required"),
        ("Bearer ", "a bearer token is required"),
        ("Bearer not-a-jwt", "the token is invalid"),
    ],
)
def test_missing_or_garbled_tokens_are_refused(authorization, reason):
    with pytest.raises(Unauthenticated, match=reason):
        verifier().verify(authorization)


def test_expired_wrong_audience_wrong_issuer_and_forged_tokens_are_refused():
    cases = {
        "the token has expired": token(now=time.time() - 9 * 3600),
        "the token is not meant for this service": token(audience="other-service"),
        "the token's issuer is not trusted": token(issuer="https://evil.test"),
        "the token is invalid": token(secret="another-secret-that-is-long-enough!"),
    }
    for reason, bad in cases.items():
        with pytest.raises(Unauthenticated, match=reason) as refused:
            verifier().verify(f"Bearer {bad}")
        expired = reason == "the token has expired"
        assert refused.value.code is (
            ErrorCode.TOKEN_EXPIRED if expired else ErrorCode.INVALID_TOKEN
        )


def test_a_token_without_an_organisation_is_refused():
    claims = {"sub": "u-1", "iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 60}
    with pytest.raises(Unauthenticated, match="sub and org"):
        verifier().verify(f"Bearer {jwt.encode(claims, SECRET, algorithm='HS256')}")


def test_an_unsigned_token_is_refused():
    claims = {
        "sub": "u-1",
        "org": "o",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "exp": int(time.time()) + 60,
    }
    unsigned = jwt.encode(claims, None, algorithm="none")
    with pytest.raises(Unauthenticated, match="invalid"):
        verifier().verify(f"Bearer {unsigned}")


class _Jwks:
    def __init__(self, key) -> None:
        self.key = key

    def get_signing_key_from_jwt(self, _token):
        return self


def test_rs256_tokens_are_checked_against_the_host_apps_published_key():
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    claims = {
        "sub": "u-9",
        "org": "org-9",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "exp": int(time.time()) + 60,
    }
    signed = jwt.encode(claims, private, algorithm="RS256")
    good = HostTokenVerifier(
        issuer=ISSUER, audience=AUDIENCE, jwks_client=_Jwks(private.public_key())
    )
    assert good.verify(f"Bearer {signed}").user_id == "u-9"
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    with pytest.raises(Unauthenticated):
        HostTokenVerifier(issuer=ISSUER, audience=AUDIENCE, jwks_client=_Jwks(other)).verify(
            f"Bearer {signed}"
        )
