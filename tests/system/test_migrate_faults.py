"""A migrate run under faults, seen through the files, S3, DynamoDB and terraform: real terraform and moto
behind a fault proxy of our own on 127.0.0.1 (tests/testbed/fault_proxy.py: HttpFaultProxy).

- The endpoint goes dark at a chosen point of the cut-over: the row says `failed` with the phase that
  failed first and what it left (or `stopped` when nothing changed), and a rerun converges.
- One request in three answered 503 / 500 / reset: every root of three migrates; every request
  throttled: the root stops within the retry budget, naming the throttling code and the request ID.
- A run SIGKILLed midway: the rerun's row is `resumed`, naming the dead run and the lock it released.
- A backend naming another region than its bucket's stops in the preflight, nothing changed.
"""

import json
import os
import subprocess
import sys
import threading
import time

import pytest

from tests.testbed.collection import ROOT, ansible_env, kill_playbook, playbook_processes, run_playbook
from tests.testbed.fault_proxy import HttpFaultProxy
from tests.testbed.fleet import fleet_inventory, root_hosts
from tests.testbed.terraform import wait_for

PLAYBOOK = os.path.join(ROOT, "playbooks", "migrate.yml")
ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1"}
# A small budget keeps a dark endpoint's cost low; the connection is refused, so max_attempts bounds it anyway.
LIMITS = {"tfstate_aws_retry_budget": 5, "tfstate_aws_connect_timeout": 2, "tfstate_aws_read_timeout": 5}


def _roots(tf_root, bucket, table, names, **settings):
    roots = {}
    for name in names:
        root = tf_root(name)
        root.write_backend(bucket=bucket, key="%s/terraform.tfstate" % name, dynamodb_table=table, **settings)
        root.init()
        roots[name] = root
    return roots


def _inventory(tmp_path, url, terraform_bin, roots, **extra):
    return fleet_inventory(tmp_path, url, terraform_bin, root_hosts(roots), **dict({
        "migrate_backup_dir": str(tmp_path / "backups"), "migrate_target": "lockfile"}, **extra))


def _rows(tmp_path):
    with open(str(tmp_path / "reports" / "migrate-report.json")) as handle:
        return dict((row["host"], row) for row in json.load(handle)["results"])


def _locks_left(s3, dynamodb, bucket, table, name):
    """The .tflock objects and DynamoDB lock items (not digests) left on a root's state."""
    objects = s3.list_objects_v2(Bucket=bucket, Prefix="%s/terraform.tfstate.tflock" % name).get("KeyCount")
    items = [item for item in dynamodb.scan(TableName=table)["Items"]
             if "Info" in item and item["LockID"]["S"].startswith("%s/%s/" % (bucket, name))]
    return objects, items


def _is_terraform(request):
    return "Terraform" in request["agent"] or "HashiCorp" in request["agent"]


class Segments:
    """Which stretch of a cut-over's requests one is in: the collection's and terraform's alternate.

    1: the collection (preflight, freeze, intent), 2: terraform (re-init, the refused plan), 3: the
    collection (the release of the maintenance lock), 4: terraform (the final plan), 5: the record.
    """

    def __init__(self, segment):
        self.segment, self.current, self.kind = segment, 0, None

    def __call__(self, request):
        kind = _is_terraform(request)
        if kind != self.kind:
            self.kind, self.current = kind, self.current + 1
        return self.current == self.segment


def _after_rewrite(proxy, backend_tf):
    """Go dark as soon as the backend file is rewritten (polled; the rewrite itself calls no AWS API)."""
    before = open(backend_tf).read()

    def watch():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not proxy.dark:
            if open(backend_tf).read() != before:
                proxy._go_dark()
                return
            time.sleep(0.02)

    threading.Thread(target=watch, daemon=True).start()


DARK_POINTS = {
    # The freeze's last request is the intent it records in the migration record.
    "after_freeze": ("reinit", lambda proxy, root: proxy.go_dark_after(
        lambda request: request["method"] == "PUT" and request["path"].endswith(".tfstate-s3-backend.json"))),
    "after_rewrite": ("reinit", lambda proxy, root: _after_rewrite(proxy, os.path.join(root.path, "backend.tf"))),
    "at_reinit": ("reinit", lambda proxy, root: proxy.go_dark_at(Segments(2))),
    "at_release": ("thaw", lambda proxy, root: proxy.go_dark_at(Segments(3))),
    "before_final_plan": ("verify", lambda proxy, root: proxy.go_dark_at(Segments(4))),
}


