# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Text of the backend configuration files the bootstrap role writes."""

import json

HEADER = "# Written by tfstate.s3_backend.bootstrap: S3 native state locking (use_lockfile), no DynamoDB table.\n"


def _settings(root, region, bucket, kms_key_id):
    settings = [("bucket", json.dumps(bucket)), ("key", json.dumps(root["key"])), ("region", json.dumps(region)),
                ("encrypt", "true")]
    if kms_key_id:
        settings.append(("kms_key_id", json.dumps(kms_key_id)))
    settings.append(("use_lockfile", "true"))
    return settings


def _aligned(settings, indent):
    # terraform fmt aligns the "=" of consecutive attributes.
    width = max(len(name) for name, _value in settings)
    return "".join("%s%s = %s\n" % (indent, name.ljust(width), value) for name, value in settings)


def backend_text(root, region, bucket, kms_key_id=""):
    """The file for ``root`` (a dict with key, format, file): a backend.tf or a .tfbackend."""
    settings = _settings(root, region, bucket, kms_key_id)
    if root.get("format", "tf") == "tfbackend":
        return "%s# Use it with: terraform init -backend-config=%s\n%s" % (HEADER, root["file"], _aligned(settings, ""))
    return '%sterraform {\n  backend "s3" {\n%s  }\n}\n' % (HEADER, _aligned(settings, "    "))


def backend_stub_text(root):
    """The empty ``backend "s3" {}`` block that goes with a partial configuration file."""
    return ('# Written by tfstate.s3_backend.bootstrap: the settings are in %s '
            '(terraform init -backend-config=%s).\nterraform {\n  backend "s3" {}\n}\n' % (root["file"], root["file"]))


class FilterModule(object):
    def filters(self):
        return {"backend_text": backend_text, "backend_stub_text": backend_stub_text}
