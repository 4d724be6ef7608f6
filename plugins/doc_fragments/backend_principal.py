# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment(object):
    # The option of the lock modules that makes their calls run as a root's backend's own principal.
    DOCUMENTATION = r"""
options:
  backend:
    description:
      - A root's resolved backend, as M(tfstate.s3_backend.terraform_root_info) returns it in
        RV(tfstate.s3_backend.terraform_root_info#module:backend) and the C(tfstate.s3_backend.terraform_roots)
        inventory sets it in C(tfstate_backend).
      - The calls run as the principal terraform runs as for it, as the migrate role's do - its C(profile) (with one
        shared config and one credentials file), its C(assume_role) assumed through STS (session name
        C(tfstate-s3-backend-run) unless it names one), its C(region) and C(endpoints) - laid over the AWS options,
        which fill what the backend leaves unset.
      - A backend identity that cannot be used as written (a value left to a variable, static keys in the backend,
        several shared files, C(assume_role_with_web_identity)) fails the task naming the file, the line and the
        setting; a role that cannot be assumed fails it naming the role ARN.
    type: dict
    version_added: 0.1.0
"""
