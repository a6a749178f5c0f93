"""The one FunctionApp: it registers each area's blueprint and does nothing else at import."""

import logging

import azure.functions as func

from functions.admin import blueprint as admin
from functions.availability import blueprint as availability
from functions.connection import blueprint as connection
from functions.conversations import blueprint as conversations
from functions.health import blueprint as health
from functions.openapi import blueprint as openapi
from functions.sync import blueprint as sync
from functions.webhooks import blueprint as webhooks
from shared.correlation import tag_log_lines

# The Azure SDKs log each storage and Key Vault request and response, headers and all, at INFO:
# thousands of lines a day that bury the app's own and that Application Insights bills for.
# Their warnings and errors still come through.
for chatty in ("azure.core.pipeline.policies.http_logging_policy", "azure.identity"):
    logging.getLogger(chatty).setLevel(logging.WARNING)
tag_log_lines()  # a notification's correlation id on the lines of the work it causes

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)

for blueprint in (health, openapi, connection, admin, availability, conversations, webhooks, sync):
    app.register_functions(blueprint)
