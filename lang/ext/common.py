"""What the extension types (decimal, ipaddr, datetime, duration) share.

The rules in this package are Cedar's own (cedar-policy-core's decimal,
ipaddr and datetime extensions); ValueError messages follow Cedar's wording.
Each type is a frozen dataclass with CEDAR_TYPE and cedar_key(); see
`lang.values.value_key`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from typing import Self


class ExtensionValue:
    """What the four extension types share."""

    __slots__ = ()
    CEDAR_TYPE: ClassVar[str]  # the type's name in Cedar (and in its schemas)
    EXT_FUNCTION: ClassVar[str]  # the extension function that constructs it

    if TYPE_CHECKING:
        @classmethod
        def parse(cls, s: str) -> Self:
            """The value a constructor's string denotes (ValueError if none)."""

    def cedar_literal(self) -> str:
        """A Cedar expression for this value, such as ``decimal("1.5")``.
        Every extension value's text is plain ASCII without quotes or
        backslashes, so it needs no escaping inside the string literal."""
        return f'{self.EXT_FUNCTION}("{self}")'


def ascii_int(digits: str) -> int:
    """`int()` of an ASCII digit string; Python would also take other digits."""
    if not digits.isascii():
        raise ValueError("not an ASCII number")
    return int(digits)
