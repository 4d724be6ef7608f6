"""root_publish as Ansible runs it: check mode with diff commits nothing (read back through git), then a real run."""

import os
import subprocess

from ansible_collections.tfstate.s3_backend.plugins.modules import root_publish
from tests.testbed.collection import run_module

BRANCH = "tfstate/s3-native-locking"


def git(*args, **kwargs):
    proc = subprocess.run(["git"] + list(args), capture_output=True, text=True, check=True, **kwargs)
    return proc.stdout.strip()


def test_check_mode_and_diff_then_commit(tmp_path, monkeypatch):
    config = tmp_path / "gitconfig"
    config.write_text("[user]\n\tname = Unit\n\temail = unit@example.test\n[init]\n\tdefaultBranch = main\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    repo = tmp_path / "repo"
    git("init", "--quiet", str(repo))
    (repo / "backend.tf").write_text("old\n")
    git("add", "backend.tf", cwd=repo)
    git("commit", "--quiet", "-m", "Seed", cwd=repo)
    seed = git("rev-parse", "HEAD", cwd=repo)
    (repo / "backend.tf").write_text("new\n")
    args = {"root_path": str(repo), "files": [str(repo / "backend.tf")], "host": "app"}

    checked = run_module(root_publish, args, check_mode=True, diff=True)
    assert checked["changed"] is True and checked["published"]["commit"] is None, checked
    assert checked["diff"]["before"] == {"branch": BRANCH, "commit": None}
    assert checked["msg"] == "Would commit backend.tf on %s in %s." % (BRANCH, os.path.realpath(str(repo)))
    assert git("rev-parse", "HEAD", cwd=repo) == seed and git("branch", "--list", BRANCH, cwd=repo) == ""

    done = run_module(root_publish, dict(args, commit_message="Lockfile"))
    assert done["changed"] is True and done["published"]["commit"] == git("rev-parse", BRANCH, cwd=repo)
    assert git("log", "-1", "--format=%s|%b", cwd=repo) == "Lockfile|Changed by the tfstate.s3_backend collection for app."
    assert git("status", "--porcelain", cwd=repo) == ""
    assert run_module(root_publish, args)["changed"] is False
