"""Reading a schema from either format: Cedar schema syntax (``.cedarschema``)
or the JSON format."""

from __future__ import annotations

from pathlib import Path

from cedarscope.lang.diagnostics import CedarError, Diagnostic, decode_utf8
from cedarscope.lang.schema.cedar_syntax import read_cedar_schema
from cedarscope.lang.schema.declarations import Schema
from cedarscope.lang.schema.json_format import read_json_schema
from cedarscope.lang.schema.resolve import Resolver


def parse_schema(text: str, filename: str = "<schema>") -> Schema:
    """A schema from Cedar schema syntax, or from the JSON format when the
    text starts with `{`."""
    if text.lstrip().startswith("{"):
        namespaces = read_json_schema(text, filename)
    else:
        namespaces = read_cedar_schema(text, filename)
    return Resolver(namespaces).schema()


def load_schema(path) -> Schema:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise CedarError(Diagnostic(f"cannot read schema: {e.strerror}", str(path))) from None
    return parse_schema(decode_utf8(data, str(path)), str(path))
