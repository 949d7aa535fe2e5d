"""The route table's read-merge-write loop over a fake ARM client (no SDK, no Ansible, no server)."""

from __future__ import annotations

import copy
import uuid

import pytest

from ansible_collections.calico.azure.plugins.module_utils._azure.errors import AzureNotFound, AzurePreconditionFailed
from ansible_collections.calico.azure.plugins.module_utils._udr.api import (
    MAX_WRITE_ATTEMPTS,
    RouteTableConverger,
    UdrArm,
    ValidationFailed,
)

SUB = "sub-1"
BASE = "/subscriptions/%s/resourceGroups/rg/providers/Microsoft.Network" % SUB
RT = BASE + "/routeTables/rt"
OTHER_RT = BASE + "/routeTables/other"
VNET = BASE + "/virtualNetworks/vnet"
NODES = VNET + "/subnets/nodes"
GW = VNET + "/subnets/gw"


def route(name, prefix, hop):
    return {"name": name, "properties": {"addressPrefix": prefix, "nextHopType": "VirtualAppliance", "nextHopIpAddress": hop}}


class _Done(object):
    def __init__(self, result):
        self.result = result

    def wait(self):
        return self.result


class FakeArm(object):
    """Enough of ArmClient: ids compare case-insensitively, etags change on every write, If-Match enforced."""

    def __init__(self):
        self.docs = {}
        self.calls = []
        self.after_get = {}  # id -> callable run after a GET of that id (an outside writer)
        self.put_bodies = []

    def add(self, resource_id, doc):
        doc = copy.deepcopy(doc)
        doc.setdefault("id", resource_id)
        doc.setdefault("name", resource_id.rsplit("/", 1)[-1])
        doc["etag"] = 'W/"%s"' % uuid.uuid4()
        self.docs[resource_id.lower()] = doc

    def _subnet(self, subnet_id):
        vnet_id, _sep, name = subnet_id.lower().rpartition("/subnets/")
        vnet = self.docs.get(vnet_id)
        for subnet in (vnet or {}).get("properties", {}).get("subnets", []):
            if subnet["name"].lower() == name:
                return vnet, subnet
        return vnet, None

    def _render(self, resource_id):
        key = resource_id.lower()
        if "/subnets/" in key:
            vnet, subnet = self._subnet(key)
            return copy.deepcopy(subnet) if subnet else None
        doc = self.docs.get(key)
        if doc is None:
            return None
        doc = copy.deepcopy(doc)
        if "/routetables/" in key:
            subnets = [
                {"id": s["id"]}
                for v in self.docs.values()
                for s in v.get("properties", {}).get("subnets", [])
                if (s["properties"].get("routeTable") or {}).get("id", "").lower() == key
            ]
            doc.setdefault("properties", {})["subnets"] = subnets
        return doc

    def get(self, resource_id):
        self.calls.append(("GET", resource_id))
        doc = self._render(resource_id)
        hook = self.after_get.get(resource_id.lower())
        if hook:
            hook()
        if doc is None:
            raise AzureNotFound("%s not found" % resource_id)
        return doc

    def get_or_none(self, resource_id):
        try:
            return self.get(resource_id)
        except AzureNotFound:
            return None

    def resource_group(self, name):
        self.calls.append(("GET", "rg/" + name))
        return {"name": name, "location": "westeurope"}

    def list(self, path):
        self.calls.append(("LIST", path))
        return [copy.deepcopy(d) for k, d in self.docs.items() if "/networkinterfaces/" in k]

    def put(self, resource_id, body, if_match=None, if_none_match=None):
        self.calls.append(("PUT", resource_id))
        self.put_bodies.append((resource_id, copy.deepcopy(body)))
        current = self._render(resource_id)
        if if_none_match == "*" and current is not None:
            raise AzurePreconditionFailed("exists")
        if if_match and (current is None or current["etag"] != if_match):
            raise AzurePreconditionFailed("etag")
        etag = 'W/"%s"' % uuid.uuid4()
        if "/subnets/" in resource_id.lower():
            vnet, subnet = self._subnet(resource_id)
            subnet.clear()
            subnet.update(copy.deepcopy(body), etag=etag)
            vnet["etag"] = etag
        else:
            doc = copy.deepcopy(body)
            doc.update(id=resource_id, name=resource_id.rsplit("/", 1)[-1], etag=etag)
            doc.setdefault("properties", {})["provisioningState"] = "Succeeded"
            self.docs[resource_id.lower()] = doc
        return self._render(resource_id)

    def begin_put(self, resource_id, body, if_match=None, if_none_match=None):
        """ArmClient's PUT as an operation; here it completes at once."""
        return _Done(self.put(resource_id, body, if_match=if_match, if_none_match=if_none_match))

    def delete(self, resource_id, if_match=None):
        self.calls.append(("DELETE", resource_id))
        current = self._render(resource_id)
        if if_match and current is not None and current["etag"] != if_match:
            raise AzurePreconditionFailed("etag")
        return self.docs.pop(resource_id.lower(), None) is not None

    def writes(self):
        return [c for c in self.calls if c[0] in ("PUT", "DELETE")]

    def reads(self):
        return [c for c in self.calls if c[0] in ("GET", "LIST")]


