"""Typechecking one expression in one request environment."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import NamedTuple

from cedarscope.lang import ast as A
from cedarscope.lang.validator.extensions import COMPARISON_TYPES, EXTENSION_FUNCTIONS, is_comparable
from cedarscope.lang.validator.schema_view import Env, SchemaView, is_action_type
from cedarscope.lang.validator.subtyping import NoLub, disjoint, is_subtype, least_upper_bound
from cedarscope.lang.validator.types import (
    ANY_ENTITY,
    ANY_RECORD,
    ANY_SET,
    BOOL,
    FALSE,
    LONG,
    NEVER,
    STRING,
    TRUE,
    AnyEntityT,
    AttrT,
    BoolT,
    EntityT,
    LongT,
    NeverT,
    RecordT,
    SetT,
    StringT,
    Ty,
    record_of,
)
from cedarscope.lang.values import EntityUID, escape_string

# Typechecking one expression in one request environment.


Capability = tuple  # ("attr", expr, name) or ("tag", expr, tag expr)
NO_CAPS: frozenset = frozenset()


class Answer(NamedTuple):
    """Cedar's TypecheckAnswer: success carries a type (maybe refined to a
    singleton boolean) and the capabilities learned when it is true; failure
    may still carry a recovered type, so checking goes on."""

    ok: bool
    ty: Ty | None
    caps: frozenset = NO_CAPS


def success(ty: Ty | None, caps: frozenset = NO_CAPS) -> Answer:
    return Answer(True, ty, caps)


def fail(ty: Ty | None) -> Answer:
    return Answer(False, ty, NO_CAPS)


def then(ans: Answer, f: Callable[[Ty | None, frozenset], Answer]) -> Answer:
    """Continue after `ans`; a failure makes the continuation fail too (and
    lends it no capabilities)."""
    if ans.ok:
        return f(ans.ty, ans.caps)
    result = f(ans.ty, NO_CAPS)
    return fail(result.ty)


def then_all(answers: list[Answer], f: Callable[[list[Ty | None]], Answer]) -> Answer:
    result = f([a.ty for a in answers])
    return result if all(a.ok for a in answers) else fail(result.ty)


HELP = {
    "like": "try using `like` to examine the contents of a string",
    "contains": "try using `contains`, `containsAny`, or `containsAll` to examine the contents of a set",
    "single-contains": "try using `contains` to test if a single element is in a set",
    "has": "try using `has` to test for an attribute",
    "is": "try using `is` to test for an entity type",
    "in": "try using `in` for entity hierarchy membership",
    "empty-string": 'try using `== ""` to test if a string is empty',
    "type-test": "Cedar only supports run time type tests for entities",
    "concat": "Cedar does not support string concatenation",
    "set-ops": "Cedar does not support computing the union, intersection, or difference of sets",
}

LUB_CONTEXT = {
    "set": "elements of a set",
    "if": "both branches of a conditional",
    "==": "both operands to a `==` expression",
    "contains": "elements of the first operand and the second operand to a `contains` expression",
    "containsAnyAll": "elements of both set operands to a `containsAll` or `containsAny` expression",
    "getTag": "tag types for a `.getTag()` operation",
}


def _set_or_string_help(t: Ty) -> str | None:
    if isinstance(t, SetT):
        return HELP["contains"]
    if isinstance(t, StringT):
        return HELP["like"]
    return None


def _collection_help(t: Ty) -> str | None:
    if isinstance(t, (EntityT, AnyEntityT)):
        return HELP["in"]
    if isinstance(t, RecordT):
        return HELP["has"]
    if isinstance(t, StringT):
        return HELP["like"]
    return None


def _no_help(t: Ty) -> str | None:
    return None


def _lit_key(e: A.Expr):
    """A literal's value tagged with its kind (so `1` and `true` differ)."""
    if isinstance(e, A.Lit):
        return (type(e.value).__name__, e.value)
    if isinstance(e, A.EntityLit):
        return ("entity", e.uid)
    return None


