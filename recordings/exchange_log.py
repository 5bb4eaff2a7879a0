"""The exchange log that keeps every request to Graph in the database, answered or not.

It implements recordings.graph.http.ExchangeLog, the protocol the Graph package logs through:
the package itself never touches the database.
"""

from typing import Any

from django.utils import timezone

from recordings.graph import GraphError
from recordings.models import Call, GraphExchange, RecordOperation, RecordRequest

# GraphExchange.url's length; a longer URL is cut rather than lose the row.
URL_MAX_LENGTH = 2048


class DatabaseExchangeLog:
    """Writes a GraphExchange row before the request goes out and completes it after.

    The row exists before the answer does, so a request that never comes back (the process
    dies, the worker is killed) still shows as sent and unfinished.
    """

    def __init__(
        self,
        call: Call | None = None,
        record_request: RecordRequest | None = None,
        operation: RecordOperation | None = None,
    ) -> None:
        self.call = call
        self.record_request = record_request
        self.operation = operation
        self.exchange: GraphExchange | None = None

    def started(
        self, action: str, method: str, url: str, body: Any, client_request_id: str
    ) -> None:
        self.exchange = GraphExchange.objects.create(
            call=self.call,
            record_request=self.record_request,
            operation=self.operation,
            action=action,
            method=method,
            url=url[:URL_MAX_LENGTH],
            request_body=body,
            client_request_id=client_request_id,
        )

    def finished(
        self,
        status: int | None,
        body_text: str,
        request_id: str,
        attempts: int,
        error: GraphError | None,
    ) -> None:
        exchange = self.exchange
        if exchange is None:
            raise RuntimeError("DatabaseExchangeLog.finished() before started().")
        exchange.finished_at = timezone.now()
        exchange.response_status = status
        exchange.response_body = body_text
        exchange.graph_request_id = request_id or ""
        exchange.attempts = attempts
        exchange.error = f"{type(error).__name__}: {error}" if error is not None else ""
        exchange.save(
            update_fields=[
                "finished_at",
                "response_status",
                "response_body",
                "graph_request_id",
                "attempts",
                "error",
            ]
        )