@pytest.fixture
def arm():
    fake = FakeArm()
    fake.add(VNET, {
        "properties": {
            "addressSpace": {"addressPrefixes": ["10.240.0.0/16", "10.244.0.0/16"]},
            "subnets": [
                {"name": "nodes", "id": NODES, "properties": {
                    "addressPrefix": "10.240.0.0/24",
                    "networkSecurityGroup": {"id": BASE + "/networkSecurityGroups/nsg"},
                    "serviceEndpoints": [{"service": "Microsoft.Storage"}]}},
                {"name": "gw", "id": GW, "properties": {"addressPrefix": "10.240.1.0/24", "routeTable": {"id": OTHER_RT}}},
            ],
        },
    })
    fake.add(BASE + "/networkInterfaces/node-0-nic", {"properties": {
        "enableIPForwarding": False, "ipConfigurations": [{"properties": {"privateIPAddress": "10.240.0.4"}}]}})
    return fake


def params(**overrides):
    base = dict(
        resource_group="rg", name="rt", location=None, state="present",
        routes=[{"name": "node-0", "address_prefix": "10.244.0.0/24", "next_hop_ip": "10.240.0.4", "next_hop_type": "VirtualAppliance"}],
        dual_stack_route_names=False, purge_routes=False, cluster_cidr=None,
        subnets=[{"virtual_network": "vnet", "name": "nodes", "resource_group": None}],
        force_subnet_association=False, disable_bgp_route_propagation=None, tags=None, purge_tags=False,
    )
    base.update(overrides)
    return base


def converger(arm, check_mode=False, warnings=None, **overrides):
    warn = warnings.append if warnings is not None else (lambda message: None)
    return RouteTableConverger(UdrArm(lambda: arm, SUB), params(**overrides), check_mode, warn)


def test_input_errors_are_reported_before_any_request(arm):
    built = []

    def factory():
        built.append(True)
        return arm

    runner = RouteTableConverger(UdrArm(factory, SUB), params(routes=[{"name": "x", "address_prefix": "10.244.0.1/24", "next_hop_ip": "10.240.0.4"}]))
    with pytest.raises(ValidationFailed) as failure:
        runner.present()
    assert "use '10.244.0.0/24'" in failure.value.errors[0]
    assert built == [] and arm.calls == []


def test_create_then_unchanged(arm):
    warnings = []
    result = converger(arm, warnings=warnings).present()
    assert result["changed"] and result["routes_added"] == 1 and result["attempts"] == 1
    assert arm.writes() == [("PUT", RT), ("PUT", NODES)]
    assert result["route_table"]["location"] == "westeurope"  # the resource group's
    assert result["route_table"]["etag"] == arm._render(RT)["etag"]
    assert result["route_table"]["subnets"] == [NODES]
    assert warnings and "node-0-nic" in warnings[0]
    # the subnet went back as read, with only routeTable set
    subnet_body = [b for i, b in arm.put_bodies if i == NODES][0]
    assert subnet_body["properties"]["networkSecurityGroup"] and subnet_body["properties"]["serviceEndpoints"]
    assert subnet_body["properties"]["routeTable"] == {"id": RT}

    arm.calls.clear()
    again = converger(arm).present()
    assert again["changed"] is False and "diff" not in again
    assert arm.writes() == []
    assert len(arm.reads()) == 3  # table, VNet, NIC list


