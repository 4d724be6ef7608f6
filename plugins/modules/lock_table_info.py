#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: lock_table_info
short_description: Read Terraform's DynamoDB lock table, its locks and its digests by state
version_added: 0.1.0
description:
  - Reads the DynamoDB table that Terraform's S3 backend uses with C(dynamodb_table) and changes nothing. The table
    holds lock items (C(LockID=<bucket>/<state key>), the lock JSON in C(Info)) and digest items
    (C(LockID=<bucket>/<state key>-md5), the hex MD5 of the state bytes in C(Digest)).
  - Returns the table's status, billing mode and deletion protection, whether Terraform could lock with its key
    schema, item counts, and its items grouped by state path. State objects are never read.
  - To create the table, sync or remove digests, or retire the table, use M(tfstate.s3_backend.lock_table).
author:
  - tfstate.s3_backend maintainers (@tfstate)
options:
  bucket:
    description:
      - Only report the states of this bucket. Unset reports the whole table.
    type: str
  keys:
    description:
      - Only these state object keys of O(bucket), as stored (for a workspace,
        C(<workspace_key_prefix>/<workspace>/<key>)).
    type: list
    elements: str
  key:
    description:
      - Only the states of this backend C(key) of O(bucket), in each of O(workspaces) (default workspace only when
        unset).
    type: str
  prefix:
    description:
      - Only the states of O(bucket) whose key starts with this prefix, for example V(env:/) for every workspace
        state with the default O(workspace_key_prefix).
    type: str
extends_documentation_fragment:
  - tfstate.s3_backend.lock_table
  - tfstate.s3_backend.attributes.info_module
  - tfstate.s3_backend.aws
  - tfstate.s3_backend.backend_principal
attributes:
  platform:
    platforms: aws
    support: full
    description: Talks to Amazon DynamoDB (or a compatible endpoint).
notes:
  - "Permissions: C(dynamodb:DescribeTable), and C(dynamodb:Scan) (whole table or O(prefix)) or
    C(dynamodb:BatchGetItem) (named states)."
seealso:
  - module: tfstate.s3_backend.lock_table
  - module: tfstate.s3_backend.lockfile_info
"""

EXAMPLES = r"""
- name: Report the lock table (locks and digests by state)
  tfstate.s3_backend.lock_table_info:
    name: terraform-locks
  register: lock_table_report

- name: Report the locks and digests of one backend's default and staging workspaces
  tfstate.s3_backend.lock_table_info:
    name: terraform-locks
    bucket: acme-terraform-state
    key: network/terraform.tfstate
    workspaces: [default, staging]
"""

RETURN = r"""
identity:
  description: With O(backend), who the calls ran as (never a key) - the profile, region, endpoints and role used.
  returned: when O(backend) is set
  type: dict
  sample: {"use_backend": true, "profile": null, "region": "eu-west-1", "endpoints": {},
           "assume_role": {"role_arn": "arn:aws:iam::210987654321:role/tfstate", "session_name": "tfstate-s3-backend-run"},
           "where": "/srv/repos/network/backend.tf:2"}
lock_table:
  description:
    - The table. Item counts come from a scan, not from the table's periodically updated ItemCount.
  returned: always
  type: dict
  contains:
    name:
      description: Table name.
      type: str
      sample: terraform-locks
    exists:
      description: Whether the table exists.
      type: bool
      sample: true
    status:
      description: The table's status.
      type: str
      sample: ACTIVE
    arn:
      description: The table's ARN.
      type: str
      sample: arn:aws:dynamodb:eu-west-1:123456789012:table/terraform-locks
    billing_mode:
      description: V(PAY_PER_REQUEST) or V(PROVISIONED).
      type: str
      sample: PAY_PER_REQUEST
    deletion_protection:
      description: Whether deletion protection is on.
      type: bool
      sample: false
    key_schema_problem:
      description: Why Terraform could not lock with this table, or V(null) when its key is a string C(LockID).
      type: str
      sample: null
    item_count:
      description: Items seen (all of the table, or those of the selected states).
      type: int
      sample: 3
    lock_item_count:
      description: Lock items among them.
      type: int
      sample: 1
    digest_item_count:
      description: Digest items among them.
      type: int
      sample: 2
states:
  description:
    - The table's items grouped by state path, sorted (only the selected states when O(bucket) is set).
  returned: always
  type: list
  elements: dict
  contains:
    state_path:
      description: The state's path, C(<bucket>/<state key>), which is also its lock item's C(LockID).
      type: str
      sample: acme-terraform-state/network/terraform.tfstate
    bucket:
      description: The state bucket.
      type: str
      sample: acme-terraform-state
    key:
      description: The state object key.
      type: str
      sample: network/terraform.tfstate
    lock:
      description:
        - The lock item, or V(null) when the state is not locked in DynamoDB. The same record as
          M(tfstate.s3_backend.lockfile_info) returns (C(id), C(operation), C(who), C(created), C(age_seconds),
          C(corrupt), ...).
      type: dict
      sample: {"store": "dynamodb", "table_key": "acme-terraform-state/network/terraform.tfstate",
               "id": "5d3c2f8e-1b2a-4c3d-9e8f-7a6b5c4d3e2f", "operation": "OperationTypeApply", "who": "ci@runner"}
    digest:
      description: The hex MD5 in the digest item, or V(null) when there is none.
      type: str
      sample: 0cc175b9c0f1b6a831c399e269772661
unrecognised_items:
  description: The keys (C(LockID)) of items that are neither C(<bucket>/<key>) lock items nor digest items.
  returned: always
  type: list
  elements: str
  sample: []
"""

from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.client import AwsError
from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.module import AwsModule
from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks.digests import (
    STATE_SELECTION_EXCLUSIVE,
    STATE_SELECTION_REQUIRED_BY,
    STATE_SELECTION_SPEC,
    state_selection,
)
from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks.lock_table import table_info


def main():
    module = AwsModule(
        argument_spec=dict(
            name=dict(type="str", required=True, aliases=["table", "dynamodb_table"]),
            **STATE_SELECTION_SPEC,
            backend=dict(type="dict"),
        ),
        required_by=STATE_SELECTION_REQUIRED_BY,
        mutually_exclusive=STATE_SELECTION_EXCLUSIVE,
        supports_check_mode=True,
    )
    name = module.params["name"]
    identity = module.act_as_backend(module.params["backend"]) if module.params["backend"] else None
    selection = state_selection(module.params)
    try:
        dynamodb = module.client("dynamodb")
        read_items = selection.item_reader(dynamodb, name) if selection is not None else None
        summary, states, unrecognised = table_info(dynamodb, name, read_items=read_items)
    except AwsError as exc:
        module.fail_aws(exc)
    result = dict(changed=False, lock_table=summary, states=states, unrecognised_items=unrecognised)
    if identity:
        result["identity"] = identity
    module.exit_json(**result)


if __name__ == "__main__":
    main()
