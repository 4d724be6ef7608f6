"""The ledger's pure decisions: keys, entries, the fleet view, the auto step, retire's table users."""

import datetime

import pytest

from ansible_collections.tfstate.s3_backend.plugins.module_utils._fleet import auto
from ansible_collections.tfstate.s3_backend.plugins.module_utils._fleet import ledger
from ansible_collections.tfstate.s3_backend.plugins.module_utils._fleet import ledger_store

T0 = datetime.datetime(2026, 12, 1, tzinfo=datetime.timezone.utc)
DAY = 86400


def at(days):
    return T0 + datetime.timedelta(days=days)


def entry(stage, days, bucket="b1", key="app/terraform.tfstate", table="locks", host="app", **extra):
    made = ledger.new_entry(stage, at(days), bucket, key, table=table, host=host, account="111", run_id="run-%s" % days,
                            environ={}, **extra)
    return made


def test_entry_keys_round_trip_and_never_look_like_a_workspace_state():
    key = ledger.entry_key("env/prod/terraform.tfstate", "dual")
    assert key == "tfstate-s3-backend-ledger/env/prod/terraform.tfstate/dual.json"
    assert ledger.parse_entry_key(key) == ("env/prod/terraform.tfstate", "dual")
    assert ledger.parse_entry_key("tfstate-s3-backend-ledger/x/other.json") is None
    assert ledger.parse_entry_key("env:/staging/terraform.tfstate") is None
    with pytest.raises(ledger.LedgerError):
        ledger.entry_key("k", "migrated")


def test_new_entry_takes_the_awx_job_from_the_environment_and_redacts_the_root():
    made = ledger.new_entry("dual", T0, "b", "k", root="https://user:token@git.example.com/x.git",
                            environ={"TOWER_JOB_ID": "42"})
    assert made["job_id"] == "42"
    assert made["root"] == "https://git.example.com/x.git"
    assert made["time"] == "2026-12-01T00:00:00Z"
    assert made["workspaces"] == ["default"]


def test_current_stage_is_the_latest_and_a_rerun_writes_nothing():
    entries = [entry("dual", 0), entry("lockfile", 8)]
    assert ledger.current(entries)["stage"] == "lockfile"
    assert not ledger.needs_write(entries, "lockfile")
    assert ledger.needs_write(entries, "dynamodb")
    assert ledger.transition(entries, "dynamodb") == "lockfile"
    assert ledger.transition([], "dual") == "dynamodb"
    # A rollback after lockfile, then dual again: dual is news again.
    entries.append(entry("dynamodb", 9))
    assert ledger.needs_write(entries, "dual")


def test_fleet_view_counts_per_account_bucket_table_and_stage():
    entries = [
        entry("dual", 0), entry("lockfile", 8),
        entry("dual", 0, key="net/terraform.tfstate", host="net"),
        entry("held", 3, key="net/terraform.tfstate", host="net", evidence=["DynamoDB lock item x without .tflock"]),
        entry("dual", 1, bucket="b2", key="db/terraform.tfstate", table="locks-2", host="db"),
    ]
    view = ledger.fleet_view(entries, problems=["s3://b3/x: unreadable"])
    assert [(row["host"], row["stage"]) for row in view["roots"]] == [("app", "lockfile"), ("net", "dual"),
                                                                      ("db", "dual")]
    assert view["counts"] == {"111": {"b1": {"locks": {"lockfile": 1, "dual": 1}}, "b2": {"locks-2": {"dual": 1}}}}
    assert view["stages"] == {"lockfile": 1, "dual": 2}
    assert view["tables"] == {"locks": {"lockfile": 1, "dual": 1}, "locks-2": {"dual": 1}}
    assert [(row["host"], row["evidence"]) for row in view["held_back"]] == [
        ("net", ["DynamoDB lock item x without .tflock"])]
    assert view["roots"][0]["history"] == [{"stage": "dual", "from_stage": None, "time": "2026-12-01T00:00:00Z"},
                                           {"stage": "lockfile", "from_stage": None, "time": "2026-12-09T00:00:00Z"}]
    assert view["problems"] == ["s3://b3/x: unreadable"]
    # Runs that did the same thing compare equal without their times and IDs.
    again = ledger.fleet_view([entry("dual", 2), entry("lockfile", 10),
                               entry("dual", 2, key="net/terraform.tfstate", host="net"),
                               entry("held", 5, key="net/terraform.tfstate", host="net",
                                     evidence=["DynamoDB lock item x without .tflock"]),
                               entry("dual", 3, bucket="b2", key="db/terraform.tfstate", table="locks-2", host="db")],
                              problems=["s3://b3/x: unreadable"])
    assert ledger.comparable(again) == ledger.comparable(view)
    assert ledger.comparable(ledger.fleet_view(entries[:1])) != ledger.comparable(view)
    # A document's generation time goes; the history of stages stays (without its times).
    assert ledger.comparable({"generated": "x", "fleet": view})["fleet"]["roots"][0]["history"] == [
        {"stage": "dual", "from_stage": None}, {"stage": "lockfile", "from_stage": None}]


