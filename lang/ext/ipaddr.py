"""Cedar's `ipaddr` extension: IPv4 and IPv6 addresses with a prefix length."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from cedarscope.lang.ext.common import ExtensionValue

IP_STR_MAX_LEN = 43  # len("ABCD:EF01:2345:6789:ABCD:EF01:2345:6789/128")
IPV4_BITS = 32
IPV6_BITS = 128
_HEX = frozenset("0123456789abcdefABCDEF")


def _parse_ipv4(s: str) -> int | None:
    """Four decimal octets, at most 3 digits each, no leading zeros (Rust's
    `Ipv4Addr` text form)."""
    parts = s.split(".")
    if len(parts) != 4:
        return None
    addr = 0
    for part in parts:
        if not (1 <= len(part) <= 3 and part.isascii() and part.isdigit()):
            return None
        if part[0] == "0" and len(part) > 1:
            return None
        octet = int(part)
        if octet > 255:
            return None
        addr = addr << 8 | octet
    return addr


def _parse_ipv6_groups(s: str, limit: int) -> list[int] | None:
    """Up to `limit` colon-separated hex groups of 1 to 4 digits ("" = none)."""
    if s == "":
        return []
    parts = s.split(":")
    if len(parts) > limit:
        return None
    groups = []
    for part in parts:
        if not 1 <= len(part) <= 4 or not set(part) <= _HEX:
            return None
        groups.append(int(part, 16))
    return groups


def _parse_ipv6(s: str) -> int | None:
    """Rust's `Ipv6Addr` text form without embedded IPv4 (which Cedar rejects
    before parsing): 8 groups, or fewer around one `::` that stands for at
    least one zero group."""
    if "::" in s:
        head_text, _, tail_text = s.partition("::")
        head = _parse_ipv6_groups(head_text, 7)
        if head is None:
            return None
        tail = _parse_ipv6_groups(tail_text, 7 - len(head))
        if tail is None:
            return None
        groups = head + [0] * (8 - len(head) - len(tail)) + tail
    else:
        full = _parse_ipv6_groups(s, 8)
        if full is None or len(full) != 8:
            return None
        groups = full
    addr = 0
    for g in groups:
        addr = addr << 16 | g
    return addr


def _parse_prefix(s: str, max_prefix: int) -> int:
    if len(s.encode()) > len(str(max_prefix)):
        raise ValueError(f"error parsing prefix: string length {len(s.encode())} is too large")
    if not all(c in "0123456789" for c in s):
        raise ValueError(f"error parsing prefix `{s}`: encountered non-digit")
    if s.startswith("0") and s != "0":
        raise ValueError(f"error parsing prefix `{s}`: leading zero(s)")
    if s == "":
        raise ValueError("error parsing prefix from the string ``: cannot parse integer from empty string")
    prefix = int(s)
    if prefix > max_prefix:
        raise ValueError(f"error parsing prefix: {prefix} is larger than the limit {max_prefix}")
    return prefix


def _format_ipv6(addr: int) -> str:
    """RFC 5952 text (longest run of two or more zero groups as `::`), never
    with an embedded IPv4 part since Cedar would not read that back."""
    groups = [(addr >> (16 * (7 - i))) & 0xFFFF for i in range(8)]
    best_start, best_len, run_start = -1, 1, None
    for i, g in enumerate(groups + [1]):
        if g == 0 and run_start is None:
            run_start = i
        elif g != 0 and run_start is not None:
            if i - run_start > best_len:
                best_start, best_len = run_start, i - run_start
            run_start = None
    text = [f"{g:x}" for g in groups]
    if best_start < 0:
        return ":".join(text)
    return ":".join(text[:best_start]) + "::" + ":".join(text[best_start + best_len:])


@dataclass(frozen=True)
class IPAddr(ExtensionValue):
    """An IPv4 or IPv6 address with a prefix length (a CIDR range).  The
    address is kept as written, not masked: ``ip("10.0.0.1/8")`` and
    ``ip("10.0.0.0/8")`` differ, while ``ip("1.2.3.4")`` is ``/32``."""

    version: int  # 4 | 6
    addr: int
    prefix: int

    CEDAR_TYPE: ClassVar[str] = "ipaddr"
    EXT_FUNCTION: ClassVar[str] = "ip"

    @classmethod
    def parse(cls, s: str) -> IPAddr:
        if len(s.encode()) > IP_STR_MAX_LEN:
            raise ValueError(f"error parsing IP address from string `{s}`: string length is too large")
        if s.count(":") >= 2 and s.count(".") >= 2:
            raise ValueError(
                "error parsing IP address from string: We do not accept IPv4 embedded "
                f"in IPv6 (e.g., ::ffff:127.0.0.1). Found: `{s}`")
        addr_text, slash, prefix_text = s.partition("/")
        v4 = _parse_ipv4(addr_text)
        v6 = _parse_ipv6(addr_text) if v4 is None else None
        if v4 is not None:
            version, addr, bits = 4, v4, IPV4_BITS
        elif v6 is not None:
            version, addr, bits = 6, v6, IPV6_BITS
        elif slash:
            raise ValueError(f"error parsing IP address from the string `{addr_text}`: invalid IP address syntax")
        else:
            raise ValueError(f"invalid IP address: {s}")
        prefix = _parse_prefix(prefix_text, bits) if slash else bits
        return cls(version, addr, prefix)

    @property
    def bits(self) -> int:
        return IPV4_BITS if self.version == 4 else IPV6_BITS

    def is_ipv4(self) -> bool:
        return self.version == 4

    def is_ipv6(self) -> bool:
        return self.version == 6

    def is_loopback(self) -> bool:
        # 127.0.0.0/8 and ::1; a range counts only if it lies inside them.
        if self.version == 4:
            return self.addr >> 24 == 127 and self.prefix >= 8
        return self.addr == 1 and self.prefix == IPV6_BITS

    def is_multicast(self) -> bool:
        # 224.0.0.0/4 and ff00::/8.
        if self.version == 4:
            return self.addr >> 28 == 0xE and self.prefix >= 4
        return self.addr >> 120 == 0xFF and self.prefix >= 8

    def network(self) -> int:
        return self.addr & ~self.hostmask() & ((1 << self.bits) - 1)

    def hostmask(self) -> int:
        return (1 << (self.bits - self.prefix)) - 1

    def broadcast(self) -> int:
        return self.addr | self.hostmask()

    def is_in_range(self, other: IPAddr) -> bool:
        """Every address of self lies in other's range (false across versions)."""
        if self.version != other.version:
            return False
        return other.network() <= self.network() and self.broadcast() <= other.broadcast()

    def cedar_key(self) -> tuple[int, int, int]:
        return (self.version, self.addr, self.prefix)

    def __str__(self) -> str:
        if self.version == 4:
            text = ".".join(str((self.addr >> shift) & 0xFF) for shift in (24, 16, 8, 0))
        else:
            text = _format_ipv6(self.addr)
        return text if self.prefix == self.bits else f"{text}/{self.prefix}"
