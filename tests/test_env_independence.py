"""An environment's answer depends only on that environment.

Each environment is solved in a Z3 context of its own, and its models are
read there (analyzer.solving.Model).  A formula or model translated from
that context back into the encoding's context would carry the solver
context's count of fresh names along; the encoding's context hands its
count to every later environment's context, whose models (and so whose
examples) would then depend on the environments run before it: on the
environment filter, on the order, on `--jobs`.

So the examples (and descriptions) of an environment E are the same when E
is analysed alone, with an environment filter, as after every other one."""

from __future__ import annotations

import json

import pytest
import z3

from bench.bench_queries import APPS, app_files, mutant_text
from cedarscope.analyzer.checks import diff_report
from cedarscope.analyzer.properties import ask
from cedarscope.analyzer.solving import Options
from cedarscope.lang.parser import parse_policies, parse_policy
from cedarscope.lang.schema import RequestEnv, load_schema
from cedarscope.reports.render_json import report_json
from tests.support.corpus import CORPUS, requires_corpus

EXAMPLES = 2  # a second example per environment: its search is kept apart from the first by `distinct`


def environment_key(env: RequestEnv) -> str:
    return json.dumps({"principal_type": env.principal_type, "action": str(env.action),
                       "resource_type": env.resource_type}, sort_keys=True)


def findings_by_environment(report) -> dict[str, list[str]]:
    """Each environment's findings as JSON, examples and descriptions included."""
    out: dict[str, list[str]] = {}
    for finding in report_json(report)["findings"]:
        out.setdefault(json.dumps(finding["environment"], sort_keys=True), []).append(
            json.dumps(finding, sort_keys=True))
    return out


def alone(env: RequestEnv, **given) -> Options:
    return Options(jobs=1, max_examples=EXAMPLES, principal_type=env.principal_type, action=str(env.action),
                   resource_type=env.resource_type, **given)


def fresh_names_used() -> int:
    """How many fresh names the encoding's context has handed out (this call's included)."""
    return int(str(z3.FreshInt("probe")).rsplit("!", 1)[1])


def test_analysing_leaves_the_encoding_context_as_it_was():
    """No model or formula comes back from an environment's own context."""
    app = CORPUS / "cedar-examples" / "tinytodo"
    if not app.exists():
        pytest.skip(f"../shared/corpus not present: {app} is missing")
    policies, schema_path = app_files(app)
    schema, text = load_schema(schema_path), policies.read_text()
    old, new = parse_policies(text, str(policies)), parse_policies(mutant_text(text), "mutant.cedar")
    before = fresh_names_used()
    diff_report(schema, old, new, Options(jobs=1, max_examples=EXAMPLES))
    ask(schema, old, parse_policy("permit(principal, action, resource);"), Options(jobs=1, max_examples=EXAMPLES))
    assert fresh_names_used() == before + 1


@requires_corpus(APPS["document_cloud"])
def test_an_environments_examples_do_not_depend_on_the_environments_before_it():
    """document_cloud (many environments): for diff (a mutant: one policy
    turned into a forbid) and ask, every environment with findings gives
    the same findings, examples included, alone as after the others."""
    policies, schema_path = app_files(CORPUS / APPS["document_cloud"])
    schema, text = load_schema(schema_path), policies.read_text()
    old, new = parse_policies(text, str(policies)), parse_policies(mutant_text(text), "mutant.cedar")
    question = parse_policy("permit(principal, action, resource);")
    runs = {"diff": lambda options: diff_report(schema, old, new, options),
            "ask": lambda options: ask(schema, old, question, options)}
    for name, run in runs.items():
        after_the_others = findings_by_environment(run(Options(jobs=1, max_examples=EXAMPLES)))
        envs = [env for env in schema.environments() if environment_key(env) in after_the_others]
        assert len(envs) >= (1 if name == "diff" else 2), name
        # the last one runs after the most others; the first after none
        for env in dict.fromkeys([envs[-1], envs[len(envs) // 2], envs[0]]):
            key = environment_key(env)
            assert findings_by_environment(run(alone(env))) == {key: after_the_others[key]}, (name, key)
