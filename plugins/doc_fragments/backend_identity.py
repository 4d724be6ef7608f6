# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment(object):
    # The switch of the phases that read a root: whose identity the root's AWS calls take.
    DOCUMENTATION = r"""
options:
  backend_identity:
    description:
      - When V(true), the root's AWS calls run as the principal terraform runs as, because the backend's own
        settings are laid over the AWS options, as terraform lays them over its environment - the backend's
        C(profile) (with C(shared_config_files) and C(shared_credentials_files), one file each) replaces
        O(profile) and the access keys; its C(assume_role) (or the deprecated top-level C(role_arn),
        C(session_name), C(external_id), C(assume_role_duration_seconds), ...) is assumed through STS with those
        credentials, with the session name C(tfstate-s3-backend-<run ID>) unless it names one; its C(endpoints)
        (C(s3), C(dynamodb), C(sts), C(iam), or the deprecated C(endpoint), C(dynamodb_endpoint), C(sts_endpoint),
        C(iam_endpoint)) win over O(endpoint_url) for their services; C(use_path_style), C(insecure),
        C(custom_ca_bundle) and C(sts_region) are followed too. The task's options fill what the backend leaves
        unset.
      - The backend's settings are read from its block and the C(-backend-config) files and arguments of the
        root's init arguments. A value that cannot be read there (left to a variable, a template, an
        C(assume_role) given as a string on the command line), several shared files, static keys written in the
        backend (never read) or C(assume_role_with_web_identity) stop the root before any change, naming the
        file, the line and the setting.
      - A role that cannot be assumed stops the root naming the role ARN and the AWS error. The caller ARN STS
        answers (never a key) is returned as RV(tfstate.s3_backend.root_preflight#module:migration.identity)
        and reported per root.
      - When V(false), the task's AWS options alone are used (the inventory overrides the backend); terraform
        itself still follows its backend. The backend's C(region) is used in both cases (it is where the state is).
      - The later phases connect as the preflight's RV(tfstate.s3_backend.root_preflight#module:migration.identity)
        says.
    type: bool
    default: true
    version_added: 0.1.0
"""
