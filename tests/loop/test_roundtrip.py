"""The whole way back over the air gap, through both command lines and the source's pages.

A source submits; `tamga-intake export`; `tamga-review import`; the reviewer replies (stdin,
--file, --message); `tamga-review export-outbox`; `tamga-intake import-replies`; the source logs in
with the codename and reads the replies, decrypted for that one response. The server never holds a
readable reply, acknowledged envelopes leave the disk, and a deleted reply never comes back.
"""

import hashlib
import re
import sqlite3
from pathlib import Path

import pytest

from crypto import _tar, open_bytes
from crypto.codename import derive_reply_identity
from tests.support.forms import csrf_token
from tests.support.intake import Intake, deliver, init_intake, read_outbox
from tests.support.station import Station, assert_ok, assert_refused

# Three replies, one per way of giving the text; no character that HTML escaping would change.
BY_STDIN = "Which polling station was this? Сайлау учаскесі нөмірі қандай?"
BY_FILE = "Thank you. Was the observer from party A present at 14:20 too?\nPlease answer briefly."
BY_MESSAGE = "Reply-by-message 7f3c: can you send the photo of the protocol as well?"
MESSAGE = "Ballot stuffing at polling station 1142, seen at 14:20 by the back door."
PHOTO = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 40 + b"\xff\xd9"


def reply_ids(page: str) -> list[str]:
    return re.findall(r'action="/replies/([0-9a-f]+)/delete"', page)


def reply_texts(page: str) -> list[str]:
    return [text.strip() for text in re.findall(r'<div class="reply-text">(.*?)</div>', page, re.S)]


def statuses(page: str) -> list[str]:
    return re.findall(r"reached the reviewers|waiting to be collected by the reviewers", page)


