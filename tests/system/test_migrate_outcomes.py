"""What a migrate run says and how it ends, seen through the files, S3, DynamoDB and the recap.

Real terraform against moto: a check-mode preview that changes nothing and never says
"migrated", a stopped root that fails as itself (also when the role is included from a team's
own playbook), a --limit run that keeps the fleet view, and a lock mode read back, not copied.
"""

import json
import os
import socket

import yaml

from ansible_collections.tfstate.s3_backend.plugins.module_utils import clock
from ansible_collections.tfstate.s3_backend.plugins.module_utils._migration import runs
from tests.testbed.collection import ROOT, run_playbook
from tests.testbed.fleet import fleet_inventory, play_recap, root_hosts

PLAYBOOK = os.path.join(ROOT, "playbooks", "migrate.yml")
ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1"}


def _fleet(tmp_path, tf_root, bucket, table, names):
    roots = {}
    for name in names:
        root = tf_root(name)
        root.write_backend(bucket=bucket, key="%s/terraform.tfstate" % name, dynamodb_table=table)
        root.init()
        roots[name] = root
    return roots


def _inventory(tmp_path, moto_server, terraform_bin, roots, **extra):
    return fleet_inventory(tmp_path, moto_server.url, terraform_bin, root_hosts(roots), **dict({
        "migrate_backup_dir": str(tmp_path / "backups"), "migrate_target": "lockfile"}, **extra))


def _hold_lock(dynamodb, table, bucket, name):
    """A lock someone else holds on the root's state (an apply running elsewhere)."""
    path = "%s/%s/terraform.tfstate" % (bucket, name)
    info = {"ID": "6a0bd7c4-2f2e-4c1e-9a9e-7d9f3c2a1b00", "Operation": "OperationTypeApply", "Info": "",
            "Who": "runner@ci-42", "Version": "1.11.4", "Created": "2026-11-29T10:00:00.000000000Z", "Path": path}
    dynamodb.put_item(TableName=table, Item={"LockID": {"S": path}, "Info": {"S": json.dumps(info)}})


def _report(tmp_path, name):
    with open(str(tmp_path / "reports" / name)) as handle:
        return json.load(handle)


def _records(s3, bucket):
    return sorted(item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])
                  if item["Key"].endswith(".tfstate-s3-backend.json"))


def test_check_mode_is_a_preview_and_a_stopped_root_fails_as_itself(
        tmp_path, moto_server, tf_root, s3, dynamodb, state_bucket, lock_table, terraform_bin):
    roots = _fleet(tmp_path, tf_root, state_bucket, lock_table, ["healthy", "locked"])
    _hold_lock(dynamodb, lock_table, state_bucket, "locked")
    inventory = _inventory(tmp_path, moto_server, terraform_bin, roots)
    files_before = dict((name, open(os.path.join(root.path, "backend.tf")).read()) for name, root in roots.items())

    preview = run_playbook(PLAYBOOK, inventory=inventory, check=True, diff=True, env=ENV)
    assert preview.returncode == 2, preview.stdout[-4000:]
    assert "migrated" not in preview.stdout.replace("would_migrate", "")
    document = _report(tmp_path, "migrate-preview.json")
    assert document["check_mode"] is True and document["title"].startswith("PREVIEW")
    statuses = dict((row["host"], row["status"]) for row in document["results"])
    assert statuses == {"healthy": "would_migrate", "locked": "would_stop"}, document
    [healthy_row] = [row for row in document["results"] if row["host"] == "healthy"]
    assert "+    use_lockfile" in healthy_row["files_diff"]
    assert "migrated" not in json.dumps(document).replace("would_migrate", "")
    assert "PREVIEW" in open(str(tmp_path / "reports" / "migrate-preview.md")).read()
    assert not os.path.exists(str(tmp_path / "reports" / "migrate-report.json"))
    assert not os.path.exists(str(tmp_path / "reports" / "migrate-fleet.json"))
    # Nothing changed: files, S3 (no record, no lock object), DynamoDB (only the held lock).
    assert dict((name, open(os.path.join(root.path, "backend.tf")).read()) for name, root in roots.items()) \
        == files_before
    assert _records(s3, state_bucket) == []
    assert [item["LockID"]["S"] for item in dynamodb.scan(TableName=lock_table)["Items"]] \
        == ["%s/locked/terraform.tfstate" % state_bucket]

    real = run_playbook(PLAYBOOK, inventory=inventory, env=ENV)
    assert real.returncode == 2, real.stdout[-4000:]
    recap = play_recap(real.stdout)
    assert recap["locked"]["failed"] == 1 and recap["healthy"]["failed"] == 0, recap
    assert "runner@ci-42" in real.stdout
    report = _report(tmp_path, "migrate-report.json")
    rows = dict((row["host"], row) for row in report["results"])
    assert rows["healthy"]["status"] == "migrated" and rows["locked"]["status"] == "stopped"
    assert "runner@ci-42" in rows["locked"]["reason"] and rows["locked"]["next_step"]
    assert report["counts"]["status"] == {"migrated": 1, "stopped": 1}
    assert report["generated"].endswith("Z")
    assert _records(s3, state_bucket) == ["healthy/terraform.tfstate.tfstate-s3-backend.json"]

    # A later preview leaves the real report as it was.
    real_report = open(str(tmp_path / "reports" / "migrate-report.json")).read()
    run_playbook(PLAYBOOK, inventory=inventory, check=True, env=ENV)
    assert open(str(tmp_path / "reports" / "migrate-report.json")).read() == real_report


