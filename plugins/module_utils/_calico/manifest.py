# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Set calico-node's environment in a Kubernetes manifest, keeping every other byte.

Needs ``ruamel.yaml``; the module imports this file only for manifests, so hosts
that edit env files need no YAML library, and without ruamel.yaml this file
still imports with ``HAS_RUAMEL_YAML`` False. ruamel.yaml's round-trip loader gives the line and column of every
node; the edit is then spliced into the original text at those positions, so
comments, quoting, indentation, document markers and field order of everything
else stay byte-for-byte what they were (a full re-dump would re-flow long
lines and re-indent). The result is parsed again and compared with the
original data plus exactly the intended change; any other difference aborts
the edit.

Only the documents that can matter (those naming a DaemonSet or a ConfigMap)
are parsed with ruamel.yaml, whose round-trip loader is pure Python and takes
seconds on the CRDs that make up most of an upstream ``calico.yaml``; the
whole file is still checked to be valid YAML with PyYAML's C parser when it is
there (it ships with Ansible on the controller).

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


def _scalar_span(line: str, col: int, where: str) -> Tuple[int, int, str]:
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
        "%s: the value is not a one-line scalar (block scalar, alias, tag or multi-line quote); "
        "change it by hand once, later runs will keep it" % where
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


class _Chunk:
    """The lines of one YAML document (from its ``---`` line to the next one)."""

    def __init__(self, index: int, start_line: int, end_line: int, start: int, end: int) -> None:
        self.index = index
        self.start_line = start_line  # first line, in the whole file
        self.end_line = end_line  # exclusive
        self.start = start  # offsets in the whole text
        self.end = end


class _Doc:
    """A parsed document and where its chunk starts, to turn node marks into file lines."""

    def __init__(self, node: Any, chunk: _Chunk, position: int) -> None:
        self.node = node
        self.chunk = chunk
        self.position = position  # index among the documents of its chunk

    def line(self, mark_line: int) -> int:
        return self.chunk.start_line + mark_line


_DOCUMENT_START = re.compile(r"^---(?:[ \t]|$)")
# A document that might hold the DaemonSet or a ConfigMap it refers to.
_CANDIDATE = re.compile(r"\b(?:DaemonSet|ConfigMap)\b")


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
        # (chunk index, document position, operation, path into the document, argument)
        self.semantic_ops: List[Tuple[int, int, str, Tuple[Any, ...], Any]] = []
        self.chunks = self._chunks()

    def _chunks(self) -> List[_Chunk]:
        breaks = [0] + [i for i, line in enumerate(self.lines) if i and _DOCUMENT_START.match(line)] + [len(self.lines)]
        chunks = []
        for first, end in zip(breaks, breaks[1:]):
            if end > first or not chunks:
                chunks.append(_Chunk(len(chunks), first, end, self.starts[first], self.starts[end]))
        return chunks

    def chunk_text(self, chunk: _Chunk) -> str:
        return self.text[chunk.start:chunk.end]

    def offset(self, line: int, col: int) -> int:
        return self.starts[line] + col

    def add(self, start: int, end: int, text: str) -> None:
        self.splices.append(_Splice(start, end, text, len(self.splices)))

    def op(self, doc: _Doc, operation: str, path: Tuple[Any, ...], argument: Any) -> None:
        self.semantic_ops.append((doc.chunk.index, doc.position, operation, path, argument))

    def _apply(self, text: str, base: int, splices: Sequence[_Splice]) -> str:
        for splice in sorted(splices, key=lambda s: (s.start, s.order), reverse=True):
            text = text[:splice.start - base] + splice.text + text[splice.end - base:]
        return text

    def changed_chunks(self) -> Dict[int, str]:
        """New text of every chunk a splice touches; an insertion at a boundary belongs to the chunk before it."""
        by_chunk: Dict[int, List[_Splice]] = {}
        for splice in self.splices:
            for chunk in self.chunks:
                inside = chunk.start <= splice.start < chunk.end
                appended = splice.start == splice.end == chunk.end
                if inside or appended:
                    if splice.end > chunk.end:
                        raise ManifestError("%s: an edit crosses a document boundary" % self.path)
                    by_chunk.setdefault(chunk.index, []).append(splice)
                    break
        return {
            index: self._apply(self.chunk_text(self.chunks[index]), self.chunks[index].start, splices)
            for index, splices in by_chunk.items()
        }

    def replace_scalar(self, line: int, col: int, value: str) -> None:
        if line >= len(self.lines):
            raise ManifestError("%s: a value points past the end of the file" % self.path)
        start, end, style = _scalar_span(self.lines[line], col, "%s line %d" % (self.path, line + 1))
        self.add(self.offset(line, start), self.offset(line, end), _render_scalar(value, style))


