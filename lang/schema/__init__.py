"""Cedar schemas: the type model shared by the validator and the encoder.

Both schema formats (the Cedar schema syntax, ``.cedarschema``, and the JSON
schema) are read into one `Schema`.  All names here are fully qualified
(``NS::Type``, ``NS::Action::"view"``) once a schema is built.

`types` holds the types, `declarations` the `Schema` and what it declares;
`raw` the unresolved declarations that `cedar_syntax` and `json_format`
read and `resolve` turns into a `Schema`; `reading` the entry points.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cedarscope.lang.lazy import lazy_exports

if TYPE_CHECKING:
    from cedarscope.lang.schema.cedar_syntax import unescape_cedar_string
    from cedarscope.lang.schema.declarations import ActionDef, EntityTypeDef, RequestEnv, Schema
    from cedarscope.lang.schema.json_format import schema_to_json, type_to_json
    from cedarscope.lang.schema.raw import EXTENSIONS, PRIMITIVES, RESERVED_TYPE_NAMES
    from cedarscope.lang.schema.reading import load_schema, parse_schema
    from cedarscope.lang.schema.types import (
        Attribute,
        BoolType,
        CedarType,
        EntityType,
        ExtensionType,
        LongType,
        RecordType,
        SetType,
        StringType,
        record_type,
    )

_EXPORTS = {
    **dict.fromkeys(["Attribute", "BoolType", "CedarType", "EntityType", "ExtensionType", "LongType",
                     "RecordType", "SetType", "StringType", "record_type"], ".types"),
    **dict.fromkeys(["ActionDef", "EntityTypeDef", "RequestEnv", "Schema"], ".declarations"),
    **dict.fromkeys(["EXTENSIONS", "PRIMITIVES", "RESERVED_TYPE_NAMES"], ".raw"),
    **dict.fromkeys(["load_schema", "parse_schema"], ".reading"),
    **dict.fromkeys(["schema_to_json", "type_to_json"], ".json_format"),
    "unescape_cedar_string": ".cedar_syntax",
}
__all__ = [
    "EXTENSIONS", "PRIMITIVES", "RESERVED_TYPE_NAMES", "ActionDef", "Attribute", "BoolType", "CedarType",
    "EntityType", "EntityTypeDef", "ExtensionType", "LongType", "RecordType", "RequestEnv", "Schema", "SetType",
    "StringType", "load_schema", "parse_schema", "record_type", "schema_to_json", "type_to_json",
    "unescape_cedar_string",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
