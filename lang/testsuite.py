"""Runs Cedar's integration tests and the cedar-examples applications.

An integration test is a JSON file naming a policy file, an entities file and
a schema (paths relative to a root folder), the expected verdict of strict
validation (`shouldValidate`), and requests with their expected decision,
reasons (determining policy ids) and erroring policy ids.  Files are read
through a `read(relative_path) -> str` function, so a test can come from a
folder or straight from a member of ``corpus-tests.tar.gz``.

A cedar-examples application is a folder with policies, a schema, entities,
optional template links (`linked`) and request files under ``ALLOW/`` and
``DENY/``; each request's expected decision is its folder's name.
"""

from __future__ import annotations

import json
import tarfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from cedarscope.lang.ast import PolicySet
from cedarscope.lang.diagnostics import CedarError
from cedarscope.lang.entities import Entities, parse_entities
from cedarscope.lang.links import parse_links, with_links  # noqa: F401  (parse_links: part of this API)
from cedarscope.lang.request import Request, parse_request, validate_request
from cedarscope.lang.schema import Schema, parse_schema

Reader = Callable[[str], str]

# cedar-examples applications whose entities do not conform to their own
# schemas upstream: they are authorized without a schema.
SCHEMALESS_EXAMPLES = frozenset({"github_example", "document_cloud"})


@dataclass(frozen=True)
class RequestResult:
    """One request: what was expected and what we computed.  `problem` says
    why there is no computed answer (the request could not be read)."""

    description: str
    expected_decision: str
    actual_decision: str | None = None
    expected_reasons: frozenset[str] | None = None  # None: not checked
    actual_reasons: frozenset[str] = frozenset()
    expected_errors: frozenset[str] | None = None  # None: not checked
    actual_errors: frozenset[str] = frozenset()
    problem: str | None = None

    @property
    def passed(self) -> bool:
        return (
            self.problem is None
            and self.actual_decision == self.expected_decision
            and self.expected_reasons in (None, self.actual_reasons)
            and self.expected_errors in (None, self.actual_errors)
        )

    def describe(self) -> str:
        """One line saying how this request failed (or that it passed)."""
        if self.problem is not None:
            return f"{self.description}: {self.problem}"
        wrong = []
        if self.actual_decision != self.expected_decision:
            wrong.append(f"decision {self.actual_decision}, expected {self.expected_decision}")
        if self.expected_reasons is not None and self.actual_reasons != self.expected_reasons:
            wrong.append(f"reasons {_ids(self.actual_reasons)}, expected {_ids(self.expected_reasons)}")
        if self.expected_errors is not None and self.actual_errors != self.expected_errors:
            wrong.append(f"errors {_ids(self.actual_errors)}, expected {_ids(self.expected_errors)}")
        return f"{self.description}: " + ("; ".join(wrong) if wrong else "passed")


@dataclass(frozen=True)
class TestFileResult:
    """One integration test file (or one example application)."""

    name: str
    requests: tuple[RequestResult, ...] = ()
    should_validate: bool | None = None
    validated: bool | None = None
    validation_messages: tuple[str, ...] = ()
    problem: str | None = None  # the test's files could not be read

    @property
    def validation_passed(self) -> bool:
        """The validation verdict matches, or there was none to compare."""
        return self.should_validate is None or self.validated is None or self.should_validate == self.validated

    @property
    def passed(self) -> bool:
        return self.problem is None and self.validation_passed and all(r.passed for r in self.requests)

    def failures(self) -> list[str]:
        """One line per failure: the setup, the validation verdict, each request."""
        lines = []
        if self.problem is not None:
            lines.append(f"{self.name}: {self.problem}")
        if not self.validation_passed:
            detail = f" ({self.validation_messages[0]})" if self.validation_messages else ""
            lines.append(
                f"{self.name}: validation {'passed' if self.validated else 'failed'}, "
                f"expected it to {'pass' if self.should_validate else 'fail'}{detail}"
            )
        lines += [f"{self.name}: {r.describe()}" for r in self.requests if not r.passed]
        return lines


@dataclass
class Tally:
    """Counts over many results."""

    files: int = 0
    files_passed: int = 0
    requests: int = 0
    requests_passed: int = 0
    validations: int = 0
    validations_passed: int = 0
    failures: list[str] = field(default_factory=list)

    def add(self, result: TestFileResult) -> None:
        self.files += 1
        self.files_passed += result.passed
        self.requests += len(result.requests)
        self.requests_passed += sum(r.passed for r in result.requests)
        if result.should_validate is not None and result.validated is not None:
            self.validations += 1
            self.validations_passed += result.validation_passed
        self.failures += result.failures()

    def summary(self) -> str:
        return (
            f"{self.files_passed}/{self.files} files, {self.requests_passed}/{self.requests} requests, "
            f"{self.validations_passed}/{self.validations} validation verdicts"
        )


