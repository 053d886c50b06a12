"""HDR-3: every origin gets `Access-Control-Allow-Origin: *` together with credentials."""

from reference.middleware.cors import CORSMiddleware


class WildcardCORS(CORSMiddleware):
    def allow_origin_headers(self, origin: str) -> dict[str, str]:
        return {"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Credentials": "true"}


def apply(components) -> None:
    components.cors = WildcardCORS
