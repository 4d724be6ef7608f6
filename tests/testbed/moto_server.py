#!/usr/bin/env python3
"""Start and stop a local moto server (S3, DynamoDB, STS, IAM over HTTP) as a stand-in for AWS.

Used by the pytest fixtures, Molecule's create/destroy playbooks and the demo:

    python tests/testbed/moto_server.py start --state-dir DIR [--auth-after N]
    python tests/testbed/moto_server.py stop --state-dir DIR

``start`` prints and saves ``{"pid", "port", "url"}`` to DIR/moto.json; ``stop`` ends the
server by its pid (its whole process group) and is safe to call twice.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

STATE_FILE = "moto.json"


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _moto_command():
    # Prefer the moto_server next to this interpreter (the project's venv).
    candidate = os.path.join(os.path.dirname(sys.executable), "moto_server")
    if os.path.exists(candidate):
        return [candidate]
    found = shutil.which("moto_server")
    if found:
        return [found]
    return [sys.executable, "-m", "moto.server"]


class MotoServer:
    """A moto server process on 127.0.0.1."""

    def __init__(self, pid, port):
        self.pid = pid
        self.port = port

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def as_dict(self):
        return {"pid": self.pid, "port": self.port, "url": self.url}

    @classmethod
    def start(cls, auth_after=None, log_path=None, timeout=30.0, command=None):
        """Start a server; with ``auth_after`` IAM is enforced after that many requests.

        ``command``: the server program to run instead of moto_server (it takes moto_server's
        ``-H``/``-p`` arguments), e.g. a launcher that patches moto first.
        """
        port = free_port()
        env = dict(os.environ)
        env.pop("AWS_ENDPOINT_URL", None)
        if auth_after is not None:
            env["INITIAL_NO_AUTH_ACTION_COUNT"] = str(auth_after)
        log = open(log_path or os.devnull, "ab")
        proc = subprocess.Popen(
            list(command or _moto_command()) + ["-H", "127.0.0.1", "-p", str(port)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=env, start_new_session=True,
        )
        log.close()
        server = cls(proc.pid, port)
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError("moto_server exited with %s (log: %s)" % (proc.returncode, log_path))
            try:
                urllib.request.urlopen(server.url + "/moto-api/", timeout=1).read()
                return server
            except OSError:
                if time.monotonic() > deadline:
                    server.stop()
                    raise RuntimeError("moto_server did not answer on %s within %ss" % (server.url, timeout))
                time.sleep(0.1)

    def reset(self):
        req = urllib.request.Request(self.url + "/moto-api/reset", method="POST")
        urllib.request.urlopen(req, timeout=10).read()

    def stop(self):
        try:
            os.killpg(self.pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            return
        for _ in range(50):
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                return
            try:  # reap it when it is our child
                if os.waitpid(self.pid, os.WNOHANG)[0]:
                    return
            except ChildProcessError:
                pass
            time.sleep(0.1)
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["start", "stop"])
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--auth-after", type=int, default=None,
                        help="enforce IAM after this many requests (INITIAL_NO_AUTH_ACTION_COUNT)")
    args = parser.parse_args(argv)
    os.makedirs(args.state_dir, exist_ok=True)
    state_path = os.path.join(args.state_dir, STATE_FILE)
    if args.action == "start":
        server = MotoServer.start(auth_after=args.auth_after, log_path=os.path.join(args.state_dir, "moto.log"))
        with open(state_path, "w") as handle:
            json.dump(server.as_dict(), handle)
        print(json.dumps(server.as_dict()))
        return 0
    if os.path.exists(state_path):
        with open(state_path) as handle:
            saved = json.load(handle)
        MotoServer(saved["pid"], saved["port"]).stop()
        os.unlink(state_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
