"""Realistic generated policy stores, for the scaling benchmarks and tests.

A store has a fixed schema of 10 entity types with hierarchies (users in
groups and teams, teams in orgs, documents in folders in projects, ...), 20
actions, and N policies mixing every scope form with attribute conditions on
principal, resource and context.  A few percent of the policies are planted
problems of each audit kind (dead, shadowed, overridden, forbid-may-error,
over-permissive), so an audit has something to find.

Everything is drawn from `random.Random(seed)`: the same (n, seed) gives the
same text.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

SCHEMA = """\
entity Org = { name: String };
entity Group in [Org] = { name: String };
entity Team in [Org] = { name: String, size: Long };
entity User in [Group, Team] = {
  department: String,
  level: Long,
  active: Bool,
  email: String,
  manager?: User,
};
entity Project in [Org] = { budget: Long, public: Bool };
entity Folder in [Project] = { name: String };
entity Document in [Folder] = {
  owner: User,
  classification: String,
  size: Long,
  reviewers: Set<User>,
  label?: String,
};
entity Repo in [Project] = { visibility: String, stars: Long };
entity Ticket in [Project] = { priority: Long, assignee?: User };
entity Device in [Org] = { ip: ipaddr, trusted: Bool };

type Ctx = { mfa: Bool, hour: Long, ip: ipaddr };

