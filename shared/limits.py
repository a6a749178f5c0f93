"""Every size limit on what the app takes in, in one place (the OpenAPI description lists them).

Beyond a limit the answer is a 4xx problem with a code, never a 500, and nothing is stored: a
body too large is 413 `too_large`, anything else 400 with the code of what is wrong.
"""

from __future__ import annotations

from typing import Final

# Bodies. A conversation with 100 attendees and a recurrence is under 40 KB.
MAX_BODY_BYTES: Final = 256 * 1024  # every JSON API body
MAX_JSON_DEPTH: Final = 16  # nesting of objects and arrays; a conversation needs 4
MAX_SIGN_IN_ANSWER_BYTES: Final = 64 * 1024  # Microsoft's form_post: a code, state, client_info

# Graph's webhooks. Graph batches a few notifications per POST (the docs name no maximum; an
# item is under 1 KB): a thousand is far above what it sends, and bounds what one anonymous
# POST can make the app do.
MAX_WEBHOOK_BODY_BYTES: Final = 1024 * 1024
MAX_NOTIFICATIONS_PER_POST: Final = 1000
MAX_SUBSCRIPTION_ID: Final = 128  # Graph's are GUIDs (36)
MAX_CLIENT_STATE: Final = 128  # Graph's own limit
MAX_VALIDATION_TOKEN: Final = 4096  # echoed at the subscription handshake (Graph's are short)
# Subscriptions made before clientStates were signed can only be checked against storage: at
# most this many uncached lookups per POST (each subscription is cached once seen).
MAX_LEGACY_LOOKUPS_PER_POST: Final = 10
