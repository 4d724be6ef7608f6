"""Job slicing: playbooks/migrate.yml over one fleet run as 1, 2 and 4 slices, as AWX job slicing runs it.

AWX splits a sliced job template's inventory into N jobs, slice k getting every N-th host
starting at the k-th, and runs them at once, usually on N execution nodes (each with its own
CPUs). This script builds, for each slice count, a fresh fleet of ROOTS provider-less roots (the
test bed's probe root, applied once with DynamoDB locking, like benchmarks/bench_migrate.py) on
a moto server it starts, then runs the slices as that many ``ansible-playbook`` processes at once,
each with ``--limit`` on its hosts and its own report directory (AWX jobs share no files), and
checks that every root migrated (one migration record per root in S3, the backend rewritten).

The machine may be shared: each step prints the 5-minute load average; figures from a run whose
load average went far above the core count say more about the neighbours than about slicing.
On this machine every slice shares the same 2 cores, so the parallel figures show what slicing
costs and gains on ONE node. To project what N separate nodes would take, the script also runs
one slice's share of the fleet alone (ROOTS / largest slice count roots), which is what each node
of a sliced job does, and fits wall = fixed + per_root x roots through that run and the unsliced
one; the projection for --project roots on N nodes is fixed + per_root x ceil(roots / N).

    .venv/bin/python benchmarks/bench_slices.py [--roots 200] [--slices 1 2 4] [--forks N]
        [--project 10000] [--setup-workers 4] [--keep]
"""

import argparse
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from benchmarks.bench_migrate import (  # noqa: E402
    BUCKETS, PLAYBOOK, RECORD_SUFFIX, Measured, build_fleet, client, configured_forks, say, write_inventory)
from tests.testbed.collection import ansible_env  # noqa: E402  (also serves the checkout as the collection)
from tests.testbed.moto_server import MotoServer  # noqa: E402
from tests.testbed.terraform import terraform_binary, terraform_env  # noqa: E402


def awx_slices(hosts, count):
    """The hosts of each slice the way AWX slices an inventory: slice k gets hosts k, k + count, k + 2 count, ..."""
    return [hosts[index::count] for index in range(count)]


def check_fleet(server, roots):
    """Every root migrated: its backend file in lockfile mode and its migration record in S3."""
    s3 = client(server, "s3")
    records = sum(1 for bucket in BUCKETS for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
                  for item in page.get("Contents", []) if item["Key"].endswith(RECORD_SUFFIX))
    if records != len(roots):
        raise RuntimeError("%d migration records in S3 for %d roots" % (records, len(roots)))
    for root in roots:
        with open(os.path.join(root, "backend.tf")) as handle:
            text = handle.read()
        if "use_lockfile" not in text or "dynamodb_table" in text:
            raise RuntimeError("%s/backend.tf was not rewritten to lockfile mode" % root)


def run_slices(server, env, forks, base, roots, terraform, count, setup_workers):
    """Build ``roots`` roots under ``base`` and migrate them as ``count`` slices at once; returns the wall time."""
    os.makedirs(base)
    start = time.perf_counter()
    paths = build_fleet(server, os.path.join(base, "roots"), roots, terraform, setup_workers)
    say("  fleet of %d roots built and applied in %.1fs" % (len(paths), time.perf_counter() - start))
    playbook = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    inventory = write_inventory(os.path.join(base, "inventory.json"), paths, server, terraform,
                                os.path.join(base, "reports-unused"))
    processes = []
    start = time.perf_counter()
    for number, part in enumerate(awx_slices(paths, count), 1):
        limit = os.path.join(base, "slice-%d.limit" % number)
        with open(limit, "w") as handle:
            handle.write("\n".join(os.path.basename(path) for path in part) + "\n")
        argv = [playbook, PLAYBOOK, "-i", inventory, "-f", str(forks), "--limit", "@" + limit,
                "-e", "migrate_report_dir=%s" % os.path.join(base, "reports-%d" % number)]
        log = open(os.path.join(base, "slice-%d.log" % number), "wb")
        processes.append((subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                           stdin=subprocess.DEVNULL), log))
    for process, log in processes:
        process.wait()
        log.close()
    wall = time.perf_counter() - start
    failed = [number for number, (process, _log) in enumerate(processes, 1) if process.returncode]
    if failed:
        raise RuntimeError("slice(s) %s failed; see %s/slice-N.log" % (failed, base))
    check_fleet(server, paths)
    return wall


