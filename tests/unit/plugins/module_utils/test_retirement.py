"""retirement: every reason to keep a lock table, each on its own, then all together; declarations found in files."""

import datetime

import pytest

from ansible_collections.tfstate.s3_backend.plugins.module_utils._fleet import retirement as rt

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


def refusals(**changes):
    """The refusals (reason and next step) with everything clear except ``changes``."""
    args = dict(roots=["app"], unexamined=[], unreadable=[], referencing=[], cutover_time="2026-01-01T00:00:00Z",
                cutover_moment=LONG_AGO, grace_period_days=7, now=NOW, declarations=[], table_refusal=(), problems=())
    args.update(changes)
    found = rt.retirement_blockers(**args)
    for one in found:
        assert sorted(one) == ["next_step", "reason"] and one["reason"] and one["next_step"], one
    return found


def blockers(**changes):
    return [one["reason"] for one in refusals(**changes)]


def steps(**changes):
    return [one["next_step"] for one in refusals(**changes)]


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
    assert "tfstate_root or tfstate_repo_url" in steps(roots=[])[0]


def test_a_root_not_examined():
    assert blockers(unexamined=["envs/prod"]) == ["root envs/prod was not examined"]
    assert steps(unexamined=["envs/prod"]) == [
        "run playbooks/retire.yml, which examines every root first (with --limit, include localhost)"]


def test_a_root_that_could_not_be_read():
    unreadable = [{"root": "/srv/broken", "error": "backend.tf:4: no value"}]
    assert blockers(unreadable=unreadable) == [
        "root /srv/broken could not be read, so it may still use the table: backend.tf:4: no value"]
    assert steps(unreadable=unreadable)[0].startswith("make root /srv/broken readable")


def test_a_root_that_still_locks_with_the_table_is_named_where_the_table_is_set():
    assert blockers(referencing=[finding("app", lock_mode="dual", dynamodb_table=TABLE)]) == [
        "root /srv/app still locks with the table (/srv/app/backend.tf:2, lock mode dual)"]
    # The table named in the partial configuration: that file and line, and the migrate command for the host.
    partial = finding("app", lock_mode="dual", dynamodb_table=TABLE, table_at="/srv/app/prod.tfbackend:2")
    assert blockers(referencing=[partial]) == [
        "root /srv/app still locks with the table (/srv/app/prod.tfbackend:2, lock mode dual)"]
    assert steps(referencing=[partial]) == [
        "ansible-playbook tfstate.s3_backend.migrate --limit app -e migrate_target=lockfile (it removes the table "
        "from /srv/app/prod.tfbackend:2); then run retire again"]


def test_an_unknown_cutover_time():
    reasons = blockers(cutover_time=None, cutover_moment=None)
    assert len(reasons) == 1 and reasons[0].startswith("no migration record names the table")
    assert "retire_cutover_time" in steps(cutover_time=None, cutover_moment=None)[0]


def test_the_grace_period_counts_from_the_last_cutover():
    cutover = NOW - datetime.timedelta(days=6, hours=12)
    assert blockers(cutover_time="T", cutover_moment=cutover) == [
        "the grace period of 7 day(s) after the last cut-over (T) is not over: 12.0 hour(s) left"]
    assert steps(cutover_time="T", cutover_moment=cutover)[0].startswith("run retire again after 2026-11-30T00:00:00Z")
    assert blockers(cutover_time="T", cutover_moment=cutover, grace_period_days=6.5) == []
    assert blockers(cutover_time="T", cutover_moment=cutover, grace_period_days=0.25) == []
    assert "grace period of 0.75 day(s)" in blockers(cutover_time="T", cutover_moment=NOW, grace_period_days=0.75)[0]
    future = NOW + datetime.timedelta(hours=1)
    assert "25.0 hour(s) left" in blockers(cutover_time="T", cutover_moment=future, grace_period_days=1)[0]


def test_a_declaration_in_terraform_code():
    declarations = [{"file": "/srv/boot/main.tf", "line": 3}]
    assert blockers(declarations=declarations) == ["the table is declared in Terraform code at /srv/boot/main.tf:3"]
    assert steps(declarations=declarations) == [
        "remove that aws_dynamodb_table resource at /srv/boot/main.tf:3 and apply there (terraform destroys the "
        "table) instead of deleting it here"]


