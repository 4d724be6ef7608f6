"""Faults on 127.0.0.1 between an AWS client and the moto server: a TCP proxy that records request
heads and can lose an answer, a black hole that accepts connections and never answers, and an HTTP
forwarder (HttpFaultProxy) that goes dark at a chosen request, answers some requests with 503, 500
or a reset, or throttles everything.

The proxy forwards bytes as they come (HTTP/1.1 keep-alive works, one request at a time per
connection, as botocore sends them). ``lose_answer_to(predicate)`` arms it: the answer to the next
request whose head matches is read from the server (so the server has done the request) and then,
instead of being passed on, the client's connection is closed, which the AWS SDK sees as a dropped
connection and retries.
"""

import http.client
import http.server
import random
import re
import socket
import struct
import threading
import time
import urllib.parse


def _close(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


class _Listener:
    """A listening socket on a free 127.0.0.1 port, served by a daemon thread."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self.connections = []
        self._stopped = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self):
        while not self._stopped:
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                return
            self.connections.append(conn)
            self.handle(conn)

    def handle(self, conn):
        raise NotImplementedError

    def stop(self):
        self._stopped = True
        _close(self.sock)
        for conn in list(self.connections):
            _close(conn)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class BlackHole(_Listener):
    """Accepts every connection and never sends a byte (a firewalled or hung endpoint)."""

    def handle(self, conn):
        pass  # keep the socket open, unread, until stop()


class FaultProxy(_Listener):
    """A TCP proxy to ``target`` (host, port) that records request heads and can lose one answer."""

    def __init__(self, target):
        self.target = target
        self.heads = []         # the head (request line and headers) of every request seen, as text
        self.lost = []          # heads of the requests whose answer was lost
        self._lose = None       # predicate(head) of the request whose answer to lose next
        self._lock = threading.Lock()
        super(FaultProxy, self).__init__()

    def lose_answer_to(self, predicate):
        with self._lock:
            self._lose = predicate

    def handle(self, conn):
        upstream = socket.create_connection(self.target, timeout=30)
        self.connections.append(upstream)
        state = {"losing": None}
        threading.Thread(target=self._client_to_server, args=(conn, upstream, state), daemon=True).start()
        threading.Thread(target=self._server_to_client, args=(upstream, conn, state), daemon=True).start()

    def _client_to_server(self, conn, upstream, state):
        try:
            while True:
                data = conn.recv(65536)
                if not data:
                    break
                head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
                if head[:8].split(" ")[0] in ("GET", "PUT", "POST", "DELETE", "HEAD"):
                    self.heads.append(head)
                    with self._lock:
                        if self._lose is not None and self._lose(head):
                            self._lose = None
                            state["losing"] = head
                upstream.sendall(data)
        except OSError:
            pass
        finally:
            _close(upstream)

    def _server_to_client(self, upstream, conn, state):
        try:
            while True:
                data = upstream.recv(65536)
                if not data:
                    break
                if state["losing"] is not None and not data.startswith(b"HTTP/1.1 100"):
                    # The server answered: it did the request. The client never hears of it.
                    self.lost.append(state["losing"])
                    break
                conn.sendall(data)
        except OSError:
            pass
        finally:
            _close(conn)
            _close(upstream)


# ---------------------------------------------------------------------------
# An HTTP forwarder that answers some requests itself: faults AWS clients must ride out or report.

# The error each service's clients parse, by the service in the request's SigV4 credential scope.
_ERROR_BODIES = {
    "s3": ("application/xml", '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
                              '<Message>{message}</Message><RequestId>{request_id}</RequestId></Error>'),
    "sts": ("text/xml", '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>{type}</Type>'
                        '<Code>{code}</Code><Message>{message}</Message></Error><RequestId>{request_id}</RequestId>'
                        '</ErrorResponse>'),
    "dynamodb": ("application/x-amz-json-1.0", '{{"__type": "com.amazonaws.dynamodb.v20120810#{code}", '
                                               '"message": "{message}"}}'),
}
# (status, code per service) of each fault.
FAULTS = {
    "503": (503, {"s3": "ServiceUnavailable", "sts": "ServiceUnavailable", "dynamodb": "ServiceUnavailable"}),
    "500": (500, {"s3": "InternalError", "sts": "InternalFailure", "dynamodb": "InternalServerError"}),
    "throttle": (None, {"s3": (503, "SlowDown"), "sts": (400, "Throttling"),
                        "dynamodb": (400, "ThrottlingException")}),
}
_HOP_BY_HOP = ("connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection")


def service_of(headers):
    """The AWS service a request is signed for (``s3``, ``sts``, ``dynamodb``), from its Authorization header."""
    match = re.search(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/", headers.get("Authorization") or "")
    return match.group(1) if match else "s3"


class HttpFaultProxy:
    """A threaded HTTP/1.1 forwarder on 127.0.0.1 in front of the moto server at ``target`` (a URL).

    Every request is read whole (Content-Length or chunked), recorded as ``(method, path, user agent)``
    in ``requests`` and forwarded on a fresh connection, unless a fault answers it:

    - ``go_dark_at(predicate)``: the first request for which ``predicate(request)`` is true is not
      forwarded; from then on the proxy accepts no connection and drops every open one (an endpoint
      that went away). ``go_dark_after(predicate)`` forwards the matching request, answers it, then goes
      dark. ``request`` is ``{"method", "path", "agent", "service", "count", "time"}`` (``time.monotonic()``).
    - ``flaky(rate, kinds, only)``: a share ``rate`` of the requests (matching ``only``, when given) is
      answered with a 503, a 500 or a reset connection (``kinds``), without reaching the server.
    - ``throttle(only)``: every request is answered with the service's throttling error
      (S3 503 SlowDown, STS Throttling, DynamoDB ThrottlingException) and an ``x-amz-request-id``.

    Bounded: loopback only, one thread per connection, a 30 s timeout on every upstream call.
    """

    def __init__(self, target, seed=18):
        self.target = urllib.parse.urlsplit(target)
        self.requests = []
        self.faulted = []
        self.dark = False
        self._dark_at = self._dark_after = None
        self._flaky = None
        self._throttle = None
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._sockets = set()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                super().setup()
                with proxy._lock:
                    proxy._sockets.add(self.connection)

            def finish(self):
                with proxy._lock:
                    proxy._sockets.discard(self.connection)
                try:
                    super().finish()
                except OSError:
                    pass

            def log_message(self, *args):
                pass

            def _serve(self):
                proxy._serve(self)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _serve

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.handle_error = lambda request, address: None  # a client gone, a socket dropped when dark
        self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()

    # -- arming ------------------------------------------------------------------------------------
    def go_dark_at(self, predicate):
        self._dark_at = predicate

    def go_dark_after(self, predicate):
        self._dark_after = predicate

    def flaky(self, rate=1.0 / 3, kinds=("503", "500", "reset"), only=None):
        self._flaky = (rate, tuple(kinds), only)

    def throttle(self, only=None):
        self._throttle = only or (lambda request: True)

    # -- serving -----------------------------------------------------------------------------------
    def _serve(self, handler):
        body = self._read_body(handler)
        with self._lock:
            request = {"method": handler.command, "path": handler.path, "agent": handler.headers.get("User-Agent") or "",
                       "service": service_of(handler.headers), "count": len(self.requests) + 1,
                       "time": time.monotonic()}
            self.requests.append(request)
            fault = self._fault_for(request)
        if fault == "dark":
            self._go_dark()
            handler.close_connection = True
            return
        if fault is not None:
            self.faulted.append((fault, request))
            self._answer_fault(handler, fault, request)
            return
        self._forward(handler, body)
        if self._dark_after is not None and self._dark_after(request):
            self._go_dark()

    def _fault_for(self, request):
        if self.dark or (self._dark_at is not None and self._dark_at(request)):
            return "dark"
        if self._throttle is not None and self._throttle(request):
            return "throttle"
        if self._flaky is not None:
            rate, kinds, only = self._flaky
            if (only is None or only(request)) and self._random.random() < rate:
                return self._random.choice(kinds)
        return None

    @staticmethod
    def _read_body(handler):
        if (handler.headers.get("Transfer-Encoding") or "").lower() == "chunked":
            chunks = []
            while True:
                size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(handler.rfile.read(size))
                handler.rfile.readline()
        length = int(handler.headers.get("Content-Length") or 0)
        return handler.rfile.read(length) if length else b""

    def _forward(self, handler, body):
        headers = {name: value for name, value in handler.headers.items() if name.lower() not in _HOP_BY_HOP}
        if body or handler.command in ("PUT", "POST"):
            headers["Content-Length"] = str(len(body))
        upstream = http.client.HTTPConnection(self.target.hostname, self.target.port, timeout=30)
        try:
            upstream.request(handler.command, handler.path, body=body, headers=headers)
            answer = upstream.getresponse()
            data = answer.read()
            handler.send_response_only(answer.status, answer.reason)
            for name, value in answer.getheaders():
                if name.lower() not in _HOP_BY_HOP and name.lower() != "content-length":
                    handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            if handler.command != "HEAD":
                handler.wfile.write(data)
        finally:
            upstream.close()

    def _answer_fault(self, handler, fault, request):
        if fault == "reset":
            # SO_LINGER 0: the close sends a TCP reset, as a dropped connection does.
            handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            handler.close_connection = True
            return
        service = request["service"] if request["service"] in _ERROR_BODIES else "s3"
        status, codes = FAULTS[fault]
        code = codes[service]
        if status is None:
            status, code = code
        request_id = "FAULTPROXY%08d" % request["count"]
        content_type, template = _ERROR_BODIES[service]
        text = template.format(code=code, message="fault proxy: %s" % code, request_id=request_id,
                               type="Receiver" if status >= 500 else "Sender").encode("utf-8")
        handler.send_response_only(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("x-amz-request-id", request_id)
        handler.send_header("x-amzn-RequestId", request_id)
        handler.send_header("Content-Length", str(len(text)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(text)

    def _go_dark(self):
        """Accept no connection any more, and drop the open ones."""
        if self.dark:
            return
        self.dark = True
        self.server.socket.close()
        with self._lock:
            for sock in list(self._sockets):
                _close(sock)

    def stop(self):
        self.dark = True
        self.server.shutdown()
        self.server.server_close()
        with self._lock:
            for sock in list(self._sockets):
                _close(sock)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
