"""``flows.server.prefect_server`` without a port: when another process takes the port it
found free before the server binds it, the server is started again on another one, and
the other process's answer to the health check does not pass for this server's."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from flows import server as server_module
from flows.server import prefect_server


class _Healthy(BaseHTTPRequestHandler):
    """Someone else's server: answers every GET with 200."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "4")
        self.end_headers()
        self.wfile.write(b"true")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def other_server() -> Iterator[int]:
    """A port taken by a server that says it is healthy."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Healthy)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(httpd.server_address[1])
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.slow
def test_a_port_taken_meanwhile_is_left_for_another(
    other_server: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ports = [other_server]
    real_free_port = server_module.free_port

    def taken_then_free() -> int:
        # The first port "found free" is the other server's by the time ours binds it.
        return ports.pop() if ports else real_free_port()

    monkeypatch.setattr(server_module, "free_port", taken_then_free)
    with prefect_server(tmp_path / "prefect-home") as server:
        assert server.port != other_server
        health = httpx.get(f"{server.api_url}/health", timeout=10)
        assert health.status_code == 200
        assert "Uvicorn running on" in server.log_path.read_text()
