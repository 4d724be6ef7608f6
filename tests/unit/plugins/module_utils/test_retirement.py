"""retirement: every reason to keep a lock table, each on its own, then all together; declarations found in files."""

import datetime

import pytest

from ansible_collections.tfstate.s3_backend.plugins.module_utils import retirement as rt

TABLE = "terraform-locks"
NOW = datetime.datetime(2026, 11, 29, 12, 0, tzinfo=datetime.timezone.utc)
LONG_AGO = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
DECLARATION = '''resource "aws_dynamodb_table" "locks" {
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "LockID"

  attribute {
    name = "LockID"
    type = "S"
  }

  name = "%s"
}
'''


def blockers(**changes):
    """The reasons with everything clear except ``changes``."""
    args = dict(roots=["app"], unexamined=[], unreadable=[], referencing=[], cutover_time="2026-01-01T00:00:00Z",
                cutover_moment=LONG_AGO, grace_period_days=7, now=NOW, declarations=[], table_refusal=None, problems=())
    args.update(changes)
    return rt.retirement_blockers(**args)


def finding(host, **extra):
    found = {"host": host, "root": "/srv/%s" % host, "path": "/srv/%s" % host, "file": "/srv/%s/backend.tf" % host,
             "line": 2, "lock_mode": "lockfile", "dynamodb_table": None, "record": None, "error": ""}
    found.update(extra)
    return found


def test_nothing_keeps_a_table_nobody_uses():
    assert blockers() == []


def test_no_roots_in_the_inventory():
    assert blockers(roots=[]) == ["the inventory lists no Terraform root (hosts with tfstate_root or tfstate_repo_url), "
                                  "so nothing shows which clients still use the table"]


def test_a_root_not_examined():
    assert blockers(unexamined=["envs/prod"]) == [
        "root envs/prod was not examined (run the role with tasks_from: examine on every root first, as "
        "playbooks/retire.yml does)"]


def test_a_root_that_could_not_be_read():
    assert blockers(unreadable=[{"root": "/srv/broken", "error": "backend.tf:4: no value"}]) == [
        "root /srv/broken could not be read, so it may still use the table: backend.tf:4: no value"]


def test_a_root_that_still_locks_with_the_table():
    assert blockers(referencing=[finding("app", lock_mode="dual", dynamodb_table=TABLE)]) == [
        "root /srv/app still locks with the table (/srv/app/backend.tf:2, lock mode dual)"]


def test_an_unknown_cutover_time():
    reasons = blockers(cutover_time=None, cutover_moment=None)
    assert len(reasons) == 1 and reasons[0].startswith("no migration record names the table")


def test_the_grace_period_counts_from_the_last_cutover():
    cutover = NOW - datetime.timedelta(days=6, hours=12)
    assert blockers(cutover_time="T", cutover_moment=cutover) == [
        "the grace period of 7 day(s) after the last cut-over (T) is not over: 12.0 hour(s) left"]
    assert blockers(cutover_time="T", cutover_moment=cutover, grace_period_days=6.5) == []
    assert blockers(cutover_time="T", cutover_moment=cutover, grace_period_days=0.25) == []
    assert "grace period of 0.75 day(s)" in blockers(cutover_time="T", cutover_moment=NOW, grace_period_days=0.75)[0]
    future = NOW + datetime.timedelta(hours=1)
    assert "25.0 hour(s) left" in blockers(cutover_time="T", cutover_moment=future, grace_period_days=1)[0]


def test_a_declaration_in_terraform_code():
    assert blockers(declarations=[{"file": "/srv/boot/main.tf", "line": 3}]) == [
        "the table is declared in Terraform code at /srv/boot/main.tf:3: remove that aws_dynamodb_table resource "
        "there (terraform destroys the table) instead of deleting it here"]


def test_the_table_check_refusal_and_other_problems():
    assert blockers(table_refusal="table terraform-locks not deleted: lock item b/k is held") == [
        "table terraform-locks not deleted: lock item b/k is held"]
    assert blockers(problems=["the code path /x does not exist"]) == ["the code path /x does not exist"]


