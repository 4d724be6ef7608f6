"""The contract between a root's phases: the migration value's one shape, and the phase stamp's key."""

import json

import pytest

from ansible_collections.tfstate.s3_backend.plugins.module_utils._fleet import reports
from ansible_collections.tfstate.s3_backend.plugins.module_utils._migration.contract import (
    FIELD_TYPES,
    FIELDS,
    PHASE_KEY,
    ContractError,
    Migration,
)

# The shape every later phase, the report and the rollback role read: a key added or renamed here is a change of
# the contract (root_preflight's RETURN, docs/architecture.md) and of this test.
SHAPE = {
    "host": "str", "root": "str", "root_name": "str", "target": "str", "action": "str", "why": "str",
    "backend": "dict", "terraform": "dict", "terragrunt_bin": "str", "terragrunt": "dict", "region": "str",
    "account": "str", "identity": "dict", "run_id": "str", "job_id": "str", "controller": "str", "started": "str",
    "lock_mode_before": "str", "initialised_lock_mode_before": "str", "workspaces": "list",
    "dynamodb_table": "str", "freeze_table": "str", "table_existed": "bool", "table_created": "bool",
    "record_before": "dict", "stale_freezes": "list", "interrupted": "list", "freeze": "dict", "intent": "dict",
    "baseline_rc": "int", "reinit": "bool", "unsupported": "str", "reinit_command": "str",
}


def test_the_migration_value_has_one_pinned_key_set_with_its_types():
    assert dict(FIELD_TYPES) == SHAPE
    assert set(Migration(host="app").to_dict()) == set(SHAPE) == set(FIELDS)


def test_the_serialised_value_is_plain_json_and_reads_back_to_the_same_object():
    migration = Migration(host="app", root="/srv/app", target="lockfile", workspaces=["default"],
                          backend={"settings": {"bucket": "state", "key": "app/terraform.tfstate"}})
    migration.update(action="rewrite", why="files lock with dual")
    plain = json.loads(json.dumps(migration.to_dict()))
    again = Migration.from_dict(plain)
    assert again == migration
    assert again.settings == {"bucket": "state", "key": "app/terraform.tfstate"}
    assert Migration.from_dict(None) == Migration()


def test_a_key_the_contract_does_not_know_is_refused_by_name():
    with pytest.raises(ContractError, match="lock_key"):
        Migration.from_dict({"host": "app", "lock_key": "x"})
    with pytest.raises(ContractError, match="bucket"):
        Migration().update(bucket="state")


def test_the_phase_stamp_is_not_a_report_row_field():
    assert PHASE_KEY == "phase_name"
    assert PHASE_KEY not in reports.ROW_FIELDS and "phase" in reports.ROW_FIELDS
