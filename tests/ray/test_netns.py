"""The socket watch of the Ray scenarios: it must see a socket that leaves loopback."""

from __future__ import annotations

from netns import off_loopback


def test_only_sockets_on_loopback_pass():
    on_loopback = [
        ("tcp", "0100007F:1F90", "00000000:0000"),  # 127.0.0.1:8080, listening
        ("tcp", "0100007F:A1B2", "0100007F:1F90"),  # 127.0.0.1 -> 127.0.0.1
        ("tcp6", "00000000000000000000000001000000:1F90", "00000000000000000000000000000000:0000"),  # [::1]
        ("tcp6", "0000000000000000FFFF00000100007F:1F90", "0000000000000000FFFF00000100007F:A1B2"),  # v4-mapped
    ]
    leaving = [
        ("tcp", "0F02000A:A1B2", "0100007F:1F90"),  # bound to 10.0.2.15
        ("tcp", "0100007F:A1B2", "08080808:0035"),  # connected to 8.8.8.8
        ("tcp", "00000000:1F90", "00000000:0000"),  # listening on every interface
        ("udp6", "00000000000000000000000000000000:1F90", "00000000000000000000000000000000:0000"),
    ]
    assert off_loopback(on_loopback) == []
    assert off_loopback(leaving) == leaving