def test_check_mode_predicts_and_writes_nothing(arm):
    result = converger(arm, check_mode=True, tags={"a": "1"}).present()
    assert result["changed"] is True and result["routes_added"] == 1
    assert result["subnets_associated"] == [NODES]
    assert [r["name"] for r in result["route_table"]["routes"]] == ["node-0"]
    assert result["route_table"]["tags"] == {"a": "1"}
    assert arm.writes() == []
    assert result["diff"]["before"] == "" and "routes/node-0: 10.244.0.0/24 -> VirtualAppliance 10.240.0.4" in result["diff"]["after"]


def test_outside_writer_is_merged_after_412(arm):
    arm.add(RT, {"location": "westeurope", "properties": {"routes": []}})

    def outside_writer():
        arm.after_get.pop(RT.lower())
        table = arm.docs[RT.lower()]
        table["properties"]["routes"].append(route("node-9", "10.244.9.0/24", "10.240.0.9"))
        table["etag"] = 'W/"outside"'

    arm.after_get[RT.lower()] = outside_writer
    result = converger(arm, subnets=None).present()
    assert result["attempts"] == 2
    assert sorted(r["name"] for r in arm._render(RT)["properties"]["routes"]) == ["node-0", "node-9"]
    # the diff starts from the table the write actually replaced, the other writer's route included
    assert "routes/node-9: 10.244.9.0/24 -> VirtualAppliance 10.240.0.9" in result["diff"]["before"]
    assert result["routes_added"] == 1 and result["routes_removed"] == 0


def test_gives_up_after_bounded_attempts_and_says_so(arm):
    arm.add(RT, {"location": "westeurope", "properties": {"routes": []}})

    def always_outside():
        arm.docs[RT.lower()]["etag"] = 'W/"%s"' % uuid.uuid4()

    arm.after_get[RT.lower()] = always_outside
    with pytest.raises(ValidationFailed) as failure:
        converger(arm, subnets=None).present()
    assert "changed by another writer %d times" % MAX_WRITE_ATTEMPTS in failure.value.errors[0]
    assert [c[0] for c in arm.writes()] == ["PUT"] * MAX_WRITE_ATTEMPTS


def test_subnet_taken_by_another_table_meanwhile_is_not_swapped(arm):
    def someone_associates_nodes():
        arm.after_get.pop(VNET.lower())
        subnet = arm._subnet(NODES)[1]
        subnet["properties"]["routeTable"] = {"id": OTHER_RT}

    arm.after_get[VNET.lower()] = someone_associates_nodes
    with pytest.raises(ValidationFailed) as failure:
        converger(arm).present()
    assert "by someone else while this module ran" in failure.value.errors[0]
    assert "; the route table was written, the subnet was left alone" in failure.value.errors[0]
    assert ("PUT", NODES) not in arm.writes()
    assert arm._subnet(NODES)[1]["properties"]["routeTable"] == {"id": OTHER_RT}


def test_subnet_race_message_does_not_claim_a_write_that_did_not_happen(arm):
    converger(arm, subnets=None).present()  # the table exists with its route: no table write is needed below

    def someone_associates_nodes():
        arm.after_get.pop(VNET.lower())
        arm._subnet(NODES)[1]["properties"]["routeTable"] = {"id": OTHER_RT}

    arm.after_get[VNET.lower()] = someone_associates_nodes
    arm.calls.clear()
    with pytest.raises(ValidationFailed) as failure:
        converger(arm).present()
    assert "; the route table needed no change, the subnet was left alone" in failure.value.errors[0]
    assert "was written" not in failure.value.errors[0]
    assert arm.writes() == []


def test_failed_table_holding_the_wanted_routes_is_re_put(arm):
    converger(arm).present()
    arm.docs[RT.lower()]["properties"]["provisioningState"] = "Failed"
    arm.calls.clear()
    warnings = []
    result = converger(arm, warnings=warnings).present()
    assert result["changed"] is True and arm.writes() == [("PUT", RT)]
    assert arm._render(RT)["properties"]["provisioningState"] == "Succeeded"
    assert any("was left provisioningState Failed by an earlier write; re-applying it" in w for w in warnings)


