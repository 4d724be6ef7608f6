#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: backend_info
short_description: Find Terraform and OpenTofu S3 backend settings in files and directories
version_added: 0.1.0
description:
  - Scans files and directory trees for S3 backend settings and reports, per backend, where it is, its settings and
    its lock mode. Nothing is changed.
  - "Forms found: C(backend \"s3\") blocks in C(*.tf) and OpenTofu's C(*.tofu); C(terraform.backend.s3) in
    C(*.tf.json) and C(*.tofu.json), also in the array-of-blocks form; partial configurations given to
    C(terraform init -backend-config=FILE) (C(*.tfbackend), C(backend.hcl) and other C(*.hcl) files that hold only
    backend settings, C(*.conf), C(*.backend), C(*.tfvars) files whose name holds C(backend) and that hold only
    backend settings, and any file named in O(path), C(*.tfvars) included); Terragrunt C(remote_state) with
    C(backend = \"s3\"), the C(backend \"s3\") block of a Terragrunt C(generate) heredoc, and the old
    C(terragrunt = { remote_state { ... } }) form in C(*.tfvars)."
  - Other C(*.tfvars) files found in a directory (C(terraform.tfvars), C(prod.tfvars)) are variable files, never
    backend configurations, whatever names they set; name such a file in O(path) to read it as one.
  - A root that holds C(x.tofu) and C(x.tf) (or C(x.tofu.json) and C(x.tf.json)) is reported with both backends;
    OpenTofu reads only C(x.tofu) and Terraform never reads C(*.tofu), so the C(x.tf) backend gets a
    C(tofu_override) note.
  - Directories are walked recursively, skipping C(.git), C(.terraform), C(.terragrunt-cache), C(vendor),
    C(node_modules) and similar folders. A file is parsed only when a cheap text search finds something that can be
    a backend setting in it; a file named in O(path) is always parsed.
  - Things that look like backend settings but are not (C(data \"terraform_remote_state\") configurations, commented-out
    or templated backends, C(aws_dynamodb_table) resources) are reported in RV(notes), never in RV(backends).
  - A file that cannot be parsed is reported in RV(failures) with its line and the reason; the scan goes on. This
    includes a C(backend) line that terraform rejects, such as C(backend) with its label written in typographic (or single)
    quotes.
  - Only regular files (or links to them) of at most 8 MiB are read; dangling or looping links, FIFOs, devices,
    bigger files and directories that cannot be listed are reported in RV(skipped_files) and the scan goes on.
author:
  - tfstate.s3_backend maintainers (@tfstate)
extends_documentation_fragment:
  - tfstate.s3_backend.attributes.info_module
options:
  path:
    description:
      - Files and directories to scan.
    type: list
    elements: path
    required: true
    aliases: [paths]
  exclude:
    description:
      - Shell patterns of files and directories to skip, matched against the path relative to each directory in
        O(path) and against the file name. C(*) also matches C(/).
    type: list
    elements: str
    default: []
attributes:
  platform:
    platforms: posix
    support: full
    description: Reads files on the target host.
notes:
  - The lock mode is V(dynamodb) with C(dynamodb_table) set (an empty string does not count; in a Terragrunt
    C(remote_state), its older name C(lock_table) counts too), V(lockfile) with C(use_lockfile = true), V(dual) with
    both and V(none) with neither. A V(none) backend does not lock, whatever else it sets (a DynamoDB endpoint
    without a table, an explicit C(use_lockfile = false)); M(tfstate.s3_backend.backend_hcl) leaves it so in every
    mode. Both modules, the roots' discovery and the C(terraform_roots) inventory decide the lock mode the same way.
  - Terraform supports C(use_lockfile) from 1.10.1 on (1.10.0 cannot lock on Object Lock buckets), OpenTofu from
    1.10.2 on; RV(backends[].admits_use_lockfile) compares these with the root's C(required_version).
seealso:
  - module: tfstate.s3_backend.backend_hcl
  - name: Terraform S3 backend
    description: The backend's settings, including use_lockfile.
    link: https://developer.hashicorp.com/terraform/language/backend/s3
"""

EXAMPLES = r"""
- name: Find every S3 backend in the checked-out repositories
  tfstate.s3_backend.backend_info:
    path:
      - /srv/repos
    exclude:
      - "*/examples/*"
  register: found

- name: List the roots that still lock with DynamoDB only
  ansible.builtin.debug:
    msg: "{{ found.backends | selectattr('lock_mode', 'eq', 'dynamodb') | map(attribute='root') | list }}"

- name: Stop when a backend file cannot be read
  ansible.builtin.assert:
    that: found.failures | length == 0
    fail_msg: "{{ found.failures }}"

- name: Scan one partial configuration file with an unusual name
  tfstate.s3_backend.backend_info:
    path: /srv/repos/app/config/prod.backend-config
"""

RETURN = r"""
backends:
  description: One entry per S3 backend found, in file order. Templated backends are left out (see RV(notes)).
  returned: always
  type: list
  elements: dict
  contains:
    file:
      description: The file that holds the backend.
      type: str
      sample: /srv/repos/app/backend.tf
    line:
      description: The line of the C(backend "s3") block, the C(remote_state), the C("s3") member or, for a partial
        configuration, of its first setting.
      type: int
      sample: 2
    form:
      description: How the backend is written.
      type: str
      choices: [block, json, partial, terragrunt, terragrunt_generate, terragrunt_tfvars]
      sample: block
    root:
      description: The directory of the file (the Terraform or Terragrunt root).
      type: str
      sample: /srv/repos/app
    settings:
      description:
        - The backend's settings by name. Literal values are decoded (strings, numbers, booleans, objects); other
          values are given as their source text (templates without their quotes), and listed in
          RV(backends[].unresolved_settings).
        - A Terragrunt C(local.NAME) reference to a literal local is resolved.
      type: dict
      sample: {bucket: acme-state, key: app/terraform.tfstate, region: eu-west-1, dynamodb_table: acme-locks}
    unresolved_settings:
      description: Names of settings whose value is an expression, not a literal.
      type: list
      elements: str
      sample: [region]
    lock_mode:
      description: How the backend locks state; V(none) when it does not lock (see the notes).
      type: str
      choices: [dynamodb, dual, lockfile, none]
      sample: dynamodb
    required_version:
      description:
        - The root's C(required_version) constraints joined with C(, ) (Terragrunt's
          C(terraform_version_constraint) for Terragrunt forms); null when there is none.
      type: str
      sample: ">= 1.7"
    admits_use_lockfile:
      description:
        - Whether the constraints admit a version that supports C(use_lockfile) (Terraform 1.10.1, OpenTofu
          1.10.2 or later). Both are true without constraints; null when a constraint cannot be read.
      type: dict
      sample: {terraform: true, opentofu: true}
    partial_config_files:
      description:
        - For a C(block) or C(json) backend without C(bucket) or C(key), the partial-configuration files found in its
          directory and in the directories right below it. Empty otherwise.
      type: list
      elements: str
      sample: [/srv/repos/app/dev.tfbackend]
    partial_configs:
      description: The settings and lock mode of each of RV(backends[].partial_config_files).
      type: list
      elements: dict
      sample: [{file: /srv/repos/app/dev.tfbackend, settings: {bucket: acme-dev, dynamodb_table: locks},
                lock_mode: dynamodb}]
    templated:
      description: Always false here; templated backends appear in RV(notes).
      type: bool
      sample: false
failures:
  description: Files that could not be parsed. The scan went on without them.
  returned: always
  type: list
  elements: dict
  contains:
    file:
      description: The file.
      type: str
      sample: /srv/repos/broken/backend.tf
    line:
      description: The line where parsing stopped.
      type: int
      sample: 6
    reason:
      description: What is wrong.
      type: str
      sample: unterminated string
  sample: [{file: /srv/repos/broken/backend.tf, line: 6, reason: unterminated string}]
notes:
  description:
    - Remarks that are not backends, by file and line. C(kind) is one of C(template), C(remote_state_data),
      C(lock_table_resource), C(commented_out), C(other_backend), C(unknown_setting), C(expression_setting),
      C(local_reference), C(lock_table_option), C(unreadable_config), C(tofu_override) (OpenTofu reads the
      C(.tofu) file of the same name instead of this one).
  returned: always
  type: list
  elements: dict
  sample: [{file: /srv/repos/app/data.tf, line: 1, kind: remote_state_data,
            message: 'data "terraform_remote_state" "core" reads another state; its config is not a backend'}]
lock_modes:
  description: How many of RV(backends) are in each lock mode.
  returned: always
  type: dict
  sample: {dynamodb: 12, dual: 1, lockfile: 3, none: 2}
files_scanned:
  description: How many files had a name worth looking at.
  returned: always
  type: int
  sample: 1400
files_parsed:
  description: How many of them passed the text search and were parsed.
  returned: always
  type: int
  sample: 31
skipped_files:
  description: Files and directories that were not read, and why. The scan went on without them.
  returned: always
  type: list
  elements: dict
  version_added: 0.1.0
  contains:
    file:
      description: The path.
      type: str
      sample: /srv/repos/app/zero.tf
    reason:
      description: Why it was skipped.
      type: str
      sample: a character device, not a regular file
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend.discovery import report


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="list", elements="path", required=True, aliases=["paths"]),
            exclude=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    missing = [path for path in module.params["path"] if not os.path.exists(path)]
    if missing:
        module.fail_json(msg="path does not exist: %s" % ", ".join(missing))
    module.exit_json(changed=False, **report(module.params["path"], module.params["exclude"]))


if __name__ == "__main__":
    main()
