"""Fleet migration cost: playbooks/migrate.yml over N real Terraform roots against a shell loop of init and plan.

Each round, on a moto server this script starts (and resets between rounds):

1. builds a fleet of ROOTS roots the way tests/system/test_migrate_fleet.py does: two
   versioned buckets, one DynamoDB lock table, every root created and applied once by real
   terraform with ``dynamodb_table`` locking (a thread pool builds them; not timed);
2. times ``ansible-playbook playbooks/migrate.yml`` (target ``lockfile``) on the fleet, and checks
   that every root migrated (the run's report, and each root's migration record in S3), except the
   ``--stopped-roots`` whose state someone else holds locked: they must stop, fail the run (exit
   2) and be reported ``stopped``; then times an idempotent rerun over the migrated roots (wall
   time per root, tasks run per root, and the AWS write calls the phases made: zero expected);
3. times the baseline: a plain ``bash`` loop running ``terraform init -reconfigure && terraform
   plan`` in every root, one root after the other, as the issue states it. The same loop spread
   over as many processes as ansible has forks (``xargs -P``) is timed too, so the share of the
   ratio that only comes from running roots in parallel can be seen;
4. the rollback leg (unless ``--no-rollback``): ``playbooks/rollback.yml`` over the same migrated
   roots (after the baselines, which need them in lockfile mode), timed and checked (every root
   ``rolled_back`` in the report, its migration record ``dynamodb`` in S3), compared with the
   round's migrate.yml wall time (at most 1.2x), then its idempotent rerun (every root
   ``unchanged``, wall per root at most 0.5 s, zero AWS write calls).

Why the baseline runs on the migrated fleet, not on a second copy: the migration's own terraform
work ends with an init and a plan in lockfile mode, and running the loop after it on the same
roots gives terraform exactly the same configuration (``use_lockfile``, no ``dynamodb_table``),
the same states and the same lock path (the ``.tflock`` object). A second, unmigrated copy would
plan with DynamoDB locking (two more API round trips per plan against a moto table) and need twice
the set-up. The baseline always runs second in its round; the terraform binary and the roots are
in the page cache by then for both runs (set-up ran terraform twice per root).

Both commands get the same environment (the testbed's terraform environment, output to a log
file) and are measured the same way: wall time; CPU time (user + system) of the whole process
tree (``os.wait4``); the largest single process (``ru_maxrss``); and the peak of the summed RSS of
every process in the tree, sampled from /proc every 0.25 s (forked ansible workers share pages
with their parent, so the sum over-counts; it is an upper bound).

Which roots (``--roots-kind``): ``probe`` (default) is the test bed's probe root (one
``terraform_data``, no provider), whose init and plan cost ~0.2 s, so the ratio only measures
Ansible's overhead per task. Real roots use the AWS provider, whose plan loads a big schema
(~12 s wall here); ``aws`` adds it, from the filesystem mirror ``--provider-mirror`` (the same CLI
configuration for set-up, playbook and baselines), and three resources moto serves, so the ratio
is weighed against representative terraform work. Its fleets build slowly, on 2 threads by default.

The machine is shared, so the script prints a timestamp for every step (to spot noisy rounds)
and the median over ``--rounds`` of each figure, and of the per-round ratios. A small callback
(benchmarks/callback_plugins/task_durations.py) records every task's duration per root; the
script prints the tasks that cost the most, per root and in wall time.

    .venv/bin/python benchmarks/bench_migrate.py [--roots 50] [--rounds 3] [--forks N]
        [--variant 'LABEL [-f N] [NAME=VALUE ...]' ...] [--roots-kind probe|aws]
        [--provider-mirror /opt/tf-plugins] [--setup-workers 4 (aws: 2)] [--keep]
"""

import argparse
import collections
import concurrent.futures
import configparser
import datetime
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402

from tests.testbed.collection import ansible_env, link_collection  # noqa: E402
from tests.testbed.moto_server import MotoServer  # noqa: E402
from tests.testbed.terraform import MAIN_TF, TerraformRoot, terraform_binary, terraform_env  # noqa: E402

link_collection()  # serve the checkout as the collection

PLAYBOOK = os.path.join(ROOT, "playbooks", "migrate.yml")
ROLLBACK_PLAYBOOK = os.path.join(ROOT, "playbooks", "rollback.yml")
CALLBACKS = os.path.join(ROOT, "benchmarks", "callback_plugins")
BUCKETS = ("bench-fleet-a", "bench-fleet-b")
TABLE = "terraform-locks"
REGION = "us-east-1"
RECORD_SUFFIX = ".tfstate-s3-backend.json"
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
SAMPLE_SECONDS = 0.25