def _load_all(text: str, path: str, typ: str, first_line: int = 0) -> List[Any]:
    yaml = YAML(typ=typ, pure=True)
    if typ == "rt":
        yaml.preserve_quotes = True
    try:
        docs = list(yaml.load_all(text))
    except YAMLError as exc:
        where = " (in the document starting at line %d)" % (first_line + 1) if first_line else ""
        raise ManifestError("%s is not valid YAML%s: %s" % (path, where, " ".join(str(exc).split())))
    for doc in docs:
        size = expanded_size(doc)
        if size > MAX_EXPANDED_NODES:
            raise ManifestError(
                "%s: a document (starting at line %d) expands its YAML aliases to more than %d values; "
                "aliases that multiply like this (a \"billion laughs\" document) are refused, write the values out"
                % (path, first_line + 1, MAX_EXPANDED_NODES)
            )
    return docs


# Upstream calico.yaml (v3.32.1, 350 KB) has about 60,000 values and no aliases;
# a manifest whose aliases expand past this is not a manifest but an attack.
MAX_EXPANDED_NODES = 2000000


def expanded_size(root: Any) -> int:
    """How many values ``root`` has with every alias written out, in time linear in the distinct nodes.

    Loaders build an alias as a second reference to the same object, so the
    expanded size of a node is computed once per object (memoised by id) and
    never by walking the expansion, which is what makes comparing a "billion
    laughs" document take minutes.
    """
    sizes: Dict[int, int] = {}
    visiting = set()
    stack: List[Tuple[Any, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if isinstance(node, dict):
            children = [v for pair in node.items() for v in pair]
        elif isinstance(node, list):
            children = list(node)
        else:
            continue  # a scalar counts 1, below
        if children_done:
            visiting.discard(key)
            sizes[key] = min(1 + sum(sizes.get(id(c), 1) for c in children), MAX_EXPANDED_NODES + 1)
            continue
        if key in sizes:
            continue
        visiting.add(key)
        stack.append((node, True))
        for child in children:
            if id(child) in visiting:  # a recursive alias: its expansion never ends
                return MAX_EXPANDED_NODES + 1
            if isinstance(child, (dict, list)) and id(child) not in sizes:
                stack.append((child, False))
    return sizes.get(id(root), 1)


def _check_syntax(text: str, path: str) -> None:
    """The whole file must be YAML, also the documents not parsed with ruamel.yaml."""
    try:
        import yaml as pyyaml  # PyYAML: an ansible-core requirement, C-accelerated
        loader = pyyaml.CSafeLoader
    except (ImportError, AttributeError):
        return  # the candidate documents are still parsed and verified
    try:
        for _event in pyyaml.parse(text, Loader=loader):
            pass
    except pyyaml.YAMLError as exc:
        raise ManifestError("%s is not valid YAML: %s" % (path, " ".join(str(exc).split())))


def _parse_candidates(editor: _Editor) -> List[_Doc]:
    docs: List[_Doc] = []
    for chunk in editor.chunks:
        text = editor.chunk_text(chunk)
        if not _CANDIDATE.search(text):
            continue
        for position, node in enumerate(_load_all(text, editor.path, "rt", chunk.start_line)):
            docs.append(_Doc(node, chunk, position))
    return docs


def _find_calico_node(docs: Sequence[_Doc], path: str) -> Tuple[_Doc, int, Any]:
    found = []
    kinds = []
    for doc in docs:
        node = doc.node
        if not isinstance(node, dict):
            continue
        kinds.append(str(node.get("kind")))
        if node.get("kind") != "DaemonSet":
            continue
        try:
            containers = node["spec"]["template"]["spec"]["containers"]
        except (KeyError, TypeError):
            continue
        for container_index, container in enumerate(containers or []):
            if isinstance(container, dict) and container.get("name") == CALICO_NODE_CONTAINER:
                found.append((doc, container_index, container))
    if not found:
        raise ManifestError(
            "%s has no DaemonSet with a calico-node container (DaemonSets and ConfigMaps found: %s); point path at "
            "the manifest that deploys calico-node (calico.yaml, canal.yaml, calico-policy-only.yaml)"
            % (path, ", ".join(kinds) or "none")
        )
    if len(found) > 1:
        raise ManifestError(
            "%s has %d DaemonSets with a calico-node container (%s); keep one per file so the change is unambiguous"
            % (path, len(found), ", ".join(_name(f[0].node) for f in found))
        )
    return found[0]


def _find_configmap(docs: Sequence[Any], name: str, namespace: str) -> Optional[Any]:
    """The ConfigMap ``namespace/name`` among ``docs`` (parsed nodes or _Doc objects)."""
    for doc in docs:
        node = doc.node if isinstance(doc, _Doc) else doc
        if not isinstance(node, dict) or node.get("kind") != "ConfigMap":
            continue
        meta = node.get("metadata") or {}
        if meta.get("name") == name and (meta.get("namespace") or "default") == namespace:
            return doc
    return None


def _env_value(item: Any, docs: Sequence[Any], namespace: str) -> Optional[str]:
    """The value calico-node gets from an env item, or None if not knowable from this file."""
    if "value" in item:
        value = item.get("value")
        return "" if value is None else str(value)
    ref = (item.get("valueFrom") or {}).get("configMapKeyRef")
    if isinstance(ref, dict):
        found = _find_configmap(docs, str(ref.get("name")), namespace)
        if found is not None:
            node = found.node if isinstance(found, _Doc) else found
            data = node.get("data") or {}
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


def _item_start(env: Any, index: int, doc: _Doc, lines: Sequence[str]) -> Tuple[int, int]:
    """(file line, column of the dash) of env item ``index``."""
    mark_line, col = env.lc.item(index)
    line = doc.line(mark_line)
    text = _content(lines[line])
    dash = text.rfind("-", 0, col)
    if dash < 0 or text[dash + 1:col].strip(" "):
        raise ManifestError("line %d: cannot find the '-' of env item %d" % (line + 1, index))
    return line, dash


ENV_PATH = ("spec", "template", "spec", "containers")


class _EnvTarget:
    """The calico-node container's env list being edited, and everything the edit steps share."""

    def __init__(self, text: str, path: str) -> None:
        self.path = path
        self.editor = _Editor(text, path)
        self.docs = _parse_candidates(self.editor)
        self.ds_doc, self.container_index, container = _find_calico_node(self.docs, path)
        daemonset = self.ds_doc.node
        self.ds_name = _name(daemonset)
        self.namespace = ((daemonset.get("metadata") or {}).get("namespace")) or "default"
        self.env = _env_list(container, self.ds_name)
        self.env_path = ENV_PATH + (self.container_index, "env")
        self.newline = _newline(self.editor.lines)
        self.where = "DaemonSet %s container %s" % (self.ds_name, CALICO_NODE_CONTAINER)
        self.result = ManifestEdit(text=text, previous={}, daemonset=self.ds_name)

    def items_named(self, key: str) -> List[int]:
        return [i for i, item in enumerate(self.env) if isinstance(item, dict) and item.get("name") == key]


def edit_manifest(text: str, set_vars: Dict[str, str], unset_vars: Sequence[str] = (), path: str = "manifest") -> ManifestEdit:
    """Set ``set_vars`` and remove ``unset_vars`` in the calico-node container of ``text``."""
    _check_syntax(text, path)
    target = _EnvTarget(text, path)
    _record_previous(target, list(set_vars) + list(unset_vars))
    appended: List[Tuple[str, str]] = []
    for key, value in set_vars.items():
        found = target.items_named(key)
        if not found:
            appended.append((key, value))
            target.result.changed_keys.append(key)
            target.result.locations[key] = "%s env (added)" % target.where
        elif "value" in target.env[found[-1]]:
            _set_inline_value(target, key, found[-1], value)
        else:
            _set_configmap_value(target, key, target.env[found[-1]], value)
    _remove_items(target, unset_vars)
    _append_items(target, appended)

    new_chunks = target.editor.changed_chunks()
    _verify(target.editor, new_chunks)
    editor = target.editor
    target.result.text = "".join(new_chunks.get(chunk.index, editor.chunk_text(chunk)) for chunk in editor.chunks)
    _record_effective_after(target, new_chunks, list(set_vars) + list(unset_vars))
    return target.result


def _record_previous(target: _EnvTarget, keys: Sequence[str]) -> None:
    """Each managed variable's value before the edit, and the lines of every duplicate item."""
    result = target.result
    for key in keys:
        found = target.items_named(key)
        result.previous[key] = _env_value(target.env[found[-1]], target.docs, target.namespace) if found else None
        if len(found) > 1:
            result.duplicates[key] = [_item_start(target.env, i, target.ds_doc, target.editor.lines)[0] + 1
                                      for i in found]


def _set_inline_value(target: _EnvTarget, key: str, index: int, value: str) -> None:
    item = target.env[index]
    if "valueFrom" in item:
        raise ManifestError("%s: env %s has both value and valueFrom; fix it by hand first" % (target.where, key))
    line, col = item.lc.value("value")
    target.result.locations[key] = "%s env (inline value, line %d)" % (target.where, target.ds_doc.line(line) + 1)
    if target.result.previous[key] == value:
        return
    if item.get("value") is None:
        raise ManifestError("%s: env %s has an empty value; write value: \"\" or remove it first" % (target.where, key))
    target.editor.replace_scalar(target.ds_doc.line(line), col, value)
    target.editor.op(target.ds_doc, "set", target.env_path + (index, "value"), value)
    target.result.changed_keys.append(key)


def _set_configmap_value(target: _EnvTarget, key: str, item: Any, value: str) -> None:
    """A variable that comes from a configMapKeyRef is set in that ConfigMap, in the same file."""
    where, editor = target.where, target.editor
    ref = (item.get("valueFrom") or {}).get("configMapKeyRef")
    if not isinstance(ref, dict) or not ref.get("name") or not ref.get("key"):
        source = ", ".join(sorted((item.get("valueFrom") or {}).keys())) or "nothing"
        raise ManifestError(
            "%s: env %s comes from %s; only inline values and configMapKeyRef are changed, "
            "so set it where that source is defined" % (where, key, source)
        )
    cm_name, cm_key = str(ref["name"]), str(ref["key"])
    cm_doc = _find_configmap(target.docs, cm_name, target.namespace)
    if cm_doc is None:
        raise ManifestError(
            "%s: env %s comes from ConfigMap %s/%s key %s, which is not in %s; "
            "change that ConfigMap, or point path at the manifest that defines it"
            % (where, key, target.namespace, cm_name, cm_key, target.path)
        )
    data = cm_doc.node.get("data")
    if not data or not hasattr(data, "lc"):
        raise ManifestError("ConfigMap %s/%s has no data mapping to hold %s" % (target.namespace, cm_name, cm_key))
    target.result.locations[key] = "ConfigMap %s/%s key %s" % (target.namespace, cm_name, cm_key)
    if cm_key in data:
        if target.result.previous[key] == value:
            return
        line, col = data.lc.value(cm_key)
        editor.replace_scalar(cm_doc.line(line), col, value)
    else:
        # Append the key after the last entry of data, at the same indentation.
        line, col = data.lc.key(list(data.keys())[-1])
        end = _block_end(editor.lines, cm_doc.line(line), col)
        insert_at = editor.starts[end]
        prefix = "" if editor.text[:insert_at].endswith("\n") else target.newline
        editor.add(insert_at, insert_at,
                   prefix + " " * col + cm_key + ": " + _render_scalar(value, '"') + target.newline)
    editor.op(cm_doc, "set", ("data", cm_key), value)
    target.result.changed_keys.append(key)


def _comment_start(target: _EnvTarget, line: int, dash_col: int) -> int:
    """The first of the comment lines right above an item (they describe it and go with it)."""
    start = line
    while start > target.ds_doc.chunk.start_line:
        above = _content(target.editor.lines[start - 1])
        stripped = above.lstrip(" ")
        if (stripped.startswith("#") and len(above) - len(stripped) == dash_col
                and not stripped.lstrip("# ").startswith("- name:")):
            start -= 1
            continue
        break
    return start


def _remove_items(target: _EnvTarget, unset_vars: Sequence[str]) -> None:
    removed_items: List[int] = []
    editor = target.editor
    for key in unset_vars:
        found = target.items_named(key)
        if not found:
            continue
        target.result.changed_keys.append(key)
        target.result.locations[key] = "%s env (removed)" % target.where
        for index in found:
            line, dash_col = _item_start(target.env, index, target.ds_doc, editor.lines)
            end = _block_end(editor.lines, line, dash_col)
            editor.add(editor.starts[_comment_start(target, line, dash_col)], editor.starts[end], "")
            removed_items.append(index)
    if removed_items:
        editor.op(target.ds_doc, "remove", target.env_path, removed_items)


def _append_items(target: _EnvTarget, appended: Sequence[Tuple[str, str]]) -> None:
    """New variables go after the last env item, in its layout (dash and name columns)."""
    if not appended:
        return
    editor, env, newline = target.editor, target.env, target.newline
    last = len(env) - 1
    line, dash_col = _item_start(env, last, target.ds_doc, editor.lines)
    end = _block_end(editor.lines, line, dash_col)
    last_item = env[last]
    name_col = last_item.lc.key("name")[1] if "name" in last_item else dash_col + 2
    insert_at = editor.starts[end]
    text_block = "" if editor.text[:insert_at].endswith("\n") or insert_at == 0 else newline
    for key, value in appended:
        text_block += " " * dash_col + "-" + " " * (name_col - dash_col - 1) + "name: " + key + newline
        text_block += " " * name_col + "value: " + _render_scalar(value, '"') + newline
        editor.op(target.ds_doc, "append", target.env_path, {"name": key, "value": value})
    editor.add(insert_at, insert_at, text_block)


def _record_effective_after(target: _EnvTarget, new_chunks: Dict[int, str], keys: Sequence[str]) -> None:
    """What calico-node sees after the edit, read back from the new text (managed and encapsulation variables)."""
    editor = target.editor
    after_docs = [
        node
        for chunk in editor.chunks
        if chunk.index in new_chunks or _CANDIDATE.search(editor.chunk_text(chunk))
        for node in _load_all(new_chunks.get(chunk.index, editor.chunk_text(chunk)), target.path, "safe", chunk.start_line)
    ]
    after_ds = [
        d for d in after_docs if isinstance(d, dict) and d.get("kind") == "DaemonSet" and _name(d) == target.ds_name
    ][0]
    after_env = after_ds["spec"]["template"]["spec"]["containers"][target.container_index].get("env") or []
    for name in list(keys) + ["CALICO_IPV4POOL_IPIP", "CALICO_IPV4POOL_VXLAN", "CALICO_IPV6POOL_VXLAN"]:
        items = [i for i in after_env if isinstance(i, dict) and i.get("name") == name]
        target.result.effective_after[name] = _env_value(items[-1], after_docs, target.namespace) if items else None


def _walk(node: Any, path: Tuple[Any, ...]) -> Any:
    for step in path:
        node = node[step]
    return node


def _verify(editor: _Editor, new_chunks: Dict[int, str]) -> None:
    """Parse every changed document before and after: after must be before plus exactly the planned ops."""
    touched = set(new_chunks) | {op[0] for op in editor.semantic_ops}
    for index in sorted(touched):
        chunk = editor.chunks[index]
        before = _load_all(editor.chunk_text(chunk), editor.path, "safe", chunk.start_line)
        after_text = new_chunks.get(index, editor.chunk_text(chunk))
        after = _load_all(after_text, editor.path, "safe", chunk.start_line)
        expected = copy.deepcopy(before)
        ops = [op for op in editor.semantic_ops if op[0] == index]
        for _chunk, position, operation, path, argument in ops:
            if operation == "set":
                parent = _walk(expected[position], path[:-1])
                if parent is None:
                    raise ManifestError("%s: nowhere to set %s" % (editor.path, "/".join(map(str, path))))
                parent[path[-1]] = argument
        for _chunk, position, operation, path, argument in ops:
            if operation == "remove":
                target = _walk(expected[position], path)
                for item in sorted(set(argument), reverse=True):
                    del target[item]
        for _chunk, position, operation, path, argument in ops:
            if operation == "append":
                _walk(expected[position], path).append(argument)
        if after != expected:
            raise ManifestError(
                "%s: the in-place edit would change more than the requested variables (unusual line breaks or "
                "layout); the file is left untouched, edit it by hand or report the layout" % editor.path
            )
