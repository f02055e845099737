"""Search over the sources' messages: decrypted once per unlock into memory, matched there.

Warning: the desk's cache holds plaintext; it is dropped on Lock and on the idle timeout, and
nothing of it is written to disk or to the catalogue. Decrypting for the search shows nothing, so
it writes no custody event; showing a message on its page does (`opened`).
"""

from review import items
from review.web import context
from review.web.inbox_query import matching, messages_to_search


def message_hits(needle: str) -> list[int]:
    desk = context.desk()
    texts = desk.messages
    if not texts:
        keys, db = context.keys(), context.db()
        for item in messages_to_search(db):
            texts[item.id] = items.message_text(context.station(), db, keys, item)
    return matching(texts, needle)
