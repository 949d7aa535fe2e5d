"""Microsoft.Network: route tables and routes, virtual networks and subnets, NICs.

What the Network RP does on top of generic ARM storage:
- validates names, prefixes, next hops and cross-references (see ``validation``);
- keeps what the client sent and fills in what the server owns (ids, etags,
  provisioningState, resourceGuid, NIC macAddress/virtualMachine/primary,
  allocated private IPs);
- computes back-references on every read: a route table's ``subnets[]`` from
  the subnets whose ``routeTable`` points at it, a subnet's ``ipConfigurations[]``
  from the NICs in it, so both sides are always in sync.
"""

from __future__ import annotations

import copy
import ipaddress
import uuid

from .. import validation
from ..store import new_etag, stamp_etag
from .errors import ArmError
from .ids import key, parse
from .kinds import ChildKind, ResourceKind

NS = "Microsoft.Network"
ROUTE_TABLE = f"{NS}/routeTables"
VNET = f"{NS}/virtualNetworks"
NIC = f"{NS}/networkInterfaces"


def _ref_id(value) -> str | None:
    return value.get("id") if isinstance(value, dict) else None


def _missing_reference(ref_id: str, owner_id: str) -> ArmError:
    return ArmError(
        400,
        "InvalidResourceReference",
        f"Resource {ref_id} referenced by resource {owner_id} was not found. Please make sure that the referenced "
        "resource exists, and that both resources are in the same region.",
    )


def iter_subnets(engine):
    """Every subnet in the store."""
    for vnet in engine.store.of_type(VNET):
        yield from (vnet.get("properties") or {}).get("subnets") or []


def iter_ip_configurations(engine):
    """Every NIC ipConfiguration in the store."""
    for nic in engine.store.of_type(NIC):
        yield from (nic.get("properties") or {}).get("ipConfigurations") or []


def bump_etag(engine, resource_id: str | None) -> None:
    """Another resource's change is visible in this one (a back-reference): new etag."""
    if not resource_id:
        return
    doc = engine.store.get(resource_id)
    if doc is not None:
        kind = engine.kind_for(NS, parse(resource_id).types[0] if parse(resource_id).types else None)
        stamp_etag(doc, new_etag(), kind.child_arrays if kind else ())


# --------------------------------------------------------------------------- route tables
class RouteChild(ChildKind):
    segment = "routes"
    array_key = "routes"
    full_type = f"{ROUTE_TABLE}/routes"
    operation_noun = "Route"

    def build(self, engine, parent, existing, body, child_id):
        name = child_id.rsplit("/", 1)[-1]
        validation.check_name(name)
        props = copy.deepcopy(body.get("properties") or {})
        props.pop("provisioningState", None)
        route = {"name": name, "id": child_id, "type": self.full_type, "properties": props}
        validation.check_route(route, child_id)
        return route

    def check_collection(self, engine, parent):
        validation.check_route_set(parent["properties"].get("routes") or [], parent["id"])


class RouteTableKind(ResourceKind):
    full_type = ROUTE_TABLE
    namespace = NS
    operation_noun = "RouteTable"
    children = {"routes": RouteChild()}

    def build(self, engine, resource_id, name, existing, body):
        validation.check_name(name)
        doc = self.base_document(engine, resource_id, name, existing, body)
        props = copy.deepcopy(body.get("properties") or {})
        for read_only in ("provisioningState", "subnets", "resourceGuid"):
            props.pop(read_only, None)
        props.setdefault("disableBgpRoutePropagation", False)
        route_kind = self.children["routes"]
        props["routes"] = [
            route_kind.build(engine, doc, None, route, f"{resource_id}/routes/{route.get('name', '')}")
            for route in props.get("routes") or []
        ]
        validation.check_route_set(props["routes"], resource_id)
        props["resourceGuid"] = ((existing or {}).get("properties") or {}).get("resourceGuid") or str(uuid.uuid4())
        doc["properties"] = props
        return doc

    def render(self, engine, stored):
        doc = copy.deepcopy(stored)
        subnets = [
            {"id": subnet["id"]}
            for subnet in iter_subnets(engine)
            if key(_ref_id((subnet.get("properties") or {}).get("routeTable")) or "") == key(stored["id"])
        ]
        if subnets:
            doc["properties"]["subnets"] = subnets
        return doc

    def check_delete(self, engine, stored):
        users = self.render(engine, stored)["properties"].get("subnets") or []
        if users:
            raise ArmError(
                400,
                "InUseRouteTableCannotBeDeleted",
                f"Route table {stored['id']} is in use by {', '.join(s['id'] for s in users)} and cannot be deleted. "
                "Dissociate it from the subnets first.",
            )


