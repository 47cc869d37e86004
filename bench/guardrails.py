"""Guardrail-style policy stores: Cedar guarding an AI agent's tool calls.

Stores of this kind (published agent-guardrail policy packs look like this)
allow everything by default and forbid what is dangerous by pattern: dozens
of forbids, each an `||` of `like` patterns over a few string attributes of
the context (the shell command, a file path, a URL), some combined with `&&`,
some with an `unless` exception.  A store is a fixed core of guardrails,
which the questions below are about, plus forbids drawn from
`random.Random(seed)` until it holds `patterns` like patterns: the same
(patterns, seed) gives the same text.

`QUESTIONS` are what a reviewer asks of such a store, as `ask` questions,
each with the answer the core determines: "never" (no request the question
describes is allowed) or "yes" (some is; the tool shows one).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

SCHEMA = """\
entity Agent = { name: String, trusted: Bool };
entity Tool;
action shell appliesTo {
  principal: Agent, resource: Tool, context: { command: String, cwd: String }
};
action read_file, write_file appliesTo {
  principal: Agent, resource: Tool, context: { path: String }
};
action fetch appliesTo {
  principal: Agent, resource: Tool, context: { url: String, method: String }
};
"""

DEFAULT_PERMIT = "permit (principal, action, resource);"

# The core: the guardrails the questions are about, as (action, when, unless).
CORE = [
    ("shell", ['command like "*rm -rf*"', 'command like "*rm -fr*"', 'command like "*rm -r -f*"',
               'command like "*mkfs*"', 'command like "*dd if=/dev/zero*"', 'command like "*> /dev/sd*"',
               'command like "*:(){ :|:& };:*"'], None),
    ("shell", ['command like "*curl*| sh*"', 'command like "*curl*| bash*"', 'command like "*wget*| sh*"',
               'command like "*wget*| bash*"', 'command like "*base64 -d*| sh*"'], None),
    ("shell", ['command like "*git push*--force*"', 'command like "*git push*-f *"',
               'command like "*git reset --hard*"', 'command like "*git clean -fdx*"'], None),
    ("shell", ['command like "*terraform destroy*"', 'command like "*kubectl delete*"',
               'command like "*aws s3 rb*"', 'command like "*helm uninstall*"'], None),
    ("shell", ['command like "*/etc/shadow*"', 'command like "*/etc/sudoers*"', 'command like "*id_rsa*"'], None),
    ("shell", ['command like "sudo *"', 'command like "* sudo *"'], "principal.trusted"),
    ("shell", ['command like "*DROP TABLE*"', 'command like "*DROP DATABASE*"',
               'command like "*FLUSHALL*"'], 'context.cwd like "/tmp/scratch/*"'),
    ("write_file", ['path like "/etc/*"', 'path like "/usr/*"', 'path like "/boot/*"', 'path like "*/.ssh/*"',
                    'path like "*/.git/*"'], 'context.path like "/etc/agent.d/*"'),
    ("read_file", ['path like "*.pem"', 'path like "*.key"', 'path like "*id_rsa*"', 'path like "*/.aws/*"',
                   'path like "*.env"', 'path like "/etc/shadow"'], None),
    ("fetch", ['url like "http://*"', 'url like "*pastebin.com*"', 'url like "*169.254.169.254*"',
               'url like "*.onion/*"', 'url like "*transfer.sh*"'], None),
    ("fetch", ['method == "POST"'], 'context.url like "https://api.internal.example.com/*"'),
]


@dataclass(frozen=True)
class Question:
    text: str  # what a reviewer asks
    cedar: str  # the `ask` question
    answer: str  # "never" or "yes", as the core determines


def _q(text: str, action: str, when: str, answer: str) -> Question:
    cond = f" when {{ {when} }}" if when else ""
    return Question(text, f'permit (principal, action == Action::"{action}", resource){cond};', answer)


QUESTIONS = [
    _q("can `rm -rf /` ever run?", "shell", 'context.command like "*rm -rf /*"', "never"),
    _q("can exactly `rm -rf /` run?", "shell", 'context.command == "rm -rf /"', "never"),
    _q("can a command containing curl and `| sh` run?", "shell",
       'context.command like "*curl*" && context.command like "*| sh*"', "yes"),
    _q("can curl piped into sh run?", "shell", 'context.command like "curl *| sh"', "never"),
    _q("can a download piped into bash run?", "shell",
       '(context.command like "*curl *" || context.command like "*wget *") && context.command like "*| bash*"',
       "yes"),
    _q("can a force push run?", "shell", 'context.command like "git push origin main --force*"', "never"),
    _q("can `ls` run?", "shell", 'context.command like "ls *"', "yes"),
    _q("can `ls` of a path with `rm ` in it run?", "shell",
       'context.command like "ls *" && context.command like "*rm *"', "yes"),
    _q("can any shell command run?", "shell", "", "yes"),
    _q("can an untrusted agent run sudo?", "shell",
       '!principal.trusted && context.command like "*sudo *"', "yes"),
    _q("can an untrusted agent start a command with sudo?", "shell",
       '!principal.trusted && context.command like "sudo *"', "never"),
    _q("can a database be dropped outside the scratch folder?", "shell",
       'context.command like "*DROP DATABASE*" && !(context.cwd like "/tmp/*")', "never"),
    _q("can a database be dropped at all?", "shell", 'context.command like "*DROP DATABASE*"', "yes"),
    _q("can cloud infrastructure be destroyed?", "shell", 'context.command like "terraform destroy*"', "never"),
    _q("is any file under /etc writable?", "write_file", 'context.path like "/etc/*"', "yes"),
    _q("is /etc/passwd writable?", "write_file", 'context.path == "/etc/passwd"', "never"),
    _q("can an SSH key be written?", "write_file", 'context.path like "/home/*/.ssh/authorized_keys"', "never"),
    _q("can a private key be read?", "read_file", 'context.path like "/home/*/id_rsa"', "never"),
    _q("can a .env file be read?", "read_file", 'context.path like "*/.env"', "never"),
    _q("can a URL on pastebin be fetched?", "fetch", 'context.url like "https://pastebin.com/*"', "never"),
    _q("can a page of ours be fetched over plain http?", "fetch",
       'context.url like "http://*" && context.url like "*.example.com/*"', "never"),
    _q("can anything starting with http but not https be fetched?", "fetch",
       'context.url like "http*" && !(context.url like "https*")', "yes"),
    _q("can a POST leave the internal API?", "fetch",
       'context.method == "POST" && context.url like "https://*" && '
       '!(context.url like "https://api.internal.example.com/*")', "never"),
    _q("can the cloud metadata endpoint be fetched?", "fetch", 'context.url like "*://169.254.169.254/*"', "never"),
]

# The two-pattern example of issue 13, on its own store.
TWO_PATTERN_SCHEMA = """\
entity User;
action shell appliesTo { principal: User, resource: User, context: { command: String } };
"""
TWO_PATTERN_POLICIES = ('permit (principal, action == Action::"shell", resource) '
                        'when { context.command like "ls *" };')
TWO_PATTERN_QUESTION = ('permit (principal, action == Action::"shell", resource) '
                        'when { context.command like "*rm *" };')


# --------------------------------------------------------------------------
# The random part: more guardrails of the same kinds

_TOOLS = ["kubectl", "helm", "terraform", "pulumi", "aws", "gcloud", "az", "docker", "podman", "systemctl",
          "npm", "pip", "cargo", "gem", "brew", "apt-get", "yum", "git", "ssh", "scp", "rsync", "nc", "socat",
          "psql", "mysql", "redis-cli", "mongo", "crontab", "chmod", "chown", "iptables", "ufw"]
_VERBS = ["delete", "destroy", "rm", "uninstall", "prune", "drop", "purge", "reset", "kill", "stop",
          "disable", "flush", "publish", "push", "exec", "apply", "--force", "-rf", "--all", "777"]
_PATHS = ["/usr/lib/", "/var/lib/", "/root/", "/opt/", "/srv/", "/boot/", "/sys/", "/proc/",
          "/.config/", "/.kube/", "/.docker/", "/.npmrc", "/.pypirc", "/.netrc", "/.gnupg/"]
_EXTENSIONS = [".pem", ".key", ".p12", ".pfx", ".jks", ".kdbx", ".sqlite", ".db", ".bak", ".tfstate"]
_HOSTS = ["pastebin.com", "paste.ee", "ghostbin.co", "ngrok.io", "ngrok-free.app", "requestbin.net",
          "webhook.site", "burpcollaborator.net", "interact.sh", "oast.fun", "file.io", "0x0.st"]


def _command_pattern(rng: random.Random) -> str:
    tool, verb = rng.choice(_TOOLS), rng.choice(_VERBS)
    shape = rng.random()
    if shape < 0.55:
        return f'command like "*{tool} {verb}*"'
    if shape < 0.75:
        return f'command like "*{tool}*{verb}*"'
    if shape < 0.85:
        return f'command like "{tool} {verb}*"'
    if shape < 0.95:
        package = f"{rng.choice(['left', 'event', 'color', 'ua', 'node', 'py'])}-{rng.randrange(100)}"
        return f'command like "*{tool} install* {package}==*"'
    return f'command like "*{tool} {verb}"'


def _path_pattern(rng: random.Random) -> str:
    shape = rng.random()
    if shape < 0.4:
        return f'path like "{rng.choice(_PATHS)}*"'
    if shape < 0.7:
        return f'path like "*{rng.choice(_EXTENSIONS)}"'
    return f'path like "*{rng.choice(_PATHS)}*"'


def _url_pattern(rng: random.Random) -> str:
    host = rng.choice(_HOSTS)
    shape = rng.random()
    if shape < 0.5:
        return f'url like "*{host}*"'
    if shape < 0.8:
        return f'url like "https://*.{host}/*"'
    return f'url like "*://{host}/*"'


_KINDS = [("shell", _command_pattern, 0.6), ("write_file", _path_pattern, 0.15),
          ("read_file", _path_pattern, 0.1), ("fetch", _url_pattern, 0.15)]


def _forbid(action: str, when: list[str], unless: str | None) -> str:
    body = " ||\n    ".join(f"context.{w}" if not w.startswith(("principal", "context")) else w for w in when)
    text = f'forbid (principal, action == Action::"{action}", resource)\nwhen {{\n    {body}\n}}'
    if unless:
        text += f"\nunless {{ {unless} }}"
    return text + ";"


@dataclass(frozen=True)
class Store:
    schema: str
    policies: str
    forbids: int
    patterns: int  # `like` patterns in the store


def generate(patterns: int = 400, seed: int = 0) -> Store:
    """A store with the core guardrails and random ones, about `patterns`
    like patterns in all, 4 to 15 per forbid."""
    rng = random.Random(seed)
    forbids = [_forbid(a, w, u) for a, w, u in CORE]
    count = sum(sum(" like " in c for c in w) for _, w, _ in CORE)
    while count < patterns:
        action, make, _ = rng.choices(_KINDS, weights=[w for *_, w in _KINDS])[0]
        n = min(rng.randint(4, 15), max(1, patterns - count))
        when = sorted({make(rng) for _ in range(n)})
        unless = None
        if action == "shell" and rng.random() < 0.2:
            unless = f'context.cwd like "/tmp/sandbox-{rng.randrange(10)}/*"'
        forbids.append(_forbid(action, when, unless))
        count += len(when)
    text = "\n\n".join([DEFAULT_PERMIT, *forbids]) + "\n"
    return Store(SCHEMA, text, len(forbids), count)
