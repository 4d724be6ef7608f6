"""Run reports, previews and the fleet view: counts, merges, Markdown, atomic writes."""

import datetime
import json
import os

from ansible_collections.tfstate.s3_backend.plugins.module_utils._fleet import ledger
from ansible_collections.tfstate.s3_backend.plugins.module_utils._fleet import reports

RUN = {"run_id": "run-a", "started": "2026-11-29T20:00:00Z", "job_id": None}


def row(host, status="migrated", **extra):
    return dict({"host": host, "status": status, "target": "lockfile", "lock_mode_after": "lockfile",
                 "bucket": "state", "key": "%s/terraform.tfstate" % host, "dynamodb_table": "locks",
                 "account": "123456789012", "reason": "", "next_step": ""}, **extra)


def test_counts_per_dimension():
    counts = reports.counts([row("a"), row("b", "stopped", lock_mode_after="dynamodb"), row("c")])
    assert counts["status"] == {"migrated": 2, "stopped": 1}
    assert counts["lock_mode"] == {"dynamodb": 1, "lockfile": 2}
    assert counts["account"] == {"123456789012": 3}


def test_run_document_merges_batches_of_the_same_run_only():
    first = reports.run_document("migrate", [row("a")], RUN, "2026-11-29T20:01:00Z", False)
    second = reports.run_document("migrate", [row("b", "stopped", reason="held")], RUN, "2026-11-29T20:02:00Z",
                                  False, previous=first)
    assert [r["host"] for r in second["results"]] == ["a", "b"]
    assert second["blockers"] == [{"host": "b", "status": "stopped", "reason": "held", "next_step": ""}]
    other_run = reports.run_document("migrate", [row("c")], dict(RUN, run_id="run-b"), "x", False, previous=second)
    assert [r["host"] for r in other_run["results"]] == ["c"]


def test_a_preview_says_so_and_shows_each_roots_diff():
    diff = "--- a/backend.tf\n+++ b/backend.tf\n-    dynamodb_table = \"x\"\n+    use_lockfile = true\n"
    document = reports.run_document("migrate", [row("a", "would_migrate", files_diff=diff)], RUN, "t", True)
    assert document["kind"] == "preview" and document["title"].startswith("PREVIEW")
    text = reports.markdown(document)
    assert "Check mode: a preview" in text
    assert "### a\n\n```diff\n--- a/backend.tf" in text


def _ledger_view(*entries):
    return ledger.fleet_view(list(entries))