# --------------------------------------------------------------------------- virtual networks
class SubnetChild(ChildKind):
    segment = "subnets"
    array_key = "subnets"
    full_type = f"{VNET}/subnets"
    operation_noun = "Subnet"

    def build(self, engine, parent, existing, body, child_id):
        name = child_id.rsplit("/", 1)[-1]
        validation.check_name(name)
        props = copy.deepcopy(body.get("properties") or {})
        for read_only in ("provisioningState", "ipConfigurations", "purpose", "resourceNavigationLinks", "serviceAssociationLinks"):
            props.pop(read_only, None)
        prefixes = ([props["addressPrefix"]] if props.get("addressPrefix") else []) + list(props.get("addressPrefixes") or [])
        if not prefixes and not props.get("ipamPoolPrefixAllocations"):
            raise ArmError(400, "InvalidRequestFormat", f"Subnet {child_id} must have an addressPrefix or addressPrefixes.")
        space = [
            ipaddress.ip_network(p, strict=False)
            for p in ((parent.get("properties") or {}).get("addressSpace") or {}).get("addressPrefixes") or []
        ]
        for prefix in prefixes:
            network = validation.parse_cidr(prefix, child_id)
            if space and not any(network.version == s.version and network.subnet_of(s) for s in space):
                raise ArmError(
                    400,
                    "NetcfgSubnetRangeOutsideVnet",
                    f"Subnet '{name}' is not valid because its IP address range is outside the IP address range of "
                    f"virtual network '{parent['name']}'.",
                )
        for ref_name in ("routeTable", "networkSecurityGroup", "natGateway"):
            ref = props.get(ref_name)
            if ref is None:
                continue
            ref_id = _ref_id(ref)
            target = engine.store.get(ref_id) if ref_id else None
            if target is None or (target.get("location") and parent.get("location") and target["location"] != parent["location"]):
                raise _missing_reference(str(ref_id), child_id)
            props[ref_name] = {"id": ref_id}
        # Defaults the RP fills in when a client leaves them out.
        props.setdefault("privateEndpointNetworkPolicies", "Disabled")
        props.setdefault("privateLinkServiceNetworkPolicies", "Enabled")
        return {"name": name, "id": child_id, "type": self.full_type, "properties": props}

    def check_collection(self, engine, parent):
        seen: list[tuple[str, object]] = []
        for subnet in parent["properties"].get("subnets") or []:
            sp = subnet.get("properties") or {}
            for prefix in ([sp["addressPrefix"]] if sp.get("addressPrefix") else []) + list(sp.get("addressPrefixes") or []):
                network = ipaddress.ip_network(prefix, strict=False)
                for other_name, other in seen:
                    if other_name != subnet["name"] and network.version == other.version and network.overlaps(other):
                        raise ArmError(
                            400,
                            "NetcfgSubnetRangesOverlap",
                            f"Subnet '{subnet['name']}' is not valid because its IP address range overlaps with that of "
                            f"an existing subnet '{other_name}' in virtual network '{parent['name']}'.",
                        )
                seen.append((subnet["name"], network))

    def users(self, engine, subnet_id: str) -> list[str]:
        """Ids of the IP configurations in the subnet: NIC ipConfigurations and load balancer frontends."""
        wanted = key(subnet_id)
        found = [ipc["id"] for ipc in iter_ip_configurations(engine) if key(_ref_id((ipc.get("properties") or {}).get("subnet")) or "") == wanted]
        for lb in engine.store.of_type(f"{NS}/loadBalancers"):
            for frontend in (lb.get("properties") or {}).get("frontendIPConfigurations") or []:
                if key(_ref_id((frontend.get("properties") or {}).get("subnet")) or "") == wanted:
                    found.append(frontend.get("id") or f"{lb['id']}/frontendIPConfigurations/{frontend.get('name')}")
        return found

    def check_delete(self, engine, parent, child):
        users = self.users(engine, child["id"])
        if users:
            raise ArmError(
                400,
                "InUseSubnetCannotBeDeleted",
                f"Subnet {child['name']} is in use by {users[0]} and cannot be deleted. In order to delete the subnet, "
                "delete all the resources within the subnet.",
            )

    def render(self, engine, parent, child):
        doc = copy.deepcopy(child)
        users = self.users(engine, child["id"])
        if users:
            doc["properties"]["ipConfigurations"] = [{"id": u} for u in users]
        return doc

    def after_write(self, engine, parent, old, new):
        before = _ref_id(((old or {}).get("properties") or {}).get("routeTable"))
        after = _ref_id(((new or {}).get("properties") or {}).get("routeTable"))
        if key(before or "") != key(after or ""):
            bump_etag(engine, before)
            bump_etag(engine, after)