def _show_type_list(types: Iterable[Ty]) -> str:
    return ", or ".join(str(t) for t in types)


class Checker:
    """Cedar's single-environment typechecker.  `errors` collects
    (expression, message) pairs; `types` records each node's type."""

    def __init__(self, view: SchemaView, env: Env, policy_id: str):
        self.view = view
        self.env = env
        self.policy_id = policy_id
        self.errors: list[tuple[A.Expr, str]] = []
        self.types: dict[int, Ty | None] = {}

    def error(self, e: A.Expr, message: str, help: str | None = None) -> None:
        text = f"for policy `{self.policy_id}`, {message}"
        if help:
            text += f" ({help})"
        self.errors.append((e, text))

    # ---- entry points -------------------------------------------------------

    def check(self, e: A.Expr, caps: frozenset) -> Answer:
        method = getattr(self, "check_" + type(e).__name__)
        ans = method(e, caps)
        self.types[id(e)] = ans.ty
        return ans

    def expect(self, e: A.Expr, caps: frozenset, expected: tuple[Ty, ...],
               help: Callable[[Ty], str | None] = _no_help) -> Answer:
        """Check `e` and require a (permissive) subtype of one of `expected`
        (permissive, so that any record or entity type passes `{..}` or
        `entity`); on a mismatch report it and lose the type."""

        def compare(t: Ty | None, c: frozenset) -> Answer:
            if t is None:
                return fail(None)
            if not any(is_subtype(t, x, strict=False) for x in expected):
                self.error(e, f"unexpected type: expected {_show_type_list(expected)} but saw {t}", help(t))
                return fail(None)
            return success(t, c)

        ans = then(self.check(e, caps), compare)
        self.types[id(e)] = ans.ty
        return ans

    def lub_or_error(self, e: A.Expr, types: list[Ty | None], context: str) -> Ty | None:
        known = [t for t in types if t is not None]
        if len(known) < len(types):
            return None
        lub: Ty = NEVER
        try:
            for t in known:
                lub = least_upper_bound(lub, t)
        except NoLub as no:
            shown = " and ".join(dict.fromkeys(str(t) for t in types))
            self.error(e, f"the types {shown} are not compatible",
                       f"{LUB_CONTEXT[context]} must have compatible types; {no.hint}")
            return None
        return lub

    # ---- variables and literals ---------------------------------------------

    def check_Var(self, e: A.Var, caps: frozenset) -> Answer:
        env = self.env
        if e.name == "principal":
            return success(EntityT(frozenset([env.principal])))
        if e.name == "action":
            return success(EntityT(frozenset([env.action.type])))
        if e.name == "resource":
            return success(EntityT(frozenset([env.resource])))
        return success(env.context)

    def check_Slot(self, e: A.Slot, caps: frozenset) -> Answer:
        linked = self.env.principal_slot if e.name == "?principal" else self.env.resource_slot
        return success(EntityT(frozenset([linked])) if linked is not None else ANY_ENTITY)

    def check_Lit(self, e: A.Lit, caps: frozenset) -> Answer:
        if isinstance(e.value, bool):
            return success(BoolT(e.value))
        if isinstance(e.value, int):
            return success(LONG)
        return success(STRING)

    def check_EntityLit(self, e: A.EntityLit, caps: frozenset) -> Answer:
        # Undeclared types and actions are reported once per policy, not here.
        uid = e.uid
        if is_action_type(uid.type):
            known = uid in self.view.actions
        else:
            known = uid.type in self.view.entity_types
        return success(EntityT(frozenset([uid.type]))) if known else fail(None)

    # ---- boolean structure ---------------------------------------------------

    def check_If(self, e: A.If, caps: frozenset) -> Answer:
        def branches(test: Ty | None, test_caps: frozenset) -> Answer:
            if test == TRUE:
                return then(self.check(e.then_, caps | test_caps),
                            lambda t, c: success(t, c | test_caps))
            if test == FALSE:
                return then(self.check(e.else_, caps), lambda t, c: success(t, c))
            ans_then = self.check(e.then_, caps | test_caps)
            if ans_then.ok:
                ans_then = success(ans_then.ty, ans_then.caps | test_caps)
            ans_else = self.check(e.else_, caps)

            def join(t1: Ty | None, c1: frozenset) -> Answer:
                def join2(t2: Ty | None, c2: frozenset) -> Answer:
                    lub = self.lub_or_error(e, [t1, t2], "if")
                    return success(lub, c1 & c2) if lub is not None else fail(None)
                return then(ans_else, join2)

            return then(ans_then, join)

        return then(self.expect(e.cond, caps, (BOOL,)), branches)

    def check_And(self, e: A.And, caps: frozenset) -> Answer:
        def right(tl: Ty | None, cl: frozenset) -> Answer:
            if tl == FALSE:
                return success(FALSE)  # the right operand is never evaluated

            def combine(tr: Ty | None, cr: frozenset) -> Answer:
                if tl is None or tr is None:
                    return fail(BOOL)
                if tr == FALSE:
                    return success(FALSE)
                if tr == TRUE:
                    return success(tl, cl | cr)
                if tl == TRUE:
                    return success(tr, cr)
                return success(BOOL, cl | cr)

            return then(self.expect(e.right, caps | cl, (BOOL,)), combine)

        return then(self.expect(e.left, caps, (BOOL,)), right)

    def check_Or(self, e: A.Or, caps: frozenset) -> Answer:
        def right(tl: Ty | None, cl: frozenset) -> Answer:
            if tl == TRUE:
                return success(tl, cl)  # the right operand is never evaluated

            def combine(tr: Ty | None, cr: frozenset) -> Answer:
                if tl is None or tr is None:
                    return fail(BOOL)
                if tr == TRUE:
                    return success(TRUE, cr)
                if tr == FALSE:
                    return success(tl, cl)
                if tl == FALSE:
                    return success(tr, cr)
                return success(BOOL, cl & cr)

            # The left operand may have been false: none of its capabilities.
            return then(self.expect(e.right, caps, (BOOL,)), combine)

        return then(self.expect(e.left, caps, (BOOL,)), right)

    def check_Not(self, e: A.Not, caps: frozenset) -> Answer:
        def negate(t: Ty | None, _: frozenset) -> Answer:
            if t is None:
                return fail(BOOL)
            if isinstance(t, BoolT) and t.value is not None:
                return success(BoolT(not t.value))
            return success(BOOL)

        return then(self.expect(e.arg, caps, (BOOL,)), negate)

    # ---- arithmetic and comparison ---------------------------------------------

    def check_Neg(self, e: A.Neg, caps: frozenset) -> Answer:
        return then(self.expect(e.arg, caps, (LONG,)), lambda t, c: success(LONG))

    def check_BinaryOp(self, e: A.BinaryOp, caps: frozenset) -> Answer:
        if e.op == "==":
            return self.check_equality(e, caps)
        if e.op in ("<", "<="):
            return self.check_comparison(e, caps)
        if e.op in ("+", "-", "*"):
            return self.check_arithmetic(e, caps)
        if e.op == "in":
            return self.check_in(e, caps)
        raise TypeError(f"not a core binary operator: {e.op}")

    def check_arithmetic(self, e: A.BinaryOp, caps: frozenset) -> Answer:
        def help(t: Ty) -> str | None:
            if e.op == "+" and isinstance(t, StringT):
                return HELP["concat"]
            if isinstance(t, SetT):
                return HELP["set-ops"]
            return None

        left = self.expect(e.left, caps, (LONG,), help)
        return then(left, lambda t1, c1: then(self.expect(e.right, caps, (LONG,), help),
                                              lambda t2, c2: success(LONG)))

    def check_comparison(self, e: A.BinaryOp, caps: frozenset) -> Answer:
        def operands(t1: Ty | None, t2: Ty | None) -> Answer:
            if t1 is None or t2 is None:
                return fail(BOOL)
            mismatch: list[tuple[A.Expr, tuple[Ty, ...], Ty]] = []
            if isinstance(t1, NeverT) and isinstance(t2, NeverT):
                return fail(BOOL)
            if isinstance(t1, NeverT) or isinstance(t2, NeverT):
                other, where = (t2, e.right) if isinstance(t1, NeverT) else (t1, e.left)
                if not is_comparable(other):
                    mismatch.append((where, COMPARISON_TYPES, other))
            elif t1 == t2 and is_comparable(t1):
                pass
            elif isinstance(t1, LongT):
                mismatch.append((e.right, (LONG,), t2))
            elif isinstance(t2, LongT):
                mismatch.append((e.left, (LONG,), t1))
            elif is_comparable(t1):
                mismatch.append((e.right, (t1,), t2))
            elif is_comparable(t2):
                mismatch.append((e.left, (t2,), t1))
            else:
                mismatch.append((e.left, COMPARISON_TYPES, t1))
                mismatch.append((e.right, COMPARISON_TYPES, t2))
            for where, expected, actual in mismatch:
                self.error(where, f"unexpected type: expected {_show_type_list(expected)} but saw {actual}")
            return fail(BOOL) if mismatch else success(BOOL)

        return then(self.check(e.left, caps),
                    lambda t1, c1: then(self.check(e.right, caps), lambda t2, c2: operands(t1, t2)))

    def check_equality(self, e: A.BinaryOp, caps: frozenset) -> Answer:
        lhs, rhs = self.check(e.left, caps), self.check(e.right, caps)

        def decide(t1: Ty | None, t2: Ty | None) -> Answer:
            if t1 is not None and t2 is not None and disjoint(t1, t2):
                result = FALSE
            else:
                k1, k2 = _lit_key(self.action_as_literal(e.left)), _lit_key(self.action_as_literal(e.right))
                result = BoolT(k1 == k2) if k1 is not None and k2 is not None else BOOL
            return self.strict_equality(e, result, t1, t2, "==")

        return then(lhs, lambda t1, c1: then(rhs, lambda t2, c2: decide(t1, t2)))

    def strict_equality(self, e: A.Expr, result: Ty, t1: Ty | None, t2: Ty | None,
                        context: str) -> Answer:
        """Strict mode: operands compared for equality must have a least
        upper bound, unless the comparison is decided anyway."""
        if result in (TRUE, FALSE) or t1 is None or t2 is None:
            return success(result)
        if self.lub_or_error(e, [t1, t2], context) is None:
            return fail(result)
        return success(result)

    def action_as_literal(self, e: A.Expr) -> A.Expr:
        """The `action` variable stands for the environment's action literal."""
        if isinstance(e, A.Var) and e.name == "action":
            return A.EntityLit(self.env.action, span=e.span)
        return e

    # ---- hierarchy -----------------------------------------------------------------

    def check_in(self, e: A.BinaryOp, caps: frozenset) -> Answer:
        lhs = self.expect(e.left, caps, (ANY_ENTITY,), lambda t: HELP["contains"])
        rhs = self.expect(e.right, caps, (SetT(ANY_ENTITY), ANY_ENTITY), _set_or_string_help)
        if not (lhs.ok and rhs.ok):
            return fail(BOOL)
        lhs_uid = self.euid_of(e.left)
        rhs_uids = self.euids_of(e.right)
        if lhs_uid is not None and rhs_uids is not None and is_action_type(lhs_uid.type):
            return self.action_in_literals(lhs_uid, rhs_uids)
        lhs_names = lhs.ty.names if isinstance(lhs.ty, EntityT) else None
        rt = rhs.ty.elem if isinstance(rhs.ty, SetT) else rhs.ty
        rhs_names = rt.names if isinstance(rt, EntityT) else None
        if lhs_names is not None and rhs_names is not None and not any(
                left in self.view.types_in(right) or self.view.action_in_type(left, right)
                for left in lhs_names for right in rhs_names):
            return success(FALSE)
        return success(BOOL)

    def action_in_literals(self, lhs: EntityUID, rhs: list[EntityUID]) -> Answer:
        """`Action::"a" in [..literals..]` is decided by the action groups."""
        rhs_actions = [u for u in rhs if is_action_type(u.type)]
        if not rhs_actions:
            return success(FALSE)  # an action is never in a non-action
        members = self.view.actions_in(rhs_actions)
        if members is None:
            return fail(BOOL)  # an undeclared action, reported once per policy
        return success(BoolT(lhs in members))

    def euid_of(self, e: A.Expr) -> EntityUID | None:
        e = self.action_as_literal(e)
        return e.uid if isinstance(e, A.EntityLit) else None

    def euids_of(self, e: A.Expr) -> list[EntityUID] | None:
        one = self.euid_of(e)
        if one is not None:
            return [one]
        if isinstance(e, A.SetLit):
            uids = [self.euid_of(x) for x in e.elems]
            if all(u is not None for u in uids):
                return uids  # type: ignore[return-value]
        return None

    def check_Is(self, e: A.Is, caps: frozenset) -> Answer:
        def test(t: Ty | None, _: frozenset) -> Answer:
            if isinstance(t, EntityT):
                if e.entity_type not in t.names:
                    return success(FALSE)
                return success(TRUE if t.names == {e.entity_type} else BOOL)
            if isinstance(t, AnyEntityT):
                return success(BOOL)
            return fail(BOOL)

        return then(self.expect(e.expr, caps, (ANY_ENTITY,), lambda t: HELP["type-test"]), test)

    # ---- records and attributes -------------------------------------------------------

    def check_GetAttr(self, e: A.GetAttr, caps: frozenset) -> Answer:
        def access(t: Ty | None, _: frozenset) -> Answer:
            if t is None:
                return fail(None)
            attr = self.view.attr_of(t, e.attr)
            if attr is not None:
                if attr.required or ("attr", e.expr, e.attr) in caps:
                    return success(attr.type)
                guard = self.suggested_guard(e.expr, e.attr)
                self.error(e, f"unable to guarantee safety of access to optional attribute "
                              f"{self.describe_access(e.expr, t, e.attr)}",
                           f"try testing for the attribute's presence with `{guard} && ..`")
                return fail(attr.type)
            self.error(e, f"attribute {self.describe_access(e.expr, t, e.attr)} not found",
                       self.attr_suggestion(t, e.attr))
            return fail(None)

        return then(self.expect(e.expr, caps, (ANY_ENTITY, ANY_RECORD)), access)

    def attr_suggestion(self, t: Ty, attr: str) -> str | None:
        import difflib

        close = difflib.get_close_matches(attr, self.view.known_attrs(t), n=1)
        return f"did you mean `{close[0]}`?" if close else None

    def describe_access(self, obj: A.Expr, obj_type: Ty, attr: str) -> str:
        """Cedar's AttributeAccess: `a.b` on entity type `T`, or in context."""
        path = [attr]
        t: Ty | None = obj_type
        while True:
            if isinstance(t, EntityT):
                names = ", ".join(f"`{n}`" for n in sorted(t.names))
                kind = "entity type" if len(t.names) == 1 else "entity types"
                return f"`{'.'.join(reversed(path))}` on {kind} {names}"
            if isinstance(obj, A.Var) and obj.name == "context":
                return f"`{'.'.join(reversed(path))}` in context for {self.env.action}"
            if isinstance(obj, A.GetAttr):
                path.append(obj.attr)
                obj = obj.expr
                t = self.types.get(id(obj))
                continue
            return f"`{'.'.join(reversed(path))}`"

    def suggested_guard(self, obj: A.Expr, attr: str) -> str:
        prefix: list[str] = []
        while isinstance(obj, A.GetAttr) and not isinstance(self.types.get(id(obj)), EntityT):
            prefix.append(obj.attr)
            obj = obj.expr
        base = "context" if isinstance(obj, A.Var) and obj.name == "context" else "e"
        return ".".join([base, *reversed(prefix)]) + f" has {attr}"

    def check_Has(self, e: A.Has, caps: frozenset) -> Answer:
        (attr_name,) = e.attrs  # core() splits attribute paths
        key = ("attr", e.expr, attr_name)

        def test(t: Ty | None, _: frozenset) -> Answer:
            if t is None:
                return fail(BOOL)
            attr = self.view.attr_of(t, attr_name)
            if attr is not None:
                # An entity may be missing from the store, so `has` on a
                # required entity attribute is not known to be true.
                known = key in caps or (attr.required and isinstance(t, RecordT))
                return success(TRUE if known else BOOL, frozenset([key]))
            return success(BOOL if self.view.may_have_attr(t, attr_name) else FALSE)

        return then(self.expect(e.expr, caps, (ANY_ENTITY, ANY_RECORD), _set_or_string_help), test)

    def check_Like(self, e: A.Like, caps: frozenset) -> Answer:
        def help(t: Ty) -> str | None:
            return HELP["is"] if isinstance(t, (EntityT, AnyEntityT)) else None

        return then(self.expect(e.expr, caps, (STRING,), help), lambda t, c: success(BOOL))

    def check_SetLit(self, e: A.SetLit, caps: frozenset) -> Answer:
        elems = [self.check(x, caps) for x in e.elems]

        def build(types: list[Ty | None]) -> Answer:
            lub = self.lub_or_error(e, types, "set")
            if not e.elems:
                self.error(e, "empty set literals are forbidden in policies")
                return fail(None)
            return success(SetT(lub)) if lub is not None else fail(None)

        return then_all(elems, build)

    def check_RecordLit(self, e: A.RecordLit, caps: frozenset) -> Answer:
        values = [self.check(v, caps) for _, v in e.fields]

        def build(types: list[Ty | None]) -> Answer:
            known = [t for t in types if t is not None]
            if len(known) < len(types):
                return fail(None)
            return success(record_of({k: AttrT(t) for (k, _), t in zip(e.fields, known, strict=False)}))

        return then_all(values, build)

    # ---- methods -------------------------------------------------------------------------

    def check_MethodCall(self, e: A.MethodCall, caps: frozenset) -> Answer:
        arity = {"isEmpty": 0}.get(e.name, 1)
        if len(e.args) != arity:
            self.error(e, f"wrong number of arguments to `{e.name}`. Expected {arity}, got {len(e.args)}")
            for x in (e.receiver, *e.args):
                self.check(x, caps)
            return fail(None)
        return getattr(self, "method_" + e.name)(e, caps)

    def method_isEmpty(self, e: A.MethodCall, caps: frozenset) -> Answer:
        def help(t: Ty) -> str | None:
            return HELP["empty-string"] if isinstance(t, StringT) else None

        return then(self.expect(e.receiver, caps, (ANY_SET,), help), lambda t, c: success(BOOL))

    def method_contains(self, e: A.MethodCall, caps: frozenset) -> Answer:
        (arg,) = e.args

        def compare(ts: Ty | None, _: frozenset) -> Answer:
            def elem(t: Ty | None, _c: frozenset) -> Answer:
                elem_type = ts.elem if isinstance(ts, SetT) else None
                return self.strict_equality(e, BOOL, elem_type, t, "contains")
            return then(self.check(arg, caps), elem)

        return then(self.expect(e.receiver, caps, (ANY_SET,), _collection_help), compare)

    def method_containsAll(self, e: A.MethodCall, caps: frozenset) -> Answer:
        (arg,) = e.args

        def compare(t1: Ty | None, _: frozenset) -> Answer:
            return then(self.expect(arg, caps, (ANY_SET,), lambda t: HELP["single-contains"]),
                        lambda t2, _c: self.strict_equality(e, BOOL, t1, t2, "containsAnyAll"))

        return then(self.expect(e.receiver, caps, (ANY_SET,), _collection_help), compare)

    method_containsAny = method_containsAll

    def check_tag_operands(self, e: A.MethodCall, caps: frozenset,
                           f: Callable[[Ty], Answer]) -> Answer:
        (tag,) = e.args

        def entity(t: Ty | None, _: frozenset) -> Answer:
            return then(self.expect(tag, caps, (STRING,)),
                        lambda _t, _c: f(t) if isinstance(t, (EntityT, AnyEntityT)) else fail(None))

        return then(self.expect(e.receiver, caps, (ANY_ENTITY,)), entity)

    def method_hasTag(self, e: A.MethodCall, caps: frozenset) -> Answer:
        key = ("tag", e.receiver, e.args[0])

        def test(t: Ty) -> Answer:
            if not self.view.tag_types(t):
                return success(FALSE, frozenset([key]))
            return success(TRUE if key in caps else BOOL, frozenset([key]))

        return self.check_tag_operands(e, caps, test)

    def method_getTag(self, e: A.MethodCall, caps: frozenset) -> Answer:
        key = ("tag", e.receiver, e.args[0])

        def access(t: Ty) -> Answer:
            single = next(iter(t.names)) if isinstance(t, EntityT) and len(t.names) == 1 else None
            if key not in caps:
                where = f" on entity type `{single}`" if single else ""
                self.error(e, f"unable to guarantee safety of access to tag {self.show_tag(e.args[0])}{where}",
                           "try testing for the tag's presence with `.hasTag(..) && ..`")
                return fail(None)
            tag_types = self.view.tag_types(t)
            if not tag_types:
                what = f"type `{single}`" if single else "this type"
                self.error(e, f"`.getTag()` is not allowed on entities of {what} because no `tags` "
                              "were declared on the entity type in the schema")
                return fail(None)
            lub = self.lub_or_error(e, list(tag_types), "getTag")
            return success(lub) if lub is not None else fail(None)

        return self.check_tag_operands(e, caps, access)

    @staticmethod
    def show_tag(tag: A.Expr) -> str:
        if isinstance(tag, A.Lit) and isinstance(tag.value, str):
            return f'`"{escape_string(tag.value)}"`'
        return "given by a non-literal expression"

    # ---- extension functions ---------------------------------------------------------------

    def check_ExtFun(self, e: A.ExtFun, caps: frozenset) -> Answer:
        fn = EXTENSION_FUNCTIONS.get(e.name)
        if fn is None:
            self.error(e, f"undefined extension function: {e.name}")
            for a in e.args:
                self.check(a, caps)
            return fail(None)
        failed = False
        if len(e.args) != len(fn.args):
            self.error(e, "wrong number of arguments in extension function application. "
                          f"Expected {len(fn.args)}, got {len(e.args)}")
            failed = True
        problem = fn.check_argument(e.args)
        if problem is not None:
            self.error(e, f"error during extension function argument validation: {problem}")
            failed = True
        if fn.parse is not None and not all(isinstance(a, (A.Lit, A.EntityLit)) for a in e.args):
            # Strict mode: constructors take literals, so they are checked here.
            self.error(e, "extension constructors may not be called with non-literal expressions",
                       "consider applying extension constructors inside attribute values when "
                       "constructing entity or context data")
            failed = True
        if failed:
            for a in e.args:
                self.check(a, caps)
            return fail(fn.result)
        args = [self.expect(a, caps, (t,)) for a, t in zip(e.args, fn.args, strict=False)]
        return then_all(args, lambda _types: success(fn.result))
