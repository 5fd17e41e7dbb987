"""S3's outage errors (media storage through botocore), registered with the
failure policy (services/shared/resilience/failures.py): an endpoint that
cannot be reached is down, a read timeout too slow, and an answer that asks us
to slow down or says the service is unavailable is down too."""

from __future__ import annotations

import botocore.exceptions as boto

from services.shared import errors
from services.shared.resilience import failures

_UNAVAILABLE_CODES = {"SlowDown", "ServiceUnavailable", "503", "RequestTimeout"}


def _answered(exc: BaseException) -> errors.DomainError | None:
    assert isinstance(exc, boto.ClientError)
    if exc.response.get("Error", {}).get("Code") in _UNAVAILABLE_CODES:
        return errors.Unavailable("media storage is unavailable; try again shortly")
    return None


failures.register(
    "media storage", modules=("botocore",),
    unavailable=(boto.ConnectTimeoutError, boto.EndpointConnectionError,
                 boto.ConnectionClosedError),
    timeout=(boto.ReadTimeoutError,),
    answers={boto.ClientError: _answered})
