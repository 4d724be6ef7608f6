# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action for tfstate.s3_backend.root_rewrite: the root's format-preserving rewrite (docs in plugins/modules)."""

import os
import re
import shutil
import tempfile

from ansible_collections.tfstate.s3_backend.plugins.module_utils import clock
from ansible_collections.tfstate.s3_backend.plugins.module_utils.backend_rewrite import RewriteError, rewrite_paths
from ansible_collections.tfstate.s3_backend.plugins.module_utils.migration import DYNAMODB
from ansible_collections.tfstate.s3_backend.plugins.module_utils.root_backend import fingerprint, lock_settings
from ansible_collections.tfstate.s3_backend.plugins.module_utils.root_git import Git, committed_in
from ansible_collections.tfstate.s3_backend.plugins.module_utils.terraform_cli import run
from ansible_collections.tfstate.s3_backend.plugins.plugin_utils.root_action import (
    MIGRATION_OPTION,
    PhaseFailed,
    RootAction,
)


HARMLESS_SKIPS = ("already", "no_lock_settings", "no_backend")


def _git_run(argv, cwd, env):
    return run(argv, cwd, dict(os.environ, **env), 60)


def backup_needed(backup_dir, backup_clean_git, root, paths):
    """``(backup_dir, commit)``: where backups go (None: none) and the commit that holds the files instead.

    No backup when the files are tracked and unchanged in the root's git checkout (committed_in),
    unless ``backup_clean_git``; a dirty or non-git root is backed up as before.
    """
    if not backup_dir or backup_clean_git or not paths:
        return backup_dir, None
    commit = committed_in(Git(_git_run), root, paths)
    return (None, commit) if commit else (backup_dir, None)


# A backup this collection wrote: "<file name>.<UTC time>~" (clock.compact_text; only those are ever pruned).
_BACKUP_NAME = re.compile(r"^(?P<name>.+)\.\d{8}T\d{6}Z~$")


def _safe(part):
    """One path segment that cannot climb out of its folder."""
    text = "".join(char if char.isalnum() or char in "._-=@+" else "_" for char in part)
    return "_" + text if text in ("", ".", "..") else text


def backup_folder(migration):
    """The folder naming the root: ``<bucket>/<state key>`` of its backend (one per state, whichever inventory or
    host migrates it), else its inventory host."""
    settings = migration.settings
    if settings.get("bucket") and settings.get("key"):
        return os.path.join(_safe(settings["bucket"]),
                            *[_safe(part) for part in settings["key"].split("/") if part not in ("", ".")])
    return _safe(migration.host or "root")


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
    """Replace ``path``'s content through a temporary file beside it; its mode is kept."""
    path = os.path.realpath(path)  # a symlink stays a symlink; its target gets the new text
    handle, temporary = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=os.path.dirname(path))
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        shutil.copymode(path, temporary)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def restore(written):
    """Put back the files already rewritten when a later one could not be: all or nothing."""
    for result in written:
        write_atomically(result.path, result.file.encode(result.before))


class ActionModule(RootAction):
    PHASE = "rewrite"
    USES_AWS = False
    ARGUMENT_SPEC = dict(
        migration=MIGRATION_OPTION,
        backup_dir=dict(type="path"),
        backup_clean_git=dict(type="bool", default=False),
        backup_keep=dict(type="int", default=10),
    )

    def phase(self, args, task_vars):
        migration = self.migration_of(args)
        if args["backup_keep"] < 0:
            raise PhaseFailed("backup_keep must be 0 (keep every backup) or more, got %s" % args["backup_keep"])
        files = migration.backend["config_files"]
        try:
            # A rollback names its table again (target dynamodb); migrate keeps the files' own table.
            table = migration.dynamodb_table if migration.target == DYNAMODB else None
            # The preflight stops a root whose merged configuration does not lock; here a file's own
            # use_lockfile = false (a partial configuration completing a block's table) follows the target.
            results = rewrite_paths(files, migration.target, table, [], leave_unlocked=False)
        except RewriteError as exc:
            raise PhaseFailed("nothing was written: %s" % exc)
        # A file already in the target form (one of several) is fine; anything else left untouched
        # (a parse error, a template, an expression, a layout the splice cannot extend) stops here.
        untouched = [entry for result in results for entry in result.untouched if entry["kind"] not in HARMLESS_SKIPS]
        if untouched:
            first = untouched[0]
            raise PhaseFailed("%s:%s: cannot rewrite the backend: %s (nothing was written)" % (
                first.get("file") or first.get("path"), first.get("line"), first.get("reason")), untouched=untouched)
        changed = [result for result in results if result.changed]
        entries = [{"path": result.path, "changed": True} for result in changed]
        if not self.check_mode:
            backup_dir, commit = backup_needed(args["backup_dir"], args["backup_clean_git"], migration.root,
                                               [result.path for result in changed])
            self._write(changed, entries, backup_dir, migration)
            for result, entry in zip(changed, entries):
                # What was written, as its checked parse read it: a later phase that finds these bytes on disk
                # measures the file from this (root_backend.backend_now) instead of parsing it again.
                entry.update(fingerprint=fingerprint(result.path),
                             lock_settings_after=[lock_settings(settings) for settings in result.settings_after])
            for entry in entries:
                if entry.get("backup_file"):
                    entry["backups_pruned"] = prune_backups(entry["backup_file"], args["backup_keep"])
            for entry in entries if commit else []:
                entry["in_git"] = commit
        output = dict(changed=bool(changed), files=entries,
                      changes=[change for result in results for change in result.changes])
        if changed:
            output["diff"] = [dict(before_header="%s (before)" % r.path, after_header="%s (after)" % r.path,
                                   before=r.before, after=r.after) for r in changed]
        return output

    @staticmethod
    def _write(changed, entries, backup_dir, migration):
        """Back up, then write every changed file; on any error, restore those already written."""
        now = clock.now()
        written = []
        try:
            for result, entry in zip(changed, entries):
                if backup_dir:
                    entry["backup_file"] = backup_path(backup_dir, backup_folder(migration), migration.root,
                                                       os.path.realpath(result.path), now)
                    os.makedirs(os.path.dirname(entry["backup_file"]), exist_ok=True)
                    shutil.copy2(os.path.realpath(result.path), entry["backup_file"])
            for result in changed:
                write_atomically(result.path, result.file.encode(result.after))
                written.append(result)
        except OSError as exc:
            restore(written)
            raise PhaseFailed("cannot write the backend files of %s (%s: %s); nothing was changed" % (
                migration.root, getattr(exc, "filename", None) or "?", exc.strerror or exc))
