"""Generated stores with many request environments, as Kubernetes-style
schemas have: a few principal types, the API verbs as actions, and dozens of
resource kinds, every verb applying to every kind, so that the environments
number principal types × verbs × kinds (3 × 8 × 44 = 1,056 by default).
Policies are RBAC-like: a group or service account may use some verbs on
one kind, often only in one namespace or for resources with a label.

`grid(actions, kinds)` is the plainest many-environment schema: one
principal type, every action on every kind (41 × 41 = 1,681 environments),
with one policy per environment, for the relation queries' benchmark.

Everything is drawn from `random.Random(seed)`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

VERBS = ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"]
KINDS = ["Pod", "Service", "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob",
         "ConfigMap", "Secret", "Namespace", "Node", "PersistentVolume", "PersistentVolumeClaim",
         "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding", "Ingress",
         "NetworkPolicy", "Endpoints", "EndpointSlice", "Event", "LimitRange", "ResourceQuota",
         "HorizontalPodAutoscaler", "PodDisruptionBudget", "StorageClass", "CSIDriver", "CSINode",
         "VolumeAttachment", "PriorityClass", "RuntimeClass", "Lease", "Certificate",
         "CustomResourceDefinition", "APIService", "MutatingWebhook", "ValidatingWebhook", "Binding",
         "PodTemplate", "ReplicationController", "ControllerRevision", "IngressClass"]
NAMESPACES = ["default", "kube-system", "prod", "staging", "dev", "monitoring", "payments", "web"]


@dataclass(frozen=True)
class ManyEnvStore:
    schema: str
    policies: str
    count: int
    environments: int


def k8s_schema(kinds: list[str] = KINDS) -> str:
    lines = ["entity Group;",
             "entity User in [Group] = { username: String, groups: Set<String> };",
             "entity ServiceAccount in [Group] = { namespace: String };"]
    for kind in kinds:
        lines.append(f"entity {kind} = {{ namespace: String, name: String, labels: Set<String> }};")
    principals = "[User, Group, ServiceAccount]"
    for verb in VERBS:
        lines.append(f'action "{verb}" appliesTo {{ principal: {principals}, resource: [{", ".join(kinds)}], '
                     "context: { impersonating: Bool } };")
    return "\n".join(lines) + "\n"


def _k8s_policy(rng: random.Random) -> str:
    kind = rng.choice(KINDS)
    verbs = sorted(rng.sample(VERBS, rng.randint(1, 3)))
    action = (f'action == Action::"{verbs[0]}"' if len(verbs) == 1
              else "action in [" + ", ".join(f'Action::"{v}"' for v in verbs) + "]")
    k = rng.random()
    if k < 0.5:
        principal = f'principal in Group::"team-{rng.randrange(40)}"'
    elif k < 0.8:
        principal = f'principal == ServiceAccount::"sa-{rng.randrange(60)}"'
    else:
        principal = "principal is User"
    conditions = []
    if rng.random() < 0.7:
        conditions.append(f'resource.namespace == "{rng.choice(NAMESPACES)}"')
    if rng.random() < 0.3:
        conditions.append(f'resource.labels.contains("app-{rng.randrange(20)}")')
    if principal == "principal is User" and rng.random() < 0.5:
        conditions.append(f'principal.groups.contains("oncall-{rng.randrange(10)}")')
    if rng.random() < 0.1:
        conditions.append("!context.impersonating")
    effect = "forbid" if rng.random() < 0.1 else "permit"
    when = f"\nwhen {{ {' && '.join(conditions)} }}" if conditions else ""
    return f"{effect}(\n  {principal},\n  {action},\n  resource is {kind}\n){when};"


def generate_k8s(n: int, seed: int = 0) -> ManyEnvStore:
    rng = random.Random(seed)
    policies = [_k8s_policy(rng) for _ in range(n)]
    return ManyEnvStore(k8s_schema(), "\n\n".join(policies) + "\n", n, 3 * len(VERBS) * len(KINDS))


def grid(actions: int = 41, kinds: int = 41) -> ManyEnvStore:
    """One principal type, `actions` actions on `kinds` resource types, one
    permit per environment."""
    lines = ["entity User = { level: Long };"]
    lines += [f"entity R{k} = {{ owner: User, size: Long }};" for k in range(kinds)]
    resources = ", ".join(f"R{k}" for k in range(kinds))
    lines += [f'action "a{a}" appliesTo {{ principal: [User], resource: [{resources}] }};' for a in range(actions)]
    policies = [f'permit(principal, action == Action::"a{a}", resource is R{k})\n'
                f"when {{ resource.owner == principal || principal.level > {(a * kinds + k) % 7} }};"
                for a in range(actions) for k in range(kinds)]
    return ManyEnvStore("\n".join(lines) + "\n", "\n\n".join(policies) + "\n", len(policies), actions * kinds)


def change_one(store: ManyEnvStore) -> str:
    """The grid's policies with one environment's policy tightened."""
    return store.policies.replace("principal.level > 0 }", "principal.level > 1 }", 1)
