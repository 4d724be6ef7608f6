#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: migration_record
short_description: Read or write the record a lock-mode migration leaves next to a Terraform state
version_added: 0.1.0
description:
  - The record is a small JSON object, C(<state key>.tfstate-s3-backend.json) in the state bucket, that says which
    lock mode a migration left, which DynamoDB table it replaced and when the cut-over happened. The rollback role
    reads the table from it, the retire role the cut-over time.
  - The state object itself is never read or written.
  - Without O(mode), the record is only read.
extends_documentation_fragment:
  - tfstate.s3_backend.aws
  - tfstate.s3_backend.backend_principal
options:
  bucket:
    description: The state bucket.
    type: str
    required: true
  key:
    description: The state key of the root's default workspace.
    type: str
    required: true
  mode:
    description: The lock mode the migration left (V(dual), V(lockfile) or V(dynamodb) after a rollback).
    type: str
    choices: [dual, lockfile, dynamodb]
  dynamodb_table:
    description: The DynamoDB lock table the root used before (kept from the existing record when unset).
    type: str
  cutover_time:
    description:
      - When the cut-over happened (RFC 3339). Defaults to now.
      - When the record already has O(mode), its cut-over time is kept, so a second run changes nothing.
    type: str
  root:
    description:
      - The root's path or repository, for people reading the record.
      - Credentials are stripped before anything is written or returned, because every reader of the state bucket
        can read the record. That is the userinfo of any URL in it, as in C(https://oauth2:TOKEN@host/repo.git) or
        scp-like C(user:TOKEN@host:path), and token-like query values.
      - A value that carries credentials is masked in the module arguments Ansible shows (C(-vvv), AWX job events).
    type: str
  encrypt:
    description: Write the record with AES256 server-side encryption, like the backend's C(encrypt).
    type: bool
    default: false
  kms_key_id:
    description: Write the record encrypted with this KMS key, like the backend's C(kms_key_id).
    type: str
  ledger:
    description:
      - With O(mode), also write the root's stage to the fleet's ledger,
        C(tfstate-s3-backend-ledger/<key>/<mode>.json) in the bucket (see C(docs/fleet-roles.md)), when the stage is
        news for the root; the rollback role sets it, so the ledger shows a rolled-back root as V(dynamodb).
      - The environment variable C(TFSTATE_NOW) (ISO 8601 UTC) replaces the entry's time, for tests and simulations
        only.
    type: bool
    default: false
    version_added: 0.1.0
  reason:
    description:
      - With O(ledger), why the root moves, written into its ledger entry (C(reason)); for example a
        rollback's C(rollback_reason). A V(dynamodb) entry is C(pinned) - C(migrate_target=auto) leaves the root on DynamoDB
        until an explicit V(dual) or V(lockfile) run moves it on.
    type: str
    version_added: 0.1.0
  host:
    description: With O(ledger), the inventory host of the root, for the ledger entry.
    type: str
    version_added: 0.1.0
  run_id:
    description: With O(ledger), the ID of the run that writes the entry.
    type: str
    version_added: 0.1.0
attributes:
  check_mode:
    support: full
    description: Reports the record that would be written.
  diff_mode:
    support: full
    description: Shows the record before and after.
  platform:
    platforms: aws
    support: full
    description: Talks to the S3 API.
author:
  - tfstate.s3_backend maintainers (@tfstate)
"""

EXAMPLES = r"""
- name: Record the cut-over to S3 native locking
  tfstate.s3_backend.migration_record:
    bucket: acme-terraform-state
    key: network/terraform.tfstate
    mode: lockfile
    dynamodb_table: terraform-locks

- name: Read the record
  tfstate.s3_backend.migration_record:
    bucket: acme-terraform-state
    key: network/terraform.tfstate
  register: network_record
"""

RETURN = r"""
identity:
  description: With O(backend), who the calls ran as (never a key) - the profile, region, endpoints and role used.
  returned: when O(backend) is set
  type: dict
  version_added: 0.1.0
  sample: {"use_backend": true, "profile": null, "region": "eu-west-1", "endpoints": {},
           "assume_role": {"role_arn": "arn:aws:iam::210987654321:role/tfstate", "session_name": "tfstate-s3-backend-run"},
           "where": "/srv/repos/network/backend.tf:2"}
record:
  description: The record after the task (null when there is none).
  returned: always
  type: dict
  sample: {"mode": "lockfile", "dynamodb_table": "terraform-locks", "cutover_time": "2026-11-27T10:00:00Z",
           "root": "/srv/repos/network", "collection_version": "0.1.0"}
record_key:
  description: The record's object key.
  returned: always
  type: str
  sample: network/terraform.tfstate.tfstate-s3-backend.json
ledger_key:
  description: The ledger object written (or, in check mode, that would be), or null when the ledger already had the stage.
  returned: with O(ledger) and O(mode)
  type: str
  version_added: 0.1.0
  sample: tfstate-s3-backend-ledger/network/terraform.tfstate/dynamodb.json
"""

from ansible_collections.tfstate.s3_backend.plugins.module_utils import clock
from ansible_collections.tfstate.s3_backend.plugins.module_utils._fleet import ledger
from ansible_collections.tfstate.s3_backend.plugins.module_utils._fleet import ledger_store
from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.client import COLLECTION_VERSION, AwsError
from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.module import AwsModule
from ansible_collections.tfstate.s3_backend.plugins.module_utils._fleet.migration_record import (
    read_record,
    record_key,
    wanted_record,
    write_record,
)
from ansible_collections.tfstate.s3_backend.plugins.module_utils.redact import redact_url


def shown(record):
    """A record as it may be returned: a root written by an older version may still hold a token."""
    return dict(record, root=redact_url(record.get("root"))) if record else record


def ledger_stage(module, s3, params, record):
    """The root's stage in the fleet's ledger, written when it is news (not in check mode); its key or None."""
    moment = clock.now()
    existing = ledger_store.read_root_entries(s3, params["bucket"], params["key"])
    if not ledger.needs_write(existing, params["mode"]):
        return None
    try:
        account = module.connection.caller_identity()["account"]
    except AwsError:
        account = None  # who the calls ran as is not readable (no sts:GetCallerIdentity): the entry says so by null
    entry = ledger.new_entry(params["mode"], moment, params["bucket"], params["key"],
                             table=record.get("dynamodb_table"), root=record.get("root"),
                             from_stage=ledger.transition(existing, params["mode"]), version=COLLECTION_VERSION,
                             account=account, region=module.connection.session.region_name, host=params["host"],
                             run_id=params["run_id"], reason=params["reason"])
    if module.check_mode:
        return ledger.entry_key(params["key"], params["mode"])
    return ledger_store.record_stage(s3, entry, params["encrypt"], params["kms_key_id"], existing=existing)


def main():
    module = AwsModule(
        argument_spec=dict(
            bucket=dict(type="str", required=True),
            key=dict(type="str", required=True, no_log=False),
            mode=dict(type="str", choices=["dual", "lockfile", "dynamodb"]),
            dynamodb_table=dict(type="str"),
            cutover_time=dict(type="str"),
            root=dict(type="str"),
            encrypt=dict(type="bool", default=False),
            kms_key_id=dict(type="str", no_log=False),
            ledger=dict(type="bool", default=False),
            reason=dict(type="str"),
            host=dict(type="str"),
            run_id=dict(type="str"),
            backend=dict(type="dict"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    identity = module.act_as_backend(params["backend"]) if params["backend"] else None
    if redact_url(params["root"]) != params["root"]:
        # Keep the credentials out of the invocation Ansible shows too (-vvv, AWX job events).
        module.module.no_log_values.add(params["root"])
    try:
        s3 = module.client("s3")
        current = read_record(s3, params["bucket"], params["key"])
        result = dict(changed=False, record=shown(current), record_key=record_key(params["key"]))
        if identity:
            result["identity"] = identity
        if params["mode"]:
            now = clock.utc_text(clock.now())
            wanted = wanted_record(current, params["mode"], params["dynamodb_table"], params["cutover_time"] or now,
                                   redact_url(params["root"]), COLLECTION_VERSION)
            if wanted != current:
                if not module.check_mode:
                    write_record(s3, params["bucket"], params["key"], wanted, params["encrypt"], params["kms_key_id"])
                result.update(changed=True, record=wanted)
                if module.module._diff:
                    result["diff"] = dict(before=shown(current) or {}, after=wanted)
            if params["ledger"]:
                result["ledger_key"] = ledger_stage(module, s3, params, wanted)
                result["changed"] = result["changed"] or result["ledger_key"] is not None
    except AwsError as exc:
        module.fail_aws(exc)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
