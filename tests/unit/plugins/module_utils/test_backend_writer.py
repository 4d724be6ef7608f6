"""The one writer of backend files: backups outside the root under one policy, atomic writes that keep the mode,
all or nothing across a root's files (used by root_rewrite and backend_hcl)."""

import datetime
import os
import stat

import pytest

from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend import writer as bw
from ansible_collections.tfstate.s3_backend.plugins.module_utils.root_git import Git

NOW = datetime.datetime(2026, 11, 29, 20, 0, 0, tzinfo=datetime.timezone.utc)
# git answering as outside a checkout: the writer's unit tests start no process.
_no_git = Git(lambda argv, cwd, env: (128, "", "fatal: not a git repository"))


def test_backup_path_is_outside_the_root_in_a_folder_naming_the_roots_bucket_and_key(tmp_path):
    folder = bw.backup_folder({"bucket": "acme-state", "key": "apps/app/terraform.tfstate"}, "team/app")
    assert folder == os.path.join("acme-state", "apps", "app", "terraform.tfstate")
    path = bw.backup_path(str(tmp_path / "backups"), folder, "/srv/app", "/srv/app/env/backend.tf", NOW)
    assert path == str(tmp_path / "backups" / "acme-state" / "apps" / "app" / "terraform.tfstate" / "env"
                       / "backend.tf.20261129T200000Z~")


def test_a_backup_folder_never_climbs_out_and_falls_back_to_the_host():
    climbing = {"bucket": "b", "key": "../../etc/./x y.tfstate"}
    assert bw.backup_folder(climbing, None) == os.path.join("b", "_..", "_..", "etc", "x_y.tfstate")
    assert bw.backup_folder({}, "team/app") == "team_app"
    assert bw.backup_folder({"bucket": "b", "key": None}, "/srv/app") == "_srv_app"  # an unresolved key


def test_only_this_collections_older_backups_of_the_same_file_beyond_the_count_are_pruned():
    names = ["backend.tf.20261101T000000Z~", "backend.tf.20261102T000000Z~", "backend.tf.20261103T000000Z~",
             "backend.tf.bak", "backend.tf~", "notes.txt", "main.tf.20261101T000000Z~",
             "other-backend.tf.20261101T000000Z~"]
    newest = "backend.tf.20261103T000000Z~"
    assert bw.prunable(names, newest, 2) == ["backend.tf.20261101T000000Z~"]
    assert bw.prunable(names, newest, 1) == ["backend.tf.20261101T000000Z~", "backend.tf.20261102T000000Z~"]
    assert bw.prunable(names, newest, 3) == [] and bw.prunable(names, newest, 0) == []
    assert bw.prunable(names, "backend.tf", 1) == []  # not a backup name: nothing to judge by


def test_prune_backups_deletes_on_disk_and_keeps_the_rest(tmp_path):
    for stamp in ("20261101T000000Z", "20261102T000000Z", "20261103T000000Z"):
        (tmp_path / ("backend.tf.%s~" % stamp)).write_text(stamp)
    (tmp_path / "keep.me").write_text("x")
    gone = bw.prune_backups(str(tmp_path / "backend.tf.20261103T000000Z~"), 1)
    assert gone == [str(tmp_path / "backend.tf.20261101T000000Z~"), str(tmp_path / "backend.tf.20261102T000000Z~")]
    assert sorted(os.listdir(str(tmp_path))) == ["backend.tf.20261103T000000Z~", "keep.me"]


def test_write_atomically_keeps_the_mode_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "backend.tf"
    target.write_text("old\n")
    os.chmod(str(target), 0o640)
    bw.write_atomically(str(target), b"new\n")
    assert target.read_text() == "new\n"
    assert stat.S_IMODE(os.stat(str(target)).st_mode) == 0o640
    assert os.listdir(str(tmp_path)) == ["backend.tf"]


def test_a_negative_keep_is_refused():
    with pytest.raises(ValueError, match="backup_keep must be 0"):
        bw.BackupPolicy(None, -1)


def _root(tmp_path):
    root = tmp_path / "root"
    (root / "env").mkdir(parents=True)
    first, second = root / "backend.tf", root / "env" / "prod.tfbackend"
    first.write_bytes(b"first before\n")
    second.write_bytes(b"second before\n")
    writes = [bw.FileWrite(str(first), b"first after\n", str(root), "acme/app.tfstate"),
              bw.FileWrite(str(second), b"second after\n", str(root), "acme/app.tfstate")]
    return root, first, second, writes