def ciphertext_windows(envelope: bytes) -> list[bytes]:
    """Slices of an envelope's payload (never its age header, which every envelope shares)."""
    windows = [envelope[-48:]]
    if len(envelope) > 1024:
        windows.append(envelope[len(envelope) // 2 : len(envelope) // 2 + 48])
    return windows


def test_a_source_reads_a_reviewers_replies_and_the_server_holds_nothing_readable(
    tmp_path: Path, station: Station
) -> None:
    # Setting up: the intake pins the station's signing key at init, the station pins the server.
    intake = init_intake(tmp_path / "intake", station, station.signing_key())
    try:
        server_key = intake.server_key()
        assert_ok(station.run("trust-server", server_key))
        station_key = station.signing_key()
        assert intake.query("SELECT verify_key, last_sequence FROM trusted_stations") == [(station_key, 0)]

        # Monday: a source sends a message and a photo.
        source = intake.new_source()
        first = intake.submit_as(source, MESSAGE, [(PHOTO, "photo.jpg", "image/jpeg")])
        sent = intake.envelope_files()
        assert len(sent) == 3  # message, file content, file metadata
        assert deliver(station, intake, tmp_path / "tamga.tar") == 3
        message_item = station.item_of(source.id, "message")
        file_item = station.item_of(source.id, "file")
        # ...and sends more after the USB stick left: not acknowledged by this outbox.
        second = intake.submit_as(source, "One more thing, sent later.")
        later = set(intake.envelope_files()) - set(sent)
        assert len(later) == 1

        # On the station: three replies, each way of giving the text.
        out = station.ok("reply", str(message_item), stdin=BY_STDIN + "\n").stdout
        assert f"to the source of item {message_item}" in out
        reply_file = tmp_path / "reply.txt"
        reply_file.write_text(BY_FILE + "\n", encoding="utf-8")
        out = station.ok("reply", str(file_item), "--file", str(reply_file)).stdout
        assert f"to the source of item {file_item}" in out
        station.ok("reply", str(message_item), "--message", BY_MESSAGE)
        outbox = tmp_path / "outbox.tar"
        assert station.export_outbox(outbox) == (3, 3)
        head = station.head()

        document = read_outbox(outbox, station_key)
        assert document["kind"] == "outbox"
        assert document["receiver"] == server_key
        assert document["sequence"] == 1
        assert document["custody_head"] == head  # the head at export time
        assert document["acknowledged"] == sorted(hashlib.sha256(data).hexdigest() for data in sent.values())
        assert [e["kind"] for e in document["envelopes"]] == ["reply"] * 3
        assert {e["source"] for e in document["envelopes"]} == {source.id}

        # On the server.
        result = assert_ok(intake.import_replies(outbox))
        assert result.stdout.strip() == (
            f"{outbox}: 3 reply(ies) stored, 3 envelope(s) acknowledged and deleted"
        )

        # Acknowledged envelopes are gone from the store, and their bytes from everywhere.
        store = intake.store_files()
        for name in sent:
            assert name not in store
        everything = intake.all_bytes()
        for name, data in sent.items():
            for window in ciphertext_windows(data):
                holders = [str(path) for path, content in everything if window in content]
                assert holders == [], f"bytes of acknowledged envelope {name} survive in {holders}"
        assert set(intake.envelope_files()) == later  # the later submission's envelope stays
        assert set(store) == later | set(intake.reply_files())
        # A minimal row per submission stays: random id, day, acknowledged.
        rows = dict(intake.query("SELECT id, acknowledged FROM submissions"))
        assert rows == {first: 1, second: 0}
        columns = [row[1] for row in intake.query("PRAGMA table_info(submissions)")]
        assert sorted(columns) == ["acknowledged", "day", "id", "source_id"]
        # The station's custody head, kept off the station.
        assert intake.query("SELECT station, sequence, head, events FROM custody_heads") == [
            (station_key, 1, head, document["custody_events"])
        ]
        assert intake.query("SELECT last_sequence FROM trusted_stations") == [(1,)]
        verified = assert_ok(station.run("custody", "verify", "--head", head)).stdout
        assert f"{document['custody_events']} events" in verified

        # Sealed on the server: no reply text in any file, and each opens with the codename's key.
        for text in (BY_STDIN, BY_FILE, BY_MESSAGE, "Which polling station", "Reply-by-message 7f3c"):
            needle = text.encode("utf-8")
            assert [str(p) for p, content in everything if needle in content] == []
        identity = derive_reply_identity(source.codename, intake.salt)
        opened = {
            open_bytes((intake.store / name).read_bytes(), [identity]).decode()
            for name in intake.reply_files()
        }
        assert opened == {BY_STDIN, BY_FILE.strip(), BY_MESSAGE}

        # Tuesday, in a fresh browser: the source logs in and reads the replies.
        client, page = intake.log_in(source.codename)
        assert sorted(reply_texts(page)) == sorted([BY_STDIN, BY_FILE.strip(), BY_MESSAGE])
        assert sorted(statuses(page)) == ["reached the reviewers", "waiting to be collected by the reviewers"]
        assert len(reply_ids(page)) == 3
        # Shown, and still nothing readable on disk (the session row holds no reply, no codename).
        for needle in (BY_STDIN, BY_FILE.strip(), BY_MESSAGE, source.codename):
            holders = [str(p) for p, content in intake.all_bytes() if needle.encode() in content]
            assert holders == [], f"{needle[:30]!r} is readable in {holders}"
        # A later page shows only how many replies are waiting, never their text.
        later_page = client.get("/submit").get_data(as_text=True)
        assert reply_texts(later_page) == []
        for text in (BY_STDIN, BY_MESSAGE, "Was the observer"):
            assert text not in later_page
        assert "You have 3 replies" in later_page
        assert sorted(statuses(later_page)) == sorted(statuses(page))

        # The source deletes one reply: its file is shredded and its row says deleted.
        doomed = next(
            rid for rid, text in zip(reply_ids(page), reply_texts(page), strict=True) if text == BY_MESSAGE
        )
        ((doomed_file,),) = intake.query("SELECT storage_name FROM replies WHERE id = ?", (doomed,))
        assert (intake.store / doomed_file).exists()
        response = client.post(f"/replies/{doomed}/delete", data={"csrf_token": csrf_token(later_page)})
        assert response.status_code == 303
        assert response.headers["Location"].endswith("/submit?deleted=1")
        after = client.get(response.headers["Location"]).get_data(as_text=True)
        assert "The reply was deleted." in after
        assert "You have 2 replies" in after
        assert not (intake.store / doomed_file).exists()
        assert intake.query("SELECT deleted, storage_name FROM replies WHERE id = ?", (doomed,)) == [
            (1, None)
        ]

        def shown() -> list[str]:
            return sorted(reply_texts(intake.log_in(source.codename, client)[1]))

        assert shown() == sorted([BY_STDIN, BY_FILE.strip()])

        # The same outbox again changes nothing: the deleted reply does not come back.
        before = intake.snapshot()
        again = assert_ok(intake.import_replies(outbox))
        assert again.stdout.strip() == f"{outbox}: already imported, nothing changed"
        assert intake.snapshot() == before
        assert shown() == sorted([BY_STDIN, BY_FILE.strip()])

        # A newer outbox (a new question, and the later submission acknowledged) ...
        assert deliver(station, intake, tmp_path / "tamga-2.tar") == 1
        newest = "One last question: did anyone else see it?"
        station.reply(station.item_of(source.id, "message"), newest)
        outbox2 = tmp_path / "outbox-2.tar"
        assert station.export_outbox(outbox2) == (1, 1)
        head2 = station.head()
        assert read_outbox(outbox2, station_key)["custody_head"] == head2
        assert_ok(intake.import_replies(outbox2))
        assert intake.envelope_files() == {}
        assert dict(intake.query("SELECT id, acknowledged FROM submissions")) == {first: 1, second: 1}
        assert [
            row[:3] for row in intake.query("SELECT station, sequence, head FROM custody_heads ORDER BY id")
        ] == [
            (station_key, 1, head),
            (station_key, 2, head2),
        ]
        assert shown() == sorted([BY_STDIN, BY_FILE.strip(), newest])

        # ... after which the older outbox is refused, and still nothing comes back.
        before = intake.snapshot()
        assert_refused(intake.import_replies(outbox), "not above")
        assert intake.snapshot() == before
        assert shown() == sorted([BY_STDIN, BY_FILE.strip(), newest])
        assert (intake.store / doomed_file).exists() is False
    finally:
        intake.close()


def test_only_the_source_itself_deletes_its_reply_and_only_with_the_form_token(
    tmp_path: Path, station: Station, intake: Intake
) -> None:
    source, other = intake.new_source(), intake.new_source()
    intake.submit_as(source, "first source")
    intake.submit_as(other, "second source")
    deliver(station, intake, tmp_path / "tamga.tar")
    station.reply(station.item_of(source.id), "For the first source only.")
    station.export_outbox(tmp_path / "outbox.tar")
    assert_ok(intake.import_replies(tmp_path / "outbox.tar"))
    ((reply_id, name),) = intake.query("SELECT id, storage_name FROM replies")

    # The other source's session cannot delete it (no error page that would confirm it exists).
    response = other.client.post(
        f"/replies/{reply_id}/delete",
        data={"csrf_token": csrf_token(other.client.get("/submit").get_data(as_text=True))},
    )
    assert response.status_code == 303
    assert (intake.store / name).exists()
    # No CSRF token: refused.
    assert source.client.post(f"/replies/{reply_id}/delete").status_code == 400
    # Not logged in: refused.
    assert intake.app.test_client().post(f"/replies/{reply_id}/delete").status_code in (400, 403)
    assert intake.query("SELECT deleted, storage_name FROM replies") == [(0, name)]
    # The source's own page still shows it.
    _, page = intake.log_in(source.codename)
    assert reply_texts(page) == ["For the first source only."]
    _, other_page = intake.log_in(other.codename)
    assert reply_texts(other_page) == []
    assert "There are no replies yet." in other_page


def test_an_empty_outbox_is_valid_and_imports(tmp_path: Path, station: Station, intake: Intake) -> None:
    outbox = tmp_path / "outbox.tar"
    assert station.export_outbox(outbox) == (0, 0)
    data = outbox.read_bytes()
    # One member, the plain signed manifest, then the end of the archive: nothing else.
    assert data[:12] == b"manifest.jso"
    size = int(data[124:136].rstrip(b"\x00"), 8)
    members_end = 512 + size + (-size % 512)
    assert data[members_end:] == _tar.end_of_archive()
    document = read_outbox(outbox, station.signing_key())
    assert (document["envelopes"], document["acknowledged"], document["sequence"]) == ([], [], 1)
    assert document["custody_head"] == station.head()

    result = assert_ok(intake.import_replies(outbox))
    assert result.stdout.strip() == f"{outbox}: 0 reply(ies) stored, 0 envelope(s) acknowledged and deleted"
    assert intake.query("SELECT last_sequence FROM trusted_stations") == [(1,)]
    assert intake.query("SELECT sequence, head FROM custody_heads") == [(1, document["custody_head"])]


def test_export_outbox_is_a_custody_event_and_its_head_is_the_one_the_server_keeps(
    tmp_path: Path, station: Station, intake: Intake
) -> None:
    source = intake.new_source()
    intake.submit_as(source, "hello")
    deliver(station, intake, tmp_path / "tamga.tar")
    events_before = station.query("SELECT count(*) FROM custody_events")[0][0]
    station.reply(station.item_of(source.id), "A question.")
    assert station.query("SELECT count(*) FROM custody_events")[0][0] == events_before + 1
    station.export_outbox(tmp_path / "outbox.tar")
    assert station.query("SELECT count(*) FROM custody_events")[0][0] == events_before + 2
    (replied, exported) = station.query("SELECT object, record FROM custody_events ORDER BY seq")[-2:]
    item = station.item_of(source.id)
    assert replied[0] == f"item:{item}" and '"action":"replied"' in replied[1]
    assert exported[0] == "outbox:1" and '"action":"outbox-exported"' in exported[1]
    head = station.head()
    document = read_outbox(tmp_path / "outbox.tar", station.signing_key())
    assert (document["custody_head"], document["custody_events"]) == (head, events_before + 2)
    assert document["envelopes"][0]["sha256"] in replied[1]  # the event names the sealed reply
    assert_ok(intake.import_replies(tmp_path / "outbox.tar"))
    ((kept_head,),) = intake.query("SELECT head FROM custody_heads")
    assert kept_head == head
    assert_ok(station.run("custody", "verify", "--head", kept_head))
    # A head the log does not contain is caught.
    assert station.run("custody", "verify", "--head", "1" * 64).exit_code == 1


def test_acknowledged_envelopes_are_overwritten_before_they_are_unlinked(
    tmp_path: Path, station: Station, intake: Intake, monkeypatch: pytest.MonkeyPatch
) -> None:
    """shred() writes zeros over the whole file and fsyncs before unlinking it."""
    import os

    from submission import store as store_module

    source = intake.new_source()
    intake.submit_as(source, "x" * 5000)
    sent = intake.envelope_files()
    deliver(station, intake, tmp_path / "tamga.tar")
    station.export_outbox(tmp_path / "outbox.tar")

    seen: list[tuple[str, bytes]] = []
    real_unlink = Path.unlink

    def spying_unlink(self: Path, missing_ok: bool = False) -> None:
        if self.parent == intake.store and self.name in sent:
            seen.append((self.name, self.read_bytes()))
        real_unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(store_module.Path, "unlink", spying_unlink)
    assert_ok(intake.import_replies(tmp_path / "outbox.tar"))
    assert sorted(name for name, _ in seen) == sorted(sent)
    for name, content in seen:
        assert content == bytes(len(sent[name])), "the envelope was not zeroed before unlinking"
    assert not any((intake.store / name).exists() for name in sent)
    assert os.listdir(intake.store) == []


def test_a_reply_for_a_source_that_no_longer_exists_is_dropped_and_the_rest_imports(
    tmp_path: Path, station: Station, intake: Intake
) -> None:
    gone, staying = intake.new_source(), intake.new_source()
    intake.submit_as(gone, "gone soon")
    intake.submit_as(staying, "staying")
    deliver(station, intake, tmp_path / "tamga.tar")
    station.reply(station.item_of(gone.id), "to the purged source")
    station.reply(station.item_of(staying.id), "to the source still here")
    station.export_outbox(tmp_path / "outbox.tar")
    # Retention removed the first source in between (its submission gone, nothing left).
    for name in intake.envelope_files():
        if (name,) in intake.query(
            "SELECT storage_name FROM envelopes JOIN submissions ON submissions.id = submission_id "
            "WHERE source_id = ?",
            (gone.id,),
        ):
            (intake.store / name).unlink()
    con = sqlite3.connect(intake.root / "intake.sqlite")
    with con:
        con.execute("PRAGMA foreign_keys=ON")
        con.execute(
            "DELETE FROM envelopes WHERE submission_id IN (SELECT id FROM submissions WHERE source_id = ?)",
            (gone.id,),
        )
        con.execute("DELETE FROM submissions WHERE source_id = ?", (gone.id,))
        con.execute("DELETE FROM sources WHERE id = ?", (gone.id,))
    con.close()
    result = assert_ok(intake.import_replies(tmp_path / "outbox.tar"))
    assert "1 reply(ies) stored" in result.stdout
    assert intake.query("SELECT source_id FROM replies") == [(staying.id,)]
    assert set(intake.store_files()) == set(intake.reply_files())  # no orphan file for the dropped reply
    assert list(intake.store.glob("*.part")) == []


def test_the_station_refuses_a_reply_it_cannot_send(tmp_path: Path, station: Station, intake: Intake) -> None:
    source = intake.new_source()
    intake.submit_as(source, "hello")
    deliver(station, intake, tmp_path / "tamga.tar")
    item = station.item_of(source.id)
    before = station.snapshot()
    assert_refused(station.run("reply", str(item), "--message", "  \n\t "), "empty")
    assert_refused(station.run("reply", str(item), "--message", "x" * 20_001), "longer than 20000")
    assert_refused(station.run("reply", "999", "--message", "to nobody"))
    assert station.snapshot() == before
    assert "shell history" in " ".join(station.ok("reply", "--help").stdout.split())
    # The longest reply that is allowed goes through, and the source can read all of it.
    station.reply(item, "y" * 20_000)
    station.export_outbox(tmp_path / "outbox.tar")
    assert_ok(intake.import_replies(tmp_path / "outbox.tar"))
    # Markup in a reply is shown as text.
    station.reply(item, '<script>alert("x")</script><b>bold</b>')
    station.export_outbox(tmp_path / "outbox-2.tar")
    assert_ok(intake.import_replies(tmp_path / "outbox-2.tar"))
    _, page = intake.log_in(source.codename)
    assert sorted(reply_texts(page)) == sorted(
        ["y" * 20_000, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;b&gt;bold&lt;/b&gt;"]
    )
    assert "<script>" not in page and "<b>bold" not in page


def test_reply_from_stdin_works_under_the_suites_warning_policy(
    tmp_path: Path, station: Station, intake: Intake
) -> None:
    """`echo TEXT | tamga-review reply ID` with every warning an error (click.get_text_stream, which
    review/cli.py once used here, is deprecated since Click 8.5 and goes in 9.0)."""
    source = intake.new_source()
    intake.submit_as(source, "hello")
    deliver(station, intake, tmp_path / "tamga.tar")
    result = station.run("reply", str(station.item_of(source.id)), stdin="Which polling station?\n")
    assert result.exit_code == 0, repr(result.exception)
    station.export_outbox(tmp_path / "outbox.tar")
    assert_ok(intake.import_replies(tmp_path / "outbox.tar"))
    _, page = intake.log_in(source.codename)
    assert reply_texts(page) == ["Which polling station?"]
