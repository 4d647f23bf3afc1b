"""Response bodies as the SDKs parse them: JSON by default, XML when ``Format=XML``.

Handlers return plain dicts already in wire shape (lists inside their singular-named wrapper, e.g.
``{"Regions": {"Region": [...]}}``). In XML a list becomes repeated elements named by its key.
"""

from __future__ import annotations

import re
from typing import Any
from xml.sax.saxutils import escape

import msgspec

JSON_CONTENT_TYPE = "application/json;charset=utf-8"
XML_CONTENT_TYPE = "text/xml;charset=utf-8"  # the exact string the Tea SDK checks before parsing XML

_json_encoder = msgspec.json.Encoder()


def render_json(body: dict[str, Any]) -> bytes:
    return _json_encoder.encode(body)


def render_xml(root: str, body: dict[str, Any]) -> bytes:
    parts: list[str] = ["<?xml version='1.0' encoding='UTF-8'?>", f"<{root}>"]
    _xml_members(parts, body)
    parts.append(f"</{root}>")
    return "".join(parts).encode()


def _xml_members(parts: list[str], body: dict[str, Any]) -> None:
    for key, value in body.items():
        if isinstance(value, list):
            for item in value:
                _xml_element(parts, key, item)
        else:
            _xml_element(parts, key, value)


# Characters XML 1.0 cannot carry at all; a client may still send them in a name or description.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_text(value: str) -> str:
    return escape(_NOT_XML.sub("\ufffd", value))


def _xml_element(parts: list[str], name: str, value: Any) -> None:
    if isinstance(value, dict):
        parts.append(f"<{name}>")
        _xml_members(parts, value)
        parts.append(f"</{name}>")
    elif value is None or value == "":
        parts.append(f"<{name}/>")
    elif isinstance(value, bool):
        parts.append(f"<{name}>{'true' if value else 'false'}</{name}>")
    elif isinstance(value, list):  # a list directly inside a list: keep the name
        for item in value:
            _xml_element(parts, name, item)
    else:
        parts.append(f"<{name}>{_xml_text(str(value))}</{name}>")


def render(body: dict[str, Any], xml_root: str | None) -> tuple[bytes, str]:
    """Encode ``body`` as JSON, or as XML under ``xml_root`` when one is given."""
    if xml_root is None:
        return render_json(body), JSON_CONTENT_TYPE
    return render_xml(xml_root, body), XML_CONTENT_TYPE
