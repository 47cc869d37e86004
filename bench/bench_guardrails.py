"""Guardrail-style stores: `ask` questions over hundreds of `like` patterns.

A generated store (bench/guardrails.py: a default permit and about 400 like
patterns in 50 forbids; 150 with --quick) and the questions a reviewer asks
of it ("can `rm -rf /` ever run?").  Each question is one `ask`, timed in
CPU seconds from compile to replayed example; the figure's name carries the
answer ("never" or "yes"), flagged when it is not the answer the store was
built to give.  The baseline is the encoding before issue 13: `like` as a
regular expression, plain Z3, at a 2 s timeout per solver call (unknowns
are shown as such).  Then the issue's two-pattern example, and, when
CEDARSCOPE_GUARDRAIL_STORE names a folder of a real store (`*.cedar`,
`schema.cedarschema`, and `questions.json`: [{"text", "cedar", "answer"}]),
its questions too.  Done when every question is decided, the median under
2 s, and the two-pattern example under 1 s.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import time
from pathlib import Path

from bench.guardrails import (
    QUESTIONS,
    TWO_PATTERN_POLICIES,
    TWO_PATTERN_QUESTION,
    TWO_PATTERN_SCHEMA,
    Question,
    generate,
)

TIMEOUT = 30.0  # per solver call; a decided question takes far less
BASELINE_TIMEOUT = 2.0


@contextlib.contextmanager
def regex_encoding():
    """`like` as before issue 13: a regular expression, and nothing for the
    lazy solver to do (plain Z3)."""
    from cedarscope.encoder import strings

    saved = strings.like, strings.like_atom
    strings.like, strings.like_atom = strings.like_regex, lambda s, pattern: None
    try:
        yield
    finally:
        strings.like, strings.like_atom = saved


def ask_once(schema, policies, question: str, timeout: float) -> tuple[str, float, str, float]:
    """(answer, CPU seconds, example request's context, wall seconds) of one `ask`."""
    from cedarscope.analyzer.properties import ask
    from cedarscope.analyzer.queries import Options
    from cedarscope.lang.parser import parse_policy

    q = parse_policy(question, "<question>")
    started, wall = time.process_time(), time.perf_counter()
    report = ask(schema, policies, q, Options(timeout_seconds=timeout))
    seconds, wall = time.process_time() - started, time.perf_counter() - wall
    answer = {"holds": "never", "violated": "yes", "unknown": "unknown"}[report.result.value]
    example = ""
    if report.findings:
        example = json.dumps(dict(report.findings[0].counterexample.request.context), sort_keys=True)
    return answer, seconds, example, wall


def _rows(label: str, schema, policies, questions: list[Question], baseline: bool) -> tuple[list, list]:
    rows, times = [], []
    for q in questions:
        answer, seconds, example, wall = ask_once(schema, policies, q.cedar, TIMEOUT)
        times.append((answer, seconds, wall))
        base = None
        if baseline:
            with regex_encoding():
                b_answer, b_seconds, *_ = ask_once(schema, policies, q.cedar, BASELINE_TIMEOUT)
            base = round(b_seconds, 3) if b_answer != "unknown" else "unknown"
        flag = "" if answer == q.answer else f" (!! expected {q.answer})"
        rows.append({"name": f"{label}: {q.text} -> {answer}{flag}", "ours": round(seconds, 3),
                     "baseline": base, "unit": "s CPU", "example": example})
    return rows, times


def _summary(label: str, times: list, rows: list) -> list[dict]:
    decided = [s for a, s, _ in times if a != "unknown"]
    base = [r["baseline"] for r in rows if r["baseline"] is not None]
    return [
        {"name": f"{label}: questions decided", "ours": f"{len(decided)}/{len(times)}",
         "baseline": f"{sum(b != 'unknown' for b in base)}/{len(base)}" if base else None, "unit": ""},
        {"name": f"{label}: median per question", "ours": round(statistics.median(s for _, s, _ in times), 3),
         "baseline": None, "unit": "s CPU"},
        {"name": f"{label}: median per question, wall", "ours": round(statistics.median(w for *_, w in times), 3),
         "baseline": None, "unit": "s"},
        {"name": f"{label}: slowest question", "ours": round(max(s for _, s, _ in times), 3),
         "baseline": None, "unit": "s CPU"},
    ]


def measure(quick: bool) -> dict:
    from cedarscope.lang.parser import parse_policies
    from cedarscope.lang.schema import parse_schema

    rows: list[dict] = []
    store = generate(150 if quick else 400, seed=0)
    schema = parse_schema(store.schema, "guardrails.cedarschema")
    policies = parse_policies(store.policies, "guardrails.cedar")
    label = f"generated ({store.forbids} forbids, {store.patterns} patterns)"
    q_rows, times = _rows(label, schema, policies, QUESTIONS, baseline=not quick)
    rows += q_rows + _summary(label, times, q_rows)

    two_schema = parse_schema(TWO_PATTERN_SCHEMA, "two.cedarschema")
    two = parse_policies(TWO_PATTERN_POLICIES, "two.cedar")
    answer, seconds, _, wall = ask_once(two_schema, two, TWO_PATTERN_QUESTION, 5.0)
    with regex_encoding():
        b_answer, b_seconds, *_ = ask_once(two_schema, two, TWO_PATTERN_QUESTION, 5.0)
    rows.append({"name": f'two patterns ("ls *" vs "*rm *") -> {answer}', "ours": round(seconds, 3),
                 "baseline": round(b_seconds, 3) if b_answer != "unknown" else "unknown", "unit": "s CPU"})
    rows.append({"name": "two patterns, wall", "ours": round(wall, 3), "baseline": None, "unit": "s"})

    real = os.environ.get("CEDARSCOPE_GUARDRAIL_STORE")
    if real:
        folder = Path(real)
        schema = parse_schema((folder / "schema.cedarschema").read_text(), "schema.cedarschema")
        text = "\n".join(p.read_text() for p in sorted(folder.glob("*.cedar")))
        policies = parse_policies(text, folder.name)
        questions = [Question(**q) for q in json.loads((folder / "questions.json").read_text())]
        label = f"{folder.name} ({text.count(' like ')} patterns)"
        q_rows, times = _rows(label, schema, policies, questions, baseline=not quick)
        rows += q_rows + _summary(label, times, q_rows)
    return {"rows": rows, "timeout_seconds": TIMEOUT, "baseline_timeout_seconds": BASELINE_TIMEOUT,
            "load_average": [round(x, 2) for x in os.getloadavg()]}
