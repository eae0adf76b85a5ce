"""`monitor check` (and every command that loads the configuration): every problem in
one run, each at its file and line, with a suggestion for a misspelt name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from monitor.cli import main

from support import MICROSOFT_RULE, write

SOURCES = '[[source]]\nid = "lemonde"\nname = "Le Monde"\nurl = "https://example.org/feed"\n'

# Five mistakes, each of which used to hide the next ones until it was fixed.
RULES = '''
[[rule]]
id = "ministry-microsoft"
tilte = "typo"
title = "Un ministère signe avec Microsoft"
channels = ["mial"]
query = """
Microsoft
AND (ministère
     OR Armées OR
"""

[channels.mail]
url = "mailtos://${SMTP_USER}:${SMTP_PASSWORD}@smtp.example.org?to=a@example.org"

[channels.pager]
url = "nosuchscheme://host"
'''


def config_dir(root: Path, rules: str = RULES) -> Path:
    write(root / "sources.toml", SOURCES)
    write(root / "alerts" / "rules.toml", rules)
    return root


def check(root: Path, capsys: Any, *command: str) -> tuple[int, list[str]]:
    code = main(["--config", str(root), *(command or ["check"])])
    return code, capsys.readouterr().err.splitlines()


def test_every_problem_is_reported_in_one_run_at_its_file_line(
    tmp_path: Path, monkeypatch: Any, capsys: Any
) -> None:
    monkeypatch.delenv("SMTP_USER", raising=False)
    monkeypatch.delenv("SMTP_PASSWORD", raising=False)
    code, err = check(config_dir(tmp_path), capsys)
    assert code == 1
    assert err == [
        "configuration errors (5):",
        "  alerts/rules.toml:3: [rule.0.tilte] rule 'ministry-microsoft': unknown key 'tilte' "
        "(did you mean 'title'?)",
        "  alerts/rules.toml:13: channel 'mail': environment variables SMTP_USER, SMTP_PASSWORD "
        "not set",
        "  alerts/rules.toml:5: rule 'ministry-microsoft' routes to unknown channel 'mial' "
        "(known: console, mail, pager), did you mean 'mail'?",
        "  alerts/rules.toml:16: channel 'pager': apprise cannot use 'nosuchscheme://***': "
        "unknown scheme or missing parts (see apprise's URL documentation)",
        # The query's third line is the file's ninth: the line to open, not the query's.
        "  alerts/rules.toml:9: rule 'ministry-microsoft': 'OR' needs a word, phrase or group "
        "after it",
        "  query (line 3):      OR Armées OR",
        "                                 ^",  # under the second OR
    ]


def test_a_channel_with_unset_variables_still_receives_its_rules(
    tmp_path: Path, monkeypatch: Any, capsys: Any
) -> None:
    monkeypatch.delenv("SMTP_USER", raising=False)
    monkeypatch.delenv("SMTP_PASSWORD", raising=False)
    mail = RULES[RULES.index("[channels.mail]") : RULES.index("[channels.pager]")]
    rules = MICROSOFT_RULE + 'channels = ["mail"]\n\n' + mail
    code, err = check(config_dir(tmp_path, rules), capsys)
    assert code == 1
    # The unset variables, and nothing about 'mail' being unknown or its URL unusable.
    assert [line for line in err if "mail" in line] == [
        "  alerts/rules.toml:8: channel 'mail': environment variables SMTP_USER, SMTP_PASSWORD "
        "not set"
    ]


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            '[[rule]]\nid = "r"\ntitle = "R"\nquery = "x"\nshould_match = [{titel = "x"}]\n',
            "alerts/rules.toml:10: [rule.1.should_match.0.table.titel] rule 'r': unknown key "
            "'titel' (did you mean 'title'?)",
        ),
        (
            '[digests.matin]\nchannels = ["console"]\ncronn = "0 7 * * *"\n',
            "alerts/rules.toml:8: [digests.matin.cronn] digest 'matin': unknown key 'cronn' "
            "(did you mean 'cron'?)",
        ),
        (
            '[routage]\nchannels = ["console"]\n',
            "alerts/rules.toml:6: [routage] unknown key 'routage' (did you mean 'routing'?)",
        ),
    ],
    ids=["example table", "digest", "top-level table"],
)
def test_an_unknown_key_names_the_closest_key_of_its_own_table(
    table: str, message: str, tmp_path: Path, capsys: Any
) -> None:
    code, err = check(config_dir(tmp_path, MICROSOFT_RULE + "\n" + table), capsys)
    assert code == 1
    assert [line.strip() for line in err[1:]] == [message]


def test_an_unknown_key_far_from_every_key_gets_no_suggestion(tmp_path: Path, capsys: Any) -> None:
    code, err = check(config_dir(tmp_path, MICROSOFT_RULE + "colour = 'red'\n"), capsys)
    assert code == 1
    assert err[1].endswith("unknown key 'colour'")


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (
            ["rules", "test", "ministry-microsof"],
            "unknown or disabled rule: ministry-microsof (did you mean 'ministry-microsoft'?)",
        ),
        (
            ["rules", "explain", "ministre-microsoft", "--text", "x"],
            "unknown or disabled rule: ministre-microsoft (did you mean 'ministry-microsoft'?)",
        ),
        (["rules", "test", "zzz"], "unknown or disabled rule: zzz"),
        (
            ["notify", "--test", "consol"],
            "unknown channel 'consol' (known: console), did you mean 'console'?",
        ),
        (
            ["run", "--once", "--source", "lemond"],
            "unknown source id: lemond (did you mean 'lemonde'?)",
        ),
        (
            ["digest", "matn", "--send"],
            "unknown digest 'matn' (known: matin, soir), did you mean 'matin'?",
        ),
        (["digest", "--send"], "which digest? one of: matin, soir"),
    ],
    ids=["rules test", "explain", "nothing close", "notify", "run --source", "digest", "which"],
)
def test_an_unknown_name_on_the_command_line_names_the_closest(
    command: list[str], message: str, tmp_path: Path, capsys: Any
) -> None:
    digests = "".join(f'\n[digests.{n}]\nchannels = ["console"]\n' for n in ("matin", "soir"))
    code, err = check(config_dir(tmp_path, MICROSOFT_RULE + digests), capsys, *command)
    assert (code, err) == (2, [message])


def test_a_wrong_name_is_reported_at_the_line_of_its_key(tmp_path: Path, capsys: Any) -> None:
    digest = (
        '\n[digests.matin]\ncron = "30 7 * * *"\nchannels = ["consol"]\n'
        'rules = ["ministry-microsof"]\n'
    )
    write(tmp_path / "monitor.toml", '[health]\nnotice_channels = ["consolе"]\n')
    code, err = check(config_dir(tmp_path, MICROSOFT_RULE + digest), capsys)
    assert code == 1
    assert err[1:] == [
        "  alerts/rules.toml:8: digest 'matin' routes to unknown channel 'consol' "
        "(known: console), did you mean 'console'?",
        "  alerts/rules.toml:9: digest 'matin' names unknown rule 'ministry-microsof' "
        "(did you mean 'ministry-microsoft'?)",
        # A Cyrillic 'е' at the end: the suggestion shows which name was meant.
        "  monitor.toml:2: [health] notice_channels names unknown channel 'consolе' "
        "(known: console), did you mean 'console'?",
    ]


@pytest.mark.parametrize(
    ("query", "line"),
    [
        ("query = 'Microsoft AND (ministère'", 4),
        ('query = """Microsoft\nAND\n(ministère"""', 6),  # starts on the key's line
        ("query = '''\nMicrosoft AND\n(ministère\n'''", 6),
        ('query = \'Microsoft\'\nrelated = """\ncloud\nAND (souverain\n"""', 7),
    ],
    ids=["one line", "quotes then text", "literal string", "related query"],
)
def test_a_query_error_is_at_the_line_of_the_file_where_it_is(
    query: str, line: int, tmp_path: Path, capsys: Any
) -> None:
    rule = f'[[rule]]\nid = "r"\ntitle = "R"\n{query}\n'
    code, err = check(config_dir(tmp_path, rule), capsys)
    assert code == 1
    assert err[1].startswith(f"  alerts/rules.toml:{line}: rule 'r': ")
    assert "unclosed '('" in err[1]


def test_a_broken_kind_of_actor_does_not_hide_the_other_rules_queries(
    tmp_path: Path, capsys: Any
) -> None:
    rules = (
        '[actors.vendor]\nlists = ["nowhere"]\n\n'
        '[[rule]]\nid = "uses-it"\ntitle = "U"\nquery = "Microsoft"\nactors = ["vendor"]\n\n'
        '[[rule]]\nid = "other"\ntitle = "O"\nquery = "cloud AND"\n'
    )
    code, err = check(config_dir(tmp_path, rules), capsys)
    assert code == 1
    assert [line for line in err if line.startswith("  alerts/")] == [
        "  alerts/rules.toml:1: actors vendor: unknown list @nowhere",
        "  alerts/rules.toml:13: rule 'other': 'AND' needs a word, phrase or group after it",
    ]


def test_monitor_toml_reports_a_typo_and_an_unset_variable_together(
    tmp_path: Path, monkeypatch: Any, capsys: Any
) -> None:
    monkeypatch.delenv("VEILLE_DB", raising=False)
    write(
        tmp_path / "monitor.toml",
        '[database]\nurl = "${VEILLE_DB}"\n\n[delivery]\nmax_attempt = 3\n',
    )
    code, err = check(config_dir(tmp_path, MICROSOFT_RULE), capsys)
    assert (code, err[1:]) == (
        1,
        [
            "  monitor.toml:5: [delivery.max_attempt] unknown key 'max_attempt' "
            "(did you mean 'max_attempts'?)",
            "  monitor.toml:2: environment variable VEILLE_DB not set",
        ],
    )


def test_a_typo_deep_in_a_source_does_not_make_it_unknown_to_the_rules(
    tmp_path: Path, capsys: Any
) -> None:
    write(
        tmp_path / "sources.toml",
        SOURCES + '\n[[source]]\nid = "api"\nname = "API"\nkind = "json"\n'
        'url = "https://example.org/api"\n'
        '\n[source.mapping]\nrecords = "data"\nid = "id"\ntitle = "subject"\ntxet = "summary"\n',
    )
    write(tmp_path / "alerts" / "rules.toml", MICROSOFT_RULE + 'sources = ["api"]\n')
    code, err = check(tmp_path, capsys)
    assert (code, err[1:]) == (
        1,
        [
            "  sources.toml:16: [source.1.mapping.txet] source 'api': unknown key 'txet' "
            "(did you mean 'text'?)"
        ],
    )


def test_a_disabled_rule_query_is_checked_too(tmp_path: Path, capsys: Any) -> None:
    rules = (
        '[[rule]]\nid = "on"\ntitle = "On"\nquery = "Microsoft"\n\n'
        '[[rule]]\nid = "off"\ntitle = "Off"\nenabled = false\nquery = "cloud AND @nowhere"\n'
    )
    code, err = check(config_dir(tmp_path, rules), capsys)
    assert code == 1
    assert [line for line in err if line.startswith("  alerts/")] == [
        "  alerts/rules.toml:10: rule 'off': unknown list @nowhere",
    ]
