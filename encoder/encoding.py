"""Cedar policies as Z3 formulas over a symbolic request and entity store.

    enc = Encoding(schema, env)           # one request environment
    s = z3.Solver()
    s.add(enc.allows(policies))           # compile what the query needs ...
    s.add(*enc.well_formed())             # ... then add the assumptions
    if s.check() == z3.sat:
        request, entities = enc.decode(s.model())

`satisfied(p)` holds iff p's condition evaluates, without error, to true;
`errors(p)` iff its evaluation errors.  Policies are static or linked
(lang.template): the encoder never sees a slot.  Compiled terms are cached
per policy.

What `well_formed()` states is what Cedar guarantees of every request and
store it accepts under the schema (encoder.assumptions): entities conform
(enum ids, valid ip values), a missing entity has no ancestors, and the
hierarchy is acyclic and transitive.  No entity is assumed to exist: the
request's principal and resource, entities named in the policies and those
reached through attributes and tags may be missing, and then their
attributes error and `has` and `hasTag` on them are false.  Stronger
assumptions (`assumptions=`, names in encoder.assumptions) are added by
`well_formed()` only.  The formulas themselves are exact for any store;
`pin()` relies on this.

One over-approximation: an extension constructor applied to a string the
policies do not spell out (`decimal(context.s)`, which Cedar's validator
rejects) is an uninterpreted function of the string.  "Unsat" stays sound, a
model may fail to replay (the analyzer replays every counterexample), and
`pin()` fixes it on every string of the concrete inputs.  Constructs not
encoded raise `Unsupported` naming them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import z3

from cedarscope.encoder.compiler import Compiler
from cedarscope.encoder.direct import and_of, not_of
from cedarscope.encoder.symenv import SymEnv, pin_record
from cedarscope.encoder.terms import Term
from cedarscope.lang.ast import Policy, TemplateLink
from cedarscope.lang.entities import Entities
from cedarscope.lang.request import Request
from cedarscope.lang.schema import LongType, RequestEnv, Schema, StringType
from cedarscope.lang.values import EntityUID

if TYPE_CHECKING:
    from cedarscope.encoder.decode import Naming


class Encoding:
    def __init__(self, schema: Schema, env: RequestEnv, assumptions: frozenset[str] = frozenset()):
        self.schema, self.env = schema, env
        self.sym = SymEnv(schema, env, assumptions)
        self.compiler = Compiler(self.sym)
        self._cache: dict[tuple[object, ...], Term] = {}  # (scopes, conditions) -> term
        self._by_object: dict[int, tuple[Policy, Term]] = {}
        self._naming: Naming = ({}, {})  # shared by every decode (see decode.Decoder)

    def term(self, policy: Policy) -> Term:
        """The compiled condition of a (static or linked) policy, cached: by
        the object first (hashing a policy walks all of it), then by what
        the condition depends on, its scope and conditions (not its effect,
        id or annotations: a diff often meets the same condition under
        another effect or name)."""
        found = self._by_object.get(id(policy))
        if found is None:
            body = (policy.principal, policy.action, policy.resource, policy.conditions)
            term = self._cache.get(body)
            if term is None:
                term = self._cache[body] = self.compiler.policy(policy)
            found = self._by_object[id(policy)] = (policy, term)  # keeps the policy alive: its id stays its own
        return found[1]

    def satisfied(self, policy: Policy) -> z3.BoolRef:
        t = self.term(policy)
        if not isinstance(t.err, z3.BoolRef):
            return z3.And(z3.Not(t.err), t.val)
        # z3.And(z3.Not(err), val), made directly: z3py's checks of sorts cost
        # more than the terms, once per policy in every environment
        return and_of(not_of(t.err), t.val)

    def errors(self, policy: Policy) -> z3.BoolRef:
        return self.term(policy).err

    def allows(self, policies: Sequence[Policy]) -> z3.BoolRef:
        """Cedar's decision over these policies: some permit is satisfied
        and no forbid is."""
        permits = [self.satisfied(p) for p in policies if p.effect == "permit"]
        forbids = [self.satisfied(p) for p in policies if p.effect == "forbid"]
        return z3.And(z3.Or(permits) if permits else z3.BoolVal(False),
                      z3.Not(z3.Or(forbids)) if forbids else z3.BoolVal(True))

    def footprint(self) -> tuple[int, ...]:
        """Grows whenever compiling adds something `well_formed()` or
        `readable()` speak about, so a solver knows when to add them again."""
        sym = self.sym
        return (len(sym.apps), len(sym.leaves), len(sym.witnessed),
                sum(len(v) for v in sym.elements.values()))

    def well_formed(self) -> list[z3.BoolRef]:
        """What every query adds (after compiling what it uses): the facts
        of every store Cedar accepts, and the stronger assumptions asked."""
        return self.sym.well_formed()

    def pin(self, request: Request, entities: Entities) -> list[z3.BoolRef]:
        """Constraints fixing the symbolic inputs to concrete ones (for what
        has been compiled so far)."""
        return self.sym.pin(request, entities)

    def pin_store(self, entities: Entities) -> list[z3.BoolRef]:
        """Constraints fixing the entity store (what has been compiled so far
        reads of it) to a concrete one; the request stays free."""
        return self.sym.pin_store(entities)

    def pin_request(self, request: Request,
                    parts: tuple[str, ...] = ("principal", "resource", "context")) -> list[z3.BoolRef]:
        """Constraints fixing only the named parts of the request (the
        analyzer negates their conjunction to ask for a different example)."""
        sym = self.sym
        out = []
        if "principal" in parts:
            out.append(sym.principal.val == sym.ids.val(request.principal))
        if "resource" in parts:
            out.append(sym.resource.val == sym.ids.val(request.resource))
        if "context" in parts:
            out += pin_record(sym.context.val, sym.context_type, request.context, sym.ids)
        return out

    def readable(self, words: bool = True) -> list[z3.BoolRef]:
        """Preferences, not assumptions, for models that read well: the
        entities read are in the store, and the symbolic inputs compiled so
        far take small numbers, short strings and dates near now.  Strings
        are alphanumeric words (Z3's own choices, such as "!0!", are not),
        except those a `like` pattern tests (the string the pattern needs,
        "@example.com", is what the solver's refinement spells: encoder.
        solver); with `words` False, every string is any short printable
        one: the fallback when the goal needs punctuation elsewhere.  A
        query adds them under an assumption literal and drops them when they
        make it unsatisfiable."""
        tested = {atom.subject.get_id() for atom in self.compiler.likes.values()}
        return self.sym.readable(words, tested)

    def reads_strings(self) -> bool:
        """Is some symbolic input compiled so far a string (so that
        `readable`'s `words` matters)?"""
        return any(isinstance(ty, StringType) for ty, _ in self.sym.leaves)

    def present(self) -> list[z3.BoolRef]:
        """The first of the `readable` preferences alone: the entities read
        are in the store (Boolean, so cheap to ask for, unlike the strings')."""
        return self.sym.present()

    def small_numbers(self) -> list[z3.BoolRef]:
        """A stronger preference than `readable`: the Longs compiled so far
        between 0 and 100, the numbers a reader would pick."""
        return [z3.And(v >= 0, v <= 100) for ty, v in self.sym.leaves if isinstance(ty, LongType)]

    def different_from(self, model: z3.ModelRef, parts: tuple[str, ...] | None = None,
                       local: Callable[[z3.ExprRef], z3.ExprRef] | None = None) -> z3.BoolRef:
        """The next model must differ from `model` in something the policies
        observe among `parts` (all by default): "principal" or "resource"
        (its id when the policies name it, the attributes, tags and ancestors
        they read of it), "context", and "store" (what they read of any other
        entity).  Ids the policies never name are renamed by the decoder, so
        a model differing only there would decode alike.  "principal-id" and
        "resource-id" ask for another entity outright (decoded under a
        different name, as the decoders of one encoding share their names).
        A model of another Z3 context (`local` carrying the encoding's terms
        there, as for `decode`) gets the formula in its own context."""
        def here(e: z3.ExprRef) -> z3.ExprRef:
            return local(e) if local is not None else e

        parts = parts or ("principal", "resource", "context", "store")
        observed = tuple(p for p in parts if not p.endswith("-id"))
        options = [self.sym.different_from(model, observed, local)] if observed else []
        for part in parts:
            if part.endswith("-id"):  # "principal-id": simply another principal
                var = here(getattr(self.sym, part[:-len("-id")]).val)
                options.append(var != model.eval(var, model_completion=True))
        return z3.Or(options) if options else z3.BoolVal(False, model.ctx)

    def links(self, model: z3.ModelRef, local: Callable[[z3.ExprRef], z3.ExprRef] | None = None
              ) -> tuple[TemplateLink, ...]:
        """The template links a model makes (templates analysed for every
        link, lang.template.AnyEntity): those it says exist, their slots'
        entities named as the decoder names them.  A model of another Z3
        context is read there, as by `decode`."""
        from cedarscope.encoder.decode import Decoder

        sym, out = self.sym, []
        decoder = Decoder(sym, model, self._naming, local=local)
        for (template_id, typing), exists in sorted(sym.links.items(), key=lambda kv: str(kv[0])):
            if not z3.is_true(decoder.eval(exists)):
                continue
            values = tuple((slot, decoder.uid(etype, decoder.eval(sym.slots[(template_id, slot, etype)])))
                           for slot, etype in typing)
            link_id = template_id + "(" + ", ".join(f"{slot}={uid}" for slot, uid in values) + ")"
            out.append(TemplateLink(template_id, link_id, values))
        return tuple(out)

    def decode(self, model: z3.ModelRef, unread: list[str] | None = None,
               focus: frozenset[EntityUID] | None = None,
               local: Callable[[z3.ExprRef], z3.ExprRef] | None = None) -> tuple[Request, Entities]:
        """The model's request and store; `unread` (when given) receives the
        values no formula reads, which got a plain default.  `focus`: see
        decode.decode.  A model of another Z3 context is read there, its
        terms carried over by `local`."""
        from cedarscope.encoder.decode import decode  # networkx, only when decoding

        return decode(self.sym, model, self._naming, unread, focus, local)
