# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Writing backend files: the one writer of M(root_rewrite) and M(backend_hcl). No Ansible imports.

All or nothing: each file is written through a temporary file beside it and renamed over it; when
any file cannot be written, the files already written get their previous bytes back (and the backups
this write made are removed), and WriteFailed names the file.

One backup policy: the previous content of a file goes to
``<backup_dir>/<bucket>/<state key>/<path relative to its root>.<UTC time>~``, outside the repository;
after a write the backups of that file beyond the ``keep`` newest are deleted (only this collection's
``<file>.<UTC time>~`` backups); no backup is made when the root's git checkout holds the files
unchanged (``committed_in``), unless ``clean_git``.
"""

import collections
import os
import re
import shutil
import tempfile

from ansible_collections.tfstate.s3_backend.plugins.module_utils import clock
from ansible_collections.tfstate.s3_backend.plugins.module_utils.root_git import Git, committed_in
from ansible_collections.tfstate.s3_backend.plugins.module_utils.terraform_cli import run

# A backup this collection wrote: "<file name>.<UTC time>~" (clock.compact_text; only those are ever pruned).
_BACKUP_NAME = re.compile(r"^(?P<name>.+)\.\d{8}T\d{6}Z~$")

# One file to write: its path, its new bytes, the root its backup path is relative to, and the folder
# (backup_folder) naming that root under the backup directory.
FileWrite = collections.namedtuple("FileWrite", "path data root folder")


class WriteFailed(Exception):
    """A file could not be backed up or written; the files already written were put back."""

    def __init__(self, path, reason, restored=True):
        super().__init__("%s: %s" % (path, reason))
        self.path = path
        self.reason = reason
        self.restored = restored


class BackupPolicy:
    """Where the backups go (``backup_dir``; None: no backup), how many of each file are kept (``keep``, 0: all),
    and whether files that git holds unchanged are backed up too (``clean_git``)."""

    def __init__(self, backup_dir=None, keep=10, clean_git=False):
        if keep is None or keep < 0:
            raise ValueError("backup_keep must be 0 (keep every backup) or more, got %s" % keep)
        self.backup_dir = backup_dir or None
        self.keep = keep
        self.clean_git = clean_git


def _git_run(argv, cwd, env):
    return run(argv, cwd, dict(os.environ, **env), 60)


def backup_needed(backup_dir, backup_clean_git, root, paths, git=None):
    """``(backup_dir, commit)``: where backups go (None: none) and the commit that holds the files instead.

    No backup when the files are tracked and unchanged in the root's git checkout (committed_in),
    unless ``backup_clean_git``; a dirty or non-git root is backed up.
    """
    if not backup_dir or backup_clean_git or not paths:
        return backup_dir, None
    commit = committed_in(git or Git(_git_run), root, paths)
    return (None, commit) if commit else (backup_dir, None)


def _safe(part):
    """One path segment that cannot climb out of its folder."""
    text = "".join(char if char.isalnum() or char in "._-=@+" else "_" for char in part)
    return "_" + text if text in ("", ".", "..") else text


def backup_folder(settings, fallback):
    """The folder naming a root: ``<bucket>/<state key>`` of its backend ``settings`` (one per state, whoever
    writes it), else ``fallback`` (a host name, a directory) as one segment; no segment can climb out."""
    settings = settings or {}
    bucket, key = settings.get("bucket"), settings.get("key")
    if isinstance(bucket, str) and isinstance(key, str) and bucket and key:
        return os.path.join(_safe(bucket), *[_safe(part) for part in key.split("/") if part not in ("", ".")])
    return _safe(str(fallback or "root"))


def backup_path(backup_dir, folder, root, path, now):
    """Where a file's backup goes: ``<backup_dir>/<folder>/<path relative to the root>.<UTC time>~``, out of the
    repository (``folder``: :func:`backup_folder`)."""
    relative = os.path.relpath(path, root)
    if relative.startswith(".."):
        relative = path.lstrip(os.sep)
    return os.path.join(backup_dir, folder, "%s.%s~" % (relative, clock.compact_text(now)))


def prunable(names, backup_name, keep):
    """The backups of the same file as ``backup_name`` among ``names`` (a folder's entries) beyond the ``keep``
    newest, oldest first; other files are never named. ``keep`` 0 keeps every backup."""
    match = _BACKUP_NAME.match(backup_name)
    if not keep or not match:
        return []
    mine = []
    for name in names:
        found = _BACKUP_NAME.match(name)
        if found and found.group("name") == match.group("name"):
            mine.append(name)
    mine.sort()  # the UTC time in the name sorts them by age
    return mine[:-keep] if len(mine) > keep else []


def prune_backups(backup_file, keep):
    """Delete the older backups of ``backup_file``'s file beyond ``keep``; returns the paths deleted."""
    folder = os.path.dirname(backup_file)
    gone = []
    for name in prunable(os.listdir(folder), os.path.basename(backup_file), keep):
        try:
            os.unlink(os.path.join(folder, name))
            gone.append(os.path.join(folder, name))
        except OSError:
            pass  # another run pruned it first
    return gone


def write_atomically(path, data):
    """Replace ``path``'s content through a temporary file beside it; its mode (and owner, where allowed) kept."""
    path = os.path.realpath(path)  # a symlink stays a symlink; its target gets the new text
    handle, temporary = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=os.path.dirname(path))
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        shutil.copymode(path, temporary)
        _keep_owner(path, temporary)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def _keep_owner(path, temporary):
    before, now = os.stat(path), os.stat(temporary)
    if (before.st_uid, before.st_gid) != (now.st_uid, now.st_gid):
        try:
            os.chown(temporary, before.st_uid, before.st_gid)
        except OSError:
            pass  # not allowed (not root): the file gets the writer's owner, as any editor would give it