def run_alone(server, env, forks, base, roots, terraform, setup_workers):
    """One slice's share of the fleet alone on the machine (what one execution node runs)."""
    os.makedirs(base)
    paths = build_fleet(server, os.path.join(base, "roots"), roots, terraform, setup_workers)
    inventory = write_inventory(os.path.join(base, "inventory.json"), paths, server, terraform,
                                os.path.join(base, "reports"))
    argv = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), PLAYBOOK, "-i", inventory,
            "-f", str(forks), "-e", "migrate_report_dir=%s" % os.path.join(base, "reports")]
    measured = Measured(argv, env, os.path.join(base, "alone.log")).run()
    if measured.returncode:
        raise RuntimeError("migrate.yml failed (rc %s):\n%s" % (measured.returncode, measured.tail()))
    check_fleet(server, paths)
    return measured.wall


def fmt_duration(seconds):
    hours, rest = divmod(int(round(seconds)), 3600)
    return "%dh%02dm" % (hours, rest // 60) if hours else "%dm%02ds" % divmod(rest, 60)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--roots", type=int, default=200)
    parser.add_argument("--slices", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--forks", type=int, help="ansible-playbook -f per slice (default: the configured forks)")
    parser.add_argument("--project", type=int, default=10000, help="fleet size to project (default %(default)s)")
    parser.add_argument("--nodes", type=int, nargs="+", default=[1, 2, 4, 8, 16], help="node counts to project for")
    parser.add_argument("--setup-workers", type=int, default=4)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    if 1 not in args.slices:
        parser.error("--slices must include 1 (the unsliced run every ratio is taken against)")

    terraform = terraform_binary()
    if not terraform:
        parser.error("terraform is not on the PATH")
    work = tempfile.mkdtemp(prefix="bench-slices.")
    server = MotoServer.start(log_path=os.path.join(work, "moto.log"))
    env = ansible_env(terraform_env(server.url, workdir=work))
    forks = args.forks or configured_forks(env)
    say("work directory %s, moto server %s, %d forks per slice, %d roots" % (work, server.url, forks, args.roots))
    walls = {}
    try:
        for count in sorted(args.slices):
            say("%d slice(s) at once" % count)
            walls[count] = run_slices(server, env, forks, os.path.join(work, "slices-%d" % count), args.roots,
                                      terraform, count, args.setup_workers)
            say("  %d slice(s): %.1fs wall (load average %.1f)" % (count, walls[count], os.getloadavg()[1]))
        share = int(math.ceil(args.roots / float(max(args.slices))))
        say("one slice's share alone: %d roots" % share)
        alone = run_alone(server, env, forks, os.path.join(work, "alone"), share, terraform, args.setup_workers)
        say("  %d roots alone: %.1fs wall (load average %.1f)" % (share, alone, os.getloadavg()[1]))
    finally:
        server.stop()

    print("\n%d provider-less roots, %d forks per slice, one 2-core machine shared by every slice" % (
        args.roots, forks))
    print("%-28s %8s %8s %12s" % ("run", "wall s", "s/root", "× unsliced"))
    for count in sorted(walls):
        print("%-28s %8.1f %8.2f %12.2f" % ("%d slice(s) at once" % count, walls[count], walls[count] / args.roots,
                                            walls[count] / walls[1]))
    print("%-28s %8.1f %8.2f %12.2f" % ("%d roots alone (1 node's share)" % share, alone, alone / share,
                                        alone / walls[1]))
    per_root = (walls[1] - alone) / float(args.roots - share) if args.roots != share else walls[1] / args.roots
    fixed = max(0.0, walls[1] - per_root * args.roots)
    print("fit on one node: wall = %.1f s + %.3f s x roots" % (fixed, per_root))
    print("projected for %d roots, one slice per node (each node like this machine):" % args.project)
    for nodes in args.nodes:
        print("  %3d node(s): %s" % (nodes, fmt_duration(fixed + per_root * math.ceil(args.project / float(nodes)))))
    if args.keep:
        print("\nkept %s" % work)
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