AWS_PROVIDER = "registry.terraform.io/hashicorp/aws"
AWS_PROVIDER_VERSION = "5.100.0"
AWS_PROVIDER_PLATFORM = "linux_amd64"
DEFAULT_PROVIDER_MIRROR = "/opt/tf-plugins"
ROOTS_KINDS = {
    "probe": "probe (tests/testbed/probe.tf: terraform_data only, no provider)",
    "aws": "aws (AWS provider %s, 3 resources)" % AWS_PROVIDER_VERSION,
}
SETUP_WORKERS = {"probe": 4, "aws": 2}  # an aws root's apply costs ~19 s of CPU

# The AWS provider always from the mirror, never downloaded (from an unpacked mirror terraform init symlinks it
# into .terraform); any other provider as usual.
CLI_CONFIG_AWS = """provider_installation {
  filesystem_mirror {
    path    = "%(mirror)s"
    include = ["%(provider)s"]
  }
  direct {
    exclude = ["%(provider)s"]
  }
}
"""

# Appended to the probe root (whose variables and terraform_data TerraformRoot.apply relies on).
AWS_TF = """
terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "%(version)s"
    }
  }
}

provider "aws" {
  region                      = "%(region)s"
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  s3_use_path_style           = true

  endpoints {
    s3       = "%(url)s"
    iam      = "%(url)s"
    sts      = "%(url)s"
    dynamodb = "%(url)s"
  }
}

resource "aws_s3_bucket" "data" {
  bucket = "bench-data-%(name)s"
}

resource "aws_s3_object" "config" {
  bucket  = aws_s3_bucket.data.id
  key     = "config.json"
  content = jsonencode({ root = "%(name)s" })
}

resource "aws_iam_policy" "read" {
  name = "bench-read-%(name)s"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["s3:GetObject"]
      Resource = ["${aws_s3_bucket.data.arn}/*"]
    }]
  })
}
"""

# The same terraform commands the role runs (roles/tfstate/tasks/discover.yml, plugins/action/root_cutover.py's phases).
BASELINE_STEP = ('cd "$1" && "$TERRAFORM" init -no-color -input=false -reconfigure -backend-config=use_path_style=true'
                 ' && "$TERRAFORM" plan -no-color -input=false -lock-timeout=60s')
SEQUENTIAL_LOOP = 'for root in "$@"; do sh -c \'%s\' step "$root" || exit 1; done' % BASELINE_STEP


def say(message):
    print("[%s] %s" % (datetime.datetime.now().strftime("%H:%M:%S"), message), flush=True)


def client(server, service):
    return boto3.client(service, endpoint_url=server.url, region_name=REGION, aws_access_key_id="testing",
                        aws_secret_access_key="testing", config=Config(s3={"addressing_style": "path"}))


def mirrored_aws_provider(mirror):
    """Path of the AWS provider's binary (unpacked layout) or zip (packed layout) in ``mirror``, or None."""
    unpacked = os.path.join(mirror, AWS_PROVIDER, AWS_PROVIDER_VERSION, AWS_PROVIDER_PLATFORM)
    packed = os.path.join(mirror, AWS_PROVIDER, "terraform-provider-aws_%s_%s.zip" % (AWS_PROVIDER_VERSION,
                                                                                      AWS_PROVIDER_PLATFORM))
    if os.path.isdir(unpacked):
        for name in sorted(os.listdir(unpacked)):
            if name.startswith("terraform-provider-aws"):
                return os.path.join(unpacked, name)
    return packed if os.path.isfile(packed) else None


def write_cli_config(work, kind, mirror):
    """The terraform CLI configuration file every terraform run of this kind uses (None: the testbed's empty one)."""
    if kind != "aws":
        return None
    path = os.path.join(work, "terraformrc-aws")
    with open(path, "w") as handle:
        handle.write(CLI_CONFIG_AWS % {"mirror": os.path.abspath(mirror), "provider": AWS_PROVIDER})
    return path


def build_fleet(server, base, count, terraform, workers, kind="probe", cli_config=None):
    """A fresh server state and ``count`` roots under ``base``, each applied once with DynamoDB locking.

    ``kind`` is one of ROOTS_KINDS; ``cli_config`` replaces the testbed's empty CLI configuration.
    """
    server.reset()
    for bucket in BUCKETS:
        s3 = client(server, "s3")
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    client(server, "dynamodb").create_table(
        TableName=TABLE, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}])

    def make(index):
        name = "root-%03d" % index
        root = TerraformRoot(os.path.join(base, name), server.url, binary=terraform)
        if cli_config:
            root.env["TF_CLI_CONFIG_FILE"] = cli_config
        if kind == "aws":
            root.write("main.tf", MAIN_TF + AWS_TF % {"version": AWS_PROVIDER_VERSION, "region": REGION,
                                                      "url": server.url, "name": name})
        else:
            root.write_main()
        root.write_backend(bucket=BUCKETS[index % len(BUCKETS)], key="root-%03d/terraform.tfstate" % index,
                           dynamodb_table=TABLE)
        root.init()
        # TerraformRoot.run releases a lock terraform's own resent PutItem left behind, and retries.
        applied = root.apply(serial="1", check=False)
        if applied.returncode:
            raise RuntimeError("terraform apply failed in %s:\n%s" % (root.path, applied.stderr))
        return root.path

    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(make, range(count)))


