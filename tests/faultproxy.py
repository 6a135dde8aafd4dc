"""A fault-injecting HTTP proxy on 127.0.0.1, for testing the S3 store against an S3
server that misbehaves.

It forwards every request, verbatim (the ``Host`` header too, so SigV4 signatures
still hold), to an upstream server (a real SeaweedFS in the tests) and can be told,
at any time, to:

* wait ``delay`` seconds before each request;
* answer 500 or 503 with an S3-style XML error body (``SlowDown``, ``InternalError``)
  instead of forwarding: to every Nth request (``every``) or to a ``rate`` fraction
  of them drawn from a seeded RNG; ``after=True`` forwards first and then replaces
  the server's answer (the server did the work, the client hears a failure);
* drop the connection in the middle of the response body (``drop``);
* refuse everything: ``reset`` closes each connection unanswered, ``down()`` stops
  listening (connections are refused) until ``up()``.

Faults apply only to requests whose method is in ``methods`` (all when empty), and
only from the ``start``-th matching request on. ``max_in_a_row`` caps how many faults
in a row one (method, path) gets, which makes an outage transient. It counts
requests, forwarded requests, answers by status and faults by kind.

>>> with FaultProxy("http://127.0.0.1:8333") as proxy:      # doctest: +SKIP
...     proxy.set(status=503, rate=0.3, seed=1)
...     ...                                                # use proxy.endpoint
...     proxy.stats()
"""

from __future__ import annotations

import contextlib
import http.client
import http.server
import random
import socket
import socketserver
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlparse

_ERRORS = {
    500: ("InternalError", "We encountered an internal error. Please try again."),
    503: ("SlowDown", "Please reduce your request rate."),
}
# Not forwarded: they describe this hop, not the request (and SigV4 signs none of them).
_HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade", "expect"}


@dataclass(frozen=True)
class Plan:
    """What the proxy does to the requests it sees (see the module docstring)."""

    delay: float = 0.0
    status: int | None = None  # 500 or 503
    every: int = 0  # every Nth matching request
    rate: float = 0.0  # or this fraction, from a seeded RNG
    seed: int = 0
    after: bool = False  # forward, then replace the answer
    drop: bool = False  # drop the connection mid-body (with every/rate; all when neither)
    reset: bool = False  # close every connection unanswered
    methods: frozenset[str] = field(default_factory=frozenset)
    start: int = 0  # the first this-many matching requests pass untouched
    max_in_a_row: int = 0  # 0: no cap


class FaultProxy:
    """A threaded proxy to ``upstream`` (``http://host:port``) on a free local port."""

    def __init__(self, upstream: str) -> None:
        parsed = urlparse(upstream)
        assert parsed.hostname and parsed.port, upstream
        self.upstream = (parsed.hostname, parsed.port)
        self._lock = threading.Lock()
        self._plan = Plan()
        self._rng = random.Random(0)
        self._matching = 0
        self._in_a_row: Counter[tuple[str, str]] = Counter()
        self.requests: Counter[str] = Counter()  # by method, every request seen
        self.forwarded = 0
        self.answers: Counter[tuple[str, int]] = Counter()  # (method, status) sent back
        self.faults: Counter[str] = Counter()  # "503", "500 after", "drop", "reset", ...
        self._open: set[Any] = set()  # handlers with a live client connection
        self._server: socketserver.ThreadingTCPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0
        self.up()

    # -- control -----------------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def set(self, **plan: Any) -> FaultProxy:
        """Replace the plan (keywords of ``Plan``); counters are kept."""
        if "methods" in plan:
            plan["methods"] = frozenset(m.upper() for m in plan["methods"])
        with self._lock:
            self._plan = replace(Plan(), **plan)
            self._rng = random.Random(self._plan.seed)
            self._matching = 0
            self._in_a_row.clear()
        return self

    def heal(self) -> FaultProxy:
        """Forward everything untouched from now on (and listen, if down)."""
        self.set()
        if self._server is None:
            self.up()
        return self

    def reset_counts(self) -> None:
        with self._lock:
            self.requests.clear()
            self.answers.clear()
            self.faults.clear()
            self.forwarded = 0

    def stats(self) -> dict[str, Any]:
        """The figures, for printing and quoting."""
        with self._lock:
            return {
                "requests": sum(self.requests.values()),
                "by_method": dict(sorted(self.requests.items())),
                "forwarded": self.forwarded,
                "faults": sum(self.faults.values()),
                "faults_by_kind": dict(sorted(self.faults.items())),
                "answers": {f"{m} {s}": n for (m, s), n in sorted(self.answers.items())},
            }

    def stored(self, method: str = "PUT") -> int:
        """How many ``method`` requests the upstream answered with 2xx."""
        with self._lock:
            return sum(n for (m, s), n in self.answers.items() if m == method and s < 300)

    def up(self) -> None:
        """Listen (again, on the same port once one was chosen)."""
        if self._server is not None:
            return
        handler = _handler(self)
        server = _Server(("127.0.0.1", self.port), handler)
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, name="fault-proxy", daemon=True
        )
        self._thread.start()

    def down(self) -> None:
        """Stop listening (new connections are refused) and cut the open ones, to the
        clients and to the upstream server."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(10)
        with self._lock:
            handlers = list(self._open)
        for handler in handlers:
            handler.cut()

    def close(self) -> None:
        self.down()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- deciding ----------------------------------------------------------------------

    def _decide(self, method: str, path: str) -> tuple[Plan, bool]:
        """(the plan, whether this request gets the plan's fault)."""
        with self._lock:
            plan = self._plan
            self.requests[method] += 1
            if plan.methods and method not in plan.methods:
                return plan, False
            self._matching += 1
            if self._matching <= plan.start:
                return plan, False
            if plan.every:
                hit = self._matching % plan.every == 0
            elif plan.rate:
                hit = self._rng.random() < plan.rate
            else:
                hit = plan.status is not None or plan.drop or plan.reset
            key = (method, path)
            if hit and plan.max_in_a_row and self._in_a_row[key] >= plan.max_in_a_row:
                hit = False
            if hit:
                self._in_a_row[key] += 1
            else:
                self._in_a_row.pop(key, None)
            return plan, hit

    def _count(self, fault: str | None, method: str = "", status: int = 0) -> None:
        with self._lock:
            if fault:
                self.faults[fault] += 1
            if status:
                self.answers[(method, status)] += 1

    def _forwarded(self) -> None:
        with self._lock:
            self.forwarded += 1

    @property
    def is_down(self) -> bool:
        return self._server is None


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a connection the proxy (or the client) cut: expected here, not news


def _error_body(status: int, path: str) -> bytes:
    code, message = _ERRORS.get(status, ("InternalError", "Injected fault."))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>"
        f"<Resource>{path}</Resource><RequestId>fault-proxy</RequestId></Error>"
    ).encode()


