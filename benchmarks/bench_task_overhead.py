"""What one task costs Ansible per host, by kind: the price list behind bench_migrate.py's task table.

Runs, on a moto server it starts, one small playbook per kind of task: HOSTS inventory hosts
(``connection: local``, the venv's Python, as the fleet roles run), each playbook REPEAT copies
of one task. It measures the CPU time (user + system) of the whole ansible-playbook process tree
and subtracts an empty playbook's, so the figure is the cost of one task on one host:

- ``debug``, ``set_fact``, ``assert`` and a task skipped by ``when``: run in the forked worker only;
- ``command: /bin/true`` and ``stat``: a module run (a new Python process unpacking AnsiballZ);
- ``tfstate.s3_backend.state_info`` and ``tfstate.s3_backend.lockfile_info``: a module that also
  builds boto3 clients and makes a few API calls to moto.

CPU time is used rather than wall time: the machine is shared, and a fleet run is CPU-bound.

    .venv/bin/python benchmarks/bench_task_overhead.py [--hosts 10] [--repeat 5] [--rounds 3]
"""

import argparse
import json
import os
import statistics
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from benchmarks.bench_migrate import Measured, client, say  # noqa: E402
from tests.testbed.collection import ansible_env  # noqa: E402  (bench_migrate serves the checkout)
from tests.testbed.moto_server import MotoServer  # noqa: E402

BUCKET = "bench-overhead"
AWS = "endpoint_url: '{{ endpoint }}', access_key: testing, secret_key: testing, region: us-east-1"
KINDS = (
    ("empty playbook (subtracted)", None),
    ("debug", "ansible.builtin.debug: {msg: '{{ inventory_hostname }}'}"),
    ("set_fact", "ansible.builtin.set_fact: {probe: \"{{ {'host': inventory_hostname, 'n': 1} }}\"}"),
    ("assert", "ansible.builtin.assert: {that: inventory_hostname | length > 0, quiet: true}"),
    ("skipped by when", "ansible.builtin.debug: {msg: never}\n      when: inventory_hostname == 'none'"),
    ("command /bin/true", "ansible.builtin.command: {argv: [/bin/true]}\n      changed_when: false"),
    ("stat", "ansible.builtin.stat: {path: /tmp, get_checksum: false}"),
    ("tfstate state_info (S3)", "tfstate.s3_backend.state_info: {bucket: %s, key: k/terraform.tfstate, %s}" % (BUCKET, AWS)),
    ("tfstate lockfile_info (S3 + DynamoDB)",
     "tfstate.s3_backend.lockfile_info: {bucket: %s, key: k/terraform.tfstate, dynamodb_table: locks, %s}" % (BUCKET, AWS)),
)


def write_playbook(path, task, repeat):
    with open(path, "w") as handle:
        handle.write("- hosts: all\n  connection: local\n  gather_facts: false\n  tasks:\n")
        for index in range(repeat if task else 0):
            handle.write("    - name: Task %d\n      %s\n" % (index, task))
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5, help="copies of the task in each playbook")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--forks", type=int, default=5)
    args = parser.parse_args(argv)

    work = tempfile.mkdtemp(prefix="bench-overhead.")
    server = MotoServer.start(log_path=os.path.join(work, "moto.log"))
    try:
        client(server, "s3").create_bucket(Bucket=BUCKET)
        client(server, "dynamodb").create_table(
            TableName="locks", BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}])
        inventory = os.path.join(work, "inventory.json")
        with open(inventory, "w") as handle:
            json.dump({"all": {"hosts": dict(("host-%02d" % index, {}) for index in range(args.hosts)), "vars": {
                "ansible_python_interpreter": sys.executable, "endpoint": server.url}}}, handle)
        env = ansible_env()
        cpu = dict((name, []) for name, _task in KINDS)
        for round_number in range(1, args.rounds + 1):
            for index, (name, task) in enumerate(KINDS):
                playbook = write_playbook(os.path.join(work, "kind-%d.yml" % index), task, args.repeat)
                run = Measured([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), playbook, "-i",
                                inventory, "-f", str(args.forks)], env, os.path.join(work, "kind-%d.log" % index)).run()
                if run.returncode != 0:
                    raise RuntimeError("%s failed:\n%s" % (name, run.tail()))
                cpu[name].append(run.cpu)
            say("round %d done" % round_number)
    finally:
        server.stop()

    empty = statistics.median(cpu[KINDS[0][0]])
    print("\n%d hosts, %d tasks per playbook, forks %d, median of %d rounds"
          % (args.hosts, args.repeat, args.forks, args.rounds))
    print("%-40s %12s %22s" % ("task kind", "playbook CPU s", "CPU s per task and host"))
    for name, _task in KINDS:
        median = statistics.median(cpu[name])
        per_task = (median - empty) / (args.hosts * args.repeat) if name != KINDS[0][0] else 0.0
        print("%-40s %12.2f %22.3f" % (name, median, per_task))
    return 0


if __name__ == "__main__":
    sys.exit(main())