@pytest.mark.parametrize("problem, words", [
    ("the code path /x does not exist, so it cannot be searched for a declaration of the table", "retire_code_paths"),
    ("root net (b/net.tfstate) is in stage dual with the table since T (ledger of bucket b)", "migrate_target=lockfile"),
    ("digest item b/k-md5 shows a state (s3://b/k) of a root that neither this run nor the ledger knows: ...",
     "add it to the inventory"),
    ("the migration record of root /srv/d has a cut-over time that cannot be read, so ...", "retire_cutover_time"),
    ("something else entirely", "resolve the reason given"),
])
def test_other_problems_get_a_next_step_by_their_words(problem, words):
    assert blockers(problems=[problem]) == [problem]
    assert words in steps(problems=[problem])[0]


def test_the_table_check_refusals_each_get_their_next_step():
    held = {"reason": "lock item", "lock_table_key": "b/k", "id": "1234", "operation": "OperationTypeApply",
            "who": "ci@runner", "created": "T"}
    current = {"reason": "digest matches a state version written after the cut-over", "digest_table_key": "b/k-md5",
               "state_path": "b/k", "version_id": "v2", "last_modified": "T"}
    found = rt.table_refusals("table t not deleted: ...", [held, current, {"reason": "deletion protection"},
                                                           {"reason": "digest items without cutover_time", "count": 2}],
                              "t")
    assert [one["reason"].split(" ")[0] for one in found] == ["lock", "digest", "table", "2"]
    assert "unlock_lock_id 1234" in found[0]["next_step"]
    assert "applies b/k with dynamodb_table" in found[1]["next_step"]
    assert found[2]["next_step"] == "set retire_lift_deletion_protection: true to turn it off before the deletion"
    assert "retire_cutover_time" in found[3]["next_step"]
    unchecked = rt.table_refusals("table t: the check for lock items and current digests failed: AccessDenied", [], "t")
    assert [one["reason"] for one in unchecked] == ["table t: the check for lock items and current digests failed: "
                                                    "AccessDenied"]
    assert blockers(table_refusal=found) == [one["reason"] for one in found]


def test_every_reason_at_once_in_order():
    reasons = blockers(roots=[], unexamined=["u"], unreadable=[{"root": "r", "error": "e"}],
                       referencing=[finding("app", dynamodb_table=TABLE)], cutover_time=None, cutover_moment=None,
                       declarations=[{"file": "f", "line": 1}], problems=["p"],
                       table_refusal=[rt.refusal("refused", "wait")])
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


# ---------------------------------------------------------------------------
# Whose table it is: the principal of the roots that locked with it

ROLE_B = {"role_arn": "arn:aws:iam::210987654321:role/tfstate-backend"}


def table_root(host, table=None, record_table=None, settings=None, error=""):
    return {"host": host, "root": "/srv/%s" % host, "dynamodb_table": table, "error": error,
            "record": {"mode": "lockfile", "dynamodb_table": record_table} if record_table else None,
            "backend": {"settings": dict(settings or {}, bucket="b", key="%s/terraform.tfstate" % host),
                        "identity_settings": dict(settings or {})}}


def test_the_table_is_reached_as_the_roots_that_locked_with_it():
    users = [table_root("net", record_table=TABLE, settings={"assume_role": ROLE_B, "region": "eu-west-1"}),
             table_root("app", table=TABLE, settings={"assume_role": ROLE_B, "region": "eu-west-1"}),
             # Another table's root, in another account, does not count.
             table_root("other", record_table="other-locks", settings={"profile": "c"})]
    assert rt.table_principal(TABLE, users)["host"] == "net"


def test_without_a_root_of_the_table_the_inventory_credentials_are_used():
    assert rt.table_principal(TABLE, [table_root("other", record_table="other-locks", settings={"profile": "c"}),
                                      table_root("gone", record_table=TABLE, error="cannot read")]) is None
    assert rt.table_principal(TABLE, []) is None
    # A finding without its backend (an older examine) names no principal.
    bare = table_root("app", table=TABLE)
    del bare["backend"]
    assert rt.table_principal(TABLE, [bare]) is None


def test_roots_of_the_table_with_different_principals_are_named():
    users = [table_root("net", record_table=TABLE, settings={"assume_role": ROLE_B}),
             table_root("app", record_table=TABLE, settings={"profile": "prod"})]
    with pytest.raises(ValueError) as refused:
        rt.table_principal(TABLE, users)
    message = str(refused.value)
    assert "/srv/net (assume_role" in message and "210987654321" in message
    assert "/srv/app (profile prod)" in message


def test_settings_that_do_not_say_who_the_caller_is_do_not_split_the_principal():
    net = table_root("net", record_table=TABLE, settings={"region": "eu-west-1"})
    app = table_root("app", record_table=TABLE, settings={"region": "eu-west-1"})
    app["backend"]["settings"]["encrypt"] = True
    assert rt.table_principal(TABLE, [net, app])["host"] == "net"
