# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The NIC features' ARM adapter: the NicApi seam of :mod:`.run` over ArmClient."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from ansible_collections.calico.azure.plugins.module_utils._azure.client import ArmOperation
from ansible_collections.calico.azure.plugins.module_utils._azure.errors import (
    AzureError,
    AzureNotFound,
    AzurePreconditionFailed,
    AzureTransportError,
)
from ansible_collections.calico.azure.plugins.module_utils._azure.ids import resource_id
from ansible_collections.calico.azure.plugins.module_utils._nic.run import ErrorKinds

ERRORS = ErrorKinds(
    expected=(AzureError,),
    precondition_failed=AzurePreconditionFailed,
    not_found=AzureNotFound,
    unanswered=(AzureTransportError,),
)


class ArmNicApi(object):
    """The NicApi seam of :mod:`.run` over the collection's ArmClient.

    Writes use ``ArmClient.begin_put`` so the run polls every NIC's operation
    one request at a time and shares its workers between all of them, instead
    of blocking a worker for a whole operation. ``final_get=False``: once an
    operation succeeded the body we sent is applied, so the NIC is not read
    once more (100 NICs would cost 100 more reads); the run only needs
    ``enableIPForwarding`` of the NIC as ARM accepted it.
    """

    def __init__(self, client: Any, final_get: bool = False) -> None:
        self.client = client
        # True for changes whose result Azure fills in (dynamically allocated
        # addresses): the NIC is read once its operation finished.
        self.final_get = final_get

    def get(self, resource_id_: str) -> Dict[str, Any]:
        return self.client.get(resource_id_)

    def list_group(self, subscription_id: str, resource_group: str, resource_type: str) -> List[Dict[str, Any]]:
        namespace, type_name = resource_type.split("/", 1)
        return self.client.list(resource_id(subscription_id, resource_group, namespace, type_name))

    def begin_put(self, nic_id: str, body: Dict[str, Any], if_match: Optional[str]) -> ArmOperation:
        return self.client.begin_put(nic_id, body, if_match=if_match, final_get=self.final_get)
