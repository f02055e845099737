"""The station's errors: each becomes one line and exit code 1 at the CLI."""


class ReviewError(Exception):
    """Base of every refusal on the station; the message is safe to print."""


class StationError(ReviewError):
    """The station directory is missing, incomplete, or would be overwritten."""


class ImportRefused(ReviewError):
    """A bundle-level fault: the whole bundle is refused and nothing of it is imported."""


class NoServerPinned(ImportRefused):
    """No intake server key is pinned yet, so no bundle can be checked (the station UI links to pinning)."""


class ItemNotFound(ReviewError):
    def __init__(self, item_id: int) -> None:
        super().__init__(f"no item {item_id} in the catalogue")


class CustodyBroken(ReviewError):
    """The custody log fails verification; the message names the first bad event."""


class EvidenceMismatch(ReviewError):
    """A vault file or its plaintext is not what the custody log recorded: nothing is shown or written."""


class PreviewUnavailable(ReviewError):
    """An item cannot be shown in the station: not a viewable kind, or the sandbox refused it."""


class RangeNotSatisfiable(PreviewUnavailable):
    """A byte range outside an item's content (HTTP 416)."""
