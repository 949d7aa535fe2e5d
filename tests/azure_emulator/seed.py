"""Seeds: a small YAML/JSON description of a subscription, expanded to ARM documents.

The format is documented in README.md ("Seed format"). Names refer to
resources in the same resource group unless given as full ids. Everything is
written through the same code as an ARM PUT (``write_direct``), so a seed that
Azure would reject fails to load with the same error.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

from cryptography import x509

from .arm.direct import write_direct
from .entra import FederatedCredential, Principal
from . import jwt_tools

DEFAULT_TENANT = "a2ce0000-0000-4000-8000-00000000c0de"
DEFAULT_SUBSCRIPTION = "5ab50000-0000-4000-8000-00000000c0de"
DEFAULT_CLIENT_ID = "c11e0000-0000-4000-8000-00000000c0de"
DEFAULT_CLIENT_SECRET = "emulator-secret-not-for-production"
DEFAULT_MANAGED_IDENTITY = "3a1d0000-0000-4000-8000-00000000c0de"
DEFAULT_LOCATION = "westeurope"
SEEDS_DIR = Path(__file__).resolve().parent / "seeds"

NET = "Microsoft.Network"


def load(seed) -> dict:
    """A seed given as a path (YAML or JSON), a dict, or None (an empty subscription)."""
    if seed is None:
        return {}
    if isinstance(seed, dict):
        return copy.deepcopy(seed)
    path = Path(seed)
    if not path.exists() and (SEEDS_DIR / path).exists():
        path = SEEDS_DIR / path
    text = path.read_text()
    if path.suffix == ".json":
        return json.loads(text)
    import yaml  # only needed for YAML seeds

    return yaml.safe_load(text) or {}


def identity(spec: dict) -> dict:
    sp = spec.get("service_principal") or {}
    return {
        "tenant_id": str(spec.get("tenant_id", DEFAULT_TENANT)),
        "subscription_id": str(spec.get("subscription_id", DEFAULT_SUBSCRIPTION)),
        "client_id": str(sp.get("client_id", DEFAULT_CLIENT_ID)),
        "client_secret": str(sp.get("client_secret", DEFAULT_CLIENT_SECRET)),
    }


def _certificate(value: str, base: Path | None) -> x509.Certificate:
    text = value
    if "-----BEGIN" not in value:
        path = Path(value)
        if base and not path.is_absolute():
            path = base / path
        text = path.read_text()
    start = text.index("-----BEGIN CERTIFICATE-----")
    return x509.load_pem_x509_certificate(text[start:].encode())


def principal_from(spec_sp: dict, tenant: str, base: Path | None = None) -> Principal:
    secrets = spec_sp.get("client_secrets") or ([spec_sp["client_secret"]] if spec_sp.get("client_secret") else [])
    feds = []
    for fed in spec_sp.get("federated_credentials") or []:
        key = jwt_tools.public_key_from_pem(fed["public_key"]) if fed.get("public_key") else None
        audiences = fed.get("audiences") or ["api://AzureADTokenExchange"]
        feds.append(FederatedCredential(issuer=fed["issuer"], subject=fed["subject"], audiences=list(audiences), public_key=key))
    return Principal(
        client_id=str(spec_sp.get("client_id", DEFAULT_CLIENT_ID)),
        tenant_id=str(spec_sp.get("tenant_id", tenant)),
        secrets=[str(s) for s in secrets],
        certificates=[_certificate(c, base) for c in spec_sp.get("certificates") or []],
        federated=feds,
    )


class _Expander:
    def __init__(self, engine, spec: dict) -> None:
        self.engine = engine
        self.spec = spec
        self.sub = identity(spec)["subscription_id"]
        self.locations: dict[str, str] = {}

    # ids -----------------------------------------------------------------
    def rg_id(self, rg: str, sub: str | None = None) -> str:
        return f"/subscriptions/{sub or self.sub}/resourceGroups/{rg}"

    def ref(self, type_path: str, value, rg: str) -> str | None:
        """A full id from a name ("nsg"), "rg/name" shorthand is not supported: give ids for other groups."""
        if value is None:
            return None
        if isinstance(value, dict):
            if "id" in value:
                return value["id"]
            rg = value.get("resource_group", rg)
            value = value["name"]
        value = str(value)
        if value.startswith("/subscriptions/"):
            return value
        return f"{self.rg_id(rg)}/providers/{NET}/{type_path}/{value}"

    def subnet_ref(self, value, rg: str) -> str:
        if isinstance(value, dict):
            if "id" in value:
                return value["id"]
            return f"{self.rg_id(value.get('resource_group', rg))}/providers/{NET}/virtualNetworks/{value['virtual_network']}/subnets/{value['name']}"
        value = str(value)
        if value.startswith("/subscriptions/"):
            return value
        vnet, subnet = value.split("/")
        return f"{self.rg_id(rg)}/providers/{NET}/virtualNetworks/{vnet}/subnets/{subnet}"

    def location(self, item: dict) -> str:
        return item.get("location") or self.locations.get(item["resource_group"].lower(), DEFAULT_LOCATION)

    def put(self, resource_id: str, body: dict) -> dict:
        return write_direct(self.engine, resource_id, body)

    @staticmethod
    def tracked(item: dict, location: str, properties: dict) -> dict:
        body = {"location": location, "properties": {**properties, **copy.deepcopy(item.get("properties") or {})}}
        if item.get("tags"):
            body["tags"] = dict(item["tags"])
        if item.get("zones"):
            body["zones"] = list(item["zones"])
        if item.get("sku"):
            body["sku"] = copy.deepcopy(item["sku"])
        return body

    # expansion -------------------------------------------------------------
    def run(self) -> None:
        spec = self.spec
        for group in spec.get("resource_groups") or []:
            self.locations[group["name"].lower()] = group.get("location", DEFAULT_LOCATION)
            self.put(self.rg_id(group["name"], group.get("subscription_id")), {"location": group.get("location", DEFAULT_LOCATION), "tags": group.get("tags")})
        simple = (
            ("network_security_groups", "networkSecurityGroups"),
            ("public_ip_addresses", "publicIPAddresses"),
            ("nat_gateways", "natGateways"),
            ("application_security_groups", "applicationSecurityGroups"),
        )
        for section, type_path in simple:
            for item in spec.get(section) or []:
                self.put(self.ref(type_path, item["name"], item["resource_group"]), self.tracked(item, self.location(item), {}))
        for item in spec.get("load_balancers") or []:
            lb_id = self.ref("loadBalancers", item["name"], item["resource_group"])
            pools = [{"name": p, "id": f"{lb_id}/backendAddressPools/{p}", "properties": {}} for p in item.get("backend_pools") or []]
            self.put(lb_id, self.tracked(item, self.location(item), {"backendAddressPools": pools}))
        for item in spec.get("route_tables") or []:
            self.put(self.ref("routeTables", item["name"], item["resource_group"]), self.tracked(item, self.location(item), {
                "disableBgpRoutePropagation": bool(item.get("disable_bgp_route_propagation", False)),
                "routes": [self.route(r) for r in item.get("routes") or []],
            }))
        for item in spec.get("virtual_networks") or []:
            self.virtual_network(item)
        for item in spec.get("network_interfaces") or []:
            self.network_interface(item, item["resource_group"])
        for item in spec.get("virtual_machines") or []:
            self.virtual_machine(item)
        for item in spec.get("virtual_machine_scale_sets") or []:
            self.virtual_machine_scale_set(item)
        for raw in spec.get("resources") or []:
            write_direct(self.engine, raw["id"], raw, raw=True)

    @staticmethod
    def route(route: dict) -> dict:
        props = {"addressPrefix": route["address_prefix"], "nextHopType": route.get("next_hop_type", "VirtualAppliance")}
        if route.get("next_hop_ip"):
            props["nextHopIpAddress"] = route["next_hop_ip"]
        return {"name": route["name"], "properties": props}

    def virtual_network(self, item: dict) -> None:
        rg = item["resource_group"]
        subnets = []
        for subnet in item.get("subnets") or []:
            props: dict = {}
            prefixes = subnet.get("address_prefixes") or [subnet["address_prefix"]]
            if len(prefixes) == 1:
                props["addressPrefix"] = prefixes[0]
            else:
                props["addressPrefixes"] = list(prefixes)
            for key, type_path, name in (
                ("network_security_group", "networkSecurityGroups", "networkSecurityGroup"),
                ("route_table", "routeTables", "routeTable"),
                ("nat_gateway", "natGateways", "natGateway"),
            ):
                if subnet.get(key):
                    props[name] = {"id": self.ref(type_path, subnet[key], rg)}
            if subnet.get("service_endpoints"):
                props["serviceEndpoints"] = [
                    {"service": s, "locations": [self.location(item)]} if isinstance(s, str) else s for s in subnet["service_endpoints"]
                ]
            if subnet.get("delegations"):
                props["delegations"] = [
                    {"name": d.get("name", f"delegation{i}"), "properties": {"serviceName": d["service"]}} if isinstance(d, dict) and "service" in d
                    else {"name": f"delegation{i}", "properties": {"serviceName": d}}
                    for i, d in enumerate(subnet["delegations"])
                ]
            props.update(copy.deepcopy(subnet.get("properties") or {}))
            subnets.append({"name": subnet["name"], "properties": props})
        extra = {"addressSpace": {"addressPrefixes": list(item["address_prefixes"])}, "subnets": subnets}
        if item.get("dns_servers"):
            extra["dhcpOptions"] = {"dnsServers": list(item["dns_servers"])}
        self.put(self.ref("virtualNetworks", item["name"], rg), self.tracked(item, self.location(item), extra))

    def network_interface(self, nic: dict, rg: str, vm_location: str | None = None) -> str:
        rg = nic.get("resource_group", rg)
        configs = nic.get("ip_configurations")
        if not configs:
            configs = [{k: nic[k] for k in ("subnet", "private_ip", "public_ip", "load_balancer_backend_pools", "application_security_groups") if k in nic}]
        ip_configs = []
        for index, config in enumerate(configs):
            props: dict = {"subnet": {"id": self.subnet_ref(config["subnet"], rg)},
                           "primary": bool(config.get("primary", index == 0)),
                           "privateIPAddressVersion": config.get("private_ip_version", "IPv6" if ":" in str(config.get("private_ip", "")) else "IPv4")}
            if config.get("private_ip"):
                props["privateIPAddress"] = config["private_ip"]
                props["privateIPAllocationMethod"] = config.get("allocation", "Static")
            else:
                props["privateIPAllocationMethod"] = "Dynamic"
            if config.get("public_ip"):
                props["publicIPAddress"] = {"id": self.ref("publicIPAddresses", config["public_ip"], rg)}
            if config.get("load_balancer_backend_pools"):
                props["loadBalancerBackendAddressPools"] = [
                    {"id": p if p.startswith("/subscriptions/") else f"{self.ref('loadBalancers', p.split('/')[0], rg)}/backendAddressPools/{p.split('/')[1]}"}
                    for p in config["load_balancer_backend_pools"]
                ]
            if config.get("application_security_groups"):
                props["applicationSecurityGroups"] = [{"id": self.ref("applicationSecurityGroups", a, rg)} for a in config["application_security_groups"]]
            ip_configs.append({"name": config.get("name", f"ipconfig{index + 1}"), "properties": props})
        props = {
            "ipConfigurations": ip_configs,
            "enableIPForwarding": bool(nic.get("enable_ip_forwarding", False)),
            "enableAcceleratedNetworking": bool(nic.get("accelerated_networking", False)),
            "dnsSettings": {"dnsServers": list(nic.get("dns_servers") or [])},
        }
        if nic.get("network_security_group"):
            props["networkSecurityGroup"] = {"id": self.ref("networkSecurityGroups", nic["network_security_group"], rg)}
        location = nic.get("location") or vm_location or self.locations.get(rg.lower(), DEFAULT_LOCATION)
        nic_id = self.ref("networkInterfaces", nic["name"], rg)
        self.put(nic_id, self.tracked(nic, location, props))
        if nic.get("mac_address"):
            # Read-only through ARM (attaching the NIC to a VM assigns one); a seed may fix it.
            self.engine.store.get(nic_id)["properties"]["macAddress"] = nic["mac_address"]
        return nic_id

    def virtual_machine(self, vm: dict) -> None:
        rg = vm["resource_group"]
        location = self.location(vm)
        nic_refs = []
        nics = vm.get("nics") or []
        for index, nic in enumerate(nics):
            if isinstance(nic, str):
                nic_id = self.ref("networkInterfaces", nic, rg)
                primary = index == 0
            else:
                nic_id = self.network_interface(nic, rg, location)
                primary = bool(nic.get("primary", index == 0))
            nic_refs.append({"id": nic_id, "properties": {"primary": primary}})
        vm_id = f"{self.rg_id(rg)}/providers/Microsoft.Compute/virtualMachines/{vm['name']}"
        props = {
            "hardwareProfile": {"vmSize": vm.get("size", "Standard_D2s_v5")},
            "storageProfile": {
                "imageReference": {"publisher": "Canonical", "offer": "ubuntu-24_04-lts", "sku": "server", "version": "latest"},
                "osDisk": {"osType": "Linux", "name": f"{vm['name']}-osdisk", "createOption": "FromImage", "caching": "ReadWrite",
                           "managedDisk": {"storageAccountType": "Premium_LRS"}, "diskSizeGB": 30},
                "dataDisks": [],
            },
            "osProfile": {"computerName": vm.get("computer_name", vm["name"]), "adminUsername": "azureuser",
                          "linuxConfiguration": {"disablePasswordAuthentication": True}},
            "networkProfile": {"networkInterfaces": nic_refs},
        }
        self.put(vm_id, self.tracked(vm, location, props))

    def scale_set_nic_configuration(self, config: dict, rg: str, index: int) -> dict:
        ip_configs = config.get("ip_configurations") or [{"name": "ipconfig1", "subnet": config["subnet"]}]
        props = {
            "primary": bool(config.get("primary", index == 0)),
            "enableIPForwarding": bool(config.get("enable_ip_forwarding", False)),
            "enableAcceleratedNetworking": bool(config.get("accelerated_networking", False)),
            "dnsSettings": {"dnsServers": list(config.get("dns_servers") or [])},
            "ipConfigurations": [
                {"name": ipc.get("name", f"ipconfig{i + 1}"), "properties": {
                    "subnet": {"id": self.subnet_ref(ipc["subnet"], rg)}, "primary": i == 0, "privateIPAddressVersion": "IPv4",
                    **({"loadBalancerBackendAddressPools": [{"id": p} for p in ipc["load_balancer_backend_pools"]]}
                       if ipc.get("load_balancer_backend_pools") else {})}}
                for i, ipc in enumerate(ip_configs)
            ],
        }
        if config.get("network_security_group"):
            props["networkSecurityGroup"] = {"id": self.ref("networkSecurityGroups", config["network_security_group"], rg)}
        return {"name": config.get("name", f"nic{index}"), "properties": props}

    def virtual_machine_scale_set(self, item: dict) -> None:
        """A Uniform set gets ``capacity`` instances; a Flexible one ``capacity`` ordinary VMs + NICs naming it."""
        rg = item["resource_group"]
        location = self.location(item)
        mode = item.get("orchestration_mode", "Uniform")
        prefix = item.get("computer_name_prefix", item["name"])
        configs = [self.scale_set_nic_configuration(c, rg, i) for i, c in enumerate(item.get("network_interface_configurations") or [])]
        model = {
            "osProfile": {"computerNamePrefix": prefix, "adminUsername": "azureuser",
                          "linuxConfiguration": {"disablePasswordAuthentication": True}},
            "storageProfile": {"imageReference": {"publisher": "Canonical", "offer": "ubuntu-24_04-lts", "sku": "server",
                                                  "version": "latest"},
                               "osDisk": {"createOption": "FromImage", "caching": "ReadWrite",
                                          "managedDisk": {"storageAccountType": "Premium_LRS"}}},
            "networkProfile": {"networkInterfaceConfigurations": configs},
        }
        capacity = int(item.get("capacity", 0))
        props = {"orchestrationMode": mode, "virtualMachineProfile": model}
        if mode == "Uniform":
            props["upgradePolicy"] = {"mode": item.get("upgrade_policy", "Manual")}
            props["overprovision"] = False
        else:
            props["platformFaultDomainCount"] = 1
        body = self.tracked(item, location, props)
        body["sku"] = {"name": item.get("size", "Standard_D2s_v5"), "tier": "Standard", "capacity": capacity if mode == "Uniform" else 0}
        ss_id = f"{self.rg_id(rg)}/providers/Microsoft.Compute/virtualMachineScaleSets/{item['name']}"
        self.put(ss_id, body)
        if mode != "Flexible":
            return
        for index in range(capacity):
            vm_name = f"{item['name']}_{index:08x}"
            nic_refs = []
            for cindex, config in enumerate(item.get("network_interface_configurations") or []):
                ipc = (config.get("ip_configurations") or [{"subnet": config.get("subnet")}])[0]
                nic = {"name": f"{vm_name}-{config.get('name', f'nic{cindex}')}", "subnet": ipc["subnet"],
                       "enable_ip_forwarding": config.get("enable_ip_forwarding", False)}
                if config.get("network_security_group"):
                    nic["network_security_group"] = config["network_security_group"]
                nic_refs.append({"id": self.network_interface(nic, rg, location),
                                 "properties": {"primary": bool(config.get("primary", cindex == 0))}})
            self.put(f"{self.rg_id(rg)}/providers/Microsoft.Compute/virtualMachines/{vm_name}", {
                "location": location,
                "properties": {
                    "hardwareProfile": {"vmSize": item.get("size", "Standard_D2s_v5")},
                    "osProfile": {"computerName": f"{prefix}{index:06x}", "adminUsername": "azureuser"},
                    "networkProfile": {"networkInterfaces": nic_refs},
                    "virtualMachineScaleSet": {"id": ss_id},
                },
            })


def apply(engine, entra, spec: dict, base: Path | None = None) -> dict:
    """Load identities and resources of ``spec`` into an empty engine/entra; returns the identity."""
    ident = identity(spec)
    main_principal = {**(spec.get("service_principal") or {}), "client_id": ident["client_id"], "client_secret": ident["client_secret"]}
    entra.add_principal(principal_from(main_principal, ident["tenant_id"], base))
    for extra in spec.get("service_principals") or []:
        entra.add_principal(principal_from(extra, ident["tenant_id"], base))
    managed = spec.get("managed_identity") or {}
    if managed.get("system_assigned", True):
        system_id = str(managed.get("client_id", DEFAULT_MANAGED_IDENTITY))
        entra.add_managed_identity(Principal(client_id=system_id, tenant_id=ident["tenant_id"]), system_assigned=True)
    for user_assigned in managed.get("user_assigned") or []:
        entra.add_managed_identity(Principal(client_id=str(user_assigned["client_id"]), tenant_id=ident["tenant_id"]), system_assigned=False)
    engine.subscriptions[ident["subscription_id"].lower()] = {
        "subscriptionId": ident["subscription_id"],
        "tenantId": ident["tenant_id"],
        "displayName": spec.get("subscription_name", "Emulated subscription"),
    }
    for extra in spec.get("subscriptions") or []:
        engine.subscriptions[str(extra["subscription_id"]).lower()] = {
            "subscriptionId": str(extra["subscription_id"]),
            "tenantId": str(extra.get("tenant_id", ident["tenant_id"])),
            "displayName": extra.get("display_name", "Emulated subscription"),
        }
    _Expander(engine, spec).run()
    return ident