@pytest.mark.parametrize("point", sorted(DARK_POINTS))
def test_an_endpoint_that_goes_dark_midway_fails_the_root_naming_the_phase_and_what_it_left_and_a_rerun_converges(
        point, tmp_path, moto_server, tf_root, s3, dynamodb, state_bucket, lock_table, terraform_bin):
    # terraform's own retries of a refused connection (max_retries, 5 by default) would cost ~30 s a command;
    # one retry still rides out a connection moto closed under a request (seen once in CI's set-up init).
    roots = _roots(tf_root, state_bucket, lock_table, ["app"], extra={"max_retries": "2"})
    root = roots["app"]
    phase, arm = DARK_POINTS[point]
    with HttpFaultProxy(moto_server.url) as proxy:
        arm(proxy, root)
        started = time.monotonic()
        first = run_playbook(PLAYBOOK, inventory=_inventory(tmp_path, proxy.url, terraform_bin, roots, **LIMITS), env=ENV)
        elapsed = time.monotonic() - started
        assert proxy.dark, point
    assert first.returncode == 2, first.stdout[-4000:]
    row = _rows(tmp_path)["app"]
    assert row["status"] == "failed" and row["phase"] == phase, row
    assert row["fails_root"] is True and row["next_step"].startswith("rerun: it resumes from the intent it recorded")
    # What it left, as the files show it: the backend file rewritten (every point comes after the rewrite).
    assert row["left"]["files_rewritten"] == [os.path.join(root.path, "backend.tf")], row
    assert "use_lockfile" in open(os.path.join(root.path, "backend.tf")).read()
    objects, items = _locks_left(s3, dynamodb, state_bucket, lock_table, "app")
    if phase in ("reinit", "thaw"):
        # The release failed (dark): the maintenance lock is still there, in both stores, and the row says so.
        assert objects == 1 and len(items) == 1, (objects, items)
        lock_id = json.loads(s3.get_object(Bucket=state_bucket, Key="app/terraform.tfstate.tflock")["Body"].read())["ID"]
        assert row["left"]["lock_held"] == lock_id and lock_id in row["reason"], row
    else:
        assert (objects, items) == (0, []) and row["left"]["lock_held"] is None, row
    if phase == "reinit":
        # The release that failed after the re-init is reported beside it, not instead of it.
        assert row["thaw_failure"] and "no answer from endpoint" in row["thaw_failure"], row
        assert "release of the maintenance lock failed too" in row["reason"], row
    else:
        assert row["thaw_failure"] is None, row
    if phase in ("thaw", "verify"):
        assert row["left"]["last_init"] == "lockfile" and row["initialised_lock_mode_after"] == "lockfile", row
    assert elapsed < 90, elapsed  # a guard (terraform, Ansible), not a measurement: the AWS calls end at once

    # The endpoint is back: the rerun resumes from the intent, releases what was left, and terraform plans.
    rerun = run_playbook(PLAYBOOK, inventory=_inventory(tmp_path, moto_server.url, terraform_bin, roots), env=ENV)
    assert rerun.returncode == 0, rerun.stdout[-4000:]
    row = _rows(tmp_path)["app"]
    assert row["status"] == "resumed" and row["lock_mode_after"] == "lockfile", row
    assert row["resumed_from"]["run_id"] and row["resumed_from"]["intent"], row
    assert _locks_left(s3, dynamodb, state_bucket, lock_table, "app") == (0, [])
    root.plan()


def test_one_request_in_three_answered_503_500_or_reset_and_every_root_of_three_migrates(
        tmp_path, moto_server, tf_root, s3, dynamodb, state_bucket, lock_table, terraform_bin):
    roots = _roots(tf_root, state_bucket, lock_table, ["one", "two", "three"])
    with HttpFaultProxy(moto_server.url) as proxy:
        # The collection's own requests; terraform's requests and retries are terraform's.
        proxy.flaky(rate=1.0 / 3, only=lambda request: "tfstate.s3_backend" in request["agent"])
        result = run_playbook(PLAYBOOK, inventory=_inventory(tmp_path, proxy.url, terraform_bin, roots), env=ENV)
        faulted = list(proxy.faulted)
    assert result.returncode == 0, result.stdout[-4000:]
    kinds = set(kind for kind, dummy in faulted)
    assert kinds == {"503", "500", "reset"} and len(faulted) >= 20, (kinds, len(faulted))
    rows = _rows(tmp_path)
    assert [rows[name]["status"] for name in ("one", "two", "three")] == ["migrated"] * 3, rows
    for name, root in roots.items():
        assert _locks_left(s3, dynamodb, state_bucket, lock_table, name) == (0, [])
        record = json.loads(s3.get_object(Bucket=state_bucket, Key="%s/terraform.tfstate.tfstate-s3-backend.json"
                                          % name)["Body"].read())
        assert record["mode"] == "lockfile" and "pending" not in record, record
        root.plan()


