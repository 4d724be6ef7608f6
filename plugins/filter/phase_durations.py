# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Seconds spent in each phase, from the times the phases started."""


def phase_durations(starts, end):
    """``{phase: seconds}`` from ``{phase: start timestamp}`` and the end timestamp; ``total`` too."""
    ordered = sorted(((float(value), name) for name, value in (starts or {}).items()))
    result = {}
    for index, (start, name) in enumerate(ordered):
        stop = ordered[index + 1][0] if index + 1 < len(ordered) else float(end)
        result[name] = round(stop - start, 2)
    if ordered:
        result["total"] = round(float(end) - ordered[0][0], 2)
    return result


class FilterModule(object):
    def filters(self):
        return {"phase_durations": phase_durations}
