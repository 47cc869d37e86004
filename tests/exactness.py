"""Are change descriptions exact?  An independent check with cedarpy.

For every change of a diff, the description (one Cedar policy) is evaluated
by cedarpy, the official engine, on each of the change's examples and on at
least 50 perturbations of each: attribute values flipped (in the store and
in the context), parents added or removed, the principal or the resource
swapped for another entity of its type.  It must allow exactly the requests
that the new version allows and the old denies (for a gain; the reverse for
a loss), as cedarpy decides them.

Perturbed stores stay well formed the way the analysis assumes: every
entity a request or an attribute refers to is in the store (added, with
schema defaults, when a perturbation refers to a new one), and parents keep
the types the schema allows.

    python -m tests.exactness            # the bundled example, mutants, generated stores
    python -m tests.exactness --texts F  # ... and every description's text into F

prints, per corpus, changes checked, requests evaluated, mismatches, the
median description size (atoms, characters) and the fallback rate.  The
texts written with `--texts` (one line per change: corpus, direction,
environment, description) let two runs be compared: descriptions are
deterministic, so they must be identical.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cedarscope.analyzer.confirm import linked_text
from cedarscope.lang.ast import PolicySet
from cedarscope.lang.entities import Entities, Entity, entities_to_json
from cedarscope.lang.parser import parse_policy
from cedarscope.lang.request import Request, request_to_json
from cedarscope.lang.schema import (
    BoolType,
    EntityType,
    LongType,
    RecordType,
    Schema,
    SetType,
    StringType,
)
from cedarscope.lang.values import CedarRecord, CedarSet, EntityUID
from cedarscope.reports.findings import Finding, Report
from tests.support.corpus import CORPUS

PERTURBATIONS = 50


@dataclass
class Tally:
    """What an exactness run saw."""

    changes: int = 0
    described: int = 0
    structural: int = 0
    unavailable: int = 0
    requests: int = 0
    skipped: int = 0  # perturbations cedarpy rejected as input (never counted as agreement)
    cut: int = 0  # descriptions whose search for redundant parts ran out of its work budget (still exact)
    timed_out: int = 0  # ... or was stopped by the wall-clock safety net (still exact; may vary with load)
    mismatches: list[str] = field(default_factory=list)
    atoms: list[int] = field(default_factory=list)
    chars: list[int] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)  # "direction environment: description", one line each

    def add(self, other: Tally) -> None:
        for name in ("changes", "described", "structural", "unavailable", "requests", "skipped", "cut",
                     "timed_out"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.mismatches += other.mismatches
        self.atoms += other.atoms
        self.chars += other.chars
        self.texts += other.texts

    def line(self, name: str) -> str:
        med_atoms = statistics.median(self.atoms) if self.atoms else 0
        med_chars = statistics.median(self.chars) if self.chars else 0
        fallback = self.structural / self.changes if self.changes else 0.0
        return (f"{name}: {self.changes} changes, {self.described} described "
                f"({self.structural} structural fallback = {fallback:.1%}, {self.cut} cut short by the budget, "
                f"{self.timed_out} by the time limit, "
                f"{self.unavailable} unavailable); "
                f"{self.requests} requests evaluated by cedarpy ({self.skipped} perturbations rejected as input), "
                f"{len(self.mismatches)} mismatches; median description {med_atoms} atoms, {med_chars} chars")


# --------------------------------------------------------------------------
# Perturbations


class Perturber:
    """Small, schema-conforming edits of a request and its store."""

    def __init__(self, schema: Schema, policies: Iterable[PolicySet], rng: random.Random):
        self.schema, self.rng = schema, rng
        self.longs: set[int] = {0, 1, -1}
        self.strings: set[str] = {"", "x"}
        self.uids: dict[str, set[EntityUID]] = {}
        for ps in policies:
            self._literals(linked_text(ps))

    def _literals(self, text: str) -> None:
        from cedarscope.lang.parser import parse_policies

        for _, p in parse_policies(text).policies:
            for node in _walk(p):
                value = getattr(node, "value", None)
                if isinstance(value, bool):
                    continue
                if isinstance(value, int):
                    self.longs |= {value, value - 1, value + 1}
                elif isinstance(value, str):
                    self.strings.add(value)
                uid = getattr(node, "uid", None) or getattr(node, "target", None) or getattr(node, "in_target", None)
                if isinstance(uid, EntityUID):
                    self.uids.setdefault(uid.type, set()).add(uid)
                for t in getattr(node, "targets", ()) or ():
                    if isinstance(t, EntityUID):
                        self.uids.setdefault(t.type, set()).add(t)

    def variants(self, request: Request, entities: Entities, n: int) -> Iterator[tuple[Request, Entities]]:
        entities = Entities(self._closed(request, {e.uid: e for e in entities}).values())
        edits = [self.flip_attribute, self.flip_context, self.add_parent, self.remove_parent,
                 self.swap_principal, self.swap_resource]
        made = 0
        tries = 0
        while made < n and tries < 20 * n:
            tries += 1
            r, store = request, {e.uid: e for e in entities}
            for _ in range(self.rng.choice((1, 1, 2, 3))):
                r, store = self.rng.choice(edits)(r, store)
            yield r, Entities(self._closed(r, store).values())
            made += 1

    # One edit each ---------------------------------------------------------

    def value(self, ty: Any, old: Any, store: dict) -> Any:
        rng = self.rng
        if isinstance(ty, BoolType):
            return not old if isinstance(old, bool) else rng.random() < 0.5
        if isinstance(ty, LongType):
            return rng.choice(sorted(self.longs | ({old - 1, old + 1} if isinstance(old, int) else set())))
        if isinstance(ty, StringType):
            return rng.choice(sorted(self.strings))
        if isinstance(ty, EntityType):
            return rng.choice(self._entities_of(ty.name, store))
        if isinstance(ty, SetType):
            items = list(old) if isinstance(old, CedarSet) else []
            if items and rng.random() < 0.5:
                items.pop(rng.randrange(len(items)))
            else:
                items.append(self.value(ty.elem, None, store))
            return CedarSet(items)
        if isinstance(ty, RecordType):
            base = old if isinstance(old, CedarRecord) else self._default(ty, EntityUID("_", "_"), store)
            rec = dict(base)
            if ty.attrs:
                k, a = rng.choice(list(ty.attrs))
                rec[k] = self.value(a.type, rec.get(k), store)
            return CedarRecord(rec)
        return old  # extension values stay

    def _entities_of(self, etype: str, store: dict) -> list[EntityUID]:
        declared = self.schema.entity_types.get(etype)
        if declared is not None and declared.enum is not None:  # an enum type has only its ids
            return sorted(EntityUID(etype, x) for x in declared.enum)
        found = {u for u in store if u.type == etype} | self.uids.get(etype, set())
        found.add(EntityUID(etype, f"other{self.rng.randrange(3)}"))
        return sorted(found)

    def flip_attribute(self, r: Request, store: dict) -> tuple[Request, dict]:
        candidates = [u for u, e in store.items() if u.type in self.schema.entity_types
                      and self.schema.entity_types[u.type].shape.attrs]
        if not candidates:
            return r, store
        u = self.rng.choice(sorted(candidates))
        e = store[u]
        k, a = self.rng.choice(list(self.schema.entity_types[u.type].shape.attrs))
        attrs = dict(e.attrs)
        if not a.required and k in attrs and self.rng.random() < 0.3:
            del attrs[k]
        else:
            attrs[k] = self.value(a.type, attrs.get(k), store)
        return r, {**store, u: Entity(u, CedarRecord(attrs), e.parents, e.tags)}

    def flip_context(self, r: Request, store: dict) -> tuple[Request, dict]:
        ctx_type = self.schema.actions[r.action].context
        if not ctx_type.attrs:
            return r, store
        k, a = self.rng.choice(list(ctx_type.attrs))
        ctx = dict(r.context)
        if not a.required and k in ctx and self.rng.random() < 0.3:
            del ctx[k]
        else:
            ctx[k] = self.value(a.type, ctx.get(k), store)
        return Request(r.principal, r.action, r.resource, CedarRecord(ctx)), store

    def add_parent(self, r: Request, store: dict) -> tuple[Request, dict]:
        choices = sorted(x for x in store if x.type in self.schema.entity_types)
        if not choices:
            return r, store
        u = self.rng.choice(choices)
        allowed = self.schema.entity_types[u.type].member_of
        if not allowed:
            return r, store
        parent = self.rng.choice(self._entities_of(self.rng.choice(allowed), store))
        if parent == u:
            return r, store
        e = store[u]
        return r, {**store, u: Entity(u, e.attrs, frozenset(e.parents | {parent}), e.tags)}

    def remove_parent(self, r: Request, store: dict) -> tuple[Request, dict]:
        with_parents = sorted(u for u, e in store.items() if e.parents and u.type in self.schema.entity_types)
        if not with_parents:
            return self.add_parent(r, store)
        u = self.rng.choice(with_parents)
        e = store[u]
        gone = self.rng.choice(sorted(e.parents))
        return r, {**store, u: Entity(u, e.attrs, frozenset(e.parents - {gone}), e.tags)}

    def swap_principal(self, r: Request, store: dict) -> tuple[Request, dict]:
        p = self.rng.choice(self._entities_of(r.principal.type, store))
        return Request(p, r.action, r.resource, r.context), store

    def swap_resource(self, r: Request, store: dict) -> tuple[Request, dict]:
        x = self.rng.choice(self._entities_of(r.resource.type, store))
        return Request(r.principal, r.action, x, r.context), store

    # Well-formed stores ------------------------------------------------------

    def _closed(self, r: Request, store: dict) -> dict:
        """Every entity referred to is in the store, conforming, and the
        hierarchy stays acyclic."""
        todo = [r.principal, r.resource, *_uids_in(r.context)]
        for e in list(store.values()):
            todo += list(_uids_in(e.attrs))
        while todo:
            u = todo.pop()
            if u in store or u.type not in self.schema.entity_types:
                continue
            attrs = self.default_attrs(u, store)
            store[u] = Entity(u, attrs, frozenset())
            todo += list(_uids_in(attrs))
        return _acyclic(store)

    def default_attrs(self, u: EntityUID, store: dict) -> CedarRecord:
        shape = self.schema.entity_types[u.type].shape
        return CedarRecord({k: self._default(a.type, u, store) for k, a in shape.attrs if a.required})

    def _default(self, ty: Any, owner: EntityUID, store: dict) -> Any:
        if isinstance(ty, BoolType):
            return False
        if isinstance(ty, LongType):
            return 0
        if isinstance(ty, StringType):
            return ""
        if isinstance(ty, EntityType):
            existing = sorted(u for u in store if u.type == ty.name)
            return existing[0] if existing else (owner if owner.type == ty.name else EntityUID(ty.name, "default"))
        if isinstance(ty, SetType):
            return CedarSet()
        if isinstance(ty, RecordType):
            return CedarRecord({k: self._default(a.type, owner, store) for k, a in ty.attrs if a.required})
        from cedarscope.lang import values

        return {"decimal": values.Decimal(0), "ipaddr": values.IPAddr(4, 0, 32), "datetime": values.Datetime(0),
                "duration": values.Duration(0)}[ty.name]


def _walk(node: Any) -> Iterator[Any]:
    import dataclasses

    yield node
    if dataclasses.is_dataclass(node):
        for fl in dataclasses.fields(node):
            if fl.name != "span":
                yield from _walk(getattr(node, fl.name))
    elif isinstance(node, tuple):
        for x in node:
            yield from _walk(x)


def _uids_in(v: Any) -> Iterator[EntityUID]:
    if isinstance(v, EntityUID):
        yield v
    elif isinstance(v, CedarRecord):
        for x in v.values():
            yield from _uids_in(x)
    elif isinstance(v, CedarSet):
        for x in v:
            yield from _uids_in(x)


def _acyclic(store: dict) -> dict:
    """Drop parent edges that close a cycle (Cedar's hierarchies are DAGs)."""
    out = dict(store)
    for u in sorted(out):
        e = out[u]
        keep = set()
        for p in sorted(e.parents):
            if not _reaches(out, p, u):
                keep.add(p)
                out[u] = Entity(u, e.attrs, frozenset(keep), e.tags)
        out[u] = Entity(u, e.attrs, frozenset(keep), e.tags)
    return out


def _reaches(store: dict, start: EntityUID, goal: EntityUID) -> bool:
    seen, todo = set(), [start]
    while todo:
        x = todo.pop()
        if x == goal:
            return True
        if x in seen or x not in store:
            continue
        seen.add(x)
        todo += list(store[x].parents)
    return False


# --------------------------------------------------------------------------
# Checking a report


def check_report(report: Report, schema: Schema, schema_text: str, old: PolicySet, new: PolicySet,
                 perturbations: int = PERTURBATIONS, seed: int = 0) -> Tally:
    """Every change of a diff report, its description against cedarpy."""
    import cedarpy

    tally = Tally(cut=report.stats.get("descriptions_cut_by_budget", 0),
                  timed_out=report.stats.get("descriptions_cut_by_time", 0))
    old_text, new_text = linked_text(old), linked_text(new)
    engines = {"old": cedarpy.PolicySet.from_str(old_text), "new": cedarpy.PolicySet.from_str(new_text)}
    try:
        cedar_schema = cedarpy.Schema.from_str(schema_text)
    except ValueError:
        cedar_schema = cedarpy.Schema.from_json_str(schema_text)
    perturber = Perturber(schema, (old, new), random.Random(seed))
    for finding in report.changes:
        tally.changes += 1
        tally.texts.append(f"{finding.kind} {finding.environment}: {_one_line(finding.description)}")
        if finding.description is None:
            tally.unavailable += 1
            continue
        tally.described += 1
        tally.structural += finding.description_form == "structural"
        parse_policy(finding.description)  # it is Cedar
        tally.chars.append(len(_one_line(finding.description)))
        tally.atoms.append(_atoms(finding.description))
        described = cedarpy.PolicySet.from_str(finding.description)
        for cx in finding.examples:
            for request, entities in [(cx.request, cx.entities),
                                      *perturber.variants(cx.request, cx.entities, perturbations)]:
                outcome = _decide(cedarpy, engines, described, cedar_schema, request, entities, finding)
                if outcome is None:
                    tally.skipped += 1
                    continue
                tally.requests += 1
                if outcome:
                    tally.mismatches.append(outcome)
    return tally


def _one_line(text: str | None) -> str:
    from cedarscope.reports.render_text import one_line

    return one_line(text) if text is not None else "(no description)"


def _decide(cedarpy, engines, described, schema, request: Request, entities: Entities,
            finding: Finding) -> str | None:
    """"" when the description agrees with the versions on this request, a
    message when it does not, None when cedarpy rejects the input."""
    req = request_to_json(request)
    ents = json.dumps(entities_to_json(entities))
    decisions = {}
    for name, policies in (("old", engines["old"]), ("new", engines["new"]), ("description", described)):
        result = cedarpy.is_authorized(req, policies, ents, schema)
        if result.diagnostics.errors and not result.diagnostics.reasons and name != "description":
            errors = " ".join(str(e) for e in result.diagnostics.errors)
            if "entity" in errors.lower() and "error while evaluating" not in errors.lower():
                return None
        decisions[name] = result.decision == cedarpy.Decision.Allow
    after, before = ("new", "old") if finding.kind == "gained" else ("old", "new")
    expected = decisions[after] and not decisions[before]
    if decisions["description"] != expected:
        return (f"{finding.kind} {finding.environment}: description says {decisions['description']}, "
                f"versions say {expected} for {json.dumps(req)} with {ents}")
    return ""


def _atoms(text: str) -> int:
    """Conditions a reader takes in: scope constraints and atomic conditions."""
    from cedarscope.analyzer import formula as f
    from cedarscope.lang import ast

    p = parse_policy(text)
    scoped = sum(1 for s in (p.principal, p.resource) if not isinstance(s, ast.ScopeAny))
    return scoped + sum(f.size(f.truth(c.body, c.kind == "when")) for c in p.conditions)


# --------------------------------------------------------------------------
# The corpora


REPO = Path(__file__).resolve().parents[1]


def bundled_example(perturbations: int = PERTURBATIONS) -> Tally:
    from cedarscope.analyzer.checks import diff_report
    from cedarscope.analyzer.solving import Options
    from cedarscope.lang.parser import load_policies
    from cedarscope.lang.schema import load_schema

    ex = REPO / "examples"
    schema = load_schema(ex / "schema.cedarschema")
    old, new = load_policies([ex / "policies.cedar"]), load_policies([ex / "policies_v2.cedar"])
    report = diff_report(schema, old, new, Options(max_examples=3))
    return check_report(report, schema, (ex / "schema.cedarschema").read_text(), old, new, perturbations)


def mutants_of_apps(limit: int | None = 12, perturbations: int = PERTURBATIONS, on_done=None,
                    apps: Iterable[str] | None = None) -> dict[str, Tally]:
    from bench.bench_queries import APPS, app_files
    from cedarscope.analyzer.checks import diff_report
    from cedarscope.analyzer.solving import Options
    from tests.test_diff_mutants import _app, _spread, mutants

    out = {}
    for name in sorted(apps or APPS):
        schema, ps = _app(name)
        schema_text = app_files(CORPUS / APPS[name])[1].read_text()
        found = list(mutants(ps))
        if limit is not None:
            found = _spread(found, limit)
        tally = Tally()
        for _, mutant in found:
            report = diff_report(schema, ps, mutant, Options(timeout_seconds=60.0, max_examples=2))
            tally.add(check_report(report, schema, schema_text, ps, mutant, perturbations))
        out[name] = tally
        if on_done is not None:
            on_done(f"cedar-examples {name} mutants", tally)
    return out


def generated_stores(sizes: Iterable[int] = (10, 30), seeds: Iterable[int] = (1, 2, 3),
                     perturbations: int = PERTURBATIONS) -> Tally:
    from bench.storegen import SCHEMA, generate, mutate
    from cedarscope.analyzer.checks import diff_report
    from cedarscope.analyzer.solving import Options
    from cedarscope.lang.parser import parse_policies
    from cedarscope.lang.schema import parse_schema

    schema = parse_schema(SCHEMA, "storegen.cedarschema")
    tally = Tally()
    for n in sizes:
        for seed in seeds:
            store = generate(n, seed)
            old_text, new_text = store.policies, mutate(store, seed=seed)
            old, new = parse_policies(old_text, "old.cedar"), parse_policies(new_text, "new.cedar")
            report = diff_report(schema, old, new, Options(timeout_seconds=60.0, max_examples=1))
            tally.add(check_report(report, schema, SCHEMA, old, new, perturbations, seed))
    return tally


def main(argv: list[str]) -> int:
    texts = Path(argv[argv.index("--texts") + 1]) if "--texts" in argv else None
    total = Tally()
    lines: list[str] = []

    def show(name: str, tally: Tally) -> None:
        print(tally.line(name), flush=True)
        for m in tally.mismatches[:3]:
            print("   MISMATCH", m[:600], flush=True)
        total.add(tally)
        lines.extend(f"{name} | {t}" for t in tally.texts)
        if texts is not None:
            texts.write_text("".join(line + "\n" for line in lines))

    show("bundled example", bundled_example())
    if CORPUS.exists():
        mutants_of_apps(on_done=show)
    show("generated stores", generated_stores())
    print(total.line("total"))
    return 1 if total.mismatches else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
