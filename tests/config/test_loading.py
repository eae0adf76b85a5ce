"""Configuration: the shipped files load, and every mistake is reported with its place."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.config import load_config
from monitor.config.interpolate import MissingVariable, interpolate
from monitor.config.units import parse_duration, parse_size
from monitor.errors import ConfigError
from monitor.preflight import load_checked

from support import REPO, write
from support.config import RULES, SOURCES, make_config, problems
from support.layers import imports_refused, monitor_imports


def test_shipped_configuration_loads() -> None:
    config = load_checked(REPO, {})
    assert len(config.sources) >= 20
    assert {"ministry-microsoft", "secnumcloud-qualification"} <= {r.id for r in config.rules}
    assert "console" in config.channels
    assert all(s.url.startswith("https://") for s in config.sources)


def test_defaults_apply_and_sources_are_typed(tmp_path: Path) -> None:
    config = load_checked(make_config(tmp_path), {})
    (source,) = config.sources
    assert (
        source.interval == timedelta(minutes=20)
        and source.kind == "feed"
        and source.host == "www.lemagit.fr"
    )
    assert config.channels_for(config.rule("ministry-microsoft")) == ("console",)


def test_missing_sources_file(tmp_path: Path) -> None:
    write(tmp_path / "alerts" / "rules.toml", RULES)
    assert problems(tmp_path) == ["sources.toml: file not found"]


def test_bad_toml_names_the_line(tmp_path: Path) -> None:
    make_config(tmp_path, sources=SOURCES + '\n[[source]]\nid = "x"\nname = LeMonde\n')
    (problem,) = problems(tmp_path)
    assert problem.startswith("sources.toml:11: invalid TOML: Invalid value")


def test_unknown_key_names_file_line_and_key(tmp_path: Path) -> None:
    make_config(tmp_path, sources=SOURCES + 'intervall = "1h"\n')
    assert problems(tmp_path) == [
        "sources.toml:8: [source.0.intervall] source 'lemagit': unknown key 'intervall' "
        "(did you mean 'interval'?)"
    ]


def test_invalid_values_are_explained(tmp_path: Path) -> None:
    make_config(
        tmp_path,
        sources=SOURCES
        + 'interval = "quinze minutes"\n'
        + '\n[[source]]\nid = "Bad Id"\nname = "x"\nurl = "ftp://example.org/"\n',
    )
    found = problems(tmp_path)
    assert found[0].startswith(
        "sources.toml:8: [source.0.interval] source 'lemagit': invalid duration"
    )
    assert "sources.toml:11: [source.1.id] source 'Bad Id': invalid id 'Bad Id'" in found[1]
    assert (
        "sources.toml:13: [source.1.url]" in found[2]
        and "expected an http:// or https://" in found[2]
    )


def test_rule_routed_to_unknown_channel(tmp_path: Path) -> None:
    make_config(tmp_path, rules=RULES + 'channels = ["equipe"]\n')
    (problem,) = problems(tmp_path)
    assert problem == (
        "alerts/rules.toml:5: rule 'ministry-microsoft' routes to unknown channel "
        "'equipe' (known: console)"
    )


def test_unset_environment_variable_names_the_variable_and_place(tmp_path: Path) -> None:
    make_config(
        tmp_path,
        channels="""
        [channels.equipe]
        format = "html"
        url = "mailtos://veille:${SMTP_PASSWORD}@smtp.example.org?to=a@example.org"
        """,
    )
    (problem,) = problems(tmp_path)
    assert problem == (
        "alerts/channels.toml:3: channel 'equipe': environment variable SMTP_PASSWORD not set"
    )
    config = load_checked(tmp_path, {"SMTP_PASSWORD": "s3cret"})
    assert config.channels["equipe"].url.startswith("mailtos://veille:s3cret@")


def test_unusable_channel_url(tmp_path: Path) -> None:
    make_config(tmp_path, channels='[channels.bad]\nurl = "nosuchservice://x:secret@host"\n')
    (problem,) = problems(tmp_path)
    assert "channel 'bad': apprise cannot use 'nosuchservice://***@host'" in problem
    assert "secret" not in problem


def test_query_error_points_at_the_position(tmp_path: Path) -> None:
    make_config(
        tmp_path, rules=RULES.replace("ministère AND Microsoft", "ministère AND (Microsoft")
    )
    (problem,) = problems(tmp_path)
    # The file's line of the query (the rule's table starts at line 1).
    assert problem.startswith("alerts/rules.toml:4: rule 'ministry-microsoft': ")
    assert "^" in problem.splitlines()[-1]


def test_duplicate_rule_ids_across_files(tmp_path: Path) -> None:
    make_config(tmp_path)
    write(tmp_path / "alerts" / "more" / "extra.toml", RULES)
    (problem,) = problems(tmp_path)
    # Files are read in sorted order, so the second definition is the one in rules.toml.
    assert problem == (
        "alerts/rules.toml:1: rule 'ministry-microsoft' is already defined at "
        "alerts/more/extra.toml:1"
    )


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    make_config(tmp_path, sources=SOURCES + "oops = 1\n", rules=RULES + 'channels = ["nope"]\n')
    assert len(problems(tmp_path)) == 2


def test_check_command_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(make_config(tmp_path)), "check"]) == 0
    assert "configuration OK" in capsys.readouterr().out
    write(tmp_path / "sources.toml", SOURCES + "bogus = true\n")
    assert main(["--config", str(tmp_path), "check"]) == 1
    assert (
        "sources.toml:8: [source.0.bogus] source 'lemagit': unknown key 'bogus'"
        in capsys.readouterr().err
    )


@pytest.mark.parametrize(
    ("text", "seconds"), [("15m", 900), ("1h30m", 5400), ("2d", 172800), ("45s", 45), (90, 90)]
)
def test_durations(text: str | int, seconds: int) -> None:
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("bad", ["", "15", "m", "1h 30x", "-5m"])
def test_bad_durations(bad: str) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(bad)


def test_sizes() -> None:
    assert (
        parse_size("5MB") == 5_000_000 and parse_size("512KiB") == 524_288 and parse_size(10) == 10
    )


def test_interpolation() -> None:
    env = {"A": "1", "EMPTY": ""}
    assert interpolate("x${A}y${B:-def}z$${A}", env) == "x1ydefz${A}"
    with pytest.raises(MissingVariable, match="environment variables EMPTY, C not set"):
        interpolate("${EMPTY}${C}", env)


ACTOR_LISTS = """
[lists]
places = ["Lyon", "Grand Est"]

