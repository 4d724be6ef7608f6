"""playbooks/retire.yml with real terraform against moto: the DynamoDB lock table is kept while a
root of the inventory still locks with it (here in dual mode), before the grace period, and while
Terraform code declares it; it is backed up and deleted once nothing uses it.

Effects are seen through the DynamoDB API (ListTables, ListBackups) and terraform runs.
"""

import datetime
import json
import os
import time

import pytest
import yaml

from tests.testbed.collection import ROOT, run_playbook

pytestmark = pytest.mark.terraform

PLAYBOOK = os.path.join(ROOT, "playbooks", "retire.yml")
DECLARATION = '''\
resource "aws_dynamodb_table" "terraform_locks" {
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "LockID"

  attribute {
    name = "LockID"
    type = "S"
  }

  name = "%s"
}
'''


def a_cutover_moment():
    """A cut-over time strictly between the writes before and after it (S3 times have 1 s grain)."""
    time.sleep(1.1)
    moment = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    time.sleep(1.1)
    return moment


def write_migration_record(s3, bucket, key, mode, table, cutover_time):
    """What the migrate role leaves next to the state after a cut-over."""
    record = {"mode": mode, "dynamodb_table": table, "cutover_time": cutover_time, "root": key,
              "collection_version": "0.1.0"}
    s3.put_object(Bucket=bucket, Key=key + ".tfstate-s3-backend.json", Body=json.dumps(record).encode())


def write_inventory(tmp_path, moto_server, roots, host_vars=None, **extra):
    path = tmp_path / "inventory.yml"
    hosts = dict((name, dict({"tfstate_root": root.path}, **(host_vars or {}).get(name, {})))
                 for name, root in roots.items())
    path.write_text(yaml.safe_dump({"all": {"hosts": hosts, "vars": dict({
        "tfstate_aws_endpoint_url": moto_server.url,
        "tfstate_aws_region": "us-east-1",
        "retire_report_dir": str(tmp_path / "reports"),
    }, **extra)}}))
    return str(path)


def retire(inventory, table, check=False, **extra_vars):
    return run_playbook(PLAYBOOK, dict(extra_vars, retire_table=table), inventory=inventory, check=check,
                        env={"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"})


def report(tmp_path, preview=False):
    """The last run's result; a check-mode run writes a preview, never the real report."""
    with open(str(tmp_path / "reports" / ("retire-preview.json" if preview else "retire-report.json"))) as handle:
        results = json.load(handle)["results"]
    assert len(results) == 1
    return results[0]


def backups(dynamodb, table):
    return dynamodb.list_backups(TableName=table)["BackupSummaries"]


def migrated_root(tf_root, name, bucket, table):
    """A root applied with DynamoDB locking, ready to be cut over."""
    root = tf_root(name)
    root.write_backend(bucket=bucket, key="%s/terraform.tfstate" % name, dynamodb_table=table)
    root.init()
    root.apply(serial="1")
    return root


def switch(root, bucket, table=None, serial="2"):
    """Cut the root over (use_lockfile, with table: dual) and apply once more."""
    name = os.path.basename(root.path)
    root.write_backend(bucket=bucket, key="%s/terraform.tfstate" % name, dynamodb_table=table, use_lockfile=True)
    root.init(reconfigure=True)
    root.apply(serial=serial)