def test_writes_every_file_with_a_backup_out_of_the_root_and_prunes(tmp_path):
    root, first, second, writes = _root(tmp_path)
    backups = tmp_path / "backups"
    older = backups / "acme" / "app.tfstate" / "backend.tf.20261101T000000Z~"
    older.parent.mkdir(parents=True)
    older.write_bytes(b"older\n")
    entries = bw.write_files(writes, bw.BackupPolicy(str(backups), keep=1), NOW, git=_no_git)
    assert first.read_bytes() == b"first after\n" and second.read_bytes() == b"second after\n"
    folder = backups / "acme" / "app.tfstate"
    assert entries == [
        {"path": str(first), "backup_file": str(folder / "backend.tf.20261129T200000Z~"), "backups_pruned": [str(older)]},
        {"path": str(second), "backup_file": str(folder / "env" / "prod.tfbackend.20261129T200000Z~"),
         "backups_pruned": []}]
    assert (folder / "backend.tf.20261129T200000Z~").read_bytes() == b"first before\n"
    assert (folder / "env" / "prod.tfbackend.20261129T200000Z~").read_bytes() == b"second before\n"
    assert not older.exists()
    assert sorted(os.listdir(str(root))) == ["backend.tf", "env"]  # no backup, no temporary beside the files


def test_a_failure_writing_the_second_file_leaves_the_first_as_it_was(tmp_path, monkeypatch):
    root, first, second, writes = _root(tmp_path)
    backups = tmp_path / "backups"
    os.chmod(str(first), 0o640)
    real = bw.write_atomically

    def second_fails(path, data):
        if path == str(second):
            raise PermissionError(13, "Permission denied", path)
        real(path, data)
    monkeypatch.setattr(bw, "write_atomically", second_fails)
    with pytest.raises(bw.WriteFailed) as failed:
        bw.write_files(writes, bw.BackupPolicy(str(backups)), NOW, git=_no_git)
    assert failed.value.path == str(second) and failed.value.restored is True
    assert "Permission denied" in str(failed.value)
    # The first file was written, then put back: the same bytes and mode; the second was never changed.
    assert first.read_bytes() == b"first before\n" and stat.S_IMODE(first.stat().st_mode) == 0o640
    assert second.read_bytes() == b"second before\n"
    # The backups of a write that did not happen are gone, and nothing is left beside the files.
    assert [files for _dir, _dirs, files in os.walk(str(backups)) if files] == []
    assert sorted(os.listdir(str(root))) == ["backend.tf", "env"] and os.listdir(str(root / "env")) == ["prod.tfbackend"]


def test_a_missing_directory_fails_the_write_and_restores_what_was_written(tmp_path):
    first = tmp_path / "backend.tf"
    first.write_text("before\n")
    missing = tmp_path / "gone" / "prod.tfbackend"  # its directory is missing: the write fails
    writes = [bw.FileWrite(str(first), b"after\n", str(tmp_path), "app"),
              bw.FileWrite(str(missing), b"y", str(tmp_path), "app")]
    with pytest.raises(bw.WriteFailed) as failed:
        bw.write_files(writes, None, NOW)
    assert failed.value.path == str(missing)
    assert first.read_text() == "before\n"


def test_git_holding_the_files_unchanged_means_no_backup_unless_asked(tmp_path):
    _root_dir, first, second, writes = _root(tmp_path)
    backups = tmp_path / "backups"

    def answer(argv, cwd, env):
        if argv[1:3] == ["rev-parse", "--verify"]:
            return 0, "c0ffee\n", ""
        return {"rev-parse": (0, str(tmp_path) + "\n", ""), "status": (0, "", ""), "ls-files": (0, "", "")}[argv[1]]
    clean_checkout = Git(answer)
    entries = bw.write_files(writes, bw.BackupPolicy(str(backups)), NOW, git=clean_checkout)
    assert entries == [{"path": str(first), "in_git": "c0ffee"}, {"path": str(second), "in_git": "c0ffee"}]
    assert not backups.exists()
    entries = bw.write_files(writes, bw.BackupPolicy(str(backups), clean_git=True), NOW, git=clean_checkout)
    assert [sorted(entry) for entry in entries] == [["backup_file", "backups_pruned", "path"]] * 2