[actors.public_body]
lists = ["{list}"]
heads = ["ministère"]

[[rule]]
id = "ms"
title = "Microsoft"
query = 'Microsoft AND (ministère OR @places)'
actors = ["public_body"]
"""


def test_an_actor_list_names_each_entry_as_an_actor(tmp_path: Path) -> None:
    from monitor.match import Document

    config = load_checked(make_config(tmp_path, rules=ACTOR_LISTS.replace("{list}", "places")), {})
    (match,) = config.ruleset.match(Document("", "La région Grand Est signe avec Microsoft."))
    assert dict(match.actors)["public_body"] == ("Grand Est",)


def test_an_unknown_actor_list_is_reported(tmp_path: Path) -> None:
    make_config(tmp_path, rules=ACTOR_LISTS.replace("{list}", "villes"))
    (problem,) = problems(tmp_path)
    assert problem == "alerts/rules.toml:4: actors public_body: unknown list @villes"


def test_an_actor_name_may_stand_for_a_list(tmp_path: Path) -> None:
    from monitor.match import Document

    rules = ACTOR_LISTS.replace('lists = ["{list}"]', "").replace(
        'heads = ["ministère"]',
        'heads = ["ministère"]\n\n[actors.public_body.names]\nest = ["@places"]',
    )
    config = load_checked(make_config(tmp_path, rules=rules), {})
    (match,) = config.ruleset.match(Document("", "La région Grand Est signe avec Microsoft."))
    assert dict(match.actors)["public_body"] == ("est",)


SAME_EVENT = (
    ACTOR_LISTS.replace("{list}", "places")
    + """