def _entry(host, stage, days, bucket="state", **extra):
    moment = datetime.datetime(2026, 12, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(days=days)
    return ledger.new_entry(stage, moment, bucket, "%s/terraform.tfstate" % host, table="locks", host=host,
                            account="123456789012", region="us-east-1", run_id="run-%s" % days, environ={}, **extra)


def test_the_fleet_view_is_the_ledger_plus_what_this_run_saw():
    view = _ledger_view(_entry("a", "dual", 0), _entry("a", "lockfile", 8), _entry("b", "dual", 0),
                        _entry("b", "dynamodb", 9, reason="INC-1"), _entry("z", "dual", 3))
    # This run: a migrated (already in the ledger), b could not be read (no credentials), n is new and stopped.
    rows = [row("a"), row("b", "stopped", reason="no credentials", bucket=None, key=None),
            row("n", "stopped", files_lock_mode_after="dynamodb", reason="a lock is held")]
    fleet = reports.fleet_document("migrate", view, rows, {}, None, "t")
    by_host = dict((r["host"], r) for r in fleet["results"])
    assert sorted(by_host) == ["a", "b", "n", "z"]
    assert by_host["a"]["status"] == "lockfile" and by_host["a"]["last_run"]["status"] == "migrated"
    # A run that could not read b does not downgrade what the ledger knows: rolled back, pinned.
    assert by_host["b"]["status"] == "pinned" and by_host["b"]["pinned"]["reason"] == "INC-1"
    assert by_host["b"]["last_run"]["status"] == "stopped"
    # z: another controller's or inventory's root in the same bucket; n: not in the ledger, as measured.
    assert by_host["z"]["status"] == "dual" and by_host["z"]["last_run"] is None
    assert by_host["n"]["status"] == "dynamodb" and by_host["n"]["stage"] is None
    assert fleet["counts"]["status"] == {"dual": 1, "dynamodb": 1, "lockfile": 1, "pinned": 1}
    assert [b["host"] for b in fleet["blockers"]] == ["b", "n"]
    assert fleet["ledger"] == view and [r["host"] for r in fleet["pinned"]] == ["b"]
    text = reports.fleet_markdown(fleet)
    assert "Pinned on DynamoDB" in text and "INC-1" in text and "| z | dual |" in text
    section = reports.fleet_section(fleet)
    assert section["counts"] == fleet["counts"] and len(section["results"]) == 4
    assert "## Fleet (from the ledger" in reports.markdown(dict(
        reports.run_document("migrate", rows, RUN, "t", False), fleet=section))


def test_a_bucket_whose_ledger_cannot_be_read_keeps_the_previous_view():
    view = _ledger_view(_entry("a", "lockfile", 8), _entry("c", "dual", 1, bucket="other"))
    previous = reports.fleet_document("migrate", view, [], {}, None, "t1")
    rows = [row("a", "stopped", reason="AccessDenied"), row("c", "stopped", bucket="other", key="c/terraform.tfstate")]
    # This run reads "other" but not "state": a's row stays as the ledger last said, c is read again.
    fleet = reports.fleet_document("migrate", _ledger_view(_entry("c", "dual", 1, bucket="other")), rows,
                                   {"state": "AccessDenied"}, previous, "t2")
    by_host = dict((r["host"], r) for r in fleet["results"])
    assert by_host["a"]["status"] == "lockfile" and by_host["a"]["last_run"]["status"] == "stopped"
    assert by_host["c"]["status"] == "dual"
    assert any("bucket state could not be read" in problem for problem in fleet["problems"])
    # Roots of buckets this run does not use never appear.
    alone = reports.fleet_document("migrate", _ledger_view(), [row("x", bucket="mine")], {}, previous, "t3")
    assert [r["host"] for r in alone["results"]] == ["x"]


def test_markdown_escapes_cells():
    document = reports.run_document("migrate", [row("a", "stopped", reason="x | y\nz")], RUN, "t", False)
    text = reports.markdown(document)
    assert "x \\| y z" in text and text.endswith("\n")


def test_write_document_is_atomic_and_leaves_no_temporary(tmp_path):
    document = reports.run_document("migrate", [row("a")], RUN, "t", False)
    paths = reports.write_document(str(tmp_path), "migrate-report", document)
    assert [os.path.basename(p) for p in paths] == ["migrate-report.json", "migrate-report.md"]
    assert json.load(open(paths[0]))["results"][0]["host"] == "a"
    assert sorted(os.listdir(str(tmp_path))) == ["migrate-report.json", "migrate-report.md"]
    assert reports.read_json(str(tmp_path / "missing.json")) is None


def test_an_unsupported_root_is_a_blocker_with_its_diff_and_command_in_a_real_run():
    diff = "--- /r/terragrunt.hcl (before)\n+++ /r/terragrunt.hcl (after)\n+    use_lockfile = true\n"
    command = "cd /r && terragrunt init -reconfigure"
    unsupported = row("g", "unsupported", reason="terragrunt: /r/terragrunt.hcl:5 ...", next_step="run it",
                      files_diff=diff, unsupported="terragrunt", reinit_command=command)
    document = reports.run_document("migrate", [row("a"), unsupported], RUN, "t", False)
    assert document["blockers"] == [{"host": "g", "status": "unsupported", "next_step": "run it",
                                     "reason": "terragrunt: /r/terragrunt.hcl:5 ..."}]
    text = reports.markdown(document)
    assert "## Diffs\n\n### g\n\nNot applied by this role (terragrunt): apply it by hand, then run `%s`." % command \
        in text
    assert "```diff\n--- /r/terragrunt.hcl (before)" in text


def test_the_summary_counts_names_each_stop_once_with_its_next_step_and_the_files():
    rows = [row("a"), row("b", "stopped", phase="preflight", reason="a lock is held\non x by runner@ci-42",
                          next_step="wait for runner@ci-42"),
            row("c", "ahead"), row("d", skipped_dual=True)]
    document = reports.run_document("migrate", rows, RUN, "t", False)
    lines = reports.summary_lines(document, ["/r/migrate-report.md", "/r/migrate-report.json"],
                                  ["extra variable migrate_targt ..."])
    assert lines[0] == "migrate run: 4 roots: migrated 2, ahead 1, stopped 1"
    assert lines[1] == "stopped b (preflight): a lock is held on x by runner@ci-42"
    assert lines[2] == "  next: wait for runner@ci-42"
    assert "ahead of the target, left as they are (1): c" in lines
    assert "skipped dual (DynamoDB straight to lockfile) (1): d" in lines
    assert "warning: extra variable migrate_targt ..." in lines
    assert lines[-1] == "reports: /r/migrate-report.md"
    assert sum("runner@ci-42" in line for line in lines if not line.startswith("  next")) == 1


def test_a_preview_summary_says_nothing_changed_and_caps_the_rows():
    rows = [row("h%02d" % index, "would_stop", reason="x" * 500) for index in range(15)]
    lines = reports.summary_lines(reports.run_document("migrate", rows, RUN, "t", True))
    assert lines[0].startswith("migrate PREVIEW (check mode), nothing was changed: 15 roots")
    assert len([line for line in lines if line.startswith("would_stop")]) == reports.SUMMARY_ROWS
    assert "... and 5 more that need attention: see the report" in lines
    assert max(len(line) for line in lines) < 300


def test_the_artifacts_of_1000_roots_stay_under_64_kb():
    diff = "--- a/backend.tf\n+++ b/backend.tf\n" + "-    dynamodb_table = \"locks\"\n+    use_lockfile = true\n" * 10
    rows = [row("root-%04d" % index, "migrated", files_diff=diff, files_changed=["/src/root/backend.tf"],
                verification={"plan_ok": True}, workspaces=["default"], lock_mode_before="dynamodb",
                principal="arn:aws:sts::123456789012:assumed-role/tfstate/ops", cutover_time="2026-11-29T20:00:00Z")
            for index in range(960)]
    rows += [row("stuck-%04d" % index, "stopped", phase="preflight", reason="a lock is held on state/x " * 4,
                 next_step="wait for runner@ci then rerun", files_diff=diff) for index in range(40)]
    document = reports.run_document("migrate", rows, RUN, "t", False)
    stats = reports.artifacts("migrate", document, ["/r/migrate-report.json", "/r/migrate-report.md"], False)
    size = len(json.dumps(stats))
    assert size <= 64 * 1024, size
    assert len(stats["tfstate_migrate_results"]) == 40 and stats["tfstate_migrate_results_omitted"] == 0
    assert all("files_diff" not in entry for entry in stats["tfstate_migrate_results"])
    assert stats["tfstate_migrate_counts"]["status"] == {"migrated": 960, "stopped": 40}
    assert stats["tfstate_migrate_report_files"] == ["/r/migrate-report.json", "/r/migrate-report.md"]


def test_the_artifacts_cap_the_attention_rows_and_count_the_rest():
    rows = [row("h%04d" % index, "held" if index % 2 else "stopped") for index in range(250)]
    stats = reports.artifacts("migrate", reports.run_document("migrate", rows, RUN, "t", True), [], True)
    assert len(stats["tfstate_migrate_results_preview"]) == reports.ARTIFACT_ROWS
    assert stats["tfstate_migrate_results_omitted_preview"] == 150
    assert len(stats["tfstate_migrate_blockers_preview"]) == reports.ARTIFACT_ROWS


def test_the_markdown_roots_table_carries_the_reason_and_the_preview_says_would_be():
    document = reports.run_document("migrate", [row("a", "waiting", reason="in dual since x; 3 days of grace left")],
                                    RUN, "t", True)
    text = reports.markdown(document)
    assert "3 days of grace left" in text.split("## Roots", 1)[1]
    assert "| after (would be) |" in text


def test_the_artifacts_stay_bounded_when_every_root_stopped_with_a_long_reason():
    rows = [row("root-%04d" % index, "stopped", phase="preflight", reason="a lock is held on state/x by y; " * 30,
                next_step="wait for y " * 20, root="/srv/repos/%04d" % index, backend_file="/srv/repos/x/backend.tf:3")
            for index in range(1000)]
    stats = reports.artifacts("migrate", reports.run_document("migrate", rows, RUN, "t", False), [], False)
    assert len(json.dumps(stats)) <= 64 * 1024
    listed = len(stats["tfstate_migrate_results"])
    assert 0 < listed < 100 and stats["tfstate_migrate_results_omitted"] == 1000 - listed


# Every status of every role (root_result's rows, root_stage's held/waiting/done/pinned rows) has these keys.
ROW_KEYS = {
    "host", "root", "backend_file", "status", "phase", "reason", "cause", "next_step", "check_mode", "fails_root",
    "unsupported", "reinit_command", "action", "target", "skipped_dual", "lock_mode_before", "lock_mode_after",
    "files_lock_mode_after", "initialised_lock_mode_after", "interrupted", "resumed_from", "left", "thaw_failure",
    "bucket", "key", "region", "account", "principal", "identity", "dynamodb_table", "digests_synced",
    "table_created", "workspaces", "files_changed", "files_diff", "branch", "digests_removed", "cutover_time",
    "lifted_pin", "verification", "held_back", "pinned", "run_id", "started", "time",
}


def test_a_root_row_has_the_one_key_set_whatever_it_is_given():
    held = reports.root_row(host="a", status="held", held_back=[{"who": "old"}])
    migrated = reports.root_row(host="b", status="migrated", principal="arn:aws:iam::1:user/x", identity="backend")
    assert set(held) == set(migrated) == set(reports.ROW_FIELDS) == ROW_KEYS
    assert held["held_back"] == [{"who": "old"}] and migrated["held_back"] == []
    # Defaults are copies: one row's list is not another's.
    held["workspaces"].append("x")
    assert reports.root_row()["workspaces"] == []


def test_a_root_row_refuses_a_field_outside_the_key_set():
    import pytest
    with pytest.raises(ValueError, match="holder"):
        reports.root_row(host="a", holder="x")


def test_identity_fields_name_the_principal_and_who_chose_it():
    assert reports.identity_fields(None) == {"principal": None, "identity": None}
    assert reports.identity_fields({"principal": "arn:p", "use_backend": True}) == {"principal": "arn:p",
                                                                                    "identity": "backend"}
    assert reports.identity_fields({"principal": None, "use_backend": False})["identity"] == "options"