def test_retire_refuses_while_a_root_uses_the_table_then_deletes_it(
        tmp_path, moto_server, aws_env, s3, dynamodb, state_bucket, lock_table, tf_root):
    network = migrated_root(tf_root, "network", state_bucket, lock_table)
    app = migrated_root(tf_root, "app", state_bucket, lock_table)
    cutover = a_cutover_moment()
    switch(network, state_bucket)
    write_migration_record(s3, state_bucket, "network/terraform.tfstate", "lockfile", lock_table, cutover)
    switch(app, state_bucket, table=lock_table)  # dual: it still locks with (and writes digests to) the table
    write_migration_record(s3, state_bucket, "app/terraform.tfstate", "dual", lock_table, cutover)
    inventory = write_inventory(tmp_path, moto_server, {"network": network, "app": app})

    refused = retire(inventory, lock_table, retire_fail_on_refused=False)
    assert refused.returncode == 0, refused.stdout + refused.stderr  # a scheduled job that retries
    result = report(tmp_path)
    assert result["status"] == "refused", result
    assert result["referenced_by"] == [app.path]
    # Named where backend.tf names the table (its dynamodb_table line).
    with open(os.path.join(app.path, "backend.tf")) as handle:
        line = [number for number, text in enumerate(handle, 1) if "dynamodb_table" in text][0]
    assert any(reason.startswith("root %s still locks with the table (%s:%d, lock mode dual)"
                                 % (app.path, os.path.join(app.path, "backend.tf"), line))
               for reason in result["blockers"]), "\n".join(result["blockers"])
    assert any("grace period of 7" in reason for reason in result["blockers"]), result["blockers"]
    # The dual root's digest matches its state written after the cut-over: the table sees a client too.
    assert any("a client with dynamodb_table still writes" in reason for reason in result["blockers"]), "\n".join(result["blockers"])
    assert lock_table in dynamodb.list_tables()["TableNames"]
    assert backups(dynamodb, lock_table) == []

    # The last root goes lockfile-only; its record gets the later cut-over.
    last_cutover = a_cutover_moment()
    switch(app, state_bucket, serial="3")
    write_migration_record(s3, state_bucket, "app/terraform.tfstate", "lockfile", lock_table, last_cutover)

    still_in_grace = retire(inventory, lock_table)
    # A refusal fails the run by default: localhost fails with the reason and the next step.
    assert still_in_grace.returncode == 2, still_in_grace.stdout + still_in_grace.stderr
    assert [r for r in report(tmp_path)["blockers"] if "(%s)" % last_cutover in r], report(tmp_path)
    assert len(report(tmp_path)["blockers"]) == 1
    assert report(tmp_path)["next_step"].startswith("run retire again after "), report(tmp_path)
    # The run's summary (last) says refused, why and what to do.
    assert "refused localhost: the grace period of 7 day(s)" in still_in_grace.stdout, still_in_grace.stdout[-3000:]
    assert "next: run retire again after" in still_in_grace.stdout
    assert "failed=1" in still_in_grace.stdout.split("PLAY RECAP")[-1]

    checked = retire(inventory, lock_table, check=True, retire_grace_period_days=0)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert report(tmp_path, preview=True)["status"] == "retired" and report(tmp_path, preview=True)["check_mode"] is True
    assert lock_table in dynamodb.list_tables()["TableNames"]
    assert backups(dynamodb, lock_table) == []

    done = retire(inventory, lock_table, retire_grace_period_days=0)
    assert done.returncode == 0, done.stdout + done.stderr
    result = report(tmp_path)
    assert result["status"] == "retired", result
    assert lock_table not in dynamodb.list_tables()["TableNames"]
    found = backups(dynamodb, lock_table)
    assert [backup["BackupArn"] for backup in found] == [result["backup"]["arn"]]
    assert found[0]["BackupStatus"] == "AVAILABLE"
    # Terraform on use_lockfile does not miss the table.
    app.apply(serial="4")

    again = retire(inventory, lock_table, retire_grace_period_days=0)
    assert again.returncode == 0, again.stdout + again.stderr
    assert report(tmp_path)["status"] == "unchanged"
    assert len(backups(dynamodb, lock_table)) == 1


def test_retire_names_the_code_that_declares_the_table_and_keeps_it(
        tmp_path, moto_server, aws_env, s3, dynamodb, state_bucket, lock_table, tf_root):
    root = tf_root("platform")
    root.write_backend(bucket=state_bucket, key="platform/terraform.tfstate", use_lockfile=True)
    declaring = root.write("locks.tf", "# The lock table of every root.\n\n" + DECLARATION % lock_table)
    # A resource with another name, and the table's name elsewhere, are not declarations of it.
    root.write("other.tf", DECLARATION.replace("terraform_locks", "other") % ("not-" + lock_table)
               + '\nlocals {\n  name = "%s"\n}\n' % lock_table)
    bootstrap = tmp_path / "bootstrap"
    bootstrap.mkdir()
    (bootstrap / "main.tf").write_text(DECLARATION % lock_table)
    write_migration_record(s3, state_bucket, "platform/terraform.tfstate", "lockfile", lock_table, "2026-01-01T00:00:00Z")
    inventory = write_inventory(tmp_path, moto_server, {"platform": root},
                                retire_code_paths=[str(bootstrap)])

    refused = retire(inventory, lock_table, retire_grace_period_days=0)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    result = report(tmp_path)
    assert result["status"] == "refused", result
    assert result["declared_in"] == [{"file": declaring, "line": 3},
                                     {"file": str(bootstrap / "main.tf"), "line": 1}]
    assert len(result["blockers"]) == 2
    assert result["blockers"][0] == "the table is declared in Terraform code at %s:3" % declaring
    assert "remove that aws_dynamodb_table resource at %s:3 and apply there" % declaring in result["next_step"]
    assert lock_table in dynamodb.list_tables()["TableNames"]
    assert backups(dynamodb, lock_table) == []


