"""The one FunctionApp: it registers each area's blueprint and does nothing else at import."""

import azure.functions as func

from functions.admin import blueprint as admin
from functions.availability import blueprint as availability
from functions.connection import blueprint as connection
from functions.conversations import blueprint as conversations
from functions.health import blueprint as health
from functions.openapi import blueprint as openapi
from functions.sync import blueprint as sync
from functions.webhooks import blueprint as webhooks

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)

for blueprint in (health, openapi, connection, admin, availability, conversations, webhooks, sync):
    app.register_functions(blueprint)
