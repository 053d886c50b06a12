"""RID-2: the incoming request id's length is checked against 1000 characters, not 128.

Ids of the right characters up to 1000 long are echoed into the response (and the
logs); a 1024-character id, what a probe far past the limit sends, is still
replaced, so only a probe at the limit and just past it sees the defect.
"""

import re

from reference.middleware.request_id import RequestIdMiddleware

LOOSE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{7,999}$")


class LongRequestIdEchoed(RequestIdMiddleware):
    def well_formed(self, incoming: str) -> bool:
        return LOOSE.match(incoming) is not None


def apply(components) -> None:
    components.request_id = LongRequestIdEchoed