def test_role_in_a_teams_playbook_fails_the_stopped_root_and_goes_on_for_the_others(
        tmp_path, moto_server, tf_root, dynamodb, state_bucket, lock_table, terraform_bin):
    roots = _fleet(tmp_path, tf_root, state_bucket, lock_table, ["healthy", "locked"])
    _hold_lock(dynamodb, lock_table, state_bucket, "locked")
    inventory = _inventory(tmp_path, moto_server, terraform_bin, roots)
    reasons = tmp_path / "reasons.json"
    playbook = tmp_path / "ops.yml"
    playbook.write_text(yaml.safe_dump([
        {"name": "A team's own play", "hosts": "all", "connection": "local", "gather_facts": False,
         "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"},
         "tasks": [
             {"name": "Migrate", "ansible.builtin.include_role": {"name": "tfstate.s3_backend.migrate"}},
             {"name": "Our follow-up", "ansible.builtin.debug": {"msg": "follow-up for {{ inventory_hostname }}"}},
         ]},
        {"name": "Collect", "hosts": "localhost", "gather_facts": False, "tasks": [
            {"name": "Keep each root's result", "ansible.builtin.copy": {
                "dest": str(reasons), "mode": "0644",
                "content": "{{ dict(groups['all'] | zip(groups['all'] | map('extract', hostvars, 'migrate_result')"
                           " | map(attribute='reason'))) | to_json }}"}}]},
    ], sort_keys=False))
    result = run_playbook(str(playbook), inventory=inventory, env=ENV)
    assert result.returncode == 2, result.stdout[-4000:]
    assert "follow-up for healthy" in result.stdout
    assert "follow-up for locked" not in result.stdout
    recap = play_recap(result.stdout)
    assert recap["locked"]["failed"] == 1 and recap["healthy"]["failed"] == 0, recap
    collected = json.loads(reasons.read_text())
    assert "runner@ci-42" in collected["locked"] and collected["healthy"] == ""