def test_a_lockfile_root_keeps_the_table_it_left_and_held_evidence_older_than_dual_is_not_held_back():
    view = ledger.fleet_view([entry("dual", 0), entry("held", 1, evidence=["x"]),
                              dict(entry("lockfile", 8), table=None), entry("dynamodb", 9), entry("dual", 10)])
    assert view["roots"][0]["table"] == "locks"
    assert view["roots"][0]["stage"] == "dual"
    assert view["held_back"] == []


def test_retirable_tables_wait_for_every_root_and_the_grace():
    view = ledger.fleet_view([entry("lockfile", 0), entry("lockfile", 5, key="b/t", host="b"),
                              entry("dual", 0, key="c/t", host="c", table="other")])
    retirable, kept = ledger.retirable_tables(view, at(11), 7 * DAY)
    assert retirable == {}
    assert "1.0 hour" not in kept["locks"] and "hour(s) of the retire grace left" in kept["locks"]
    assert kept["other"].startswith("root c, state s3://b1/c/t is in stage dual")
    retirable, kept = ledger.retirable_tables(view, at(12), 7 * DAY)
    assert list(retirable) == ["locks"]


LOCK_INFO = '{"ID":"%s","Operation":"OperationTypeApply","Info":"","Who":"ci@old","Version":"%s",' \
            '"Created":"2026-12-01T00:00:00Z","Path":"b1/app/terraform.tfstate"}'


def lock(store, version="1.11.4", info="", path="b1/app/terraform.tfstate"):
    return {"store": store, "state_path": path, "table": "locks" if store == "dynamodb" else None, "bucket": "b1",
            "lock_key": None if store == "dynamodb" else "app/terraform.tfstate.tflock",
            "table_key": path if store == "dynamodb" else None, "who": "ci@old",
            "version": version, "operation": "OperationTypeApply", "id": "id-1", "created": "2026-12-01T00:00:00Z",
            "info": info}


def test_old_client_evidence():
    # A dual client holds both: no evidence.
    assert auto.old_client_evidence([lock("s3"), lock("dynamodb")]) == []
    # A DynamoDB lock item alone: a client without use_lockfile; named by table and item.
    found = auto.old_client_evidence([lock("dynamodb")])
    assert len(found) == 1 and "locks item b1/app/terraform.tfstate" in found[0] and "without a matching .tflock" in found[0]
    # Written by Terraform 1.9: old even with both.
    found = auto.old_client_evidence([lock("s3", "1.9.8"), lock("dynamodb", "1.9.8")])
    assert len(found) == 2 and all("older than 1.10" in line for line in found)
    # This collection's maintenance lock never counts.
    assert auto.old_client_evidence([lock("dynamodb", info="tfstate.s3_backend maintenance lock run=x")]) == []
    assert not auto.older_than_use_lockfile("1.10.0")
    assert auto.older_than_use_lockfile("v0.14.11")
    assert not auto.older_than_use_lockfile(None)


