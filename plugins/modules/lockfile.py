#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: lockfile
short_description: Take or safely release a Terraform state lock in S3 (and DynamoDB)
version_added: 0.1.0
description:
  - With O(state=present), takes a state's lock exactly as Terraform's S3 backend does, for example to
    freeze a state during maintenance. That is a conditional PutObject (C(If-None-Match) V(*)) of the C(.tflock)
    object holding Terraform's lock JSON, content type C(application/json), encrypted as the backend
    says (O(encrypt), O(kms_key_id)). With O(dynamodb_table) (Terraform's dual mode) the DynamoDB lock
    item is then taken too, with a conditional PutItem; if that item is held, the lock object just
    written is released again, as Terraform does.
  - A held lock is answered with its holder's details (RV(held_by)). The task then fails, or with
    O(fail_if_held=false) returns RV(acquired=false) without a change.
  - With O(state=absent), releases the lock by its ID (O(lock_id), like C(terraform force-unlock)) or only
    when it is older than O(stale_after) seconds. Each lock is re-read, checked and deleted conditionally
    on what was read (S3 C(If-Match) on its ETag; DynamoDB a condition on C(Info)), so a lock that changed
    hands in between is never deleted. Both stores are handled with O(dynamodb_table).
  - A lock that is not released is returned in RV(kept) with the reason; that is not a failure.
  - AWS's 409 C(ConditionalRequestConflict) answers to racing conditional writes are retried a few times with a short backoff.
  - The state object itself is never read or written.
extends_documentation_fragment:
  - tfstate.s3_backend.aws
  - tfstate.s3_backend.lock_target
options:
  state:
    description:
      - V(present) takes the lock, V(absent) releases it.
    type: str
    choices: [present, absent]
    default: present
  dynamodb_table:
    description:
      - The backend's C(dynamodb_table). When set, the DynamoDB lock item is taken or released too (dual mode).
    type: str
  lock_id:
    description:
      - With O(state=present), the ID of the lock to take (a new UUID when unset). A lock already held under
        this ID is left as it is, so a rerun with the same ID changes nothing.
      - With O(state=absent), only a lock with this ID is released.
    type: str
  operation:
    description:
      - Terraform's C(Operation) field of a lock taken with O(state=present).
    type: str
    default: maintenance
  who:
    description:
      - Terraform's C(Who) field of a lock taken with O(state=present). When unset, C(user@host) of the host running the module.
    type: str
  info:
    description:
      - Terraform's C(Info) field of a lock taken with O(state=present), saying why the lock is held.
        Terraform shows it in its lock error.
    type: str
    default: Locked by Ansible (tfstate.s3_backend.lockfile)
  fail_if_held:
    description:
      - With O(state=present), whether a lock held by someone else fails the task.
      - When V(false), the task returns RV(acquired=false) and RV(held_by), without a change.
    type: bool
    default: true
  stale_after:
    description:
      - With O(state=absent), only release a lock older than this many seconds (by its C(Created) time).
      - Combined with O(lock_id), both must match.
    type: int
  force:
    description:
      - With O(state=absent), also release a lock whose body is corrupt (empty or not lock JSON).
      - In S3 this needs O(etag) too, the ETag of the corrupt object as M(tfstate.s3_backend.lockfile_info) reports it.
    type: bool
    default: false
  etag:
    description:
      - With O(force=true), the ETag of the corrupt lock object to release; any other object is kept.
    type: str
attributes:
  check_mode:
    support: full
    description: Reads the locks and says what would be taken or released, without writing.
  diff_mode:
    support: full
    description: Shows the lock holders in each store before and after.
  platform:
    platforms: aws
    support: full
    description: Talks to the S3 and DynamoDB APIs of AWS or of a compatible endpoint.
notes:
  - Needs C(s3:GetObject), C(s3:PutObject) and C(s3:DeleteObject) on the C(.tflock) object, and with
    O(dynamodb_table) C(dynamodb:GetItem), C(dynamodb:PutItem) and C(dynamodb:DeleteItem) on the table.
  - With O(state=present) the module does not wait for a held lock; retry the task (C(until)) to wait.
seealso:
  - module: tfstate.s3_backend.lockfile_info
  - module: tfstate.s3_backend.lockfile_probe
author:
  - tfstate.s3_backend maintainers (@tfstate)
"""

EXAMPLES = r"""
- name: Freeze the network state during maintenance
  tfstate.s3_backend.lockfile:
    bucket: acme-tfstate
    key: network/terraform.tfstate
    encrypt: true
    lock_id: 6a0bd7c4-2f2e-4c1e-9a9e-7d9f3c2a1b00
    info: "Backend migration to use_lockfile, ticket OPS-1234"
  register: freeze

- name: Lock a dual-mode backend (lock object and DynamoDB item), reporting instead of failing when held
  tfstate.s3_backend.lockfile:
    bucket: acme-tfstate
    key: network/terraform.tfstate
    workspace: staging
    dynamodb_table: terraform-locks
    fail_if_held: false
  register: attempt

- name: Release our own lock
  tfstate.s3_backend.lockfile:
    state: absent
    bucket: acme-tfstate
    key: network/terraform.tfstate
    lock_id: "{{ freeze.lock_id }}"

- name: Release the lock only if it is older than two hours
  tfstate.s3_backend.lockfile:
    state: absent
    bucket: acme-tfstate
    key: network/terraform.tfstate
    dynamodb_table: terraform-locks
    stale_after: 7200

- name: Release a corrupt lock object, pinned to the ETag lockfile_info reported
  tfstate.s3_backend.lockfile:
    state: absent
    bucket: acme-tfstate
    key: network/terraform.tfstate
    force: true
    etag: '"d41d8cd98f00b204e9800998ecf8427e"'
"""

RETURN = r"""
lock_id:
  description: The ID of the lock taken or already held under O(lock_id).
  returned: when O(state=present) and the lock is ours
  type: str
  sample: 6a0bd7c4-2f2e-4c1e-9a9e-7d9f3c2a1b00
acquired:
  description: Whether the lock is held by us after the task (in check mode, would be).
  returned: when O(state=present)
  type: bool
  sample: true
lock:
  description:
    - The lock taken (or already ours), with the fields of M(tfstate.s3_backend.lockfile_info)'s C(locks) entries.
  returned: when O(state=present) and the lock is ours
  type: dict
  sample:
    store: s3
    bucket: acme-tfstate
    lock_key: network/terraform.tfstate.tflock
    id: 6a0bd7c4-2f2e-4c1e-9a9e-7d9f3c2a1b00
    operation: maintenance
    who: ops@bastion
    info: Backend migration to use_lockfile, ticket OPS-1234
held_by:
  description: The locks held by someone else that kept us from taking it, one per store.
  returned: when O(state=present)
  type: list
  elements: dict
  sample:
    - store: s3
      lock_key: network/terraform.tfstate.tflock
      id: 4087d3a5-d547-0952-e411-8a96dae0b1b1
      operation: OperationTypeApply
      who: runner@ci-42
      age_seconds: 12
released:
  description: The locks released (in check mode, that would be released), one per store.
  returned: when O(state=absent)
  type: list
  elements: dict
  sample:
    - store: dynamodb
      table: terraform-locks
      table_key: acme-tfstate/network/terraform.tfstate
      id: 4087d3a5-d547-0952-e411-8a96dae0b1b1
      age_seconds: 86400
kept:
  description: The locks found but not released, each with a C(kept_reason).
  returned: when O(state=absent)
  type: list
  elements: dict
  sample:
    - store: s3
      lock_key: network/terraform.tfstate.tflock
      id: 4087d3a5-d547-0952-e411-8a96dae0b1b1
      kept_reason: held under another lock ID
"""

from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.client import AwsError
from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.module import AwsModule
from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks.lock_info import new_lock
from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks.unlocking import LOCK_TARGET_SPEC, lock_target
from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks.records import STORE_DYNAMODB, STORE_S3
from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks.holding import (
    acquire,
    read_target_locks,
    release,
)


def lock_view(record, store, key):
    """Diff view of one lock: its place (``lock_key`` in the bucket, ``table_key`` in the table) and holder."""
    view = dict((field, record[field]) for field in ("id", "who", "operation", "info", "created"))
    view["lock_key" if store == STORE_S3 else "table_key"] = key
    return view


def holders_view(found):
    """Diff view: who holds the lock in each store."""
    view = {}
    for store in (STORE_S3, STORE_DYNAMODB):
        record = found.get(store)
        if record is not None:
            view[store] = lock_view(record, store, record["lock_key"] if store == STORE_S3 else record["table_key"])
    return view


def describe(record):
    """One sentence naming a held lock, its place and its holder."""
    return "%s %s: ID %s, %s by %s since %s (Info: %s)" % (
        "lock object s3://%s/%s" % (record["bucket"], record["lock_key"]) if record["store"] == STORE_S3
        else "lock item %s in DynamoDB table %s" % (record["table_key"], record["table"]),
        "is corrupt (%s)" % record["reason"] if record["corrupt"] else "is held",
        record["id"], record["operation"], record["who"], record["created"], record["info"])


def present_result(s3, dynamodb, target, lock, check_mode=False, diff=False):
    """Take the lock; the module result (with ``held_by`` filled when someone else holds it)."""
    before = holders_view(read_target_locks(s3, dynamodb, target)) if diff else None
    outcome = acquire(s3, dynamodb, target, lock, check_mode=check_mode)
    result = dict(changed=outcome["changed"], acquired=outcome["acquired"], held_by=outcome["held_by"])
    if outcome["acquired"]:
        result.update(lock_id=outcome["lock"]["id"], lock=outcome["lock"])
    if diff:
        after = before
        if outcome["acquired"]:
            after = {STORE_S3: lock_view(outcome["lock"], STORE_S3, target.lock_key)}
            if target.table:
                after[STORE_DYNAMODB] = lock_view(outcome["lock"], STORE_DYNAMODB, target.table_key)
        result["diff"] = dict(before=before, after=after)
    return result


def absent_result(s3, dynamodb, target, lock_id=None, stale_after=None, force=False, etag=None, check_mode=False,
                  diff=False):
    """Release what the request allows; the module result."""
    outcome = release(s3, dynamodb, target, lock_id=lock_id, stale_after=stale_after, force=force, etag=etag,
                      check_mode=check_mode)
    result = dict(changed=outcome["changed"], released=outcome["released"], kept=outcome["kept"])
    if diff:
        result["diff"] = dict(
            before=holders_view({r["store"]: r for r in outcome["released"] + outcome["kept"]}),
            after=holders_view({r["store"]: r for r in outcome["kept"]}),
        )
    return result


def main():
    module = AwsModule(
        argument_spec=dict(
            state=dict(type="str", choices=["present", "absent"], default="present"),
            **LOCK_TARGET_SPEC,
            dynamodb_table=dict(type="str"),
            lock_id=dict(type="str"),
            operation=dict(type="str", default="maintenance"),
            who=dict(type="str"),
            info=dict(type="str", default="Locked by Ansible (tfstate.s3_backend.lockfile)"),
            fail_if_held=dict(type="bool", default=True),
            stale_after=dict(type="int"),
            force=dict(type="bool", default=False),
            etag=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    absent = params["state"] == "absent"
    if absent and not (params["lock_id"] or params["stale_after"] is not None or params["force"]):
        module.fail_json(msg="state=absent needs lock_id, stale_after or force: which lock may be released?")
    if params["etag"] and not params["force"]:
        module.fail_json(msg="etag is only used with force=true (releasing a corrupt lock object)")
    target = lock_target(params, params["dynamodb_table"])
    s3 = module.client("s3")
    dynamodb = module.client("dynamodb") if target.table else None
    diff = module.module._diff
    try:
        if absent:
            result = absent_result(s3, dynamodb, target, lock_id=params["lock_id"], stale_after=params["stale_after"],
                                   force=params["force"], etag=params["etag"], check_mode=module.check_mode, diff=diff)
        else:
            lock = new_lock(target.path, params["operation"], info=params["info"], who=params["who"])
            lock["ID"] = params["lock_id"] or lock["ID"]
            result = present_result(s3, dynamodb, target, lock, check_mode=module.check_mode, diff=diff)
    except AwsError as exc:
        module.fail_aws(exc, msg="Could not %s the lock of %s" % ("release" if absent else "take", target.s3_resource))
    if result.get("held_by") and params["fail_if_held"]:
        module.fail_json(msg="Cannot lock %s: %s" % (target.path, "; ".join(describe(r) for r in result["held_by"])),
                         **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
