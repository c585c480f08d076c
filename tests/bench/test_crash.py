"""The crash bench's count of what the provider received: a reply the provider got twice is a duplicate even
when the database holds one message for it, and it is unflagged unless that message is marked possibly sent
twice."""

from bench.crash import Figures, count_deliveries

REPLIES = {"key-0": "reply 0", "key-1": "reply 1", "key-2": "reply 2"}


def counted(received: list[str], flagged: set[str]) -> Figures:
    figures = Figures(scenario="SIGKILL", sent=0, concurrency=1)
    count_deliveries(figures, received, REPLIES, flagged)
    return figures


def test_a_reply_the_provider_got_twice_is_a_duplicate_flagged_or_not():
    figures = counted(["reply 0", "reply 1", "reply 1", "reply 2", "the customer's own text"], flagged={"key-1"})

    assert (figures.provider_received, figures.provider_duplicates) == (4, 1)
    assert (figures.replies_flagged, figures.duplicates_unflagged, figures.replies_not_received) == (1, 0, 0)


def test_a_duplicate_of_an_unmarked_message_and_a_reply_never_received_are_counted():
    figures = counted(["reply 0", "reply 0", "reply 0", "reply 1"], flagged={"key-1"})

    assert (figures.provider_received, figures.provider_duplicates) == (4, 2)
    assert (figures.duplicates_unflagged, figures.replies_not_received, figures.replies_flagged) == (2, 1, 1)


def test_a_flagged_reply_the_provider_got_once_is_no_duplicate():
    figures = counted(["reply 0", "reply 1", "reply 2"], flagged={"key-2"})

    assert (figures.provider_received, figures.provider_duplicates, figures.duplicates_unflagged) == (3, 0, 0)
    assert figures.replies_flagged == 1
