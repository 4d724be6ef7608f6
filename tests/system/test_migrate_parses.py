"""A migrate run parses each root's backend files once, plus once per file it rewrites (issue 17).

Real terraform against moto, the migrate playbook with TFSTATE_PARSE_LOG (backend_discovery.note_parse: every
backend file read from disk and parsed, one path a line). Two roots: one still on DynamoDB (rewritten to
lockfile), one whose files and last init already say lockfile (no rewrite: its cut-over re-initialises,
proves and records it); then the idempotent rerun. The outcome is seen through the files, terraform's
``.terraform`` and the migration record in S3, not only through the parse count.
"""

import collections
import json
import os

from tests.system.test_migrate_outcomes import ENV, PLAYBOOK, _inventory, _records, _report
from tests.testbed.collection import run_playbook


def _parses(log):
    with open(log) as handle:
        return collections.Counter(os.path.relpath(line, os.path.dirname(os.path.dirname(line)))
                                   for line in handle.read().splitlines())


def test_a_run_parses_each_root_once_plus_once_per_rewritten_file_and_a_rerun_once(
        tmp_path, moto_server, tf_root, s3, state_bucket, lock_table, terraform_bin):
    roots = {"rewrite": tf_root("rewrite"), "done": tf_root("done")}
    roots["rewrite"].write_backend(bucket=state_bucket, key="rewrite/terraform.tfstate", dynamodb_table=lock_table)
    roots["done"].write_backend(bucket=state_bucket, key="done/terraform.tfstate", use_lockfile=True)
    for root in roots.values():
        root.init()
    inventory = _inventory(tmp_path, moto_server, terraform_bin, roots)
    log = str(tmp_path / "parses.log")

    result = run_playbook(PLAYBOOK, inventory=inventory, env=dict(ENV, TFSTATE_PARSE_LOG=log))
    assert result.returncode == 0, result.stdout[-4000:]
    rows = dict((row["host"], row) for row in _report(tmp_path, "migrate-report.json")["results"])
    assert (rows["rewrite"]["status"], rows["rewrite"]["lock_mode_after"]) == ("migrated", "lockfile"), rows
    assert rows["done"]["lock_mode_after"] == "lockfile" and rows["done"]["files_changed"] == [], rows["done"]
    # Measured elsewhere: the file says use_lockfile, terraform's last init too, the record is in S3.
    assert "use_lockfile" in open(os.path.join(roots["rewrite"].path, "backend.tf")).read()
    for root in roots.values():
        with open(os.path.join(root.path, ".terraform", "terraform.tfstate")) as handle:
            assert json.load(handle)["backend"]["config"]["use_lockfile"] is True
    assert sorted(key.split("/")[0] for key in _records(s3, state_bucket)) == ["done", "rewrite"], \
        _records(s3, state_bucket)
    # The preflight's parse of each root, and the rewrite's of the one file it rewrote: nothing else.
    assert _parses(log) == {"rewrite/backend.tf": 2, "done/backend.tf": 1}, _parses(log)

    os.unlink(log)
    again = run_playbook(PLAYBOOK, inventory=inventory, env=dict(ENV, TFSTATE_PARSE_LOG=log))
    assert again.returncode == 0, again.stdout[-4000:]
    rows = dict((row["host"], row) for row in _report(tmp_path, "migrate-report.json")["results"])
    assert {host: row["status"] for host, row in rows.items()} == {"rewrite": "unchanged", "done": "unchanged"}
    assert _parses(log) == {"rewrite/backend.tf": 1, "done/backend.tf": 1}, _parses(log)
