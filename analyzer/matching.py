"""Which policies a model satisfies, without asking about each one.

An audit finds thousands of models in one environment, and for each it
wants the policies the model satisfies (that is what answers "is p implied
by q?" and "does a forbid override p?" without the solver).  Evaluating every
policy in every model would cost policies × models calls into Z3; instead:

1. a *scope index* narrows the candidates.  A policy whose principal scope
   is `== E` can hold only in a model whose principal is E; one whose scope
   is `in E` (or `is T in E`) only where E is the principal or one of its
   ancestors, and the model's ancestor sets are read once, from the array
   values the model gives them.  The index over-approximates: a scope form
   it does not know, or an ancestor set it cannot read, keeps the policy as
   a candidate.  So it never drops a policy whose scope holds;
2. the candidates are evaluated in one call: one bit-vector with a few bits
   per candidate (satisfied; for a policy with conditions, its scope alone;
   for a forbid, "errors").

A `Profile` is the result: exact, because every candidate is evaluated by
Z3 in the model and every other policy's scope is false there.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, is_dataclass
from typing import TYPE_CHECKING, TypeAlias

import z3

from cedarscope.analyzer.solving import Example, Model
from cedarscope.encoder import Encoding
from cedarscope.encoder.decode import array_members
from cedarscope.encoder.direct import ite
from cedarscope.lang.ast import And, Policy, Scope, ScopeEq, ScopeIn, ScopeIs, Slot
from cedarscope.lang.values import EntityUID

if TYPE_CHECKING:
    from cedarscope.analyzer.templates import TemplateRule
    from cedarscope.lang.entities import Entities
    from cedarscope.lang.template import PolicyInstance

    # A scope's index key (scope_key): ANY, or ("eq", E) or ("in", E) for an entity E;
    # `_text_key` adds ("slot", i) for a template's slot.
    ScopeKey: TypeAlias = tuple[str, *tuple[EntityUID, ...]]
    TextKey: TypeAlias = ScopeKey | tuple[str, int]

ANY = ("any",)


@dataclass(frozen=True)
class Profile:
    """What a model says about each policy of the environment (by index)."""

    satisfied: tuple[int, ...]
    scope_only: tuple[int, ...]  # scope holds but the conditions do not
    errors: tuple[int, ...]  # the policy errors (forbids only)
    undetermined: tuple[int, ...] = ()  # Z3 could not evaluate whether it is satisfied


def scope_key(scope: Scope) -> ScopeKey:
    """The index key of a principal or resource scope: ANY, ("eq", E) or
    ("in", E).  A form not listed here is ANY (always a candidate)."""
    if isinstance(scope, ScopeEq) and isinstance(scope.target, EntityUID):
        return ("eq", scope.target)
    if isinstance(scope, ScopeIn) and isinstance(scope.target, EntityUID):
        return ("in", scope.target)
    if isinstance(scope, ScopeIs) and isinstance(scope.in_target, EntityUID):
        return ("in", scope.in_target)
    return ANY  # ScopeAny, `is T` (slicing kept it, so T is the variable's type)


Focus = frozenset[EntityUID]  # the entities an example is about (see named_entities)


def named_entities(node: object) -> Focus:
    """The entities a policy (or expression) names: an example about the
    policy is decoded with its principal and resource in these groups only,
    where that still makes the policy match (see EnvSolver.example)."""
    if isinstance(node, EntityUID):
        return frozenset((node,))
    if isinstance(node, tuple):
        return frozenset().union(*(named_entities(x) for x in node))
    if is_dataclass(node) and not isinstance(node, type):
        return frozenset().union(*(named_entities(getattr(node, f.name)) for f in fields(node)
                                   if f.name != "span"))
    return frozenset()


class _VarIndex:
    """The policies by the key of one variable's (principal's or resource's)
    scope."""

    def __init__(self, enc: Encoding, var: str, keys: Sequence[ScopeKey],
                 local: Callable[[z3.ExprRef], z3.ExprRef]) -> None:
        sym = enc.sym
        self.term = local(getattr(sym, var).val)
        self.type = getattr(sym, var).ty.name
        self.num = sym.ids.num
        self.any: set[int] = set()
        self.eq: dict[int, set[int]] = {}
        self.in_: dict[str, dict[int, set[int]]] = {}  # target type -> target id number -> policies
        # (a key other than ANY holds its entity at [1]; mypy cannot narrow by `== ANY`, hence the ignores)
        for i, key in enumerate(keys):
            if key == ANY:
                self.any.add(i)
            elif key[0] == "eq":
                if key[1].type == self.type:  # type: ignore[misc]
                    self.eq.setdefault(self.num(key[1]), set()).add(i)  # type: ignore[misc]
            else:
                self.in_.setdefault(key[1].type, {}).setdefault(self.num(key[1]), set()).add(i)  # type: ignore[misc]
        ancestor_types = sym.ancestor_types.get(self.type, ())
        # the ancestor-set term per target type (compiled already by the policies that test it)
        self.ancestors = {t: local(sym.ancestors(self.type, getattr(sym, var).val, t))
                          for t in self.in_ if t in ancestor_types}

    def candidates(self, model: Model) -> set[int]:
        value = model.eval_local(self.term)
        me = value.as_long() if z3.is_int_value(value) else None
        out = set(self.any)
        out |= self.eq.get(me, set()) if me is not None else set().union(*self.eq.values())
        for target_type, by_target in self.in_.items():
            if target_type == self.type:  # `in` is reflexive
                out |= by_target.get(me, set()) if me is not None else set().union(*by_target.values())
            anc = self.ancestors.get(target_type)
            if anc is None:
                continue
            members = array_members(model.eval_local(anc))
            if members is None:
                out = out.union(*by_target.values())
                continue
            default, exceptions = members
            if default:
                out = out.union(*(ps for n, ps in by_target.items() if exceptions.get(n, True)))
            else:
                out = out.union(*(by_target.get(n, ()) for n, member in exceptions.items() if member))
        return out


class PolicyMatcher:
    """Profiles of models over one environment's policies (`policies[i]`
    with its compiled `satisfied`, `errors` and scope-only formulas, all in
    the solver's context; `local` translates a term of the encoding there)."""

    def __init__(self, enc: Encoding, policies: Sequence[Policy], satisfied: Sequence[z3.BoolRef],
                 errors: Sequence[z3.BoolRef | None], scope_only: Sequence[z3.BoolRef | None],
                 local: Callable[[z3.ExprRef], z3.ExprRef]) -> None:
        self.principal = _VarIndex(enc, "principal", [scope_key(p.principal) for p in policies], local)
        self.resource = _VarIndex(enc, "resource", [scope_key(p.resource) for p in policies], local)
        # per policy: the bits evaluated for it, most significant first
        self._bits: list[tuple[str, ...]] = []
        self._terms: list[tuple[z3.BoolRef, ...]] = []
        self._packed: list[z3.BitVecRef] = []
        for sat, err, scope in zip(satisfied, errors, scope_only, strict=True):
            names, terms = ["satisfied"], [sat]
            if scope is not None:
                names.append("scope")
                terms.append(scope)
            if err is not None:
                names.append("errors")
                terms.append(err)
            self._bits.append(tuple(names))
            self._terms.append(tuple(terms))
            self._packed.append(_packed(terms))

    def _word(self, candidates: tuple[int, ...]) -> z3.BitVecRef:
        """The candidates' packed bits as one bit-vector, built through Z3's
        C interface (a model's candidates differ from the last model's, and
        z3py's Concat checks every argument)."""
        first = self._packed[candidates[0]]
        ctx, word = first.ctx_ref(), first.as_ast()
        for i in candidates[1:]:
            word = z3.Z3_mk_concat(ctx, word, self._packed[i].as_ast())
        return z3.BitVecRef(word, first.ctx)

    def profile(self, model: Model) -> Profile:
        candidates = sorted(self.principal.candidates(model) & self.resource.candidates(model))
        if not candidates:
            return Profile((), (), ())
        word = model.eval_local(self._word(tuple(candidates)))
        if not z3.is_bv_value(word):  # some value Z3's evaluator leaves unsimplified: one by one
            return self._one_by_one(model, candidates)
        bits = format(word.as_long(), f"0{sum(len(self._bits[i]) for i in candidates)}b")
        satisfied, scope_only, errors = [], [], []
        at = 0
        for i in candidates:
            names = self._bits[i]  # ("satisfied", ["scope"], ["errors"])
            if bits[at] == "1":
                satisfied.append(i)
            elif len(names) > 1 and names[1] == "scope" and bits[at + 1] == "1":
                scope_only.append(i)
            if names[-1] == "errors" and bits[at + len(names) - 1] == "1":
                errors.append(i)
            at += len(names)
        return Profile(tuple(satisfied), tuple(scope_only), tuple(errors))

    def _one_by_one(self, model: Model, candidates: Sequence[int]) -> Profile:
        satisfied, scope_only, errors, undetermined = [], [], [], []
        for i in candidates:
            named = dict(zip(self._bits[i], [_truth(model.eval_local(t)) for t in self._terms[i]], strict=True))
            sat = named["satisfied"]
            if sat is None:
                undetermined.append(i)
            elif sat:
                satisfied.append(i)
            elif named.get("scope"):
                scope_only.append(i)
            if named.get("errors"):
                errors.append(i)
        return Profile(tuple(satisfied), tuple(scope_only), tuple(errors), tuple(undetermined))