def test_every_reason_at_once_in_order():
    reasons = blockers(roots=[], unexamined=["u"], unreadable=[{"root": "r", "error": "e"}],
                       referencing=[finding("app", dynamodb_table=TABLE)], cutover_time=None, cutover_moment=None,
                       declarations=[{"file": "f", "line": 1}], problems=["p"], table_refusal="refused")
    assert [reason.split(" ")[0] for reason in reasons] == ["the", "root", "root", "root", "no", "the", "p", "refused"]
    assert len(reasons) == 8


def test_sort_findings():
    findings = [
        finding("app", dynamodb_table=TABLE, record={"dynamodb_table": TABLE, "cutover_time": "2026-01-01T00:00:00Z"}),
        finding("net", record={"dynamodb_table": "other"}),
        {"host": "broken", "root": "/srv/broken", "error": "bad"},
        finding("old", record={"dynamodb_table": TABLE, "cutover_time": "2026-02-01T00:00:00Z", "mode": "dynamodb"}),
    ]
    found = rt.sort_findings(TABLE, ["app", "net", "broken", "old", "missing"], findings)
    assert found["unexamined"] == ["missing"]
    assert [f["host"] for f in found["unreadable"]] == ["broken"]
    assert [f["host"] for f in found["referencing"]] == ["app"]
    assert [root for root, _record in found["records"]] == ["/srv/app", "/srv/old"]
    assert found["paths"] == ["/srv/app", "/srv/net", "/srv/old"]


def test_last_cutover_takes_the_latest_time_and_names_a_bad_record():
    records = [("/srv/a", {"cutover_time": "2026-11-20T10:00:00Z"}), ("/srv/b", {"cutover_time": "2026-11-21T09:00:00+02:00"}),
               ("/srv/c", {"cutover_time": None}), ("/srv/d", {"cutover_time": "yesterday"})]
    text, moment, problems = rt.last_cutover(records)
    assert text == "2026-11-21T09:00:00+02:00"
    assert moment == datetime.datetime(2026, 11, 21, 7, 0, tzinfo=datetime.timezone.utc)
    assert len(problems) == 1 and problems[0].startswith("the migration record of root /srv/d has a cut-over time")
    assert rt.last_cutover(records[:1], "2026-11-27T10:00:00Z")[0] == "2026-11-27T10:00:00Z"
    assert rt.last_cutover([], None) == (None, None, [])
    with pytest.raises(ValueError):
        rt.last_cutover([], "not a time")


def test_declarations_in_text():
    text = "# locks\n\n" + DECLARATION % TABLE + "\n" + DECLARATION % ("not-" + TABLE) + '\nlocals {\n  name = "%s"\n}\n' % TABLE
    assert rt.declarations_in(text, TABLE) == [3]
    assert rt.declarations_in(DECLARATION % TABLE + DECLARATION % TABLE, TABLE) == [1, 12]
    assert rt.declarations_in("", TABLE) == []
    assert rt.declarations_in(DECLARATION % "terraform.locks", "terraform-locks") == []  # the name is literal


def test_find_declarations_walks_the_paths_skipping_hidden_folders(tmp_path):
    root = tmp_path / "root"
    (root / "modules" / "locks").mkdir(parents=True)
    (root / ".terraform" / "modules" / "x").mkdir(parents=True)
    (root / "main.tf").write_text(DECLARATION % TABLE)
    (root / "modules" / "locks" / "table.tf").write_text("\n" + DECLARATION % TABLE)
    (root / ".terraform" / "modules" / "x" / "main.tf").write_text(DECLARATION % TABLE)
    (root / "notes.tf.txt").write_text(DECLARATION % TABLE)
    found, problems = rt.find_declarations([str(root), str(root / "modules"), str(tmp_path / "missing")], TABLE)
    assert found == [{"file": str(root / "main.tf"), "line": 1},
                     {"file": str(root / "modules" / "locks" / "table.tf"), "line": 2}]
    assert problems == ["the code path %s does not exist, so it cannot be searched for a declaration of the table"
                        % (tmp_path / "missing")]
