"""Resource ids: parsing, building, case-insensitive comparison (pure, no SDK, no Ansible)."""

import pytest

from ansible_collections.calico.azure.plugins.module_utils._azure import ids

SUB = "00000000-0000-0000-0000-000000000001"


@pytest.mark.parametrize(
    "value, rg, provider, types, names, rtype, name",
    [
        (f"/subscriptions/{SUB}", None, None, (), (), "Microsoft.Resources/subscriptions", SUB),
        (f"/subscriptions/{SUB}/resourceGroups/rg1", "rg1", None, (), (), "Microsoft.Resources/resourceGroups", "rg1"),
        (
            f"/subscriptions/{SUB}/resourcegroups/RG1/providers/Microsoft.Network/routeTables/rt-1",
            "RG1",
            "Microsoft.Network",
            ("routeTables",),
            ("rt-1",),
            "Microsoft.Network/routeTables",
            "rt-1",
        ),
        (
            f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Network/routeTables/rt/routes/node-a",
            "rg",
            "Microsoft.Network",
            ("routeTables", "routes"),
            ("rt", "node-a"),
            "Microsoft.Network/routeTables/routes",
            "node-a",
        ),
        (
            f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet/subnets/s1/",
            "rg",
            "Microsoft.Network",
            ("virtualNetworks", "subnets"),
            ("vnet", "s1"),
            "Microsoft.Network/virtualNetworks/subnets",
            "s1",
        ),
        (
            f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Network/routeTables/rt/routes",
            "rg",
            "Microsoft.Network",
            ("routeTables", "routes"),
            ("rt",),
            "Microsoft.Network/routeTables/routes",
            None,
        ),
    ],
)
def test_parse(value, rg, provider, types, names, rtype, name):
    parsed = ids.parse_resource_id(value)
    assert parsed.subscription == SUB
    assert parsed.resource_group == rg
    assert parsed.provider == provider
    assert parsed.types == types
    assert parsed.names == names
    assert parsed.resource_type == rtype
    assert parsed.name == name


@pytest.mark.parametrize(
    "bad",
    [
        "rt1",
        "",
        "/subscriptions",
        "/resourceGroups/rg",
        f"/subscriptions/{SUB}/resourceGroups/rg/Microsoft.Network/routeTables/rt",
        f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Network",
        f"/subscriptions/{SUB}//resourceGroups/rg",
    ],
)
def test_parse_rejects_non_ids(bad):
    with pytest.raises(ValueError) as err:
        ids.parse_resource_id(bad)
    assert "not an Azure resource id" in str(err.value)


def test_round_trip_of_builders():
    built = {
        ids.route_table_id(SUB, "rg", "rt"): "Microsoft.Network/routeTables",
        ids.route_id(SUB, "rg", "rt", "r"): "Microsoft.Network/routeTables/routes",
        ids.vnet_id(SUB, "rg", "v"): "Microsoft.Network/virtualNetworks",
        ids.subnet_id(SUB, "rg", "v", "s"): "Microsoft.Network/virtualNetworks/subnets",
        ids.nic_id(SUB, "rg", "n"): "Microsoft.Network/networkInterfaces",
        ids.vm_id(SUB, "rg", "vm"): "Microsoft.Compute/virtualMachines",
        ids.resource_group_id(SUB, "rg"): "Microsoft.Resources/resourceGroups",
    }
    for value, rtype in built.items():
        parsed = ids.parse_resource_id(value)
        assert str(parsed) == value
        assert parsed.resource_type == rtype
        assert ids.resource_group_of(value) == "rg"
        assert ids.subscription_of(value) == SUB
    assert ids.subnet_id(SUB, "rg", "v", "s") == (
        f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/s"
    )


def test_collection_path_builds_and_parses():
    path = ids.resource_id(SUB, "rg", ids.NETWORK, "routeTables", "rt", "routes")
    assert path.endswith("/routeTables/rt/routes")
    assert ids.parse_resource_id(path).is_collection
    assert str(ids.parse_resource_id(f"/subscriptions/{SUB}/resourceGroups")) == f"/subscriptions/{SUB}/resourceGroups"


def test_same_id_ignores_case_and_trailing_slash():
    a = ids.nic_id(SUB, "MyRG", "Nic-1")
    b = a.lower().replace("resourcegroups", "RESOURCEGROUPS") + "/"
    assert ids.same_id(a, b)
    assert not ids.same_id(a, ids.nic_id(SUB, "MyRG", "Nic-2"))
    assert not ids.same_id(None, None)  # an absent id names no resource
    assert not ids.same_id("", "")
    assert not ids.same_id(a, None)
    assert ids.parse_resource_id(a) == b
    assert len({ids.parse_resource_id(a), ids.parse_resource_id(b)}) == 1


def test_parent_and_id_or_name():
    route = ids.parse_resource_id(ids.route_id(SUB, "rg", "rt", "r"))
    assert str(route.parent) == ids.route_table_id(SUB, "rg", "rt")
    assert route.parent.parent is None
    full = ids.nic_id(SUB, "other", "n")
    assert ids.id_or_name(full, lambda n: ids.nic_id(SUB, "rg", n)) == full
    assert ids.id_or_name("n", lambda n: ids.nic_id(SUB, "rg", n)) == ids.nic_id(SUB, "rg", "n")
    assert ids.is_resource_id(full) and not ids.is_resource_id("n") and not ids.is_resource_id(None)


def test_describe_names_resource_parent_and_group():
    assert ids.describe(ids.route_id(SUB, "rg", "rt", "r")) == "Route 'r' of route table 'rt' in resource group 'rg'"
    assert ids.describe(ids.nic_id(SUB, "rg", "n")) == "Network interface 'n' in resource group 'rg'"
    assert ids.describe(ids.resource_group_id(SUB, "rg")) == f"Resource group 'rg' in subscription '{SUB}'"
    assert ids.describe("not-an-id") == "'not-an-id'"
