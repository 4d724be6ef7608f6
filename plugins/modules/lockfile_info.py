#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: lockfile_info
short_description: Find Terraform state locks in S3 C(.tflock) objects and DynamoDB lock items
version_added: 0.1.0
description:
  - Finds the locks Terraform's S3 backend holds, in C(.tflock) lock objects and, given a lock table,
    in DynamoDB lock items, and says who holds each, since when, and whether it is stale.
  - Searches a whole bucket or a key prefix (O(bucket), O(prefix)), the workspaces of one state
    (O(bucket), O(key), O(workspace_key_prefix), O(workspaces)), every lock item of a table
    (O(dynamodb_table) alone), or the backends described by O(backends).
  - Makes ONE paginated ListObjectsV2 per bucket, whatever the number of states asked for, and one
    GetObject per lock object found. State objects are listed but never read.
  - DynamoDB is read with one BatchGetItem per 100 lock items when the workspaces are named, else
    with one Scan of the table filtered on the LockID prefix.
  - A lock whose body is empty or not Terraform's lock JSON is reported with RV(locks[].corrupt=true)
    and a RV(locks[].reason), not as an error.
extends_documentation_fragment:
  - tfstate.s3_backend.attributes.info_module
  - tfstate.s3_backend.aws
  - tfstate.s3_backend.backend_principal
options:
  bucket:
    description:
      - The state bucket to search.
      - Without O(key), every C(.tflock) object of the bucket (under O(prefix)) is reported.
    type: str
  prefix:
    description:
      - Only report locks of state keys that start with this prefix. Narrows the listing.
      - Mutually exclusive with O(key).
    type: str
  key:
    description:
      - The backend C(key) of one state; its workspaces' locks are reported.
      - Requires O(bucket).
    type: str
  workspace_key_prefix:
    description:
      - The backend's C(workspace_key_prefix). When unset, Terraform's default V(env:) applies.
      - Used with O(key) only.
    type: str
  workspaces:
    description:
      - The workspaces of O(key) (and of each of O(backends)) to report; V(default) is the state at O(key) itself.
      - When unset, every workspace is reported (found in the single listing of the bucket).
    type: list
    elements: str
  dynamodb_table:
    description:
      - A DynamoDB lock table to search too.
      - With O(bucket), only the lock items of the states searched in S3 are reported.
      - Alone, every lock item of the table is reported (digest items are not locks and are skipped).
    type: str
  backends:
    description:
      - Backends to search, for example the results of the collection's C(backend_info) module.
      - Each entry is a dictionary with a C(settings) dictionary (or, without C(settings), the entry itself)
        holding C(bucket) and C(key), and optionally C(workspace_key_prefix), C(dynamodb_table)
        and C(region). The C(settings) of each of its C(partial_configs) (C(-backend-config) files) complete
        or override them. Other fields are ignored.
      - An entry without a literal bucket and key, or with one of those settings listed in its
        C(unresolved_settings), is not searched and is reported in RV(skipped_backends).
      - The lock table of a backend that has a C(dynamodb_table) is searched too; O(workspaces) applies to each backend.
      - When none of O(bucket), O(dynamodb_table) and O(backends) is set, O(backend) is the one searched.
    type: list
    elements: dict
  stale_after:
    description:
      - A lock older than this many seconds (by its C(Created) time) is reported with RV(locks[].stale=true).
    type: int
    default: 3600
  read_bodies:
    description:
      - When V(false), lock objects are only listed, not read; the lock fields (ID, Who, ...) are then
        null and the age comes from the object's LastModified. DynamoDB items are always read.
    type: bool
    default: true
attributes:
  platform:
    platforms: aws
    support: full
    description: Talks to the S3 and DynamoDB APIs of AWS or of a compatible endpoint.
notes:
  - A state's lock object is its key plus C(.tflock); for a workspace other than C(default) the state key is
    C(<workspace_key_prefix>/<workspace>/<key>). A DynamoDB lock item's C(LockID) is C(<bucket>/<state key>).
  - Needs C(s3:ListBucket) on the bucket, C(s3:GetObject) on C(*.tflock), and C(dynamodb:Scan) or
    C(dynamodb:BatchGetItem) on the table.
