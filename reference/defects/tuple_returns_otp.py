"""ENV-7, AUTH-6: a refused one-time code is reported as a 200 with success false (the "(ok, error) tuple" style)."""

from starlette.responses import JSONResponse

from reference.credentials import OTPOutcomes


class TupleOTPOutcomes(OTPOutcomes):
    def rejected(self, error):
        return JSONResponse({"success": False, "error": error.message}, status_code=200)


def apply(components) -> None:
    components.otp_outcomes = TupleOTPOutcomes()
