#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: lock_table
short_description: Inspect, sync the digests of, create or safely retire Terraform's DynamoDB lock table
version_added: 0.1.0
description:
  - Works on the DynamoDB table that Terraform's S3 backend uses with C(dynamodb_table). The table holds lock
    items (C(LockID=<bucket>/<state key>), the lock JSON in C(Info)) and digest items
    (C(LockID=<bucket>/<state key>-md5), the hex MD5 of the state bytes in C(Digest)).
  - Needs O(state) or O(digest); M(tfstate.s3_backend.lock_table_info) reads a table without changing it. Every
    action returns the table as M(tfstate.s3_backend.lock_table_info) reports it after the run. State contents are
    never returned.
  - O(digest=sync) sets each digest to the MD5 of the state object's current bytes, downloaded from S3 and hashed
    as a stream (never taken from the ETag, which is not the MD5 under KMS encryption or multipart uploads). This
    undoes the rollback trap, where after a lockfile-only apply every C(terraform init) and C(terraform plan)
    with C(dynamodb_table) fails with C(state data in S3 does not have the expected content). A digest whose
    state object does not exist is removed, since it would fail every read. Each write is conditional on the digest read, so a digest
    Terraform writes meanwhile is never overwritten with an older value.
  - O(digest=absent) removes digest items, for example after the cut-over to C(use_lockfile), so that old clones
    or C(terraform_remote_state) readers that still have C(dynamodb_table) do not fail on stale digests.
  - O(state=absent) deletes the table only when no lock item exists (an item that is not a digest counts as one)
    and no digest item shows a client still writing with C(dynamodb_table), that is a digest that equals the MD5
    of a state version written after O(cutover_time).
  - O(state=present) creates the table when missing (C(LockID) string hash key, on-demand billing), as a
    rollback needs it.
author:
  - tfstate.s3_backend maintainers (@tfstate)
options:
  state:
    description:
      - V(present) creates the table when it does not exist and waits until it is active.
      - V(absent) deletes it when it is provably unused (see the description), optionally after an on-demand
        backup (O(backup)), and waits until it is gone. Deletion protection is respected unless
        O(lift_deletion_protection=true).
      - Unset (with O(digest)) leaves the table as it is.
    type: str
    choices: [present, absent]
  deletion_protection:
    description:
      - With O(state=present), the table's deletion protection. Unset leaves it as it is (a new table gets none).
    type: bool
  digest:
    description:
      - V(sync) sets the digests of the selected states to the MD5 of their current state objects.
      - V(absent) removes the digest items of the selected states.
      - Needs O(bucket). The selected states are the named ones (O(keys), O(key) with O(workspaces)); without
        names, every state of O(bucket) (under O(prefix)) that has a digest item in the table. States without
        a digest item are left so, as Terraform only warns about a missing digest and writes it on its next
        state write.
      - Cannot be combined with O(state=absent).
    type: str
    choices: [sync, absent]
  bucket:
    description:
      - The state bucket whose states O(digest) works on, and the only bucket reported when set.
    type: str
  keys:
    description:
      - State object keys in O(bucket), as stored (for a workspace, C(<workspace_key_prefix>/<workspace>/<key>)).
    type: list
    elements: str
  key:
    description:
      - A backend C(key); its states are selected in each of O(workspaces) (default workspace only when unset).
    type: str
  prefix:
    description:
      - Without named states, only states whose key starts with this prefix. For example V(env:/) for every
        workspace state with the default O(workspace_key_prefix).
    type: str
  cutover_time:
    description:
      - With O(state=absent), when the last client switched to lockfile-only locking (ISO 8601, for example
        V(2026-11-27T10:00:00Z); a time without zone is UTC).
      - Every digest item is compared with the MD5 of every version of its state written after this time
        (ListObjectVersions, then GetObject by version). A match means a client that still has
        C(dynamodb_table) wrote the state after the cut-over, and the table is kept.
      - Required when the table holds digest items; without it the deletion is refused.
    type: str
  backup:
    description:
      - With O(state=absent), take an on-demand backup (CreateBackup) and wait until it is available before
        deleting the table.
    type: bool
    default: false
  backup_name:
    description:
      - Name of the backup. Defaults to C(<name>-before-delete-<UTC time>).
    type: str
  lift_deletion_protection:
    description:
      - With O(state=absent), turn off the table's deletion protection before deleting it. Without it a protected
        table is not deleted and the module fails saying so.
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds to wait for the table to become active or be gone, and for the backup to become available.
    type: int
    default: 600
extends_documentation_fragment:
  - tfstate.s3_backend.lock_table
  - tfstate.s3_backend.aws
  - tfstate.s3_backend.backend_principal
attributes:
  check_mode:
    support: full
    description: Reads the table and the state objects and reports what would change, refusals included; writes nothing.
  diff_mode:
    support: full
    description: Before and after of the table's settings and of the selected digests.
  platform:
    platforms: aws
    support: full
    description: Talks to Amazon DynamoDB and Amazon S3 (or compatible endpoints).
