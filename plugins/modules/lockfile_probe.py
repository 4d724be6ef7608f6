#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: lockfile_probe
short_description: Check that a state bucket honours the conditional writes use_lockfile needs
version_added: 0.1.0
description:
  - Checks that the bucket refuses a second conditional write (C(If-None-Match) V(*)), which C(use_lockfile)
    needs, on a probe object of its own next to the state's lock (C(<state key>.tfstate-s3-backend-probe.tflock),
    written twice with the backend's encryption, then deleted). The task fails, naming the bucket, when the second
    write was accepted. No lock is taken, and nothing is left behind.
  - AWS's 409 C(ConditionalRequestConflict) answers to racing conditional writes are retried a few times with a
    short backoff.
  - The state object itself is never read or written.
extends_documentation_fragment:
  - tfstate.s3_backend.aws
  - tfstate.s3_backend.lock_target
options:
  operation:
    description:
      - Terraform's C(Operation) field of the probe object's lock JSON.
    type: str
    default: maintenance
  who:
    description:
      - Terraform's C(Who) field of the probe object's lock JSON. When unset, C(user@host) of the host running
        the module.
    type: str
  info:
    description:
      - Terraform's C(Info) field of the probe object's lock JSON.
    type: str
    default: Locked by Ansible (tfstate.s3_backend.lockfile)
attributes:
  check_mode:
    support: full
    description: Writes nothing in check mode and returns RV(conditional_writes=null).
  diff_mode:
    support: none
    description: Nothing is left changed, so there is nothing to show.
  platform:
    platforms: aws
    support: full
    description: Talks to the S3 API of AWS or of a compatible endpoint.
author:
  - tfstate.s3_backend maintainers (@tfstate)
notes:
  - Needs C(s3:PutObject) and C(s3:DeleteObject) on the probe object.
seealso:
  - module: tfstate.s3_backend.lockfile_info
  - module: tfstate.s3_backend.lockfile
"""

EXAMPLES = r"""
- name: Check that the state bucket honours conditional writes before turning use_lockfile on
  tfstate.s3_backend.lockfile_probe:
    bucket: acme-tfstate
    key: network/terraform.tfstate
    encrypt: true
"""

RETURN = r"""
conditional_writes:
  description: Whether the bucket refused the second conditional write (null in check mode).
  returned: always
  type: bool
  sample: true
"""

from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.module import AwsModule
from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks.unlocking import (
    LOCK_TARGET_SPEC,
    lock_target,
    probe_result,
)


def main():
    module = AwsModule(
        argument_spec=dict(
            **LOCK_TARGET_SPEC,
            operation=dict(type="str", default="maintenance"),
            who=dict(type="str"),
            info=dict(type="str", default="Locked by Ansible (tfstate.s3_backend.lockfile)"),
        ),
        supports_check_mode=True,
    )
    module.exit_json(**probe_result(module, module.client("s3"), lock_target(module.params)))


if __name__ == "__main__":
    main()
