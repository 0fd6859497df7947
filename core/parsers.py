"""Request body parsers for the API."""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class JSONDepthSafeParser(JSONParser):
    """DRF's JSON parser, answering 400 for JSON nested deeper than Python's decoder can go
    (a thousand `[`), which would otherwise escape as a RecursionError and a 500."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deep.") from None
