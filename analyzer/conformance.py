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

import io
import json
import tarfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cedarscope.lang.ast import PolicySet
from cedarscope.lang.diagnostics import CedarError, Diagnostic
from cedarscope.lang.entities import Entities, parse_entities
from cedarscope.lang.files import json_kind
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


def run_test_file(path: str | Path, root: str | Path) -> TestFileResult:
    """Run the integration test in file `path`; its paths are relative to `root`."""
    from cedarscope.lang.files import read_text

    path, root = Path(path), Path(root)
    return run_test(read_text(path, "test file"), str(path), _folder_reader(root))


@dataclass(frozen=True)
class TestRequest:
    """One request of an integration test, with what it expects."""

    description: str
    request: dict[str, Any]  # Cedar's request JSON (principal, action, resource, context)
    decision: str  # "allow" | "deny"
    reasons: frozenset[str]
    errors: frozenset[str]
    validate_request: bool = True


@dataclass(frozen=True)
class IntegrationTest:
    """An integration test file, checked for form (see `read_test`)."""

    policies: str
    entities: str
    schema: str | None
    should_validate: bool | None
    requests: tuple[TestRequest, ...]


def read_test(data: Any, name: str) -> IntegrationTest:
    """An integration test from its parsed JSON.  A field of the wrong type
    is a `CedarError` naming the file and the field's JSON path."""
    def bad(path: str, message: str) -> CedarError:
        return CedarError(Diagnostic(message, file=name, path=path))

    if not isinstance(data, dict):
        raise bad("(top level)", f"expected an integration test (a JSON object), got {json_kind(data)}")
    for key in ("policies", "entities"):
        if not isinstance(data.get(key), str):
            raise bad(key, f"expected the path of the {key} file (a string), got {json_kind(data.get(key))}")
    schema = data.get("schema")
    if schema is not None and not isinstance(schema, str):
        raise bad("schema", f"expected the path of the schema file (a string), got {json_kind(schema)}")
    should_validate = data.get("shouldValidate")
    if should_validate is not None and not isinstance(should_validate, bool):
        raise bad("shouldValidate", f"expected true or false, got {json_kind(should_validate)}")
    requests = data.get("requests")
    if not isinstance(requests, list):
        raise bad("requests", f"expected an array of requests, got {json_kind(requests)}")
    return IntegrationTest(data["policies"], data["entities"], schema, should_validate,
                           tuple(_read_test_request(r, f"requests[{i}]", bad) for i, r in enumerate(requests)))


def _read_test_request(obj: Any, path: str, bad: Callable[[str, str], CedarError]) -> TestRequest:
    if not isinstance(obj, dict):
        raise bad(path, f"expected a request (a JSON object), got {json_kind(obj)}")
    description = obj.get("description", "")
    if not isinstance(description, str):
        raise bad(f"{path}.description", f"expected a string, got {json_kind(description)}")
    decision = obj.get("decision")
    if not isinstance(decision, str) or decision.lower() not in ("allow", "deny"):
        raise bad(f"{path}.decision", f'expected "allow" or "deny", got {json_kind(decision)}')
    validate_request = obj.get("validateRequest", True)
    if not isinstance(validate_request, bool):
        raise bad(f"{path}.validateRequest", f"expected true or false, got {json_kind(validate_request)}")
    key = "reasons" if "reasons" in obj and "reason" not in obj else "reason"
    reasons = _policy_ids(obj.get(key, []), f"{path}.{key}", bad, objects=False)
    errors = _policy_ids(obj.get("errors", []), f"{path}.errors", bad, objects=True)
    return TestRequest(description, obj, decision.lower(), reasons, errors, validate_request)


def _policy_ids(value: Any, path: str, bad: Callable[[str, str], CedarError], objects: bool) -> frozenset[str]:
    """A list of policy ids; expected errors may also be written as objects
    naming the policy (older test files)."""
    if not isinstance(value, list):
        raise bad(path, f"expected an array of policy ids, got {json_kind(value)}")
    ids = []
    for i, item in enumerate(value):
        if objects and isinstance(item, dict):
            item = item.get("policyId", item.get("policy_id"))
        if not isinstance(item, str):
            raise bad(f"{path}[{i}]", f"expected a policy id (a string), got {json_kind(item)}")
        ids.append(item)
    return frozenset(ids)


def run_test(text: str, name: str, read: Reader) -> TestFileResult:
    """Run one integration test given its JSON text; `read` returns the
    contents of the files it names.  A test file that is not JSON or not an
    integration test is a `CedarError`; its named files that cannot be read
    make a failed result."""
    from cedarscope.lang.files import load_json

    test = read_test(load_json(text, name), name)
    should_validate = test.should_validate
    try:
        policyset = _parse_policies(read(test.policies), test.policies)
        schema = parse_schema(read(test.schema), test.schema) if test.schema else None
        entities = parse_entities(read(test.entities), test.entities, schema)
    except CedarError as e:
        return TestFileResult(name, should_validate=should_validate, problem=f"cannot read inputs: {_first(e)}")
    validated: bool | None = None
    messages: tuple[str, ...] = ()
    if schema is not None and should_validate is not None:
        validated, messages = _validate(policyset, schema)
    results = tuple(
        _run_request(r, policyset, entities, schema, f"request {i}") for i, r in enumerate(test.requests)
    )
    return TestFileResult(name, results, should_validate, validated, messages)


