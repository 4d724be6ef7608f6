# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: root_rewrite
short_description: Rewrite a Terraform root's backend configuration to its target lock mode, keeping its format
version_added: 0.1.0
description:
  - The phase of one root's migration that edits its backend configuration. It runs on the Ansible controller
    (an action plugin; nothing is sent to the target host) and is normally used by the C(tfstate.s3_backend.migrate)
    role, under the maintenance lock of M(tfstate.s3_backend.root_freeze), when the preflight found
    RV(tfstate.s3_backend.root_preflight#module:migration.action=rewrite).
  - Edits the files in RV(tfstate.s3_backend.root_preflight#module:migration.backend.config_files) (those that hold
    lock settings - the C(backend "s3") block, C(.tf.json) or C(-backend-config) files) to the lock mode
    RV(tfstate.s3_backend.root_preflight#module:migration.target) - V(dual) adds C(use_lockfile = true) next to
    C(dynamodb_table), V(lockfile) sets C(use_lockfile) and removes C(dynamodb_table) (and its DynamoDB
    endpoint settings). The edit is the one of M(tfstate.s3_backend.backend_hcl) - comments, layout, alignment,
    encoding and line endings are kept, and every edited file is parsed again and must read back with exactly
    the expected settings before anything is written.
  - A file already in the target mode (one of several, for example a C(-backend-config) file next to the block),
    or one without lock settings, is left as it is; when no file needs a change, nothing is written and
    C(changed) is V(false).
  - Each changed file is written through a temporary file beside it and renamed over it, keeping its mode; a
    symbolic link stays a link and its target gets the new text. With O(backup_dir), the previous content is
    copied first to C(<backup_dir>/<bucket>/<state key>/<path relative to the root>.<UTC time>~) (the folder names
    the root by its backend's bucket and key), outside the repository so that no backup lands in a commit; then
    the backups of that file beyond the O(backup_keep) newest are deleted.
  - >-
    The task fails, and writes nothing at all, when any of the files cannot be changed safely, with the message
    C(<file>:<line>: cannot rewrite the backend: <reason>) followed by C(nothing was written) in parentheses, and
    every such file in RV(untouched) (for example a file that does not parse, or a block written on one line that
    cannot take another setting); or when an edit does not read back as expected, with
    C(nothing was written: <file>:<line>: <reason>).
options:
  migration:
    description:
      - The RV(tfstate.s3_backend.root_preflight#module:migration) result of M(tfstate.s3_backend.root_preflight)
        for this root, unchanged. Its C(backend.config_files), C(target), C(root) and C(host) are used.
    type: dict
    required: true
  backup_dir:
    description:
      - Where to keep each rewritten file's previous content, as
        C(<backup_dir>/<bucket>/<state key>/<path relative to the root>.<UTC time>~) - the bucket and state key
        of the root's backend name its folder, whichever inventory host migrates it; created when missing.
      - Unset, no backup is made (the files are in git, or the diff is enough).
      - No backup is made either when the root is in a git checkout whose tracked files have no change (untracked
        files do not count) and every file to rewrite is tracked there, so that C(HEAD) holds their previous
        content (RV(files[].in_git)); unless O(backup_clean_git). A root outside git, or with a change, is backed up.
    type: path
  backup_clean_git:
    description:
      - Back up the files in O(backup_dir) also when they are tracked and unchanged in the root's git checkout.
    type: bool
    default: false
  backup_keep:
    description:
      - How many backups of each file to keep in its folder of O(backup_dir); after a new backup, the older ones
        beyond this count are deleted (RV(files[].backups_pruned)). Only this collection's backups of that file
        (C(<name>.<UTC time>~)) are ever deleted. V(0) keeps every backup.
    type: int
    default: 10
attributes:
  action:
    support: full
    description: An action plugin; the whole phase runs on the controller, on the root's files there.
  check_mode:
    support: full
    description: Computes and verifies the same edit and returns it, with its diff, without writing.
  diff_mode:
    support: full
    description: Returns the before and after text of each changed file, shown with C(--diff).
  platform:
    platforms: all
    support: full
    description:
      - Runs on the controller whatever the target host is, and needs no connection to it. The root's files are
        read and written on the controller.
seealso:
  - module: tfstate.s3_backend.root_preflight
  - module: tfstate.s3_backend.root_freeze
  - module: tfstate.s3_backend.root_reinit
  - module: tfstate.s3_backend.backend_hcl
author:
  - tfstate.s3_backend maintainers (@tfstate)
"""

EXAMPLES = r"""
- name: Read the root and decide what it needs
  tfstate.s3_backend.root_preflight:
    root: /srv/repos/network
    target: dual
  register: preflight

- name: Preview the rewrite of the backend configuration (check mode, with the diff)
  tfstate.s3_backend.root_rewrite:
    migration: "{{ preflight.migration }}"
  check_mode: true
  diff: true
  when: preflight.migration.action == 'rewrite'

- name: Rewrite the backend configuration, keeping backups outside the repository
  tfstate.s3_backend.root_rewrite:
    migration: "{{ preflight.migration }}"
    backup_dir: /var/backups/tfstate
  register: rewrite
  when: preflight.migration.action == 'rewrite'

- name: Re-initialise the root with the rewritten backend
  tfstate.s3_backend.root_reinit:
    migration: "{{ preflight.migration }}"
"""

RETURN = r"""
files:
  description: The files that changed (in check mode, that would change).
  returned: success
  type: list
  elements: dict
  contains:
    path:
      description: The file.
      type: str
      sample: /srv/repos/network/backend.tf
    changed:
      description: Always V(true).
      type: bool
      sample: true
    backup_file:
      description: The backup copy of its previous content.
      type: str
      returned: with O(backup_dir), not in check mode, unless RV(files[].in_git)
      sample: /var/backups/tfstate/acme-state/network/terraform.tfstate/backend.tf.20261129T200541Z~
    backups_pruned:
      description: The older backups of the file deleted after this one (O(backup_keep)).
      type: list
      elements: str
      returned: with RV(files[].backup_file)
      sample: [/var/backups/tfstate/acme-state/network/terraform.tfstate/backend.tf.20261101T080000Z~]
    in_git:
      description: The commit that holds the file's previous content, when that is why no backup was made.
      type: str
      returned: with O(backup_dir), not in check mode, when the root's git checkout holds the files unchanged
      sample: 3f1c2b7a9d0e4f5a6b7c8d9e0f1a2b3c4d5e6f70
    fingerprint:
      description:
        - The size and SHA-256 of the bytes written, read back from the file.
        - A later phase that finds these bytes measures the file from RV(files[].lock_settings_after) instead of
          parsing it again.
      type: dict
      returned: not in check mode
      sample: {"size": 182, "sha256": "9f2c0e6d0b1d4c8e7a5b3f1e2d4c6b8a0f9e7d5c3b1a2f4e6d8c0b9a7f5e3d1c"}
    lock_settings_after:
      description: Each backend of the file (in file order), its lock settings as the checked new text reads them.
      type: list
      elements: dict
      returned: not in check mode
      sample: [{"use_lockfile": true}]
changes:
  description: One entry per backend that changed (or would change in check mode).
  returned: success
  type: list
  elements: dict
  contains:
    file:
      description: The file.
      type: str
      sample: /srv/repos/network/backend.tf
    line:
      description: The line of the backend (before the change).
      type: int
      sample: 2
    form:
      description: How the backend is written, as in M(tfstate.s3_backend.backend_info).
      type: str
      sample: block
    lock_mode_before:
      description: The lock mode before the change.
      type: str
      sample: dynamodb
    lock_mode_after:
      description: The lock mode after the change.
      type: str
      sample: dual
    removed:
      description: Settings removed (or replaced), C(endpoints.dynamodb) for that entry of C(endpoints).
      type: list
      elements: str
      sample: []
    added:
      description: Settings added.
      type: list
      elements: str
      sample: [use_lockfile]
    updated:
      description: Settings whose value was changed in place (for example C(use_lockfile = "true") to C(true)).
      type: list
      elements: str
      sample: []
    warnings:
      description: Remarks about the edit.
      type: list
      elements: str
      sample: []
diff:
  description: The before and after text of each changed file, with C(before_header) and C(after_header).
  returned: when a file changed (or would change)
  type: list
  elements: dict
  sample:
    - before_header: /srv/repos/network/backend.tf (before)
      after_header: /srv/repos/network/backend.tf (after)
      before: "terraform {\n  backend \"s3\" {\n    bucket         = \"acme-tfstate\"\n ..."
      after: "terraform {\n  backend \"s3\" {\n    bucket         = \"acme-tfstate\"\n ..."
untouched:
  description:
    - The backends that cannot be rewritten, which failed the task, with the reason; C(kind) as in
      M(tfstate.s3_backend.backend_hcl)'s C(untouched).
  returned: on failure, when a backend cannot be rewritten
  type: list
  elements: dict
  sample:
    - file: /srv/repos/network/backend.tf
      line: 2
      kind: layout
      reason: the block holding key at line 2 sits on one line and cannot take another setting
check_mode:
  description: Whether the task ran in check mode.
  returned: always
  type: bool
  sample: false
msg:
  description: Why the rewrite failed.
  returned: on failure
  type: str
  sample: >-
    /srv/repos/network/backend.tf:2: cannot rewrite the backend: the block holding key at line 2 sits on one line
    and cannot take another setting (nothing was written)
"""