def test_forced_association_replaces_the_other_table(arm):
    result = converger(arm, routes=None, subnets=[{"virtual_network": "vnet", "name": "gw", "resource_group": None}],
                       force_subnet_association=True, replace_subnet_route_table="other").present()
    assert result["subnets_associated"] == [GW]
    assert arm._subnet(GW)[1]["properties"]["routeTable"] == {"id": RT}


def test_routes_omitted_leaves_routes_alone(arm):
    arm.add(RT, {"location": "westeurope", "properties": {"routes": [route("keep", "10.244.5.0/24", "10.240.0.5")]}})
    result = converger(arm, routes=None, subnets=None, disable_bgp_route_propagation=True).present()
    assert result["changed"] and (result["routes_added"], result["routes_removed"]) == (0, 0)
    table = arm._render(RT)
    assert table["properties"]["disableBgpRoutePropagation"] is True
    assert [r["name"] for r in table["properties"]["routes"]] == ["keep"]
    assert "disable_bgp_route_propagation: false" in result["diff"]["before"]
    assert "disable_bgp_route_propagation: true" in result["diff"]["after"]


@pytest.mark.parametrize(
    "existing_tags, tags, purge, changed, expected",
    [
        ({"a": "1", "k8s": "x"}, {"a": "1"}, False, False, {"a": "1", "k8s": "x"}),
        ({"a": "1", "k8s": "x"}, {"a": "1"}, True, True, {"a": "1"}),
        ({"a": "1"}, {"b": "2"}, False, True, {"a": "1", "b": "2"}),
        ({"a": "1"}, None, True, False, {"a": "1"}),
    ],
)
def test_tags(arm, existing_tags, tags, purge, changed, expected):
    arm.add(RT, {"location": "westeurope", "tags": existing_tags, "properties": {"routes": [route("node-0", "10.244.0.0/24", "10.240.0.4")]}})
    result = converger(arm, subnets=None, tags=tags, purge_tags=purge).present()
    assert result["changed"] is changed
    assert arm._render(RT)["tags"] == expected


def test_location_of_existing_table_cannot_change(arm):
    arm.add(RT, {"location": "westeurope", "properties": {"routes": []}})
    with pytest.raises(ValidationFailed) as failure:
        converger(arm, location="East US").present()
    assert "is in location 'westeurope', not 'East US'" in failure.value.errors[0]
    assert arm.writes() == []
    # the same region written differently is not a change
    assert converger(arm, location="West Europe", routes=[], subnets=None).present()["changed"] is False


def test_every_vnet_problem_reported_together(arm):
    routes = [
        {"name": "a", "address_prefix": "10.50.0.0/24", "next_hop_ip": "10.240.0.4"},
        {"name": "b", "address_prefix": "10.244.1.0/24", "next_hop_ip": "10.9.0.4"},
    ]
    with pytest.raises(ValidationFailed) as failure:
        converger(arm, routes=routes).present()
    assert len(failure.value.errors) == 2
    assert arm.writes() == []


def test_absent_dissociates_only_its_own_subnets_then_deletes(arm):
    # issue 12: absent needs cluster_name and deletes only the cluster's (tagged) table holding only its routes
    converger(arm, cluster_name="demo").present()
    arm.calls.clear()
    result = converger(arm, state="absent", cluster_name="demo").absent()
    assert result["changed"] and result["subnets_dissociated"] == [NODES] and result["routes_removed"] == 1
    assert arm.writes() == [("PUT", NODES), ("DELETE", RT)]
    assert "routeTable" not in arm._subnet(NODES)[1]["properties"]
    assert arm._subnet(NODES)[1]["properties"]["networkSecurityGroup"]
    assert arm._subnet(GW)[1]["properties"]["routeTable"] == {"id": OTHER_RT}
    assert converger(arm, state="absent", cluster_name="demo").absent()["changed"] is False


def test_absent_check_mode_writes_nothing(arm):
    converger(arm, cluster_name="demo").present()
    arm.calls.clear()
    result = converger(arm, check_mode=True, state="absent", cluster_name="demo").absent()
    assert result["changed"] is True and arm.writes() == []
