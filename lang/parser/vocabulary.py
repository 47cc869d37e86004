"""Cedar's reserved words, variables, functions and the limits its parser sets."""

from __future__ import annotations

# Deepest expression tree accepted.  Cedar itself has no limit (and its Rust
# parser overflows its stack near 1,000 nested brackets); ours keeps ASTs
# within what recursive Python code (dataclass ``==``, printers, evaluators)
# handles under the default recursion limit.
MAX_DEPTH = 200

# Words the lexer reserves; they cannot name variables, attributes (unquoted),
# types or namespaces.  `__cedar` is reserved as a name component as well.
RESERVED = frozenset(("true", "false", "if", "then", "else", "in", "is", "like", "has"))
RESERVED_NAMESPACE = "__cedar"

VARIABLES = ("principal", "action", "resource", "context")
SCOPE_VARIABLES = ("principal", "action", "resource")
EFFECTS = ("permit", "forbid")
CONDITION_KINDS = ("when", "unless")

EXTENSION_FUNCTIONS = ("decimal", "ip", "datetime", "duration")
EXTENSION_METHODS = (
    "lessThan", "lessThanOrEqual", "greaterThan", "greaterThanOrEqual",   # decimal
    "isIpv4", "isIpv6", "isLoopback", "isMulticast", "isInRange",          # ipaddr
    "offset", "durationSince", "toDate", "toTime",                         # datetime
    "toDays", "toHours", "toMinutes", "toSeconds", "toMilliseconds",       # duration
)
# The core methods and their arity; Cedar checks it while parsing (extension
# methods' arity is checked at evaluation).
CORE_METHOD_ARITY = {
    "contains": 1, "containsAll": 1, "containsAny": 1, "isEmpty": 0, "hasTag": 1, "getTag": 1,
}

# `!` or `-` repeated more than this many times is a parse error in Cedar.
MAX_UNARY_OPS = 4