def hold_locks(server, roots):
    """A DynamoDB lock held by someone else on each of ``roots``' states: the migration must stop them."""
    dynamodb = client(server, "dynamodb")
    for root in roots:
        index = int(os.path.basename(root).split("-")[1])
        path = "%s/root-%03d/terraform.tfstate" % (BUCKETS[index % len(BUCKETS)], index)
        info = json.dumps({"ID": "00000000-0000-4000-8000-%012d" % index, "Operation": "OperationTypeApply",
                           "Info": "", "Who": "someone@elsewhere", "Version": "1.11.4",
                           "Created": "2026-11-29T10:00:00.000000000Z", "Path": path})
        dynamodb.put_item(TableName=TABLE, Item={"LockID": {"S": path}, "Info": {"S": info}})


def release_held_locks(server):
    """Delete the locks hold_locks() took, so the baselines can plan every root."""
    dynamodb = client(server, "dynamodb")
    for item in dynamodb.scan(TableName=TABLE).get("Items", []):
        if "someone@elsewhere" in item.get("Info", {}).get("S", ""):
            dynamodb.delete_item(TableName=TABLE, Key={"LockID": item["LockID"]})


def write_inventory(path, roots, server, terraform, report_dir):
    hosts = dict((os.path.basename(root), {"tfstate_root": root}) for root in roots)
    with open(path, "w") as handle:
        json.dump({"all": {"hosts": hosts, "vars": {
            "tfstate_aws_endpoint_url": server.url,
            "tfstate_terraform_bin": terraform,
            "migrate_report_dir": report_dir,
            "rollback_report_dir": report_dir,
            "migrate_target": "lockfile",
        }}}, handle, indent=1)
    return path


def sample_tree(top_pid):
    """Summed RSS in bytes of ``top_pid`` and all its descendants, and the CPU seconds ``top_pid`` used itself."""
    children, rss, own_cpu = collections.defaultdict(list), {}, 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as handle:
                fields = handle.read().rsplit(")", 1)[1].split()  # fields[0] is field 3 of stat(5)
        except OSError:  # the process ended meanwhile
            continue
        pid = int(entry)
        children[int(fields[1])].append(pid)
        rss[pid] = int(fields[21]) * PAGE_SIZE
        if pid == top_pid:
            own_cpu = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    total, todo = 0, [top_pid]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, ()))
    return total, own_cpu


class Measured:
    """Wall time, tree CPU time, the top process's own CPU time, largest process and peak tree RSS of a command."""

    def __init__(self, argv, env, log_path, cwd=ROOT):
        self.argv, self.env, self.log_path, self.cwd = argv, env, log_path, cwd
        self.wall = self.cpu = self.own_cpu = self.max_rss = self.peak_tree_rss = None
        self.returncode = None

    def run(self):
        peak, own_cpu = [0], [0.0]
        with open(self.log_path, "wb") as log:
            start = time.perf_counter()
            proc = subprocess.Popen(self.argv, cwd=self.cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL)
            done = threading.Event()

            def sample():
                while not done.wait(SAMPLE_SECONDS):
                    rss, cpu = sample_tree(proc.pid)
                    peak[0], own_cpu[0] = max(peak[0], rss), max(own_cpu[0], cpu)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            # wait4 gives the resources of the child and of every descendant it waited for.
            _pid, status, usage = os.wait4(proc.pid, 0)
            self.wall = time.perf_counter() - start
            done.set()
            sampler.join()
        proc.returncode = self.returncode = os.waitstatus_to_exitcode(status)
        self.cpu = usage.ru_utime + usage.ru_stime
        self.own_cpu = own_cpu[0]
        self.max_rss = usage.ru_maxrss * 1024
        self.peak_tree_rss = peak[0]
        return self

    def tail(self, lines=40):
        """The end of the run's output, from its summary on when it printed one (the reasons of a failed run)."""
        with open(self.log_path, errors="replace") as handle:
            text = handle.readlines()
        starts = [index for index, line in enumerate(text) if line.startswith("TASK [") and "Summary]" in line]
        return "".join(text[starts[-1]:] if starts else text[-lines:])


