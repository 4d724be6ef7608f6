# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Keep credentials out of what is recorded, reported or logged. No Ansible imports.

Repository URLs carry tokens in their userinfo (``https://oauth2:glpat-xxx@gitlab.com/...``,
``https://ghp_xxx@github.com/...``, scp-like ``user:token@host:path``) and sometimes in their query
(``?private_token=...``, presigned ``X-Amz-Signature=...``). :func:`redact_url` strips the userinfo
and blanks such query values, in a single URL or in any text that holds URLs.
"""

import re

REDACTED = "REDACTED"

# scheme://userinfo@ : the userinfo runs to the last "@" before the path (an unencoded "@" in a
# password is common), and never over whitespace or a "/".
_URL_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)[^\s/?#]*@")
# scp-like user[:token]@host:path (git's SSH form), not preceded by "://" or another word character.
_SCP_USERINFO = re.compile(
    r"(?:^|(?<=[\s\"'=(])|(?<=::))[^\s/@:\"'=]+(?::(?!:)[^\s/@\"']*)?@(?P<host>[A-Za-z0-9][A-Za-z0-9.-]*):(?!//)")
# Query parameters whose value is a secret.
_SECRET_QUERY = re.compile(
    r"(?P<name>[?&](?:[A-Za-z0-9_.-]*(?:token|password|passwd|secret|signature|credential|sig|apikey|api_key)"
    r"[A-Za-z0-9_.-]*))=(?P<value>[^&#\s]*)", re.IGNORECASE)


def redact_url(value):
    """``value`` with credentials removed from every URL in it; other text is left as it is.

    - ``https://user:token@host/path`` -> ``https://host/path`` (any scheme, ``git::`` prefixes too);
    - ``user:token@host:path`` and ``git@host:path`` (scp-like) -> ``host:path``;
    - ``?private_token=x&ref=main`` -> ``?private_token=REDACTED&ref=main``.

    None stays None; a value that is not a string is returned unchanged.
    """
    if not isinstance(value, str) or not value:
        return value
    text = _URL_USERINFO.sub(lambda match: match.group("scheme"), value)
    text = _SCP_USERINFO.sub(lambda match: match.group("host") + ":", text)
    return _SECRET_QUERY.sub(lambda match: "%s=%s" % (match.group("name"), REDACTED), text)
