import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from ecoptigen.errors import BudgetExceededError
from ecoptigen.spend import SpendLedger, active_ledgers, reserve, run_in_context


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


def test_uncertain_spend_counts_against_the_budget_but_is_not_paid():
    ledger = SpendLedger(budget=1.0)
    ledger.hold(0.6).release(billed_maybe=True)
    assert ledger.paid == 0 and ledger.uncertain == pytest.approx(0.6)
    with pytest.raises(BudgetExceededError):
        ledger.hold(0.5)


def test_unpriced_requests_are_counted_not_added():
    ledger = SpendLedger()
    ledger.hold(0).settle(float("nan"), "mystery")
    assert ledger.paid == 0 and ledger.usage["mystery"].unpriced_requests == 1


def test_activation_propagates_to_pool_threads_only_through_run_in_context():
    ledger = SpendLedger()
    with ledger.activate(), ThreadPoolExecutor(1) as pool:
        assert pool.submit(run_in_context(active_ledgers)).result() == (ledger,)
    assert active_ledgers() == ()
