# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The contract between a root's phases: the ``migration`` value root_preflight builds and every later phase reads.

Pure Python, no Ansible imports. :class:`Migration` is built once (``Migration(...)`` in root_preflight), travels
between the tasks as the plain dict :meth:`Migration.to_dict` makes (always the same keys, FIELDS), and is read back
with :meth:`Migration.from_dict`, which refuses a key the contract does not know. ``backend`` is the resolved root
(root.read_root: the files' settings, where each came from and each file's fingerprint): later phases re-read
only the files that changed since (root.backend_now), not the whole root.
"""

from __future__ import annotations

import dataclasses


class ContractError(ValueError):
    """A ``migration`` value that is not the contract's shape."""


@dataclasses.dataclass
class Migration:
    """One root's migration as the preflight read and decided it (see the root_preflight module's RETURN)."""

    host: str = None
    # The root's directory, and what reports and records call it (its repository URL without credentials, or path).
    root: str = None
    root_name: str = None
    # The lock mode this run moves the root to: dual, lockfile or dynamodb (the rollback role).
    target: str = None
    # What the root needs (migration.ACTION_*) and why.
    action: str = None
    why: str = None
    # The resolved root: root.read_root's backend (files, settings, sources with fingerprints, last init).
    backend: dict = None
    # terraform_facts of the binary (None for a Terragrunt root the role cannot re-initialise).
    terraform: dict = None
    terragrunt_bin: str = None
    terragrunt: dict = None
    region: str = None
    account: str = None
    # Who the root's calls run as (backend_identity.describe_identity, no secrets).
    identity: dict = None
    run_id: str = None
    job_id: str = None
    controller: str = None
    started: str = None
    lock_mode_before: str = None
    initialised_lock_mode_before: str = None
    workspaces: list = None
    dynamodb_table: str = None
    # The table the maintenance lock goes in (None when there is none).
    freeze_table: str = None
    table_existed: bool = None
    table_created: bool = None
    record_before: dict = None
    stale_freezes: list = None
    interrupted: list = None
    freeze: dict = None
    intent: dict = None
    baseline_rc: int = None
    # A root ahead of the target: whether its last init still needs a re-init.
    reinit: bool = None
    # A root the role cannot re-initialise (terragrunt), and the command a person runs.
    unsupported: str = None
    reinit_command: str = None

    def to_dict(self):
        """The plain dict that travels between the tasks: every field, always."""
        return {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, value):
        """The Migration of a ``migration`` dict (to_dict's); ContractError on a key the contract does not know."""
        value = value or {}
        unknown = sorted(set(value) - set(FIELDS))
        if unknown:
            raise ContractError("the migration value holds keys the contract does not know: %s" % ", ".join(unknown))
        return cls(**value)

    def update(self, **fields):
        """Set several fields at once (a name the contract does not know is a ContractError)."""
        unknown = sorted(set(fields) - set(FIELDS))
        if unknown:
            raise ContractError("not fields of the migration contract: %s" % ", ".join(unknown))
        for name, value in fields.items():
            setattr(self, name, value)
        return self

    @property
    def settings(self):
        """The backend's merged settings (bucket, key, region, dynamodb_table, ...)."""
        return (self.backend or {}).get("settings") or {}


FIELDS = tuple(field.name for field in dataclasses.fields(Migration))
# The types a serialised field holds (None aside), as the unit test pins them.
FIELD_TYPES = {field.name: field.type for field in dataclasses.fields(Migration)}

# The key under which RootAction.run_phase stamps a phase's name (a RootAction's PHASE) into its result; not
# ``phase``, the report row's field naming where a root stopped.
PHASE_KEY = "phase_name"


def phase_of_result(result):
    """The phase a registered result came from (its PHASE_KEY), or None."""
    return (result or {}).get(PHASE_KEY)
