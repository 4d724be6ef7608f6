#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: unlock
short_description: Release Terraform state locks of several states, never a running apply's
version_added: 0.1.0
description:
  - Finds the locks of the given states (C(.tflock) objects and, with a C(dynamodb_table), DynamoDB lock items, in
    every workspace or the named ones) and releases those the request allows; every other lock found is returned in
    RV(kept) with the reason.
  - With O(lock_id), only the lock with that ID is released (like C(terraform force-unlock)), and only when it is
    older than O(stale_after) seconds (default one hour), unless O(force=true). A young lock most likely belongs to
    a running C(terraform apply).
  - Without O(lock_id), every lock older than O(stale_after) seconds is released.
  - A lock's age is read from its C(Created) time. A lock without a readable C(Created) is kept (its age is unknown),
    unless named by O(lock_id) with O(force=true). A corrupt lock is always kept; release it with
    M(tfstate.s3_backend.lockfile), O(tfstate.s3_backend.lockfile#module:force) and its ETag.
  - Each lock is re-read and deleted conditionally on what was read (S3 C(If-Match) on its ETag, DynamoDB a
    condition on C(Info)), so a lock that changed hands in between is kept.
  - With O(backend), the calls run as the principal terraform runs as for that backend (its C(profile),
    C(assume_role), C(region) and C(endpoints) over the AWS options), as the migrate role does.
extends_documentation_fragment:
  - tfstate.s3_backend.aws
  - tfstate.s3_backend.backend_principal
options:
  states:
    description:
      - The states whose locks are looked at.
      - When unset, the state of O(backend) (its bucket, key, workspace_key_prefix, dynamodb_table and region, every
        workspace).
    type: list
    elements: dict
    suboptions:
      bucket:
        description: The backend's C(bucket).
        type: str
        required: true
      key:
        description: The backend's C(key).
        type: str
        required: true
      workspace_key_prefix:
        description: The backend's C(workspace_key_prefix). When unset, Terraform's default V(env:) applies.
        type: str
      workspaces:
        description: The workspaces to look at; V(default) is the state at C(key). When unset, every workspace.
        type: list
        elements: str
      dynamodb_table:
        description: The backend's C(dynamodb_table); its lock items are released too.
        type: str
      region:
        description: The backend's region, when it differs from O(region).
        type: str
  lock_id:
    description:
      - Release only the lock with this ID.
    type: str
  stale_after:
    description:
      - Release only locks older than this many seconds, by their C(Created) time.
      - Required without O(lock_id); with O(lock_id), V(3600) when unset.
    type: int
  force:
    description:
      - With O(lock_id), release that lock even when it is younger than O(stale_after) or its age is unknown.
      - Refused without O(lock_id).
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: Finds and re-reads the locks and says which would be released, without deleting.
  diff_mode:
    support: none
    description: Returns the locks released and kept instead of a diff.
  platform:
    platforms: aws
    support: full
    description: Talks to the S3 and DynamoDB APIs of AWS or of a compatible endpoint.
notes:
  - Needs C(s3:ListBucket) on the bucket, C(s3:GetObject) and C(s3:DeleteObject) on C(*.tflock), and with a
    C(dynamodb_table) C(dynamodb:Scan) or C(dynamodb:BatchGetItem), C(dynamodb:GetItem) and C(dynamodb:DeleteItem).
  - The playbook C(tfstate.s3_backend.unlock) wraps this module for AWX.
seealso:
  - module: tfstate.s3_backend.lockfile
  - module: tfstate.s3_backend.lockfile_info
author:
  - tfstate.s3_backend maintainers (@tfstate)
"""

EXAMPLES = r"""
- name: Release the lock a killed CI job left (refused while it is younger than an hour)
  tfstate.s3_backend.unlock:
    states:
      - bucket: acme-tfstate
        key: network/terraform.tfstate
        dynamodb_table: terraform-locks
    lock_id: 6a0bd7c4-2f2e-4c1e-9a9e-7d9f3c2a1b00

- name: Release it now; the job is known to be dead
  tfstate.s3_backend.unlock:
    states:
      - bucket: acme-tfstate
        key: network/terraform.tfstate
    lock_id: 6a0bd7c4-2f2e-4c1e-9a9e-7d9f3c2a1b00
    force: true

- name: Release every lock older than six hours in two states, all workspaces
  tfstate.s3_backend.unlock:
    states:
      - bucket: acme-tfstate
        key: network/terraform.tfstate
      - bucket: acme-tfstate
        key: app/terraform.tfstate
        workspace_key_prefix: envs
    stale_after: 21600
  register: unlocked
"""

RETURN = r"""
identity:
  description: With O(backend), who the calls ran as (never a key) - the profile, region, endpoints and role used.
  returned: when O(backend) is set
  type: dict
  sample: {"use_backend": true, "profile": null, "region": "eu-west-1", "endpoints": {},
           "assume_role": {"role_arn": "arn:aws:iam::210987654321:role/tfstate", "session_name": "tfstate-s3-backend-run"},
           "where": "/srv/repos/network/backend.tf:2"}
released:
  description:
    - The locks released (in check mode, that would be released), one per store, with the fields of
      M(tfstate.s3_backend.lockfile_info)'s C(locks) entries.
  returned: always
  type: list
  elements: dict
  sample:
    - store: s3
      bucket: acme-tfstate
      lock_key: network/terraform.tfstate.tflock
      workspace: default
      id: 4087d3a5-d547-0952-e411-8a96dae0b1b1
      who: runner@ci-42
      age_seconds: 86400
kept:
  description: Every lock found and not released, each with a C(kept_reason).
  returned: always
  type: list
  elements: dict
  sample:
    - store: s3
      lock_key: network/terraform.tfstate.tflock
      id: 4087d3a5-d547-0952-e411-8a96dae0b1b1
      age_seconds: 8
      kept_reason: "younger than stale_after (8 s old, stale_after 3600 s): a running terraform may hold it;
        release it anyway with force"
stale_after:
  description: The age limit that applied, in seconds.
  returned: always
  type: int
  sample: 3600
lock_id_not_released:
  description: With O(lock_id), why that lock was not released (not found, or kept and why); null when it was.
  returned: always
  type: str
  sample: "The lock with ID 4087d3a5-d547-0952-e411-8a96dae0b1b1 was kept: younger than stale_after (8 s old,
    stale_after 3600 s): a running terraform may hold it; release it anyway with force."
