#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: backend_policy
short_description: Build the least-privilege IAM policy for a Terraform S3 backend with use_lockfile
version_added: 0.1.0
description:
  - Returns the IAM policy document that lets Terraform or OpenTofu use the given state keys of a bucket with S3
    native locking (C(use_lockfile = true)), and nothing more.
  - State keys get C(s3:GetObject) and C(s3:PutObject); their C(.tflock) keys C(s3:GetObject), C(s3:PutObject) and
    C(s3:DeleteObject); the bucket C(s3:ListBucket) (Terraform lists workspaces); a KMS key C(kms:Encrypt),
    C(kms:Decrypt) and C(kms:GenerateDataKey). No DynamoDB permission, and no C(s3:DeleteObject) on a state key.
  - Makes no AWS call. Write the document with M(ansible.builtin.copy) or attach it with your IAM tooling.
author:
  - tfstate.s3_backend maintainers (@tfstate)
extends_documentation_fragment:
  - tfstate.s3_backend.attributes.info_module
options:
  bucket:
    description: The state bucket.
    type: str
    required: true
  keys:
    description: The state keys (the backend's C(key) settings) the policy covers.
    type: list
    elements: str
    required: true
  region:
    description: The bucket's region; only its partition matters (C(aws), C(aws-cn), C(aws-us-gov)).
    type: str
    default: us-east-1
  workspaces:
    description:
      - Also cover the keys of every non-default workspace (C(<workspace_key_prefix>/*/<key>)).
      - IAM's C(*) also matches C(/), so that pattern alone would reach another root's workspace states
        (C(env:/*/network/terraform.tfstate) matches C(env:/prod/team-b/network/terraform.tfstate)). The policy
        therefore also denies C(<workspace_key_prefix>/*/*/<key>) and its lock object (statement
        C(NoOtherRootsWorkspaces)). Terraform refuses workspace names with a C(/), so no workspace of these keys
        has that shape.
      - That deny also overrides what other policies of the same principal allow on keys of that shape. A principal
        that works on several roots whose keys end alike gets one policy listing all its keys; the module fails,
        naming the keys, when the deny would cut off one of them. Use O(workspace_names) then.
      - Mutually exclusive with O(workspace_names).
    type: bool
    default: false
  workspace_names:
    description:
      - Cover exactly these workspaces of each key (C(<workspace_key_prefix>/<name>/<key>)), with no wildcard and
        no deny statement. V(default) is the key itself, always covered.
      - Names must be ones Terraform allows (URL-safe, no C(/)).
      - Mutually exclusive with O(workspaces).
    type: list
    elements: str
    version_added: 0.1.0
  workspace_key_prefix:
    description: The backend's C(workspace_key_prefix). Unset means Terraform's default C(env:).
    type: str
  allow_workspace_delete:
    description:
      - With O(workspaces=true) or O(workspace_names), allow C(terraform workspace delete) (C(s3:DeleteObject) on
        workspace states).
    type: bool
    default: false
  kms_key_arn:
    description: The ARN of the KMS key of the backend's C(kms_key_id), when state is encrypted with it.
    type: str
attributes:
  platform:
    platforms: posix
    support: full
    description: Runs on the controller or any host with Python.
"""

EXAMPLES = r"""
- name: Build the policy of two roots' state keys
  tfstate.s3_backend.backend_policy:
    bucket: acme-terraform-state
    keys:
      - network/terraform.tfstate
      - app/terraform.tfstate
    workspaces: true
  register: tfstate_policy

- name: Build the policy of one root and its two known workspaces, with no wildcard
  tfstate.s3_backend.backend_policy:
    bucket: acme-terraform-state
    keys:
      - network/terraform.tfstate
    workspace_names: [staging, prod]

- name: Save it for the IAM team
  ansible.builtin.copy:
    content: "{{ tfstate_policy.policy | to_nice_json }}"
    dest: /tmp/terraform-state-policy.json
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
      - Sid: ListStateBucket
        Effect: Allow
        Action: s3:ListBucket
        Resource: arn:aws:s3:::acme-terraform-state
      - Sid: ReadWriteState
        Effect: Allow
        Action: [s3:GetObject, s3:PutObject]
        Resource: [arn:aws:s3:::acme-terraform-state/app/terraform.tfstate]
      - Sid: LockFiles
        Effect: Allow
        Action: [s3:GetObject, s3:PutObject, s3:DeleteObject]
        Resource: [arn:aws:s3:::acme-terraform-state/app/terraform.tfstate.tflock]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.iam_policy import PolicyError, backend_policy


def main():
    module = AnsibleModule(
        argument_spec=dict(
            bucket=dict(type="str", required=True),
            keys=dict(type="list", elements="str", required=True, no_log=False),
            region=dict(type="str", default="us-east-1"),
            workspaces=dict(type="bool", default=False),
            workspace_names=dict(type="list", elements="str"),
            workspace_key_prefix=dict(type="str", no_log=False),
            allow_workspace_delete=dict(type="bool", default=False),
            kms_key_arn=dict(type="str", no_log=False),
        ),
        supports_check_mode=True,
    )
    params = module.params
    if not params["keys"]:
        module.fail_json(msg="keys is empty: the policy must be scoped to at least one state key of bucket %s"
                         % params["bucket"])
    try:
        policy = backend_policy(
            params["bucket"], params["keys"], region=params["region"], workspaces=params["workspaces"],
            workspace_key_prefix=params["workspace_key_prefix"], kms_key_arn=params["kms_key_arn"],
            allow_workspace_delete=params["allow_workspace_delete"], workspace_names=params["workspace_names"],
        )
    except PolicyError as exc:
        module.fail_json(msg="Cannot scope the policy of bucket %s: %s" % (params["bucket"], exc))
    module.exit_json(changed=False, policy=policy)


if __name__ == "__main__":
    main()
