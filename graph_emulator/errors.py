"""Graph's error shape: `{"error": {"code", "message", "innerError": {...}}}`."""

from datetime import UTC, datetime

from django.http import JsonResponse

CALL_NOT_FOUND = ("8522", "Call not found")


class GraphProblem(Exception):
    """An answer other than success, raised anywhere below a Graph view."""

    def __init__(
        self, status: int, code: str, message: str, *, headers: dict[str, str] | None = None
    ):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def call_not_found() -> GraphProblem:
    return GraphProblem(404, *CALL_NOT_FOUND)


def bad_request(message: str) -> GraphProblem:
    return GraphProblem(400, "BadRequest", message)


def error_response(
    problem: GraphProblem, *, request_id: str, client_request_id: str
) -> JsonResponse:
    body = {
        "error": {
            "code": problem.code,
            "message": problem.message,
            "innerError": {
                "request-id": request_id,
                "client-request-id": client_request_id,
                "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
            },
        }
    }
    response = JsonResponse(body, status=problem.status)
    for name, value in problem.headers.items():
        response[name] = value
    return response
