# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment(object):
    # The lock table and the workspaces of a backend key, for lock_table and lock_table_info.
    DOCUMENTATION = r"""
options:
  name:
    description:
      - Name of the DynamoDB table (the backend's C(dynamodb_table)).
    type: str
    required: true
    aliases: [table, dynamodb_table]
  workspaces:
    description:
      - Workspaces of O(key). V(default) is the state at O(key) itself.
    type: list
    elements: str
  workspace_key_prefix:
    description:
      - The backend's C(workspace_key_prefix), for O(workspaces). Terraform's default is C(env:).
    type: str
"""