def _handler(proxy: FaultProxy) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        _upstream: http.client.HTTPConnection | None = None  # one per client connection

        def upstream(self) -> http.client.HTTPConnection:
            if self._upstream is None:
                self._upstream = http.client.HTTPConnection(*proxy.upstream, timeout=120)
            return self._upstream

        def setup(self) -> None:
            super().setup()
            with proxy._lock:
                proxy._open.add(self)

        def finish(self) -> None:
            with contextlib.suppress(OSError):
                super().finish()
            with proxy._lock:
                proxy._open.discard(self)
            if self._upstream is not None:
                self._upstream.close()

        def cut(self) -> None:
            """Close both sides from another thread (the proxy is going down)."""
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            upstream = self._upstream
            if upstream is not None and upstream.sock is not None:
                with contextlib.suppress(OSError):
                    upstream.sock.shutdown(socket.SHUT_RDWR)

        def log_message(self, *args: object) -> None:
            pass

        def _body(self) -> bytes:
            if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                raise RuntimeError("fault proxy: chunked request bodies are not supported")
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _handle(self) -> None:
            method = self.command
            if proxy.is_down:  # a kept-alive connection from before down()
                proxy._count("down")
                self._reset()
                return
            plan, hit = proxy._decide(method, self.path)
            if hit and plan.reset:
                proxy._count("reset")
                self._reset()
                return
            body = self._body()
            if plan.delay:
                time.sleep(plan.delay)
            if hit and plan.status and not plan.after:
                proxy._count(str(plan.status), method, plan.status)
                self._answer(plan.status, {"Content-Type": "application/xml"}, self._err(plan))
                return
            try:
                status, headers, data = self._forward(method, body)
            except OSError:
                self.close_connection = True
                self.connection.close()
                return
            proxy._forwarded()
            if hit and plan.status and plan.after:
                proxy._count(f"{plan.status} after", method, plan.status)
                self._answer(plan.status, {"Content-Type": "application/xml"}, self._err(plan))
                return
            if hit and plan.drop and len(data) > 1:
                proxy._count("drop", method, status)
                self._drop(status, headers, data)
                return
            proxy._count(None, method, status)
            self._answer(status, headers, data)

        do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _handle

        def _err(self, plan: Plan) -> bytes:
            assert plan.status is not None
            return b"" if self.command == "HEAD" else _error_body(plan.status, self.path)

        def _forward(self, method: str, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
            for attempt in range(2):  # a kept-alive upstream connection may have gone stale
                conn = self.upstream()
                try:
                    conn.putrequest(method, self.path, skip_host=True, skip_accept_encoding=True)
                    for name, value in self.headers.items():
                        if name.lower() not in _HOP:
                            conn.putheader(name, value)
                    conn.endheaders(body if body or method in ("PUT", "POST") else None)
                    response = conn.getresponse()
                    data = response.read()
                    headers = [
                        (k, v)
                        for k, v in response.getheaders()
                        if k.lower() not in _HOP and k.lower() != "transfer-encoding"
                    ]
                    return response.status, headers, data
                except (OSError, http.client.HTTPException):
                    conn.close()
                    self._upstream = None
                    if attempt:
                        raise OSError("upstream failed") from None
            raise AssertionError("unreachable")

        def _answer(self, status: int, headers: Any, data: bytes) -> None:
            pairs = list(headers.items() if isinstance(headers, dict) else headers)
            self.send_response_only(status)
            head = self.command == "HEAD"
            for name, value in pairs:
                if head or name.lower() != "content-length":
                    self.send_header(name, value)
            if not head or not any(n.lower() == "content-length" for n, _ in pairs):
                self.send_header("Content-Length", str(0 if head else len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            self.wfile.flush()

        def _drop(self, status: int, headers: Any, data: bytes) -> None:
            """Headers promising the whole body, half of it, then the connection closed."""
            self.send_response_only(status)
            for name, value in headers:
                if name.lower() != "content-length":
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            self.connection.close()

        def _reset(self) -> None:
            """Close with RST, unanswered (or mid-answer)."""
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
            self.connection.close()

    return Handler