def _truth(value: z3.ExprRef) -> bool | None:
    """A Boolean model value: true, false, or None when even a solver on the
    (ground) value cannot tell."""
    if z3.is_true(value) or z3.is_false(value):
        return z3.is_true(value)  # type: ignore[no-any-return]  # z3 is untyped
    solver = z3.Solver(ctx=value.ctx)
    solver.set("rlimit", 5_000_000)  # a resource limit, not a time limit: the same answer under any load
    if solver.check(value) == z3.unsat:
        return False
    if solver.check(z3.Not(value)) == z3.unsat:
        return True
    return None


def _packed(parts: Sequence[z3.ExprRef]) -> z3.BitVecRef:
    """Booleans (or bit-vectors) as one bit-vector, the first most significant.
    Each Boolean p becomes `If(p, 1, 0)`, made through Z3's C interface (z3py's
    If builds and checks sorts each time: a few percent of a many-environment
    audit)."""
    ctx = parts[0].ctx
    one, zero = z3.BitVecVal(1, 1, ctx), z3.BitVecVal(0, 1, ctx)
    bits = [ite(p, one, zero) if z3.is_bool(p) else p for p in parts]
    return bits[0] if len(bits) == 1 else z3.Concat(*bits)


# --------------------------------------------------------------------------
# Implication read off the text


