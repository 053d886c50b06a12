"""HDR-3: the origin is compared by prefix, so any origin that starts with an allowed one gets the grant.

`http://localhost:3000.evil.test` and `http://localhost:30001` pass as
`http://localhost:3000`; a foreign origin such as `https://evil.example` is still
refused, so the probes that send only the allowed and one foreign origin pass.
"""

from reference.middleware.cors import CORSMiddleware


class PrefixMatchCORS(CORSMiddleware):
    def allow_origin_headers(self, origin: str) -> dict[str, str]:
        if not any(origin.startswith(allowed) for allowed in self.allowed_origins):
            return {}
        return {"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Credentials": "true"}


def apply(components) -> None:
    components.cors = PrefixMatchCORS