class VirtualNetworkKind(ResourceKind):
    full_type = VNET
    namespace = NS
    operation_noun = "VirtualNetwork"
    children = {"subnets": SubnetChild()}

    def build(self, engine, resource_id, name, existing, body):
        validation.check_name(name)
        doc = self.base_document(engine, resource_id, name, existing, body)
        props = copy.deepcopy(body.get("properties") or {})
        for read_only in ("provisioningState", "resourceGuid", "virtualNetworkPeerings"):
            props.pop(read_only, None)
        prefixes = (props.get("addressSpace") or {}).get("addressPrefixes") or []
        if not prefixes:
            raise ArmError(400, "InvalidRequestFormat", f"Virtual network {resource_id} must have addressSpace.addressPrefixes.")
        for prefix in prefixes:
            validation.parse_cidr(prefix, resource_id, "addressSpace.addressPrefixes")
        props.setdefault("enableDdosProtection", False)
        doc["properties"] = props
        subnet_kind = self.children["subnets"]
        # A VNet PUT replaces the subnet set: subnets left out are deleted, as ARM does.
        props["subnets"] = [
            subnet_kind.build(engine, doc, None, subnet, f"{resource_id}/subnets/{subnet.get('name', '')}")
            for subnet in props.get("subnets") or []
        ]
        subnet_kind.check_collection(engine, doc)
        kept = {s["name"].lower() for s in props["subnets"]}
        for old in ((existing or {}).get("properties") or {}).get("subnets") or []:
            if old["name"].lower() not in kept:
                subnet_kind.check_delete(engine, existing, old)
        props["resourceGuid"] = ((existing or {}).get("properties") or {}).get("resourceGuid") or str(uuid.uuid4())
        props.setdefault("virtualNetworkPeerings", [])
        return doc

    def render(self, engine, stored):
        doc = copy.deepcopy(stored)
        subnet_kind = self.children["subnets"]
        doc["properties"]["subnets"] = [subnet_kind.render(engine, stored, s) for s in stored["properties"].get("subnets") or []]
        return doc

    def check_delete(self, engine, stored):
        for subnet in stored["properties"].get("subnets") or []:
            self.children["subnets"].check_delete(engine, stored, subnet)

    def after_write(self, engine, old, new):
        old_subnets = {s["name"].lower(): s for s in ((old or {}).get("properties") or {}).get("subnets") or []}
        new_subnets = {s["name"].lower(): s for s in ((new or {}).get("properties") or {}).get("subnets") or []}
        for name in set(old_subnets) | set(new_subnets):
            self.children["subnets"].after_write(engine, new, old_subnets.get(name), new_subnets.get(name))


# --------------------------------------------------------------------------- network interfaces
class IpConfigurationChild(ChildKind):
    segment = "ipConfigurations"
    array_key = "ipConfigurations"
    full_type = f"{NIC}/ipConfigurations"
    operation_noun = "NetworkInterfaceIpConfiguration"

    def build(self, engine, parent, existing, body, child_id):
        # The API has no PUT for a NIC's ipConfigurations: they are written through the NIC.
        raise ArmError(405, "MethodNotAllowed", "ipConfigurations are written by a PUT of the network interface.")


