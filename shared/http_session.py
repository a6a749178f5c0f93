"""HTTP sessions that read the environment once per origin, not on every request.

A plain requests.Session (and the one azure-core makes for the storage SDKs) looks for
proxies (HTTP_PROXY, HTTPS_PROXY, NO_PROXY), a CA bundle (REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE)
and a ~/.netrc on every request, walking all of os.environ several times each. On a Functions
instance, with a hundred app settings in its environment, that was a fifth of the CPU of a
subscription renewal (bench/scale.py). These sessions keep what the environment says for each
origin the first time they call it, and never use ~/.netrc (Graph and storage authenticate
with tokens; a netrc entry would replace the Authorization header). The environment is read at
start-up in Azure: an instance's app settings change only with a restart.
"""

from __future__ import annotations

import os
import threading
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.utils import get_environ_proxies
from urllib3.util.retry import Retry

# Requests in flight at once to one host: a queue worker runs up to 24 messages (host.json's
# batchSize + newBatchThreshold) and a timer run sends 16 at a time. requests keeps 10 by
# default and discards the others after each use, so each busy request paid a new connection.
POOL_SIZE = 32


class EnvironmentOnceSession(requests.Session):
    """`trusted_ca`: a CA bundle to trust instead of the environment's (the emulator's, locally);
    with one, the environment is not consulted at all, as before (no proxies for loopback)."""

    def __init__(self, trusted_ca: str | None = None, *, retries: Retry | int = 0) -> None:
        super().__init__()
        self.trust_env = False  # requests' own per-request lookups, replaced below
        self._read_environment = not trusted_ca
        if trusted_ca:
            self.verify = trusted_ca
        self._origins: dict[str, tuple[dict[str, str], str | None]] = {}
        self._lock = threading.Lock()
        adapter = HTTPAdapter(pool_maxsize=POOL_SIZE, max_retries=retries)
        self.mount("https://", adapter)
        self.mount("http://", adapter)

    def merge_environment_settings(
        self, url: str | bytes | None, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> Any:
        if self._read_environment and url:
            env_proxies, env_ca = self._environment_for(
                url.decode() if isinstance(url, bytes) else url
            )
            proxies = dict(proxies or {})
            for scheme, proxy in env_proxies.items():
                proxies.setdefault(scheme, proxy)
            if verify is True or verify is None:
                verify = env_ca or verify
        return super().merge_environment_settings(url, proxies, stream, verify, cert)

    def _environment_for(self, url: str) -> tuple[dict[str, str], str | None]:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        with self._lock:
            known = self._origins.get(origin)
        if known is None:
            ca = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
            known = (get_environ_proxies(origin), ca)  # NO_PROXY is matched by host, not path
            with self._lock:
                self._origins[origin] = known
        return known


def storage_transport() -> Any:
    """An azure-core transport on such a session, retries left to the SDK's policy as
    azure-core's own transport leaves them."""
    from azure.core.pipeline.transport import RequestsTransport

    retries = Retry(total=False, redirect=False, raise_on_status=False)
    return RequestsTransport(session=EnvironmentOnceSession(retries=retries), session_owner=True)
