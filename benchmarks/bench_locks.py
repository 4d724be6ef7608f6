"""Lock discovery cost: lockfile_info's logic over a whole bucket against a bare listing.

Starts a moto server in a child process that fills a bucket with OBJECTS objects, LOCKS of them
``.tflock`` lock objects holding Terraform's lock JSON (the rest are state objects, never read),
straight into moto's backend (seconds instead of minutes of PutObject calls). Then times, over
HTTP, in this process and with the same client settings, rounds of:

- baseline: a plain paginated ``list_objects_v2`` loop over the bucket;
- find_locks without bodies (``read_bodies: false``): the listing plus key matching;
- find_locks with bodies (the module's default): the listing plus one GetObject per lock.

The variants run in turn in each round, each round starting with another one, so background
load hits them alike. It prints the median wall time of each and its ratio to the baseline, the
same for this process's CPU time (the client's own work: the listing requests are identical, so
the server's share is too, and CPU time is less shaken by other load on the machine than wall
time), and the API calls each made (counted with botocore event hooks). The GETs of the lock
bodies are inherent to reporting who holds a lock; the no-body figure isolates the cost of the
discovery itself.

    .venv/bin/python benchmarks/bench_locks.py [--objects 50000] [--locks 500] [--repeat 3] [--latency-ms 20]

moto spends far more CPU per listing page than AWS (it sorts the whole bucket for every page),
while its GETs are nearly free; ``--latency-ms`` adds a round trip to every request to show the
share the lock-body reads would take against AWS (they run on a few threads while the listing
goes on).
"""

import argparse
import collections
import logging
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, ".ansible", "collections"))

from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.client import AwsConnection  # noqa: E402
from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks.lock_info import dump_lock, new_lock  # noqa: E402
from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks.finding import find_locks  # noqa: E402

BUCKET = "bench-locks"
STATE_NAME = "terraform.tfstate"


def object_keys(objects, locks):
    """State keys spread over teams, roots and workspaces; the first ``locks`` of them get a lock object."""
    states = []
    for index in range(objects - locks):
        team, root, workspace = index % 20, index // 20 % 100, index // 2000
        key = "team-%02d/root-%03d/%s" % (team, root, STATE_NAME)
        states.append(key if workspace == 0 else "env:/ws-%03d/%s" % (workspace, key))
    return states, [key + ".tflock" for key in states[:locks]]


def serve(objects, locks):
    """Child process: a moto server whose bucket is filled directly in its backend; runs until stdin closes."""
    from moto.backends import get_backend
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.server import ThreadedMotoServer

    from tests.testbed.moto_server import free_port

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log line per request
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    backend = get_backend("s3")[DEFAULT_ACCOUNT_ID]["aws"]
    backend.create_bucket(BUCKET, "us-east-1")
    states, lock_keys = object_keys(objects, locks)
    for key in states:
        backend.put_object(BUCKET, key, b"{}")
    for key in lock_keys:
        lock = new_lock("%s/%s" % (BUCKET, key[:-len(".tflock")]), "OperationTypeApply")
        backend.put_object(BUCKET, key, dump_lock(lock).encode())
    print(port, flush=True)
    sys.stdin.read()
    server.stop()


def start_filled_server(objects, locks):
    """The child server process and its URL, once the bucket is full."""
    child = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--serve", "--objects", str(objects),
                              "--locks", str(locks)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                             start_new_session=True)
    port = child.stdout.readline().strip()
    if not port:
        child.wait()
        raise RuntimeError("the moto server child exited with %s" % child.returncode)
    return child, "http://127.0.0.1:%s" % port


def stop_server(child):
    child.stdin.close()
    try:
        child.wait(timeout=30)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def baseline_listing(s3):
    count = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        count += len(page.get("Contents", []))
    return count


def measure(variants, counter, repeat):
    """Run the variants in turn, ``repeat`` rounds; per variant the median seconds, the calls and a result."""
    runs = [{"name": name, "times": [], "cpu": [], "calls": None, "result": None} for name, dummy in variants]
    for round_number in range(repeat):
        # Each round starts with a different variant, so no variant always pays for going first.
        order = [(index + round_number) % len(variants) for index in range(len(variants))]
        for run, (name, action) in [(runs[index], variants[index]) for index in order]:
            counter.clear()
            start, start_cpu = time.perf_counter(), time.process_time()
            run["result"] = action()
            run["times"].append(time.perf_counter() - start)
            run["cpu"].append(time.process_time() - start_cpu)
            run["calls"] = dict(counter)
    for run in runs:
        run["seconds"] = statistics.median(run["times"])
        run["cpu_seconds"] = statistics.median(run["cpu"])
    return runs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=50000)
    parser.add_argument("--locks", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--latency-ms", type=float, default=0.0,
                        help="add this much latency to every S3 request, as a network round trip to AWS would")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        return serve(args.objects, args.locks)

    start = time.perf_counter()
    child, url = start_filled_server(args.objects, args.locks)
    print("moto server with %d objects (%d locks) ready in %.1fs" % (args.objects, args.locks, time.perf_counter() - start))
    try:
        s3 = AwsConnection(endpoint_url=url, region="us-east-1", access_key="testing", secret_key="testing").client("s3")
        counter = collections.Counter()
        s3.meta.events.register("before-call.s3.*", lambda model, **kwargs: counter.update([model.name]))
        if args.latency_ms:
            s3.meta.events.register("before-send.s3.*", lambda **kwargs: time.sleep(args.latency_ms / 1000.0))

        def client_for(service, region):
            return s3

        runs = measure([
            ("baseline list_objects_v2 loop", lambda: baseline_listing(s3)),
            ("find_locks, no bodies", lambda: find_locks(client_for, [{"bucket": BUCKET}], read_bodies=False)),
            ("find_locks, with bodies", lambda: find_locks(client_for, [{"bucket": BUCKET}])),
        ], counter, args.repeat)
    finally:
        stop_server(child)

    base = runs[0]
    assert base["result"] == args.objects, base["result"]
    for run in runs[1:]:
        assert len(run["result"]) == args.locks, len(run["result"])
    print("%d objects, %d locks, %d rounds, %.0f ms added latency per request"
          % (args.objects, args.locks, args.repeat, args.latency_ms))
    print("%-32s %9s %7s %10s %7s  %s" % ("", "wall s", "ratio", "client cpu", "ratio", "API calls per run"))
    for run in runs:
        calls = ", ".join("%s=%d" % item for item in sorted(run["calls"].items()))
        print("%-32s %9.3f %7.2f %10.3f %7.2f  %s" % (
            run["name"], run["seconds"], run["seconds"] / base["seconds"], run["cpu_seconds"],
            run["cpu_seconds"] / base["cpu_seconds"], calls))
    for run in runs:
        print("%-32s wall per round: %s" % (run["name"], " ".join("%.2f" % seconds for seconds in run["times"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
