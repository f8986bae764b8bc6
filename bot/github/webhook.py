"""The webhook receiver: GitHub POSTs events here; they are checked, parsed and handed to the bot.

What a delivery gets back, in the order the checks run:

- 404 for any path but / and /webhook (and GET /healthz, which answers 200);
- 411 / 413 without a Content-Length, or above GitHub's own 25 MB cap;
- 401 when X-Hub-Signature-256 is missing or is not the HMAC-SHA256 of the raw
  body under the shared secret (compared in constant time);
- 400 when X-GitHub-Event or X-GitHub-Delivery is missing, when the body is not
  a JSON object (form-encoded deliveries carry it in `payload=`), or when
  `events.parse` finds a field missing or mistyped;
- 200 "ignored" for events and actions the bot does not act on;
- 200 "duplicate" for a delivery id `seen` says was already received (GitHub
  redelivers on timeouts, and people press "Redeliver");
- 202 "accepted" once `handle(event)` returned;
- 500 with a generic body when `seen` or `handle` raised: the traceback is
  logged, the delivery is handed to `forget` (if given) so that a redelivery is
  handled, and the server keeps serving.

`handle` runs in the request's thread and should be quick (the bot keeps the
event in its inbox and answers); GitHub gives up on a delivery after 10 s.

Without a secret the receiver refuses to start, because anyone who can reach
the port could then queue work on the boards; `allow_insecure=True` (for a
local test, never exposed) starts it anyway, checks no signatures and says so
in the log.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bot.errors import BadSetting
from bot.github import events

PATHS = ("/", "/webhook")
HEALTH_PATH = "/healthz"
#: GitHub caps webhook payloads at 25 MB.
MAX_BODY_BYTES = 25 * 1024 * 1024
SIGNATURE_PREFIX = "sha256="


def signature(secret: str, body: bytes) -> str:
    """The X-Hub-Signature-256 value GitHub sends for `body`."""
    return SIGNATURE_PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_matches(secret: str, body: bytes, header: str | None) -> bool:
    """Whether `header` is the body's signature; constant-time, so timing tells an attacker nothing."""
    if not header:
        return False
    return hmac.compare_digest(signature(secret, body).encode(), header.strip().encode("utf-8", "replace"))


class WebhookServer(ThreadingHTTPServer):
    """A threading HTTP server that knows the secret and the bot's callbacks."""

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        secret: str | None,
        handle: Callable[[Any], None],
        seen: Callable[[str], bool],
        forget: Callable[[str], None] | None,
        logger: logging.Logger,
    ):
        self.secret = secret
        self.handle_event = handle
        self.seen = seen
        self.forget = forget
        self.log = logger
        super().__init__(address, _Handler)

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def url(self) -> str:
        host = self.server_address[0]
        return f"http://{host}:{self.port}"


def make_server(
    host: str,
    port: int,
    secret: str | None,
    handle: Callable[[Any], None],
    seen: Callable[[str], bool],
    logger: logging.Logger | None = None,
    *,
    forget: Callable[[str], None] | None = None,
    allow_insecure: bool = False,
) -> WebhookServer:
    """A bound receiver (port 0 picks a free port: see `.port`); call serve_forever() and later shutdown().

    `seen(delivery_id)` records a delivery and answers True if it was already recorded;
    `forget(delivery_id)` undoes that when handling failed, so GitHub's redelivery is handled.
    """
    logger = logger or logging.getLogger("perfbot.webhook")
    if not secret:
        if not allow_insecure:
            raise BadSetting(
                "PERFBOT_WEBHOOK_SECRET is not set: set it to the secret of the repository's "
                "webhook (Settings > Webhooks) so that forged deliveries are refused"
            )
        logger.warning("webhook receiver running WITHOUT a secret: signatures are not checked; local testing only")
    server = WebhookServer((host, port), secret, handle, seen, forget, logger)
    logger.info("webhook receiver listening on %s", server.url)
    return server


