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
import ssl
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


def make_tls_certificate(directory):
    """A self-signed certificate for 127.0.0.1; returns (cert path, key path).

    The cert is its own CA: give it to boto3 (AWS_CA_BUNDLE / aws_ca_bundle) and to terraform
    (AWS_CA_BUNDLE), so a bucket policy that denies insecure transport can be tested for real.
    """
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tfstate test bed")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                    x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    os.makedirs(directory, exist_ok=True)
    cert_path = os.path.join(directory, "moto-cert.pem")
    key_path = os.path.join(directory, "moto-key.pem")
    with open(cert_path, "wb") as handle:
        handle.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return cert_path, key_path


class MotoServer:
    """A moto server process on 127.0.0.1 (HTTP, or HTTPS with ``ca_bundle`` set)."""

    def __init__(self, pid, port, ca_bundle=None):
        self.pid = pid
        self.port = port
        self.ca_bundle = ca_bundle

    @property
    def url(self):
        return "%s://127.0.0.1:%d" % ("https" if self.ca_bundle else "http", self.port)

    def as_dict(self):
        return {"pid": self.pid, "port": self.port, "url": self.url, "ca_bundle": self.ca_bundle}

    def _open(self, request):
        context = ssl.create_default_context(cafile=self.ca_bundle) if self.ca_bundle else None
        return urllib.request.urlopen(request, timeout=10, context=context)

    @classmethod
    def start(cls, auth_after=None, log_path=None, timeout=30.0, command=None, tls_dir=None):
        """Start a server; with ``auth_after`` IAM is enforced after that many requests.

        ``command``: the server program to run instead of moto_server (it takes moto_server's
        ``-H``/``-p`` arguments), e.g. a launcher that patches moto first.
        ``tls_dir``: serve HTTPS with a self-signed certificate written there.
        """
        port = free_port()
        tls_args, ca_bundle = [], None
        if tls_dir:
            ca_bundle, key_path = make_tls_certificate(tls_dir)
            tls_args = ["-c", ca_bundle, "-k", key_path]
        env = dict(os.environ)
        env.pop("AWS_ENDPOINT_URL", None)
        if auth_after is not None:
            env["INITIAL_NO_AUTH_ACTION_COUNT"] = str(auth_after)
        log = open(log_path or os.devnull, "ab")
        proc = subprocess.Popen(
            list(command or _moto_command()) + ["-H", "127.0.0.1", "-p", str(port)] + tls_args,
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=env, start_new_session=True,
        )
        log.close()
        server = cls(proc.pid, port, ca_bundle)
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError("moto_server exited with %s (log: %s)" % (proc.returncode, log_path))
            try:
                server._open(server.url + "/moto-api/").read()
                return server
            except OSError:
                if time.monotonic() > deadline:
                    server.stop()
                    raise RuntimeError("moto_server did not answer on %s within %ss" % (server.url, timeout))
                time.sleep(0.1)

    def reset(self):
        req = urllib.request.Request(self.url + "/moto-api/reset", method="POST")
        self._open(req).read()

    def stop(self):
        try:
            os.killpg(self.pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            return
        for _attempt in range(50):
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
    parser.add_argument("--faithful", action="store_true",
                        help="lift moto's stricter-than-AWS checks (tests/testbed/moto_aws_faithful.py)")
    parser.add_argument("--tls", action="store_true",
                        help="serve HTTPS with a self-signed certificate (saved as ca_bundle in moto.json)")
    args = parser.parse_args(argv)
    os.makedirs(args.state_dir, exist_ok=True)
    state_path = os.path.join(args.state_dir, STATE_FILE)
    if args.action == "start":
        server = MotoServer.start(auth_after=args.auth_after, log_path=os.path.join(args.state_dir, "moto.log"),
                                  tls_dir=args.state_dir if args.tls else None,
                                  command=[sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                                        "moto_aws_faithful.py")]
                                  if args.faithful else None)
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
