#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: state_info
short_description: List the workspaces' state objects of a Terraform S3 backend key
version_added: 0.1.0
description:
  - Lists the state object of every workspace of a backend O(key) in O(bucket) - C(key) for the V(default)
    workspace, C(<workspace_key_prefix>/<workspace>/<key>) for the others - with size, time and ETag.
  - State objects are listed, never read or written.
extends_documentation_fragment:
  - tfstate.s3_backend.attributes.info_module
  - tfstate.s3_backend.aws
options:
  bucket:
    description: The state bucket.
    type: str
    required: true
  key:
    description: The backend's C(key).
    type: str
    required: true
  workspace_key_prefix:
    description: The backend's C(workspace_key_prefix). Unset means Terraform's default C(env:).
    type: str
attributes:
  platform:
    platforms: aws
    support: full
    description: Talks to the S3 API.
author:
  - tfstate.s3_backend maintainers (@tfstate)
"""

EXAMPLES = r"""
- name: List the workspaces of a root's state
  tfstate.s3_backend.state_info:
    bucket: acme-terraform-state
    key: network/terraform.tfstate
  register: network_states
"""

RETURN = r"""
states:
  description: One entry per workspace that has a state object, the default workspace first.
  returned: always
  type: list
  elements: dict
  contains:
    workspace:
      description: The workspace name.
      type: str
      sample: staging
    key:
      description: The state object's key.
      type: str
      sample: env:/staging/network/terraform.tfstate
    size:
      description: Its size in bytes.
      type: int
    last_modified:
      description: When it was last written (ISO 8601).
      type: str
    etag:
      description: Its ETag (not an MD5 under KMS or multipart uploads).
      type: str
workspaces:
  description: The workspace names of RV(states).
  returned: always
  type: list
  elements: str
  sample: [default, staging]
"""

from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.client import AwsError
from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.module import AwsModule
from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks.state_objects import list_states


def main():
    module = AwsModule(
        argument_spec=dict(
            bucket=dict(type="str", required=True),
            key=dict(type="str", required=True, no_log=False),
            workspace_key_prefix=dict(type="str", no_log=False),
        ),
        supports_check_mode=True,
    )
    params = module.params
    try:
        states = list_states(module.client("s3"), params["bucket"], params["key"], params["workspace_key_prefix"])
    except AwsError as exc:
        module.fail_aws(exc)
    module.exit_json(changed=False, states=states, workspaces=[state["workspace"] for state in states])


if __name__ == "__main__":
    main()