def configured_forks(env):
    """DEFAULT_FORKS as ansible-playbook will see it with this environment (ansible.cfg included)."""
    dump = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-config"), "dump"], cwd=ROOT,
                          env=env, capture_output=True, text=True, check=True).stdout
    for line in dump.splitlines():
        if line.startswith("DEFAULT_FORKS"):
            return int(line.split("=")[-1])
    raise RuntimeError("ansible-config dump shows no DEFAULT_FORKS")


def check_migrated(server, roots, report_dir, measured, stopped=()):
    """Every root but the ``stopped`` ones migrated (the report and one migration record in S3 per root);
    the stopped ones are reported as stopped, and fail the run."""
    expected_rc = 2 if stopped else 0
    if measured.returncode != expected_rc:
        raise RuntimeError("migrate.yml exited %s, not %s:\n%s" % (measured.returncode, expected_rc, measured.tail()))
    with open(os.path.join(report_dir, "migrate-report.json")) as handle:
        statuses = collections.Counter(entry["status"] for entry in json.load(handle)["results"])
    wanted = dict(migrated=len(roots) - len(stopped), **({"stopped": len(stopped)} if stopped else {}))
    if statuses != wanted:
        raise RuntimeError("statuses %s, not %s" % (dict(statuses), wanted))
    s3 = client(server, "s3")
    records = sum(1 for bucket in BUCKETS for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
                  for item in page.get("Contents", []) if item["Key"].endswith(RECORD_SUFFIX))
    if records != len(roots) - len(stopped):
        raise RuntimeError("%d migration records in S3 for %d migrated roots" % (records, len(roots) - len(stopped)))
    for root in roots:
        if root in stopped:
            continue
        with open(os.path.join(root, "backend.tf")) as handle:
            text = handle.read()
        if "use_lockfile" not in text or "dynamodb_table" in text:
            raise RuntimeError("%s/backend.tf was not rewritten to lockfile mode" % root)


def task_costs(log_paths):
    """Per task (file:line and name) and per kind of task, from the callback's logs of one variant's rounds.

    A task's wall time runs from the strategy starting it to it starting the next task (the
    linear strategy waits for every host in between; with the free strategy tasks overlap and
    the figure means little). Host seconds: worker start to result, summed over the roots.
    """
    per_task, per_kind, hosts = collections.OrderedDict(), collections.OrderedDict(), set()
    for path in log_paths:
        with open(path) as handle:
            log = json.load(handle)
        starts = log["tasks"] + [{"path": None, "name": None, "started": log["ended"]}]
        for task, following in zip(starts, starts[1:]):
            entry = per_task.setdefault((task["path"], task["name"]), {"done": [], "skipped": [], "wall": 0.0})
            entry["wall"] += following["started"] - task["started"]
        for run in log["runs"]:
            hosts.add(run["host"])
            seconds = run["end"] - run["start"]
            skipped = run["status"] == "skipped"
            entry = per_task.setdefault((run["path"], run["name"]), {"done": [], "skipped": [], "wall": 0.0})
            entry["skipped" if skipped else "done"].append(seconds)
            per_kind.setdefault("(skipped by when)" if skipped else run.get("action", "?"), []).append(seconds)
    rounds, roots = len(log_paths), max(1, len([host for host in hosts if host != "localhost"]))
    tasks = []
    for (path, name), entry in per_task.items():
        runs = entry["done"] + entry["skipped"]
        tasks.append({
            "where": "%s:%s" % (os.path.relpath(os.path.realpath(path.rsplit(":", 1)[0]), ROOT), path.rsplit(":", 1)[1])
                     if path else "?",
            "name": name,
            "runs": len(entry["done"]) / rounds,
            "skipped": len(entry["skipped"]) / rounds,
            "per_root": statistics.mean(entry["done"]) if entry["done"] else 0.0,
            "host_seconds": sum(runs) / rounds,
            "wall": entry["wall"] / rounds,
        })
    kinds = [{"kind": kind, "per_root": len(runs) / rounds / roots, "seconds": statistics.mean(runs),
              "host_seconds": sum(runs) / rounds} for kind, runs in per_kind.items()]
    return tasks, kinds


def print_task_costs(costs, top):
    tasks, kinds = costs
    total_host = sum(task["host_seconds"] for task in tasks) or 1.0
    print("Costliest tasks (mean per round; wall: from the task's start to the next task's start; per run: worker start"
          " to result; host-s: summed over the roots, skipped runs included)")
    print("%8s %6s %6s %8s %8s %6s  %s" % ("wall s", "runs", "skips", "per run", "host-s", "share", "task (file:line)"))
    for task in sorted(tasks, key=lambda task: task["host_seconds"], reverse=True)[:top]:
        print("%8.2f %6.0f %6.0f %8.2f %8.1f %5.1f%%  %s (%s)" % (
            task["wall"], task["runs"], task["skipped"], task["per_root"], task["host_seconds"],
            100.0 * task["host_seconds"] / total_host, task["name"], task["where"]))
    print("By kind of task (calls per root, mean seconds per call, host-s per round)")
    print("%10s %9s %8s %6s  %s" % ("per root", "s/call", "host-s", "share", "action"))
    for kind in sorted(kinds, key=lambda kind: kind["host_seconds"], reverse=True):
        share = 100.0 * kind["host_seconds"] / total_host
        row = (kind["per_root"], kind["seconds"], kind["host_seconds"], share, kind["kind"])
        print("%10.1f %9.2f %8.1f %5.1f%%  %s" % row)


