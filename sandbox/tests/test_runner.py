import pytest
import requests
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from kconnector_sandbox.runner import ServedApp, abort_connection


async def hello(request: Request) -> JSONResponse:
    return JSONResponse({"path": request.url.path})


async def reset(request: Request) -> JSONResponse:
    abort_connection(request.scope)
    return JSONResponse({})


APP = Starlette(routes=[Route("/hello", hello), Route("/reset", reset)])


def test_served_app_answers_on_a_free_loopback_port_and_stops():
    with ServedApp(APP) as served:
        assert served.url.startswith("http://127.0.0.1:")
        assert requests.get(f"{served.url}/hello", timeout=5).json() == {"path": "/hello"}
        port = served.port
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/hello", timeout=2)


def test_abort_connection_resets_without_a_response_and_server_keeps_serving():
    with ServedApp(APP) as served:
        with pytest.raises(requests.ConnectionError, match="reset by peer"):
            requests.get(f"{served.url}/reset", timeout=5)
        assert requests.get(f"{served.url}/hello", timeout=5).status_code == 200
