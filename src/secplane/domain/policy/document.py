"""RAM policy documents: parse and validate into a frozen ``Policy``, or say precisely what is wrong.

Grammar (reference ram-sts-auth §8): ``{"Version": "1", "Statement": [statement, ...]}``; a statement
has ``Effect`` (``Allow``|``Deny``), exactly one of ``Action``/``NotAction``, ``Resource`` (identity and
session policies) or ``Principal`` (trust policies), optional ``Condition`` and ``Sid``. Multi-valued
elements take a string or a non-empty list of strings. Alibaba's grammar writes ``Statement`` as a
list only, so a bare object is rejected (with a message saying to wrap it). ``NotResource`` and
``NotPrincipal`` are not documented for RAM and are rejected by name rather than silently ignored;
so are elements we do not know and duplicate keys (``json`` would keep the last one, quietly).

Every error is a ``PolicyError`` whose message starts with the path of the bad element
(``Statement[2].Effect: ...``) and says what would be valid.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from secplane.domain.policy.conditions import OPERATORS, Condition, check_value

PolicyKind = Literal["identity", "trust", "session"]
KINDS = ("identity", "trust", "session")
DEFAULT_MAX_LENGTH = 6144  # characters; the current RAM limit for a custom policy (reference §11)
TRUST_ACTION = "sts:AssumeRole"


class PolicyError(ValueError):
    """A policy document that cannot be accepted. ``kind`` is ``"grammar"`` or ``"size"`` so that the
    API layer can map it to Alibaba's error codes (MalformedPolicyDocument vs a length error)."""

    kind: str
    message: str

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass(frozen=True, slots=True)
class Principal:
    """A trust-policy statement's principals, each list as written."""

    ram: tuple[str, ...] = ()
    service: tuple[str, ...] = ()
    federated: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Statement:
    effect: str  # "Allow" | "Deny"
    actions: tuple[str, ...]  # as written; matched case-insensitively
    not_action: bool  # True: the statement covers every action *except* ``actions``
    resources: tuple[str, ...]  # () in trust policies
    conditions: tuple[Condition, ...] = ()
    principal: Principal | None = None  # trust policies only
    sid: str | None = None


@dataclass(frozen=True, slots=True)
class Policy:
    """A parsed, valid policy document; ``text`` is the document exactly as given."""

    text: str
    kind: str
    statements: tuple[Statement, ...]


# ---------------------------------------------------------------- shapes

_ACTION = re.compile(r"\*|[A-Za-z0-9*?_-]+:[A-Za-z0-9*?_-]+")
_CONDITION_KEY = re.compile(r"[A-Za-z0-9*_-]+:\S(?:.*\S)?", re.DOTALL)
_NAME = r"[A-Za-z0-9._@*?-]+"
_RAM_PRINCIPAL = re.compile(rf"[0-9]+|acs:ram::[0-9]+:(?:root|user/{_NAME}|role/{_NAME})")
_SERVICE_PRINCIPAL = re.compile(r"(?:[0-9]+@)?[A-Za-z0-9*?-]+(?:\.[A-Za-z0-9*?-]+)*")
_FEDERATED_PRINCIPAL = re.compile(rf"acs:ram::[0-9]+:(?:saml-provider|oidc-provider)/{_NAME}")

_STATEMENT_ELEMENTS = ("Sid", "Effect", "Action", "NotAction", "Resource", "Condition")
_TRUST_ELEMENTS = ("Sid", "Effect", "Action", "NotAction", "Principal", "Condition")
_UNSUPPORTED = {
    "NotResource": 'not supported by RAM; list the resources the statement covers in "Resource" instead.',
    "NotPrincipal": 'not supported by RAM; list the principals in "Principal" instead.',
}
_PRINCIPAL_KINDS = {"RAM": "ram", "Service": "service", "Federated": "federated"}


class _Object(dict[str, Any]):
    """A JSON object that remembers keys it saw twice (``json`` keeps only the last value)."""

    duplicates: tuple[str, ...] = ()