seealso:
  - module: tfstate.s3_backend.lockfile
author:
  - tfstate.s3_backend maintainers (@tfstate)
"""

EXAMPLES = r"""
- name: Report every lock in a state bucket
  tfstate.s3_backend.lockfile_info:
    bucket: acme-tfstate
  register: bucket_locks

- name: Report the locks of one state, all workspaces, in S3 and in its DynamoDB table
  tfstate.s3_backend.lockfile_info:
    bucket: acme-tfstate
    key: network/terraform.tfstate
    dynamodb_table: terraform-locks
    stale_after: 7200
  register: network_locks

- name: Report the locks of the staging and default workspaces only
  tfstate.s3_backend.lockfile_info:
    bucket: acme-tfstate
    key: network/terraform.tfstate
    workspace_key_prefix: workspaces
    workspaces: [default, staging]

- name: Report the locks of backends found by backend_info
  tfstate.s3_backend.lockfile_info:
    backends: "{{ found_backends.backends }}"

- name: Fail when a stale lock exists
  ansible.builtin.assert:
    that: bucket_locks.locks | selectattr('stale') | list | length == 0
    fail_msg: "Stale locks: {{ bucket_locks.locks | selectattr('stale') | map(attribute='state_path') | list }}"
"""

RETURN = r"""
identity:
  description: With O(backend), who the calls ran as (never a key) - the profile, region, endpoints and role used.
  returned: when O(backend) is set
  type: dict
  sample: {"use_backend": true, "profile": null, "region": "eu-west-1", "endpoints": {},
           "assume_role": {"role_arn": "arn:aws:iam::210987654321:role/tfstate", "session_name": "tfstate-s3-backend-run"},
           "where": "/srv/repos/network/backend.tf:2"}