def mib(value):
    return value / 1048576.0


class Variant:
    """One way to run the playbook: ``LABEL [-f FORKS] [NAME=VALUE ...] [setting=value ...]``.

    Upper-case names go to ansible-playbook's environment (ANSIBLE_PIPELINING=1,
    ANSIBLE_STRATEGY=free); lower-case ones are [defaults] settings without an environment
    variable (internal_poll_interval=0.01), written to a copy of ansible.cfg.
    """

    def __init__(self, spec):
        tokens = shlex.split(spec)
        self.label, self.forks, self.env, self.settings = tokens[0], None, {}, {}
        rest = iter(tokens[1:])
        for token in rest:
            if token == "-f":
                self.forks = int(next(rest))
            elif "=" in token:
                name, value = token.split("=", 1)
                (self.env if name.isupper() else self.settings)[name] = value
            else:
                raise ValueError("variant %r: %r is neither -f N nor NAME=VALUE" % (spec, token))

    def environment(self, base_env, work):
        env = dict(base_env, **self.env)
        if self.settings:
            config = configparser.ConfigParser(interpolation=None)
            config.read(os.path.join(ROOT, "ansible.cfg"))
            for name, value in self.settings.items():
                config.set("defaults", name, value)
            env["ANSIBLE_CONFIG"] = os.path.join(work, "ansible-%s.cfg" % self.label)
            with open(env["ANSIBLE_CONFIG"], "w") as handle:
                config.write(handle)
        return env

    def describe(self, forks):
        knobs = ["-f %d" % forks] + ["%s=%s" % item for item in sorted(self.env.items())]
        knobs += ["%s=%s (ansible.cfg)" % item for item in sorted(self.settings.items())]
        return "%s: %s" % (self.label, " ".join(knobs))


def migrate_round(server, variant, env, forks, base, args, terraform, cli_config=None):
    """Build a fresh fleet under ``base``, migrate it; returns (the Measured run, the roots, the task log)."""
    os.makedirs(base)
    start = time.perf_counter()
    roots = build_fleet(server, os.path.join(base, "roots"), args.roots, terraform, args.setup_workers,
                        kind=args.roots_kind, cli_config=cli_config)
    say("  %s: fleet of %d roots built and applied in %.1fs" % (variant.label, len(roots), time.perf_counter() - start))
    stopped = roots[len(roots) - args.stopped_roots:] if args.stopped_roots else []
    hold_locks(server, stopped)
    report_dir = os.path.join(base, "reports")
    inventory = write_inventory(os.path.join(base, "inventory.json"), roots, server, terraform, report_dir)
    task_log = os.path.join(base, "tasks.json")
    playbook = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), PLAYBOOK, "-i", inventory,
                "-f", str(forks)]
    migrate = Measured(playbook, dict(env, TFSTATE_BENCH_TASK_LOG=task_log), os.path.join(base, "migrate.log")).run()
    check_migrated(server, roots, report_dir, migrate, stopped)
    say("  %s: migrate.yml %.1fs wall, %.1fs CPU (controller %.1fs), peak tree RSS %.0f MiB; %d root(s) stopped" % (
        variant.label, migrate.wall, migrate.cpu, migrate.own_cpu, mib(migrate.peak_tree_rss), len(stopped)))
    rerun = rerun_round(playbook, env, base, [root for root in roots if root not in stopped])
    say("  %s: idempotent rerun of %d migrated roots %.1fs wall (%.2f s/root), %.1f tasks/root, %d AWS write "
        "calls of %d" % (variant.label, rerun["roots"], rerun["wall"], rerun["wall_per_root"],
                         rerun["tasks_per_root"], rerun["aws_writes"], rerun["aws_calls"]))
    return migrate, roots, task_log, rerun


WRITE_OPERATIONS = ("Put", "Delete", "Create", "Update", "Copy", "Restore", "BatchWrite", "Complete", "Upload")


def limit_file(path, roots):
    with open(path, "w") as handle:
        handle.write("\n".join(os.path.basename(root) for root in roots) + "\n")
    return "@" + path


def report_statuses(base, name):
    with open(os.path.join(base, "reports", "%s-report.json" % name)) as handle:
        return collections.Counter(entry["status"] for entry in json.load(handle)["results"])