def _mac_address() -> str:
    raw = uuid.uuid4().bytes[:5]
    return "00-0D-" + "-".join(f"{b:02X}" for b in raw[:4])


def _allocate_ip(engine, subnet: dict, version: str, taken: set[str], prefix_length: int | None = None) -> str | None:
    """The first free address (or, with ``prefix_length``, the first free aligned block "a.b.c.d/len")."""
    props = subnet.get("properties") or {}
    prefixes = ([props["addressPrefix"]] if props.get("addressPrefix") else []) + list(props.get("addressPrefixes") or [])
    used = [ipaddress.ip_network(a, strict=False) for a in taken]
    for ipc in iter_ip_configurations(engine):
        address = (ipc.get("properties") or {}).get("privateIPAddress")
        if address:
            used.append(ipaddress.ip_network(address, strict=False))
    from .vmss import scale_set_addresses  # local: vmss allocates through this function

    used += [ipaddress.ip_network(a, strict=False) for a in scale_set_addresses(engine)]
    for prefix in prefixes:
        network = ipaddress.ip_network(prefix, strict=False)
        if (network.version == 6) != (version == "IPv6"):
            continue
        length = int(prefix_length) if prefix_length else network.max_prefixlen
        if length < network.prefixlen:
            continue
        # Azure reserves the first four addresses of every subnet (and the last, for IPv4).
        reserved = [ipaddress.ip_network(f"{network.network_address + i}/{network.max_prefixlen}") for i in range(4)]
        if network.version == 4:
            reserved.append(ipaddress.ip_network(f"{network.broadcast_address}/32"))
        for count, block in enumerate(network.subnets(new_prefix=length)):
            if count > 4096:
                break
            if any(block.overlaps(u) for u in used + reserved):
                continue
            return str(block.network_address) if length == network.max_prefixlen else str(block)
    return None


def _check_primary(configs: list, nic_id: str) -> None:
    """Exactly one primary configuration: none flagged means the first; all flagged false or two flagged is refused."""
    flags = [(c.get("properties") or {}).get("primary") for c in configs]
    if sum(1 for f in flags if f is True) > 1:
        raise ArmError(
            400,
            "OnlyOnePrimaryIpConfigurationAllowed",
            f"Network interface {nic_id} has more than one IP configuration marked primary. Only one IP "
            "configuration of a network interface can be primary.",
        )
    if len(configs) > 1 and flags and all(f is False for f in flags):
        raise ArmError(
            400,
            "PrimaryIpConfigurationRequired",
            f"Network interface {nic_id} has no IP configuration marked primary. A network interface with more "
            "than one IP configuration must have exactly one primary IP configuration.",
        )


def _subnet_prefixes(subnet: dict) -> list:
    props = subnet.get("properties") or {}
    return ([props["addressPrefix"]] if props.get("addressPrefix") else []) + list(props.get("addressPrefixes") or [])


def _subnet_is_full(subnet: dict) -> ArmError:
    # What NRP answers (400 SubnetIsFull) when no address is left for a dynamic configuration.
    return ArmError(
        400,
        "SubnetIsFull",
        f"Subnet {subnet['name']} with address prefix {', '.join(_subnet_prefixes(subnet))} does not have enough "
        "capacity for 1 IP addresses.",
    )


_PARSED: dict[str, tuple[int, int]] = {}


def _parsed_address(text: str) -> tuple[int, int]:
    """(version, integer) of an address; memoised, since every NIC PUT goes over every address in the store."""
    found = _PARSED.get(text)
    if found is None:
        address = ipaddress.ip_address(text)
        found = _PARSED[text] = (address.version, int(address))
        if len(_PARSED) > 200000:
            _PARSED.clear()
    return found