locks:
  description: The locks found, S3 ones first, each store's lock reported separately (a dual lock appears twice).
  returned: always
  type: list
  elements: dict
  contains:
    store:
      description: Where the lock is, V(s3) (a C(.tflock) object) or V(dynamodb) (a lock item).
      type: str
      sample: s3
    bucket:
      description: The state bucket.
      type: str
      sample: acme-tfstate
    table:
      description: The DynamoDB table of a V(dynamodb) lock, else null.
      type: str
      sample: terraform-locks
    lock_key:
      description: The C(.tflock) object's key in the bucket (V(s3)); null for a V(dynamodb) lock.
      type: str
      sample: env:/staging/network/terraform.tfstate.tflock
    table_key:
      description: The lock item's key in the table, its C(LockID) (V(dynamodb)); null for an V(s3) lock.
      type: str
      sample: acme-tfstate/env:/staging/network/terraform.tfstate
    state_key:
      description: The key of the locked state object.
      type: str
      sample: env:/staging/network/terraform.tfstate
    state_path:
      description: C(<bucket>/<state key>), Terraform's lock C(Path).
      type: str
      sample: acme-tfstate/env:/staging/network/terraform.tfstate
    workspace:
      description: The workspace, when the search was by state (O(key) or O(backends)); else null.
      type: str
      sample: staging
    id:
      description: The lock ID (Terraform's C(ID)), as C(terraform force-unlock) wants it. Null when corrupt or not read.
      type: str
      sample: 4087d3a5-d547-0952-e411-8a96dae0b1b1
    operation:
      description: Terraform's C(Operation).
      type: str
      sample: OperationTypeApply
    who:
      description: Terraform's C(Who), C(user@host).
      type: str
      sample: runner@ci-42
    version:
      description: The Terraform version that took the lock.
      type: str
      sample: 1.11.4
    created:
      description: When the lock was taken (Terraform's C(Created), RFC 3339).
      type: str
      sample: "2026-11-27T11:04:08.129901625Z"
    info:
      description: Terraform's C(Info) text.
      type: str
      sample: ""
    path:
      description: The C(Path) written in the lock body.
      type: str
      sample: acme-tfstate/network/terraform.tfstate
    age_seconds:
      description: Seconds since C(Created) (or, see RV(locks[].age_source), since LastModified). Null when unknown.
      type: int
      sample: 5400
    age_source:
      description: V(created), V(last_modified) (body corrupt or not read), or null.
      type: str
      sample: created
    stale:
      description: True when RV(locks[].age_seconds) exceeds O(stale_after); null when the age is unknown.
      type: bool
      sample: true
    corrupt:
      description: True when the body is empty or not Terraform's lock JSON; null when the body was not read.
      type: bool
      sample: false
    reason:
      description: Why the body is corrupt.
      type: str
      sample: lock body is empty
    etag:
      description: The lock object's ETag, as O(tfstate.s3_backend.lockfile#module:etag) wants it (V(s3) only).
      type: str
      sample: '"5719c5c84fa1014b93baa1bb8976b3d5"'
    version_id:
      description: The lock object's version ID in a versioned bucket (V(s3) with bodies read only).
      type: str
      sample: b369247a-be70-477d-b81b-d9a2fc69c1f7
    last_modified:
      description: The lock object's LastModified time (V(s3) only).
      type: str
      sample: "2026-11-27T11:04:08+00:00"
    size:
      description: The lock object's size in bytes (V(s3) only).
      type: int
      sample: 209
skipped_backends:
  description: The entries of O(backends) that were not searched, and why.
  returned: always
  type: list
  elements: dict
  sample:
    - index: 3
      file: /srv/repos/app/backend.tf
      line: 2
      reason: "not literal: bucket"
"""

from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.client import AwsError
from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.module import AwsModule
from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks.finding import (
    find_locks,
    requests_from_backends,
)


def build_requests(params):
    """find_locks requests from the module options, and the backends that could not be located."""
    requests = []
    if params["bucket"] or params["dynamodb_table"]:
        requests.append({
            "bucket": params["bucket"],
            "prefix": params["prefix"],
            "key": params["key"],
            "workspace_key_prefix": params["workspace_key_prefix"],
            "workspaces": params["workspaces"],
            "dynamodb_table": params["dynamodb_table"],
        })
    from_backends, skipped = requests_from_backends(params["backends"], params["workspaces"])
    return requests + from_backends, skipped


def main():
    module = AwsModule(
        argument_spec=dict(
            bucket=dict(type="str"),
            prefix=dict(type="str"),
            key=dict(type="str", no_log=False),
            workspace_key_prefix=dict(type="str", no_log=False),
            workspaces=dict(type="list", elements="str"),
            dynamodb_table=dict(type="str"),
            backends=dict(type="list", elements="dict"),
            backend=dict(type="dict"),
            stale_after=dict(type="int", default=3600),
            read_bodies=dict(type="bool", default=True),
        ),
        required_one_of=[("bucket", "dynamodb_table", "backends", "backend")],
        mutually_exclusive=[("prefix", "key")],
        required_by={"key": "bucket", "prefix": "bucket", "workspace_key_prefix": "key"},
        supports_check_mode=True,
    )
    params = module.params
    if params["workspaces"] is not None and not params["workspaces"]:
        module.fail_json(msg="workspaces is empty: leave it unset for every workspace, or name some")
    if params["workspaces"] and not (params["key"] or params["backends"]):
        module.fail_json(msg="workspaces needs key (with bucket) or backends")
    identity = module.act_as_backend(params["backend"]) if params["backend"] else None
    if params["backend"] and not (params["bucket"] or params["dynamodb_table"] or params["backends"]):
        params["backends"] = [params["backend"]]
    requests, skipped = build_requests(params)
    try:
        locks = find_locks(module.client, requests, read_bodies=params["read_bodies"],
                           stale_after=params["stale_after"])
    except AwsError as exc:
        module.fail_aws(exc, msg="Could not search for locks")
    result = dict(changed=False, locks=locks, skipped_backends=skipped)
    if identity:
        result["identity"] = identity
    module.exit_json(**result)


if __name__ == "__main__":
    main()