"""

from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.client import AwsError
from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.module import AwsModule
from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks.unlocking import (
    UnlockRequestError,
    lock_id_not_released,
    unlock_criteria,
    unlock_states,
)


def backend_state(module, backend):
    """The state of a resolved backend, every workspace; the task fails when it cannot be located."""
    settings = backend.get("settings") or {}
    unresolved = [name for name in ("bucket", "key", "workspace_key_prefix") if name in (backend.get("unresolved_settings") or [])]
    if not settings.get("bucket") or not settings.get("key") or unresolved:
        module.fail_json(msg="%s:%s: the backend's state cannot be located (%s)" % (
            backend.get("file"), backend.get("line"),
            "not literal: %s" % ", ".join(unresolved) if unresolved else "no bucket or key"))
    state = {name: settings.get(name) for name in ("bucket", "key", "workspace_key_prefix", "dynamodb_table", "region")}
    state["workspaces"] = None
    return state


def main():
    module = AwsModule(
        argument_spec=dict(
            states=dict(type="list", elements="dict", options=dict(
                bucket=dict(type="str", required=True),
                key=dict(type="str", required=True, no_log=False),
                workspace_key_prefix=dict(type="str", no_log=False),
                workspaces=dict(type="list", elements="str"),
                dynamodb_table=dict(type="str"),
                region=dict(type="str"),
            )),
            backend=dict(type="dict"),
            lock_id=dict(type="str"),
            stale_after=dict(type="int"),
            force=dict(type="bool", default=False),
        ),
        required_one_of=[("states", "backend")],
        supports_check_mode=True,
    )
    params = module.params
    identity = module.act_as_backend(params["backend"]) if params["backend"] else None
    if params["states"] is None:
        params["states"] = [backend_state(module, params["backend"])]
    if not params["states"]:
        module.fail_json(msg="states is empty: name the states (bucket and key) whose locks may be released")
    try:
        stale_after = unlock_criteria(params["lock_id"], params["stale_after"], params["force"])
    except UnlockRequestError as exc:
        module.fail_json(msg=str(exc))
    states = [dict(state, region=state["region"] or params["region"]) for state in params["states"]]
    try:
        result = unlock_states(module.client, states, lock_id=params["lock_id"], stale_after=stale_after,
                               force=params["force"], check_mode=module.check_mode)
    except AwsError as exc:
        module.fail_aws(exc, msg="Could not release the locks")
    if identity:
        result["identity"] = identity
    module.exit_json(stale_after=stale_after, lock_id_not_released=lock_id_not_released(result, params["lock_id"]),
                     **result)


if __name__ == "__main__":
    main()