notes:
  - "Permissions: C(dynamodb:DescribeTable) and C(dynamodb:Scan) or C(dynamodb:BatchGetItem) always;
    C(s3:GetObject) on the states for O(digest=sync); C(dynamodb:PutItem) and C(dynamodb:DeleteItem) for
    O(digest); C(s3:ListBucketVersions) and C(s3:GetObjectVersion) for O(state=absent) with digest items;
    C(dynamodb:CreateTable), C(dynamodb:UpdateTable), C(dynamodb:DeleteTable) and C(dynamodb:CreateBackup)
    for the table changes."
  - A digest sync races any client writing the same state with lockfile-only locking (it does not write
    digests). Hold the state's lock (M(tfstate.s3_backend.lockfile)) while you sync during a rollback.
  - Between the last check and DeleteTable a client could still take a lock; the lock items are read once more
    right before the deletion, which narrows but cannot close that window.
seealso:
  - module: tfstate.s3_backend.lock_table_info
  - module: tfstate.s3_backend.lockfile_info
  - module: tfstate.s3_backend.lockfile
"""

EXAMPLES = r"""
- name: Rollback to dynamodb_table - recreate the table and sync the digests of two workspaces
  tfstate.s3_backend.lock_table:
    name: terraform-locks
    state: present
    digest: sync
    bucket: acme-terraform-state
    key: network/terraform.tfstate
    workspaces: [default, staging]

- name: After the cut-over, remove every digest item of the bucket
  tfstate.s3_backend.lock_table:
    name: terraform-locks
    digest: absent
    bucket: acme-terraform-state