def test_retire_refuses_a_root_it_cannot_read(tmp_path, moto_server, aws_env, dynamodb, state_bucket, lock_table, tf_root):
    root = tf_root("broken")
    root.write("backend.tf", 'terraform {\n  backend "s3" {\n    bucket = "%s"\n    key = \n' % state_bucket)
    inventory = write_inventory(tmp_path, moto_server, {"broken": root})

    refused = retire(inventory, lock_table, retire_grace_period_days=0,
                     retire_cutover_time="2026-01-01T00:00:00Z")
    assert refused.returncode == 2
    result = report(tmp_path)
    assert result["status"] == "refused", result
    assert [reason for reason in result["blockers"] if reason.startswith("root %s could not be read" % root.path)]
    assert lock_table in dynamodb.list_tables()["TableNames"]


def test_retire_refusal_fails_naming_the_partial_configuration_that_names_the_table_and_the_next_step(
        tmp_path, moto_server, aws_env, s3, dynamodb, state_bucket, lock_table, tf_root):
    app = tf_root("app")
    app.write("backend.tf", 'terraform {\n  backend "s3" {\n    bucket = "%s"\n  }\n}\n' % state_bucket)
    # The table is named on line 2 of the partial configuration terraform is given, not in backend.tf.
    app.write("prod.tfbackend", 'key            = "app/terraform.tfstate"\ndynamodb_table = "%s"\n'
                                'use_lockfile   = true\n' % lock_table)
    app.init("-backend-config=prod.tfbackend")  # terraform takes this configuration (dual locking)
    app.apply("-var", "serial=1")
    write_migration_record(s3, state_bucket, "app/terraform.tfstate", "dual", lock_table, "2026-01-01T00:00:00Z")
    inventory = write_inventory(tmp_path, moto_server, {"app": app},
                                host_vars={"app": {"tfstate_init_args": ["-backend-config=prod.tfbackend"]}})

    refused = retire(inventory, lock_table, retire_grace_period_days=0)
    output = refused.stdout + refused.stderr
    assert refused.returncode == 2, output
    where = os.path.join(app.path, "prod.tfbackend") + ":2"
    assert "refused localhost: root %s still locks with the table (%s, lock mode dual)" % (app.path, where) in output, \
        output[-4000:]
    assert ("next: ansible-playbook tfstate.s3_backend.migrate --limit app -e migrate_target=lockfile (it removes the "
            "table from %s); then run retire again" % where) in output, output[-4000:]
    recap = output.split("PLAY RECAP")[-1]
    assert [line for line in recap.splitlines() if line.startswith("localhost") and "failed=1" in line], recap
    result = report(tmp_path)
    assert result["status"] == "refused" and where in result["reason"] and where in result["next_step"], result
    # Nothing was deleted: the table and its digest are there, and terraform still plans with the table.
    assert lock_table in dynamodb.list_tables()["TableNames"]
    assert backups(dynamodb, lock_table) == []
    app.plan()


def test_retire_needs_a_table_name(tmp_path, moto_server, aws_env, tf_root):
    inventory = write_inventory(tmp_path, moto_server, {"app": tf_root("app")})
    proc = run_playbook(PLAYBOOK, {}, inventory=inventory)
    assert proc.returncode != 0
    assert "retire_table" in proc.stdout + proc.stderr


def test_retire_names_a_repository_it_cannot_clone_without_its_credentials(
        tmp_path, moto_server, aws_env, dynamodb, lock_table, tf_root):
    inventory = write_inventory(tmp_path, moto_server, {"gone": tf_root("gone")}, host_vars={"gone": {
        "tfstate_repo_url": "https://oauth2:SECRETUSER@127.0.0.1:9/net.git?private_token=SECRETQUERY&ref=main",
        "tfstate_workdir": str(tmp_path / "work")}})
    refused = retire(inventory, lock_table, retire_grace_period_days=0, retire_cutover_time="2026-01-01T00:00:00Z")
    assert refused.returncode == 2
    result = report(tmp_path)
    assert "root https://127.0.0.1:9/net.git?private_token=REDACTED&ref=main could not be read" in result["reason"]
    for where in (refused.stdout, refused.stderr, json.dumps(result)):
        assert "SECRETUSER" not in where and "SECRETQUERY" not in where
    assert lock_table in dynamodb.list_tables()["TableNames"]