def _plan_backups(writes, policy, now, git):
    """``{path: backup file}`` of the writes to back up, and ``{path: commit}`` of those git holds instead."""
    backups, in_git = {}, {}
    if policy is None or not policy.backup_dir:
        return backups, in_git
    by_root = collections.OrderedDict()
    for write in writes:
        by_root.setdefault(write.root, []).append(write)
    for root, group in by_root.items():
        backup_dir, commit = backup_needed(policy.backup_dir, policy.clean_git, root,
                                           [write.path for write in group], git)
        for write in group:
            if commit:
                in_git[write.path] = commit
            else:
                backups[write.path] = backup_path(backup_dir, write.folder, write.root,
                                                  os.path.realpath(write.path), now)
    return backups, in_git


def _put_back(done, made):
    """Restore the files already written (``done``: ``[(path, previous bytes)]``), then remove the backups this
    write ``made``; returns the paths that could not be restored."""
    lost = []
    for path, previous in reversed(done):
        try:
            write_atomically(path, previous)
        except OSError:
            lost.append(path)
    if not lost:
        for backup in made:
            try:
                os.unlink(backup)
            except OSError:
                pass
    return lost


def _reason(exc):
    return "%s (%s)" % (exc.strerror or exc, getattr(exc, "filename", None) or "?")


def write_files(writes, policy=None, now=None, git=None):
    """Back up, then write every file of ``writes`` (FileWrite); all or nothing.

    Returns one entry per write, in order: ``{path, backup_file, backups_pruned}`` when it was backed up,
    ``{path, in_git}`` when the root's git checkout holds it instead, else ``{path}``. Raises WriteFailed naming
    the file that could not be backed up or written, after putting back every file already written.
    """
    now = now or clock.now()
    backups, in_git = _plan_backups(writes, policy, now, git)
    made, done, current = [], [], None
    try:
        for write in writes:
            current = backups.get(write.path)
            if current:
                os.makedirs(os.path.dirname(current), exist_ok=True)
                shutil.copy2(os.path.realpath(write.path), current)
                made.append(current)
        for write in writes:
            current = write.path
            with open(os.path.realpath(write.path), "rb") as handle:
                previous = handle.read()
            write_atomically(write.path, write.data)
            done.append((write.path, previous))
    except OSError as exc:
        lost = _put_back(done, made)
        reason = _reason(exc)
        if lost:
            reason += "; could not put back %s (backups: %s)" % (", ".join(lost), ", ".join(made) or "none")
        raise WriteFailed(current, reason, restored=not lost)
    entries = []
    for write in writes:
        entry = {"path": write.path}
        if write.path in backups:
            entry["backup_file"] = backups[write.path]
            entry["backups_pruned"] = prune_backups(backups[write.path], policy.keep)
        elif write.path in in_git:
            entry["in_git"] = in_git[write.path]
        entries.append(entry)
    return entries