class _AddressBook:
    """Private addresses in use, by integer, and who holds them: one pass over the store per NIC PUT."""

    def __init__(self, engine, exclude_nic_id: str) -> None:
        self.single: dict[tuple[int, int], str] = {}
        self.blocks: list[tuple[object, str]] = []
        # Where the last search in each prefix stopped: every lower address was
        # taken then, and nothing is released while one NIC PUT is built.
        self._cursor: dict[str, int] = {}
        for nic in engine.store.of_type(NIC):
            if key(nic.get("id") or "") == key(exclude_nic_id):
                continue
            for ipc in (nic.get("properties") or {}).get("ipConfigurations") or []:
                address = (ipc.get("properties") or {}).get("privateIPAddress")
                if address:
                    self.hold(address, ipc.get("id") or nic["id"])
        from .vmss import scale_set_addresses  # local: vmss imports this module

        for address in scale_set_addresses(engine):  # Uniform scale-set instances hold theirs too
            self.hold(address, "a virtual machine scale set instance")

    def hold(self, address: str, holder: str) -> None:
        if "/" not in address:
            self.single[_parsed_address(address)] = holder
            return
        network = ipaddress.ip_network(address, strict=False)
        if network.num_addresses == 1:
            self.single[(network.version, int(network.network_address))] = holder
        else:
            self.blocks.append((network, holder))

    def taken_texts(self):
        for (version, value), _holder in self.single.items():
            yield str(ipaddress.ip_address(value) if version == 4 else ipaddress.IPv6Address(value))
        for network, _holder in self.blocks:
            yield str(network)

    def holder(self, address) -> str | None:
        found = self.single.get((address.version, int(address)))
        if found or not self.blocks:
            return found
        return next((h for n, h in self.blocks if n.version == address.version and address in n), None)

    def lowest_free(self, subnet: dict, version: str) -> str | None:
        """The lowest free address after the four Azure reserves, never the IPv4 broadcast."""
        for prefix in _subnet_prefixes(subnet):
            network = ipaddress.ip_network(prefix, strict=False)
            if (network.version == 6) != (version == "IPv6"):
                continue
            first = int(network.network_address) + 4
            last = int(network.broadcast_address) - (1 if network.version == 4 else 0)
            start = self._cursor.get(str(network), first)
            for value in range(start, min(last, first + 65536) + 1):
                if not self.blocks and (network.version, value) in self.single:
                    continue
                candidate = ipaddress.ip_address(value) if network.version == 4 else ipaddress.IPv6Address(value)
                if self.holder(candidate) is None:
                    self._cursor[str(network)] = value
                    return str(candidate)
        return None

    def check_static(self, subnet: dict, text: str, config_id: str) -> None:
        address = ipaddress.ip_address(str(text).split("/", 1)[0])
        networks = [ipaddress.ip_network(p, strict=False) for p in _subnet_prefixes(subnet)]
        inside = [n for n in networks if n.version == address.version and address in n]
        if not inside:
            raise ArmError(
                400,
                "PrivateIPAddressNotInSubnet",
                f"IP configuration {config_id} has private IP address {address} which does not belong to subnet "
                f"{subnet['id']}.",
            )
        network = inside[0]
        offset = int(address) - int(network.network_address)
        if offset < 4 or (network.version == 4 and address == network.broadcast_address):
            raise ArmError(
                400,
                "PrivateIPAddressInReservedRange",
                f"IP configuration {config_id} has private IP address {address} which is in the reserved range of "
                f"subnet {subnet['id']}: Azure reserves the first four addresses and the last one.",
            )
        holder = self.holder(address)
        if holder is not None and key(holder) != key(config_id):
            raise ArmError(
                400,
                "PrivateIPAddressInUse",
                f"IP configuration {config_id} is referencing private IP address {address} which is already in use by "
                f"IP configuration {holder}.",
            )


