# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Credentials removed from the URLs in a text, for task YAML (the one redaction is module_utils/redact.py)."""

from ansible_collections.tfstate.s3_backend.plugins.module_utils.redact import redact_url


class FilterModule(object):
    def filters(self):
        return {"redact_url": redact_url}
