"""Reading a schema from either format: Cedar schema syntax (``.cedarschema``)
or the JSON format."""

from __future__ import annotations

from cedarscope.lang.diagnostics import CedarError, Diagnostic
from cedarscope.lang.schema.cedar_syntax import read_cedar_schema
from cedarscope.lang.schema.declarations import Schema
from cedarscope.lang.schema.json_format import read_json_schema
from cedarscope.lang.schema.resolve import Resolver


def parse_schema(text: str, filename: str = "<schema>") -> Schema:
    """A schema from Cedar schema syntax, or from the JSON format when the
    text starts with `{`."""
    try:
        if text.lstrip().startswith("{"):
            namespaces = read_json_schema(text, filename)
        else:
            namespaces = read_cedar_schema(text, filename)
        return Resolver(namespaces).schema()
    except RecursionError:  # types nested thousands deep
        raise CedarError(Diagnostic("the schema's types are nested too deeply", filename)) from None


def load_schema(path) -> Schema:
    """The schema in a file (a regular file, size-capped, UTF-8: see lang.files)."""
    from cedarscope.lang.files import read_text

    return parse_schema(read_text(path, "schema file"), str(path))
