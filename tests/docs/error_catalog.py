"""Every error message the collection can give, and where the user guide explains it.

Two halves, both plain Python (no Ansible import), so the test that uses them
runs anywhere:

- **Extraction.** Python sources are read with :mod:`ast`: ``fail_json(msg=...)``
  calls and ``raise SomeError(...)`` statements (the exception text reaches the
  user through ``fail_json(msg=str(error))`` in the modules). YAML task files of
  roles and playbooks are walked for ``ansible.builtin.assert`` (``fail_msg`` /
  ``msg``) and ``ansible.builtin.fail`` (``msg``), including tasks nested in
  ``block``/``rescue``/``always``.

- **Matching.** A message is a *template*: literal text with holes where the
  code puts a value (``%s``, ``{name}``, f-string fields, Jinja ``{{ ... }}``,
  string concatenation with a variable). It is stored as the literal fragments
  between the holes. The troubleshooting table documents a message when one
  cell of its first column contains every fragment of the template, in order,
  with anything (the doc's ``<vm>`` or ``...``) where the holes are.

Fragments lose the quotes, brackets and punctuation at their edges (how a
value is shown: ``'<group>'`` or ``(<group>)``), and fragments without a letter
or digit are dropped: they carry no meaning and would match anywhere.
Backticks are ignored on both sides so the guide can format names as code.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import yaml

# A hole in a message: printf-style (%s, %d, %(name)s, %r, %.1f) ...
_PRINTF_HOLE = re.compile(r"%(?:\([^)]*\))?[-#0+]*(?:\d+|\*)?(?:\.\d+)?[sdifrxXeEgGca]")
# ... str.format-style ({}, {0}, {name}, {name!r:>10}) ...
_FORMAT_HOLE = re.compile(r"\{[^{}]*\}")
# ... and Jinja (expressions, statements, comments).
_JINJA_HOLE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)

# Exceptions that signal a programming error, never a message for users.
PROGRAMMING_ERRORS = frozenset(
    {"AssertionError", "NotImplementedError", "TypeError", "AttributeError", "StopIteration", "SystemExit"}
)

# Lists of error texts: validation functions collect every problem and the module
# reports them in one fail_json ("errors.append(...)", "return [...]" from
# name_errors()); the names say what the list holds.
_ERROR_LIST_NAME = re.compile(r"(?i)(error|problem|failure)s?$")
_ERROR_FUNCTION_NAME = re.compile(r"(?i)(error|problem|failure)s?($|_)")

ASSERT_MODULES = frozenset({"assert", "ansible.builtin.assert", "ansible.legacy.assert"})
FAIL_MODULES = frozenset({"fail", "ansible.builtin.fail", "ansible.legacy.fail"})


@dataclass(frozen=True)
class Message:
    """One error message at one place in the code.

    ``parts`` are independent pieces of the message (a ``raise`` with several
    string arguments has one part per argument, since the exception's
    ``__str__`` may join them in any order); each part is its literal
    fragments in order.
    """

    source: str  # "path:line"
    kind: str  # fail_json | raise | assert | fail
    parts: tuple[tuple[str, ...], ...]
    text: str = field(default="", compare=False)  # the template as written, for reports

    @property
    def fragments(self) -> tuple[str, ...]:
        return tuple(f for part in self.parts for f in part)

    def __str__(self) -> str:
        return f"{self.source} [{self.kind}] {self.text}"


# --- fragments ---------------------------------------------------------------------------------


def normalise(text: str) -> str:
    """Compare text the way a reader does: no backticks, Markdown escapes undone, one space."""
    text = text.replace("`", "").replace("\\|", "|").replace("\\_", "_").replace("\\*", "*")
    return re.sub(r"\s+", " ", text).strip()


_EDGE_PUNCTUATION = " '\"`:;,.()[]"


def _meaningful(fragment: str) -> bool:
    return any(ch.isalnum() for ch in fragment)


def split_template(text: str, holes: Sequence[re.Pattern] = (_PRINTF_HOLE,)) -> list[str]:
    """The literal fragments of ``text`` around its holes, normalised, meaningless ones dropped."""
    pieces = [text]
    for hole in holes:
        pieces = [p for piece in pieces for p in hole.split(piece)]
    out = []
    for piece in pieces:
        if _PRINTF_HOLE in holes:
            piece = piece.replace("%%", "%")
        if _FORMAT_HOLE in holes:
            piece = piece.replace("{{", "{").replace("}}", "}")
        # Quotes, brackets and punctuation next to a hole belong to how the value is shown
        # ('<group>' or (<group>)); the words around it are what must be documented.
        piece = normalise(piece).strip(_EDGE_PUNCTUATION)
        if _meaningful(piece):
            out.append(piece)
    return out


# --- matching ----------------------------------------------------------------------------------


def _contains_in_order(haystack: str, fragments: Sequence[str]) -> bool:
    position = 0
    for fragment in fragments:
        found = haystack.find(fragment, position)
        if found < 0:
            return False
        position = found + len(fragment)
    return True


def documents(cell: str, message: Message) -> bool:
    """True when the table cell ``cell`` documents ``message``."""
    text = normalise(cell)
    return all(_contains_in_order(text, part) for part in message.parts if part)


def undocumented(messages: Iterable[Message], cells: Sequence[str]) -> list[Message]:
    """Messages no cell documents (messages without literal text cannot be checked and are skipped)."""
    return [m for m in messages if m.fragments and not any(documents(cell, m) for cell in cells)]


def table_cells(markdown: str, heading: str) -> list[str]:
    """The first-column cells of every table under ``heading`` (up to the next heading of its level)."""
    lines = markdown.splitlines()
    level = None
    inside = False
    cells: list[str] = []
    for line in lines:
        match = re.match(r"^(#+)\s+(.*)$", line)
        if match:
            if inside and len(match.group(1)) <= level:
                break
            if match.group(2).strip().lower() == heading.lower():
                inside, level = True, len(match.group(1))
            continue
        if not inside or not line.lstrip().startswith("|"):
            continue
        columns = _split_row(line)
        if not columns or set(columns[0].replace(" ", "")) <= set("-:"):
            continue  # the |---|---| separator
        cells.append(columns[0])
    if cells:
        cells = cells[1:]  # the header row
    return cells


def _split_row(line: str) -> list[str]:
    body = line.strip()
    if body.startswith("|"):
        body = body[1:]
    if body.endswith("|") and not body.endswith("\\|"):
        body = body[:-1]
    return [c.strip() for c in re.split(r"(?<!\\)\|", body)]


# --- Python extraction -------------------------------------------------------------------------


class _Template:
    """The literal fragments of a string expression, with holes where values go."""

    # The collection's functions by name, so fail_json(msg=failure_message(...)) is
    # followed into the function's return statements (set by python_messages).
    # Only a fail_json message is followed: arguments of exception classes are
    # data as often as text (AzureSdkMissing(pip_name_for_import_error(err))).
    functions: dict[str, ast.AST] = {}
    _following: set[str] = set()

    @staticmethod
    def of(node: ast.AST | None, env: dict[str, list[ast.AST]], holes: tuple = (), follow: bool = False) -> list[list[str]]:
        """Every template ``node`` can evaluate to (several for conditionals/re-assigned names).

        ``holes`` are the placeholder syntaxes that apply to a string constant
        here: printf holes on the left of ``%``, ``{}`` holes before ``.format``,
        none for a constant used as it is.
        """
        if node is None:
            return []
        if follow and isinstance(node, ast.Call) and _call_name(node.func) in _Template.functions:
            return _Template.returned(_call_name(node.func))
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return [split_template(node.value, holes)]
        if isinstance(node, ast.JoinedStr):  # f-string: constants are literal, FormattedValues are holes
            fragments: list[str] = []
            for value in node.values:
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    fragments.extend(split_template(value.value, ()))
            return [fragments]
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):  # "..." % args
            return _Template.of(node.left, env, (_PRINTF_HOLE,))
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):  # a + b: fragments of both, in order
            combos = []
            for left in _Template.of(node.left, env, holes, follow) or [[]]:
                for right in _Template.of(node.right, env, holes, follow) or [[]]:
                    combos.append(left + right)
            return combos
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
            return _Template.of(node.func.value, env, (_FORMAT_HOLE,))
        if isinstance(node, ast.IfExp):
            return _Template.of(node.body, env, holes, follow) + _Template.of(node.orelse, env, holes, follow)
        if isinstance(node, ast.Name) and node.id in env:
            out: list[list[str]] = []
            inner = {k: v for k, v in env.items() if k != node.id}  # no recursion through msg = msg + ...
            for assigned in env[node.id]:
                out.extend(_Template.of(assigned, inner, holes, follow))
            return out
        return []  # str(error), to_native(e), "; ".join(...): the text comes from elsewhere

    @staticmethod
    def returned(name: str) -> list[list[str]]:
        """The templates a collection function returns (``return msg`` with ``msg = ...; msg += ...``)."""
        if name in _Template._following:
            return []
        _Template._following.add(name)
        try:
            function = _Template.functions[name]
            env = _assignments(function)
            out: list[list[str]] = []
            for node in ast.walk(function):
                if isinstance(node, ast.Return) and node.value is not None:
                    out.extend(t for t in _Template.of(node.value, env, (), True) if t)
            return out
        finally:
            _Template._following.discard(name)


def _assignments(function: ast.AST) -> dict[str, list[ast.AST]]:
    """Names assigned string-ish expressions in ``function`` (``msg = ...``; ``msg += ...`` adds a part)."""
    env: dict[str, list[ast.AST]] = {}
    for node in ast.walk(function):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    env.setdefault(target.id, []).append(node.value)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            env.setdefault(node.target.id, []).append(node.value)
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) and isinstance(node.op, ast.Add):
            env.setdefault(node.target.id, []).append(node.value)  # each added sentence is checked on its own
    return env


def _call_name(func: ast.AST) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _enclosing_functions(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    parents: dict[ast.AST, ast.AST] = {}

    def visit(node: ast.AST, scope: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            parents[child] = scope
            visit(child, child if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else scope)

    visit(tree, tree)
    return parents


def error_classes(paths: Iterable[Path]) -> set[str]:
    """Exception classes the sources define (bases named *Error/*Exception, or one of these, transitively)."""
    bases_of: dict[str, set[str]] = {}
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.ClassDef):
                bases_of[node.name] = {_call_name(b) for b in node.bases}
    found = {name for name, bases in bases_of.items() if any(b.endswith(("Error", "Exception")) for b in bases)}
    while True:
        more = {name for name, bases in bases_of.items() if bases & found} - found
        if not more:
            return found
        found |= more


def _is_super_init(call: ast.Call) -> bool:
    func = call.func
    return (
        isinstance(func, ast.Attribute)
        and func.attr == "__init__"
        and isinstance(func.value, ast.Call)
        and _call_name(func.value.func) == "super"
    )


def function_index(paths: Iterable[Path]) -> dict[str, ast.AST]:
    """Module-level functions of the sources, by name (names defined twice are left out: ambiguous)."""
    index: dict[str, ast.AST] = {}
    twice: set[str] = set()
    for path in paths:
        for node in ast.parse(path.read_text(encoding="utf-8"), filename=str(path)).body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if node.name in index:
                    twice.add(node.name)
                index[node.name] = node
    for name in twice:
        del index[name]
    return index


def python_messages(
    path: Path, root: Path, carriers: Iterable[str] = (), functions: dict[str, ast.AST] | None = None
) -> list[Message]:
    """``fail_json`` messages and error texts in one Python file.

    Error texts are the arguments of ``raise X(...)`` (any exception but a
    programming error) and of every construction of a *carrier*: the
    collection's own exception classes, which are also built and returned
    (``return AzureNotFound(msg)``) or collected (a failure record reported in
    one ``fail_json``), and their ``super().__init__(...)`` calls.
    """
    carriers = set(carriers)
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source, filename=str(path))
    _Template.functions = functions if functions is not None else function_index([path])
    scopes = _enclosing_functions(tree)
    env_cache: dict[ast.AST, dict[str, list[ast.AST]]] = {}
    rel = path.relative_to(root).as_posix()
    messages: list[Message] = []
    carrier_classes = {
        node for node in ast.walk(tree) if isinstance(node, ast.ClassDef) and node.name in carriers
    }
    in_carrier_class: set[ast.AST] = set()
    for cls in carrier_classes:
        in_carrier_class.update(ast.walk(cls))

    # module-level constants (a hint appended to several messages), shadowed by local names
    module_env = {
        target.id: [stmt.value]
        for stmt in tree.body
        if isinstance(stmt, ast.Assign)
        for target in stmt.targets
        if isinstance(target, ast.Name)
    }

    def env_for(node: ast.AST) -> dict[str, list[ast.AST]]:
        scope = scopes.get(node, tree)
        if scope not in env_cache:
            env_cache[scope] = {**module_env, **_assignments(scope)} if scope is not tree else dict(module_env)
        return env_cache[scope]

    def add(node: ast.AST, kind: str, exprs: Sequence[ast.AST]) -> None:
        env = env_for(node)
        # each argument is a part; an argument with several possible templates yields several messages
        alternatives: list[list[list[str]]] = [[]]
        for expr in exprs:
            templates = _Template.of(expr, env, (), kind == "fail_json") or [[]]
            alternatives = [alt + [t] for alt in alternatives for t in templates]
        text = " | ".join(ast.unparse(e) for e in exprs)
        seen = set()
        for parts in alternatives:
            parts_t = tuple(tuple(p) for p in parts if p)
            if parts_t and parts_t not in seen:
                seen.add(parts_t)
                messages.append(Message(f"{rel}:{node.lineno}", kind, parts_t, text))

    def message_args(call: ast.Call) -> list[ast.AST]:
        return list(call.args) + [kw.value for kw in call.keywords if kw.arg in ("msg", "message")]

    def receiver_name(func: ast.AST) -> str:
        value = func.value if isinstance(func, ast.Attribute) else None
        return _call_name(value) if isinstance(value, (ast.Name, ast.Attribute)) else ""

    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _call_name(node.func) == "fail_json":
            msg = next((kw.value for kw in node.keywords if kw.arg == "msg"), None)
            if msg is None and node.args:
                msg = node.args[0]
            if msg is not None:
                add(node, "fail_json", [msg])
        elif isinstance(node, ast.Call) and (
            _call_name(node.func) in carriers or (_is_super_init(node) and node in in_carrier_class)
        ):
            if message_args(node):
                add(node, "raise", message_args(node))
        elif isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            name = _call_name(node.exc.func)
            if name in PROGRAMMING_ERRORS or name in carriers:
                continue  # carriers are handled as calls
            if message_args(node.exc):
                add(node, "raise", message_args(node.exc))
        elif (
            isinstance(node, ast.Call)
            and _call_name(node.func) in ("append", "extend", "insert")
            and _ERROR_LIST_NAME.search(receiver_name(node.func))
            and node.args
        ):
            value = node.args[-1]
            for item in value.elts if isinstance(value, (ast.List, ast.Tuple)) else [value]:
                add(node, "collected", [item])
        elif isinstance(node, ast.Return) and isinstance(node.value, ast.List):
            scope = scopes.get(node)
            if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)) and _ERROR_FUNCTION_NAME.search(scope.name):
                for item in node.value.elts:
                    add(node, "collected", [item])
    # ast.walk is breadth first; report in source order
    return sorted(messages, key=lambda m: int(m.source.rsplit(":", 1)[1]))


# --- YAML extraction ---------------------------------------------------------------------------


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that remembers each mapping's line (``__line__``) and ignores Ansible's tags."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    mapping = yaml.SafeLoader.construct_mapping(loader, node, deep=deep)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


def _unknown_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node):
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return _construct_mapping(loader, node)


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_multi_constructor("!", _unknown_tag)


def _tasks(node) -> Iterator[dict]:
    """Every task in a task list or playbook, depth first, including blocks and play sections."""
    if isinstance(node, list):
        for item in node:
            yield from _tasks(item)
        return
    if not isinstance(node, dict):
        return
    yield node
    for key in ("block", "rescue", "always", "tasks", "pre_tasks", "post_tasks", "handlers"):
        if key in node:
            yield from _tasks(node[key])


def _jinja_template(value) -> list[list[str]]:
    """One template per message text (``fail_msg`` may be a list of lines: each is its own message)."""
    if value is None:
        return []
    values = value if isinstance(value, list) else [value]
    return [split_template(str(v), (_JINJA_HOLE,)) for v in values if isinstance(v, (str, int, float))]


def yaml_messages(path: Path, root: Path) -> list[Message]:
    """``assert`` and ``fail`` messages in one task file or playbook."""
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass
    rel = path.relative_to(root).as_posix()
    messages: list[Message] = []
    for task in _tasks(data):
        for module in ASSERT_MODULES | FAIL_MODULES:
            if module not in task:
                continue
            args = task[module] if isinstance(task[module], dict) else {}
            if module in ASSERT_MODULES:
                text = args.get("fail_msg", args.get("msg"))
                kind = "assert"
            else:
                text = args.get("msg")
                kind = "fail"
            line = args.get("__line__", task.get("__line__", 0))
            for fragments in _jinja_template(text):
                if fragments:
                    messages.append(Message(f"{rel}:{line}", kind, (tuple(fragments),), str(text)))
    return messages


# --- the collection ----------------------------------------------------------------------------


def collection_messages(root: Path, carriers: Iterable[str] = ()) -> list[Message]:
    """Every message of the collection under ``root``: plugins/, roles/ and playbooks/."""
    messages: list[Message] = []
    plugins = root / "plugins"
    sources = [
        path
        for path in (sorted(plugins.rglob("*.py")) if plugins.is_dir() else [])
        if "__pycache__" not in path.parts and path.parent.name != "doc_fragments"
    ]
    all_carriers = set(carriers) | error_classes(sources)
    functions = function_index(sources)
    for path in sources:
        messages.extend(python_messages(path, root, all_carriers, functions))
    yaml_files: list[Path] = []
    for sub in ("roles", "playbooks"):
        base = root / sub
        if base.is_dir():
            yaml_files.extend(p for p in base.rglob("*.yml") if _is_task_file(p, base))
            yaml_files.extend(p for p in base.rglob("*.yaml") if _is_task_file(p, base))
    for path in sorted(yaml_files):
        messages.extend(yaml_messages(path, root))
    return messages


def _is_task_file(path: Path, base: Path) -> bool:
    """Tasks, handlers and playbooks; not defaults/vars/meta (data, never tasks)."""
    if base.name == "playbooks":
        return True
    parts = path.relative_to(base).parts
    return len(parts) >= 3 and parts[1] in ("tasks", "handlers")


if __name__ == "__main__":  # pragma: no cover - a helper for writing the guide's table
    import sys

    repo = Path(__file__).resolve().parents[2]
    guide = repo / "docs" / "user-guide.md"
    cells = table_cells(guide.read_text(encoding="utf-8"), "Troubleshooting") if guide.exists() else []
    everything = collection_messages(repo, ("Failure",))
    missing = undocumented(everything, cells)
    shown = missing if "--missing" in sys.argv else everything
    for message in shown:
        print(f"{message.source:55} {' ... '.join(message.fragments)}")
    print(f"{len(everything)} messages, {len(missing)} not in the troubleshooting table", file=sys.stderr)
