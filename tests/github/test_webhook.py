"""The webhook receiver over a real socket: signatures, bad bodies, duplicates, and a handler that fails."""

from __future__ import annotations

import http.client
import json
import logging
import threading
import uuid
from urllib.parse import urlencode

import pytest

from bot.errors import BadSetting
from bot.github import events, webhook
from tests.fake_github.fixtures import project_payload

SECRET = "It's a Secret to Everybody"


class Receiver:
    """A running receiver plus what reached the bot through it."""

    def __init__(self, secret: str | None = SECRET, allow_insecure: bool = False, fail_with: Exception | None = None):
        self.handled: list = []
        self.delivered: set[str] = set()
        self.forgotten: list[str] = []
        self.fail_with = fail_with
        self.server = webhook.make_server(
            "127.0.0.1", 0, secret, self.handle, self.seen, forget=self.forget, allow_insecure=allow_insecure
        )
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def handle(self, event) -> None:
        if self.fail_with is not None:
            error, self.fail_with = self.fail_with, None
            raise error
        self.handled.append(event)

    def seen(self, delivery: str) -> bool:
        if delivery in self.delivered:
            return True
        self.delivered.add(delivery)
        return False

    def forget(self, delivery: str) -> None:
        self.forgotten.append(delivery)
        self.delivered.discard(delivery)

    def request(self, method: str, path: str = "/", body: bytes = b"", headers: dict | None = None):
        connection = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, json.loads(response.read() or b"null")
        finally:
            connection.close()

    def deliver(
        self,
        event: str,
        payload,
        *,
        secret: str | None = SECRET,
        delivery: str | None = None,
        path: str = "/",
        raw: bytes | None = None,
        signature: str | None = None,
        extra: dict | None = None,
    ):
        body = raw if raw is not None else json.dumps(payload).encode()
        headers = {
            "Content-Type": "application/json",
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
            "User-Agent": "GitHub-Hookshot/test",
        }
        if signature is not None:
            headers["X-Hub-Signature-256"] = signature
        elif secret is not None:
            headers["X-Hub-Signature-256"] = webhook.signature(secret, body)
        headers.update(extra or {})
        return self.request("POST", path, body, headers)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.stop()


@pytest.fixture
def opened(fake_github):
    """A pull_request/opened delivery from the fake (its shape is checked against GitHub's schema in
    test_fake_github.py)."""
    fake_github.add_repo("apache/tvm")
    number = fake_github.add_pull("apache/tvm", author="alice", fork=True)
    return fake_github.pull_request_event("apache/tvm", number, "opened")


@pytest.mark.parametrize(
    "event, name",
    [("pull_request", "synchronize.fork.json"), ("issue_comment", "created.json"), ("push", "main.json")],
)
def test_the_projects_own_payloads_are_accepted(receiver, event, name):
    payload = project_payload(event, name)
    assert receiver.deliver(event, payload)[0] == 202
    assert receiver.handled == [events.parse(event, payload)]


def test_a_signed_delivery_is_accepted_and_handled(receiver, opened):
    status, body = receiver.deliver("pull_request", opened, delivery="d-1")
    assert (status, body) == (202, {"status": "accepted", "delivery": "d-1"})
    assert receiver.handled == [events.parse("pull_request", opened)]
    assert receiver.handled[0].pull.is_fork and receiver.handled[0].pull.author == "alice"


def test_the_signature_matches_githubs_documented_example():
    """docs.github.com, "Validating webhook deliveries": this secret and body give this signature."""
    assert webhook.signature(SECRET, b"Hello, World!") == (
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    )


@pytest.mark.parametrize(
    "signature",
    [
        None,  # missing
        "",
        "sha256=" + "0" * 64,
        "sha1=757107ea0eb2509fc211221cce984b8a37570b6d",
        webhook.signature("another secret", b"{}"),
    ],
)
def test_a_missing_or_wrong_signature_is_refused(receiver, opened, signature):
    body = json.dumps(opened).encode()
    if signature is None:
        status, answer = receiver.deliver("pull_request", opened, secret=None)
    else:
        status, answer = receiver.deliver("pull_request", opened, raw=body, signature=signature)
    assert status == 401 and "X-Hub-Signature-256" in answer["error"]
    assert receiver.handled == [] and receiver.delivered == set()


def test_a_signature_of_another_body_is_refused(receiver, opened):
    tampered = json.dumps({**opened, "action": "closed"}).encode()
    status, _ = receiver.deliver(
        "pull_request", opened, raw=tampered, signature=webhook.signature(SECRET, json.dumps(opened).encode())
    )
    assert status == 401 and receiver.handled == []


def test_the_signature_is_compared_in_constant_time(receiver, opened, monkeypatch):
    compared = []
    real = webhook.hmac.compare_digest

    def spy(a, b):
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(webhook.hmac, "compare_digest", spy)
    status, _ = receiver.deliver("pull_request", opened)
    assert status == 202
    expected = webhook.signature(SECRET, json.dumps(opened).encode()).encode()
    assert compared == [(expected, expected)]


@pytest.mark.parametrize(
    "raw,message",
    [
        (b"{not json", "not a JSON object"),
        (b"[1, 2]", "not a JSON object"),
        (b"\xff\xfe", "not a JSON object"),
        (b'{"action": "opened", "pull_request": {}}', "missing"),
    ],
)
def test_a_malformed_body_is_a_400(receiver, raw, message):
    status, answer = receiver.deliver("pull_request", None, raw=raw)
    assert status == 400 and message in answer["error"]
    assert receiver.handled == []


def test_a_payload_the_parser_rejects_names_the_field(receiver, opened):
    del opened["pull_request"]["head"]["sha"]
    status, answer = receiver.deliver("pull_request", opened)
    assert (status, answer) == (400, {"error": "pull_request payload: missing pull_request.head.sha"})


