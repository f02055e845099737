"""Codenames: seven words from the EFF large list (7776 words), about 90.5 bits, shown once."""

import math
import secrets
from functools import cache

from diceware.wordlist import WordList, get_wordlist_path

WORDS_PER_CODENAME = 7


@cache
def word_list() -> tuple[str, ...]:
    words = tuple(dict.fromkeys(WordList(get_wordlist_path("en_eff"))))
    if len(words) != 7776:
        raise RuntimeError("the EFF word list is not the expected 7776 distinct words")
    return words


def entropy_bits() -> float:
    return WORDS_PER_CODENAME * math.log2(len(word_list()))


def new_codename() -> str:
    """A fresh codename. Warning: secret; never log or store it."""
    words = word_list()
    return " ".join(secrets.choice(words) for _ in range(WORDS_PER_CODENAME))