def _object(pairs: list[tuple[str, Any]]) -> _Object:
    obj = _Object(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        twice = []
        for key, _ in pairs:
            if key in seen:
                twice.append(key)
            seen.add(key)
        obj.duplicates = tuple(twice)
    return obj


def _show(value: Any) -> str:
    """A value as JSON, cut short: error messages quote what the user wrote."""
    if isinstance(value, str) and len(value) > 80:
        return json.dumps(value[:77] + "...", ensure_ascii=False)
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."


def _type(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return _show(value)


def _fail(path: str, problem: str) -> PolicyError:
    return PolicyError("grammar", f"{path}: {problem}")


def _duplicates(obj: dict[str, Any]) -> tuple[str, ...]:
    return getattr(obj, "duplicates", ())


def _elements(obj: dict[str, Any], path: str, allowed: tuple[str, ...], where: str) -> None:
    """Reject duplicate and unknown keys, naming them (with a hint for a case slip)."""
    if _duplicates(obj):
        raise _fail(path, f"element {_show(_duplicates(obj)[0])} appears more than once.")
    for key in obj:
        if key in allowed:
            continue
        if key in _UNSUPPORTED:
            raise _fail(f"{path}.{key}", _UNSUPPORTED[key])
        hint = next((a for a in allowed if a.lower() == key.lower()), None)
        if hint:
            raise _fail(path, f"unknown element {_show(key)}; element names are case-sensitive: {hint!r}.")
        raise _fail(path, f"unknown element {_show(key)} {where}; allowed: {', '.join(allowed)}.")


def _strings(value: Any, path: str) -> tuple[str, ...]:
    """A string or a non-empty list of non-empty strings."""
    if isinstance(value, str):
        items: list[Any] = [value]
        single = True
    elif isinstance(value, list):
        if not value:
            raise _fail(path, "must not be an empty list.")
        items, single = value, False
    else:
        raise _fail(path, f"must be a string or a list of strings, got {_type(value)}.")
    for i, item in enumerate(items):
        where = path if single else f"{path}[{i}]"
        if not isinstance(item, str):
            raise _fail(where, f"must be a string, got {_type(item)}.")
        if not item:
            raise _fail(where, "must not be empty.")
    return tuple(items)


def _each(values: tuple[str, ...], path: str) -> list[tuple[str, str]]:
    """(element path, value) pairs: indexed paths only when the element was a list."""
    return [(path if len(values) == 1 else f"{path}[{i}]", v) for i, v in enumerate(values)]


# ---------------------------------------------------------------- elements


def _actions(stmt: dict[str, Any], path: str) -> tuple[tuple[str, ...], bool]:
    has_action, has_not = "Action" in stmt, "NotAction" in stmt
    if has_action and has_not:
        raise _fail(path, "give either Action or NotAction, not both.")
    if not has_action and not has_not:
        raise _fail(path, 'Action (or NotAction) is required, e.g. "Action": "ecs:Describe*".')
    name = "Action" if has_action else "NotAction"
    actions = _strings(stmt[name], f"{path}.{name}")
    for where, action in _each(actions, f"{path}.{name}"):
        if not _ACTION.fullmatch(action):
            raise _fail(
                where,
                f"{_show(action)} is not an action; write <service>:<ActionName> such as "
                '"ecs:DescribeInstances" (wildcards * and ? allowed), or "*".',
            )
    return actions, not has_action


def _resources(stmt: dict[str, Any], path: str) -> tuple[str, ...]:
    if "Resource" not in stmt:
        raise _fail(path, 'Resource is required, e.g. "Resource": "*" or "acs:ecs:*:*:instance/*".')
    resources = _strings(stmt["Resource"], f"{path}.Resource")
    for where, resource in _each(resources, f"{path}.Resource"):
        if resource != "*" and not resource.startswith("acs:"):
            raise _fail(
                where,
                f'{_show(resource)} is not a resource; write "*" or an ARN starting with "acs:", '
                'such as "acs:ecs:*:*:securitygroup/*".',
            )
    return resources


def _principal(stmt: dict[str, Any], path: str) -> Principal:
    if "Principal" not in stmt:
        raise _fail(
            path,
            'Principal is required in a trust policy: {"RAM": [...]}, {"Service": [...]} or '
            '{"Federated": [...]}.',
        )
    value, where = stmt["Principal"], f"{path}.Principal"
    if not isinstance(value, dict):
        raise _fail(
            where, f'must be an object like {{"RAM": ["acs:ram::<account>:root"]}}, got {_type(value)}.'
        )
    if not value:
        raise _fail(where, "must name at least one principal.")
    _elements(value, where, tuple(_PRINCIPAL_KINDS), "in Principal")
    found: dict[str, tuple[str, ...]] = {}
    for name, field in _PRINCIPAL_KINDS.items():
        if name not in value:
            continue
        entries = _strings(value[name], f"{where}.{name}")
        for entry_path, entry in _each(entries, f"{where}.{name}"):
            if name == "RAM" and not _RAM_PRINCIPAL.fullmatch(entry):
                raise _fail(
                    entry_path,
                    f"{_show(entry)} is not a RAM principal; write an account id, acs:ram::<account>:root, "
                    "acs:ram::<account>:user/<name> or acs:ram::<account>:role/<name>.",
                )
            if name == "Service" and not _SERVICE_PRINCIPAL.fullmatch(entry):
                raise _fail(entry_path, f'{_show(entry)} is not a service; write e.g. "ecs.aliyuncs.com".')
            if name == "Federated" and not _FEDERATED_PRINCIPAL.fullmatch(entry):
                raise _fail(
                    entry_path,
                    f"{_show(entry)} is not an identity provider; write "
                    "acs:ram::<account>:saml-provider/<name> or acs:ram::<account>:oidc-provider/<name>.",
                )
        found[field] = entries
    return Principal(**found)


def _condition_values(value: Any, path: str) -> tuple[str, ...]:
    """A value or non-empty list; JSON numbers and booleans are accepted and written as strings."""
    items = value if isinstance(value, list) else [value]
    if not items:
        raise _fail(path, "must not be an empty list.")
    out = []
    for i, item in enumerate(items):
        where = f"{path}[{i}]" if isinstance(value, list) else path
        if isinstance(item, bool):
            out.append("true" if item else "false")
        elif isinstance(item, int | float):
            out.append(str(item))
        elif isinstance(item, str):
            out.append(item)
        else:
            raise _fail(where, f"must be a string, a number or a boolean, got {_type(item)}.")
    return tuple(out)


def _conditions(stmt: dict[str, Any], path: str) -> tuple[Condition, ...]:
    if "Condition" not in stmt:
        return ()
    block, where = stmt["Condition"], f"{path}.Condition"
    if not isinstance(block, dict):
        example = '{"Bool": {"acs:MFAPresent": "true"}}'
        raise _fail(where, f"must be an object like {example}, got {_type(block)}.")
    if _duplicates(block):
        raise _fail(where, f"operator {_show(_duplicates(block)[0])} appears more than once.")
    out: list[Condition] = []
    for op, keys in block.items():
        op_path = f"{where}.{op}"
        if op not in OPERATORS:
            hint = next((o for o in OPERATORS if o.lower() == op.lower()), None)
            if hint:
                problem = f"unknown operator {_show(op)}; operators are case-sensitive: {hint!r}."
            elif op.endswith("IfExists") or ":" in op or op == "Null":
                problem = f"operator {_show(op)} is not supported by RAM."
            else:
                problem = f"unknown operator {_show(op)}; RAM supports {', '.join(OPERATORS)}."
            raise _fail(where, problem)
        if not isinstance(keys, dict):
            example = '{"acs:SourceIp": "10.0.0.0/8"}'
            raise _fail(op_path, f"must be an object of condition keys like {example}, got {_type(keys)}.")
        if not keys:
            raise _fail(op_path, "must name at least one condition key.")
        if _duplicates(keys):
            raise _fail(op_path, f"key {_show(_duplicates(keys)[0])} appears more than once.")
        for key, raw in keys.items():
            key_path = f"{op_path}[{_show(key)}]"
            if not _CONDITION_KEY.fullmatch(key):
                raise _fail(
                    key_path,
                    "a condition key must be <service>:<key>, such as acs:SourceIp or ecs:tag/<name>.",
                )
            values = _condition_values(raw, key_path)
            if op == "Bool" and len(values) > 1:
                raise _fail(key_path, 'Bool takes exactly one value, "true" or "false".')
            for value_path, value in _each(values, key_path):
                why = check_value(op, value)
                if why:
                    raise _fail(value_path, f"{_show(value)} {why}.")
            if op == "Bool":
                values = (values[0].lower(),)
            out.append(Condition(op, key, values))
    return tuple(out)


def _statement(stmt: Any, path: str, kind: str) -> Statement:
    if not isinstance(stmt, dict):
        raise _fail(path, f"must be an object, got {_type(stmt)}.")
    trust = kind == "trust"
    if trust and "Resource" in stmt:
        raise _fail(f"{path}.Resource", "not allowed in a trust policy: the role itself is the resource.")
    if not trust and "Principal" in stmt:
        raise _fail(f"{path}.Principal", "only allowed in a trust policy (a role's trust policy document).")
    _elements(stmt, path, _TRUST_ELEMENTS if trust else _STATEMENT_ELEMENTS, "in a statement")
    sid = stmt.get("Sid")
    if sid is not None and not isinstance(sid, str):
        raise _fail(f"{path}.Sid", f"must be a string, got {_type(sid)}.")
    if "Effect" not in stmt:
        raise _fail(path, 'Effect is required: "Allow" or "Deny".')
    effect = stmt["Effect"]
    if effect not in ("Allow", "Deny"):
        raise _fail(f"{path}.Effect", f'must be "Allow" or "Deny", got {_show(effect)}.')
    actions, not_action = _actions(stmt, path)
    resources = () if trust else _resources(stmt, path)
    principal = _principal(stmt, path) if trust else None
    conditions = _conditions(stmt, path)
    return Statement(effect, actions, not_action, resources, conditions, principal, sid)


def parse_policy(
    document: str, *, kind: PolicyKind = "identity", max_length: int = DEFAULT_MAX_LENGTH
) -> Policy:
    """Parse and validate one policy document; raise ``PolicyError`` naming the first bad element.

    ``kind``: ``identity`` (custom/system policies), ``session`` (AssumeRole's ``Policy``; same grammar)
    or ``trust`` (a role's AssumeRolePolicyDocument: ``Principal`` instead of ``Resource``).
    ``max_length`` counts characters, as RAM's limits do.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown policy kind {kind!r}")
    if not isinstance(document, str):
        raise PolicyError("grammar", f"Policy document must be JSON text, got {type(document).__name__}.")
    if len(document) > max_length:
        raise PolicyError(
            "size", f"Policy document is {len(document)} characters long; the limit is {max_length}."
        )
    if not document.strip():
        raise PolicyError("grammar", "Policy document is empty.")
    try:
        data = json.loads(document, object_pairs_hook=_object)
    except json.JSONDecodeError as exc:
        raise PolicyError(
            "grammar",
            f"Policy document is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno} "
            f"(character {exc.pos}).",
        ) from None
    except RecursionError:
        raise PolicyError("grammar", "Policy document is nested too deeply.") from None
    if not isinstance(data, dict):
        raise PolicyError("grammar", f'Policy document must be a JSON object {{"Version": "1", '
                          f'"Statement": [...]}}, got {_type(data)}.')  # fmt: skip
    _elements(data, "Policy document", ("Version", "Statement"), "at the top level")
    if "Version" not in data:
        raise PolicyError("grammar", 'Version: required; the only valid value is "1".')
    if data["Version"] != "1":
        raise _fail("Version", f'must be the string "1", got {_show(data["Version"])}.')
    if "Statement" not in data:
        raise PolicyError("grammar", "Statement: required; give a list of one or more statements.")
    statements = data["Statement"]
    if isinstance(statements, dict):
        raise _fail("Statement", "must be a list of statements; wrap the statement in [ ].")
    if not isinstance(statements, list):
        raise _fail("Statement", f"must be a list of statements, got {_type(statements)}.")
    if not statements:
        raise _fail("Statement", "must contain at least one statement.")
    parsed = tuple(_statement(s, f"Statement[{i}]", kind) for i, s in enumerate(statements))
    return Policy(document, kind, parsed)
