"""Finding rare bugs: SMT (cedarscope diff) against random differential testing.

Each case is a pair of policy versions that differ only on rare inputs:
an attribute equal to one 12-character string, a principal three levels
deep in a group hierarchy, a Long near overflow, an IP in one /28 range.
cedarscope diff is timed until it reports the difference; random testing
draws random requests and entities consistent with the schema and asks the
official engine (cedarpy) for both versions' decisions until they disagree,
capped at `cap` seconds.  The ratio is random time (or the cap, when random
testing never found it) over SMT time.
"""

from __future__ import annotations

import json
import random
import string
import sys
import time

SCHEMA = """\
entity Root;
entity L1 in [Root];
entity L2 in [L1];
entity User in [L2] = { email: String, level: Long };
entity Doc;
action view appliesTo { principal: [User], resource: [Doc], context: { ip: ipaddr } };
"""

BASE = 'permit(principal, action == Action::"view", resource) when { principal.level > 0 };\n'

CASES = {
    "12-char string": BASE + 'permit(principal, action == Action::"view", resource)\n'
                             'when { principal.email == "k3x9-qq7-z2a" };\n',
    "3-deep hierarchy": BASE + 'permit(principal in Root::"r7", action == Action::"view", resource);\n',
    "Long near overflow": 'permit(principal, action == Action::"view", resource)\n'
                          'when { principal.level > 0 && principal.level + 100 > 0 };\n',
    "IP in a /28": BASE + 'forbid(principal, action == Action::"view", resource)\n'
                          'when { context.ip.isInRange(ip("203.0.113.16/28")) };\n',
}


def smt_seconds(new_text: str) -> tuple[float, bool]:
    from cedarscope.analyzer.checks import diff_report
    from cedarscope.analyzer.solving import Options
    from cedarscope.lang.parser import parse_policies
    from cedarscope.lang.schema import parse_schema

    schema = parse_schema(SCHEMA, "rare.cedarschema")
    old = parse_policies(BASE, "old.cedar")
    new = parse_policies(new_text, "new.cedar")
    started = time.perf_counter()
    report = diff_report(schema, old, new, Options(timeout_seconds=60.0, max_examples=1))
    return time.perf_counter() - started, bool(report.findings)


def _random_string(rng: random.Random) -> str:
    return "".join(rng.choice(string.ascii_lowercase + string.digits + "-")
                   for _ in range(rng.randint(0, 14)))


def _random_long(rng: random.Random) -> int:
    k = rng.random()
    if k < 0.4:
        return rng.randint(-100, 100)
    if k < 0.7:
        return rng.randint(-(2**31), 2**31)
    return rng.randint(-(2**63), 2**63 - 1)


def _random_case(rng: random.Random) -> tuple[dict, list]:
    """One random request with its entities, consistent with SCHEMA."""
    # ids are random short strings, as for every entity of a random store
    root, l1, l2 = (_random_string(rng) or "x" for _ in range(3))
    user = _random_string(rng) or "u"
    entities = [
        {"uid": {"type": "Root", "id": root}, "attrs": {}, "parents": []},
        {"uid": {"type": "L1", "id": l1}, "attrs": {}, "parents": [{"type": "Root", "id": root}]},
        {"uid": {"type": "L2", "id": l2}, "attrs": {}, "parents": [{"type": "L1", "id": l1}]},
        {"uid": {"type": "User", "id": user},
         "attrs": {"email": _random_string(rng), "level": _random_long(rng)},
         "parents": [{"type": "L2", "id": l2}] if rng.random() < 0.7 else []},
        {"uid": {"type": "Doc", "id": "d"}, "attrs": {}, "parents": []},
    ]
    ip = ".".join(str(rng.randrange(256)) for _ in range(4))
    request = {"principal": {"type": "User", "id": user}, "action": {"type": "Action", "id": "view"},
               "resource": {"type": "Doc", "id": "d"},
               "context": {"ip": {"__extn": {"fn": "ip", "arg": ip}}}}
    return request, entities


def random_seconds(new_text: str, cap: float, seed: int = 0) -> tuple[float, bool, int]:
    import cedarpy

    rng = random.Random(seed)
    old_ps, new_ps = cedarpy.PolicySet.from_str(BASE), cedarpy.PolicySet.from_str(new_text)
    schema = cedarpy.Schema.from_str(SCHEMA)
    started = time.perf_counter()
    tried = 0
    while time.perf_counter() - started < cap:
        request, entities = _random_case(rng)
        ents = json.dumps(entities)
        tried += 1
        a = cedarpy.is_authorized(request, old_ps, ents, schema).decision
        b = cedarpy.is_authorized(request, new_ps, ents, schema).decision
        if a != b:
            return time.perf_counter() - started, True, tried
    return cap, False, tried


def measure(quick: bool = False) -> dict:
    cap = 10.0 if quick else 60.0
    rows = []
    for name, text in CASES.items():
        smt, found = smt_seconds(text)
        rnd, rnd_found, tried = random_seconds(text, cap)
        rows.append({"name": f"{name}: SMT diff", "ours": round(smt, 3) if found else "not found",
                     "baseline": (round(rnd, 3) if rnd_found else f">{cap:.0f} (missed, {tried} tries)"),
                     "unit": "s"})
        if found:
            # when random testing never found it, its time is the cap: the ratio is a lower bound
            ratio = round(rnd / smt, 1)
            rows.append({"name": f"{name}: random/SMT time" + ("" if rnd_found else " (random capped)"),
                         "ours": ratio if rnd_found else f">= {ratio:,}", "baseline": "100 (target)",
                         "unit": "x" if rnd_found else "x (lower bound: random testing stopped at the cap)"})
    return {"rows": rows, "baseline": "random differential testing with cedarpy"}


if __name__ == "__main__":
    print(json.dumps(measure("--quick" in sys.argv), indent=2))