def test_auto_moves_one_stage_per_run():
    week = 7 * DAY
    assert auto.auto_step("dynamodb", [], at(0), week, [])["target"] == "dual"
    step = auto.auto_step("dual", [entry("dual", 0)], at(3), week, [])
    assert (step["target"], step["status"]) == (None, "waiting") and "4.0 day(s)" in step["why"]
    step = auto.auto_step("dual", [entry("dual", 0)], at(7), week, [])
    assert (step["target"], step["status"]) == ("lockfile", "move")
    step = auto.auto_step("lockfile", [entry("dual", 0), entry("lockfile", 7)], at(8), week, [])
    assert (step["target"], step["status"]) == (None, "done")
    # Files that say a stage the ledger does not know: recorded, the grace starts then.
    assert auto.auto_step("dual", [], at(0), week, [])["target"] == "dual"
    assert auto.auto_step("lockfile", [entry("dual", 0)], at(1), week, [])["target"] == "lockfile"
    with pytest.raises(ledger.LedgerError):
        auto.auto_step("none", [], at(0), week, [])


def test_auto_holds_a_root_with_an_old_client_and_names_the_lock():
    week = 7 * DAY
    step = auto.auto_step("dual", [entry("dual", 0)], at(30), week, ["DynamoDB lock locks item b1/app held by x"])
    assert (step["target"], step["status"]) == (None, "held")
    assert "b1/app" in step["why"] and step["evidence"] == ["DynamoDB lock locks item b1/app held by x"]
    # Evidence seen by an earlier run holds the root for a grace after it was seen.
    entries = [entry("dual", 0), entry("held", 10, evidence=["lock L"])]
    step = auto.auto_step("dual", entries, at(12), week, [])
    assert step["status"] == "held" and "lock L" in step["why"] and "2026-12-18" in step["why"]
    assert auto.auto_step("dual", entries, at(17), week, [])["target"] == "lockfile"


def test_table_users_outside_the_play():
    entries = [entry("lockfile", 8), entry("dual", 0, key="net/terraform.tfstate", host="net"),
               entry("lockfile", 8, key="gone/terraform.tfstate", host="gone", table="other")]
    view = ledger.fleet_view(entries)
    items = [{"LockID": "b1/app/terraform.tfstate-md5", "Digest": "x"},
             {"LockID": "b1/net/terraform.tfstate-md5", "Digest": "x"},
             {"LockID": "b1/env:/staging/net/terraform.tfstate-md5", "Digest": "x"},
             {"LockID": "b9/unknown/terraform.tfstate-md5", "Digest": "x"},
             {"LockID": "b1/mine/terraform.tfstate-md5", "Digest": "x"},
             {"LockID": "b1/held/terraform.tfstate", "Info": "{}"}]
    reasons = auto.table_users("locks", view, items, {("b1", "mine/terraform.tfstate")})
    assert len(reasons) == 2
    assert reasons[0].startswith("root net, state s3://b1/net/terraform.tfstate is in stage dual with the table")
    assert "digest item b9/unknown/terraform.tfstate-md5" in reasons[1]
    # The play speaks for its own roots; a backend read now from the ledger's directory wins over the ledger.
    assert auto.table_users("locks", view, [], {("b1", "net/terraform.tfstate")}) == []
    backends = {("b1", "app/terraform.tfstate"): {"file": "/r/app/backend.tf", "line": 2, "lock_mode": "dual",
                                                  "dynamodb_table": "locks"}}
    reasons = auto.table_users("locks", view, [], set(), backends)
    assert any("/r/app/backend.tf:2, lock mode dual" in reason for reason in reasons)
    assert auto.last_lockfile_time(view, "locks") == "2026-12-09T00:00:00Z"
    assert auto.buckets_of_items(items) == ["b1", "b9"]


