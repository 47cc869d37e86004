"""Cedar policies as Z3 formulas over a symbolic request and entity store.

    enc = Encoding(schema, env)           # one request environment
    s = z3.Solver()
    s.add(enc.allows(policyset))          # compile what the query needs ...
    s.add(*enc.well_formed())             # ... then add the assumptions
    if s.check() == z3.sat:
        request, entities = enc.decode(s.model())

`satisfied(p)` holds iff p's condition evaluates, without error, to true;
`errors(p)` iff its evaluation errors.  Compiled terms are cached per policy
and slot assignment.

What `well_formed()` assumes (as Cedar's own symbolic compiler does): every
entity the formulas read (the request's principal and resource, entities
named in the policies, entities reached through attributes and tags) exists
and conforms to the schema (enum ids, valid ip values), and the hierarchy is
acyclic and transitive.  Without `well_formed()` the formulas are exact for
any store: a missing entity's attributes error, `has` and `hasTag` on it are
false, and it has no ancestors; `pin()` relies on this.

One over-approximation: an extension constructor applied to a string the
policies do not spell out (`decimal(context.s)`, which Cedar's validator
rejects) is an uninterpreted function of the string.  "Unsat" stays sound, a
model may fail to replay (the analyzer replays every counterexample), and
`pin()` fixes it on every string of the concrete inputs.  Constructs not
encoded raise `Unsupported` naming them.
"""

from __future__ import annotations

import z3

from cedarscope.encoder.compiler import Compiler
from cedarscope.encoder.solver import Solver, solver_for
from cedarscope.encoder.symenv import SymEnv
from cedarscope.encoder.terms import Term, Unsupported
from cedarscope.lang.ast import Policy, PolicySet
from cedarscope.lang.authorizer import instantiate  # the evaluable policies: static ones and links
from cedarscope.lang.entities import Entities
from cedarscope.lang.request import Request
from cedarscope.lang.schema import RequestEnv, Schema
from cedarscope.lang.values import EntityUID

__all__ = ["Encoding", "Solver", "Unsupported", "instantiate", "solver_for"]


class Encoding:
    def __init__(self, schema: Schema, env: RequestEnv):
        self.schema, self.env = schema, env
        self.sym = SymEnv(schema, env)
        self.compiler = Compiler(self.sym)
        self._cache: dict[tuple, Term] = {}
        self._naming: tuple[dict, dict] = ({}, {})  # shared by every decode (see decode.Decoder)

    def term(self, policy: Policy, slots: dict[str, EntityUID] | None = None) -> Term:
        """The compiled condition of a policy (cached)."""
        key = (policy, tuple(sorted((slots or {}).items())))
        if key not in self._cache:
            self._cache[key] = self.compiler.policy(policy, slots)
        return self._cache[key]

    def satisfied(self, policy: Policy, slots: dict[str, EntityUID] | None = None) -> z3.BoolRef:
        t = self.term(policy, slots)
        return z3.And(z3.Not(t.err), t.val)

    def errors(self, policy: Policy, slots: dict[str, EntityUID] | None = None) -> z3.BoolRef:
        return self.term(policy, slots).err

    def allows(self, policyset: PolicySet) -> z3.BoolRef:
        """Some permit is satisfied and no forbid is."""
        permits, forbids = [], []
        for _, p, slots in instantiate(policyset):
            (permits if p.effect == "permit" else forbids).append(self.satisfied(p, slots))
        return z3.And(z3.Or(permits), z3.Not(z3.Or(forbids)))

    def well_formed(self) -> list[z3.BoolRef]:
        """Assumptions every query adds (after compiling what it uses)."""
        return self.sym.well_formed()

    def pin(self, request: Request, entities: Entities) -> list[z3.BoolRef]:
        """Constraints fixing the symbolic inputs to concrete ones (for what
        has been compiled so far)."""
        return self.sym.pin(request, entities)

    def pin_request(self, request: Request,
                    parts: tuple[str, ...] = ("principal", "resource", "context")) -> list[z3.BoolRef]:
        """Constraints fixing only the named parts of the request (the
        analyzer negates their conjunction to ask for a different example)."""
        from cedarscope.encoder.symenv import _pin_record

        sym = self.sym
        out = []
        if "principal" in parts:
            out.append(sym.principal.val == sym.ids.val(request.principal))
        if "resource" in parts:
            out.append(sym.resource.val == sym.ids.val(request.resource))
        if "context" in parts:
            out += _pin_record(sym.context.val, sym.context_type, request.context, sym.ids)
        return out

    def readable(self) -> list[z3.BoolRef]:
        """Preferences, not assumptions, for models that read well: the
        symbolic inputs compiled so far take small numbers, short printable
        strings and dates near now.  A query adds them under an assumption
        literal and drops them when they make it unsatisfiable."""
        return self.sym.readable()

    def different_from(self, model: z3.ModelRef, parts: tuple[str, ...] | None = None) -> z3.BoolRef:
        """The next model must differ from `model` in something the policies
        observe among `parts` (all by default): "principal" or "resource"
        (its id when the policies name it, the attributes, tags and ancestors
        they read of it), "context", and "store" (what they read of any other
        entity).  Ids the policies never name are renamed by the decoder, so
        a model differing only there would decode alike.  "principal-id" and
        "resource-id" ask for another entity outright (decoded under a
        different name, as the decoders of one encoding share their names)."""
        parts = parts or ("principal", "resource", "context", "store")
        observed = tuple(p for p in parts if not p.endswith("-id"))
        options = [self.sym.different_from(model, observed)] if observed else []
        for part in parts:
            if part.endswith("-id"):  # "principal-id": simply another principal
                var = getattr(self.sym, part[:-len("-id")])
                options.append(var.val != model.eval(var.val, model_completion=True))
        return z3.Or(options) if options else z3.BoolVal(False)

    def decode(self, model: z3.ModelRef) -> tuple[Request, Entities]:
        from cedarscope.encoder.decode import decode

        return decode(self.sym, model, self._naming)

