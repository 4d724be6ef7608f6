#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: operator_policy
short_description: Build the least-privilege IAM policy of the credential that runs one of the collection's jobs
version_added: 0.1.0
description:
  - Returns the IAM policy document an operator credential (an AWX credential, a CI role) needs to run one job of
    this collection on the given state buckets and DynamoDB lock tables, and nothing more. It covers the
    collection's own AWS calls and those of the C(terraform) it runs in the roots with the same credentials
    (C(init), C(plan), the lock proofs).
  - V(migrate) (the C(migrate) role, both stages) - C(s3:ListBucket), C(s3:GetBucketVersioning) and
    C(s3:GetBucketLocation) on the buckets,
    C(s3:GetObject) on their objects, C(s3:PutObject) and C(s3:DeleteObject) on C(*.tflock) objects,
    C(s3:PutObject) on migration records (C(*.tfstate-s3-backend.json)); C(dynamodb:GetItem),
    C(dynamodb:BatchGetItem), C(dynamodb:PutItem) and C(dynamodb:DeleteItem) on the tables.
  - V(bootstrap) (the C(bootstrap) role) - C(s3:CreateBucket) and the reads and writes of every bucket setting
    M(tfstate.s3_backend.state_bucket) manages, on the buckets only; C(s3:GetObject) on their objects and
    C(s3:PutObject) and C(s3:DeleteObject) on C(*.tflock) objects for its terraform C(init) and C(plan).
  - V(rollback), V(retire), V(locks) (the stale-lock report) and V(unlock) get what those jobs call; see
    C(docs/operator-policies.md) in the collection for each list and what proves it.
  - No job may write or delete a state object; no job but V(retire) may delete a table.
  - Each policy is proven under IAM enforcement (moto) by the collection's tests - the job passes with exactly this
    policy, and fails naming the action when one is missing (before anything changes, except V(rollback), which
    finds it after taking and releasing its maintenance lock).
  - Makes no AWS call. Write the document with M(ansible.builtin.copy) or attach it with your IAM tooling.
author:
  - tfstate.s3_backend maintainers (@tfstate)
extends_documentation_fragment:
  - tfstate.s3_backend.attributes.info_module
options:
  job:
    description: The job the credential runs.
    type: str
    required: true
    choices: [bootstrap, migrate, rollback, retire, locks, unlock]
  buckets:
    description: The state buckets of the roots the job works on.
    type: list
    elements: str
    required: true
  lock_tables:
    description: The DynamoDB lock tables of those roots (the backends' C(dynamodb_table) settings).
    type: list
    elements: str
    default: []
  region:
    description: The tables' region; also gives the partition of every ARN.
    type: str
    default: us-east-1
  account:
    description: The AWS account ID of the tables. Unset, the table ARNs match any account (C(*)).
    type: str
  enable_versioning:
    description: With O(job=migrate), also allow C(s3:PutBucketVersioning) (the role's C(migrate_enable_versioning)).
    type: bool
    default: false
  create_table:
    description: With O(job=rollback), also allow C(dynamodb:CreateTable) (a rollback to a table that was deleted).
    type: bool
    default: false
  kms_key_arns:
    description: The KMS keys of states encrypted with C(kms_key_id) (C(kms:Encrypt), C(kms:Decrypt), C(kms:GenerateDataKey)).
    type: list
    elements: str
    default: []
attributes:
  platform:
    platforms: posix
    support: full
    description: Runs on the controller or any host with Python.
"""

EXAMPLES = r"""
- name: Build the policy of the AWX credential that migrates the fleet
  tfstate.s3_backend.operator_policy:
    job: migrate
    buckets: [acme-terraform-state]
    lock_tables: [terraform-locks]
    region: eu-west-1
    account: "123456789012"
  register: migrate_policy

- name: Save it for the IAM team
  ansible.builtin.copy:
    content: "{{ migrate_policy.policy | to_nice_json }}"
    dest: /tmp/tfstate-migrate-operator-policy.json
    mode: "0644"
"""

RETURN = r"""
policy:
  description: The IAM policy document.
  returned: always
  type: dict
  sample:
    Version: "2012-10-17"
    Statement:
      - Sid: StateBuckets
        Effect: Allow
        Action: [s3:ListBucket, s3:GetBucketVersioning, s3:GetBucketLocation]
        Resource: [arn:aws:s3:::acme-terraform-state]
      - Sid: ReadObjects
        Effect: Allow
        Action: [s3:GetObject]
        Resource: [arn:aws:s3:::acme-terraform-state/*]
      - Sid: LockObjects
        Effect: Allow
        Action: [s3:PutObject, s3:DeleteObject]
        Resource: [arn:aws:s3:::acme-terraform-state/*.tflock]
      - Sid: MigrationRecords
        Effect: Allow
        Action: [s3:PutObject]
        Resource: [arn:aws:s3:::acme-terraform-state/*.tfstate-s3-backend.json]
      - Sid: LockTables
        Effect: Allow
        Action: [dynamodb:GetItem, dynamodb:BatchGetItem, dynamodb:PutItem, dynamodb:DeleteItem]
        Resource: [arn:aws:dynamodb:eu-west-1:123456789012:table/terraform-locks]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.iam_policy import (
    OPERATOR_JOBS,
    PolicyError,
    operator_policy,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            job=dict(type="str", required=True, choices=list(OPERATOR_JOBS)),
            buckets=dict(type="list", elements="str", required=True),
            lock_tables=dict(type="list", elements="str", default=[]),
            region=dict(type="str", default="us-east-1"),
            account=dict(type="str"),
            enable_versioning=dict(type="bool", default=False),
            create_table=dict(type="bool", default=False),
            kms_key_arns=dict(type="list", elements="str", default=[], no_log=False),
        ),
        supports_check_mode=True,
    )
    params = module.params
    try:
        policy = operator_policy(params["job"], params["buckets"], params["lock_tables"], region=params["region"],
                                 account=params["account"] or "*", enable_versioning=params["enable_versioning"],
                                 create_table=params["create_table"], kms_key_arns=params["kms_key_arns"])
    except PolicyError as exc:
        module.fail_json(msg="Cannot scope the %s operator policy: %s" % (params["job"], exc))
    module.exit_json(changed=False, policy=policy)


if __name__ == "__main__":
    main()