def rerun_round(playbook, env, base, migrated, name="migrate"):
    """The playbook again over the roots it changed: wall time, tasks run per root and AWS write calls."""
    prefix = "rerun" if name == "migrate" else "%s-rerun" % name
    task_log = os.path.join(base, "%s-tasks.json" % prefix)
    call_log = os.path.join(base, "%s-aws-calls.log" % prefix)
    limit = limit_file(os.path.join(base, "%s-limit.txt" % prefix), migrated)
    measured = Measured(playbook + ["--limit", limit],
                        dict(env, TFSTATE_BENCH_TASK_LOG=task_log, TFSTATE_AWS_CALL_LOG=call_log),
                        os.path.join(base, "%s.log" % prefix)).run()
    if measured.returncode != 0:
        raise RuntimeError("the idempotent %s rerun failed (rc %s):\n%s" % (name, measured.returncode, measured.tail()))
    statuses = report_statuses(base, name)
    if statuses != {"unchanged": len(migrated)}:
        raise RuntimeError("the %s rerun reported %s, not every root unchanged" % (name, dict(statuses)))
    with open(task_log) as handle:
        runs = [run for run in json.load(handle)["runs"] if run["host"] != "localhost"]
    calls = []
    if os.path.exists(call_log):
        with open(call_log) as handle:
            calls = [line.split() for line in handle if line.strip()]
    writes = [call for call in calls if call[1].startswith(WRITE_OPERATIONS)]
    return {"roots": len(migrated), "wall": measured.wall, "wall_per_root": measured.wall / len(migrated),
            "tasks_per_root": len(runs) / float(len(migrated)), "aws_calls": len(calls), "aws_writes": len(writes),
            "measured": measured}


def rollback_round(server, env, forks, base, migrated):
    """rollback.yml over the migrated roots (timed, every root checked rolled back in its report and its record),
    then its idempotent rerun (rerun_round)."""
    playbook = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), ROLLBACK_PLAYBOOK, "-i",
                os.path.join(base, "inventory.json"), "-f", str(forks)]
    limit = limit_file(os.path.join(base, "rollback-limit.txt"), migrated)
    measured = Measured(playbook + ["--limit", limit], env, os.path.join(base, "rollback.log")).run()
    if measured.returncode != 0:
        raise RuntimeError("rollback.yml failed (rc %s):\n%s" % (measured.returncode, measured.tail()))
    statuses = report_statuses(base, "rollback")
    if statuses != {"rolled_back": len(migrated)}:
        raise RuntimeError("the rollback reported %s, not every root rolled_back" % dict(statuses))
    s3 = client(server, "s3")
    for root in migrated:
        index = int(os.path.basename(root).split("-")[1])
        record = json.loads(s3.get_object(Bucket=BUCKETS[index % len(BUCKETS)],
                                          Key="root-%03d/terraform.tfstate.tfstate-s3-backend.json" % index)
                            ["Body"].read())
        if record.get("mode") != "dynamodb":
            raise RuntimeError("%s: the migration record says %s after the rollback" % (root, record.get("mode")))
    return measured, rerun_round(playbook, env, base, migrated, name="rollback")


def rollback_leg(server, variant, env, forks, base, roots, stopped_roots, migrate):
    """The rollback leg of a round, on the fleet ``variant`` migrated (its roots that did not stop)."""
    migrated = roots[:len(roots) - stopped_roots] if stopped_roots else roots
    rolled, again = rollback_round(server, env, forks, base, migrated)
    say("  %s: rollback.yml of %d roots %.1fs wall (%.2f x its migrate.yml %.1fs); idempotent rerun %.2f s/root, "
        "%.1f tasks/root, %d AWS write calls of %d" % (
            variant.label, len(migrated), rolled.wall, rolled.wall / migrate.wall, migrate.wall,
            again["wall_per_root"], again["tasks_per_root"], again["aws_writes"], again["aws_calls"]))
    return {"roots": len(migrated), "rollback": rolled, "migrate": migrate, "rerun": again}


def print_rollbacks(rollbacks):
    ratios = [leg["rollback"].wall / leg["migrate"].wall for leg in rollbacks]
    print("rollback of %d roots: median %.1f s wall; ratio rollback / migrate per round: %s; median %.2f (at most 1.2)"
          % (rollbacks[0]["roots"], statistics.median(leg["rollback"].wall for leg in rollbacks),
             " ".join("%.2f" % ratio for ratio in ratios), statistics.median(ratios)))
    print("idempotent rollback rerun: median %.2f s wall per root (at most 0.5), %.1f tasks per root, %d AWS write "
          "calls (of %d)" % (statistics.median(leg["rerun"]["wall_per_root"] for leg in rollbacks),
                             statistics.median(leg["rerun"]["tasks_per_root"] for leg in rollbacks),
                             max(leg["rerun"]["aws_writes"] for leg in rollbacks),
                             max(leg["rerun"]["aws_calls"] for leg in rollbacks)))


