"""The few HTML pages a person sees in a browser: pick an account, an error, a form_post hop."""

from __future__ import annotations

from html import escape
from urllib.parse import urlencode

from devtools.graph_emulator.directory import DirectoryUser

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;color:#1b1b1b}"
    "a.account{display:block;padding:.6rem .8rem;margin:.4rem 0;border:1px solid #ccc;"
    "border-radius:4px;text-decoration:none;color:inherit}a.account:hover{background:#f3f3f3}"
    "small{color:#666}.error{color:#a4262c}"
)


def _page(title: str, body: str) -> str:
    return (
        # An empty icon: a browser asks for none (no /favicon.ico 404 in its console)
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
        "<link rel='icon' href='data:,'>"
        f"<style>{_STYLE}</style></head><body>{body}</body></html>"
    )


def account_picker(
    action: str,
    query: dict[str, str],
    users: list[DirectoryUser],
    tenant_names: dict[str, str],
    notice: str | None = None,
    heading: str = "Pick an account",
) -> str:
    """One link per account: the same request again, with that account as `login_hint`."""
    links = "".join(
        f"<a class='account' href='{escape(action)}?"
        f"{escape(urlencode({**query, 'login_hint': u.user_principal_name or u.mail}))}'>"
        f"{escape(u.display_name)}<br><small>{escape(u.user_principal_name or u.mail)} &middot; "
        f"{escape(tenant_names.get(u.tenant_id, u.tenant_id))}"
        f"{' &middot; admin' if u.tenant_admin else ''}</small></a>"
        for u in users
    )
    warning = f"<p class='error'>{escape(notice)}</p>" if notice else ""
    return _page(
        heading,
        f"<h1>{escape(heading)}</h1><p><small>Microsoft identity platform emulator</small></p>"
        f"{warning}{links}",
    )


def error_page(description: str) -> str:
    return _page(
        "Sign in error",
        "<h1>Sorry, but we're having trouble signing you in.</h1>"
        f"<p class='error'>{escape(description)}</p>",
    )


def form_post(redirect_uri: str, params: dict[str, str]) -> str:
    """`response_mode=form_post`: the browser posts the answer to the redirect URI."""
    fields = "".join(
        f"<input type='hidden' name='{escape(k)}' value='{escape(v)}'>" for k, v in params.items()
    )
    return _page(
        "Working...",
        f"<form method='post' action='{escape(redirect_uri)}'>{fields}"
        "<noscript><button type='submit'>Continue</button></noscript></form>"
        "<script>document.forms[0].submit()</script>",
    )
