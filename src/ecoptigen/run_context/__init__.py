"""What belongs to one run (a ``tune`` or a ``test``): its verdict cache, who hears its waits, where its
requests are forwarded. Below the request engine and the tuner; imports nothing else of ecoptigen.
"""
