"""Where a migrate run keeps the previous backend files, seen on the file system and in git.

Backups go to <backup dir>/<bucket>/<state key>/ (default: backups/ in the report directory), and
only the newest migrate_backup_keep backups of each file stay. A root outside git is backed up; a
root whose git checkout holds its files unchanged gets no backup (HEAD has them), unless
migrate_backup_clean_git.
"""

import os
import subprocess

import yaml

from tests.testbed.collection import ROOT, run_playbook

PLAYBOOK = os.path.join(ROOT, "playbooks", "migrate.yml")
ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1"}


def git(cwd, *args):
    return subprocess.run(["git"] + list(args), cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def backups_of(tmp_path, bucket, host, base="backups"):
    """The backups of a root whose state key is <host>/terraform.tfstate."""
    folder = tmp_path / base / bucket / host / "terraform.tfstate"
    return sorted(os.listdir(str(folder))) if folder.is_dir() else []


def test_a_clean_git_root_gets_no_backup_and_a_plain_root_does(
        tmp_path, moto_server, tf_root, state_bucket, lock_table, terraform_bin, monkeypatch):
    config = tmp_path / "gitconfig"
    config.write_text("[user]\n\tname = Unit\n\temail = unit@example.test\n[init]\n\tdefaultBranch = main\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    roots = {}
    for name in ("plain", "tracked", "asked"):
        root = tf_root(name)
        root.write_backend(bucket=state_bucket, key="%s/terraform.tfstate" % name, dynamodb_table=lock_table)
        root.init()
        roots[name] = root
    for name in ("tracked", "asked"):
        git(roots[name].path, "init", "--quiet")
        git(roots[name].path, "add", "backend.tf", "main.tf")  # .terraform and the CLI config stay untracked
        git(roots[name].path, "commit", "--quiet", "-m", "seed")
    before = open(os.path.join(roots["plain"].path, "backend.tf")).read()
    hosts = dict((name, {"tfstate_root": root.path}) for name, root in roots.items())
    hosts["asked"]["migrate_backup_clean_git"] = True
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": hosts, "vars": {
        "tfstate_aws_endpoint_url": moto_server.url, "tfstate_terraform_bin": terraform_bin,
        "migrate_report_dir": str(tmp_path / "reports"), "migrate_backup_dir": str(tmp_path / "backups")}}}))

    result = run_playbook(PLAYBOOK, inventory=str(inventory), env=dict(ENV, GIT_CONFIG_GLOBAL=str(config)))
    assert result.returncode == 0, result.stdout[-4000:]
    [plain_backup] = backups_of(tmp_path, state_bucket, "plain")
    assert plain_backup.startswith("backend.tf.") and plain_backup.endswith("Z~")
    assert (tmp_path / "backups" / state_bucket / "plain" / "terraform.tfstate" / plain_backup).read_text() == before
    assert backups_of(tmp_path, state_bucket, "tracked") == []
    # git holds the previous content: the only change is the rewrite, against HEAD.
    assert git(roots["tracked"].path, "status", "--porcelain", "--untracked-files=no") == "M backend.tf"
    assert "+    use_lockfile   = true" in git(roots["tracked"].path, "diff", "HEAD", "--", "backend.tf")
    assert len(backups_of(tmp_path, state_bucket, "asked")) == 1
    assert not [name for name in os.listdir(roots["tracked"].path) if name.endswith("~")]


def test_backups_go_under_the_report_directory_by_bucket_and_key_and_only_the_newest_stay(
        tmp_path, moto_server, tf_root, state_bucket, lock_table, terraform_bin):
    root = tf_root("plain")
    root.write_backend(bucket=state_bucket, key="plain/terraform.tfstate", dynamodb_table=lock_table)
    root.init()
    original = open(os.path.join(root.path, "backend.tf")).read()
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"plain": {"tfstate_root": root.path}}, "vars": {
        "tfstate_aws_endpoint_url": moto_server.url, "tfstate_terraform_bin": terraform_bin,
        "migrate_report_dir": str(tmp_path / "reports"), "tfstate_backup_keep": 1}}}))

    dual = run_playbook(PLAYBOOK, inventory=str(inventory), env=ENV)
    assert dual.returncode == 0, dual.stdout[-4000:]
    folder = tmp_path / "reports" / "backups" / state_bucket / "plain" / "terraform.tfstate"
    [first] = backups_of(tmp_path, state_bucket, "plain", base="reports/backups")
    assert (folder / first).read_text() == original
    dual_text = open(os.path.join(root.path, "backend.tf")).read()
    assert "use_lockfile" in dual_text
    # What is not a backup of backend.tf by this collection is never pruned.
    (folder / "notes.txt").write_text("mine")
    (folder / "main.tf.20260101T000000Z~").write_text("another file's backup")

    lockfile = run_playbook(PLAYBOOK, {"migrate_target": "lockfile"}, inventory=str(inventory), env=ENV)
    assert lockfile.returncode == 0, lockfile.stdout[-4000:]
    backups = backups_of(tmp_path, state_bucket, "plain", base="reports/backups")
    [second] = [name for name in backups if name.startswith("backend.tf.")]
    assert second != first and (folder / second).read_text() == dual_text  # the older one was pruned (keep 1)
    assert sorted(backups) == sorted([second, "notes.txt", "main.tf.20260101T000000Z~"])
