import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from ecoptigen.errors import BudgetExceededError
from ecoptigen.money.ledger import SpendLedger, active_ledgers, reserve, run_in_context


def test_hold_beyond_budget_is_refused_and_nothing_stays_held():
    outer, inner = SpendLedger(budget=1.0), SpendLedger(budget=0.1)
    with outer.activate(), inner.activate(), pytest.raises(BudgetExceededError, match="budget"):
        reserve(0.5)
    assert outer.reserved == 0 and inner.reserved == 0


def test_concurrent_holds_never_exceed_the_budget():
    ledger = SpendLedger(budget=1.0)
    granted = []
    lock = threading.Lock()

    def worker():
        try:
            hold = ledger.hold(0.03)
        except BudgetExceededError:
            return
        with lock:
            granted.append(hold)

    threads = [threading.Thread(target=worker) for _ in range(200)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(granted) == 33
    for hold in granted:
        hold.settle(0.03, "m", {"prompt_tokens": 1, "completion_tokens": 2})
    assert ledger.paid == pytest.approx(0.99) and ledger.reserved == pytest.approx(0)
    assert ledger.usage["m"].requests == 33


def test_an_estimate_counts_against_the_budget_but_is_not_paid():
    ledger = SpendLedger(budget=1.0)
    ledger.hold(0.6).keep_as_estimate(0.6, "m")
    assert ledger.paid == 0 and ledger.reserved == 0 and ledger.unconfirmed == pytest.approx(0.6)
    with pytest.raises(BudgetExceededError, match=r"0\.600000 unconfirmed"):
        ledger.hold(0.5)


def test_an_estimate_is_capped_at_the_hold_and_revised_in_place():
    ledger = SpendLedger(budget=1.0)
    estimate = ledger.hold(0.3).keep_as_estimate(5.0, "m")
    assert estimate is not None and ledger.unconfirmed == pytest.approx(0.3)
    estimate.revise(0.02)
    assert ledger.unconfirmed == pytest.approx(0.02) and ledger.usage["m"].unconfirmed == pytest.approx(0.02)
    assert ledger.remaining == pytest.approx(0.98)


def test_a_released_hold_leaves_nothing_and_a_hold_ends_only_once():
    ledger = SpendLedger(budget=1.0)
    hold = ledger.hold(0.4)
    hold.release()
    hold.settle(0.4, "m")
    assert hold.keep_as_estimate(0.4) is None
    assert ledger.committed == 0 and ledger.usage["m"].requests == 0


def test_the_listener_hears_every_money_event_with_the_hold_id():
    events = []
    ledger = SpendLedger(budget=1.0, listener=lambda *event: events.append(event), first_id=7)
    ledger.hold(0.1).settle(0.01, "m", choices=2)
    ledger.hold(0.2).release()
    ledger.hold(0.3).keep_as_estimate(0.05, "m").revise(0.04)
    assert events == [
        ("hold", 7, 0.1),
        ("paid", 7, 0.01),
        ("hold", 8, 0.2),
        ("free", 8, 0.0),
        ("hold", 9, 0.3),
        ("estimate", 9, 0.05),
        ("estimate", 9, 0.04),
    ]
    assert ledger.per_completion("m") == pytest.approx(0.005) and ledger.per_completion("other") is None


def test_unpriced_requests_are_counted_not_added():
    ledger = SpendLedger()
    ledger.hold(0).settle(float("nan"), "mystery")
    assert ledger.paid == 0 and ledger.usage["mystery"].unpriced_requests == 1


def test_activation_propagates_to_pool_threads_only_through_run_in_context():
    ledger = SpendLedger()
    with ledger.activate(), ThreadPoolExecutor(1) as pool:
        assert pool.submit(run_in_context(active_ledgers)).result() == (ledger,)
    assert active_ledgers() == ()
