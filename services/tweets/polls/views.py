"""Polls as protos: the definition every viewer sees (in the cached tweet view)
and the poll one viewer sees, with the results when they may see them."""

from __future__ import annotations

from datetime import datetime

from twitter.tweets.v1 import polls_pb2

from services.shared.fields.timestamps import to_timestamp
from services.tweets.polls.rules import PollDefinition, Results


def definition_pb(poll: PollDefinition) -> polls_pb2.Poll:
    """Tweet.poll: labels and end; no results, no viewer."""
    return polls_pb2.Poll(
        options=[polls_pb2.PollOption(position=i, label=label)
                 for i, label in enumerate(poll.options, start=1)],
        ends_at=to_timestamp(poll.ends_at))


def poll_pb(poll: PollDefinition, results: Results, *, visible: bool,
            now: datetime) -> polls_pb2.Poll:
    """The poll as one viewer sees it: counts only when `visible`."""
    shown = definition_pb(poll)
    shown.ended = poll.ended(now)
    shown.viewer_vote = results.viewer_vote
    if visible:
        shown.results_visible = True
        shown.total_votes = results.total
        for option, count in zip(shown.options, results.counts, strict=True):
            option.vote_count = count
    return shown
