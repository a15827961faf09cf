"""Money: the model catalog (:mod:`.catalog`), prices (:mod:`.prices`), token counts (:mod:`.tokens`) and
the spend ledger (:mod:`.ledger`).

Everything that decides what a request may cost or did cost lives here, below the request engine
(:mod:`ecoptigen.client`) and the tuner (:mod:`ecoptigen.tuning`), which both price requests with it.
"""