def test_parse_entry_refuses_what_is_not_an_entry():
    parsed = ("app/terraform.tfstate", "dual")
    assert ledger_store.parse_entry(b"not json", "b", "k", parsed)[1].startswith("s3://b/k is not a ledger entry")
    assert "says stage 'lockfile'" in ledger_store.parse_entry(b'{"stage": "lockfile", "time": "2026-12-01T00:00:00Z"}',
                                                               "b", "k", parsed)[1]
    good, problem = ledger_store.parse_entry(b'{"stage": "dual", "time": "2026-12-01T00:00:00Z", "bucket": "x"}', "b", "k",
                                             parsed)
    assert problem is None and good["bucket"] == "b" and good["key"] == "app/terraform.tfstate"


def test_ledger_backends_reads_the_directories_the_ledger_names(tmp_path):
    here = tmp_path / "app"
    here.mkdir()
    entries = [entry("lockfile", 8, root=str(here)),
               entry("dual", 0, key="net/terraform.tfstate", host="net", root=str(tmp_path / "elsewhere")),
               entry("dual", 0, key="db/terraform.tfstate", host="db", table="other", root=str(here))]
    view = ledger.fleet_view(entries)
    seen = []

    def resolve(path):
        seen.append(path)
        return {"file": path + "/backend.tf", "line": 3, "lock_mode": "dual",
                "settings": {"bucket": "b1", "key": "app/terraform.tfstate", "dynamodb_table": "locks"}}

    found = ledger_store.ledger_backends(view, "locks", set(), resolve)
    # Only the table's roots whose directory exists here; a directory now holding another state does not count.
    assert seen == [str(here)]
    assert found == {("b1", "app/terraform.tfstate"): {"file": str(here) + "/backend.tf", "line": 3,
                                                       "lock_mode": "dual", "dynamodb_table": "locks"}}
    assert ledger_store.ledger_backends(view, "locks", {("b1", "app/terraform.tfstate")}, resolve) == {}
    assert ledger_store.ledger_backends(view, "locks", set(), lambda path: None) == {}


def test_a_rollback_pins_the_root_until_an_explicit_run_moves_it_on():
    week = 7 * DAY
    rolled_back = entry("dynamodb", 10, reason="INC-4711: lock errors", job_id="311")
    assert rolled_back["pinned"] is True and rolled_back["reason"] == "INC-4711: lock errors"
    assert entry("dual", 0)["pinned"] is False and entry("held", 0)["pinned"] is False
    history = [entry("dual", 0), entry("lockfile", 7), rolled_back]
    pin = ledger.pin_of(history)
    assert pin == {"since": "2026-12-11T00:00:00Z", "run_id": "run-10", "job_id": "311", "host": "app",
                   "reason": "INC-4711: lock errors"}
    # auto leaves it on DynamoDB, a month later too, whatever the files say, naming the rollback.
    for files in ("dynamodb", "dual", "lockfile"):
        step = auto.auto_step(files, history, at(40), week, [])
        assert (step["target"], step["status"]) == (None, "pinned") and step["pin"] == pin
        assert "INC-4711" in step["why"] and "run-10" in step["why"] and "AWX job 311" in step["why"]
    # An explicit dual run lifts the pin; the next auto run goes on from dual.
    moved = history + [entry("dual", 41, lifted_pin=pin)]
    assert ledger.pin_of(moved) is None and moved[-1]["lifted_pin"] == pin
    assert auto.auto_step("dual", moved, at(42), week, [])["status"] == "waiting"
    assert auto.auto_step("dual", moved, at(48), week, [])["target"] == "lockfile"
    # The fleet view names the pin.
    view = ledger.fleet_view(history)
    assert view["roots"][0]["pinned"] == pin and view["pinned"][0]["reason"] == "INC-4711: lock errors"
    assert "Pinned on DynamoDB" in ledger.fleet_markdown(view, "now") and "INC-4711" in ledger.fleet_markdown(view, "now")
    assert ledger.fleet_view(moved)["pinned"] == []