def baseline_commands(roots, forks, parallel):
    commands = [("loop", "baseline: bash loop, init + plan", ["bash", "-c", SEQUENTIAL_LOOP, "loop"] + roots)]
    if parallel:
        script = 'printf "%%s\\0" "$@" | xargs -0 -n 1 -P %d sh -c \'%s\' step' % (forks, BASELINE_STEP)
        commands.append(("xargs", "baseline: the same, %d at a time (xargs)" % forks, ["bash", "-c", script, "xargs"]
                         + roots))
    return commands


def print_summary(rows, loop_walls, roots):
    print("%-44s %8s %7s %8s %7s %7s %9s %10s" % ("median of the rounds", "wall s", "s/root", "× loop", "CPU s",
                                                  "ctl CPU", "max proc", "peak tree"))
    for label, runs in rows:
        wall = statistics.median(run.wall for run in runs)
        print("%-44s %8.1f %7.2f %8.2f %7.1f %7.1f %5.0f MiB %6.0f MiB" % (
            label, wall, wall / roots, statistics.median(run.wall / loop for run, loop in zip(runs, loop_walls)),
            statistics.median(run.cpu for run in runs), statistics.median(run.own_cpu for run in runs),
            mib(statistics.median(run.max_rss for run in runs)), mib(statistics.median(run.peak_tree_rss for run in runs))))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--roots", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--forks", type=int, help="ansible-playbook -f (default: the configured forks)")
    parser.add_argument("--variant", action="append", default=[], metavar="'LABEL [-f N] [NAME=VALUE ...]'",
                        help="run the playbook this way too (each on its own fleet, in turn), e.g. "
                             "'pipelining ANSIBLE_PIPELINING=1', 'free ANSIBLE_STRATEGY=free', "
                             "'poll internal_poll_interval=0.01'; the first is the one the baseline is compared with")
    parser.add_argument("--roots-kind", choices=sorted(ROOTS_KINDS), default="probe",
                        help="probe: the testbed's provider-less probe root; aws: the AWS provider %s and three "
                             "resources, so that plans cost what real roots' plans do" % AWS_PROVIDER_VERSION)
    parser.add_argument("--provider-mirror", default=DEFAULT_PROVIDER_MIRROR, metavar="DIR",
                        help="filesystem mirror holding %s %s (aws kind; default %%(default)s)" % (
                            AWS_PROVIDER, AWS_PROVIDER_VERSION))
    parser.add_argument("--setup-workers", type=int,
                        help="threads building a fleet (default: %s)" % ", ".join(
                            "%d for %s" % (SETUP_WORKERS[kind], kind) for kind in sorted(SETUP_WORKERS)))
    parser.add_argument("--stopped-roots", type=int, default=1,
                        help="roots whose state is locked by someone else, so the run must stop them (default 1)")
    parser.add_argument("--no-parallel-baseline", action="store_true", help="time only the sequential shell loop")
    parser.add_argument("--no-rollback", action="store_true",
                        help="skip the rollback leg (rollback.yml over the migrated roots, and its idempotent rerun)")
    parser.add_argument("--top", type=int, default=15, help="how many of the costliest tasks to print")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (roots, logs, task logs)")
    args = parser.parse_args(argv)
    variants = [Variant(spec) for spec in args.variant or ["as-configured"]]
    if args.setup_workers is None:
        args.setup_workers = SETUP_WORKERS[args.roots_kind]

    terraform = terraform_binary()
    if not terraform:
        parser.error("terraform is not on the PATH")
    provider = None
    if args.roots_kind == "aws":
        provider = mirrored_aws_provider(args.provider_mirror)
        if not provider:
            parser.error("--roots-kind aws needs the AWS provider %s in the filesystem mirror %s (expected %s/%s/%s/"
                         "terraform-provider-aws_*, unpacked, or the packed zip); see --provider-mirror" % (
                             AWS_PROVIDER_VERSION, args.provider_mirror, AWS_PROVIDER, AWS_PROVIDER_VERSION,
                             AWS_PROVIDER_PLATFORM))
    work = tempfile.mkdtemp(prefix="bench-migrate.")
    server = MotoServer.start(log_path=os.path.join(work, "moto.log"))
    # One environment for terraform everywhere (testbed credentials, no TF_* leaking in, empty CLI config).
    tf_env = terraform_env(server.url, workdir=work)
    # The aws kind's CLI configuration (the provider from the mirror) replaces the empty one, for the fleet
    # build, the playbook and the baselines alike.
    cli_config = write_cli_config(work, args.roots_kind, args.provider_mirror)
    if cli_config:
        tf_env["TF_CLI_CONFIG_FILE"] = cli_config
    playbook_env = ansible_env(dict(tf_env, ANSIBLE_CALLBACK_PLUGINS=CALLBACKS,
                                    ANSIBLE_CALLBACKS_ENABLED="task_durations"))
    settings = []
    for variant in variants:
        env = variant.environment(playbook_env, work)
        settings.append((variant, env, variant.forks or args.forks or configured_forks(env)))
    say("work directory %s, moto server %s, terraform %s" % (work, server.url, terraform))
    say("roots: %s%s; %d set-up workers" % (ROOTS_KINDS[args.roots_kind], ", provider %s" % provider if provider else "",
                                            args.setup_workers))
    for variant, env, forks in settings:
        say("ansible forks and settings, %s" % variant.describe(forks))

    migrations = collections.defaultdict(list)
    baselines = collections.OrderedDict()
    task_logs = collections.defaultdict(list)
    reruns = collections.defaultdict(list)
    rollbacks = []
    try:
        for round_number in range(1, args.rounds + 1):
            say("round %d" % round_number)
            # Each round starts with another variant, so none always pays for going first.
            shift = (round_number - 1) % len(settings)
            for variant, env, forks in settings[shift:] + settings[:shift]:
                base = os.path.join(work, "round-%d" % round_number, variant.label)
                migrate, roots, task_log, rerun = migrate_round(server, variant, env, forks, base, args, terraform,
                                                                cli_config)
                migrations[variant.label].append(migrate)
                reruns[variant.label].append(rerun)
                task_logs[variant.label].append(task_log)
            # The baselines run on the last migrated fleet (see the module docstring).
            release_held_locks(server)
            for name, label, argv_ in baseline_commands(roots, settings[0][2], not args.no_parallel_baseline):
                measured = Measured(argv_, dict(tf_env, TERRAFORM=terraform),
                                    os.path.join(work, "round-%d" % round_number, name + ".log")).run()
                if measured.returncode != 0:
                    raise RuntimeError("%s failed (rc %s):\n%s" % (label, measured.returncode, measured.tail()))
                baselines.setdefault(name, (label, []))[1].append(measured)
                say("  %s %.1fs wall, %.1fs CPU" % (label, measured.wall, measured.cpu))
            for variant, _env, _forks in settings:
                say("  ratio %s / loop: %.2f" % (variant.label, migrations[variant.label][-1].wall
                                                 / baselines["loop"][1][-1].wall))
            if not args.no_rollback:
                # After the baselines, which plan the fleet in its migrated (lockfile) configuration.
                rollbacks.append(rollback_leg(server, variant, env, forks, base, roots, args.stopped_roots,
                                              migrations[variant.label][-1]))
            if not args.keep:
                for variant, _env, _forks in settings:
                    shutil.rmtree(os.path.join(work, "round-%d" % round_number, variant.label, "roots"))
    finally:
        server.stop()

    print("\n%d roots, %d rounds; every round builds a fresh fleet per variant" % (args.roots, args.rounds))
    print("  roots: %s" % ROOTS_KINDS[args.roots_kind])
    for variant, _env, forks in settings:
        print("  variant %s" % variant.describe(forks))
    loop_walls = [run.wall for run in baselines["loop"][1]]
    rows = [("ansible-playbook migrate.yml, %s" % variant.label, migrations[variant.label])
            for variant, _env, _forks in settings]
    print_summary(rows + list(baselines.values()), loop_walls, args.roots)
    for variant, _env, _forks in settings:
        per_round = [run.wall / loop for run, loop in zip(migrations[variant.label], loop_walls)]
        print("ratio %s / loop per round: %s; median %.2f" % (
            variant.label, " ".join("%.2f" % ratio for ratio in per_round), statistics.median(per_round)))
        if len(baselines) > 1:
            parallel = [run.wall / xargs.wall for run, xargs in zip(migrations[variant.label], baselines["xargs"][1])]
            print("ratio %s / the loop run as %d processes: median %.2f" % (
                variant.label, settings[0][2], statistics.median(parallel)))
        again = reruns[variant.label]
        print("idempotent rerun %s: median %.2f s wall per root, %.1f tasks per root, %d AWS write calls (of %d)" % (
            variant.label, statistics.median(run["wall_per_root"] for run in again),
            statistics.median(run["tasks_per_root"] for run in again), max(run["aws_writes"] for run in again),
            max(run["aws_calls"] for run in again)))
    if rollbacks:
        print_rollbacks(rollbacks)
    for variant, _env, _forks in settings:
        print("\nWhere the time goes, %s" % variant.label)
        print_task_costs(task_costs(task_logs[variant.label]), args.top)
    if args.keep:
        print("\nkept %s" % work)
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
