"""Flat RPC parameters to typed requests.

The wire flattens everything: ``Permissions.1.IpProtocol``, ``Tag.2.Key``, ``SecurityGroupIds.1``, and
some lists travel as a JSON array inside one string (``InstanceIds=["i-1","i-2"]``). ``nest`` rebuilds
the tree, ``bind`` converts it into the operation's ``msgspec.Struct`` with lax typing (``"True"`` is a
bool, ``"5"`` an int) and turns every conversion failure into ``MissingParameter``/``InvalidParameter``
naming the wire parameter.
"""

from __future__ import annotations

import json
import re
from functools import cache, lru_cache
from typing import Any, TypeVar

import msgspec

from secplane.protocol.errors import ApiError, invalid_parameter, missing_parameter


class Request(msgspec.Struct, rename="pascal", kw_only=True):
    """Base of every typed request: wire names are the PascalCase of the field names."""


R = TypeVar("R", bound=Request)

_MAX_INDEX = 1000  # no real list is longer; larger indexes are refused, not allocated
_MAX_DEPTH = 8  # the deepest real parameter (NetworkInterface.1.SecurityGroupIds.2) has 4 segments


def nest(params: dict[str, str], origins: dict[int, list[str]] | None = None) -> dict[str, Any]:
    """Turn ``A.1.B=x`` style keys into nested dicts and lists (lists ordered by index, gaps closed).

    ``origins``, when given, receives the indexes as sent for every list built (keyed by ``id``), so
    that an error can name the parameter the client wrote rather than its compacted position.
    """
    root: dict[str, Any] = {}
    for key, value in params.items():
        if "\x00" in value or "\x00" in key:  # no store keeps it, and no real value holds it
            raise invalid_parameter(key.replace("\x00", "")[:200], "It must not contain NUL characters.")
        if "." not in key:
            if isinstance(root.get(key), dict):
                raise invalid_parameter(key, "It is given both as a value and as a list.")
            root[key] = value
            continue
        head, leaf = _key_path(key)
        if len(head) >= _MAX_DEPTH:
            raise invalid_parameter(key[:200], "No parameter is nested that deep.")
        node = root
        for i, part in enumerate(head):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            elif type(child) is not dict:
                raise invalid_parameter(".".join(head[: i + 1]), "It is given both as a value and as a list.")
            node = child
        if isinstance(node.get(leaf), dict):
            raise invalid_parameter(key, "It is given both as a value and as a list.")
        node[leaf] = value
    found = {} if origins is None else origins
    return {k: _listify(k, v, found) for k, v in root.items()}


@lru_cache(maxsize=8192)
def _key_path(key: str) -> tuple[tuple[str, ...], str]:
    """``A.1.B`` -> ``(("A", "1"), "B")``. Cached: the same names come with every call."""
    *head, leaf = key.split(".")
    return tuple(head), leaf


def _listify(path: str, node: Any, origins: dict[int, list[str]]) -> Any:
    if not isinstance(node, dict):
        return node
    if node and all(k.isascii() and k.isdigit() for k in node):
        indexes = sorted(node, key=int)
        if int(indexes[0]) < 1 or int(indexes[-1]) > _MAX_INDEX:
            raise invalid_parameter(f"{path}.{indexes[0] if int(indexes[0]) < 1 else indexes[-1]}")
        items = [
            _listify(f"{path}.{k}", node[k], origins) if type(node[k]) is dict else node[k] for k in indexes
        ]
        origins[id(items)] = indexes
        return items
    return {k: _listify(f"{path}.{k}", v, origins) if type(v) is dict else v for k, v in node.items()}


# ---------------------------------------------------------------- JSON-array-in-a-string fields


@cache
def _list_fields(struct_type: type) -> dict[str, tuple[bool, type | None]]:
    """Wire name -> (is a list of scalars, nested struct type or None) for one struct type."""
    info = msgspec.inspect.type_info(struct_type)
    out: dict[str, tuple[bool, type | None]] = {}
    assert isinstance(info, msgspec.inspect.StructType)
    for f in info.fields:
        t = f.type
        if isinstance(t, msgspec.inspect.UnionType):
            non_none = [x for x in t.types if not isinstance(x, msgspec.inspect.NoneType)]
            t = non_none[0] if len(non_none) == 1 else t
        if isinstance(t, msgspec.inspect.ListType):
            item = t.item_type
            nested = item.cls if isinstance(item, msgspec.inspect.StructType) else None
            out[f.encode_name] = (nested is None, nested)
        elif isinstance(t, msgspec.inspect.StructType):
            out[f.encode_name] = (False, t.cls)
    return out


def _split_list_strings(tree: dict[str, Any], struct_type: type) -> None:
    for name, (scalar_list, nested) in _list_fields(struct_type).items():
        value = tree.get(name)
        if value is None:
            continue
        if scalar_list and isinstance(value, str):
            tree[name] = _parse_list_string(name, value)
        elif nested is not None:
            items = value if isinstance(value, list) else [value]
            for item in items:
                if isinstance(item, dict):
                    _split_list_strings(item, nested)


def _parse_list_string(name: str, value: str) -> list[Any]:
    text = value.strip()
    if not text:
        return []
    if text.startswith("["):
        try:
            parsed = json.loads(text)
        except (ValueError, RecursionError):
            raise invalid_parameter(name, "It must be a JSON array of strings.") from None
        if not isinstance(parsed, list):
            raise invalid_parameter(name, "It must be a JSON array of strings.")
        return [str(x) if not isinstance(x, str) else x for x in parsed]
    return [part.strip() for part in text.split(",") if part.strip()]


# ---------------------------------------------------------------- binding

_PATH = re.compile(r"`\$((?:\.[A-Za-z0-9_]+|\[\d+\])*)`")
_MISSING = re.compile(r"missing required field `([^`]+)`")


_SEGMENT = re.compile(r"\.([A-Za-z0-9_]+)|\[(\d+)\]")


def _wire_path(path: str, tree: Any, origins: dict[int, list[str]]) -> str:
    """``$.Permissions[1].Priority`` -> ``Permissions.3.Priority`` when the client sent indexes 1 and 3."""
    names: list[str] = []
    node = tree
    for name, index in _SEGMENT.findall(path):
        if name:
            names.append(name)
            node = node.get(name) if isinstance(node, dict) else None
        else:
            i = int(index)
            sent = origins.get(id(node)) if isinstance(node, list) else None
            names.append(sent[i] if sent is not None and i < len(sent) else str(i + 1))
            node = node[i] if isinstance(node, list) and i < len(node) else None
    return ".".join(names)


def bind(params: dict[str, str], request_type: type[R]) -> R:
    """Build the typed request, or raise the Alibaba error naming the offending parameter."""
    origins: dict[int, list[str]] = {}
    tree = nest(params, origins)
    _split_list_strings(tree, request_type)
    try:
        return msgspec.convert(tree, request_type, strict=False)
    except msgspec.ValidationError as exc:
        raise _to_api_error(str(exc), tree, origins) from None


def _to_api_error(text: str, tree: Any, origins: dict[int, list[str]]) -> ApiError:
    path_match = _PATH.search(text)
    path = _wire_path(path_match.group(1), tree, origins) if path_match else ""
    missing = _MISSING.search(text)
    if missing:
        return missing_parameter(f"{path}.{missing.group(1)}" if path else missing.group(1))
    detail = text.split(" - at ")[0]
    return invalid_parameter(path or "request", f"({detail})")