class NetworkInterfaceKind(ResourceKind):
    full_type = NIC
    namespace = NS
    operation_noun = "NetworkInterface"
    children = {"ipconfigurations": IpConfigurationChild()}
    # Read-only properties the server keeps from the stored NIC whatever the PUT says.
    SERVER_OWNED = ("macAddress", "virtualMachine", "primary", "vnetEncryptionSupported", "hostedWorkloads",
                    "tapConfigurations", "privateEndpoint", "dscpConfiguration", "resourceGuid")

    def __init__(self) -> None:
        self.actions = {"effectiveroutetable": effective_route_table}

    def build(self, engine, resource_id, name, existing, body):
        validation.check_name(name)
        doc = self.base_document(engine, resource_id, name, existing, body)
        props = copy.deepcopy(body.get("properties") or {})
        old_props = (existing or {}).get("properties") or {}
        for read_only in self.SERVER_OWNED + ("provisioningState",):
            props.pop(read_only, None)
            if read_only in old_props:
                props[read_only] = copy.deepcopy(old_props[read_only])
        props.setdefault("resourceGuid", str(uuid.uuid4()))
        configs = props.get("ipConfigurations") or []
        if not configs:
            raise ArmError(
                400,
                "NetworkInterfaceMustHaveIpConfiguration",
                f"Network interface {resource_id} must have at least one IP configuration.",
            )
        old_configs = {c["name"].lower(): c for c in old_props.get("ipConfigurations") or []}
        _check_primary(configs, resource_id)
        flagged = any((c.get("properties") or {}).get("primary") is True for c in configs)
        # Addresses held by every other NIC (this NIC's stored configurations are being replaced:
        # an address it no longer lists is released by this PUT).
        others = _AddressBook(engine, exclude_nic_id=resource_id)
        built = []
        for index, config in enumerate(configs):
            cname = config.get("name") or ""
            validation.check_name(cname)
            cid = f"{resource_id}/ipConfigurations/{cname}"
            cprops = copy.deepcopy(config.get("properties") or {})
            cprops.pop("provisioningState", None)
            cprops.setdefault("privateIPAllocationMethod", "Dynamic")
            cprops.setdefault("privateIPAddressVersion", "IPv4")
            # The first configuration is the primary one when the client flags none.
            cprops["primary"] = bool(cprops.get("primary")) if flagged else index == 0
            if not cprops.get("subnet"):
                # A secondary IP configuration without a subnet is placed in the primary one's subnet.
                subnets = [_ref_id((c.get("properties") or {}).get("subnet")) for c in configs]
                inherited = next((s for s in subnets if s), None)
                if inherited:
                    cprops["subnet"] = {"id": inherited}
            subnet_id = _ref_id(cprops.get("subnet"))
            subnet = None
            if subnet_id:
                subnet = engine.get_document(subnet_id)[3]  # (top, kind, child kind, child)
                if subnet is None:
                    raise _missing_reference(subnet_id, cid)
            old = (old_configs.get(cname.lower()) or {}).get("properties") or {}
            old_address = old.get("privateIPAddress")
            if key(_ref_id(old.get("subnet")) or "") != key(subnet_id or ""):
                old_address = None  # moved to another subnet: a new address there
            if cprops["privateIPAllocationMethod"] == "Dynamic" and not cprops.get("privateIPAddress"):
                if subnet is not None and cprops.get("privateIPAddressPrefixLength"):
                    cprops["privateIPAddress"] = old_address or _allocate_ip(
                        engine, subnet, cprops["privateIPAddressVersion"], set(others.taken_texts()),
                        cprops.get("privateIPAddressPrefixLength"))
                elif subnet is not None:
                    cprops["privateIPAddress"] = old_address or others.lowest_free(subnet, cprops["privateIPAddressVersion"])
                    if cprops["privateIPAddress"] is None:
                        raise _subnet_is_full(subnet)
                else:
                    cprops["privateIPAddress"] = old_address
                if cprops["privateIPAddress"] is None:
                    cprops.pop("privateIPAddress")
            elif (cprops["privateIPAllocationMethod"] == "Static" and cprops.get("privateIPAddress")
                  and subnet is not None and not cprops.get("privateIPAddressPrefixLength")):
                others.check_static(subnet, cprops["privateIPAddress"], cid)
            if cprops.get("privateIPAddress"):
                others.hold(cprops["privateIPAddress"], cid)
            built.append({"name": cname, "id": cid, "type": self.children["ipconfigurations"].full_type, "properties": cprops})
        props["ipConfigurations"] = built
        props.setdefault("enableIPForwarding", False)
        props.setdefault("enableAcceleratedNetworking", False)
        props.setdefault("disableTcpStateTracking", False)
        props.setdefault("nicType", "Standard")
        props.setdefault("vnetEncryptionSupported", False)
        dns = props.setdefault("dnsSettings", {})
        dns.setdefault("dnsServers", [])
        dns["appliedDnsServers"] = list(dns.get("dnsServers") or [])
        if (old_props.get("dnsSettings") or {}).get("internalDomainNameSuffix"):
            dns["internalDomainNameSuffix"] = old_props["dnsSettings"]["internalDomainNameSuffix"]
        dns.setdefault("internalDomainNameSuffix", f"{uuid.uuid4().hex[:26]}.ax.internal.cloudapp.net")
        doc["properties"] = props
        return doc

    def check_delete(self, engine, stored):
        vm = _ref_id(stored["properties"].get("virtualMachine"))
        if vm:
            raise ArmError(
                400,
                "NicInUse",
                f"Network Interface {stored['id']} is used by existing resource {vm}. In order to delete the network "
                "interface, it must be dissociated from the resource. To learn more, see aka.ms/deletenic.",
            )


