"""A rollback killed (SIGKILL of the playbook's process group) at each phase, then run again: it
converges - no lock left, every digest the MD5 of its state, terraform plans with DynamoDB locking.

The kill points are found by polling what each phase leaves (S3, DynamoDB, the root's files),
so each test is bounded by the phase it waits for.
"""

import json
import os

import pytest

from tests.system.test_rollback import (
    KEY,
    PLAYBOOK,
    digest,
    lock_items,
    lock_objects,
    state_md5,
    trapped_root,
    write_migration_record,
)
from tests.system.test_rollback_overlap import ENV, assert_dynamodb_locking, freeze_run, inventory, row
from tests.testbed.collection import kill_playbook, run_playbook, start_playbook
from tests.testbed.terraform import wait_for

pytestmark = pytest.mark.terraform


def text(path):
    try:
        with open(path) as handle:
            return handle.read()
    except OSError:
        return ""


def kill_points(s3, dynamodb, bucket, table, root):
    """``{phase: predicate}``: true once the rollback has reached (at least) that phase's effect."""
    backend_tf = os.path.join(root.path, "backend.tf")
    initialised = os.path.join(root.path, ".terraform", "terraform.tfstate")
    return {
        "freeze": lambda: freeze_run(s3, bucket),
        "digests": lambda: digest(dynamodb, table, bucket, KEY) == state_md5(s3, bucket, KEY),
        "rewrite": lambda: "dynamodb_table" in text(backend_tf),
        "reinit": lambda: '"dynamodb_table": "%s"' % table in text(initialised),
        # Re-initialised, proven and thawed: killed before the plan and the record.
        "thaw": lambda: ('"dynamodb_table": "%s"' % table in text(initialised)
                         and lock_objects(s3, bucket) == [] and "use_lockfile" not in text(backend_tf)),
    }


@pytest.mark.parametrize("phase", ["freeze", "digests", "rewrite", "reinit", "thaw"])
def test_a_rollback_killed_in_any_phase_converges_when_run_again(
        phase, tmp_path, moto_server, aws_env, s3, dynamodb, state_bucket, lock_table, tf_root, terraform_bin):
    root = trapped_root(tf_root, state_bucket, lock_table)
    write_migration_record(s3, state_bucket, lock_table)
    killed_dir, rerun_dir = tmp_path / "killed", tmp_path / "rerun"
    reached = kill_points(s3, dynamodb, state_bucket, lock_table, root)[phase]
    killed = start_playbook(PLAYBOOK, inventory(killed_dir, moto_server, root, terraform_bin),
                            killed_dir / "run.log", env=ENV)
    try:
        wait_for(lambda: reached() or killed.poll() is not None, timeout=180, interval=0.05,
                 what="the rollback's %s phase" % phase)
        assert killed.poll() is None, "the run ended before %s: %s" % (phase, (killed_dir / "run.log").read_text()[-3000:])
    finally:
        kill_playbook(killed)

    rerun = run_playbook(PLAYBOOK, inventory=inventory(rerun_dir, moto_server, root, terraform_bin), env=ENV)
    assert rerun.returncode == 0, rerun.stdout[-4000:]
    result = row(rerun_dir, "rollback")
    assert result["status"] in ("rolled_back", "resumed"), result
    assert lock_objects(s3, state_bucket) == [] and lock_items(dynamodb, lock_table) == []
    assert digest(dynamodb, lock_table, state_bucket, KEY) == state_md5(s3, state_bucket, KEY)
    record = json.loads(s3.get_object(Bucket=state_bucket, Key=KEY + ".tfstate-s3-backend.json")["Body"].read())
    assert record["mode"] == "dynamodb" and "pending" not in record, record
    assert_dynamodb_locking(root, dynamodb, lock_table, state_bucket)
