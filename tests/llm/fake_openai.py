"""A scriptable OpenAI-compatible server on 127.0.0.1, for the failure paths.

It speaks real HTTP and real server-sent events, so the official `openai` client (with
its own timeouts and retries) talks to it unchanged. `script` decides each completion:
text to stream, or a failure (500, 429, a stall, a stream cut mid-way, garbage, empty).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODEL = "fake-model"


@dataclass
class Script:
    """What the next completions do; `mode` is one of ok, 500, 429, stall, cut, garbage,
    empty, 401. `text` is streamed word by word (`delay` seconds apart)."""

    mode: str = "ok"
    text: str = ""
    delay: float = 0.0


@dataclass
class FakeOpenAI:
    script: Script = field(default_factory=Script)
    requests: list[dict[str, Any]] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    models: tuple[str, ...] = (MODEL,)
    api_key: str = ""  # when set, other keys get 401

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if not fake._authorized(self):
                    return
                if self.path.rstrip("/") == "/v1/models":
                    data = [{"id": m, "object": "model", "owned_by": "me"} for m in fake.models]
                    self._json(200, {"object": "list", "data": data})
                else:
                    self._json(404, {"error": {"message": "not found"}})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
                if not fake._authorized(self):
                    return
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._json(404, {"error": {"message": "not found"}})
                    return
                if body.get("model") not in fake.models:
                    self._json(404, {"error": {"message": "model not found"}})
                    return
                with fake._lock:
                    fake.requests.append(body)
                    fake.in_flight += 1
                    fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
                self.counted = True
                try:
                    fake._complete(self, body)
                finally:
                    fake._done(self)

            def _json(self, status: int, payload: dict, headers: dict | None = None) -> None:
                fake._done(self)
                data = json.dumps(payload).encode()
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _done(self, handler: Any) -> None:
        """The request stops counting as in flight just before its last bytes are sent
        (once the client has them, it may start the next request)."""
        if getattr(handler, "counted", False):
            handler.counted = False
            with self._lock:
                self.in_flight -= 1

    def _authorized(self, handler: Any) -> bool:
        if self.api_key and handler.headers.get("Authorization") != f"Bearer {self.api_key}":
            handler._json(401, {"error": {"message": "Incorrect API key provided"}})
            return False
        return True

    def _complete(self, handler: Any, body: dict) -> None:
        script = self.script
        if script.mode == "500":
            handler._json(500, {"error": {"message": "internal error"}})
            return
        if script.mode == "429":
            handler._json(429, {"error": {"message": "slow down"}}, {"Retry-After": "0"})
            return
        if not body.get("stream"):  # the start-up probe
            message = {"role": "assistant", "content": "ok"}
            choice = {"index": 0, "message": message, "finish_reason": "stop"}
            handler._json(200, {"id": "c1", "object": "chat.completion", "choices": [choice]})
            return
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        if script.mode == "cut":  # promise more bytes than we send, then hang up
            handler.send_header("Content-Length", "100000")
        handler.end_headers()
        words = [] if script.mode == "empty" else script.text.split(" ")
        if script.mode == "stall":
            time.sleep(script.delay)
            return
        for i, word in enumerate(words):
            if script.mode == "cut" and i == len(words) // 2:
                handler.wfile.flush()
                handler.close_connection = True
                handler.connection.shutdown(2)
                return
            piece = word if i == 0 else " " + word
            self._event(handler, {"content": piece})
            if script.mode == "garbage" and i == 1:
                handler.wfile.write(b"data: {not json at all\n\n")
                handler.wfile.flush()
                return
            time.sleep(script.delay)
        self._event(handler, {}, finish="stop")
        usage = {"prompt_tokens": 120, "completion_tokens": len(words), "total_tokens": 0}
        chunk = {"id": "c1", "object": "chat.completion.chunk", "choices": [], "usage": usage}
        self._done(handler)
        handler.wfile.write(f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n".encode())
        handler.wfile.flush()
        handler.close_connection = True

    @staticmethod
    def _event(handler: Any, delta: dict, finish: str | None = None) -> None:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        chunk = {"id": "c1", "object": "chat.completion.chunk", "model": MODEL, "choices": [choice]}
        handler.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        handler.wfile.flush()
