"""Bad settings files (cedarscope.toml, [tool.cedarscope] in pyproject.toml)
are bad input: exit 2 and one bounded line naming the file and the key,
never a traceback.  The cases here were found by the fuzzer (tests/fuzz.py) or
while extending it to settings files.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from cedarscope.analyzer.cli import cli
from cedarscope.analyzer.config import find_config

SCHEMA_TEXT = "entity User;\naction view appliesTo { principal: User, resource: User };\n"
POLICY = '@id("p")\npermit (principal, action, resource);\n'
MAX_LINE = 600


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A folder with a schema and a policy, as the working folder."""
    (tmp_path / "s.cedarschema").write_text(SCHEMA_TEXT)
    (tmp_path / "p.cedar").write_text(POLICY)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args):
    result = CliRunner().invoke(cli, list(args))
    assert "Traceback" not in result.output, result.output
    return result


def assert_one_located_line(result, *located: str) -> None:
    assert result.exit_code == 2, (result.exit_code, result.output)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and len(lines[0]) <= MAX_LINE, lines
    for where in located:
        assert where in lines[0], (where, lines[0])


@pytest.mark.parametrize("value", ["1", "true", '"cedarscope"', "[1]"])
def test_a_pyproject_whose_tool_is_no_table_has_no_settings(project, value):
    (project / "pyproject.toml").write_text(f"tool = {value}\n")
    assert find_config().file is None
    assert run("config").exit_code == 0


@pytest.mark.parametrize("value", ["1", "true", '"fast"', "[1]", "1979-05-27"])
def test_a_tool_cedarscope_that_is_no_table_is_a_located_error(project, value):
    (project / "pyproject.toml").write_text(f"[tool]\ncedarscope = {value}\n")
    assert_one_located_line(run("validate", "p.cedar", "-s", "s.cedarschema"), "pyproject.toml", "tool.cedarscope")


def test_a_cedarscope_toml_written_as_a_pyproject_table_says_where_the_keys_go(project):
    (project / "cedarscope.toml").write_text("[tool.cedarscope]\ntimeout = 5\n")
    result = run("config")
    assert_one_located_line(result, "cedarscope.toml", "at its top level, without [tool.cedarscope]")


@pytest.mark.parametrize("key, value", [("schema", '"a\\u0000b"'), ("policies", '["p.cedar", "a\\u0000b"]'),
                                        ("policies", '"git:HEAD:a\\u0000b"'), ("links", '"a\\u0000b"'),
                                        ("baseline", '"a\\u0000b"')])
def test_a_settings_path_holding_nul_is_a_located_error(project, key, value):
    (project / "cedarscope.toml").write_text(f"{key} = {value}\n")
    assert_one_located_line(run("validate"), "cedarscope.toml", key, "NUL")


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e308", "86401", "1" + "0" * 400])
def test_a_timeout_no_option_would_take_is_a_located_error(project, value):
    """The settings accept what --timeout accepts; anything else is named at
    the file, not as an option the user never gave."""
    (project / "cedarscope.toml").write_text(f"timeout = {value}\n")
    assert_one_located_line(run("audit", "p.cedar", "-s", "s.cedarschema"), "cedarscope.toml", "timeout")


def test_the_largest_timeout_is_taken(project):
    (project / "cedarscope.toml").write_text("timeout = 86400\n")
    assert run("audit", "p.cedar", "-s", "s.cedarschema").exit_code in (0, 1)


@pytest.mark.parametrize("command", [["count", "--per-type", "1"], ["access"]])
def test_count_and_access_take_policies_and_schema_from_the_settings(project, command):
    """Like every analysis command (count ignored the settings)."""
    (project / "cedarscope.toml").write_text('schema = "s.cedarschema"\npolicies = ["p.cedar"]\n')
    result = run(*command, "--format", "json")
    assert result.exit_code == 0, result.output
    assert "inferred" not in result.stdout



@pytest.mark.parametrize("value", ["nan", "inf", "-1", "0", "1e308"])
def test_config_refuses_a_timeout_the_analysis_commands_refuse(project, value):
    """It printed them, as NaN in its JSON (which is no JSON)."""
    result = run("config", "--format", "json", "--timeout", value)
    assert result.exit_code == 2 and "--timeout" in result.output, result.output


def test_config_json_is_strict_json(project):
    import json

    (project / "cedarscope.toml").write_text('timeout = 5\nignore = ["dead"]\n')
    result = run("config", "--format", "json", "--timeout", "2.5")
    settings = json.loads(result.stdout, parse_constant=lambda name: pytest.fail(f"{name} in the JSON"))["settings"]
    assert settings["timeout"] == {"value": 2.5, "source": "command line"}


@pytest.mark.parametrize("text, where", [("timeout = \n", "cedarscope.toml:1:11: error: invalid TOML: Invalid value"),
                                         ('jobs = 1\n[severity\n', "cedarscope.toml:2:10: error: invalid TOML: "),
                                         ('schema = "s.cedar', "cedarscope.toml: error: invalid TOML: Unterminated")])
def test_invalid_toml_is_located_by_line_and_column(project, text, where):
    (project / "cedarscope.toml").write_text(text)
    result = run("validate", "p.cedar", "-s", "s.cedarschema")
    assert result.exit_code == 2 and where in result.stderr.splitlines()[0], result.stderr
