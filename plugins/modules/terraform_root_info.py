#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: terraform_root_info
short_description: The effective S3 backend of a Terraform root and the binary that runs it
version_added: 0.1.0
description:
  - Resolves the S3 backend a C(terraform init) in O(root) would use, as Terraform assembles it - the root's
    C(backend "s3") block (or C(*.tf.json) form), completed by the O(init_args) C(-backend-config=FILE) files and
    C(-backend-config=key=value) arguments, later ones winning - and its lock mode.
  - Reports which files hold the lock settings (the files a lock-mode change edits), the lock mode recorded by the
    last C(terraform init) in C(.terraform/terraform.tfstate), the root's C(required_version) and what
    O(terraform_bin) is (Terraform or OpenTofu, its version, and whether it supports C(use_lockfile)).
  - Fails, naming the file and line, when the root has no S3 backend block, several, a templated one, one whose
    settings are not literal values, or a file that cannot be parsed. Nothing is changed.
author:
  - tfstate.s3_backend maintainers (@tfstate)
extends_documentation_fragment:
  - tfstate.s3_backend.attributes.info_module
options:
  root:
    description:
      - The root's directory.
      - The alias C(project_path) is M(community.general.terraform)'s name for this option.
    type: path
    required: true
    aliases: [project_path]
  backend_config_files:
    description:
      - Partial backend configuration files, as M(community.general.terraform) takes them; each is read as a
        C(-backend-config=FILE) argument placed before O(init_args), so a setting in O(init_args) wins.
      - Relative paths are relative to O(root).
    type: list
    elements: path
    default: []
    version_added: 0.1.0
  init_args:
    description: The root's extra C(terraform init) arguments; relative C(-backend-config) files are relative to O(root).
    type: list
    elements: str
    default: []
  terraform_bin:
    description:
      - The terraform or tofu binary to describe. Unset skips that part.
      - The alias C(binary_path) is M(community.general.terraform)'s name for this option.
    type: str
    aliases: [binary_path]
attributes:
  platform:
    platforms: posix
    support: full
    description: Reads the root on the target host.
seealso:
  - module: tfstate.s3_backend.backend_info
"""

EXAMPLES = r"""
- name: Resolve a root configured with a partial configuration
  tfstate.s3_backend.terraform_root_info:
    root: /srv/repos/network
    init_args: [-backend-config=prod.tfbackend]
    terraform_bin: terraform
  register: network_root

- name: The same, with the option names of community.general.terraform
  tfstate.s3_backend.terraform_root_info:
    project_path: /srv/repos/network
    backend_config_files: [prod.tfbackend]
    binary_path: terraform
  register: network_root
"""

RETURN = r"""
backend:
  description: The effective backend.
  returned: always
  type: dict
  contains:
    root:
      description: The root's absolute path.
      type: str
    file:
      description: The file of the backend block.
      type: str
      sample: /srv/repos/network/backend.tf
    line:
      description: The block's line.
      type: int
      sample: 3
    form:
      description: V(block) or V(json).
      type: str
    config_files:
      description: The files holding the lock settings (or the block's file when none does).
      type: list
      elements: str
    partial_config_files:
      description: The C(-backend-config) files of O(init_args).
      type: list
      elements: str
    settings:
      description: bucket, key, region, dynamodb_table, use_lockfile, workspace_key_prefix, encrypt, kms_key_id, profile.
      type: dict
      sample: {"bucket": "acme-state", "key": "network/terraform.tfstate", "region": "eu-west-1",
               "dynamodb_table": "terraform-locks", "use_lockfile": false, "workspace_key_prefix": null,
               "encrypt": true, "kms_key_id": null, "profile": null}
    unresolved_settings:
      description:
        - Settings whose value is an expression (its text is in RV(backend.settings)); always empty here, where
          such a backend fails, but not in the C(tfstate_backend) the P(tfstate.s3_backend.terraform_roots#inventory)
          inventory plugin sets in this same shape.
      type: list
      elements: str
      sample: []
      version_added: 0.1.0
    setting_lines:
      description:
        - Where each lock setting (C(dynamodb_table), C(use_lockfile), C(dynamodb_endpoint)) is set, as
          C(<file>:<line>) - the backend block, a C(-backend-config) file (V(/srv/app/prod.tfbackend:2)) or the init
          arguments. Empty in the C(tfstate_backend) of the P(tfstate.s3_backend.terraform_roots#inventory) inventory
          plugin.
      type: dict
      sample: {"dynamodb_table": "/srv/repos/app/prod.tfbackend:2"}
    lock_mode:
      description: V(dynamodb), V(dual), V(lockfile) or V(none).
      type: str
      sample: dynamodb
    initialised_lock_mode:
      description: The lock mode of the last C(terraform init), null when the root was never initialised.
      type: str
    initialised:
      description: The backend recorded by the last C(terraform init) (bucket, key, dynamodb_table, use_lockfile, lock_mode).
      type: dict
    required_version:
      description: The root's C(required_version) constraints, or null.
      type: str
    admits_use_lockfile:
      description: Whether the constraints admit a version supporting C(use_lockfile), per product.
      type: dict
      sample: {"terraform": true, "opentofu": true}
    parse_warnings:
      description: Other files of the root that could not be parsed (file, line, reason).
      type: list
      elements: dict
terraform:
  description: What O(terraform_bin) is; empty when it is unset.
  returned: always
  type: dict
  sample: {"binary": "terraform", "product": "terraform", "version": "1.11.4", "supports_use_lockfile": true}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tfstate.s3_backend.plugins.module_utils.root_backend import (
    RootError,
    resolve_root,
    terraform_facts,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            root=dict(type="path", required=True, aliases=["project_path"]),
            backend_config_files=dict(type="list", elements="path", default=[]),
            init_args=dict(type="list", elements="str", default=[]),
            terraform_bin=dict(type="str", aliases=["binary_path"]),
        ),
        supports_check_mode=True,
    )
    params = module.params
    try:
        init_args = ["-backend-config=%s" % path for path in params["backend_config_files"]] + params["init_args"]
        backend = resolve_root(params["root"], init_args)
        terraform = {}
        if params["terraform_bin"]:
            binary = module.get_bin_path(params["terraform_bin"], required=True)
            rc, out, err = module.run_command([binary, "version"], environ_update={"CHECKPOINT_DISABLE": "1"})
            if rc != 0:
                module.fail_json(msg="%s version failed (rc=%s): %s" % (binary, rc, err.strip()))
            terraform = terraform_facts(out, params["terraform_bin"])
    except RootError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, backend=backend, terraform=terraform)


if __name__ == "__main__":
    main()