def conjuncts(policy: Policy) -> list[tuple[str, object]]:
    """The policy's conditions as a list of conjuncts: each `when` body split
    at its top-level `&&`, each `unless` body whole.  The policy is satisfied
    iff its scope holds and every conjunct evaluates, without error, to true
    (for `unless`: to false): `&&` is true only when both sides evaluated to
    true."""
    out: list[tuple[str, object]] = []
    for c in policy.conditions:
        if c.kind != "when":
            out.append((c.kind, c.body))
            continue
        todo = [c.body]
        while todo:
            e = todo.pop()
            if isinstance(e, And):
                todo += [e.right, e.left]
            else:
                out.append(("when", e))
    return out


class Implication:
    """Which policies imply which, by their text alone, in one environment:
    q holds wherever p does when q's principal and resource scopes are each
    unconstrained or the same as p's (the action scope holds in the whole
    environment, or slicing would have dropped the policy) and every
    conjunct of q is one of p's (each then evaluates, in the same request,
    to the same value without error).  A sufficient condition, so it proves
    what it finds and the solver decides the rest."""

    def __init__(self, policies: Sequence[Policy]):
        intern: dict[tuple[str, object], int] = {}
        self._keys = [(_text_key(p.principal, i), _text_key(p.resource, i)) for i, p in enumerate(policies)]
        self._conjuncts = [frozenset(intern.setdefault(c, len(intern)) for c in conjuncts(p))
                           for p in policies]
        self._by_scope: dict[tuple[TextKey, TextKey], list[int]] = {}
        self._by_shape: dict[tuple[tuple[TextKey, TextKey], frozenset[int]], list[int]] = {}
        for i, (keys, conj) in enumerate(zip(self._keys, self._conjuncts, strict=True)):
            self._by_scope.setdefault(keys, []).append(i)
            self._by_shape.setdefault((keys, conj), []).append(i)

    def implied_by(self, i: int) -> set[int]:
        """The policies q (other than i) that hold wherever policy i holds,
        by their text."""
        principal, resource = self._keys[i]
        conj = self._conjuncts[i]
        out: set[int] = set()
        for keys in {(p, r) for p in (principal, ANY) for r in (resource, ANY)}:
            if len(conj) <= 6:  # look up each subset of i's conjuncts
                for size in range(len(conj) + 1):
                    for subset in itertools.combinations(sorted(conj), size):
                        out.update(self._by_shape.get((keys, frozenset(subset)), ()))
            else:
                out.update(q for q in self._by_scope.get(keys, ()) if self._conjuncts[q] <= conj)
        out.discard(i)
        return out


