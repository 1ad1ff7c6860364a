"""Flows with each kind of fault are refused with a message naming the file, node and fault."""

from __future__ import annotations

from pathlib import Path

import pytest

from ccd.ivr import nodes as n
from ccd.ivr.catalogue import load_catalogue
from ccd.ivr.flow import FlowError, validate_flow

CATALOGUE = load_catalogue()
ROOT = Path(__file__).resolve().parents[2]

GOOD = """
[flow]
name = "small"
start = "main"

[nodes.main]
kind = "menu"
prompts = ["menu/main"]
options = { "1" = "balance", "2" = "bye" }

[nodes.balance]
kind = "lookup"
source = "customer_by_phone"
args = { phone = "$caller" }
into = "customer"
found = "say_balance"
not_found = "bye"

[nodes.say_balance]
kind = "say"
prompts = ["balance/balance_is", { say = "amount", value = "$customer.balance_fen" }]
next = "bye"

[nodes.bye]
kind = "hangup"
prompts = ["common/goodbye"]
"""


def refused(tmp_path: Path, text: str) -> FlowError:
    path = tmp_path / "flow.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(FlowError) as caught:
        validate_flow(path, CATALOGUE)
    return caught.value


def test_the_good_flow_and_the_demo_flow_load() -> None:
    flow = validate_flow(ROOT / "ccd" / "ivr" / "flows" / "utility.toml", CATALOGUE)
    assert flow.start == "screen" and flow.languages == ["zh", "en"]
    assert isinstance(flow.nodes["status"], n.Collect)  # work_order_status expanded
    assert flow.origin["status.lookup"] == "status"


def test_good_small_flow(tmp_path: Path) -> None:
    path = tmp_path / "small.toml"
    path.write_text(GOOD, encoding="utf-8")
    flow = validate_flow(path, CATALOGUE)
    assert set(flow.nodes) == {"main", "balance", "say_balance", "bye"}


def test_unknown_target(tmp_path: Path) -> None:
    error = refused(tmp_path, GOOD.replace('found = "say_balance"', 'found = "say_balanse"'))
    assert str(error) == (f"{tmp_path}/flow.toml: node 'balance': unknown target 'say_balanse' "
                          "in found; did you mean 'say_balance'?\n"
                          f"{tmp_path}/flow.toml: node 'say_balance': unreachable: no path leads "
                          "here from the start node 'main'")
    assert error.error_id == "bad-flow"
    assert [f.code for f in error.faults] == ["unknown-target", "unreachable-node"]
    assert error.details["faults"][0]["node"] == "balance"


def test_unknown_start_node(tmp_path: Path) -> None:
    error = refused(tmp_path, GOOD.replace('start = "main"', 'start = "mian"'))
    assert error.faults[0].message == "[flow]: unknown start node 'mian'; did you mean 'main'?"
    assert error.faults[0].node is None


def test_unreachable_node(tmp_path: Path) -> None:
    error = refused(tmp_path, GOOD + '\n[nodes.orphan]\nkind = "play"\nprompts = '
                    '["common/goodbye"]\nnext = "bye"\n')
    assert str(error) == (f"{tmp_path}/flow.toml: node 'orphan': unreachable: no path leads here "
                          "from the start node 'main'")


def test_missing_prompt(tmp_path: Path) -> None:
    error = refused(tmp_path, GOOD.replace('"common/goodbye"', '"common/goodby"'))
    assert str(error) == (f"{tmp_path}/flow.toml: node 'bye': missing prompt 'common/goodby' in "
                          "prompts[0]: not in the zh/en catalogue; did you mean "
                          "'common/goodbye'?")
    assert error.faults[0].code == "missing-prompt"


def test_prompt_missing_in_one_language_only(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "zh.toml").write_text('[prompts.extra]\nhello = "你好"\n', encoding="utf-8")
    path = tmp_path / "flow.toml"
    path.write_text(GOOD.replace('"common/goodbye"', '"extra/hello"'), encoding="utf-8")
    with pytest.raises(FlowError, match=r"node 'bye': missing prompt 'extra/hello' in prompts\[0\]"
                                        r": not in the en catalogue"):
        validate_flow(path, load_catalogue(site))


def test_unknown_say_kind_and_prompt_choices(tmp_path: Path) -> None:
    error = refused(tmp_path, GOOD.replace('say = "amount"', 'say = "amout"'))
    assert "node 'say_balance': prompts[1]: unknown say kind 'amout'; did you mean 'amount'?" \
        in str(error)
    error = refused(tmp_path, GOOD.replace(
        '{ say = "amount", value = "$customer.balance_fen" }',
        '{ say = "prompt", value = "$customer.language", prefix = "wo/status/", '
        'choices = ["new", "lost"] }'))
    assert "missing prompt 'wo/status/lost' in prompts[1].choices" in str(error)


@pytest.mark.parametrize(("old", "new", "fault"), [
    ('"$customer.balance_fen"', '"$custmer.balance_fen"',
     "node 'say_balance': bad variable reference '$custmer.balance_fen' in prompts[1].value: "
     "no node sets 'custmer'; did you mean 'customer'?"),
    ('"$customer.balance_fen"', '"$customer.balanse_fen"',
     "node 'say_balance': bad variable reference '$customer.balanse_fen' in prompts[1].value: "
     "'customer' has the fields account_no, address, arrears_fen, balance_fen, blocked, "
     "customer_id, district_code, district_name, language, meter_no, name, vip; did you mean "
     "'balance_fen'?"),
    ('"$customer.balance_fen"', '"$caller.balance_fen"',
     "node 'say_balance': bad variable reference '$caller.balance_fen' in prompts[1].value: "
     "'caller' is a plain value with no fields"),
    ('"$customer.balance_fen"', '"$Customer"',
     "node 'say_balance': prompts[1].value: bad variable reference '$Customer': expected $name "
     "or $name.field (lower case letters, digits and '_'), optionally ending in '?'"),
])
def test_bad_variable_references(tmp_path: Path, old: str, new: str, fault: str) -> None:
    error = refused(tmp_path, GOOD.replace(old, new))
    assert str(error) == f"{tmp_path}/flow.toml: {fault}"
    assert error.faults[0].code == "bad-variable"


