import os

import azure.functions as func

from functions.http import json_response
from shared.health import check_health

blueprint = func.Blueprint()


@blueprint.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def health(req: func.HttpRequest) -> func.HttpResponse:
    report = check_health(os.environ)
    return json_response(report.as_dict(), status=200 if report.healthy else 503)