def test_limit_run_updates_the_fleet_view_and_lock_mode_is_read_back(
        tmp_path, moto_server, tf_root, s3, state_bucket, lock_table, terraform_bin):
    roots = _fleet(tmp_path, tf_root, state_bucket, lock_table, ["first", "second", "third"])
    inventory = _inventory(tmp_path, moto_server, terraform_bin, roots, migrate_baseline_plan=True)
    limited = run_playbook(PLAYBOOK, inventory=inventory, env=ENV, args=["--limit", "first,second"])
    assert limited.returncode == 0, limited.stdout[-4000:]
    first = dict((row["host"], row) for row in _report(tmp_path, "migrate-report.json")["results"])["first"]
    # The plan after the cut-over has the same exit code as the baseline plan before it.
    assert first["verification"] == {"locked_plan_refused": True, "plan_ok": True, "matches_baseline": True}

    # The rewrite phase skipped (--skip-tags cutover): the lock mode is read back from the files, not taken
    # from the request, and the root fails without a record.
    skipped = run_playbook(PLAYBOOK, inventory=inventory, env=ENV, args=["--limit", "third", "--skip-tags", "cutover"])
    assert skipped.returncode == 2, skipped.stdout[-4000:]
    [row] = _report(tmp_path, "migrate-report.json")["results"]
    assert row["host"] == "third" and row["status"] == "failed", row
    assert row["lock_mode_after"] == "dynamodb" and row["files_lock_mode_after"] == "dynamodb", row
    assert "dynamodb_table" in open(os.path.join(roots["third"].path, "backend.tf")).read()
    assert "third/terraform.tfstate.tfstate-s3-backend.json" not in _records(s3, state_bucket)

    # The fleet view: where each root stands per the ledger, and what the last run saw of it.
    fleet = _report(tmp_path, "migrate-fleet.json")
    rows = dict((row["host"], row) for row in fleet["results"])
    assert sorted(rows) == ["first", "second", "third"], rows
    assert rows["first"]["status"] == "lockfile" and rows["first"]["last_run"] is None
    assert rows["third"]["status"] == "dynamodb" and rows["third"]["last_run"]["status"] == "failed"
    assert fleet["counts"]["status"] == {"dynamodb": 1, "lockfile": 2}

    # A separate run elsewhere (another report directory, as an AWX job slice) still sees every root,
    # through the ledger in the bucket.
    elsewhere = _inventory(tmp_path, moto_server, terraform_bin, {"third": roots["third"]},
                           migrate_report_dir=str(tmp_path / "slice-reports"))
    again = run_playbook(PLAYBOOK, inventory=elsewhere, env=ENV)
    assert again.returncode == 0, again.stdout[-4000:]
    with open(str(tmp_path / "slice-reports" / "migrate-fleet.json")) as handle:
        sliced = dict((row["host"], row) for row in json.load(handle)["results"])
    assert sliced["third"]["status"] == "lockfile" and sliced["third"]["last_run"]["status"] == "migrated"
    assert sliced["first"]["status"] == "lockfile" and sliced["first"]["last_run"] is None


def _freeze(aws_params, bucket, table, name, info):
    """A maintenance lock in both stores, as a migration run takes it."""
    from ansible_collections.tfstate.s3_backend.plugins.modules import lockfile
    from tests.testbed.collection import run_module

    taken = run_module(lockfile, dict(aws_params, bucket=bucket, key="%s/terraform.tfstate" % name,
                                      dynamodb_table=table, operation="OperationTypeMigrate", info=info))
    assert taken["acquired"] is True
    return taken["lock_id"]


def test_a_live_migration_run_on_the_root_stops_the_second_run_and_nothing_is_deleted(
        tmp_path, moto_server, tf_root, s3, dynamodb, state_bucket, lock_table, terraform_bin, aws_params):
    roots = _fleet(tmp_path, tf_root, state_bucket, lock_table, ["app"])
    # Run A, alive (this very process), froze the root a moment ago.
    run_a = {"run_id": "run-a", "controller": socket.gethostname(), "pid": os.getpid(),
             "pid_start": runs._process_start(os.getpid())}
    lock_id = _freeze(aws_params, state_bucket, lock_table, "app", runs.freeze_info(run_a, clock.now(), 3600))

    second = run_playbook(PLAYBOOK, inventory=_inventory(tmp_path, moto_server, terraform_bin, roots), env=ENV)
    assert second.returncode == 2, second.stdout[-4000:]
    [row] = _report(tmp_path, "migrate-report.json")["results"]
    assert row["status"] == "stopped" and "run-a" in row["reason"], row
    # Run A's lock is still there in both stores, and the file is untouched.
    body = json.loads(s3.get_object(Bucket=state_bucket, Key="app/terraform.tfstate.tflock")["Body"].read())
    assert body["ID"] == lock_id
    item = dynamodb.get_item(TableName=lock_table, Key={"LockID": {"S": "%s/app/terraform.tfstate" % state_bucket}})
    assert json.loads(item["Item"]["Info"]["S"])["ID"] == lock_id
    assert "dynamodb_table" in open(os.path.join(roots["app"].path, "backend.tf")).read()


