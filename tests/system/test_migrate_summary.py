"""What an operator reads at the end of a migrate run, seen through the output, the reports, S3 and the files.

Real terraform against moto. One run over a fleet with one root per cause of a stop (a held lock, a wrong
bucket after the last init, a missing root, unknown credentials), a root already past the target and a typo in
an extra variable: the summary comes last, names each stop once with the next step its cause calls for. A
second fleet goes preview, auto, lockfile and a stage-1 rerun: the preview's "after" and the recap agree, auto
says what the next run does, dynamodb -> lockfile is reported as skipping dual, and the rerun fails nothing.
"""

import json
import os

from tests.system.test_migrate_outcomes import ENV, PLAYBOOK, _hold_lock, _report
from tests.testbed.collection import run_playbook
from tests.testbed.fleet import fleet_inventory, play_recap, root_hosts


def _root(tf_root, name, bucket, table=None, use_lockfile=None):
    root = tf_root(name)
    root.write_backend(bucket=bucket, key="%s/terraform.tfstate" % name, dynamodb_table=table,
                       use_lockfile=use_lockfile)
    root.init()
    return root


def _summary(stdout):
    """The summary's lines (the debug task's msg list) and the index of its banner in the output."""
    lines = stdout.splitlines()
    [start] = [index for index, line in enumerate(lines) if line.startswith("TASK [") and ": Summary]" in line]
    body, index = [], start + 3
    while not lines[index].startswith("    ]"):
        body.append(json.loads(lines[index].strip().rstrip(",")))
        index += 1
    return body, start


def _files(roots):
    return dict((name, open(os.path.join(root.path, "backend.tf")).read()) for name, root in roots.items())


def test_the_summary_comes_last_and_names_each_stop_with_the_next_step_of_its_cause(
        tmp_path, moto_server, tf_root, s3, dynamodb, state_bucket, lock_table, terraform_bin):
    roots = {name: _root(tf_root, name, state_bucket, lock_table) for name in ("healthy", "locked", "moved")}
    roots["ahead"] = _root(tf_root, "ahead", state_bucket, use_lockfile=True)
    _hold_lock(dynamodb, lock_table, state_bucket, "locked")
    # The file now names a bucket that does not exist; the last terraform init used the real one.
    roots["moved"].write_backend(bucket="no-such-bucket-tfstate", key="moved/terraform.tfstate",
                                 dynamodb_table=lock_table)
    before = _files(roots)
    hosts = root_hosts(roots)
    hosts["gone"] = {"tfstate_root": str(tmp_path / "no-such-root")}
    hosts["nocreds"] = {"tfstate_root": roots["healthy"].path, "tfstate_aws_profile": "no-such-profile"}
    inventory = fleet_inventory(tmp_path, moto_server.url, terraform_bin, hosts,
                                migrate_backup_dir=str(tmp_path / "backups"))

    result = run_playbook(PLAYBOOK, inventory=inventory, env=ENV, args=["-e", "migrate_targt=lockfile"])
    assert result.returncode == 2, result.stdout[-4000:]
    out = result.stdout
    summary, start = _summary(out)
    # Last: after every root's failure, just before the recap.
    assert start > max(index for index, line in enumerate(out.splitlines()) if line.startswith("fatal:"))
    assert out.splitlines().index(next(line for line in out.splitlines() if line.startswith("PLAY RECAP"))) \
        - start < len(summary) + 8
    assert summary[0] == "migrate run: 6 roots: stopped 4, ahead 1, migrated 1", summary
    report = _report(tmp_path, "migrate-report.json")
    rows = dict((row["host"], row) for row in report["results"])
    assert dict((host, row["status"]) for host, row in rows.items()) == {
        "ahead": "ahead", "gone": "stopped", "healthy": "migrated", "locked": "stopped", "moved": "stopped",
        "nocreds": "stopped"}, rows
    assert dict((host, rows[host]["cause"]) for host in ("gone", "locked", "moved", "nocreds")) == {
        "gone": "root_missing", "locked": "lock_held", "moved": "bucket_missing", "nocreds": "credentials"}
    assert "tfstate_root" in rows["gone"]["next_step"] and "bucket" not in rows["gone"]["next_step"]
    assert "runner@ci-42" in rows["locked"]["next_step"]
    assert state_bucket in rows["moved"]["next_step"] and "no-such-bucket-tfstate" in rows["moved"]["next_step"]
    assert "tfstate_aws_profile" in rows["nocreds"]["next_step"] and "AWS_PROFILE" in rows["nocreds"]["next_step"]
    for host in ("gone", "locked", "moved", "nocreds"):
        assert any(line.startswith("  next: " + rows[host]["next_step"][:150]) for line in summary), (host, summary)
    # A stop prints its reason once (in the summary), never the preflight's `migration` dict.
    assert '"migration"' not in out
    assert sum("runner@ci-42, ID" in line for line in summary) == 1
    assert rows["ahead"]["fails_root"] is False and rows["ahead"]["lock_mode_after"] == "lockfile"
    assert "ahead of the target, left as they are (1): ahead" in summary
    # The typo: a warning naming the closest known variable, in the output and in the summary.
    assert any("migrate_targt" in line and "did you mean migrate_target?" in line for line in summary), summary
    assert any(line.startswith("reports: ") and "migrate-report.md" in line for line in summary)
    recap = play_recap(out)
    assert recap["ahead"]["failed"] == 0 and recap["ahead"]["changed"] == 0
    assert recap["healthy"]["failed"] == 0
    assert all(recap[host]["failed"] == 1 for host in ("gone", "locked", "moved", "nocreds")), recap
    # Seen through the files: only the healthy root changed (the typo'd lockfile target was ignored: dual).
    after = _files(roots)
    assert after["ahead"] == before["ahead"] and after["locked"] == before["locked"]
    assert after["moved"] == before["moved"]
    assert "use_lockfile" in after["healthy"] and "dynamodb_table" in after["healthy"]

    # Every root of the play fails: the summary still comes, last.
    failing = run_playbook(PLAYBOOK, inventory=inventory, env=ENV, args=["--limit", "gone,nocreds"])
    assert failing.returncode == 2, failing.stdout[-4000:]
    summary, start = _summary(failing.stdout)
    assert summary[0] == "migrate run: 2 roots: stopped 2", summary
    assert start > max(index for index, line in enumerate(failing.stdout.splitlines()) if line.startswith("fatal:"))
    assert all(counts["failed"] == 1 for counts in play_recap(failing.stdout).values())


