# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: root_digests
short_description: Create the DynamoDB lock table and set every workspace's digest before a Terraform root is rolled back
version_added: 0.1.0
description:
  - The phase of one root's rollback (target V(dynamodb)) that makes the DynamoDB table ready before the backend names
    it again. It runs on the Ansible controller (an action plugin; nothing is sent to the target host) and is normally
    used by the C(tfstate.s3_backend.rollback) role, under the maintenance lock of M(tfstate.s3_backend.root_freeze)
    and before M(tfstate.s3_backend.root_rewrite).
  - Creates the table RV(tfstate.s3_backend.root_preflight#module:migration.dynamodb_table) when it is missing
    (C(LockID) string hash key, on-demand billing; the preflight creates it already when it can), and refuses a table
    whose key Terraform cannot use.
  - Sets the C(<bucket>/<state key>-md5) digest item of every workspace in
    RV(tfstate.s3_backend.root_preflight#module:migration.workspaces) to the MD5 of that state object's current bytes
    (downloaded; the ETag is not the MD5 under KMS or multipart uploads); a workspace without a state object loses its
    digest item. After applies in V(lockfile) mode the digests are stale, and with C(dynamodb_table) back every
    C(terraform init) and plan would fail with C(state data in S3 does not have the expected content). Each write is
    conditional on the value read, so a digest written meanwhile by a client that still has C(dynamodb_table) is
    re-read, not overwritten.
  - The state objects are only read.
  - The task fails on a table whose key schema Terraform cannot use, on a digest that keeps changing while it is
    synced (a client writes the state without the lock), and on an AWS error (the operation and the table or
    object, see RV(aws_error_code)).
options:
  migration:
    description:
      - The RV(tfstate.s3_backend.root_preflight#module:migration) result of M(tfstate.s3_backend.root_preflight)
        for this root (O(tfstate.s3_backend.root_preflight#module:target=dynamodb)), unchanged. Its
        C(backend.settings) (bucket, key, C(workspace_key_prefix)), C(workspaces), C(dynamodb_table),
        C(table_created), C(identity) and C(region) are used.
    type: dict
    required: true
extends_documentation_fragment:
  - tfstate.s3_backend.attributes.action_phase
  - tfstate.s3_backend.aws
attributes:
  check_mode:
    support: full
    description:
      - Reads the table and the states and reports what would be created and set, without writing.
  diff_mode:
    support: none
    description: The digests set are in RV(digests), with their values before and after.
  platform:
    platforms: aws
    support: full
    description:
      - Runs on the controller whatever the target host is, and needs no connection to it. Talks to the S3 and
        DynamoDB APIs as the root's backend does (RV(tfstate.s3_backend.root_preflight#module:migration.identity)).
notes:
  - Needs C(dynamodb:DescribeTable), C(dynamodb:CreateTable) (when the table is missing), C(dynamodb:GetItem),
    C(dynamodb:BatchGetItem), C(dynamodb:PutItem) and C(dynamodb:DeleteItem) on the table, and C(s3:GetObject)
    on the state objects.
seealso:
  - module: tfstate.s3_backend.root_preflight
  - module: tfstate.s3_backend.root_freeze
  - module: tfstate.s3_backend.lock_table
author:
  - tfstate.s3_backend maintainers (@tfstate)
"""

EXAMPLES = r"""
- name: Read the root and decide what its rollback needs
  tfstate.s3_backend.root_preflight:
    root: /srv/repos/network
    target: dynamodb
    dynamodb_table: terraform-locks
  register: preflight

- name: Roll back under the maintenance lock
  block:
    - name: Take the maintenance lock
      tfstate.s3_backend.root_freeze:
        migration: "{{ preflight.migration }}"

    - name: Create the table if missing and set every workspace's digest to its current state
      tfstate.s3_backend.root_digests:
        migration: "{{ preflight.migration }}"
      register: digests
  always:
    - name: Release the maintenance lock
      tfstate.s3_backend.root_freeze:
        migration: "{{ preflight.migration }}"
        state: absent
"""

RETURN = r"""
table_created:
  description: Whether this run created the lock table (here or in the preflight; in check mode, would create it).
  returned: success
  type: bool
  sample: false
lock_table:
  description: The table after the phase, as M(tfstate.s3_backend.lock_table_info) summarises it.
  returned: success
  type: dict
  sample: {name: terraform-locks, exists: true, status: ACTIVE, billing_mode: PAY_PER_REQUEST}
digests:
  description:
    - The digest items set or removed (in check mode, that would be), with C(state_path), C(digest_table_key),
      C(action) (V(set) or V(delete)), C(before), C(after) and C(reason). Digests already right are not listed.
  returned: success
  type: list
  elements: dict
  sample:
    - state_path: acme-tfstate/network/terraform.tfstate
      digest_table_key: acme-tfstate/network/terraform.tfstate-md5
      action: set
      before: 0f343b0931126a20f133d67c2b018a3b
      after: 6e9b1b1a6d0f6e8b4f0cdd2ba71c2a51
      reason: MD5 of the current state object
check_mode:
  description: Whether the task ran in check mode.
  returned: always
  type: bool
  sample: false
msg:
  description: Why the phase failed.
  returned: on failure
  type: str
  sample: "table terraform-locks exists but its key is id (HASH, N); Terraform needs a string hash key named LockID and no sort key"
aws_error_code:
  description: The AWS error code of a failed call.
  returned: on an AWS error
  type: str
  sample: AccessDeniedException
"""
