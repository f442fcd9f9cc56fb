"""Reading a YAML config as written: no duplicate keys, no YAML 1.1 conversions.

PyYAML implements YAML 1.1, whose implicit types surprise: ``010`` is the octal number 8, ``1:30``
is 90 (base 60), ``no``/``on``/``yes``/``off`` are booleans and ``2024-01-01`` is a date; and a key
given twice is accepted with the last value silently kept. :class:`ConfigLoader` (a
``yaml.SafeLoader``) reads plain scalars by the YAML 1.2 core schema instead, with one stricter rule:

- ``true``/``false`` (also ``True``, ``TRUE``, ...) are booleans; ``null``, ``~`` and nothing are null.
- A decimal integer without leading zeros (``12``, ``-3``, ``0``) is an int; a decimal number with a
  point or an exponent (``0.5``, ``.5``, ``1e-3``, ``2.5E+3``) and ``.inf``/``-.inf``/``.nan`` are floats.
- Everything else is the string as written: ``010``, ``001``, ``0o10``, ``0x1F``, ``1_000``,
  ``1:30``, ``2024-01-01``, ``None``, ``nan``. (YAML 1.2 reads ``010`` as 10; leading zeros are
  kept here because numbers never need them and names such as ``001`` do.) A number field given
  such a string is then refused by the config's strict types ("expected an integer; got str '010'").
- The YAML 1.1 booleans ``yes``/``no``/``on``/``off``/``y``/``n`` (any case), unquoted, are refused:
  YAML 1.1 readers take them as booleans and YAML 1.2 readers as strings, so either reading could be
  a silent surprise. Write ``true``/``false``, or quote the text (``"no"``).
- A key given twice in one mapping (at any depth) is refused, naming the key's path and the lines of
  every occurrence. Keys merged in with ``<<: *anchor`` may be overridden as YAML intends.

Explicit tags keep YAML 1.2 meanings: ``!!int 010`` is 10, ``!!int 0o10`` 8, ``!!int 0x1F`` 31;
``!!int``/``!!float`` of a base-60 or underscored number are refused. Problems are collected over
the whole document and raised together as :class:`YamlProblems` (one line per key path).
"""
from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

__all__ = ["ConfigLoader", "YamlProblems", "load_yaml"]

_MERGE = "tag:yaml.org,2002:merge"
_BOOL, _INT, _FLOAT, _NULL = (f"tag:yaml.org,2002:{t}" for t in ("bool", "int", "float", "null"))
#: the resolved tag of an unquoted YAML 1.1 boolean spelling (refused)
YAML11_BOOL = "tag:transfergraph,2026:yaml11-bool"

_DIGITS, _SIGNS = list("0123456789"), ["-", "+"]
_INT_RE = re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$")
_FLOAT_RE = re.compile(r"""^(?:[-+]?(?:(?:\.[0-9]+|(?:0|[1-9][0-9]*)\.[0-9]*)(?:[eE][-+]?[0-9]+)?
                              |(?:0|[1-9][0-9]*)[eE][-+]?[0-9]+
                              |\.(?:inf|Inf|INF))
                            |\.(?:nan|NaN|NAN))$""", re.X)
_BOOL_RE = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_NULL_RE = re.compile(r"^(?:~|null|Null|NULL|)$")
_YAML11_BOOL_RE = re.compile(r"^(?:yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF|y|Y|n|N)$")


class YamlProblems(yaml.YAMLError):
    """Keys given twice or ambiguous values in a YAML document; ``lines``: one ``path: problem`` each."""

    def __init__(self, lines: list[str]):
        super().__init__("\n".join(lines))
        self.lines = lines


class ConfigLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` with the YAML 1.2 core schema (see the module docstring) and duplicate keys refused."""

    def construct_document(self, node: Node) -> Any:
        problems = _problems(self, node)
        if problems:
            raise YamlProblems(problems)
        return super().construct_document(node)

    def construct_yaml_int(self, node: ScalarNode) -> int:
        text = self.construct_scalar(node)
        sign, digits = (-1, text[1:]) if text[:1] == "-" else (1, text[1:] if text[:1] == "+" else text)
        for prefix, base, allowed in (("0o", 8, "01234567"), ("0x", 16, "0123456789abcdefABCDEF"),
                                      ("", 10, "0123456789")):
            body = digits[len(prefix):]
            if digits.startswith(prefix) and body and all(c in allowed for c in body):
                return sign * int(body, base)
        raise ConstructorError(None, None, f"!!int {text!r} is not a YAML 1.2 integer (decimal, 0o octal or 0x hex)",
                               node.start_mark)

    def construct_yaml_float(self, node: ScalarNode) -> float:
        text = self.construct_scalar(node)
        if _FLOAT_RE.match(text) or re.fullmatch(r"[-+]?[0-9]+", text):
            lowered = text.lower()
            if lowered.lstrip("+-") in (".inf", ".nan"):
                return float(lowered.replace(".", ""))
            return float(text)
        raise ConstructorError(None, None, f"!!float {text!r} is not a YAML 1.2 number", node.start_mark)

    def construct_yaml11_bool(self, node: ScalarNode) -> Any:  # refused by construct_document first
        raise ConstructorError(None, None, _yaml11_bool_message(node.value), node.start_mark)


ConfigLoader.yaml_implicit_resolvers = {  # PyYAML's merge (<<) and !/&/* guards only; the rest added below
    first: [(tag, regexp) for tag, regexp in resolvers if tag in (_MERGE, "tag:yaml.org,2002:yaml")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
ConfigLoader.add_implicit_resolver(_BOOL, _BOOL_RE, list("tTfF"))
ConfigLoader.add_implicit_resolver(YAML11_BOOL, _YAML11_BOOL_RE, list("yYnNoO"))
ConfigLoader.add_implicit_resolver(_INT, _INT_RE, _DIGITS + _SIGNS)
ConfigLoader.add_implicit_resolver(_FLOAT, _FLOAT_RE, _DIGITS + _SIGNS + ["."])
ConfigLoader.add_implicit_resolver(_NULL, _NULL_RE, ["~", "n", "N", ""])
ConfigLoader.add_constructor(_INT, ConfigLoader.construct_yaml_int)
ConfigLoader.add_constructor(_FLOAT, ConfigLoader.construct_yaml_float)
ConfigLoader.add_constructor(YAML11_BOOL, ConfigLoader.construct_yaml11_bool)


def _yaml11_bool_message(text: str) -> str:
    return (f"unquoted {text!r} is a boolean in YAML 1.1 and the string {text!r} in YAML 1.2; write true or "
            f"false for a boolean, or quote it (\"{text}\") for text")


def _places(marks: list[tuple[int, int]]) -> str:
    """``lines 3 and 9``, or ``line 2, column 5 and line 2, column 12`` when keys share a line (a flow mapping)."""
    lines = [line for line, _ in marks]
    if len(set(lines)) == len(lines):
        return "lines " + ", ".join(map(str, lines[:-1])) + f" and {lines[-1]}"
    spots = [f"line {line}, column {col}" for line, col in marks]
    return ", ".join(spots[:-1]) + f" and {spots[-1]}"


def _key_identity(loader: ConfigLoader, key: ScalarNode) -> Any:
    """The key as Python's dict sees it: ``a`` and ``"a"`` are one key, as are ``1``, ``+1``, ``1.0`` and ``true``."""
    try:
        return "value", loader.construct_object(key, deep=True)
    except yaml.YAMLError:  # a tag SafeLoader cannot build: construction reports it later
        return key.tag, key.value


def _problems(loader: ConfigLoader, root: Node) -> list[str]:
    """Every duplicate key and YAML 1.1 boolean of the document, as ``path: problem (line N)`` lines."""
    out: list[str] = []
    seen: set[int] = set()

    def walk(node: Node, path: tuple[str, ...]) -> None:
        if id(node) in seen:  # an alias: already walked where its anchor was defined
            return
        seen.add(id(node))
        where = ".".join(path) or "(top level)"
        if isinstance(node, ScalarNode):
            if node.tag == YAML11_BOOL:
                out.append(f"{where}: {_yaml11_bool_message(node.value)} (line {node.start_mark.line + 1}).")
        elif isinstance(node, SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, path + (str(i),))
        elif isinstance(node, MappingNode):
            marks: dict[Any, list[tuple[int, int]]] = {}
            names: dict[Any, str] = {}
            for key, value in node.value:
                name = key.value if isinstance(key, ScalarNode) else None
                if key.tag == _MERGE:  # "<<" twice: PyYAML keeps only the last merge (write <<: [*a, *b])
                    marks.setdefault((_MERGE,), []).append((key.start_mark.line + 1, key.start_mark.column + 1))
                    names.setdefault((_MERGE,), name)
                    walk(value, path)
                    continue
                if isinstance(key, ScalarNode) and key.tag == YAML11_BOOL:
                    out.append(f"{'.'.join(path + (name,))}: as a key, {_yaml11_bool_message(name)} "
                               f"(line {key.start_mark.line + 1}).")
                elif isinstance(key, ScalarNode):
                    ident = _key_identity(loader, key)
                    marks.setdefault(ident, []).append((key.start_mark.line + 1, key.start_mark.column + 1))
                    names.setdefault(ident, name)
                walk(value, path + (name if name is not None else "?",))
            for ident, at in marks.items():
                if len(at) > 1:
                    out.append(f"{'.'.join(path + (names[ident],))}: key given {len(at)} times ({_places(at)}); "
                               "YAML would silently keep only the last one: keep one of them.")

    walk(root, ())
    return out


def load_yaml(text: str) -> Any:
    """Parse one YAML document with :class:`ConfigLoader`.

    Raises
    ------
    YamlProblems
        Duplicate keys or unquoted YAML 1.1 booleans (all of them, one line each).
    yaml.YAMLError
        Malformed YAML (with ``problem_mark``), or an explicit ``!!int``/``!!float`` that is not a YAML 1.2 number.
    """
    return yaml.load(text, Loader=ConfigLoader)  # noqa: S506 - a SafeLoader subclass