def _text_key(scope: Scope, i: int) -> TextKey:
    """`scope_key`, except that a template's slot (analysed for every link)
    is a key of its own: the slot is unknown, so a scope on it is neither
    unconstrained nor the same as any other policy's."""
    target = scope.in_target if isinstance(scope, ScopeIs) else getattr(scope, "target", None)
    return ("slot", i) if isinstance(target, Slot) else scope_key(scope)


class ConcreteScopes:
    """The policies whose principal and resource scopes can hold for a
    concrete request (its principal and resource, and their ancestors in the
    example's store), in order.  A policy left out has a false scope there,
    so it neither matches nor errors (Cedar evaluates the scope first, and
    `==`, `in` and `is` never error): authorizing against the rest gives
    the same decision, reasons and errors as against the whole slice."""

    def __init__(self, instances: Sequence[PolicyInstance | TemplateRule]):
        self.instances = list(instances)
        self._by_key: dict[ScopeKey, dict[ScopeKey, list[int]]] = {}  # principal key -> resource key -> rules
        for i, inst in enumerate(self.instances):
            by_resource = self._by_key.setdefault(scope_key(inst.policy.principal), {})
            by_resource.setdefault(scope_key(inst.policy.resource), []).append(i)

    def matching(self, example: Example) -> list[PolicyInstance | TemplateRule]:
        request, entities = example.request, example.entities
        resource = set(_keys(request.resource, entities))
        found: list[int] = []
        for p in _keys(request.principal, entities):
            by_resource = self._by_key.get(p)
            if by_resource is None:
                continue
            if len(by_resource) < len(resource):  # walk the smaller side: both may be large
                found += (i for r, rules in by_resource.items() if r in resource for i in rules)
            else:
                found += (i for r in resource for i in by_resource.get(r, ()))
        return [self.instances[i] for i in sorted(found)]


def _keys(uid: EntityUID, entities: Entities) -> list[ScopeKey]:
    """The scope keys that hold for an entity: unconstrained, `== uid`, and
    `in` it or any of its ancestors."""
    return [ANY, ("eq", uid), ("in", uid), *(("in", a) for a in entities.ancestors(uid))]