def _first(e: CedarError) -> str:
    """The first of an error's diagnostics, as one line."""
    return e.diagnostics[0].one_line() if e.diagnostics else str(e)


def _run_request(r: TestRequest, policyset: PolicySet, entities: Entities, schema: Schema | None,
                 fallback: str) -> RequestResult:
    description = r.description or fallback
    expected = RequestResult(description, r.decision, expected_reasons=r.reasons, expected_errors=r.errors)
    try:
        request = parse_request(r.request, description, schema)
    except CedarError as e:
        return _with_problem(expected, f"cannot read the request: {_first(e)}")
    if schema is not None and r.validate_request:
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
        from cedarscope.lang.files import read_text

        return read_text(root / relative)
    return read


def _unreadable(name: str, e: Exception) -> CedarError:
    return CedarError(Diagnostic(f"cannot read file: {e}", name))


def _is_test(data: Any) -> bool:
    return isinstance(data, dict) and "requests" in data


def find_test_files(folder: str | Path, others: list[tuple[Path, str | None]] | None = None) -> list[Path]:
    """The integration test files under `folder`: JSON files holding an
    object with `requests`.  The other JSON files (entities, schemas: or a
    test whose `requests` is misspelt) go to `others`, each with why it
    could not be read when it is not JSON at all (a truncated test?)."""
    from cedarscope.lang.files import load_json, read_text

    found = []
    for path in sorted(Path(folder).rglob("*.json")):
        if not path.is_file():
            continue
        try:
            is_test = _is_test(load_json(read_text(path), str(path)))
        except CedarError as err:
            if others is not None:
                others.append((path, err.diagnostics[0].message if err.diagnostics else "not JSON"))
            continue
        if is_test:
            found.append(path)
        elif others is not None:
            others.append((path, None))
    return found


def run_tarball(path: str | Path, limit: int | None = None) -> Iterator[TestFileResult]:
    """Run the integration tests inside a tar archive (such as
    ``corpus-tests.tar.gz``) without unpacking it.  Paths in the tests are
    relative to the archive's root.  Members are read in one pass (the
    whole archive is kept in memory: the corpus is 25 MB, and each member
    is held to the input size cap); a test runs as soon as the files it
    names have been read.  A file that is no tar archive, or a member that
    is not UTF-8, is a `CedarError`."""
    from cedarscope.lang.files import read_bytes

    contents: dict[str, str] = {}
    pending: list[tuple[str, str, list[str]]] = []  # (name, text, the files it names)
    done = 0
    try:
        tar = tarfile.open(fileobj=io.BytesIO(read_bytes(path, "test archive")))
    except (tarfile.TarError, EOFError, OSError, zlib.error) as e:
        raise CedarError(Diagnostic(f"not a readable tar archive ({type(e).__name__})", file=str(path))) from None
    with tar:
        for member, text in _members(tar, str(path)):
            contents[member] = text
            referenced = _referenced(text) if member.endswith(".json") else None
            if referenced is not None:
                pending.append((member, text, referenced))
            ready = [p for p in pending if all(f in contents for f in p[2])]
            pending = [p for p in pending if not all(f in contents for f in p[2])]
            for name, test_text, _ in ready:
                yield run_test(test_text, name, _dict_reader(contents))
                done += 1
                if limit is not None and done >= limit:
                    return
    for name, test_text, _ in pending:
        yield run_test(test_text, name, _dict_reader(contents))
        done += 1
        if limit is not None and done >= limit:
            return


def _members(tar: tarfile.TarFile, archive: str) -> Iterator[tuple[str, str]]:
    """(name, text) of every regular file in the archive, size-capped."""
    from cedarscope.lang.diagnostics import decode_utf8
    from cedarscope.lang.files import max_input_bytes

    try:
        for member in tar:
            if not member.isfile():
                continue
            where = f"{archive}:{member.name}"
            if member.size > max_input_bytes():
                raise CedarError(Diagnostic("archive member is larger than the input limit", file=where))
            handle = tar.extractfile(member)
            data = handle.read() if handle is not None else b""
            yield member.name, decode_utf8(data, where)
    except (tarfile.TarError, EOFError, OSError, zlib.error) as e:
        raise CedarError(Diagnostic(f"damaged tar archive ({type(e).__name__})", file=archive)) from None


def _referenced(text: str) -> list[str] | None:
    """The files an integration test names, or None when `text` is no test."""
    try:
        test = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return None
    if not _is_test(test):
        return None
    return [test[k] for k in ("policies", "entities", "schema") if isinstance(test.get(k), str)]


def _dict_reader(contents: dict[str, str]) -> Reader:
    def read(relative: str) -> str:
        if relative not in contents:
            raise _unreadable(relative, FileNotFoundError("not in the archive"))
        return contents[relative]
    return read


# --------------------------------------------------------------------------
# cedar-examples applications


def find_example_apps(root: str | Path) -> list[Path]:
    """Folders under `root` holding ALLOW/ or DENY/ request folders."""
    root = Path(root)
    apps = {p.parent for p in root.rglob("*") if p.is_dir() and p.name in ("ALLOW", "DENY")}
    return sorted(apps)


def run_example_app(folder: str | Path, use_schema: bool | None = None) -> TestFileResult:
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
