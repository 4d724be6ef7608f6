"""The backup policy of the one writer of backend files against a real git checkout (the rest: tests/unit/plugins/module_utils/test_backend_writer.py)."""

import subprocess

from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend.writer import backup_needed


def test_no_backup_when_git_holds_the_files_unless_asked(tmp_path, monkeypatch):
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))
    (tmp_path / "gitconfig").write_text("[user]\n\tname = Unit\n\temail = unit@example.test\n")
    root = tmp_path / "root"
    root.mkdir()
    backend = root / "backend.tf"
    backend.write_text("old\n")
    backups = str(tmp_path / "backups")
    # Not a git checkout: backed up as before.
    assert backup_needed(backups, False, str(root), [str(backend)]) == (backups, None)
    for args in (["init", "--quiet"], ["add", "backend.tf"], ["commit", "--quiet", "-m", "seed"]):
        subprocess.run(["git"] + args, cwd=str(root), check=True, capture_output=True)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=str(root), check=True, capture_output=True,
                          text=True).stdout.strip()
    assert backup_needed(backups, False, str(root), [str(backend)]) == (None, head)
    assert backup_needed(backups, True, str(root), [str(backend)]) == (backups, None)
    assert backup_needed(None, False, str(root), [str(backend)]) == (None, None)
    backend.write_text("edited by hand\n")  # a dirty root is backed up
    assert backup_needed(backups, False, str(root), [str(backend)]) == (backups, None)
