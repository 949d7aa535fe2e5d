"""The one-property transformation: only enableIPForwarding may differ."""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.calico.azure.plugins.module_utils._nic.transform import (
    FORWARDING_PROPERTY,
    forwarding_of,
    json_differences,
    needs_change,
    with_forwarding,
)
from helpers.shared import shared_dir


def published_nic() -> dict:
    """Microsoft's NetworkInterfaces_Get example (shared/, beside the checkout; missing is an error)."""
    example = shared_dir("azure-rest-examples", "network", "NetworkInterfaceGet.json")
    return json.loads(example.read_text())["responses"]["200"]["body"]


def test_only_the_flag_changes_on_a_published_nic():
    nic = published_nic()
    original = copy.deepcopy(nic)

    body = with_forwarding(nic, True)

    assert body["properties"][FORWARDING_PROPERTY] is True
    assert json_differences(original, body) == ["properties.enableIPForwarding"]
    assert nic == original, "the document as read must stay untouched (it is the 'before' state)"


def test_body_shares_no_nested_object_with_the_original():
    nic = published_nic()
    body = with_forwarding(nic, True)
    body["properties"]["ipConfigurations"][0]["name"] = "mutated"
    assert nic["properties"]["ipConfigurations"][0]["name"] != "mutated"


def test_read_only_properties_are_sent_back_as_read():
    nic = published_nic()
    nic["etag"] = 'W/"abc"'
    body = with_forwarding(nic, True)
    assert body["etag"] == 'W/"abc"'
    assert body["properties"]["provisioningState"] == nic["properties"]["provisioningState"]
    assert body["properties"]["macAddress"] == nic["properties"]["macAddress"]


def test_missing_properties_object_is_created():
    assert with_forwarding({"name": "n"}, False) == {"name": "n", "properties": {FORWARDING_PROPERTY: False}}


@pytest.mark.parametrize(
    "properties, expected",
    [({}, False), ({FORWARDING_PROPERTY: False}, False), ({FORWARDING_PROPERTY: True}, True)],
)
def test_forwarding_absent_means_off(properties, expected):
    assert forwarding_of({"properties": properties}) is expected
    assert forwarding_of({}) is False
    assert needs_change({"properties": properties}, True) is (not expected)


def test_json_differences_reports_each_kind_of_change():
    before = {
        "etag": "1",
        "properties": {
            "provisioningState": "Succeeded",
            "dnsSettings": {"dnsServers": ["1.1.1.1", "8.8.8.8"]},
            "ipConfigurations": [{"name": "a"}, {"name": "b"}],
            "networkSecurityGroup": {"id": "nsg"},
        },
        "tags": {"k": "v"},
    }
    before["properties"]["ipConfigurations"][0]["etag"] = "1"
    after = copy.deepcopy(before)
    after["etag"] = "2"
    after["properties"]["provisioningState"] = "Updating"
    after["properties"]["ipConfigurations"][0]["etag"] = "2"
    assert json_differences(before, after) == [], "etag and provisioningState are ARM's to change, at any depth"
    assert json_differences(before, after, ignore_keys=()) == [
        "etag", "properties.ipConfigurations[0].etag", "properties.provisioningState"
    ]

    after["properties"]["dnsSettings"]["dnsServers"].reverse()
    del after["properties"]["networkSecurityGroup"]
    after["properties"]["ipConfigurations"][1]["name"] = "c"
    after["tags"]["new"] = "x"
    assert json_differences(before, after) == [
        "properties.dnsSettings.dnsServers[0]",
        "properties.dnsSettings.dnsServers[1]",
        "properties.ipConfigurations[1].name",
        "properties.networkSecurityGroup",
        "tags.new",
    ]
    assert json_differences([1], [1, 2]) == ["<document>"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=15,
)


@settings(max_examples=150, deadline=None)
@given(
    top=st.dictionaries(st.text(max_size=6), json_values, max_size=4),
    properties=st.dictionaries(st.text(max_size=8), json_values, max_size=5),
    enabled=st.booleans(),
)
def test_any_document_keeps_everything_but_the_flag(top, properties, enabled):
    nic = dict(top)
    nic["properties"] = properties
    original = copy.deepcopy(nic)

    body = with_forwarding(nic, enabled)

    assert nic == original
    assert body["properties"][FORWARDING_PROPERTY] is enabled
    rest_before = copy.deepcopy(original)
    rest_after = copy.deepcopy(body)
    rest_before["properties"].pop(FORWARDING_PROPERTY, None)
    rest_after["properties"].pop(FORWARDING_PROPERTY)
    assert rest_after == rest_before
