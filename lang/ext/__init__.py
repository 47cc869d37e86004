"""Cedar's extension types, one module each (as the Cedar Lean model keeps
`Ext/Decimal`, `Ext/IPAddr`, `Ext/Datetime`): their parsing, printing and
operations on concrete values."""

from cedarscope.lang.ext.common import ExtensionValue
from cedarscope.lang.ext.datetime import Datetime, Duration
from cedarscope.lang.ext.decimal import Decimal
from cedarscope.lang.ext.ipaddr import IPAddr

EXTENSION_TYPES: tuple[type[ExtensionValue], ...] = (Decimal, IPAddr, Datetime, Duration)

__all__ = ["EXTENSION_TYPES", "Datetime", "Decimal", "Duration", "ExtensionValue", "IPAddr"]