def test_a_run_killed_before_the_thaw_is_resumed_and_both_stores_are_released(
        tmp_path, moto_server, tf_root, s3, dynamodb, state_bucket, lock_table, terraform_bin, aws_params):
    from ansible_collections.tfstate.s3_backend.plugins.modules import backend_hcl
    from tests.testbed.collection import run_module

    roots = _fleet(tmp_path, tf_root, state_bucket, lock_table, ["app"])
    root = roots["app"]
    root.apply(serial="1")
    # What a run killed after its re-init leaves: the files and .terraform on lockfile, its maintenance
    # lock in both stores, and a record that says a cut-over started (the files no longer name the table).
    gone = __import__("subprocess").Popen(["true"])
    gone.wait()
    dead = {"run_id": "run-killed", "controller": socket.gethostname(), "pid": gone.pid, "pid_start": "1"}
    _freeze(aws_params, state_bucket, lock_table, "app", runs.freeze_info(dead, clock.now(), 3600))
    s3.put_object(Bucket=state_bucket, Key="app/terraform.tfstate.tfstate-s3-backend.json", Body=json.dumps({
        "mode": "dynamodb", "dynamodb_table": lock_table, "cutover_time": None, "root": root.path,
        "pending": {"target": "lockfile", "run_id": "run-killed", "started": "2026-11-29T20:00:00Z",
                    "dynamodb_table": lock_table}}).encode())
    run_module(backend_hcl, {"path": [os.path.join(root.path, "backend.tf")], "lock_mode": "lockfile"})
    root.init(reconfigure=True)

    rerun = run_playbook(PLAYBOOK, inventory=_inventory(tmp_path, moto_server, terraform_bin, roots), env=ENV)
    assert rerun.returncode == 0, rerun.stdout[-4000:]
    [row] = _report(tmp_path, "migrate-report.json")["results"]
    assert row["status"] == "resumed" and row["verification"]["locked_plan_refused"] is True, row
    assert any("did not finish" in evidence for evidence in row["interrupted"]), row
    assert any("interrupted run" in evidence for evidence in row["interrupted"]), row
    assert s3.list_objects_v2(Bucket=state_bucket, Prefix="app/terraform.tfstate.tflock").get("KeyCount") == 0
    assert [item for item in dynamodb.scan(TableName=lock_table)["Items"] if "Info" in item] == []
    record = json.loads(s3.get_object(Bucket=state_bucket, Key="app/terraform.tfstate.tfstate-s3-backend.json")
                        ["Body"].read())
    assert record["mode"] == "lockfile" and "pending" not in record, record
    root.apply(serial="2")


