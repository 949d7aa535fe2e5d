# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Deep copies of JSON documents (several times faster than copy.deepcopy for the 1.4 MB Installation CRD)."""

from __future__ import annotations

import json


def clone(document):
    return json.loads(json.dumps(document))