class _Handler(BaseHTTPRequestHandler):
    server: WebhookServer
    protocol_version = "HTTP/1.1"
    server_version = "perfbot-webhook"
    disable_nagle_algorithm = True  # the answer's headers and body are two writes: no delayed-ACK stall
    timeout = 30  # a client that stops sending does not hold a thread forever

    def do_GET(self) -> None:
        if urlsplit(self.path).path == HEALTH_PATH:
            self._answer(200, {"status": "ok"})
        else:
            self._answer(404, {"error": f"not found; POST deliveries to {' or '.join(PATHS)}"})

    def do_POST(self) -> None:
        if urlsplit(self.path).path not in PATHS:
            self._answer(404, {"error": f"not found; POST deliveries to {' or '.join(PATHS)}"}, close=True)
            return
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self._answer(411, {"error": "a Content-Length is required"}, close=True)
            return
        if int(length) > MAX_BODY_BYTES:
            self._answer(413, {"error": f"body larger than {MAX_BODY_BYTES} bytes"}, close=True)
            return
        body = self.rfile.read(int(length))
        self._deliver(body)

    def _not_allowed(self) -> None:
        self._answer(405, {"error": "method not allowed"}, close=True, headers={"Allow": "GET, POST"})

    do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _not_allowed

    def _deliver(self, body: bytes) -> None:
        server, log = self.server, self.server.log
        event_name = self.headers.get("X-GitHub-Event")
        delivery = self.headers.get("X-GitHub-Delivery")
        if server.secret and not signature_matches(server.secret, body, self.headers.get("X-Hub-Signature-256")):
            log.warning(
                "delivery %s from %s refused: missing or wrong X-Hub-Signature-256", delivery, self.client_address[0]
            )
            self._answer(401, {"error": "missing or wrong X-Hub-Signature-256"})
            return
        if not event_name or not delivery:
            self._answer(400, {"error": "X-GitHub-Event and X-GitHub-Delivery headers are required"})
            return
        try:
            payload = json.loads(self._payload_text(body))
            if not isinstance(payload, dict):
                raise ValueError("not a JSON object")
            event = events.parse(event_name, payload)
        except events.BadPayload as e:
            log.warning("delivery %s (%s) refused: %s", delivery, event_name, e)
            self._answer(400, {"error": str(e)})
            return
        except (ValueError, UnicodeDecodeError):
            log.warning("delivery %s (%s) refused: body is not a JSON object", delivery, event_name)
            self._answer(400, {"error": "body is not a JSON object"})
            return
        if event is None:
            log.debug("delivery %s: %s/%s ignored", delivery, event_name, payload.get("action"))
            self._answer(200, {"status": "ignored", "event": event_name})
            return
        try:
            if server.seen(delivery):
                log.info("delivery %s (%s) already received; ignored", delivery, event_name)
                self._answer(200, {"status": "duplicate", "delivery": delivery})
                return
            server.handle_event(event)
        except Exception:
            log.exception("delivery %s (%s) failed", delivery, event_name)
            self._forget(delivery)
            self._answer(500, {"error": "internal error; the delivery can be redelivered"})
            return
        log.info("delivery %s (%s) accepted", delivery, event_name)
        self._answer(202, {"status": "accepted", "delivery": delivery})

    def _payload_text(self, body: bytes) -> str:
        """The JSON text: the body itself, or its `payload` field when the hook posts form data."""
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        text = body.decode("utf-8")
        if content_type == "application/x-www-form-urlencoded":
            fields = parse_qs(text)
            if "payload" not in fields:
                raise ValueError("form body without a payload field")
            return fields["payload"][0]
        return text

    def _forget(self, delivery: str) -> None:
        if self.server.forget is None:
            return
        try:
            self.server.forget(delivery)
        except Exception:
            self.server.log.exception(
                "could not forget delivery %s; a redelivery will be taken as a duplicate", delivery
            )

    def _answer(self, status: int, body: dict, *, close: bool = False, headers: dict | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def log_message(self, format: str, *args) -> None:
        self.server.log.debug("%s %s", self.address_string(), format % args)
