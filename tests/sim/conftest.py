"""Every ``openai`` client a sim test opens is closed by the end of that test.

An unclosed client leaves its connection pool's sockets to the garbage collector, whose
``ResourceWarning: unclosed socket`` turns, under ``filterwarnings = error``, into a failure of
whichever test happens to be running then.
"""

import weakref

import openai
import pytest


@pytest.fixture(autouse=True)
def clients_are_closed(monkeypatch):
    opened: weakref.WeakSet[openai.OpenAI] = weakref.WeakSet()
    original = openai.OpenAI.__init__

    def recording_init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        opened.add(self)

    monkeypatch.setattr(openai.OpenAI, "__init__", recording_init)
    yield
    left_open = [client for client in opened if not client.is_closed()]
    for client in left_open:
        client.close()
    assert not left_open, f"{len(left_open)} openai client(s) not closed; use `with openai.OpenAI(...) as client:`"
