#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: root_checkout
short_description: Find a Terraform root's directory, cloning its git repository into a work directory when it is remote
version_added: 0.1.0
description:
  - Without O(repo_url), the root is the local directory O(root), expanded and made absolute; it must exist.
  - With O(repo_url), the repository is cloned into O(workdir)/<O(host)> (a host name that is not a plain file name
    is flattened and given a hash), or fetched when already cloned there; a folder that is not a clone of that
    repository is replaced. The clone is brought to O(version) (default the remote's default branch), or to the
    branch O(branch) when an earlier run left it (pushed, or only committed in this clone) and it is not merged
    into that version, so that a rerun carries on where the earlier one stopped.
  - Tracked files of the clone are reset to exactly that commit, so a change an interrupted run left uncommitted
    is redone, not reused; untracked files (C(.terraform), backups) are kept and are no change. An index lock left
    by a killed git process is removed.
  - Git never prompts (C(GIT_TERMINAL_PROMPT=0)) and never looks above the clone for a repository. The user
    information of O(repo_url) (C(user:token@)) is never returned or printed.
  - M(ansible.builtin.git) is not used for the clone, as it cannot continue an unmerged work branch that exists
    only in the clone, nor tell an earlier run's branch from the version.
author:
  - tfstate.s3_backend maintainers (@tfstate)
options:
  root:
    description: The root's directory, when it is a local checkout. Ignored when O(repo_url) is set.
    type: path
  repo_url:
    description:
      - A git repository holding the root (any URL C(git clone) takes). Takes precedence over O(root).
      - Its user information (C(https://user:token@host/...)) is kept out of every result and message.
    type: str
  version:
    description: The branch, tag or commit to check out. Default is the remote's default branch.
    type: str
  subdir:
    description: The root's directory inside the repository. Default is its top.
    type: str
  workdir:
    description: Where repositories are cloned, one folder per O(host).
    type: path
    default: ~/.cache/tfstate-s3-backend/work
  host:
    description:
      - The inventory host the root is, usually C(inventory_hostname). Names the clone's folder (required with
        O(repo_url)) and starts every message.
    type: str
  branch:
    description: The work branch (see M(tfstate.s3_backend.root_publish)); an unmerged one left by an earlier run is continued.
    type: str
    default: tfstate/s3-native-locking
attributes:
  check_mode:
    support: full
    details:
      - The clone in O(workdir) is this module's own working copy; it is made and updated in check mode too, so that
        a check run of the later steps sees the files it would change. Nothing outside O(workdir) changes.
    description: The clone is made and updated in check mode too (see details).
  diff_mode:
    support: full
    description: Shows the clone's commit, branch and number of changed tracked files before and after.
  platform:
    platforms: posix
    support: full
    description: Runs git on the target host.
seealso:
  - module: tfstate.s3_backend.root_publish
requirements:
  - git
"""

EXAMPLES = r"""
- name: Check out the root of a remote repository at a tag
  tfstate.s3_backend.root_checkout:
    repo_url: https://git.example.com/platform/network.git
    version: v1.4.0
    subdir: stacks/prod
    host: "{{ inventory_hostname }}"
  register: network_checkout

- name: Use a local checkout
  tfstate.s3_backend.root_checkout:
    root: ~/src/network
    host: "{{ inventory_hostname }}"
  register: network_checkout
"""

RETURN = r"""
root_path:
  description: The root's directory (the local root, or the clone plus O(subdir)), absolute and resolved.
  returned: always
  type: str
  sample: /home/ops/.cache/tfstate-s3-backend/work/network/stacks/prod
clone:
  description: The clone's directory, null for a local root.
  returned: always
  type: str
  sample: /home/ops/.cache/tfstate-s3-backend/work/network
commit:
  description: The commit checked out in the clone, null for a local root.
  returned: always
  type: str
  sample: 3f1c2a9e0b7d4c5e6f708192a3b4c5d6e7f80912
branch:
  description: The work branch checked out when an earlier run's unmerged branch is continued, else null (detached).
  returned: always
  type: str
  sample: tfstate/s3-native-locking
repo_url:
  description: O(repo_url) without its user information, null for a local root.
  returned: always
  type: str
  sample: https://git.example.com/platform/network.git
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tfstate.s3_backend.plugins.module_utils.redact import redact_url
from ansible_collections.tfstate.s3_backend.plugins.module_utils.root_git import (
    GitError,
    checkout_local,
    checkout_remote,
)


def hide_only_userinfo(module, url):
    """Mask the URL's user information in every output, but let a URL without one be named in messages."""
    shown = redact_url(url)
    if shown == url:
        module.no_log_values.discard(url)
        return
    userinfo = url[len(url.split("://", 1)[0]) + 3:].split("@", 1)[0]
    for secret in (userinfo, userinfo.split(":", 1)[-1]):
        if len(secret) >= 8:
            module.no_log_values.add(secret)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            root=dict(type="path"),
            repo_url=dict(type="str", no_log=True),
            version=dict(type="str"),
            subdir=dict(type="str"),
            workdir=dict(type="path", default="~/.cache/tfstate-s3-backend/work"),
            host=dict(type="str"),
            branch=dict(type="str", default="tfstate/s3-native-locking"),
        ),
        required_one_of=[("root", "repo_url")],
        required_by={"repo_url": "host"},
        supports_check_mode=True,
    )
    params = module.params
    url = params["repo_url"]
    if url:
        hide_only_userinfo(module, url)

    def run(argv, cwd, env):
        return module.run_command(argv, cwd=cwd, environ_update=env)

    try:
        if url:
            git = module.get_bin_path("git", required=True)
            found = checkout_remote(run, params["host"], url, params["version"], params["subdir"], params["workdir"],
                                    params["branch"], binary=git)
        else:
            found = checkout_local(params["host"], params["root"])
    except GitError as exc:
        module.fail_json(msg=str(exc))
    result = dict(changed=found["changed"], root_path=found["root_path"], clone=found["clone"],
                  commit=found["commit"], branch=found["branch"], repo_url=redact_url(url) if url else None)
    if module._diff and found["before"] is not None:
        result["diff"] = dict(before=found["before"], after=found["after"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
