# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The scale-set features' ARM adapter over ArmClient: model PATCH, manualupgrade, instances, NICs."""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional

from ansible_collections.calico.azure.plugins.module_utils._azure.client import api_version_for

SCALE_SET_TYPE = "Microsoft.Compute/virtualMachineScaleSets"
COMPUTE_API = api_version_for(SCALE_SET_TYPE)
# Microsoft.Network's scale-set NIC API lives on Compute paths with its own, old api-version
# (vmssNetworkInterface.json); 2018-10-01 is what Microsoft's examples use.
VMSS_NIC_API = "2018-10-01"


class ArmScaleSetApi(object):
    def __init__(self, client: Any, sleep: Callable[[float], None]) -> None:
        self.client = client
        self.sleep = sleep

    def get(self, scale_set_id: str) -> Dict[str, Any]:
        return self.client.get(scale_set_id, api_version=COMPUTE_API)

    def instances(self, scale_set_id: str) -> List[Dict[str, Any]]:
        return self.client.list(scale_set_id + "/virtualMachines", api_version=COMPUTE_API)

    def nics(self, scale_set_id: str) -> List[Dict[str, Any]]:
        """Every instance NIC of a Uniform set: one paged list per scale set."""
        return self.client.list(scale_set_id + "/networkInterfaces", api_version=VMSS_NIC_API)

    def patch_model(self, scale_set_id: str, body: Dict[str, Any], etag: Optional[str]) -> Dict[str, Any]:
        operation = self.client.begin_write("PATCH", scale_set_id, body, if_match=etag, api_version=COMPUTE_API,
                                            final_get=False)
        return operation.wait(self.sleep)

    def manual_upgrade(self, scale_set_id: str, instance_ids: List[str]) -> None:
        operation = self.client.begin_write("POST", scale_set_id + "/manualupgrade", {"instanceIds": list(instance_ids)},
                                            api_version=COMPUTE_API)
        operation.wait(self.sleep)