def test_variable_not_set_on_every_path(tmp_path: Path) -> None:
    text = GOOD.replace('not_found = "bye"', 'not_found = "say_balance"')
    error = refused(tmp_path, text)
    assert str(error) == (
        f"{tmp_path}/flow.toml: node 'say_balance': bad variable reference "
        "'$customer.balance_fen' in prompts[1].value: 'customer' is not set on every path to "
        "this node (set by: balance); end the reference with '?' if it may be missing")
    # With '?' the reference may be missing, and the flow loads.
    path = tmp_path / "optional.toml"
    path.write_text(text.replace("$customer.balance_fen", "$customer.balance_fen?"),
                    encoding="utf-8")
    assert validate_flow(path, CATALOGUE).nodes["say_balance"]


def test_unknown_node_kind(tmp_path: Path) -> None:
    error = refused(tmp_path, GOOD.replace('kind = "menu"', 'kind = "mneu"'))
    assert str(error).startswith(f"{tmp_path}/flow.toml: node 'main': unknown node kind 'mneu'; "
                                 "did you mean 'menu'? (kinds: play, say, menu, collect, ")
    assert error.faults[0].code == "unknown-kind"


def test_missing_required_field(tmp_path: Path) -> None:
    error = refused(tmp_path, GOOD.replace('not_found = "bye"\n', ''))
    assert str(error) == (f"{tmp_path}/flow.toml: node 'balance': (lookup) missing required "
                          "field 'not_found'")
    error = refused(tmp_path, GOOD.replace('kind = "hangup"\n', ''))
    assert str(error) == f"{tmp_path}/flow.toml: node 'bye': missing required field 'kind'"
    error = refused(tmp_path, GOOD.replace('args = { phone = "$caller" }', 'args = {}'))
    assert str(error) == (f"{tmp_path}/flow.toml: node 'balance': missing required field "
                          "'args.phone' (source customer_by_phone takes phone)")


def test_unknown_field_and_wrong_type(tmp_path: Path) -> None:
    error = refused(tmp_path, GOOD.replace('options = ', 'optoins = '))
    assert str(error) == (f"{tmp_path}/flow.toml: node 'main': (menu) unknown field 'optoins'; "
                          "did you mean 'options'?")
    error = refused(tmp_path, GOOD.replace('options = {', 'timeout = "soon"\noptions = {'))
    assert str(error) == (f"{tmp_path}/flow.toml: node 'main': (menu) 'timeout': expected "
                          "float | null, got str")


def test_bad_values(tmp_path: Path) -> None:
    error = refused(tmp_path, GOOD.replace('"2" = "bye"', '"22" = "bye"').replace(
        'source = "customer_by_phone"', 'source = "customer_by_fone"'))
    assert [str(f) for f in error.faults] == [
        f"{tmp_path}/flow.toml: node 'main': option key '22' is not a phone key (0-9, * or #)",
        f"{tmp_path}/flow.toml: node 'balance': unknown data source 'customer_by_fone'; did you "
        "mean 'customer_by_phone'? (sources: customer_by_phone, customer_by_account, last_bill, "
        "last_reading, outages_for_district, outage_for_caller, work_order_status, "
        "caller_flags, queue_status)",
    ]


def test_not_toml_and_missing_tables(tmp_path: Path) -> None:
    error = refused(tmp_path, "[flow\nname=")
    assert str(error).startswith(f"{tmp_path}/flow.toml: not valid TOML: ")
    error = refused(tmp_path, '[flow]\nname = "x"\nstart = "a"\n[nodez.a]\nkind = "play"\n')
    assert [f.message for f in error.faults] == [
        "unknown table [nodez]; did you mean 'nodes'?",
        "no [nodes.NAME] tables: a flow needs at least one node"]


def test_language_without_catalogue(tmp_path: Path) -> None:
    error = refused(tmp_path, GOOD.replace('start = "main"',
                                           'start = "main"\nlanguages = ["zh", "fr"]'))
    assert error.faults[0].message == ("[flow]: language 'fr' has no prompt catalogue "
                                       "(have: en, zh)")


def test_faults_in_an_expanded_node_name_the_node_in_the_file(tmp_path: Path) -> None:
    text = GOOD.replace('"2" = "bye"', '"2" = "bye", "4" = "status"') + (
        '\n[nodes.status]\nkind = "work_order_status"\nnot_found = ["wo/not_fund"]\n'
        'next = "bye"\n')
    error = refused(tmp_path, text)
    assert str(error) == (f"{tmp_path}/flow.toml: node 'status': missing prompt 'wo/not_fund' in "
                          "prompts[0]: not in the zh/en catalogue; did you mean 'wo/not_found'?")


def test_bad_calendar(tmp_path: Path) -> None:
    error = refused(tmp_path, GOOD.replace(
        '[nodes.main]', '[calendar]\ntimezone = "Asia/Shanghia"\n'
        'hours = { mon = "08:00-25:00", someday = "closed" }\n\n[nodes.main]'))
    assert [f.message for f in error.faults] == [
        "[calendar]: unknown timezone 'Asia/Shanghia'",
        "[calendar]: hours.mon: '08:00-25:00': hour must be in 0..23",
        "[calendar]: hours.someday: unknown day 'someday'; use mon..sun, daily or workday",
    ]