def test_an_endpoint_that_throttles_everything_stops_the_root_within_the_budget_naming_the_code_and_request_id(
        tmp_path, moto_server, tf_root, s3, state_bucket, lock_table, terraform_bin):
    from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.retries import BACKOFF_CAP

    roots = _roots(tf_root, state_bucket, lock_table, ["app"])
    backend_before = open(os.path.join(roots["app"].path, "backend.tf")).read()
    budget = 4
    with HttpFaultProxy(moto_server.url) as proxy:
        proxy.throttle()
        started = time.monotonic()
        result = run_playbook(PLAYBOOK, inventory=_inventory(tmp_path, proxy.url, terraform_bin, roots,
                                                             tfstate_aws_retry_budget=budget), env=ENV)
        elapsed = time.monotonic() - started
        faulted = list(proxy.faulted)
    assert result.returncode == 2, result.stdout[-4000:]
    row = _rows(tmp_path)["app"]
    assert row["status"] == "stopped" and row["phase"] == "preflight", row
    assert "Throttling" in row["reason"] and "retry budget is spent" in row["reason"], row["reason"]
    # The root's first call (STS GetCallerIdentity) was tried again and again, with growing waits, and no try
    # started after the budget; the reason names the request ID of its last answer.
    tries = [request for kind, request in faulted if request["service"] == "sts"]
    span = tries[-1]["time"] - tries[0]["time"]
    assert len(tries) >= 5 and 1.5 <= span <= budget, (len(tries), span)
    assert "request ID FAULTPROXY%08d" % tries[-1]["count"] in row["reason"], row["reason"]
    # The whole run: that budget, and the report's calls (throttled too, each within its own budget), plus
    # Ansible's own time.
    assert elapsed < 4 * (budget + BACKOFF_CAP) + 30, elapsed
    assert open(os.path.join(roots["app"].path, "backend.tf")).read() == backend_before
    assert s3.list_objects_v2(Bucket=state_bucket, Prefix="app/").get("KeyCount") == 0


def _playbook_process(inventory):
    command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), PLAYBOOK, "-i", inventory]
    return subprocess.Popen(command, cwd=ROOT, env=ansible_env(ENV), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)


def _reinit_running(pid):
    """Whether a ``terraform init`` runs under the playbook process ``pid``."""
    for child in playbook_processes(pid):
        try:
            with open("/proc/%d/cmdline" % child, "rb") as handle:
                argv = handle.read().split(b"\0")
        except OSError:
            continue
        if argv[0].endswith(b"terraform") and b"init" in argv[1:2]:
            return True
    return False


KILL_POINTS = {
    "after_freeze": lambda s3, bucket, root, pid: s3.list_objects_v2(
        Bucket=bucket, Prefix="app/terraform.tfstate.tfstate-s3-backend.json").get("KeyCount"),
    "after_rewrite": lambda s3, bucket, root, pid: "use_lockfile" in open(os.path.join(root.path, "backend.tf")).read(),
    "during_reinit": lambda s3, bucket, root, pid: _reinit_running(pid),
}


@pytest.mark.parametrize("point", sorted(KILL_POINTS))
def test_a_rerun_after_a_killed_run_is_resumed_naming_the_dead_run_and_the_lock_it_released(
        point, tmp_path, moto_server, tf_root, s3, dynamodb, state_bucket, lock_table, terraform_bin):
    roots = _roots(tf_root, state_bucket, lock_table, ["app"])
    root = roots["app"]
    inventory = _inventory(tmp_path, moto_server.url, terraform_bin, roots)
    proc = _playbook_process(inventory)
    try:
        wait_for(lambda: KILL_POINTS[point](s3, state_bucket, root, proc.pid), timeout=60, interval=0.02, what=point)
    finally:
        kill_playbook(proc)
    body = json.loads(s3.get_object(Bucket=state_bucket, Key="app/terraform.tfstate.tflock")["Body"].read())
    assert "run=" in body["Info"] and "-%d-" % proc.pid in body["Info"], body

    rerun = run_playbook(PLAYBOOK, inventory=inventory, env=ENV)
    assert rerun.returncode == 0, rerun.stdout[-4000:]
    row = _rows(tmp_path)["app"]
    assert row["status"] == "resumed", row
    resumed = row["resumed_from"]
    assert "-%d-" % proc.pid in resumed["run_id"] and resumed["lock_ids"] == [body["ID"]], resumed
    assert "has ended" in resumed["why"], resumed
    assert resumed["run_id"] in row["reason"] and body["ID"] in row["reason"], row["reason"]
    assert _locks_left(s3, dynamodb, state_bucket, lock_table, "app") == (0, [])
    root.plan()


def test_a_backend_naming_another_region_than_its_bucket_stops_in_the_preflight_and_nothing_changes(
        tmp_path, moto_server, tf_root, s3, dynamodb, bucket_name, terraform_bin):
    bucket = bucket_name + "-eu"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    root = tf_root("app")
    root.write_backend(bucket=bucket, key="app/terraform.tfstate", region="us-east-1", dynamodb_table="locks")
    backend_before = open(os.path.join(root.path, "backend.tf")).read()
    result = run_playbook(PLAYBOOK, inventory=_inventory(tmp_path, moto_server.url, terraform_bin, {"app": root}),
                          env=ENV)
    assert result.returncode == 2, result.stdout[-4000:]
    row = _rows(tmp_path)["app"]
    assert row["status"] == "stopped" and row["phase"] == "preflight", row
    assert ("state bucket %s is in region eu-west-1, but the backend at %s:2 names region us-east-1"
            % (bucket, os.path.join(root.path, "backend.tf"))) in row["reason"], row["reason"]
    assert open(os.path.join(root.path, "backend.tf")).read() == backend_before
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0  # no lock, no record, no probe
    assert not os.path.exists(os.path.join(root.path, ".terraform"))
