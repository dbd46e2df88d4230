"""Head office (hq/) against a real aiohttp server on a free port, spoken to over real HTTP."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appliance.store import journal
from hq import ingest
from hq.__main__ import build_parser
from hq.errors import Malformed
from tests.hq_server import body, chain

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def till(hq):
    status, answer = hq.enroll("till-1")
    assert status == 200
    return "till-1", bytes.fromhex(answer["secret"])


# --- enrolment


def test_enroll_gives_a_32_byte_secret_and_the_code_works_once(hq):
    code = hq.storage.new_enrollment_code()
    status, answer = hq.enroll("till-1", code)
    assert status == 200 and answer["device"] == "till-1" and len(bytes.fromhex(answer["secret"])) == 32
    status, answer = hq.enroll("till-2", code)
    assert status == 403 and answer["error"] == "enrollment_refused" and "already used" in answer["message"]
    assert hq.enroll("till-3", "0000000000000000")[0] == 403


def test_an_enrolled_device_is_not_taken_over_but_a_revoked_one_re_enrols_with_a_new_secret(hq, till):
    device, secret = till
    status, answer = hq.enroll(device)
    assert status == 403 and "already enrolled" in answer["message"]
    hq.storage.revoke(device)
    status, answer = hq.enroll(device)
    assert status == 200 and bytes.fromhex(answer["secret"]) != secret
    assert hq.send(device, bytes.fromhex(answer["secret"]), body(device, chain(1, 1)))[0] == 200


@pytest.mark.parametrize("doc, where", [({"device": "till-1"}, "body.code"),
                                        ({"code": "x", "device": "../etc"}, "body.device"),
    ({"code": "\ud800", "device": "till-1"}, "lone surrogate")])  # fmt: skip
def test_enroll_refuses_a_malformed_request_naming_the_field(hq, doc, where):
    status, answer = hq.request("POST", "/v1/enroll", json.dumps(doc).encode())
    assert status == 400 and where in answer["message"]


# --- ingest


def test_a_batch_is_stored_and_resending_it_stores_nothing_twice(hq, till):
    device, secret = till
    sent = body(device, chain(1, 3))
    status, answer = hq.send(device, secret, sent)
    assert status == 200
    assert answer == {"stored": [1, 2, 3], "duplicates": [], "conflicts": [], "last_seq": 3, "problems": []}
    status, answer = hq.send(device, secret, sent)
    assert answer == {"stored": [], "duplicates": [1, 2, 3], "conflicts": [], "last_seq": 3, "problems": []}
    assert hq.held(device) == [1, 2, 3]


def test_an_event_resent_with_other_content_is_a_conflict_and_the_held_copy_is_kept(hq, till):
    device, secret = till
    first = chain(1, 3)
    hq.send(device, secret, body(device, first))
    # The same seqs from a journal that was rewritten (restored from an old backup, say).
    rewritten = chain(1, 4, kind="refund")
    status, answer = hq.send(device, secret, body(device, rewritten))
    assert status == 200
    assert (answer["stored"], answer["duplicates"], answer["conflicts"]) == ([4], [], [1, 2, 3])
    # seq 4 follows the rewritten 3, not the held one: its link is broken too.
    assert answer["problems"] == [{"seq": s, "problem": "conflict"} for s in (1, 2, 3)] + [
        {"seq": 4, "problem": "chain broken"}]
    assert hq.storage.query("SELECT kind FROM events WHERE seq <= 3 ORDER BY seq") == [("sale",)] * 3
    assert {"seq": 2, "problem": "conflict"} in hq.status(device)[1]["problems"]


def test_a_batch_overlapping_a_held_one_stores_only_the_new_events(hq, till):
    device, secret = till
    events = chain(1, 5)
    hq.send(device, secret, body(device, events[:3]))
    status, answer = hq.send(device, secret, body(device, events[1:]))
    assert (answer["stored"], answer["duplicates"], answer["last_seq"]) == ([4, 5], [2, 3], 5)


def test_the_payload_is_held_in_the_journals_canonical_spelling(hq, till):
    device, secret = till
    payload = {"z": 1, "a": "é"}
    digest = journal.entry_hash(bytes(32), 1, "2026-01-02T10:00:00+00:00", "sale", "R1", journal.canonical(payload))
    event = chain(1, 1)[0] | {"payload": payload, "hash": digest.hex()}
    status, _ = hq.send(device, secret, body(device, [event]))
    assert status == 200
    assert hq.storage.query("SELECT payload FROM events") == [('{"a":"é","z":1}',)]


def test_an_event_whose_hash_does_not_match_its_content_is_refused(hq, till):
    device, secret = till
    events = chain(1, 2)
    events[1]["payload"] = {"total": 1}  # altered after it was hashed
    status, answer = hq.send(device, secret, body(device, events))
    assert status == 400 and "events[1].hash does not match the event's content" in answer["message"]
    assert hq.held(device) == []  # nothing of the batch is kept


def test_a_bad_signature_is_refused_and_nothing_is_stored(hq, till):
    device, secret = till
    sent = body(device, chain(1, 2))
    status, answer = hq.send(device, secret, sent, signature=ingest.sign(b"k" * 32, sent))
    assert status == 401 and answer["error"] == "unauthorized" and "signature" in answer["message"]
    assert hq.send(device, secret, sent, signature="")[0] == 401
    assert hq.held(device) == []


def test_a_revoked_or_unknown_device_is_refused(hq, till):
    device, secret = till
    hq.storage.revoke(device)
    status, answer = hq.send(device, secret, body(device, chain(1, 1)))
    assert status == 401 and "revoked" in answer["message"]
    assert hq.send("ghost", secret, body("ghost", chain(1, 1)))[0] == 401
    assert hq.held(device) == []


def test_a_gap_is_flagged_stored_anyway_and_last_seq_stops_before_it(hq, till):
    device, secret = till
    events = chain(1, 5)
    status, answer = hq.send(device, secret, body(device, events[:2] + events[3:]))
    assert answer["stored"] == [1, 2, 4, 5] and answer["last_seq"] == 2
    assert answer["problems"] == [{"seq": 4, "problem": "gap before"}]
    assert hq.status(device) == (200, {"device": device, "last_seq": 2,
                                       "problems": [{"seq": 4, "problem": "gap before"}]})  # fmt: skip
    # The missing event arrives: the run closes up, and the recorded flag stays as history.
    status, answer = hq.send(device, secret, body(device, [events[2]]))
    assert answer == {"stored": [3], "duplicates": [], "conflicts": [], "last_seq": 5, "problems": []}
    assert hq.status(device)[1]["problems"] == [{"seq": 4, "problem": "gap before"}]


def test_a_broken_link_is_flagged_both_when_it_arrives_and_when_a_gap_is_filled(hq, till):
    device, secret = till
    events = chain(1, 3)
    forged = chain(3, 4, prev="ab" * 32)  # seq 3 and 4 of another chain: 3 does not follow 2
    status, answer = hq.send(device, secret, body(device, events[:2] + forged))
    assert answer["stored"] == [1, 2, 3, 4] and answer["last_seq"] == 4
    assert answer["problems"] == [{"seq": 3, "problem": "chain broken"}]
    # seq 6 held first, then a seq 5 whose hash is not what 6 links to: 6 is flagged late.
    hq.send(device, secret, body(device, chain(6, 6, prev="cd" * 32)))
    status, answer = hq.send(device, secret, body(device, chain(5, 5, prev=forged[-1]["hash"])))
    assert answer["problems"] == [{"seq": 6, "problem": "chain broken"}]
    assert hq.status(device)[1]["problems"] == [{"seq": 3, "problem": "chain broken"},
                                                {"seq": 6, "problem": "chain broken"},
                                                {"seq": 6, "problem": "gap before"}]  # fmt: skip


def gz(doc: Any) -> bytes:
    return gzip.compress(json.dumps(doc).encode())


GOOD = chain(1, 1)[0]


@pytest.mark.parametrize("sent, encoding, expected", [
    (json.dumps({"device": "till-1", "events": [GOOD]}).encode(), "gzip", "not gzip"),
    (gz({"device": "till-1", "events": [GOOD]}), "identity", "Content-Encoding"),
    (gzip.compress(b"{not json"), "gzip", "not JSON"),
    (gzip.compress(b"\xff\xfe"), "gzip", "not JSON"),
    (gz([GOOD]), "gzip", "must be a JSON object"),
    (gz({"events": [GOOD]}), "gzip", "body.device is missing"),
    (gz({"device": "till-2", "events": [GOOD]}), "gzip", "does not match"),
    (gz({"device": "till-1"}), "gzip", "body.events is missing"),
    (gz({"device": "till-1", "events": {}}), "gzip", "body.events must be an array"),
    (gz({"device": "till-1", "events": [7]}), "gzip", "events[0] must be an object"),
    (gz({"device": "till-1", "events": [{k: v for k, v in GOOD.items() if k != "hash"}]}), "gzip",
     "events[0].hash is missing"),
    (gz({"device": "till-1", "events": [GOOD | {"seq": "1"}]}), "gzip", "events[0].seq must be an integer, not a string"),
    (gz({"device": "till-1", "events": [GOOD | {"seq": True}]}), "gzip", "events[0].seq must be an integer, not a boolean"),
    (gz({"device": "till-1", "events": [GOOD | {"seq": 1.5}]}), "gzip", "not a number with a fraction"),
    (gz({"device": "till-1", "events": [GOOD | {"at": None}]}), "gzip", "events[0].at must be a string, not null"),
    (gz({"device": "till-1", "events": [GOOD | {"seq": 0}]}), "gzip", "events[0].seq must be from 1"),
    (gz({"device": "till-1", "events": [GOOD | {"seq": 2**63}]}), "gzip", "events[0].seq must be from 1"),
    (gzip.compress(b'{"device": "till-1", "events": [], "x": "\\ud800"}'), "gzip", "lone surrogate"),
    (gz({"device": "till-1", "events": [GOOD | {"payload": "{}"}]}), "gzip", "events[0].payload must be an object"),
    (gz({"device": "till-1", "events": [GOOD | {"prev_hash": "zz"}]}), "gzip", "events[0].prev_hash must be 64"),
    (gz({"device": "till-1", "events": [GOOD, GOOD]}), "gzip", "events[1].seq"),
])  # fmt: skip
def test_a_malformed_body_is_refused_naming_the_problem_and_nothing_is_stored(hq, till, sent, encoding, expected):
    device, secret = till
    status, answer = hq.send(device, secret, sent, encoding=encoding)
    assert status == 400, answer
    assert answer["error"] == "malformed" and expected in answer["message"]
    assert hq.held(device) == []


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
DROP = object()
# A good event with each field kept, replaced by any JSON value, or left out.
EVENT = st.fixed_dictionaries({k: st.sampled_from([v, DROP]) | JSON for k, v in GOOD.items()}).map(
    lambda event: {k: v for k, v in event.items() if v is not DROP})


@given(st.one_of(JSON, st.fixed_dictionaries({"device": st.just("till-1"), "events": st.lists(EVENT, max_size=3)})))
def test_parse_answers_any_json_with_events_or_a_malformed_error(doc):
    """Nothing a terminal can send makes the parser fail any other way (a 500 at head office)."""
    try:
        events = ingest.parse(json.dumps(doc).encode(), "till-1")
    except Malformed as exc:
        assert exc.where
    else:
        assert [e.seq for e in events] == sorted({e.seq for e in events})


def test_a_gzip_bomb_is_refused_without_unzipping_it_all(hq, till):
    device, secret = till
    bomb = gzip.compress(b" " * (ingest.MAX_UNZIPPED + 1))
    status, answer = hq.send(device, secret, bomb)
    assert status == 413 and answer["error"] == "too_large"


def test_the_same_batch_sent_from_two_threads_at_once_is_stored_once(hq, till):
    device, secret = till
    sent = body(device, chain(1, 50))
    barrier = threading.Barrier(2)

    def send() -> dict[str, Any]:
        barrier.wait()
        return hq.send(device, secret, sent)[1]

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda _: send(), range(2)))
    assert sorted(answers[0]["stored"] + answers[1]["stored"]) == list(range(1, 51))
    assert sorted(answers[0]["duplicates"] + answers[1]["duplicates"]) == list(range(1, 51))
    assert all(a["last_seq"] == 50 and a["problems"] == [] for a in answers)
    assert hq.held(device) == list(range(1, 51))


def test_status_of_an_unknown_device_is_404(hq):
    status, answer = hq.status("ghost")
    assert status == 404 and answer["error"] == "not_found"


# --- command line


def run_hq(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hq", *args], cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_cli_enroll_code_prints_a_code_that_enrols_once(hq):
    result = run_hq("enroll-code", "--db", hq.db)
    assert result.returncode == 0
    code = result.stdout.strip()
    assert hq.enroll("till-9", code)[0] == 200 and hq.enroll("till-8", code)[0] == 403


def test_cli_revoke_refuses_the_device_and_names_an_unknown_one(hq, till):
    device, secret = till
    assert run_hq("revoke", device, "--db", hq.db).returncode == 0
    assert hq.send(device, secret, body(device, chain(1, 1)))[0] == 401
    result = run_hq("revoke", "ghost", "--db", hq.db)
    assert result.returncode == 2 and "no device 'ghost'" in result.stderr


def test_cli_serve_answers_on_the_port_it_prints(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "hq", "serve", "--db", str(tmp_path / "hq.sqlite"), "--port", "0"],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        url = proc.stdout.readline().split()[-1]
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url + "/v1/devices/ghost/status")
        assert refused.value.code == 404
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_every_command_and_option_is_in_the_docs():
    doc = (ROOT / "docs" / "hq.md").read_text(encoding="utf-8")
    parser = build_parser()
    for name, sub in parser._subparsers._group_actions[0].choices.items():
        assert f"python -m hq {name}" in doc
        for action in sub._actions:
            for option in action.option_strings:
                assert option == "-h" or option == "--help" or f"`{option}" in doc, (name, option)


def test_status_and_reports_read_from_the_read_database_when_one_is_given(pg_cluster):
    from appliance.errors import NotFound
    from hq.databases import open_storage

    primary, replica = pg_cluster.new_database("hq_primary"), pg_cluster.new_database("hq_replica")
    open_storage(replica).close()  # its tables, as a streaming replica of the primary would have them
    storage = open_storage(primary, read_db=replica)
    try:
        storage.enroll(storage.new_enrollment_code("shop-1"), "till-9")  # written to the primary
        with pytest.raises(NotFound):
            storage.status("till-9")  # read from the (here empty) replica
        direct = open_storage(primary)
        assert direct.status("till-9") == (0, [])
        direct.close()
    finally:
        storage.close()