def _ids(ids: Iterable[str]) -> str:
    return "[" + ", ".join(sorted(ids)) + "]"


# --------------------------------------------------------------------------
# Integration tests


def run_test_file(path, root) -> TestFileResult:
    """Run the integration test in file `path`; its paths are relative to `root`."""
    path, root = Path(path), Path(root)
    return run_test(path.read_text(encoding="utf-8"), str(path), _folder_reader(root))


def run_test(text: str, name: str, read: Reader) -> TestFileResult:
    """Run one integration test given its JSON text; `read` returns the
    contents of the files it names."""
    try:
        test = json.loads(text)
        policies_path, entities_path = test["policies"], test["entities"]
        schema_path = test.get("schema")
        should_validate = test.get("shouldValidate")
        requests = test["requests"]
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        return TestFileResult(name, problem=f"not an integration test file: {e}")
    try:
        policyset = _parse_policies(read(policies_path), policies_path)
        schema = parse_schema(read(schema_path), schema_path) if schema_path else None
        entities = parse_entities(read(entities_path), entities_path, schema)
    except CedarError as e:
        return TestFileResult(name, should_validate=should_validate, problem=f"cannot read inputs: {e}")
    validated: bool | None = None
    messages: tuple[str, ...] = ()
    if schema is not None and should_validate is not None:
        validated, messages = _validate(policyset, schema)
    results = tuple(
        _run_request(obj, policyset, entities, schema, f"request {i}") for i, obj in enumerate(requests)
    )
    return TestFileResult(name, results, should_validate, validated, messages)


def _run_request(obj: dict, policyset: PolicySet, entities: Entities, schema: Schema | None,
                 fallback: str) -> RequestResult:
    description = obj.get("description") or fallback
    expected = RequestResult(
        description,
        _decision(obj.get("decision")),
        expected_reasons=frozenset(obj.get("reason", obj.get("reasons", []))),
        expected_errors=frozenset(_error_id(e) for e in obj.get("errors", [])),
    )
    try:
        request = parse_request(obj, description, schema)
    except CedarError as e:
        return _with_problem(expected, f"cannot read the request: {e}")
    if schema is not None and obj.get("validateRequest", True):
        problems = validate_request(request, schema, description)
        if problems:
            return _with_problem(expected, f"request does not validate: {problems[0].one_line()}")
    return _authorize(expected, request, entities, policyset)


def _authorize(expected: RequestResult, request: Request, entities: Entities,
               policyset: PolicySet) -> RequestResult:
    from cedarscope.lang.authorizer import is_authorized

    try:
        response = is_authorized(request, entities, policyset)
    except CedarError as e:
        return _with_problem(expected, f"authorization rejected the input: {e}")
    except Exception as e:  # a bug in the authorizer: report it, keep running
        return _with_problem(expected, f"internal error in the authorizer: {type(e).__name__}: {e}")
    return RequestResult(
        expected.description,
        expected.expected_decision,
        response.decision,
        expected.expected_reasons,
        frozenset(response.reasons),
        expected.expected_errors,
        frozenset(pid for pid, _ in response.errors),
    )


def _with_problem(r: RequestResult, problem: str) -> RequestResult:
    return RequestResult(r.description, r.expected_decision, expected_reasons=r.expected_reasons,
                         expected_errors=r.expected_errors, problem=problem)


def _decision(d) -> str:
    return str(d).lower()


def _error_id(e) -> str:
    """Expected errors are policy ids (older files: objects naming the policy)."""
    if isinstance(e, dict):
        return e.get("policyId") or e.get("policy_id") or json.dumps(e)
    return str(e)


def _parse_policies(text: str, filename: str) -> PolicySet:
    from cedarscope.lang.parser import parse_policies

    return parse_policies(text, filename)


def _validate(policyset: PolicySet, schema: Schema) -> tuple[bool, tuple[str, ...]]:
    from cedarscope.lang.validator import validate

    try:
        diagnostics = validate(policyset, schema)
    except CedarError as e:
        return False, tuple(d.one_line() for d in e.diagnostics)
    errors = [d for d in diagnostics if d.severity == "error"]
    return not errors, tuple(d.one_line() for d in errors)


def _folder_reader(root: Path) -> Reader:
    def read(relative: str) -> str:
        try:
            return (root / relative).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise _unreadable(relative, e) from None
    return read


def _unreadable(name: str, e: Exception) -> CedarError:
    from cedarscope.lang.diagnostics import Diagnostic

    return CedarError(Diagnostic(f"cannot read file: {e}", name))


def find_test_files(folder) -> list[Path]:
    """The integration test files under `folder`: JSON files with `requests`."""
    found = []
    for path in sorted(Path(folder).rglob("*.json")):
        try:
            if "requests" in json.loads(path.read_text(encoding="utf-8")):
                found.append(path)
        except (json.JSONDecodeError, UnicodeDecodeError, TypeError):
            continue
    return found