DEFAULT_ROUTES = ("0.0.0.0/0:Internet", "10.0.0.0/8:None", "100.64.0.0/10:None", "172.16.0.0/12:None", "192.168.0.0/16:None")


def effective_route_table(engine, nic: dict, body: dict) -> dict:
    """The routes in effect on a NIC: system routes, then user routes of its subnets' route tables."""
    routes: list[dict] = []
    user: list[dict] = []
    for ipc in nic["properties"].get("ipConfigurations") or []:
        subnet_id = _ref_id((ipc.get("properties") or {}).get("subnet"))
        if not subnet_id:
            continue
        vnet, _kind, _child_kind, subnet = engine.get_document(subnet_id)
        if subnet is None:
            continue
        for prefix in (vnet["properties"].get("addressSpace") or {}).get("addressPrefixes") or []:
            routes.append({"source": "Default", "state": "Active", "addressPrefix": [prefix], "nextHopIpAddress": [], "nextHopType": "VnetLocal"})
        table_id = _ref_id((subnet.get("properties") or {}).get("routeTable"))
        table = engine.store.get(table_id) if table_id else None
        for route in (table or {}).get("properties", {}).get("routes") or []:
            rp = route.get("properties") or {}
            user.append({
                "name": route["name"], "source": "User", "state": "Active", "addressPrefix": [rp.get("addressPrefix")],
                "nextHopIpAddress": [rp["nextHopIpAddress"]] if rp.get("nextHopIpAddress") else [],
                "nextHopType": rp.get("nextHopType"),
            })
        break
    overridden = {r["addressPrefix"][0] for r in user}
    for item in DEFAULT_ROUTES:
        prefix, hop = item.split(":")
        routes.append({"source": "Default", "state": "Invalid" if prefix in overridden else "Active",
                       "addressPrefix": [prefix], "nextHopIpAddress": [], "nextHopType": hop})
    return {"value": routes + user}


class GenericNetworkKind(ResourceKind):
    """Network resources the stand-in stores as sent (NSGs, public IPs, load balancers, ...)."""

    namespace = NS

    def __init__(self, type_name: str, noun: str) -> None:
        self.full_type = f"{NS}/{type_name}"
        self.operation_noun = noun

    def build(self, engine, resource_id, name, existing, body):
        validation.check_name(name)
        doc = super().build(engine, resource_id, name, existing, body)
        doc["properties"].pop("provisioningState", None)
        doc["properties"].setdefault("resourceGuid", ((existing or {}).get("properties") or {}).get("resourceGuid") or str(uuid.uuid4()))
        return doc


KINDS: dict[str, ResourceKind] = {
    ROUTE_TABLE: RouteTableKind(),
    VNET: VirtualNetworkKind(),
    NIC: NetworkInterfaceKind(),
}
for _type, _noun in (
    ("networkSecurityGroups", "NetworkSecurityGroup"),
    ("publicIPAddresses", "PublicIpAddress"),
    ("loadBalancers", "LoadBalancer"),
    ("natGateways", "NatGateway"),
    ("applicationSecurityGroups", "ApplicationSecurityGroup"),
):
    KINDS[f"{NS}/{_type}"] = GenericNetworkKind(_type, _noun)
