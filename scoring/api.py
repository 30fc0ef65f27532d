"""REST endpoints of the score."""

from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from governance.scoping import scope_for_user
from posture.errors import UserError
from scoring.document import score_document
from scoring.engine import compute_score


class ScoreView(APIView):
    """The score document of formats/score-json.md; `?subscription=` takes a name or an id."""

    def get(self, request: Request) -> Response:
        try:
            scope = scope_for_user(request.query_params.get("subscription"), request.user)
        except UserError as error:
            return Response({"detail": error.message}, status=status.HTTP_404_NOT_FOUND)
        return Response(score_document(compute_score(scope)))
