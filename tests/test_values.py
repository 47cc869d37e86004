"""Extension values (decimal, ipaddr, datetime, duration): Cedar's exact
parsing rules, compared with the official engine on hand-picked edge cases
and on seeded mutations of valid strings, plus their operations."""

from __future__ import annotations

import random

import pytest

from cedarscope.lang.values import (
    LONG_MAX,
    LONG_MIN,
    CedarSet,
    Datetime,
    Decimal,
    Duration,
    IPAddr,
    escape_string,
    value_key,
)

cedarpy = pytest.importorskip("cedarpy")

REQUEST = {"principal": 'U::"a"', "action": 'A::"a"', "resource": 'R::"r"', "context": {}}


def _ours(cls, s: str):
    try:
        return cls.parse(s)
    except ValueError:
        return None


def disagreements(cls, strings: list[str]) -> list[tuple[str, str]]:
    """Parse each string ourselves and with the official engine (one policy
    per string, all in one call): the engine must reject exactly what we
    reject, and must find what we accept equal to our value's literal."""
    ours = [_ours(cls, s) for s in strings]
    policies = []
    for s, value in zip(strings, ours, strict=False):
        rhs = value.cedar_literal() if value is not None else "true"
        policies.append(f'permit(principal, action, resource) when '
                        f'{{ {cls.EXT_FUNCTION}("{escape_string(s)}") == {rhs} }};')
    result = cedarpy.is_authorized(REQUEST, "\n".join(policies), [])
    errored = {m.split("`")[1] for m in result.diagnostics.errors}
    equal = set(result.diagnostics.reasons)
    bad = []
    for i, (s, value) in enumerate(zip(strings, ours, strict=False)):
        pid = f"policy{i}"
        if value is None and pid not in errored:
            bad.append((s, "we reject, Cedar accepts"))
        elif value is not None and pid not in equal:
            bad.append((s, f"we read {value.cedar_literal()}, Cedar disagrees"))
    return bad


