"""The pacer: how much a cycle claims, and when a claim cannot bring anything."""

from __future__ import annotations

from rota.worker.pacing import Pacer


def short_runs(p: Pacer) -> Pacer:
    p.ran(0.0001)
    p.round_trip(0.01)  # runs far shorter than a round trip: claim ahead up to the maximum
    return p


def test_claims_ahead_for_short_runs() -> None:
    p = short_runs(Pacer(8, 256))
    assert p.claim_limit(0) == 8 + 256
    assert p.claim_limit(0, limited=True) == 8 + 256  # nothing learnt about limits yet


def test_a_limited_claim_that_came_back_short_bounds_the_next_claim_ahead() -> None:
    p = short_runs(Pacer(8, 256))
    p.claimed(asked=264, got=8, held=8, limited=True)  # a queue limit of 8 let 8 through
    assert p.claim_limit(0, limited=True) == 8 + 16
    assert p.claim_limit(0) == 8 + 256  # an unlimited claim is not bounded
    p.claimed(asked=24, got=24, held=24, limited=True)  # filled: the bound is lifted
    assert p.claim_limit(0, limited=True) == 8 + 256


def test_a_bound_never_goes_below_the_free_slots_and_the_concurrency_ahead() -> None:
    p = short_runs(Pacer(8, 256))
    p.claimed(asked=264, got=0, held=8, limited=True)
    assert p.claim_limit(2, limited=True) == 6 + 8


def test_after_a_short_claim_only_a_change_makes_a_claim_worth_it() -> None:
    p = Pacer(8, 0)
    assert p.worth_claiming(held=0, pending=False, poll_due=False)  # nothing known yet
    p.claimed(asked=8, got=3, held=3, limited=False)
    assert not p.worth_claiming(held=3, pending=False, poll_due=False)  # a stray wake-up
    assert p.worth_claiming(held=3, pending=True, poll_due=False)  # an outcome to write
    assert p.worth_claiming(held=2, pending=False, poll_due=False)  # a slot freed
    assert p.worth_claiming(held=3, pending=False, poll_due=True)  # the poll
    p.news()
    assert p.worth_claiming(held=3, pending=False, poll_due=False)  # a notification
    assert not p.worth_claiming(held=3, pending=False, poll_due=False)  # once


def test_after_a_full_claim_the_next_one_is_always_worth_it() -> None:
    p = Pacer(8, 0)
    p.claimed(asked=8, got=8, held=8, limited=False)
    assert p.worth_claiming(held=8, pending=False, poll_due=False)


def test_runs_claimed_ahead_count_against_the_claim_ahead() -> None:
    p = short_runs(Pacer(8, 256))
    assert p.claim_limit(8 + 100) == 156  # 8 in flight and 100 waiting here: 156 more
    assert p.claim_limit(8 + 256) == 0  # a node never holds more than slots and ahead
    assert p.claim_limit(300) == 0