- name: Retire the table once no client uses it, with a backup first
  tfstate.s3_backend.lock_table:
    name: terraform-locks
    state: absent
    cutover_time: "2026-11-27T10:00:00Z"
    backup: true
    lift_deletion_protection: true
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
lock_table:
  description:
    - The table after the run (in check mode, as it would be), as RV(tfstate.s3_backend.lock_table_info#module:lock_table)
      describes it.
  returned: always
  type: dict
  sample: {"name": "terraform-locks", "exists": true, "status": "ACTIVE", "billing_mode": "PAY_PER_REQUEST",
           "deletion_protection": false, "key_schema_problem": null, "item_count": 3, "lock_item_count": 1,
           "digest_item_count": 2}
states:
  description:
    - The table's items grouped by state path, as RV(tfstate.s3_backend.lock_table_info#module:states) describes
      them. After O(state=absent) an empty list.
  returned: always
  type: list
  elements: dict
  sample: [{"state_path": "acme-terraform-state/network/terraform.tfstate", "bucket": "acme-terraform-state",
            "key": "network/terraform.tfstate", "lock": null, "digest": "0cc175b9c0f1b6a831c399e269772661"}]
unrecognised_items:
  description: LockIDs that are neither C(<bucket>/<key>) lock items nor digest items.
  returned: always
  type: list
  elements: str
  sample: []
digests:
  description: One entry per state the O(digest) action selected.
  returned: when O(digest) is set
  type: list
  elements: dict
  contains:
    state_path:
      description: C(<bucket>/<state key>).
      type: str
      sample: acme-terraform-state/network/terraform.tfstate
    digest_table_key:
      description: The digest item's key in the table (its C(LockID)).
      type: str
      sample: acme-terraform-state/network/terraform.tfstate-md5
    action:
      description: V(set), V(delete) or V(none).
      type: str
      sample: set
    before:
      description: The digest before, or V(null).
      type: str
      sample: 92eb5ffee6ae2fec3ad71c777531578f
    after:
      description: The digest after, or V(null) when the item is (to be) removed.
      type: str
      sample: 4a8a08f09d37b73795649038408b5f33
    reason:
      description: Why.
      type: str
      sample: MD5 of the current state object
backup:
  description: The on-demand backup taken before the deletion (in check mode its ARN is V(null)).
  returned: when O(state=absent), O(backup=true) and the table was (to be) deleted
  type: dict
  contains:
    name:
      description: Backup name.
      type: str
      sample: terraform-locks-before-delete-20261127T100000Z
    arn:
      description: Backup ARN.
      type: str
      sample: arn:aws:dynamodb:eu-west-1:123456789012:table/terraform-locks/backup/01700000000000-abcdef12
blockers:
  description:
    - Why the table was not deleted, one entry per lock item or current digest.
    - A lock item's key in the table (its C(LockID)) is C(lock_table_key); C(id) is the ID of the lock it holds.
      The digests without O(cutover_time) are listed by their keys in C(lock_table_keys).
  returned: when O(state=absent) is refused
  type: list
  elements: dict
  sample: [{"reason": "lock item", "lock_table_key": "acme-terraform-state/network/terraform.tfstate",
            "id": "6a0bd7c4-2f2e-4c1e-9a9e-7d9f3c2a1b00", "who": "ci@runner"}]
"""

from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.client import AwsError
from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.module import AwsModule
from ansible_collections.tfstate.s3_backend.plugins.module_utils.clock import parse_time
from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks.digests import (
    DigestConflict,
    STATE_SELECTION_EXCLUSIVE,
    STATE_SELECTION_REQUIRED_BY,
    STATE_SELECTION_SPEC,
    remove_digests,
    state_selection,
    sync_digests,
)
from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks.lock_table import (
    TableRefused,
    ensure_table,
    ensure_table_absent,
    table_info,
)


def digests_view(changes, side):
    return {change["digest_table_key"]: change[side] for change in changes}


def run(module, dynamodb, s3, cutover):
    """Apply what the params ask; returns the module result."""
    params = module.params
    name = params["name"]
    selection = state_selection(params)
    result = {"changed": False}
    before = {}
    after = {}

    if params["state"] == "absent":
        result["changed"], before["table"], after["table"], backup = ensure_table_absent(
            s3, dynamodb, name, cutover=cutover, backup=params["backup"], backup_name=params["backup_name"],
            lift_deletion_protection=params["lift_deletion_protection"], check_mode=module.check_mode,
            wait_timeout=params["wait_timeout"])
        if backup:
            result["backup"] = backup
    elif params["state"] == "present":
        result["changed"], before["table"], after["table"] = ensure_table(
            dynamodb, name, deletion_protection=params["deletion_protection"], check_mode=module.check_mode,
            wait_timeout=params["wait_timeout"])
    # A table that is new (or, in check mode, still to be made) has no items to read yet.
    starts_empty = "table" in after and not before["table"]["exists"]

    if params["digest"]:
        items = {} if starts_empty else selection.read_items(dynamodb, name)
        if params["digest"] == "sync":
            changes = sync_digests(s3, dynamodb, name, selection, items, check_mode=module.check_mode)
        else:
            changes = remove_digests(dynamodb, name, selection, items, check_mode=module.check_mode)
        result["digests"] = changes
        result["changed"] = result["changed"] or any(change["action"] != "none" for change in changes)
        before["digests"], after["digests"] = digests_view(changes, "before"), digests_view(changes, "after")

    read_items = selection.item_reader(dynamodb, name) if selection is not None else None
    # Check mode reports the table as it would be: no items when it is still to be made or deleted.
    if module.check_mode and "table" in after and (starts_empty or not after["table"]["exists"]):
        read_items = list
    summary, states, unrecognised = table_info(dynamodb, name, read_items=read_items)
    if module.check_mode and "table" in after:
        summary.update(after["table"])
    result.update(lock_table=summary, states=states, unrecognised_items=unrecognised)
    if before:
        result["diff"] = {"before": before, "after": after}
    return result


def main():
    module = AwsModule(
        argument_spec=dict(
            name=dict(type="str", required=True, aliases=["table", "dynamodb_table"]),
            state=dict(type="str", choices=["present", "absent"]),
            deletion_protection=dict(type="bool"),
            digest=dict(type="str", choices=["sync", "absent"]),
            **STATE_SELECTION_SPEC,
            cutover_time=dict(type="str"),
            backup=dict(type="bool", default=False),
            backup_name=dict(type="str"),
            lift_deletion_protection=dict(type="bool", default=False),
            wait_timeout=dict(type="int", default=600),
            backend=dict(type="dict"),
        ),
        required_if=[("digest", "sync", ["bucket"]), ("digest", "absent", ["bucket"])],
        required_one_of=[("state", "digest")],
        required_by=STATE_SELECTION_REQUIRED_BY,
        mutually_exclusive=STATE_SELECTION_EXCLUSIVE,
        supports_check_mode=True,
    )
    params = module.params
    identity = module.act_as_backend(params["backend"]) if params["backend"] else None
    if params["state"] == "absent" and params["digest"]:
        module.fail_json(msg="digest=%s cannot be combined with state=absent: deleting the table removes every digest"
                         % params["digest"])
    cutover = None
    if params["cutover_time"]:
        try:
            cutover = parse_time(params["cutover_time"], assume_utc=True)
        except ValueError as exc:
            module.fail_json(msg="cutover_time: %s" % exc)
    try:
        result = run(module, module.client("dynamodb"), module.client("s3"), cutover)
    except TableRefused as exc:
        module.fail_json(msg=str(exc), blockers=exc.blockers, changed=False)
    except DigestConflict as exc:
        module.fail_json(msg="table %s: %s" % (params["name"], exc), changed=False)
    except AwsError as exc:
        module.fail_aws(exc)
    if identity:
        result["identity"] = identity
    module.exit_json(**result)


if __name__ == "__main__":
    main()
