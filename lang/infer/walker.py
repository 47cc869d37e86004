"""Typing one policy's conditions in one request environment."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cedarscope.lang import ast
from cedarscope.lang.infer.types import (
    EXTENSION_METHODS,
    EXTENSION_OF_FUNCTION,
    Field,
    TypeVar,
    element,
    find,
)
from cedarscope.lang.values import is_action_type

if TYPE_CHECKING:
    from cedarscope.lang.infer.inference import Inference


Guards = frozenset  # of (expression, attribute) pairs known present


class Walker:
    """Types one policy's conditions in one environment.  Like Cedar's
    typechecker, it skips what the environment makes unreachable: the right
    of ``a && b`` when `a` is false there (``principal is User`` for another
    principal type, ``e has x`` where the data shows e's type has no x)."""

    def __init__(self, inference: Inference, variables: dict[str, TypeVar]):
        self.inf = inference
        self.vars = variables
        self.false: set[int] = set()  # ids of expressions false in this environment
        self.true: set[int] = set()
        self.hierarchy_evidence = True  # do `in` tests here give memberOf edges?

    def expr(self, e: ast.Expr, guards: Guards) -> TypeVar:
        method = getattr(self, "_" + type(e).__name__.lower(), None)
        if method is None:
            return TypeVar()
        return method(e, guards)

    def prim(self, kind: str) -> TypeVar:
        return TypeVar(kind)

    def _lit(self, e: ast.Lit, g: Guards) -> TypeVar:
        return self.prim("Bool" if isinstance(e.value, bool) else "Long" if isinstance(e.value, int) else "String")

    def _entitylit(self, e: ast.EntityLit, g: Guards) -> TypeVar:
        self.inf.declare_uid(e.uid)
        return TypeVar("entity", entity=e.uid.type) if is_action_type(e.uid.type) else self.inf.entity_var(e.uid.type)

    def _var(self, e: ast.Var, g: Guards) -> TypeVar:
        return self.vars[e.name]

    def _slot(self, e: ast.Slot, g: Guards) -> TypeVar:
        return TypeVar("entity")

    def _not(self, e: ast.Not, g: Guards) -> TypeVar:
        result = self._not_typed(e, g)
        if id(e.arg) in self.false:
            self.true.add(id(e))
        elif id(e.arg) in self.true:
            self.false.add(id(e))
        return result

    def _not_typed(self, e: ast.Not, g: Guards) -> TypeVar:
        self.inf.unify(self.expr(e.arg, g), self.prim("Bool"))
        return self.prim("Bool")

    def _neg(self, e: ast.Neg, g: Guards) -> TypeVar:
        self.inf.unify(self.expr(e.arg, g), self.prim("Long"))
        return self.prim("Long")

    def _binaryop(self, e: ast.BinaryOp, g: Guards) -> TypeVar:
        left, right = self.expr(e.left, g), self.expr(e.right, g)
        if e.op in ("==", "!="):
            self.inf.unify(left, right)
            return self.prim("Bool")
        if e.op == "in":
            self.inf.unify(left, TypeVar("entity"))
            target = element(right)
            if target is not None:  # an entity, or a set of them; unknown stays open for later uses
                t = find(target)
                if t.kind == "entity" or t.kind is None:
                    if t.entity is None and t.default_like is None:
                        t.default_like = left
            if self.hierarchy_evidence:
                self.inf.note_in(left, right)
            return self.prim("Bool")
        if e.op in ("<", "<=", ">", ">="):
            self.inf.unify(left, right)
            self.inf.unify(left, TypeVar("comparable"))  # a Long, datetime or duration; Long unless shown
            return self.prim("Bool")
        for side in (left, right):  # + - *
            self.inf.unify(side, self.prim("Long"))
        return self.prim("Long")

    def _and(self, e: ast.And, g: Guards) -> TypeVar:
        self.inf.unify(self.expr(e.left, g), self.prim("Bool"))
        if id(e.left) in self.false:
            self.false.add(id(e))
        else:
            self.inf.unify(self.expr(e.right, g | facts(e.left)), self.prim("Bool"))
        return self.prim("Bool")

    def _or(self, e: ast.Or, g: Guards) -> TypeVar:
        self.inf.unify(self.expr(e.left, g), self.prim("Bool"))
        if id(e.left) in self.true:
            self.true.add(id(e))
        else:
            self.inf.unify(self.expr(e.right, g | facts(ast.Not(e.left))), self.prim("Bool"))
        return self.prim("Bool")

    def _if(self, e: ast.If, g: Guards) -> TypeVar:
        self.inf.unify(self.expr(e.cond, g), self.prim("Bool"))
        if id(e.cond) in self.false:
            return self.expr(e.else_, g)
        then = self.expr(e.then_, g | facts(e.cond))
        if id(e.cond) not in self.true:
            self.inf.unify(then, self.expr(e.else_, g | facts(ast.Not(e.cond))))
        return then

    def _getattr(self, e: ast.GetAttr, g: Guards) -> TypeVar:
        f = self.inf.field(self.expr(e.expr, g), e.attr)
        if (e.expr, e.attr) not in g:
            f.read_unguarded = True
        return f.var

    def _has(self, e: ast.Has, g: Guards) -> TypeVar:
        target, known = e.expr, g
        for attr in e.attrs:  # `e has a.b` reads `e.a` once `e has a` holds
            record = self.inf.record_of(self.expr(target, known))
            if record is not None and record.instances and attr not in record.fields:
                self.false.add(id(e))  # the data shows this type has no such attribute
                break
            self.inf.field(self.expr(target, known), attr)
            known = known | {(target, attr)}
            target = ast.GetAttr(target, attr)
        return self.prim("Bool")

    def _like(self, e: ast.Like, g: Guards) -> TypeVar:
        self.inf.unify(self.expr(e.expr, g), self.prim("String"))
        return self.prim("Bool")

    def _is(self, e: ast.Is, g: Guards) -> TypeVar:
        self.inf.declare_type(e.entity_type)
        subject = self.expr(e.expr, g)
        self.inf.unify(subject, TypeVar("entity"))
        known = self.inf.resolved_entity(subject)
        if known is not None and known != e.entity_type:
            self.false.add(id(e))
        if e.in_expr is not None and self.hierarchy_evidence:
            self.inf.note_in(self.inf.entity_var(e.entity_type), self.expr(e.in_expr, g))
        return self.prim("Bool")

    def _setlit(self, e: ast.SetLit, g: Guards) -> TypeVar:
        s = TypeVar("set")
        s.elem = TypeVar()
        for x in e.elems:
            self.inf.unify(s.elem, self.expr(x, g))
        return s

    def _recordlit(self, e: ast.RecordLit, g: Guards) -> TypeVar:
        r = TypeVar("record")
        for name, x in e.fields:
            r.fields[name] = Field(self.expr(x, g), read_unguarded=True)
        return r

    def _methodcall(self, e: ast.MethodCall, g: Guards) -> TypeVar:
        receiver = self.expr(e.receiver, g)
        args = [self.expr(a, g) for a in e.args]
        if e.name in ("contains", "containsAll", "containsAny", "isEmpty"):
            s = TypeVar("set")
            s.elem = TypeVar()
            self.inf.unify(receiver, s)
            if e.name == "contains" and args:
                self.inf.unify(find(receiver).elem or s.elem, args[0])
            elif args:
                self.inf.unify(receiver, args[0])
            return self.prim("Bool")
        if e.name in ("hasTag", "getTag"):
            self.inf.unify(receiver, TypeVar("entity"))
            if args:
                self.inf.unify(args[0], self.prim("String"))
            name = self.inf.resolved_entity(receiver)
            if e.name == "hasTag" or name is None:
                return self.prim("Bool") if e.name == "hasTag" else TypeVar()
            return self.inf.tag_var(name)
        signature = EXTENSION_METHODS.get(e.name)
        if signature is None:
            return TypeVar()
        recv, arg_types, result = signature
        self.inf.unify(receiver, TypeVar("ext", ext=recv))
        for a, t in zip(args, arg_types, strict=False):
            self.inf.unify(a, TypeVar("ext", ext=t))
        return self.prim({"bool": "Bool", "long": "Long"}[result]) if result in ("bool", "long") else \
            TypeVar("ext", ext=result)

    def _extfun(self, e: ast.ExtFun, g: Guards) -> TypeVar:
        for a in e.args:
            self.inf.unify(self.expr(a, g), self.prim("String"))
        return TypeVar("ext", ext=EXTENSION_OF_FUNCTION[e.name])


def facts(e: ast.Expr) -> Guards:
    """The (expression, attribute) pairs known present when `e` is true."""
    if isinstance(e, ast.Has):
        out, target = set(), e.expr
        for attr in e.attrs:
            out.add((target, attr))
            target = ast.GetAttr(target, attr)
        return frozenset(out)
    if isinstance(e, ast.And):
        return facts(e.left) | facts(e.right)
    if isinstance(e, ast.Not) and isinstance(e.arg, ast.Or):
        return facts(ast.Not(e.arg.left)) | facts(ast.Not(e.arg.right))
    if isinstance(e, ast.Not) and isinstance(e.arg, ast.Not):
        return facts(e.arg.arg)
    return frozenset()
