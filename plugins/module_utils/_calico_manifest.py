# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Set calico-node's environment in a Kubernetes manifest, keeping every other byte.

Needs ``ruamel.yaml`` (imported by the caller, lazily, so env-file users do not
need it). ruamel.yaml's round-trip loader gives the line and column of every
node; the edit is then spliced into the original text at those positions, so
comments, quoting, indentation, document markers and field order of everything
else stay byte-for-byte what they were (a full re-dump would re-flow long
lines and re-indent). The result is parsed again and compared with the
original data plus exactly the intended change; any other difference aborts
the edit.

Where the value lives follows the manifest: an inline ``value`` is changed in
place; ``valueFrom.configMapKeyRef`` (upstream ``calico.yaml``: ConfigMap
``calico-config``, key ``calico_backend``) changes that key of the ConfigMap
in the same file; a missing variable is appended to the calico-node
container's ``env`` list in the style of the item before it.
"""

from __future__ import annotations

import copy
import re
import traceback
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

try:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError
except ImportError:  # the module reports missing_required_lib('ruamel.yaml')
    HAS_RUAMEL_YAML = False
    RUAMEL_YAML_IMPORT_ERROR: Optional[str] = traceback.format_exc()

    class YAMLError(Exception):  # type: ignore[no-redef]
        """Stand-in so this file imports without ruamel.yaml; never raised."""

else:
    HAS_RUAMEL_YAML = True
    RUAMEL_YAML_IMPORT_ERROR = None

CALICO_NODE_CONTAINER = "calico-node"

_LINE_RE = re.compile(r"[^\n]*\n|[^\n]+\Z")
# Plain scalars that YAML resolves to something other than a string: an env
# value written like this would be rejected by the API server.
_NON_STRING_PLAIN = re.compile(
    r"^(?:~|null|true|false|yes|no|on|off|y|n|[-+]?(?:\d[\d_]*)?\.?\d[\d_]*(?:[eE][-+]?\d+)?|0x[0-9a-fA-F]+|0o[0-7]+|[-+]?\.(?:inf|nan))$",
    re.IGNORECASE,
)
_SAFE_PLAIN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_./:,=+-]*$")


class ManifestError(ValueError):
    """The manifest cannot be edited safely; the message says what to fix."""


@dataclass
class _Splice:
    start: int
    end: int
    text: str
    order: int


@dataclass
class ManifestEdit:
    """What :func:`edit_manifest` did."""

    text: str
    previous: Dict[str, Optional[str]]
    daemonset: str
    changed_keys: List[str] = field(default_factory=list)
    locations: Dict[str, str] = field(default_factory=dict)
    duplicates: Dict[str, List[int]] = field(default_factory=dict)
    effective_after: Dict[str, Optional[str]] = field(default_factory=dict)


def _split_lines(text: str) -> List[str]:
    return _LINE_RE.findall(text)


def _content(line: str) -> str:
    return line.rstrip("\r\n")


def _newline(lines: Sequence[str]) -> str:
    crlf = sum(1 for line in lines if line.endswith("\r\n"))
    lf = sum(1 for line in lines if line.endswith("\n")) - crlf
    return "\r\n" if crlf > lf else "\n"


def _name(obj: Any) -> str:
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    meta = meta if isinstance(meta, dict) else {}
    return "%s/%s" % (meta.get("namespace") or "default", meta.get("name") or "?")


def _render_scalar(value: str, style: str) -> str:
    """YAML text for the string ``value``, in the quoting style the old value used."""
    if style == "'":
        return "'" + value.replace("'", "''") + "'"
    if style == "" and _SAFE_PLAIN.match(value) and not _NON_STRING_PLAIN.match(value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _scalar_span(line: str, col: int) -> Tuple[int, int, str]:
    """(start, end, style) of the one-line scalar starting at ``col`` of ``line``."""
    text = _content(line)
    char = text[col:col + 1]
    if char == '"':
        pos = col + 1
        while pos < len(text):
            if text[pos] == "\\":
                pos += 2
                continue
            if text[pos] == '"':
                return col, pos + 1, '"'
            pos += 1
    elif char == "'":
        pos = col + 1
        while pos < len(text):
            if text[pos] == "'":
                if text[pos + 1:pos + 2] == "'":
                    pos += 2
                    continue
                return col, pos + 1, "'"
            pos += 1
    elif char and char not in "|>&*!{[%@`#":
        end = len(text)
        comment = re.search(r"[ \t]#", text[col:])
        if comment:
            end = col + comment.start()
        return col, len(text[:end].rstrip(" \t")), ""
    raise ManifestError(
        "line %d: the value is not a one-line scalar (block scalar, alias, tag or multi-line quote); "
        "change it by hand once, later runs will keep it" % 0
    )


def _block_end(lines: Sequence[str], start: int, col: int) -> int:
    """Index of the line after the node that starts on ``start`` at indentation ``col``."""
    end = start + 1
    index = start + 1
    while index < len(lines):
        content = _content(lines[index])
        if content.strip():
            indent = len(content) - len(content.lstrip(" "))
            if indent <= col:
                break
            end = index + 1
        index += 1
    return end


class _Editor:
    def __init__(self, text: str, path: str) -> None:
        self.text = text
        self.path = path
        self.lines = _split_lines(text)
        self.starts: List[int] = []
        offset = 0
        for line in self.lines:
            self.starts.append(offset)
            offset += len(line)
        self.starts.append(offset)
        self.splices: List[_Splice] = []
        self.semantic_ops: List[Tuple[Any, ...]] = []

    def offset(self, line: int, col: int) -> int:
        return self.starts[line] + col

    def add(self, start: int, end: int, text: str) -> None:
        self.splices.append(_Splice(start, end, text, len(self.splices)))

    def apply(self) -> str:
        out = self.text
        for splice in sorted(self.splices, key=lambda s: (s.start, s.order), reverse=True):
            out = out[:splice.start] + splice.text + out[splice.end:]
        return out

    def replace_scalar(self, line: int, col: int, value: str) -> None:
        if line >= len(self.lines):
            raise ManifestError("%s: a value points past the end of the file" % self.path)
        try:
            start, end, style = _scalar_span(self.lines[line], col)
        except ManifestError as exc:
            raise ManifestError(str(exc).replace("line 0", "%s line %d" % (self.path, line + 1)))
        self.add(self.offset(line, start), self.offset(line, end), _render_scalar(value, style))


def _load_all(text: str, path: str, typ: str) -> List[Any]:
    yaml = YAML(typ=typ, pure=True)
    if typ == "rt":
        yaml.preserve_quotes = True
    try:
        return list(yaml.load_all(text))
    except YAMLError as exc:
        raise ManifestError("%s is not valid YAML: %s" % (path, " ".join(str(exc).split())))


def _find_calico_node(docs: Sequence[Any], path: str) -> Tuple[int, Any, int, Any]:
    found = []
    kinds = []
    for doc_index, doc in enumerate(docs):
        if not isinstance(doc, dict):
            continue
        kinds.append(str(doc.get("kind")))
        if doc.get("kind") != "DaemonSet":
            continue
        try:
            containers = doc["spec"]["template"]["spec"]["containers"]
        except (KeyError, TypeError):
            continue
        for container_index, container in enumerate(containers or []):
            if isinstance(container, dict) and container.get("name") == CALICO_NODE_CONTAINER:
                found.append((doc_index, doc, container_index, container))
    if not found:
        raise ManifestError(
            "%s has no DaemonSet with a calico-node container (documents: %s); point path at the "
            "manifest that deploys calico-node (calico.yaml, canal.yaml, calico-policy-only.yaml)"
            % (path, ", ".join(kinds) or "none")
        )
    if len(found) > 1:
        raise ManifestError(
            "%s has %d DaemonSets with a calico-node container (%s); keep one per file so the change is unambiguous"
            % (path, len(found), ", ".join(_name(f[1]) for f in found))
        )
    return found[0]


def _find_configmap(docs: Sequence[Any], name: str, namespace: str) -> Optional[Tuple[int, Any]]:
    for doc_index, doc in enumerate(docs):
        if not isinstance(doc, dict) or doc.get("kind") != "ConfigMap":
            continue
        meta = doc.get("metadata") or {}
        if meta.get("name") == name and (meta.get("namespace") or "default") == namespace:
            return doc_index, doc
    return None


def _env_value(item: Any, docs: Sequence[Any], namespace: str) -> Optional[str]:
    """The value calico-node gets from an env item, or None if not knowable from this file."""
    if "value" in item:
        value = item.get("value")
        return "" if value is None else str(value)
    ref = (item.get("valueFrom") or {}).get("configMapKeyRef")
    if isinstance(ref, dict):
        found = _find_configmap(docs, str(ref.get("name")), namespace)
        if found:
            data = found[1].get("data") or {}
            if ref.get("key") in data:
                return str(data[ref.get("key")])
    return None


def _env_list(container: Any, ds_name: str) -> Any:
    env = container.get("env")
    if not env or not hasattr(env, "lc") or env.fa.flow_style():
        raise ManifestError(
            "the calico-node container of DaemonSet %s has no block-style env list; add one "
            "(env: with at least one item) so variables can be added in place" % ds_name
        )
    return env


def _item_start(env: Any, index: int, lines: Sequence[str]) -> Tuple[int, int]:
    """(line, column of the dash) of env item ``index``."""
    line, col = env.lc.item(index)
    text = _content(lines[line])
    dash = text.rfind("-", 0, col)
    if dash < 0 or text[dash + 1:col].strip(" "):
        raise ManifestError("line %d: cannot find the '-' of env item %d" % (line + 1, index))
    return line, dash


def edit_manifest(text: str, set_vars: Dict[str, str], unset_vars: Sequence[str] = (), path: str = "manifest") -> ManifestEdit:
    """Set ``set_vars`` and remove ``unset_vars`` in the calico-node container of ``text``."""
    docs = _load_all(text, path, "rt")
    doc_index, daemonset, container_index, container = _find_calico_node(docs, path)
    ds_name = _name(daemonset)
    namespace = ((daemonset.get("metadata") or {}).get("namespace")) or "default"
    env = _env_list(container, ds_name)
    editor = _Editor(text, path)
    newline = _newline(editor.lines)
    result = ManifestEdit(text=text, previous={}, daemonset=ds_name)
    where = "DaemonSet %s container %s" % (ds_name, CALICO_NODE_CONTAINER)

    def items_named(key: str) -> List[int]:
        return [i for i, item in enumerate(env) if isinstance(item, dict) and item.get("name") == key]

    for key in list(set_vars) + list(unset_vars):
        found = items_named(key)
        result.previous[key] = _env_value(env[found[-1]], docs, namespace) if found else None
        if len(found) > 1:
            result.duplicates[key] = [_item_start(env, i, editor.lines)[0] + 1 for i in found]

    appended: List[Tuple[str, str]] = []
    for key, value in set_vars.items():
        found = items_named(key)
        if not found:
            appended.append((key, value))
            result.changed_keys.append(key)
            result.locations[key] = "%s env (added)" % where
            continue
        index = found[-1]
        item = env[index]
        if "value" in item and "valueFrom" in item:
            raise ManifestError("%s: env %s has both value and valueFrom; fix it by hand first" % (where, key))
        if "value" in item:
            result.locations[key] = "%s env (inline value, line %d)" % (where, item.lc.value("value")[0] + 1)
            if result.previous[key] == value:
                continue
            if item.get("value") is None:
                raise ManifestError("%s: env %s has an empty value; write value: \"\" or remove it first" % (where, key))
            line, col = item.lc.value("value")
            editor.replace_scalar(line, col, value)
            editor.semantic_ops.append(("env_value", index, value))
            result.changed_keys.append(key)
            continue
        ref = (item.get("valueFrom") or {}).get("configMapKeyRef")
        if not isinstance(ref, dict) or not ref.get("name") or not ref.get("key"):
            source = ", ".join(sorted((item.get("valueFrom") or {}).keys())) or "nothing"
            raise ManifestError(
                "%s: env %s comes from %s; only inline values and configMapKeyRef are changed, "
                "so set it where that source is defined" % (where, key, source)
            )
        cm_name, cm_key = str(ref["name"]), str(ref["key"])
        found_cm = _find_configmap(docs, cm_name, namespace)
        if not found_cm:
            raise ManifestError(
                "%s: env %s comes from ConfigMap %s/%s key %s, which is not in %s; "
                "change that ConfigMap, or point path at the manifest that defines it"
                % (where, key, namespace, cm_name, cm_key, path)
            )
        cm_index, configmap = found_cm
        data = configmap.get("data")
        if not data or not hasattr(data, "lc"):
            raise ManifestError("ConfigMap %s/%s has no data mapping to hold %s" % (namespace, cm_name, cm_key))
        result.locations[key] = "ConfigMap %s/%s key %s" % (namespace, cm_name, cm_key)
        if cm_key in data:
            if result.previous[key] == value:
                continue
            line, col = data.lc.value(cm_key)
            editor.replace_scalar(line, col, value)
        else:
            # Append the key after the last entry of data, at the same indentation.
            last_key = list(data.keys())[-1]
            line, col = data.lc.key(last_key)
            end = _block_end(editor.lines, line, col)
            insert_at = editor.starts[end]
            prefix = "" if editor.text[:insert_at].endswith("\n") else newline
            editor.add(insert_at, insert_at, prefix + " " * col + cm_key + ": " + _render_scalar(value, '"') + newline)
        editor.semantic_ops.append(("cm_value", cm_index, cm_key, value))
        result.changed_keys.append(key)

    removed_items: List[int] = []
    for key in unset_vars:
        found = items_named(key)
        if not found:
            continue
        result.changed_keys.append(key)
        result.locations[key] = "%s env (removed)" % where
        for index in found:
            line, dash_col = _item_start(env, index, editor.lines)
            end = _block_end(editor.lines, line, dash_col)
            # The comment lines right above an item describe it: remove them with it.
            start = line
            while start > 0:
                above = _content(editor.lines[start - 1])
                stripped = above.lstrip(" ")
                if stripped.startswith("#") and len(above) - len(stripped) == dash_col and not stripped.lstrip("# ").startswith("- name:"):
                    start -= 1
                    continue
                break
            editor.add(editor.starts[start], editor.starts[end], "")
            removed_items.append(index)

    if appended:
        last = len(env) - 1
        line, dash_col = _item_start(env, last, editor.lines)
        end = _block_end(editor.lines, line, dash_col)
        last_item = env[last]
        name_col = last_item.lc.key("name")[1] if "name" in last_item else dash_col + 2
        insert_at = editor.starts[end]
        text_block = "" if editor.text[:insert_at].endswith("\n") or insert_at == 0 else newline
        for key, value in appended:
            text_block += " " * dash_col + "-" + " " * (name_col - dash_col - 1) + "name: " + key + newline
            text_block += " " * name_col + "value: " + _render_scalar(value, '"') + newline
            editor.semantic_ops.append(("env_append", key, value))
        editor.add(insert_at, insert_at, text_block)
    if removed_items:
        editor.semantic_ops.append(("env_remove", removed_items))

    new_text = editor.apply() if editor.splices else text
    after_docs = _verify(text, new_text, editor.semantic_ops, doc_index, container_index, path)
    result.text = new_text
    after_container = after_docs[doc_index]["spec"]["template"]["spec"]["containers"][container_index]
    for name in list(set_vars) + list(unset_vars) + ["CALICO_IPV4POOL_IPIP", "CALICO_IPV4POOL_VXLAN", "CALICO_IPV6POOL_VXLAN"]:
        items = [i for i in after_container.get("env") or [] if isinstance(i, dict) and i.get("name") == name]
        result.effective_after[name] = _env_value(items[-1], after_docs, namespace) if items else None
    return result


def _verify(before: str, after: str, ops: Sequence[Tuple[Any, ...]], doc_index: int, container_index: int, path: str) -> List[Any]:
    """Parse both texts and prove that ``after`` is ``before`` plus exactly ``ops``."""
    expected = copy.deepcopy(_load_all(before, path, "safe"))
    actual = _load_all(after, path, "safe") if after != before else copy.deepcopy(expected)
    env = expected[doc_index]["spec"]["template"]["spec"]["containers"][container_index]["env"]
    removals: List[int] = []
    for op in ops:
        if op[0] == "env_value":
            env[op[1]]["value"] = op[2]
        elif op[0] == "cm_value":
            expected[op[1]].setdefault("data", {})[op[2]] = op[3]
    for op in ops:
        if op[0] == "env_remove":
            removals.extend(op[1])
    for index in sorted(set(removals), reverse=True):
        del env[index]
    for op in ops:
        if op[0] == "env_append":
            env.append({"name": op[1], "value": op[2]})
    if actual != expected:
        raise ManifestError(
            "%s: the in-place edit would change more than the requested variables (unusual line breaks or "
            "layout); the file is left untouched, edit it by hand or report the layout" % path
        )
    return actual
