# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

class ModuleDocFragment(object):
    # The check and diff attributes of a module that changes nothing; each module adds its platform.
    INFO_MODULE = r"""
attributes:
  check_mode:
    support: full
    description: The module changes nothing, so it runs the same in check mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to show.
"""

    # The attributes every migrate phase shares: an action plugin in the aws action group.
    ACTION_PHASE = r"""
attributes:
  action:
    support: full
    description: An action plugin; the whole phase runs on the controller.
  action_group:
    support: N/A
    membership: [tfstate.s3_backend.aws]
    description: Use C(group/tfstate.s3_backend.aws) in C(module_defaults) to set the AWS options once.
"""