def run_tarball(path, limit: int | None = None) -> Iterator[TestFileResult]:
    """Run the integration tests inside a tar archive (such as
    ``corpus-tests.tar.gz``) without unpacking it.  Paths in the tests are
    relative to the archive's root.  Members are read in one pass (the
    whole archive is kept in memory: the corpus is 25 MB); a test runs as
    soon as the files it names have been read."""
    contents: dict[str, str] = {}
    pending: list[tuple[str, str]] = []
    done = 0
    with tarfile.open(path) as tar:
        for member in tar:
            if not member.isfile():
                continue
            data = tar.extractfile(member).read().decode("utf-8")  # type: ignore[union-attr]  # a file member
            contents[member.name] = data
            if member.name.endswith(".json") and not member.name.endswith(".entities.json"):
                pending.append((member.name, data))
            ready, pending = _split_ready(pending, contents)
            for name, text in ready:
                yield run_test(text, name, _dict_reader(contents))
                done += 1
                if limit is not None and done >= limit:
                    return
    for name, text in pending:
        yield run_test(text, name, _dict_reader(contents))
        done += 1
        if limit is not None and done >= limit:
            return


def _referenced(text: str) -> list[str]:
    try:
        test = json.loads(text)
        return [test[k] for k in ("policies", "entities", "schema") if isinstance(test.get(k), str)]
    except (json.JSONDecodeError, AttributeError):
        return []


def _split_ready(pending, contents):
    ready: list[tuple[str, str]] = []
    waiting: list[tuple[str, str]] = []
    for name, text in pending:
        (ready if all(p in contents for p in _referenced(text)) else waiting).append((name, text))
    return ready, waiting


def _dict_reader(contents: dict[str, str]) -> Reader:
    def read(relative: str) -> str:
        if relative not in contents:
            raise _unreadable(relative, FileNotFoundError("not in the archive"))
        return contents[relative]
    return read


# --------------------------------------------------------------------------
# cedar-examples applications


def find_example_apps(root) -> list[Path]:
    """Folders under `root` holding ALLOW/ or DENY/ request folders."""
    root = Path(root)
    apps = {p.parent for p in root.rglob("*") if p.is_dir() and p.name in ("ALLOW", "DENY")}
    return sorted(apps)


def run_example_app(folder, use_schema: bool | None = None) -> TestFileResult:
    """Authorize every request under `folder`/ALLOW and `folder`/DENY and
    compare with its folder's decision.  `use_schema` defaults to True
    except for the applications in SCHEMALESS_EXAMPLES."""
    folder = Path(folder)
    name = str(folder)
    if use_schema is None:
        use_schema = not any(part in SCHEMALESS_EXAMPLES for part in folder.parts)
    try:
        policyset = _app_policies(folder)
        schema = None
        if use_schema:
            schema_file = _one(folder, "*.cedarschema")
            schema = parse_schema(schema_file.read_text(encoding="utf-8"), str(schema_file))
        entities_file = _one(folder, "*entities.json")
        entities = parse_entities(entities_file.read_text(encoding="utf-8"), str(entities_file), schema)
    except (CedarError, OSError, ValueError) as e:
        return TestFileResult(name, problem=f"cannot read inputs: {e}")
    results = []
    for decision in ("ALLOW", "DENY"):
        for path in sorted((folder / decision).glob("*.json")):
            results.append(_run_example_request(path, decision.lower(), policyset, entities, schema))
    return TestFileResult(name, tuple(results))


def _run_example_request(path: Path, decision: str, policyset: PolicySet, entities: Entities,
                         schema: Schema | None) -> RequestResult:
    expected = RequestResult(f"{path.parent.name}/{path.name}", decision)
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
        request = parse_request(obj, str(path), schema)
    except json.JSONDecodeError as e:
        return _with_problem(expected, f"invalid JSON: {e}")
    except CedarError as e:
        return _with_problem(expected, f"cannot read the request: {e}")
    if schema is not None:
        problems = validate_request(request, schema, str(path))
        if problems:
            return _with_problem(expected, f"request does not validate: {problems[0].one_line()}")
    return _authorize(expected, request, entities, policyset)


def _app_policies(folder: Path) -> PolicySet:
    policy_file = _one(folder, "*.cedar")
    policyset = _parse_policies(policy_file.read_text(encoding="utf-8"), str(policy_file))
    linked = folder / "linked"
    if not linked.exists():
        return policyset
    return with_links(policyset, json.loads(linked.read_text(encoding="utf-8")), str(linked))


def _one(folder: Path, pattern: str) -> Path:
    matches = sorted(p for p in folder.glob(pattern) if p.is_file())
    if len(matches) != 1:
        raise ValueError(f"expected one {pattern} file in {folder}, found {len(matches)}")
    return matches[0]