def test_a_root_with_a_utf16_file_stops_in_the_preflight_naming_it_and_the_others_migrate(
        tmp_path, moto_server, tf_root, s3, dynamodb, state_bucket, lock_table, terraform_bin):
    import subprocess

    roots = _fleet(tmp_path, tf_root, state_bucket, lock_table, ["first", "utf16", "second"])
    bad = roots["utf16"]
    # Saved by a Windows editor as "Unicode": UTF-16 with a byte order mark (after the root's last good init).
    vars_tf = os.path.join(bad.path, "vars.tf")
    with open(vars_tf, "wb") as handle:
        handle.write(b"\xff\xfe" + 'variable "region" {\n  default = "us-east-1"\n}\n'.encode("utf-16-le"))
    backend_before = open(os.path.join(bad.path, "backend.tf"), "rb").read()
    dot_terraform_before = open(os.path.join(bad.path, ".terraform", "terraform.tfstate"), "rb").read()

    result = run_playbook(PLAYBOOK, inventory=_inventory(tmp_path, moto_server, terraform_bin, roots), env=ENV)
    assert result.returncode == 2, result.stdout[-4000:]
    recap = play_recap(result.stdout)
    assert recap["utf16"]["failed"] == 1 and recap["first"]["failed"] == 0 and recap["second"]["failed"] == 0, recap
    rows = dict((row["host"], row) for row in _report(tmp_path, "migrate-report.json")["results"])
    assert rows["first"]["status"] == "migrated" and rows["second"]["status"] == "migrated", rows
    row = rows["utf16"]
    assert row["status"] == "stopped" and row["phase"] == "preflight", row
    assert "%s:1: UTF-16 (little-endian, with a byte order mark), not UTF-8 at byte 0" % vars_tf in row["reason"], row
    assert "UTF-8" in row["next_step"], row
    # Nothing changed for that root: its files, its last init, no lock in either store, no record.
    assert open(os.path.join(bad.path, "backend.tf"), "rb").read() == backend_before
    assert open(os.path.join(bad.path, ".terraform", "terraform.tfstate"), "rb").read() == dot_terraform_before
    assert s3.list_objects_v2(Bucket=state_bucket, Prefix="utf16/").get("KeyCount") == 0
    assert [item["LockID"]["S"] for item in dynamodb.scan(TableName=lock_table)["Items"]
            if item["LockID"]["S"].startswith("%s/utf16/" % state_bucket)] == []
    assert _records(s3, state_bucket) == ["first/terraform.tfstate.tfstate-s3-backend.json",
                                          "second/terraform.tfstate.tfstate-s3-backend.json"]
    # terraform refuses the same file.
    init = subprocess.run(bad.command("init", "-no-color", "-backend-config=use_path_style=true"), cwd=bad.path,
                          env=bad.env, capture_output=True, text=True, errors="replace", timeout=300, check=False)
    assert init.returncode == 1 and "Invalid character encoding" in init.stderr and "on vars.tf line 1" in init.stderr


def test_a_black_hole_endpoint_fails_its_root_within_the_configured_timeouts_and_the_others_migrate(
        tmp_path, moto_server, tf_root, s3, state_bucket, lock_table, terraform_bin):
    import subprocess
    import sys

    from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.retries import worst_case_seconds
    from tests.testbed.collection import ansible_env
    from tests.testbed.fault_proxy import BlackHole

    roots = _fleet(tmp_path, tf_root, state_bucket, lock_table, ["healthy", "unreachable"])
    backend_before = open(os.path.join(roots["unreachable"].path, "backend.tf"), "rb").read()
    limits = {"tfstate_aws_connect_timeout": 1, "tfstate_aws_read_timeout": 1, "tfstate_aws_max_attempts": 1}
    with BlackHole() as hole:
        inventory = _inventory(tmp_path, moto_server, terraform_bin, roots)
        with open(inventory) as handle:
            data = yaml.safe_load(handle)
        # Only this root's AWS endpoint swallows every request (the healthy root, first, writes the fleet view).
        data["all"]["hosts"]["unreachable"].update(dict(limits, tfstate_aws_endpoint_url=hole.url))
        with open(inventory, "w") as handle:
            yaml.safe_dump(data, handle)
        command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), PLAYBOOK, "-i", inventory]
        # A guard, not a measurement: the healthy root's terraform work plus one call's worst case (2 s) at the
        # black hole; without the timeouts botocore would wait 60 s per read, 3 attempts, per call.
        guard = 300 + worst_case_seconds(connect_timeout=1, read_timeout=1, max_attempts=1)
        result = subprocess.run(command, cwd=ROOT, env=ansible_env(ENV), capture_output=True, text=True,
                                timeout=guard, check=False)
        connections = len(hole.connections)
    assert result.returncode == 2, result.stdout[-4000:]
    rows = dict((row["host"], row) for row in _report(tmp_path, "migrate-report.json")["results"])
    assert rows["healthy"]["status"] == "migrated", rows
    row = rows["unreachable"]
    assert row["status"] == "stopped" and row["phase"] == "preflight", row
    assert hole.url in row["reason"] and "read_timeout=1" in row["reason"], row["reason"]
    # One attempt (max_attempts=1), and the preflight's first call was the only one to reach the endpoint: the
    # root stopped there, and nothing after it (result, report) called it again.
    assert connections == 1, connections
    assert open(os.path.join(roots["unreachable"].path, "backend.tf"), "rb").read() == backend_before