def mutations(seeds: list[str], alphabet: str, count: int, seed: int) -> list[str]:
    """Seeded random edits (insert, delete, replace, duplicate) of valid strings:
    near-misses exercise the rules far better than random text."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        s = list(rng.choice(seeds))
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(s) + 1)
            op = rng.randrange(4)
            if op == 0:
                s.insert(i, rng.choice(alphabet))
            elif op == 1 and i < len(s):
                del s[i]
            elif op == 2 and i < len(s):
                s[i] = rng.choice(alphabet)
            elif op == 3 and i < len(s):
                s.insert(i, s[i])
        out.append("".join(s))
    return out


# --------------------------------------------------------------------------
# decimal

DECIMAL_CASES = [
    "1.0", "-1.0", "0.1234", "1.23456", "-0.0", "-0.5", "-00.50", "00001.5", "+1.0", ".5", "1.", "1", "1e3",
    "922337203685477.5807", "922337203685477.5808", "-922337203685477.5808", "-922337203685477.5809",
    "99999999999999999999.12345", "1.00000", "0.0000", "1.5\n", " 1.0", "-.5", "1..5", "1.5.5", "",
    "٣.5", "1.٣", "1.٣٣٣", "1_0.5", "-000000000000000000000001.5", "0" * 40 + "1.0", "9" * 5000 + ".1",
]


def test_decimal_edge_cases_match_cedar():
    assert disagreements(Decimal, DECIMAL_CASES) == []


def test_decimal_mutations_match_cedar():
    seeds = ["1.0", "-12.3456", "922337203685477.5807", "-922337203685477.5808", "0.0001"]
    assert disagreements(Decimal, mutations(seeds, "0123456789.-+ e", 300, seed=1)) == []


def test_decimal_values_and_errors():
    assert Decimal.parse("-0.5").value == -5000
    assert Decimal.parse("1.0") == Decimal.parse("1.0000")
    assert str(Decimal.parse("-12.3400")) == "-12.34"
    assert Decimal.parse("-922337203685477.5808").value == LONG_MIN
    with pytest.raises(ValueError, match="too many digits"):
        Decimal.parse("1.23456")
    with pytest.raises(ValueError, match="overflow"):
        Decimal.parse("922337203685477.5808")
    with pytest.raises(ValueError, match="not a well-formed"):
        Decimal.parse("1")


# --------------------------------------------------------------------------
# ipaddr

IP_CASES = [
    "1.2.3.4", "01.2.3.4", "1.2.3.04", "0.0.0.0", "255.255.255.255", "256.1.1.1", "1.2.3", "1.2.3.4.5",
    "1.2.3.4/0", "1.2.3.4/32", "1.2.3.4/33", "1.2.3.4/08", "1.2.3.4/", "1.2.3.4/+8", "1.2.3.4/00",
    "::", "::1", "::1/128", "::1/129", "::1/0128", "1::", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7::",
    "::2:3:4:5:6:7:8", "1:2:3:4:5:6:7::8", "::1:2:3:4:5:6:7", "1:2:3:4:5:6::7", "1::2::3",
    "::ffff:1.2.3.4", "::1.2.3.4", "::0.0.0.0", ":::", "1:", ":1::", "1:2:3:4:5:6:7:8:9", "00000::", "0000::",
    "ABCD::EF", "fe80::1%eth0", " 1.2.3.4", "1.2.3.4 ", "１.2.3.4", "1.2.3.4/1.2", "::1/1.2", "1.2.3.4:80",
    "1:2:3:4:5:6:7:8/64", "1.2.3.4/٣", "1:2:3:4:5:6:7:8:/1", "1.2.3.4/32/1",
    "0000:0000:0000:0000:0000:0000:0000:0001/128", "0000:0000:0000:0000:0000:0000:0000:00001",
    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", "::ffff:102:304", "fe80::1:0:0:0/64", "",
]


def test_ip_edge_cases_match_cedar():
    assert disagreements(IPAddr, IP_CASES) == []


def test_ip_mutations_match_cedar():
    seeds = ["192.168.0.1/24", "10.0.0.1", "::1", "fe80::1:2/64", "1:2:3:4:5:6:7:8", "::ffff:7f00:1/120"]
    assert disagreements(IPAddr, mutations(seeds, "0123456789abcdefABCDEF:./", 400, seed=2)) == []


def test_ip_operations():
    assert IPAddr.parse("1.2.3.4") == IPAddr.parse("1.2.3.4/32")
    assert IPAddr.parse("10.0.0.1/8") != IPAddr.parse("10.0.0.0/8")
    assert str(IPAddr.parse("0:0:0:0:0:ffff:0102:0304/96")) == "::ffff:102:304/96"
    assert IPAddr.parse("10.1.0.0/16").is_in_range(IPAddr.parse("10.0.0.0/8"))
    assert not IPAddr.parse("10.0.0.0/8").is_in_range(IPAddr.parse("10.1.0.0/16"))
    assert not IPAddr.parse("::1").is_in_range(IPAddr.parse("0.0.0.0/0"))
    assert IPAddr.parse("127.255.0.1/8").is_loopback() and not IPAddr.parse("127.0.0.1/7").is_loopback()
    assert IPAddr.parse("::1").is_loopback() and not IPAddr.parse("::1/127").is_loopback()
    assert IPAddr.parse("239.1.1.1").is_multicast() and IPAddr.parse("ff01::1/8").is_multicast()


# --------------------------------------------------------------------------
# datetime

DATETIME_CASES = [
    "2024-01-01", "2024-1-01", "2024-01-01T", "2024-01-01T00:00:00", "2024-01-01T00:00:00Z",
    "2024-01-01T00:00:00.1Z", "2024-01-01T00:00:00.123Z", "2024-01-01T00:00:00.1234Z", "2024-01-01T24:00:00Z",
    "2024-01-01T23:60:00Z", "2024-01-01T23:59:60Z", "2024-02-29", "2023-02-29", "1900-02-29", "2000-02-29",
    "0000-02-29", "0000-01-01", "9999-12-31T23:59:59.999-2359", "0000-01-01T00:00:00+2359",
    "2024-01-01T00:00:00+2400", "2024-01-01T00:00:00+0060", "2024-01-01T00:00:00+2359",
    "2024-01-01T00:00:00.000-0000", "2024-13-01T00:00:00+99", "2024-13-01", "2024-00-01", "2024-01-00",
    "2024-01-01Z", "2024-01-01T00:00:00ZZ", "2024-01-01t00:00:00Z", "2024-01-01T00:00:00z", "+2024-01-01",
    "12024-01-01", "2024-01-01T00:00:00+01", "2024-01-01T00:00:00+01:00", "2024-13-01T00:00:00Z",
    "2024-13-01T25:00:00Z", "2024-02-30T00:00:00+2400", "2024-02-30T25:00:00Z", "1969-12-31T23:59:59.999Z",
    "2024-01-01 00:00:00Z", "２024-01-01", "",
]


def test_datetime_edge_cases_match_cedar():
    assert disagreements(Datetime, DATETIME_CASES) == []


def test_datetime_mutations_match_cedar():
    seeds = ["2024-10-15", "2024-10-15T11:38:02Z", "2024-10-15T11:38:02.101Z", "2024-02-29T23:59:59.999-2359",
             "1969-12-31T00:00:00+0130"]
    assert disagreements(Datetime, mutations(seeds, "0123456789-:.TZ+", 400, seed=3)) == []


def test_datetime_values_and_literals():
    assert Datetime.parse("1970-01-01").ms == 0
    assert Datetime.parse("2024-10-15T11:38:02.101-1134").ms == Datetime.parse("2024-10-15T23:12:02.101Z").ms
    assert Datetime.parse("0000-03-01").ms - Datetime.parse("0000-02-28").ms == 2 * 86_400_000  # year 0 is leap
    for s in ["2024-01-01", "1969-12-31T23:59:59.999Z", "0000-01-01T00:00:01Z"]:
        assert Datetime.parse(str(Datetime.parse(s))) == Datetime.parse(s)
    far = Datetime(LONG_MAX)
    assert far.literal_text() is None
    assert far.cedar_literal() == f'datetime("1970-01-01").offset(duration("{LONG_MAX}ms"))'
    assert Datetime(-1).to_date() == Datetime(-86_400_000) and Datetime(-1).to_time() == Duration(86_399_999)
    with pytest.raises(OverflowError):
        Datetime(LONG_MIN).to_date()


# --------------------------------------------------------------------------
# duration

DURATION_CASES = [
    "1d2h3m4s5ms", "0ms", "-0ms", "", "-", "1m", "1ms", "1s1ms", "1ms1s", "1h1d", "1d1d", "-1d", "--1d", "1D",
    "1.5h", "9223372036854775807ms", "9223372036854775808ms", "-9223372036854775808ms", "-9223372036854775809ms",
    "106751991167d", "106751991168d", "99999999999999999999ms", "18446744073709551616ms", "1d-1h", "1 d",
    "0d0h0m0s0ms", "-106751991167d7h12m55s808ms", "106751991167d7h12m55s808ms", "-106751991167d7h12m55s809ms",
    "1y", "00001h", "1mm", "1msms", "1m1ms", "0" * 30 + "1ms", "9" * 5000 + "ms", "18446744073709551615ms",
]


def test_duration_edge_cases_match_cedar():
    assert disagreements(Duration, DURATION_CASES) == []


def test_duration_mutations_match_cedar():
    seeds = ["1d2h3m4s5ms", "-15m", "9223372036854775807ms", "-106751991167d7h12m55s808ms", "1h30m"]
    assert disagreements(Duration, mutations(seeds, "0123456789-dhms", 400, seed=4)) == []


def test_duration_conversions_truncate_toward_zero():
    d = Duration.parse("-1d23h59m59s999ms")
    assert (d.to_days(), d.to_hours(), d.to_minutes(), d.to_seconds()) == (-1, -47, -2879, -172799)
    assert str(Duration(LONG_MIN)) == "-106751991167d7h12m55s808ms"
    assert Duration.parse(str(Duration(LONG_MIN))) == Duration(LONG_MIN)
    assert str(Duration(0)) == "0ms"


# --------------------------------------------------------------------------
# Cedar equality of extension values inside sets and records


def test_extension_values_as_set_elements():
    s = CedarSet([Decimal.parse("1.0"), Decimal.parse("1.0000"), IPAddr.parse("1.2.3.4/32"),
                  IPAddr.parse("1.2.3.4"), Duration.parse("60m"), Duration.parse("1h")])
    assert len(s) == 3
    assert value_key(Datetime(0)) != value_key(Duration(0))  # same number, different types


def test_string_form_round_trips():
    rng = random.Random(5)
    for _ in range(300):
        for value in (Decimal(rng.randint(LONG_MIN, LONG_MAX)), Duration(rng.randint(LONG_MIN, LONG_MAX)),
                      IPAddr(4, rng.getrandbits(32), rng.randint(0, 32)),
                      IPAddr(6, rng.getrandbits(128) >> rng.choice([0, 64, 100, 120]), rng.randint(0, 128))):
            assert type(value).parse(str(value)) == value
        d = Datetime(rng.randint(-62_167_219_200_000, 253_402_300_799_999))
        assert Datetime.parse(str(d)) == d
