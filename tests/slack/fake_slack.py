"""A local stand-in for Slack: Web API over HTTP and a Socket Mode websocket server.

Like bolt-python's own mock web API server, it speaks real HTTP on 127.0.0.1, so the
app's real WebClient (retries included) talks to it unchanged via SLACK_API_URL.
It records every call, keeps posted messages (so conversations.replies can return a
thread; a streamed message grows with chat.appendStream) and can be told to fail
chat.postMessage with 500 or 429 + Retry-After, or to
answer a method slowly (`delays`).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

BOT_TOKEN = "xoxb-1-fake-bot-token"
APP_TOKEN = "xapp-1-fake-app-token"
SIGNING_SECRET = "fake-signing-secret"
BOT_USER_ID = "UBOT0001"
BOT_ID = "BBOT0001"
TEAM_ID = "T0000001"


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.perf_counter)


class FakeSlack:
    """Threaded fake Slack Web API; `url` is the SLACK_API_URL to give the app."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.messages: list[dict[str, Any]] = []
        self.failures: dict[str, list[tuple[int, dict[str, str], str]]] = {}
        self.delays: dict[str, float] = {}  # seconds to wait before answering a method
        self.streaming = True  # chat.*Stream available (False: the workspace cannot stream)
        self.groups: dict[str, list[str]] = {}  # user group id -> member ids
        self.ws_url = "ws://127.0.0.1:1/"
        self._cond = threading.Condition()
        self._ts = itertools.count(1)
        self._epoch = int(time.time()) - 100_000  # unique per run, like Slack's ts
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode("utf-8")
                if "json" in (self.headers.get("Content-Type") or ""):
                    params = json.loads(raw or "{}")
                else:
                    params = dict(parse_qsl(raw, keep_blank_values=True))
                auth = self.headers.get("Authorization", "")
                if auth.startswith("Bearer "):
                    params.setdefault("token", auth[7:])
                if self.path.startswith("/response/"):
                    method = "response_url"
                    params["response_url_id"] = self.path.rsplit("/", 1)[-1]
                else:
                    method = self.path.removeprefix("/api/").split("?")[0]
                status, headers, body = fake.handle(method, params)
                data = body.encode()
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/api/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> FakeSlack:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def response_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/response/{name}"

    # ---- behaviour -------------------------------------------------------------

    def fail(
        self, method: str, status: int, times: int = 1, retry_after: int = 1, body: str = ""
    ) -> None:
        """Fail the next `times` calls; `body` replaces the JSON error ({token} is filled in
        with the caller's token, like a proxy error page echoing the request headers)."""
        headers = {"Retry-After": str(retry_after)} if status == 429 else {}
        with self._cond:
            self.failures.setdefault(method, []).extend([(status, headers, body)] * times)

    def next_ts(self) -> str:
        return f"{self._epoch + next(self._ts)}.000100"

    def add_message(self, channel: str, text: str, user: str = "UHUMAN1", **extra: Any) -> dict:
        """Seed a message (as if a human posted it) so conversations.replies can return it."""
        message = {"type": "message", "channel": channel, "user": user, "text": text}
        message |= {"ts": extra.pop("ts", None) or self.next_ts(), **extra}
        with self._cond:
            self.messages.append(message)
        return message

    def handle(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, str], str]:
        if self.delays.get(method):
            time.sleep(self.delays[method])
        with self._cond:
            pending = self.failures.get(method)
            failure = pending.pop(0) if pending else None
        result = {"ok": False, "error": "fake_failure"} if failure else self.api(method, params)
        with self._cond:  # recorded after its effect (e.g. the stored message) is visible
            self.calls.append(Call(method, params))
            self._cond.notify_all()
        if failure and failure[2]:
            return failure[0], failure[1], failure[2].replace("{token}", str(params.get("token")))
        if failure:
            return failure[0], failure[1], json.dumps(result)
        return 200, {"Content-Type": "application/json"}, json.dumps(result)

    def api(self, method: str, p: dict[str, Any]) -> dict[str, Any]:
        token = str(p.get("token", ""))
        if method == "response_url":
            return {"ok": True}
        if method == "apps.connections.open":
            if token != APP_TOKEN:
                return {"ok": False, "error": "invalid_auth"}
            return {"ok": True, "url": self.ws_url}
        if token != BOT_TOKEN:
            return {"ok": False, "error": "invalid_auth"}
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://fake.slack.com/",
                "team": "Fake",
                "user": "opsbot",
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "bot_id": BOT_ID,
            }
        if method == "chat.postMessage":
            ts = self.next_ts()
            message = {k: p.get(k) for k in ("channel", "text", "blocks", "thread_ts", "metadata")}
            message |= {"ts": ts, "user": BOT_USER_ID, "bot_id": BOT_ID, "type": "message"}
            with self._cond:
                self.messages.append(message)
            return {"ok": True, "channel": p.get("channel"), "ts": ts, "message": message}
        if method in ("chat.startStream", "chat.appendStream", "chat.stopStream"):
            return self.stream(method, p)
        if method == "conversations.replies":
            with self._cond:
                thread = [
                    m
                    for m in self.messages
                    if m.get("channel") == p.get("channel")
                    and p.get("ts") in (m.get("ts"), m.get("thread_ts"))
                ]
            return {"ok": True, "messages": sorted(thread, key=lambda m: _ts_key(m["ts"]))}
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": "D" + str(p.get("users", "")).lstrip("UW")}}
        if method == "usergroups.users.list":
            if p.get("usergroup") not in self.groups:
                return {"ok": False, "error": "no_such_subteam"}
            return {"ok": True, "users": list(self.groups[p["usergroup"]])}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": self.next_ts()}
        if method == "views.publish":
            return {"ok": True, "view": {"id": "V1", **_json(p.get("view"))}}
        if method in ("assistant.threads.setStatus", "assistant.threads.setSuggestedPrompts"):
            return {"ok": True}
        if method == "chat.update":
            with self._cond:
                for i, message in enumerate(self.messages):
                    if message["ts"] == p.get("ts") and message.get("channel") == p.get("channel"):
                        edits = {k: p[k] for k in ("text", "blocks", "metadata") if k in p}
                        edited = {k: v for k, v in message.items() if k != "markdown"}
                        self.messages[i] = edited | edits  # a new dict: callers' copies stay
            return {"ok": True, "channel": p.get("channel"), "ts": p.get("ts")}
        if method in ("reactions.add", "reactions.remove"):
            return {"ok": True, "channel": p.get("channel"), "ts": p.get("ts")}
        return {"ok": False, "error": "unknown_method"}

    def stream(self, method: str, p: dict[str, Any]) -> dict[str, Any]:
        """chat.startStream / appendStream / stopStream: one message whose markdown grows.

        `streaming = False` answers like a workspace that cannot stream.
        """
        if not self.streaming:
            return {"ok": False, "error": "not_allowed_token_type"}
        text = (p.get("markdown_text") or "") + "".join(
            c.get("text", "") for c in p.get("chunks") or [] if c.get("type") == "markdown_text"
        )
        with self._cond:
            if method == "chat.startStream":
                if not p.get("thread_ts"):
                    return {"ok": False, "error": "invalid_arguments"}
                ts = self.next_ts()
                message = {"channel": p.get("channel"), "thread_ts": p.get("thread_ts")}
                message |= {"ts": ts, "user": BOT_USER_ID, "bot_id": BOT_ID, "type": "message"}
                message |= {"markdown": text, "streaming": True}
                self.messages.append(message)
                return {"ok": True, "channel": p.get("channel"), "ts": ts}
            message = next(
                (m for m in self.messages if m["ts"] == p.get("ts") and m.get("streaming")), None
            )
            if message is None:
                return {"ok": False, "error": "message_not_found"}
            if message["streaming"] is not True:
                return {"ok": False, "error": "message_not_in_streaming_state"}
            message["markdown"] += text
            if method == "chat.stopStream":
                message["streaming"] = "stopped"
                message |= {k: p[k] for k in ("blocks", "metadata") if p.get(k)}
            return {"ok": True, "channel": p.get("channel"), "ts": message["ts"]}

    # ---- assertions -----------------------------------------------------------

    def _matching(self, method: str, match: dict[str, Any]) -> list[Call]:
        return [
            c
            for c in self.calls
            if c.method == method and all(c.params.get(k) == v for k, v in match.items())
        ]

    def find(self, method: str, **match: Any) -> list[Call]:
        with self._cond:
            return self._matching(method, match)

    def wait_for(
        self, method: str, count: int = 1, timeout: float = 30, **match: Any
    ) -> list[Call]:
        """Block until `count` matching calls arrived; returns them (raises on timeout)."""
        with self._cond:
            if not self._cond.wait_for(
                lambda: len(self._matching(method, match)) >= count, timeout
            ):
                raise AssertionError(f"timed out waiting for {count}x {method} {match}")
            return self._matching(method, match)