action view, comment, download, print, edit, rename, move, delete, share, archive appliesTo {
  principal: [User], resource: [Document], context: Ctx
};
action push, pull, fork, merge appliesTo {
  principal: [User], resource: [Repo], context: Ctx
};
action triage, assign, close appliesTo {
  principal: [User], resource: [Ticket], context: Ctx
};
action enroll, wipe, admin appliesTo {
  principal: [User], resource: [Device], context: Ctx
};
"""

ACTIONS = {
    "Document": ["view", "comment", "download", "print", "edit", "rename", "move", "delete",
                 "share", "archive"],
    "Repo": ["push", "pull", "fork", "merge"],
    "Ticket": ["triage", "assign", "close"],
    "Device": ["enroll", "wipe", "admin"],
}
CONTAINERS = {"Document": "Folder", "Repo": "Project", "Ticket": "Project", "Device": "Org"}
DEPARTMENTS = ["eng", "sales", "legal", "hr", "ops", "finance"]
CLASSIFICATIONS = ["public", "internal", "confidential", "secret"]


@dataclass(frozen=True)
class Store:
    schema: str
    policies: str
    count: int
    planted: dict  # kind -> how many were planted
    planted_ids: dict  # kind -> the positional ids (policyN) of the planted subjects


def _principal_scope(rng: random.Random) -> str:
    k = rng.random()
    if k < 0.25:
        return f'principal == User::"u{rng.randrange(500)}"'
    if k < 0.55:
        return f'principal in Group::"g{rng.randrange(60)}"'
    if k < 0.75:
        return f'principal in Team::"t{rng.randrange(40)}"'
    return "principal is User"


def _resource_scope(rng: random.Random, rtype: str) -> str:
    k = rng.random()
    if k < 0.3:
        prefix = rtype[0].lower()
        return f'resource == {rtype}::"{prefix}{rng.randrange(300)}"'
    if k < 0.65:
        container = CONTAINERS[rtype]
        prefix = container[0].lower()
        return f'resource in {container}::"{prefix}{rng.randrange(80)}"'
    return f"resource is {rtype}"


def _action_scope(rng: random.Random, rtype: str) -> str:
    actions = ACTIONS[rtype]
    if rng.random() < 0.7:
        return f'action == Action::"{rng.choice(actions)}"'
    chosen = sorted(rng.sample(actions, min(len(actions), rng.randint(2, 3))))
    return "action in [" + ", ".join(f'Action::"{a}"' for a in chosen) + "]"


def _condition(rng: random.Random, rtype: str) -> str:
    options = [
        lambda: f"principal.level >= {rng.randint(1, 9)}",
        lambda: f'principal.department == "{rng.choice(DEPARTMENTS)}"',
        lambda: "principal.active",
        lambda: "context.mfa == true",
        lambda: f"context.hour >= {rng.randint(6, 10)} && context.hour < {rng.randint(16, 20)}",
        lambda: f'principal.email like "*@{rng.choice(DEPARTMENTS)}.example.com"',
        lambda: f'context.ip.isInRange(ip("10.{rng.randrange(256)}.0.0/16"))',
    ]
    if rtype == "Document":
        options += [
            lambda: "resource.owner == principal",
            lambda: f'resource.classification != "{rng.choice(CLASSIFICATIONS)}"',
            lambda: f"resource.size < {rng.randint(1000, 100000)}",
            lambda: "principal in resource.reviewers",
            lambda: 'resource has label && resource.label == "shared"',
        ]
    elif rtype == "Repo":
        options += [lambda: 'resource.visibility == "public"',
                    lambda: f"resource.stars > {rng.randint(0, 100)}"]
    elif rtype == "Ticket":
        options += [lambda: f"resource.priority <= {rng.randint(1, 5)}",
                    lambda: "resource has assignee && resource.assignee == principal"]
    else:
        options += [lambda: "resource.trusted", lambda: "!resource.trusted"]
    return rng.choice(options)()


def _policy(rng: random.Random, effect: str) -> str:
    rtype = rng.choice(list(ACTIONS))
    head = f"{effect}(\n  {_principal_scope(rng)},\n  {_action_scope(rng, rtype)},\n  {_resource_scope(rng, rtype)}\n)"
    conds = " && ".join(_condition(rng, rtype) for _ in range(rng.randint(0, 2)))
    return head + (f"\nwhen {{ {conds} }};" if conds else ";")


def _planted(rng: random.Random, kind: str, index: int, earlier: list[str]) -> str:
    """One planted problem of `kind`."""
    u = f'User::"planted{index}"'
    if kind == "dead":
        return (f'permit(principal == {u}, action == Action::"view", resource is Document)\n'
                "when { principal.level > 5 && principal.level < 3 };")
    if kind == "shadowed":
        base = rng.choice(earlier) if earlier else _policy(rng, "permit")
        return base  # an exact duplicate of an earlier permit
    if kind == "overridden":
        return (f'forbid(principal == {u}, action == Action::"wipe", resource);\n'
                f'permit(principal == {u}, action == Action::"wipe", resource is Device)\n'
                "when { resource.trusted };")
    if kind == "forbid-may-error":
        # valid under the schema, and errors (Long overflow) for most priorities
        return (f'forbid(principal in Group::"g{rng.randrange(60)}", action == Action::"close", resource)\n'
                "when { resource.priority * 4611686018427387904 < 2 };")
    if kind == "over-permissive":
        return f'permit(principal, action == Action::"{rng.choice(ACTIONS["Repo"])}", resource);'
    raise ValueError(kind)


PLANTED_KINDS = ("dead", "shadowed", "overridden", "forbid-may-error", "over-permissive")


def generate(n: int, seed: int = 0, planted_fraction: float = 0.03) -> Store:
    """A store of about `n` policies (planted overridden pairs count as two)."""
    rng = random.Random(seed)
    texts: list[str] = []
    permits: list[str] = []
    planted = {k: 0 for k in PLANTED_KINDS}
    planted_ids: dict[str, list[str]] = {k: [] for k in PLANTED_KINDS}
    position = 0  # positional id of the next policy
    plant_every = max(1, int(1 / planted_fraction)) if planted_fraction > 0 else 0
    i = 0
    while len(texts) < n:
        if plant_every and i % plant_every == plant_every - 1:
            kind = PLANTED_KINDS[(i // plant_every) % len(PLANTED_KINDS)]
            text = _planted(rng, kind, i, permits)
            planted[kind] += 1
            # the subject is the last policy of the text (overridden: the permit after its forbid)
            planted_ids[kind].append(f"policy{position + text.count(';') - 1}")
        else:
            text = _policy(rng, "permit" if rng.random() < 0.8 else "forbid")
            if text.startswith("permit"):
                permits.append(text)
        texts.append(text)
        position += text.count(";")
        i += 1
    return Store(SCHEMA, "\n\n".join(texts) + "\n", len(texts), planted, planted_ids)


def mutate(store: Store, changes: int = 5, seed: int = 1) -> str:
    """The store's policies with `changes` policies edited (a new condition
    added, or a constant changed), as a reviewer's change would."""
    rng = random.Random(seed)
    chunks = store.policies.strip().split("\n\n")
    for index in rng.sample(range(len(chunks)), min(changes, len(chunks))):
        chunk = chunks[index]
        if chunk.startswith("permit") and "when" not in chunk:
            chunks[index] = chunk[:-1] + "\nwhen { context.mfa == true };"
        else:
            chunks[index] = chunk.replace("permit", "forbid", 1) if chunk.startswith("permit") \
                else chunk.replace("forbid", "permit", 1)
    return "\n\n".join(chunks) + "\n"
