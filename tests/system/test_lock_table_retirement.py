"""lock_table_retirement against moto: it decides from the table's own check and the findings, and changes
nothing (read back through the DynamoDB API). The retire role around it, with real terraform, is in test_retire.py.
"""

import datetime

from ansible_collections.tfstate.s3_backend.plugins.modules import lock_table_retirement
from tests.testbed.collection import run_module

LOCK_INFO = ('{"ID":"1b2c","Operation":"OperationTypeApply","Info":"","Who":"ci@runner","Version":"1.11.4",'
             '"Created":"2026-11-27T10:00:00Z","Path":"%s"}')
DECLARATION = 'resource "aws_dynamodb_table" "locks" {\n  hash_key = "LockID"\n  name     = "%s"\n}\n'


def finding(host, path, table=None, cutover="2026-01-01T00:00:00Z", lock_table_name=None):
    return {"host": host, "root": str(path), "path": str(path), "file": str(path / "backend.tf"), "line": 1,
            "lock_mode": "dual" if table else "lockfile", "dynamodb_table": table,
            "record": {"mode": "lockfile", "dynamodb_table": lock_table_name, "cutover_time": cutover}, "error": ""}


def items(dynamodb, table):
    return sorted(item["LockID"]["S"] for item in dynamodb.scan(TableName=table)["Items"])


def test_a_table_nothing_uses_is_retirable_and_stays(aws_params, dynamodb, lock_table, tmp_path):
    root = tmp_path / "app"
    root.mkdir()
    (root / "main.tf").write_text(DECLARATION % ("other-" + lock_table))
    args = dict(aws_params, table=lock_table, roots=["app"], findings=[finding("app", root, lock_table_name=lock_table)])
    result = run_module(lock_table_retirement, args, check_mode=True)
    assert result["retirable"] is True and result["blockers"] == [], result
    assert result["changed"] is False and result["cutover_time"] == "2026-01-01T00:00:00Z"
    assert lock_table in dynamodb.list_tables()["TableNames"]


def test_every_reason_is_named_and_nothing_changes(aws_params, dynamodb, lock_table, tmp_path):
    dynamodb.put_item(TableName=lock_table, Item={"LockID": {"S": "b/app.tfstate"}, "Info": {"S": LOCK_INFO % "b/app.tfstate"}})
    app = tmp_path / "app"
    app.mkdir()
    code = tmp_path / "bootstrap"
    code.mkdir()
    (code / "locks.tf").write_text("\n" + DECLARATION % lock_table)
    recent = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    args = dict(aws_params, table=lock_table, roots=["app", "net", "db"], code_paths=[str(code)],
                findings=[finding("app", app, table=lock_table, cutover=recent, lock_table_name=lock_table),
                          {"host": "db", "root": "https://git.example.com/db.git", "error": "no backend block"}])
    result = run_module(lock_table_retirement, args)
    assert result["retirable"] is False
    assert result["referenced_by"] == [str(app)]
    assert result["declared_in"] == [{"file": str(code / "locks.tf"), "line": 2}]
    joined = "\n".join(result["blockers"])
    assert "root net was not examined" in joined
    assert "root https://git.example.com/db.git could not be read" in joined
    assert "root %s still locks with the table (%s:1, lock mode dual)" % (app, app / "backend.tf") in joined
    assert "the grace period of 7 day(s) after the last cut-over (%s)" % recent in joined
    assert "declared in Terraform code at %s:2" % (code / "locks.tf") in joined
    assert "lock item b/app.tfstate is held (ID 1b2c" in joined
    assert len(result["blockers"]) == 6
    assert items(dynamodb, lock_table) == ["b/app.tfstate"]


def test_a_missing_table_is_not_retirable_and_a_bad_cutover_time_fails(aws_params, lock_table):
    result = run_module(lock_table_retirement, dict(aws_params, table=lock_table + "-gone", roots=["a"],
                                                    findings=[{"host": "a", "root": "a", "path": None}],
                                                    cutover_time="2026-01-01T00:00:00Z"))
    assert result["lock_table"]["exists"] is False and result["retirable"] is False and result["blockers"] == []
    failed = run_module(lock_table_retirement, dict(aws_params, table=lock_table, cutover_time="last week"))
    assert failed["failed"] is True and failed["msg"].startswith("cutover_time: ")