def test_preview_auto_lockfile_and_a_stage_1_rerun_that_fails_nothing(
        tmp_path, moto_server, tf_root, s3, state_bucket, lock_table, terraform_bin):
    roots = {name: _root(tf_root, name, state_bucket, lock_table) for name in ("first", "second")}
    inventory = fleet_inventory(tmp_path, moto_server.url, terraform_bin, root_hosts(roots),
                                migrate_backup_dir=str(tmp_path / "backups"))
    before = _files(roots)

    # Preview of stage 2: "after" is the mode each root would have; the recap's changed counts one per such root.
    preview = run_playbook(PLAYBOOK, inventory=inventory, env=ENV, check=True, diff=True,
                           args=["-e", "migrate_target=lockfile"])
    assert preview.returncode == 0, preview.stdout[-4000:]
    rows = dict((row["host"], row) for row in _report(tmp_path, "migrate-preview.json")["results"])
    assert [(rows[name]["status"], rows[name]["lock_mode_before"], rows[name]["lock_mode_after"],
             rows[name]["skipped_dual"]) for name in ("first", "second")] == \
        [("would_migrate", "dynamodb", "lockfile", True)] * 2
    assert "| would_migrate (skipped dual) | dynamodb | lockfile |" in open(
        str(tmp_path / "reports" / "migrate-preview.md")).read()
    assert all(counts["changed"] == 1 for counts in play_recap(preview.stdout).values()), preview.stdout[-3000:]
    assert "+    use_lockfile" in preview.stdout  # the diff, under --diff, at the root's result
    summary, _start = _summary(preview.stdout)
    assert summary[0].startswith("migrate PREVIEW (check mode), nothing was changed: 2 roots: would_migrate 2")
    assert _files(roots) == before

    # auto moves "first" one stage (dual) and says what the next scheduled run does, not "run lockfile by hand".
    auto = run_playbook(PLAYBOOK, inventory=inventory, env=ENV,
                        args=["--limit", "first", "-e", "migrate_target=auto", "-e", "migrate_dual_grace=3d"])
    assert auto.returncode == 0, auto.stdout[-4000:]
    [row] = _report(tmp_path, "migrate-report.json")["results"]
    assert row["status"] == "migrated" and row["lock_mode_after"] == "dual", row
    assert "migrate_target=auto" in row["next_step"] and "3d" in row["next_step"], row
    assert "run again with migrate_target=lockfile" not in auto.stdout

    # Stage 2 for both: "second" goes from DynamoDB straight to lockfile, said in its row and the summary.
    stage2 = run_playbook(PLAYBOOK, inventory=inventory, env=ENV, args=["-e", "migrate_target=lockfile"])
    assert stage2.returncode == 0, stage2.stdout[-4000:]
    rows = dict((row["host"], row) for row in _report(tmp_path, "migrate-report.json")["results"])
    assert (rows["first"]["skipped_dual"], rows["second"]["skipped_dual"]) == (False, True)
    assert "skipped dual (DynamoDB straight to lockfile) (1): second" in _summary(stage2.stdout)[0]
    lockfile_only = _files(roots)

    # The README's stage-1 command again: every root is ahead, nothing changes, the run exits 0.
    rerun = run_playbook(PLAYBOOK, inventory=inventory, env=ENV)
    assert rerun.returncode == 0, rerun.stdout[-4000:]
    rows = dict((row["host"], row) for row in _report(tmp_path, "migrate-report.json")["results"])
    assert [rows[name]["status"] for name in ("first", "second")] == ["ahead", "ahead"], rows
    recap = play_recap(rerun.stdout)
    assert all(counts["failed"] == 0 and counts["changed"] == 0 for counts in recap.values()), recap
    assert _files(roots) == lockfile_only
    for name, root in roots.items():
        assert "use_lockfile" in lockfile_only[name] and "dynamodb_table" not in lockfile_only[name]
        # terraform still plans with the lockfile backend (nothing was re-initialised away from it).
        assert root.run("plan", "-input=false", "-no-color", "-lock-timeout=10s").returncode == 0
