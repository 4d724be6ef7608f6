# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment(object):
    # The backend settings that say where a state's lock object is and how it is written.
    DOCUMENTATION = r"""
options:
  bucket:
    description:
      - The backend's C(bucket).
    type: str
    required: true
  key:
    description:
      - The backend's C(key).
    type: str
    required: true
  workspace:
    description:
      - The Terraform workspace whose state is locked; V(default) is the state at O(key).
    type: str
    default: default
  workspace_key_prefix:
    description:
      - The backend's C(workspace_key_prefix). When unset, Terraform's default V(env:) applies.
    type: str
  encrypt:
    description:
      - The backend's C(encrypt). When V(true), the lock object is written with C(AES256) server-side encryption.
    type: bool
    default: false
  kms_key_id:
    description:
      - The backend's C(kms_key_id). When set, the lock object is written with C(aws:kms) encryption under this key.
    type: str
"""
