"""moto's server, with DynamoDB requests serialised.

moto runs each request on its own thread. Its TransactWriteItems snapshots the whole table,
applies the writes one by one and, when a condition fails, restores the snapshot: two concurrent
transactions can therefore see each other's partial writes, and a rollback can resurrect or erase
another request's writes (measured: 50 concurrent conditional activations left 17 heads written
where the counter allowed 10). DynamoDB itself runs transactions serialisably, so the local stack
serialises DynamoDB requests (one lock, held for the whole request) and leaves every other service
concurrent (SQS long polls must not block the emulator).

Usage: python emulator.py HOST PORT
"""

from __future__ import annotations

import signal
import sys
import threading
from typing import Any, Callable, Iterable

from werkzeug.serving import run_simple

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)

_dynamodb_lock = threading.Lock()


class SerialisedDynamoDB:
    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if not target.startswith("DynamoDB"):
            return self.app(environ, start_response)
        with _dynamodb_lock:
            # Drain the body inside the lock: the work happens while it is produced.
            return list(self.app(environ, start_response))


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(
        host,
        port,
        SerialisedDynamoDB(app),
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
