"""No credential reaches anything a run prints or writes, even at -vvv.

A root's repository URL carries a token in its userinfo, and the environment holds AWX-style
credentials (a secret key, a session token and its legacy name). migrate, then rollback, run at
-vvv; then every output is searched for those values: stdout and stderr, every file under the
report and backup directories, every object in the state bucket and every DynamoDB item (read
through the AWS APIs), the remote repository's objects (read through git) and the work clone's
files.
"""

import json
import os
import subprocess

import yaml

from tests.testbed.collection import ROOT, run_playbook

TOKEN = "SECRETTOKEN123"
SECRETS = {
    "AWS_SECRET_ACCESS_KEY": "SECRETACCESSKEY0456",
    "AWS_SESSION_TOKEN": "SESSIONTOKEN0789",
    "AWS_SECURITY_TOKEN": "SECURITYTOKEN0012",
}
URL = "https://ci-bot:%s@git.example.test/platform/infra.git" % TOKEN
# What git is asked to reach (the credentials go through its environment); rewritten to a local bare repository.
CLEAN_URL = "https://git.example.test/platform/infra.git"


def _git(*args, cwd=None, env=None):
    result = subprocess.run(["git"] + list(args), cwd=cwd, capture_output=True, check=False, env=env)
    assert result.returncode == 0, (args, result.stderr)
    return result.stdout


def _leaks(label, data, found):
    if isinstance(data, str):
        data = data.encode("utf-8", "replace")
    for secret in [TOKEN] + list(SECRETS.values()):
        if secret.encode() in data:
            found.append("%s holds %s" % (label, secret))


def _tree(top, found):
    for dirpath, _dirs, files in os.walk(top):
        for name in files:
            path = os.path.join(dirpath, name)
            if os.path.isfile(path) and not os.path.islink(path):
                with open(path, "rb") as handle:
                    _leaks(path, handle.read(), found)


def test_no_token_or_aws_secret_in_anything_printed_or_written_at_vvv(
        tmp_path, moto_server, tf_root, s3, dynamodb, state_bucket, lock_table, terraform_bin):
    # The remote repository: a bare repository that git reaches through the repository URL (insteadOf).
    root = tf_root("seed-root")
    root.write_backend(bucket=state_bucket, key="infra/terraform.tfstate", dynamodb_table=lock_table)
    bare = tmp_path / "remote" / "infra.git"
    seed = tmp_path / "seed"
    gitconfig = tmp_path / "gitconfig"
    gitconfig.write_text("[user]\n\tname = Fleet Tester\n\temail = fleet@example.test\n[init]\n\tdefaultBranch = main\n"
                         '[url "%s"]\n\tinsteadOf = %s\n' % (bare, CLEAN_URL))
    git_env = {"GIT_CONFIG_GLOBAL": str(gitconfig), "GIT_CONFIG_NOSYSTEM": "1"}
    env_git = dict(os.environ, **git_env)
    _git("init", "--quiet", "--bare", "--initial-branch=main", str(bare), env=env_git)
    _git("clone", "--quiet", str(bare), str(seed), env=env_git)
    os.makedirs(str(seed / "infra"))
    for name in ("main.tf", "backend.tf"):
        with open(os.path.join(root.path, name)) as source, open(str(seed / "infra" / name), "w") as target:
            target.write(source.read())
    _git("add", "-A", cwd=str(seed), env=env_git)
    _git("commit", "--quiet", "-m", "seed", cwd=str(seed), env=env_git)
    _git("push", "--quiet", "origin", "HEAD:main", cwd=str(seed), env=env_git)

    reports, backups, work = tmp_path / "reports", tmp_path / "backups", tmp_path / "work"
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"infra": {
        "tfstate_repo_url": URL, "tfstate_repo_subdir": "infra"}}, "vars": {
        "tfstate_aws_endpoint_url": moto_server.url,
        "tfstate_terraform_bin": terraform_bin,
        "tfstate_report_dir": str(reports),
        "tfstate_backup_dir": str(backups),
        "tfstate_workdir": str(work),
        "tfstate_dynamodb_table": lock_table,
        "migrate_target": "lockfile",
    }}}))
    env = dict(git_env, AWS_ACCESS_KEY_ID="testing", AWS_REGION="us-east-1", **SECRETS)

    found = []
    runs = []
    for playbook in ("migrate.yml", "rollback.yml"):
        result = run_playbook(os.path.join(ROOT, "playbooks", playbook), inventory=str(inventory), env=env,
                              args=["-vvv"])
        runs.append((playbook, result))
        _leaks("%s stdout" % playbook, result.stdout, found)
        _leaks("%s stderr" % playbook, result.stderr, found)
    _tree(str(reports), found)
    _tree(str(backups), found)
    _tree(str(work), found)
    # Everything in the state bucket (every version) and the lock table, through the AWS APIs.
    versions = s3.list_object_versions(Bucket=state_bucket)
    keys = [(item["Key"], item["VersionId"]) for item in versions.get("Versions", [])]
    assert any(key.endswith(".tfstate-s3-backend.json") for key, _version in keys), keys
    for key, version in keys:
        _leaks("s3://%s/%s?versionId=%s" % (state_bucket, key, version),
               s3.get_object(Bucket=state_bucket, Key=key, VersionId=version)["Body"].read(), found)
    _leaks("DynamoDB table %s" % lock_table, json.dumps(dynamodb.scan(TableName=lock_table)["Items"]), found)
    # The remote repository: every object, every ref, its config.
    objects = _git("cat-file", "--batch-all-objects", "--batch", cwd=str(bare), env=env_git)
    _leaks("remote repository objects", objects, found)
    assert b"use_lockfile" in objects  # the migration's branch was pushed
    _tree(str(bare), found)
    assert found == [], found

    # The runs did their work (a leak check of runs that failed early would prove little).
    for playbook, result in runs:
        assert result.returncode == 0, (playbook, result.stdout[-6000:])
        # -vvv: every phase's whole result is printed (the checkout's and the cut-over's included).
        assert '"checkout"' in result.stdout and '"phases"' in result.stdout, result.stdout[-3000:]
    migrate_report = json.loads((reports / "migrate-report.json").read_text())
    assert [row["status"] for row in migrate_report["results"]] == ["migrated"], migrate_report
    rollback_report = json.loads((reports / "rollback-report.json").read_text())
    assert [row["status"] for row in rollback_report["results"]] == ["rolled_back"], rollback_report
