"""Which policies an edit touched: the two versions matched.

Policies are matched by content first: a policy whose text (effect, scope
and conditions; annotations aside) appears in both versions is unchanged,
whatever its id (positional ids shift when a policy is inserted).  The rest
are matched by id (edited), and what is left was added or removed.  Template
links are matched the same way on the policy each link makes, so a link is
changed when its template or its values changed; `template_edited` says
when the template is the reason.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace

from cedarscope.lang.ast import Policy, PolicySet
from cedarscope.lang.template import PolicyInstance, instantiate, source_of

OLD, NEW = "old", "new"
UNCHANGED, ADDED, REMOVED, EDITED = "unchanged", "added", "removed", "edited"


def content(policy: Policy) -> Policy:
    """What decides requests: the policy without its annotations (spans
    never take part in equality)."""
    return replace(policy, annotations=())


@dataclass
class Versions:
    """Two versions of a policy set, with each evaluable policy (static
    policy or template link) matched to the other version."""

    old_set: PolicySet
    new_set: PolicySet
    old: list[PolicyInstance] = field(default_factory=list)
    new: list[PolicyInstance] = field(default_factory=list)
    _status: dict[tuple[str, str], str] = field(default_factory=dict)

    @classmethod
    def of(cls, old_set: PolicySet, new_set: PolicySet) -> Versions:
        v = cls(old_set, new_set, instantiate(old_set), instantiate(new_set))
        v._match()
        return v

    def _match(self) -> None:
        by_content: dict[Policy, list[PolicyInstance]] = defaultdict(list)
        for i in self.new:
            by_content[content(i.policy)].append(i)
        # Same content: with the same id first, then with any id.
        for same_id in (True, False):
            for i in self.old:
                if (OLD, i.id) in self._status:
                    continue
                candidates = [c for c in by_content.get(content(i.policy), ()) if not same_id or c.id == i.id]
                if candidates:
                    by_content[content(i.policy)].remove(candidates[0])
                    self._status[(OLD, i.id)] = self._status[(NEW, candidates[0].id)] = UNCHANGED
        new_left = {i.id for i in self.new if (NEW, i.id) not in self._status}
        for i in self.old:
            if (OLD, i.id) not in self._status:
                edited = i.id in new_left
                self._status[(OLD, i.id)] = EDITED if edited else REMOVED
                if edited:
                    self._status[(NEW, i.id)] = EDITED
        for i in self.new:
            self._status.setdefault((NEW, i.id), ADDED)

    def status(self, side: str, instance: PolicyInstance) -> str:
        return self._status[(side, instance.id)]

    def changed(self, side: str, instance: PolicyInstance) -> bool:
        return self.status(side, instance) != UNCHANGED

    def template_change(self, instance: PolicyInstance) -> str | None:
        """What happened to the template of a link: edited, added or removed
        (None: a static policy, or the template is the same in both)."""
        if instance.template_id is None:
            return None
        before, after = self.old_set.get(instance.template_id), self.new_set.get(instance.template_id)
        if before is None or after is None:
            return ADDED if before is None else REMOVED
        return EDITED if content(before) != content(after) else None

    def source(self, policy_id: str, status: str | None = None) -> Policy | None:
        """Where a changed policy is best shown: a removed one in the old
        version (its positional id may now name another policy in the new
        one), else its new text when it has one (an edit is annotated where
        it was made), else its old text."""
        if status == REMOVED:
            return source_of(self.old_set, policy_id)
        return source_of(self.new_set, policy_id) or source_of(self.old_set, policy_id)

    def sides(self, status: str) -> tuple[str, ...]:
        """The versions a changed policy is in: the old one for a removed
        policy, the new one for an added one, both for an edited one."""
        return {REMOVED: (OLD,), ADDED: (NEW,)}.get(status, (OLD, NEW))