[[rule]]
id = "award"
title = "Attribution"
query = 'awardee:Microsoft'
actors = {actors}
same_event_as = "{other}"
"""
)


@pytest.mark.parametrize(
    ("actors", "other", "expected"),
    [
        ('["public_body"]', "nope", "rule 'award': same_event_as names no other rule ('nope')"),
        ('["public_body"]', "award", "rule 'award': same_event_as names no other rule ('award')"),
        ("[]", "ms", "rule 'award': same_event_as needs the same actors as 'ms' (public_body)"),
    ],
)
def test_same_event_as_names_a_rule_with_the_same_actors(
    tmp_path: Path, actors: str, other: str, expected: str
) -> None:
    make_config(tmp_path, rules=SAME_EVENT.replace("{actors}", actors).replace("{other}", other))
    (problem,) = problems(tmp_path)
    assert problem.endswith(expected), problem


EVENT_WINDOW_RULE = """
[[rule]]
id = "award"
title = "Attribution"
query = 'Microsoft'
actors = {actors}
event_window = {window}
"""


@pytest.mark.parametrize(
    ("actors", "window", "expected"),
    [
        ("[]", '"30d"', "rule 'award': event_window needs `actors`"),
        ('["public_body"]', '"0s"', "rule 'award': event_window must be longer than zero"),
        ('["public_body"]', '"a month"', "invalid duration 'a month'"),
    ],
)
def test_an_event_window_needs_actors_and_some_time(
    tmp_path: Path, actors: str, window: str, expected: str
) -> None:
    rule = EVENT_WINDOW_RULE.replace("{actors}", actors).replace("{window}", window)
    make_config(tmp_path, rules=ACTOR_LISTS.replace("{list}", "places") + rule)
    (problem,) = problems(tmp_path)
    assert problem.startswith("alerts/rules.toml:"), problem
    assert expected in problem, problem


def test_a_rule_may_keep_its_events_open_longer(tmp_path: Path) -> None:
    rule = EVENT_WINDOW_RULE.replace("{actors}", '["public_body"]').replace("{window}", '"30d"')
    rules = ACTOR_LISTS.replace("{list}", "places") + rule
    config = load_checked(make_config(tmp_path, rules=rules), {})
    assert config.event_windows == {"award": timedelta(days=30)}


def test_rules_sharing_events_share_their_key(tmp_path: Path) -> None:
    rules = SAME_EVENT.replace("{actors}", '["public_body"]').replace("{other}", "ms")
    config = load_checked(make_config(tmp_path, rules=rules), {})
    assert config.event_keys == {"ms": "ms", "award": "ms"}


# The stages and front ends above the configuration: it is read by them, never the reverse
# (an import of one of them from monitor/config made the loop config -> notify.samples ->
# digest.builder -> config, and made every command pay for the notifier).
ABOVE_CONFIG = (
    "api",
    "app",
    "cli",
    "digest",
    "notify",
    "parse",
    "pipeline",
    "preflight",
    "schedule",
    "web",
)


def test_configuration_imports_nothing_above_it() -> None:
    folder = REPO / "monitor" / "config"
    assert len(list(folder.glob("*.py"))) >= 10
    assert imports_refused(folder, lambda name: name.split(".")[1] in ABOVE_CONFIG) == []


def test_the_layer_check_sees_imports_inside_functions(tmp_path: Path) -> None:
    path = write(
        tmp_path / "m.py",
        "from monitor import notify\n\ndef f():\n    from monitor.parse.html import x\n",
    )
    assert monitor_imports(path) == [(1, "monitor.notify"), (4, "monitor.parse.html.x")]


BAD_QUERY = """
[[rule]]
id = "broken"
title = "Broken"
query = 'ministère AND (Microsoft'
"""


def test_rules_compile_on_first_use_with_the_same_located_problem(tmp_path: Path) -> None:
    config = load_config(make_config(tmp_path, rules=BAD_QUERY), {})  # reads, compiles nothing
    with pytest.raises(ConfigError) as lazily:
        _ = config.ruleset
    with pytest.raises(ConfigError) as checked:
        load_checked(tmp_path, {})
    (problem,) = (str(p) for p in lazily.value.problems)
    assert problem.startswith("alerts/rules.toml:4: rule 'broken': ")
    assert [str(p) for p in checked.value.problems] == [problem]


def test_a_command_that_matches_nothing_does_not_check_the_rules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MONITOR_DATA_DIR", str(tmp_path / "data"))
    make_config(tmp_path, rules=BAD_QUERY)
    assert main(["-c", str(tmp_path), "sources"]) == 0
    assert main(["-c", str(tmp_path), "check"]) == 1
    assert "alerts/rules.toml:4: rule 'broken'" in capsys.readouterr().err
