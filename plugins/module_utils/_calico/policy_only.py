# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Turn a Calico manifest or operator Installation into Calico's own policy-only install.

Pure: no Ansible, no threads, no clock. Needs ruamel.yaml (through
``manifest.py``, which imports it softly).

The contract is Calico's ``calico-policy-only.yaml`` of each release. Comparing
it field by field with ``calico.yaml``, ``calico-vxlan.yaml`` and
``calico-etcd.yaml`` of v3.5, v3.28.5 and v3.32.1 (docs/user-guide.md lists
every difference and why it is or is not changed here) gives these rules, all
written against the structure of the manifest (the calico-node container of
the DaemonSet, the ConfigMap keys it refers to), not against line numbers:

* ``CALICO_NETWORKING_BACKEND`` = ``none``, where the container takes it from
  (upstream: ConfigMap ``calico-config`` key ``calico_backend``);
* the readiness and liveness probes lose their BIRD checks (``-bird-ready``,
  ``-bird-live``, ``-bird6-*``), keeping the Felix ones;
* the CNI config (the JSON in the ConfigMap key that the ``install-cni``
  container reads as ``CNI_NETWORK_CONFIG``) gets the IPAM
  ``{"type": "host-local", "subnet": "usePodCidr"}`` in its ``calico`` plugin;