def test_event_and_delivery_headers_are_required(receiver, opened):
    body = json.dumps(opened).encode()
    status, answer = receiver.request(
        "POST", "/", body, {"X-Hub-Signature-256": webhook.signature(SECRET, body), "Content-Type": "application/json"}
    )
    assert status == 400 and "X-GitHub-Event" in answer["error"]


def test_events_the_bot_does_not_act_on_are_ignored(receiver):
    payload = project_payload("check_run", "completed.json")
    assert receiver.deliver("check_run", payload) == (200, {"status": "ignored", "event": "check_run"})
    labeled = project_payload("pull_request", "labeled.json")
    assert receiver.deliver("pull_request", labeled) == (200, {"status": "ignored", "event": "pull_request"})
    assert receiver.handled == []


def test_a_repeated_delivery_is_handled_once(receiver, opened):
    assert receiver.deliver("pull_request", opened, delivery="same")[0] == 202
    assert receiver.deliver("pull_request", opened, delivery="same") == (
        200,
        {"status": "duplicate", "delivery": "same"},
    )
    assert len(receiver.handled) == 1


def test_a_failing_handler_is_a_500_and_the_server_keeps_serving(opened, caplog):
    receiver = Receiver(fail_with=RuntimeError("database is locked: secret detail"))
    try:
        with caplog.at_level(logging.ERROR, logger="perfbot.webhook"):
            status, answer = receiver.deliver("pull_request", opened, delivery="d-1")
        assert status == 500 and "secret detail" not in json.dumps(answer)
        assert "Traceback" in caplog.text and "database is locked" in caplog.text
        assert receiver.forgotten == ["d-1"]
        # GitHub's redelivery of the same delivery is handled, and so is everything after it.
        assert receiver.deliver("pull_request", opened, delivery="d-1")[0] == 202
        assert receiver.deliver("pull_request", opened, delivery="d-2")[0] == 202
        assert len(receiver.handled) == 2
    finally:
        receiver.stop()


def test_a_failing_seen_callback_is_a_500(opened):
    receiver = Receiver()
    receiver.seen = lambda delivery: (_ for _ in ()).throw(OSError("disk full"))
    receiver.server.seen = receiver.seen
    try:
        assert receiver.deliver("pull_request", opened)[0] == 500
        assert receiver.request("GET", "/healthz") == (200, {"status": "ok"})
    finally:
        receiver.stop()


def test_webhook_path_and_form_encoded_deliveries(receiver, opened):
    assert receiver.deliver("pull_request", opened, path="/webhook")[0] == 202
    form = urlencode({"payload": json.dumps(opened)}).encode()
    status, _ = receiver.deliver(
        "pull_request", None, raw=form, extra={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert status == 202 and len(receiver.handled) == 2


def test_ping_is_accepted(receiver, fake_github):
    fake_github.add_repo("apache/tvm")
    payload = fake_github.ping_event("apache/tvm", hook_id=7)
    assert receiver.deliver("ping", payload)[0] == 202
    assert receiver.handled == [events.PingEvent(zen=payload["zen"], hook_id=7, repo="apache/tvm")]


def test_comment_and_push_deliveries(receiver, fake_github):
    fake_github.add_repo("apache/tvm")
    number = fake_github.add_pull("apache/tvm", author="alice")
    comment = fake_github.issue_comment_event(fake_github.add_comment("apache/tvm", number, "bob", "@perfbot run"))
    before = fake_github.repo("apache/tvm").branches["main"]
    fake_github.push("apache/tvm", "main")
    push = fake_github.push_event("apache/tvm", "main", before)
    assert receiver.deliver("issue_comment", comment)[0] == 202
    assert receiver.deliver("push", push)[0] == 202
    comment_event, push_event = receiver.handled
    assert comment_event.is_pull_request and comment_event.body == "@perfbot run"
    assert (push_event.ref, push_event.before, push_event.default_branch) == ("refs/heads/main", before, "main")


@pytest.mark.parametrize(
    "method,path,status",
    [
        ("GET", "/healthz", 200),
        ("GET", "/", 404),
        ("POST", "/elsewhere", 404),
        ("PUT", "/", 405),
        ("DELETE", "/webhook", 405),
    ],
)
def test_other_requests(receiver, method, path, status):
    assert receiver.request(method, path)[0] == status


def test_no_content_length_or_too_big(receiver):
    connection = http.client.HTTPConnection("127.0.0.1", receiver.server.port, timeout=10)
    connection.putrequest("POST", "/")
    connection.putheader("Content-Length", str(webhook.MAX_BODY_BYTES + 1))
    connection.endheaders()
    assert connection.getresponse().status == 413
    connection.close()
    connection = http.client.HTTPConnection("127.0.0.1", receiver.server.port, timeout=10)
    connection.putrequest("POST", "/")
    connection.endheaders()
    assert connection.getresponse().status == 411
    connection.close()


def test_port_zero_binds_a_free_port(receiver):
    assert receiver.server.port > 0 and receiver.server.url.endswith(str(receiver.server.port))


def test_no_secret_refuses_to_start():
    with pytest.raises(BadSetting, match="PERFBOT_WEBHOOK_SECRET"):
        webhook.make_server("127.0.0.1", 0, None, print, lambda d: False)


def test_insecure_mode_accepts_unsigned_deliveries_and_says_so(opened, caplog):
    with caplog.at_level(logging.WARNING, logger="perfbot.webhook"):
        receiver = Receiver(secret=None, allow_insecure=True)
    try:
        assert "WITHOUT a secret" in caplog.text
        assert receiver.deliver("pull_request", opened, secret=None)[0] == 202
    finally:
        receiver.stop()
