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
  profile:
    description:
      - The AWS profile terraform uses in this root; RV(terraform_env) gives it as C(AWS_PROFILE).
    type: str
    version_added: 0.1.0
  region:
    description:
      - The AWS region terraform uses when the backend names none; RV(terraform_env) gives the backend's region, else
        this one, as C(AWS_REGION).
    type: str
    version_added: 0.1.0
  endpoint_url:
    description:
      - A custom AWS endpoint (an S3-compatible store); RV(terraform_env) gives it as C(AWS_ENDPOINT_URL), and
        RV(init_argv) then adds C(-backend-config=use_path_style=true).
    type: str
    version_added: 0.1.0
  aws_ca_bundle:
    description:
      - The CA bundle of the endpoint; RV(terraform_env) gives it as C(AWS_CA_BUNDLE).
    type: path
    version_added: 0.1.0
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
terraform_env:
  description:
    - The environment variables every terraform process of this root needs on top of the host's - C(AWS_PROFILE),
      C(AWS_REGION), C(AWS_ENDPOINT_URL), C(AWS_CA_BUNDLE) (from O(profile), the backend's region or O(region),
      O(endpoint_url), O(aws_ca_bundle); unset ones left out), C(TF_IN_AUTOMATION=1), C(TF_INPUT=0) and
      C(CHECKPOINT_DISABLE=1) - for a task's C(environment).
  returned: always
  type: dict
  sample: {"AWS_PROFILE": "network-prod", "AWS_REGION": "eu-west-1", "TF_IN_AUTOMATION": "1", "TF_INPUT": "0",
           "CHECKPOINT_DISABLE": "1"}
  version_added: 0.1.0
init_argv:
  description:
    - The root's C(terraform init -reconfigure) command line - O(terraform_bin) (C(terraform) when unset), the
      O(backend_config_files) and O(init_args), and C(-backend-config=use_path_style=true) with O(endpoint_url).
  returned: always
  type: list
  elements: str
  sample: [terraform, init, -no-color, -input=false, -reconfigure, -backend-config=prod.tfbackend]
  version_added: 0.1.0
terraform:
  description: What O(terraform_bin) is; empty when it is unset.
  returned: always
  type: dict
  sample: {"binary": "terraform", "product": "terraform", "version": "1.11.4", "supports_use_lockfile": true}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend.root import (
    RootError,
    resolve_root,
    terraform_facts,
)
from ansible_collections.tfstate.s3_backend.plugins.module_utils.terraform_cli import aws_env, init_argv, terraform_env


def main():
    module = AnsibleModule(
        argument_spec=dict(
            root=dict(type="path", required=True, aliases=["project_path"]),
            backend_config_files=dict(type="list", elements="path", default=[]),
            init_args=dict(type="list", elements="str", default=[]),
            terraform_bin=dict(type="str", aliases=["binary_path"]),
            profile=dict(type="str"),
            region=dict(type="str"),
            endpoint_url=dict(type="str"),
            aws_ca_bundle=dict(type="path"),
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
    # The backend's own region first: terraform and the modules talk to the same account and region.
    options = dict(params, region=(backend.get("settings") or {}).get("region") or params["region"])
    module.exit_json(changed=False, backend=backend, terraform=terraform,
                     terraform_env=terraform_env(base={}, extra=aws_env(options)),
                     init_argv=init_argv(params["terraform_bin"] or "terraform", init_args, params["endpoint_url"]))


if __name__ == "__main__":
    main()