* the default pool's encapsulation variables that are set are set to
  ``Never`` (Calico's policy-only manifest leaves them out);
* ``CLUSTER_TYPE`` loses ``bgp``; ``USE_POD_CIDR`` = ``true`` from 3.7 on
  (versions.py); ``CALICO_IPV4POOL_CIDR`` = the cluster CIDR when one is given;
* Canal (a DaemonSet with flannel next to calico-node): flannel's
  ``net-conf.json`` ``Network`` = the cluster CIDR when one is given; its
  calico-node already is policy-only.

Every edit is spliced into the original text; each editing pass parses the
result again and proves it equals the original plus exactly these changes.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ansible_collections.calico.azure.plugins.module_utils._calico import manifest as _m
from ansible_collections.calico.azure.plugins.module_utils._calico.manifest import ManifestError
from ansible_collections.calico.azure.plugins.module_utils._calico.versions import (
    NEWEST_KNOWN_RELEASE,
    OLDEST_KNOWN_RELEASE,
    CalicoVersionError,
    parse_calico_version,
    release_from_image,
    release_is_known,
    sets_use_pod_cidr,
)

BACKEND_VAR = "CALICO_NETWORKING_BACKEND"
ENCAPSULATION_VARS = ("CALICO_IPV4POOL_IPIP", "CALICO_IPV4POOL_VXLAN", "CALICO_IPV6POOL_VXLAN")
POLICY_ONLY_IPAM = {"type": "host-local", "subnet": "usePodCidr"}
# -bird-ready, -bird-live and the -bird6-* checks of the IPv6 BIRD.
_BIRD_CHECK = re.compile(r"^-bird6?-(?:ready|live)$")
_INSTALLATION = re.compile(r"^kind:[ \t]*[\"']?Installation[\"']?[ \t]*(?:#.*)?$", re.M)


@dataclass
class Conversion:
    """What :func:`convert` did (or would do)."""

    text: str
    kind: str  # calico | canal | installation
    changes: List[str] = field(default_factory=list)
    calico_version: Optional[str] = None
    version_source: str = "unknown"  # image | option | unknown
    release_known: bool = False


def _cidr(value: str, what: str) -> str:
    try:
        network = ipaddress.ip_network(str(value), strict=True)
    except ValueError as exc:
        raise ManifestError("cluster_cidr %r is not a network address with prefix length (%s); %s" % (value, exc, what))
    if network.version != 4:
        raise ManifestError("cluster_cidr %s is IPv6; the default pool and the Azure routes here are IPv4, %s"
                            % (network, what))
    return str(network)


# --- a tolerant JSON scanner -------------------------------------------------
# The CNI config is JSON with placeholders that are not JSON ("mtu": __CNI_MTU__),
# so it is scanned for positions, not decoded.


class _JNode:
    def __init__(self, kind: str, start: int) -> None:
        self.kind = kind  # object | array | string | token
        self.start = start
        self.end = start
        self.entries: List[Tuple[str, int, "_JNode"]] = []  # objects: (key, key start, value)
        self.items: List["_JNode"] = []
        self.text = ""

    def get(self, key: str) -> Optional["_JNode"]:
        found = [value for name, _pos, value in self.entries if name == key]
        return found[-1] if found else None


class _JsonShapeError(ValueError):
    pass


def _scan_json(text: str) -> _JNode:
    pos = 0

    def skip(i: int) -> int:
        while i < len(text) and text[i] in " \t\r\n":
            i += 1
        return i

    def string(i: int) -> Tuple[str, int]:
        j = i + 1
        while j < len(text):
            if text[j] == "\\":
                j += 2
                continue
            if text[j] == '"':
                return json.loads(text[i:j + 1]), j + 1
            j += 1
        raise _JsonShapeError("unterminated string at offset %d" % i)

    def value(i: int) -> _JNode:
        i = skip(i)
        if i >= len(text):
            raise _JsonShapeError("unexpected end")
        char = text[i]
        node = _JNode({"{": "object", "[": "array", '"': "string"}.get(char, "token"), i)
        if char == '"':
            node.text, node.end = string(i)
            return node
        if char not in "{[":
            j = i
            while j < len(text) and text[j] not in ",}] \t\r\n":
                j += 1
            if j == i:
                raise _JsonShapeError("unexpected %r at offset %d" % (char, i))
            node.text, node.end = text[i:j], j
            return node
        closing = "}" if char == "{" else "]"
        i = skip(i + 1)
        while i < len(text) and text[i] != closing:
            if char == "{":
                if text[i] != '"':
                    raise _JsonShapeError("expected a key at offset %d" % i)
                key, j = string(i)
                j = skip(j)
                if text[j:j + 1] != ":":
                    raise _JsonShapeError("expected ':' at offset %d" % j)
                child = value(j + 1)
                node.entries.append((key, i, child))
            else:
                child = value(i)
                node.items.append(child)
            i = skip(child.end)
            if text[i:i + 1] == ",":
                i = skip(i + 1)
            elif text[i:i + 1] != closing:
                raise _JsonShapeError("expected ',' or %r at offset %d" % (closing, i))
        if i >= len(text):
            raise _JsonShapeError("unterminated %s" % node.kind)
        node.end = i + 1
        return node

    root = value(pos)
    if skip(root.end) != len(text):
        raise _JsonShapeError("text after the JSON value at offset %d" % root.end)
    return root


def _column(text: str, pos: int) -> Tuple[str, int]:
    """(text of the line before ``pos``, column of ``pos``)."""
    line_start = text.rfind("\n", 0, pos) + 1
    return text[line_start:pos], pos - line_start


def _render_like(node: _JNode, text: str, entries: Sequence[Tuple[str, str]]) -> str:
    """A JSON object of string ``entries`` laid out like ``node`` (one line, or one entry per line)."""
    body = ['"%s": %s' % (key, json.dumps(val)) for key, val in entries]
    inner = text[node.start:node.end]
    if "\n" not in inner or not node.entries:
        return "{" + ", ".join(body) + "}"
    before_key, _col = _column(text, node.entries[0][1])
    before_close, _col = _column(text, node.end - 1)
    if before_key.strip() or before_close.strip():
        return "{" + ", ".join(body) + "}"
    return "{\n" + ",\n".join(before_key + b for b in body) + "\n" + before_close + "}"


# --- the manifest ------------------------------------------------------------


class _BlockScalar:
    """A ConfigMap value written as a literal block scalar, and how its characters map to the file."""

    def __init__(self, editor: Any, doc: Any, data: Any, key: str, where: str) -> None:
        self.value = data[key]
        if type(self.value).__name__ != "LiteralScalarString":
            raise ManifestError(
                "%s is not a literal block (key: |); write it as a | block so the JSON inside can be edited in place"
                % where
            )
        line, _col = data.lc.value(key)
        self.first = doc.line(line) + 1
        self.editor = editor
        lines = editor.lines
        self.indent = None
        for index in range(self.first, len(lines)):
            content = _m._content(lines[index])
            if content.strip():
                self.indent = len(content) - len(content.lstrip(" "))
                break
        if self.indent is None:
            raise ManifestError("%s is empty" % where)

    def offset(self, pos: int) -> int:
        line = self.value.count("\n", 0, pos)
        col = pos - (self.value.rfind("\n", 0, pos) + 1)
        return self.editor.starts[self.first + line] + self.indent + col

    def replace(self, start: int, end: int, new: str) -> str:
        """Splice ``new`` over value[start:end]; returns the new value."""
        newline = _m._newline(self.editor.lines)
        self.editor.add(self.offset(start), self.offset(end), new.replace("\n", newline + " " * self.indent))
        return self.value[:start] + new + self.value[end:]


def _containers(daemonset: Any) -> List[Any]:
    spec = ((daemonset.get("spec") or {}).get("template") or {}).get("spec") or {}
    return [c for key in ("initContainers", "containers") for c in (spec.get(key) or []) if isinstance(c, dict)]


def _env_items(container: Any) -> List[Any]:
    return [item for item in (container.get("env") or []) if isinstance(item, dict)]


def _release(daemonset: Any, container: Any, option: Optional[str]) -> Tuple[Optional[str], str]:
    found = release_from_image(container.get("image"))
    for other in _containers(daemonset):
        found = found or release_from_image(other.get("image"))
    if option:
        wanted = parse_calico_version(option)
        if found and parse_calico_version(found) != wanted:
            raise ManifestError(
                "calico_version is %s but the manifest's calico images are v%s; correct calico_version or leave it "
                "out (the images name the release)" % (option, found)
            )
        return (found, "image") if found else (option, "option")
    return (found, "image") if found else (None, "unknown")


def _probe_edits(editor: Any, ds_doc: Any, container_index: int, container: Any, where: str, changes: List[str]) -> None:
    for probe_name in ("readinessProbe", "livenessProbe"):
        probe = container.get(probe_name)
        exec_ = probe.get("exec") if isinstance(probe, dict) else None
        command = exec_.get("command") if isinstance(exec_, dict) else None
        if not isinstance(command, list):
            continue
        drop = [i for i, arg in enumerate(command) if isinstance(arg, str) and _BIRD_CHECK.match(arg)]
        if not drop:
            continue
        kept = [arg for i, arg in enumerate(command) if i not in drop]
        if not any(isinstance(arg, str) and arg.startswith("-") for arg in kept):
            raise ManifestError(
                "%s: the %s runs only BIRD checks (%s); without BIRD it would check nothing, so set it to "
                "calico-node -felix-ready / -felix-live by hand" % (where, probe_name, " ".join(map(str, command)))
            )
        if command.fa.flow_style():
            line, col = exec_.lc.value("command")
            file_line = ds_doc.line(line)
            content = _m._content(editor.lines[file_line])
            close = _flow_end(content, col)
            pieces = _split_flow(content[col + 1:close])
            if close < 0 or len(pieces) != len(command):
                raise ManifestError("%s: the %s command is a flow list over several lines; write it as a block list"
                                    % (where, probe_name))
            new = "[" + ", ".join(p for i, p in enumerate(pieces) if i not in drop) + "]"
            editor.add(editor.offset(file_line, col), editor.offset(file_line, close + 1), new)
        else:
            for index in drop:
                line, col = command.lc.item(index)
                file_line = ds_doc.line(line)
                content = _m._content(editor.lines[file_line])
                start, end, _style = _m._scalar_span(editor.lines[file_line], col, "%s line %d" % (editor.path, file_line + 1))
                if not re.match(r"^[ \t]*-[ \t]+$", content[:start]) or content[end:].strip(" \t"):
                    raise ManifestError("%s line %d: the %s argument %s does not stand on a line of its own; "
                                        "write the command as a block list" % (editor.path, file_line + 1, probe_name,
                                                                               command[index]))
                editor.add(editor.starts[file_line], editor.starts[file_line + 1], "")
        editor.op(ds_doc, "remove", _m.ENV_PATH + (container_index, probe_name, "exec", "command"), drop)
        changes.append("%s %s: removed %s (BIRD does not run in policy-only mode)"
                       % (where, probe_name, ", ".join(command[i] for i in drop)))


def _flow_end(content: str, col: int) -> int:
    quote = ""
    for pos in range(col + 1, len(content)):
        char = content[pos]
        if quote:
            if char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == "]":
            return pos
    return -1


def _split_flow(inner: str) -> List[str]:
    pieces, current, quote = [], "", ""
    for char in inner:
        if quote:
            current += char
            if char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
            current += char
        elif char == ",":
            pieces.append(current.strip())
            current = ""
        else:
            current += char
    if current.strip():
        pieces.append(current.strip())
    return pieces


def _cni_config_ref(daemonset: Any, docs: Sequence[Any], namespace: str) -> Optional[Tuple[str, str]]:
    for container in _containers(daemonset):
        for item in _env_items(container):
            ref = (item.get("valueFrom") or {}).get("configMapKeyRef") if item.get("name") == "CNI_NETWORK_CONFIG" else None
            if isinstance(ref, dict) and ref.get("name") and ref.get("key"):
                return str(ref["name"]), str(ref["key"])
    for doc in docs:
        node = doc.node
        if isinstance(node, dict) and node.get("kind") == "ConfigMap" and "cni_network_config" in (node.get("data") or {}):
            if ((node.get("metadata") or {}).get("namespace") or "default") == namespace:
                return str(node["metadata"]["name"]), "cni_network_config"
    return None


def _cni_edit(editor: Any, docs: Sequence[Any], daemonset: Any, namespace: str, changes: List[str]) -> None:
    ref = _cni_config_ref(daemonset, docs, namespace)
    if ref is None:
        raise ManifestError(
            "%s: no CNI network config found (env CNI_NETWORK_CONFIG of the install-cni container, or a ConfigMap key "
            "cni_network_config); point path at the whole manifest" % editor.path
        )
    cm_doc = _m._find_configmap(docs, ref[0], namespace)
    where = "ConfigMap %s/%s key %s" % (namespace, ref[0], ref[1])
    data = cm_doc.node.get("data") if cm_doc is not None else None
    if not isinstance(data, dict) or ref[1] not in data:
        raise ManifestError("%s: the CNI network config comes from %s, which is not in this file" % (editor.path, where))
    block = _BlockScalar(editor, cm_doc, data, ref[1], where)
    try:
        root = _scan_json(block.value)
    except _JsonShapeError as exc:
        raise ManifestError("%s is not a JSON CNI config (%s); fix it by hand" % (where, exc))
    plugins = root.get("plugins") if root.kind == "object" else None
    candidates = plugins.items if plugins is not None and plugins.kind == "array" else [root]
    calico = [p for p in candidates if p.kind == "object" and (p.get("type") or _JNode("token", 0)).text == "calico"]
    if not calico:
        raise ManifestError("%s has no plugin of type calico; policy-only needs Calico's CNI plugin" % where)
    for plugin in calico:
        ipam = plugin.get("ipam")
        if ipam is None or ipam.kind != "object":
            raise ManifestError("%s: the calico plugin has no ipam object; add \"ipam\": {} first" % where)
        current = {key: node.text for key, _pos, node in ipam.entries if node.kind == "string"}
        if current.get("type") == POLICY_ONLY_IPAM["type"] and current.get("subnet") == POLICY_ONLY_IPAM["subnet"]:
            continue
        new = _render_like(ipam, block.value, list(POLICY_ONLY_IPAM.items()))
        value = block.replace(ipam.start, ipam.end, new)
        editor.op(cm_doc, "set", ("data", ref[1]), value)
        changes.append("%s: CNI IPAM %s -> host-local with subnet usePodCidr"
                       % (where, current.get("type") or block.value[ipam.start:ipam.end]))
        return  # one calico plugin per CNI config; a second edit would need the first's new offsets


def _flannel_edit(editor: Any, docs: Sequence[Any], namespace: str, cluster_cidr: str, changes: List[str]) -> None:
    found = [d for d in docs if isinstance(d.node, dict) and d.node.get("kind") == "ConfigMap"
             and "net-conf.json" in (d.node.get("data") or {})
             and ((d.node.get("metadata") or {}).get("namespace") or "default") == namespace]
    if not found:
        raise ManifestError("%s: Canal manifest without flannel's net-conf.json ConfigMap key; point path at the whole "
                            "canal.yaml" % editor.path)
    cm_doc = found[0]
    where = "ConfigMap %s key net-conf.json" % _m._name(cm_doc.node)
    data = cm_doc.node["data"]
    block = _BlockScalar(editor, cm_doc, data, "net-conf.json", where)
    try:
        root = _scan_json(block.value)
    except _JsonShapeError as exc:
        raise ManifestError("%s is not JSON (%s); fix it by hand" % (where, exc))
    network = root.get("Network") if root.kind == "object" else None
    if network is None or network.kind != "string":
        raise ManifestError("%s has no \"Network\" string; add the cluster CIDR there by hand" % where)
    if network.text == cluster_cidr:
        return
    value = block.replace(network.start, network.end, json.dumps(cluster_cidr))
    editor.op(cm_doc, "set", ("data", "net-conf.json"), value)
    changes.append("%s: flannel Network %s -> %s" % (where, network.text, cluster_cidr))


def _env_plan(container: Any, docs: Sequence[Any], namespace: str, canal: bool, version: Optional[Tuple[int, int]],
              cluster_cidr: Optional[str]) -> Dict[str, str]:
    current: Dict[str, Optional[str]] = {}
    for item in _env_items(container):
        current[str(item.get("name"))] = _m._env_value(item, docs, namespace)
    plan = {BACKEND_VAR: "none"}
    for name in ENCAPSULATION_VARS:
        if name in current and str(current[name]).lower() not in ("never", "off"):
            plan[name] = "Never"
    cluster_type = current.get("CLUSTER_TYPE")
    if cluster_type is not None:
        parts = [p for p in cluster_type.split(",") if p.strip() != "bgp"]
        if len(parts) != len(cluster_type.split(",")):
            plan["CLUSTER_TYPE"] = ",".join(parts) or "k8s"
    if not canal and sets_use_pod_cidr(version):
        plan["USE_POD_CIDR"] = "true"
    if cluster_cidr:
        plan["CALICO_IPV4POOL_CIDR"] = cluster_cidr
    return plan


def _is_canal(daemonset: Any) -> bool:
    return any("flannel" in str(c.get("name")) or "flannel" in str(c.get("image")) for c in _containers(daemonset))


def _shape_error(exc: ManifestError, version: Optional[str], known: bool) -> ManifestError:
    if known:
        return exc
    release = "Calico v%s" % version if version else "A manifest whose images name no Calico release"
    return ManifestError(
        "%s is not one of the releases these rules were checked against (%d.%d to %d.%d) and does not have the "
        "expected shape, so it is not converted: %s" % ((release,) + OLDEST_KNOWN_RELEASE + NEWEST_KNOWN_RELEASE + (exc,))
    )


def convert_manifest(text: str, path: str = "manifest", cluster_cidr: Optional[str] = None,
                     calico_version: Optional[str] = None) -> Conversion:
    """Calico's policy-only install from ``calico.yaml``/``calico-vxlan.yaml``/``calico-etcd.yaml``/``canal.yaml``."""
    _m._check_syntax(text, path)
    if cluster_cidr:
        cluster_cidr = _cidr(cluster_cidr, "use the cluster's --cluster-cidr, for example 10.244.0.0/16")
    editor = _m._Editor(text, path)
    docs = _m._parse_candidates(editor)
    try:
        ds_doc, container_index, container = _m._find_calico_node(docs, path)
    except ManifestError as exc:
        raise ManifestError("%s; or, for the Tigera operator, point path at the file with its Installation "
                            "resource (custom-resources.yaml)" % exc)
    daemonset = ds_doc.node
    namespace = ((daemonset.get("metadata") or {}).get("namespace")) or "default"
    try:
        version_text, source = _release(daemonset, container, calico_version)
        version = parse_calico_version(version_text) if version_text else None
    except CalicoVersionError as exc:
        raise ManifestError(str(exc))
    known = version is not None and release_is_known(version)
    canal = _is_canal(daemonset)
    result = Conversion(text=text, kind="canal" if canal else "calico", calico_version=version_text,
                        version_source=source, release_known=known)
    where = "DaemonSet %s container %s" % (_m._name(daemonset), _m.CALICO_NODE_CONTAINER)
    try:
        _m._env_list(container, _m._name(daemonset))
        _probe_edits(editor, ds_doc, container_index, container, where, result.changes)
        _cni_edit(editor, docs, daemonset, namespace, result.changes)
        if canal and cluster_cidr:
            _flannel_edit(editor, docs, namespace, cluster_cidr, result.changes)
    except ManifestError as exc:
        raise _shape_error(exc, version_text, known)
    plan = _env_plan(container, docs, namespace, canal, version, cluster_cidr)
    new_chunks = editor.changed_chunks()
    _m._verify(editor, new_chunks)
    structural = "".join(new_chunks.get(chunk.index, editor.chunk_text(chunk)) for chunk in editor.chunks)
    env_edit = _m.edit_manifest(structural, plan, path=path)
    for key in env_edit.changed_keys:
        result.changes.append("%s: %s -> %s (%s)" % (key, env_edit.previous.get(key) or "unset", plan[key],
                                                     env_edit.locations.get(key, where)))
    result.text = env_edit.text
    return result


# --- the operator's Installation --------------------------------------------


def _yaml_scalar(value: str) -> str:
    return _m._render_scalar(value, "")


def _render_block(key: str, value: Any, col: int, newline: str) -> str:
    pad = " " * col
    if isinstance(value, dict):
        out = pad + key + ":" + newline
        for sub_key, sub_value in value.items():
            out += _render_block(sub_key, sub_value, col + 2, newline)
        return out
    if isinstance(value, list):
        out = pad + key + ":" + newline
        for item in value:
            lines = "".join(_render_block(k, v, col + 4, newline) for k, v in item.items())
            out += " " * (col + 2) + "- " + lines[col + 4:]
        return out
    return pad + key + ": " + _yaml_scalar(str(value)) + newline


def _entry_end(lines: Sequence[str], line: int, col: int) -> int:
    """The line after a mapping entry at ``line``/``col``, its block value included (also an unindented list)."""
    end = line + 1
    index = line + 1
    while index < len(lines):
        content = _m._content(lines[index])
        stripped = content.lstrip(" ")
        if stripped and not stripped.startswith("#"):
            indent = len(content) - len(stripped)
            if indent < col or (indent == col and not stripped.startswith("- ") and stripped != "-"):
                break
            end = index + 1
        index += 1
    return end


class _InstallationEditor:
    def __init__(self, editor: Any, doc: Any, where: str, changes: List[str]) -> None:
        self.editor = editor
        self.doc = doc
        self.where = where
        self.changes = changes
        self.newline = _m._newline(editor.lines)

    def set(self, mapping: Any, path: Tuple[Any, ...], key: str, value: Any) -> None:
        """Give ``mapping[key]`` the value ``value`` (a string, or a dict/list to add), splicing the text."""
        label = "/".join(str(p) for p in path + (key,))
        if not isinstance(mapping, dict) or not hasattr(mapping, "lc") or (mapping and mapping.fa.flow_style()) or not mapping:
            raise ManifestError("%s: %s is written as a flow or empty mapping; write it as a block mapping"
                                % (self.where, "/".join(map(str, path)) or "the document"))
        if key in mapping:
            old = mapping[key]
            if isinstance(value, dict) and isinstance(old, dict):
                for sub_key, sub_value in value.items():
                    self.set(old, path + (key,), sub_key, sub_value)
                return
            if not isinstance(value, str) or isinstance(old, (dict, list)):
                raise ManifestError("%s: %s is %r; expected a string" % (self.where, label, old))
            if str(old) == value:
                return
            line, col = mapping.lc.value(key)
            self.editor.replace_scalar(self.doc.line(line), col, value)
            self.editor.op(self.doc, "set", path + (key,), value)
            self.changes.append("%s: %s %s -> %s" % (self.where, label, old, value))
            return
        last = list(mapping.keys())[-1]
        line, col = mapping.lc.key(last)
        end = _entry_end(self.editor.lines, self.doc.line(line), col)
        insert_at = self.editor.starts[end]
        prefix = "" if self.editor.text[:insert_at].endswith("\n") else self.newline
        self.editor.add(insert_at, insert_at, prefix + _render_block(key, value, col, self.newline))
        self.editor.op(self.doc, "set", path + (key,), value)
        self.changes.append("%s: %s added (%s)" % (self.where, label, json.dumps(value, sort_keys=False)))


def _is_ipv4(cidr: Any) -> bool:
    try:
        return ipaddress.ip_network(str(cidr), strict=False).version == 4
    except ValueError:
        return False


def convert_installation(text: str, path: str = "manifest", cluster_cidr: Optional[str] = None) -> Conversion:
    """Every operator ``Installation`` in ``text`` gets BGP off, host-local IPAM, no encapsulation, the cluster CIDR."""
    _m._check_syntax(text, path)
    if cluster_cidr:
        cluster_cidr = _cidr(cluster_cidr, "use the cluster's --cluster-cidr, for example 10.244.0.0/16")
    editor = _m._Editor(text, path)
    result = Conversion(text=text, kind="installation")
    found = 0
    for chunk in editor.chunks:
        chunk_text = editor.chunk_text(chunk)
        if not _INSTALLATION.search(chunk_text):
            continue
        for position, node in enumerate(_m._load_all(chunk_text, path, "rt", chunk.start_line)):
            if not isinstance(node, dict) or node.get("kind") != "Installation":
                continue
            if not str(node.get("apiVersion", "")).startswith("operator.tigera.io/"):
                continue
            found += 1
            doc = _m._Doc(node, chunk, position)
            _convert_one_installation(_InstallationEditor(editor, doc, "Installation %s" % (
                (node.get("metadata") or {}).get("name") or "?"), result.changes), node, cluster_cidr)
    if not found:
        raise ManifestError("%s has no operator.tigera.io Installation resource" % path)
    new_chunks = editor.changed_chunks()
    _m._verify(editor, new_chunks)
    result.text = "".join(new_chunks.get(chunk.index, editor.chunk_text(chunk)) for chunk in editor.chunks)
    return result


def _convert_one_installation(edit: _InstallationEditor, node: Any, cluster_cidr: Optional[str]) -> None:
    spec = node.get("spec")
    if not isinstance(spec, dict):
        raise ManifestError("%s has no spec mapping; add spec: with calicoNetwork first" % edit.where)
    network = spec.get("calicoNetwork")
    pools = network.get("ipPools") if isinstance(network, dict) else None
    if not pools:
        if not cluster_cidr:
            raise ManifestError("%s has no spec.calicoNetwork.ipPools; set cluster_cidr so a pool without "
                                "encapsulation can be added" % edit.where)
        new_pool = {"name": "default-ipv4-ippool", "cidr": cluster_cidr, "encapsulation": "None"}
        if isinstance(network, dict):
            edit.set(network, ("spec", "calicoNetwork"), "bgp", "Disabled")
            edit.set(network, ("spec", "calicoNetwork"), "ipPools", [new_pool])
        else:
            edit.set(spec, ("spec",), "calicoNetwork", {"bgp": "Disabled", "ipPools": [new_pool]})
    else:
        edit.set(network, ("spec", "calicoNetwork"), "bgp", "Disabled")
        ipv4 = [i for i, pool in enumerate(pools) if isinstance(pool, dict) and _is_ipv4(pool.get("cidr"))]
        if cluster_cidr and len(ipv4) > 1:
            raise ManifestError("%s has %d IPv4 pools; cluster_cidr can replace the CIDR of one only, keep one IPv4 pool"
                                % (edit.where, len(ipv4)))
        for index, pool in enumerate(pools):
            if not isinstance(pool, dict):
                raise ManifestError("%s: spec.calicoNetwork.ipPools[%d] is not a mapping" % (edit.where, index))
            where = ("spec", "calicoNetwork", "ipPools", index)
            edit.set(pool, where, "encapsulation", "None")
            if cluster_cidr and index in ipv4:
                edit.set(pool, where, "cidr", cluster_cidr)
    cni = {"type": "Calico", "ipam": {"type": "HostLocal"}}
    edit.set(spec, ("spec",), "cni", cni)


# Allowed values of the fields the conversion sets, from the Installation CRD
# (operator.tigera.io_installations.crd.yaml of v3.32.1); the unit tests
# validate the converted resources against the full CRD schema.
INSTALLATION_ENUMS = {
    ("calicoNetwork", "bgp"): ("Enabled", "Disabled"),
    ("cni", "type"): ("Calico", "GKE", "AmazonVPC", "AzureVNET"),
    ("cni", "ipam", "type"): ("Calico", "HostLocal", "AmazonVPC", "AzureVNET"),
    ("calicoNetwork", "ipPools", "encapsulation"): ("IPIPCrossSubnet", "IPIP", "VXLAN", "VXLANCrossSubnet", "None"),
}


def installation_problems(spec: Any) -> List[str]:
    """What in an Installation's spec breaks the CRD's rules for the fields the conversion sets."""
    problems = []
    spec = spec if isinstance(spec, dict) else {}
    network = spec.get("calicoNetwork") or {}
    cni = spec.get("cni") or {}
    checks = [
        (("calicoNetwork", "bgp"), network.get("bgp")),
        (("cni", "type"), cni.get("type")),
        (("cni", "ipam", "type"), (cni.get("ipam") or {}).get("type")),
    ] + [(("calicoNetwork", "ipPools", "encapsulation"), p.get("encapsulation")) for p in network.get("ipPools") or []]
    for path, value in checks:
        if value is not None and value not in INSTALLATION_ENUMS[path]:
            problems.append("spec.%s is %s; the CRD allows %s" % (".".join(path), value, ", ".join(INSTALLATION_ENUMS[path])))
    if cni.get("type") not in (None, "Calico") and (cni.get("ipam") or {}).get("type") == "HostLocal":
        problems.append("spec.cni.ipam.type HostLocal needs spec.cni.type Calico")
    return problems


def convert(text: str, path: str = "manifest", cluster_cidr: Optional[str] = None,
            calico_version: Optional[str] = None) -> Conversion:
    """A manifest or an operator Installation file, whichever ``text`` is."""
    if _INSTALLATION.search(text):
        result = convert_installation(text, path, cluster_cidr)
        if calico_version:
            try:
                parse_calico_version(calico_version)
            except CalicoVersionError as exc:
                raise ManifestError(str(exc))
            result.calico_version, result.version_source = calico_version, "option"
        for doc in _m._load_all(result.text, path, "safe"):
            if isinstance(doc, dict) and doc.get("kind") == "Installation":
                problems = installation_problems(doc.get("spec"))
                if problems:
                    raise ManifestError("%s: the converted Installation breaks the CRD: %s" % (path, "; ".join(problems)))
        return result
    return convert_manifest(text, path, cluster_cidr, calico_version)
