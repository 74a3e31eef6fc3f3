"""What every test process shares.

The servers tests start on loopback (the emulators, the cloud, the agent's endpoint, little app servers) are
``socketserver`` loops that look for a shutdown request every ``poll_interval`` seconds, 0.5 s unless told
otherwise: every ``shutdown()`` waited for that tick, a quarter of a second on average, and a test that
stops three servers waited most of a second for nothing. In the test process they look every 20 ms; the
product's own defaults do not change.
"""

from __future__ import annotations

import socketserver

from werkzeug import serving

POLL_SECONDS = 0.02

for _serve in (socketserver.BaseServer.serve_forever, serving.BaseWSGIServer.serve_forever):
    _serve.__defaults__ = (POLL_SECONDS,)
