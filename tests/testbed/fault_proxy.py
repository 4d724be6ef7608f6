"""Faults on 127.0.0.1 between an AWS client and the moto server: a TCP proxy that records request
heads and can lose an answer, and a black hole that accepts connections and never answers.

The proxy forwards bytes as they come (HTTP/1.1 keep-alive works, one request at a time per
connection, as botocore sends them). ``lose_answer_to(predicate)`` arms it: the answer to the next
request whose head matches is read from the server (so the server has done the request) and then,
instead of being passed on, the client's connection is closed, which the AWS SDK sees as a dropped
connection and retries.
"""

import socket
import threading


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
