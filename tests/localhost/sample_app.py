"""A FunctionApp that exercises each trigger shape the local host serves; not the product."""

import json
import threading

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
timer_runs: list[bool] = []
timer_ran = threading.Event()


def _echo(name: str, req: func.HttpRequest) -> func.HttpResponse:
    body = {"function": name, "route": dict(req.route_params), "query": dict(req.params)}
    return func.HttpResponse(json.dumps(body), mimetype="application/json")


@app.route(route="items/{id:int}", methods=["GET"])
def item_by_number(req: func.HttpRequest) -> func.HttpResponse:
    return _echo("item_by_number", req)


@app.route(route="items/{name}", methods=["GET"])
def item_by_name(req: func.HttpRequest) -> func.HttpResponse:
    return _echo("item_by_name", req)


@app.route(route="items/special", methods=["GET"])
def special_item(req: func.HttpRequest) -> func.HttpResponse:
    return _echo("special_item", req)


@app.route(route="pages/{slug?}", methods=["GET"])
def pages(req: func.HttpRequest) -> func.HttpResponse:
    return _echo("pages", req)


@app.route(route="files/{*path}", methods=["GET"])
def files(req: func.HttpRequest) -> func.HttpResponse:
    return _echo("files", req)


@app.route(route="work", methods=["POST"])
@app.queue_output(arg_name="out", queue_name="sample-work", connection="AzureWebJobsStorage")
def enqueue_work(req: func.HttpRequest, out: func.Out[str]) -> func.HttpResponse:
    out.set(req.get_body().decode())
    return func.HttpResponse(status_code=202)


@app.queue_trigger(arg_name="msg", queue_name="sample-work", connection="AzureWebJobsStorage")
@app.queue_output(arg_name="done", queue_name="sample-done", connection="AzureWebJobsStorage")
def do_work(msg: func.QueueMessage, done: func.Out[str]) -> None:
    text = msg.get_body().decode()
    if text.startswith("fail"):
        raise ValueError(f"cannot do {text!r}")
    done.set(f"did {text}")


@app.queue_trigger(arg_name="msg", queue_name="sample-done", connection="AzureWebJobsStorage")
def record_done(msg: func.QueueMessage) -> None:
    pass


@app.timer_trigger(schedule="%SAMPLE_SCHEDULE%", arg_name="timer")
async def tick(timer: func.TimerRequest) -> None:
    timer_runs.append(timer.past_due)
    timer_ran.set()
