"""The submission state machine: the one table of allowed transitions.

Nothing outside this module assigns ``Submission.state``; services call ``apply`` with an
action name, and an action from the wrong state is refused with code
``invalid_transition`` before anything is written.

```
draft --submit--> submitted --claim--> in_review --release--> submitted
submitted|in_review --request_changes--> changes_requested --submit--> submitted
submitted|in_review --approve--> approved
```

An iteration gets one verdict; a mentor may then *revise* it explicitly ("Revise my
verdict", ``review_create(revise=True)``; a plain second verdict is refused there with
``conflict``). The revision arrives when the first verdict has already moved the state, so
these rows exist: ``approved -> changes_requested`` and ``changes_requested -> approved``.
These rows are separate actions so that they are visible here and callable only by
``review_create`` (which guarantees the review is on the iteration the verdict was about:
any new iteration moves the submission back to ``submitted``). A comment changes nothing.
"""

from dataclasses import dataclass

from core.exceptions import ApplicationError

from .models import Submission

S = Submission.State


@dataclass(frozen=True)
class Transition:
    sources: frozenset[str]
    target: str
    refusal: str  # said to the person when the action is refused


TRANSITIONS: dict[str, Transition] = {
    "submit": Transition(
        frozenset({S.DRAFT, S.CHANGES_REQUESTED}),
        S.SUBMITTED,
        "you can submit again after changes are requested.",  # after the state (below)
    ),
    "claim": Transition(
        frozenset({S.SUBMITTED}),
        S.IN_REVIEW,
        "Only submitted work waiting for review can be claimed.",
    ),
    "release": Transition(
        frozenset({S.IN_REVIEW}),
        S.SUBMITTED,
        "Only work that is in review can be released.",
    ),
    "request_changes": Transition(
        frozenset({S.SUBMITTED, S.IN_REVIEW}),
        S.CHANGES_REQUESTED,
        "Changes can only be requested on submitted work.",
    ),
    "approve": Transition(
        frozenset({S.SUBMITTED, S.IN_REVIEW}),
        S.APPROVED,
        "Only submitted work can be approved.",
    ),
    # A later verdict on the same iteration (concurrent reviewers): the last one wins.
    "revise_to_changes_requested": Transition(
        frozenset({S.APPROVED}),
        S.CHANGES_REQUESTED,
        "Changes can only be requested on submitted work.",
    ),
    "revise_to_approved": Transition(
        frozenset({S.CHANGES_REQUESTED}),
        S.APPROVED,
        "Only submitted work can be approved.",
    ),
}

OPEN_STATES = frozenset({S.SUBMITTED, S.IN_REVIEW})
EDITABLE_STATES = frozenset({S.DRAFT, S.CHANGES_REQUESTED})


def target_of(state: str, action: str) -> str:
    """The state ``action`` leads to from ``state``; refuses an action from the wrong state."""
    transition = TRANSITIONS.get(action)
    if transition is None:
        raise ApplicationError(f"Unknown action {action!r}.", code="invalid_transition")
    if state not in transition.sources:
        raise ApplicationError(
            refusal_naming_state(state, transition.refusal)
            if action == "submit"
            else transition.refusal,
            code="invalid_transition",
            extra={"state": str(state), "action": action},
        )
    return transition.target


STATE_PHRASES = {
    S.SUBMITTED: "is submitted and waiting for review",
    S.IN_REVIEW: "is in review",
    S.APPROVED: "is approved",
}


def refusal_naming_state(state: str, then: str) -> str:
    """A refusal that says which state the work is in (clients such as CI jobs show it)."""
    phrase = STATE_PHRASES.get(state, f"is {Submission.State(state).label.lower()}")
    return f"This work {phrase}; {then}"


def apply(submission: Submission, action: str) -> str:
    """Move ``submission`` (in memory) along ``action``; the caller saves it. Returns the new state."""
    submission.state = target_of(submission.state, action)
    return submission.state


def verdict_action(state: str, verdict: str) -> str | None:
    """The action a review verdict takes from ``state`` (None: a comment, no change)."""
    if verdict == "approve":
        if state == S.APPROVED:
            return None  # a second approval of the same iteration: kept, nothing to move
        return "revise_to_approved" if state == S.CHANGES_REQUESTED else "approve"
    if verdict == "request_changes":
        if state == S.CHANGES_REQUESTED:
            return None
        return "revise_to_changes_requested" if state == S.APPROVED else "request_changes"
    return None