def _json(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return {}
    return value or {}


class FakeSocketMode:
    """Websocket server playing Slack's Socket Mode side: hello, envelopes, collects acks."""

    def __init__(self) -> None:
        from websockets.sync.server import serve

        self.acks: dict[str, dict[str, Any]] = {}
        self.connections: list[Any] = []
        self._cond = threading.Condition()
        self._ids = itertools.count(1)
        self.server = serve(self._handler, "127.0.0.1", 0)
        self.port = self.server.socket.getsockname()[1]
        self.url = f"ws://127.0.0.1:{self.port}/link/?ticket=fake"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> FakeSocketMode:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()

    def _handler(self, conn: Any) -> None:
        hello = {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A1"}}
        conn.send(json.dumps(hello))
        with self._cond:
            self.connections.append(conn)
            self._cond.notify_all()
        for message in conn:
            data = json.loads(message)
            with self._cond:
                self.acks[data.get("envelope_id", "")] = data
                self._cond.notify_all()

    def wait_connected(self, timeout: float = 60) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: self.connections, timeout):
                raise AssertionError("the app never opened the Socket Mode connection")

    def send(self, kind: str, payload: dict[str, Any], retry_attempt: int = 0) -> str:
        """Send one envelope (events_api, slash_commands, interactive); returns its id."""
        envelope_id = f"env-{next(self._ids)}"
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind != "events_api",
            "retry_attempt": retry_attempt,
            "retry_reason": "timeout" if retry_attempt else "",
        }
        with self._cond:
            conn = self.connections[-1]
        conn.send(json.dumps(envelope))
        return envelope_id

    def wait_ack(self, envelope_id: str, timeout: float = 10) -> dict[str, Any]:
        with self._cond:
            if not self._cond.wait_for(lambda: envelope_id in self.acks, timeout):
                raise AssertionError(f"no ack for {envelope_id}")
            return self.acks[envelope_id]


def events_payload(event: dict) -> dict:
    """An Events API body as Slack wraps it (HTTP body or Socket Mode envelope payload)."""
    return {
        "team_id": TEAM_ID,
        "api_app_id": "A0000001",
        "event": event,
        "type": "event_callback",
        "event_id": "Ev" + uuid.uuid4().hex[:10].upper(),
        "event_time": int(time.time()),
        "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True}],
    }


def _ts_key(ts: Any) -> tuple[int, float, str]:
    """Sort key for message ts values, tolerating the junk hostile tests seed."""
    try:
        return (0, float(ts), "")
    except (TypeError, ValueError):
        return (1, 0.0, str(ts))
