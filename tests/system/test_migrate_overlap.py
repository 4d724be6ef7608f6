"""Two migrate runs of one fleet that overlap (two terminals, an AWX schedule over a manual launch).

Real terraform against moto: every root is cut over by exactly one run, the other run stops it
naming the run that holds it, no root is `resumed`, and neither run fails on the other's
verification plan. Seen through the migration records and the ledger in S3, the lock stores, the
files and a terraform plan, as well as through each run's report.
"""

import json
import os
import time

import pytest

from tests.testbed.collection import ROOT, start_playbook
from tests.testbed.fleet import fleet_inventory, root_hosts

PLAYBOOK = os.path.join(ROOT, "playbooks", "migrate.yml")
# One root at a time (forks 1): a run takes as long as one of a larger fleet does, so the second run
# starts while the first is still cutting roots over, also 4 s later, with no stall added anywhere.
ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1",
       "ANSIBLE_FORKS": "1"}
NAMES = ("alpha", "beta", "gamma")


def _run_report(base):
    with open(os.path.join(base, "reports", "migrate-report.json")) as handle:
        return {row["host"]: row for row in json.load(handle)["results"]}


@pytest.mark.parametrize("delay", [0, 1, 4])
def test_two_overlapping_runs_never_break_each_other(delay, tmp_path, moto_server, tf_root, s3, dynamodb,
                                                     state_bucket, lock_table, terraform_bin):
    roots = {}
    for name in NAMES:
        root = tf_root(name)
        root.write_backend(bucket=state_bucket, key="%s/terraform.tfstate" % name, dynamodb_table=lock_table)
        root.init()
        roots[name] = root
    bases = [tmp_path / "first", tmp_path / "second"]
    inventories = []
    for base in bases:
        base.mkdir()
        inventories.append(fleet_inventory(base, moto_server.url, terraform_bin, root_hosts(roots),
                                           migrate_target="dual"))
    first = start_playbook(PLAYBOOK, inventories[0], bases[0] / "run.log", env=ENV)
    time.sleep(delay)
    second = start_playbook(PLAYBOOK, inventories[1], bases[1] / "run.log", env=ENV)
    for run in (first, second):
        run.wait(timeout=600)
    reports = [_run_report(str(base)) for base in bases]
    shown = "\n".join((base / "run.log").read_text()[-3000:] for base in bases)

    for name in NAMES:
        rows = [report[name] for report in reports]
        statuses = sorted(row["status"] for row in rows)
        # Exactly one run cuts the root over. The other stops naming it, or, when it reached the root only
        # after the cut-over had ended (a fast machine, 4 s apart), finds it unchanged: never resumed.
        assert statuses in (["migrated", "stopped"], ["migrated", "unchanged"]), (name, rows, shown)
        winner = next(row for row in rows if row["status"] == "migrated")
        loser = next(row for row in rows if row["status"] != "migrated")
        if loser["status"] == "stopped":
            # The run that stopped names the one that holds the root, by its run ID.
            assert winner["run_id"] in loser["reason"] and "another migration run" in loser["reason"], (loser, winner)
            assert loser["phase"] in ("preflight", "freeze"), loser
        else:
            assert loser["phase"] is None and loser["files_changed"] == [], loser
        assert winner["verification"].get("locked_plan_refused") is True and winner["verification"].get("plan_ok"), winner
        # Seen in S3: the record and the ledger were written by the run that migrated the root, once.
        record = json.loads(s3.get_object(Bucket=state_bucket, Key="%s/terraform.tfstate.tfstate-s3-backend.json"
                                          % name)["Body"].read())
        assert record["mode"] == "dual" and "pending" not in record and record["run_id"] == winner["run_id"], record
        ledger_keys = [item["Key"] for item in s3.list_objects_v2(
            Bucket=state_bucket, Prefix="tfstate-s3-backend-ledger/%s/" % name).get("Contents", [])]
        assert ledger_keys == ["tfstate-s3-backend-ledger/%s/terraform.tfstate/dual.json" % name]
        entry = json.loads(s3.get_object(Bucket=state_bucket, Key=ledger_keys[0])["Body"].read())
        assert entry["run_id"] == winner["run_id"], entry
        text = open(os.path.join(roots[name].path, "backend.tf")).read()
        assert "use_lockfile" in text and "dynamodb_table" in text
    assert all(row["status"] != "resumed" for report in reports for row in report.values())
    if delay == 0:
        # Started together, the runs meet on a root: one of them must have stopped it, naming the other.
        assert any(row["status"] == "stopped" for report in reports for row in report.values()), shown
    # Each run exits as its rows say: the one that stopped roots fails, a run that migrated every root does not.
    for run, report in zip((first, second), reports):
        assert (run.returncode != 0) == any(row["status"] == "stopped" for row in report.values()), shown
    # No lock left in either store; terraform plans with the dual configuration.
    assert s3.list_objects_v2(Bucket=state_bucket, Prefix="").get("Contents") is not None
    assert not [item["Key"] for item in s3.list_objects_v2(Bucket=state_bucket).get("Contents", [])
                if item["Key"].endswith(".tflock")]
    assert [item for item in dynamodb.scan(TableName=lock_table)["Items"] if "Info" in item] == []
    for root in roots.values():
        root.plan()
