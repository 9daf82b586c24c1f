"""Native API routes for the compatible APIs: what a caller needs to know to use them."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter
from pydantic import BaseModel, Field

from payamak.api.deps import Caller, Tx
from payamak.api.errors import responses
from payamak.compat import service
from payamak.sending import service as sending

router = APIRouter(prefix="/compat", tags=["compatibility"])


class MessagingServiceOut(BaseModel):
    sid: str = Field(description="MessagingServiceSid: sends from this line.")
    line: str
    kind: str = Field(description="advertising | service: the kind of SMS the line sends.")


class TwilioOut(BaseModel):
    account_sid: str = Field(description="The AccountSid: HTTP Basic user name, with an API key as the password.")
    api_base: str = Field(description="Path the Twilio-compatible resources live under.")
    messaging_services: list[MessagingServiceOut]


class TemplateOut(BaseModel):
    name: str
    text: str = Field(description="With Kavenegar placeholders: %token, %token2, %token3, %token10, %token20.")
    approved_at: dt.datetime


@router.get("/twilio", response_model=TwilioOut, responses=responses(401))
def twilio_credentials(caller: Caller, session: Tx) -> TwilioOut:
    """The AccountSid and MessagingServiceSids for the Twilio-compatible API (see docs/api.md)."""
    return TwilioOut(
        account_sid=service.account_sid(caller.account_id),
        api_base=f"/{service.TWILIO_API_VERSION}/Accounts/{service.account_sid(caller.account_id)}",
        messaging_services=[
            MessagingServiceOut(sid=service.sid("MG", line.id), line=line.number, kind=line.kind)
            for line in sending.lines_of(session, principal=caller)
        ],
    )


@router.get("/templates", response_model=list[TemplateOut], responses=responses(401))
def templates(caller: Caller, session: Tx) -> list[TemplateOut]:
    """The account's approved verify/lookup templates (Kavenegar's verify/lookup.json)."""
    return [
        TemplateOut(name=t.name, text=t.text, approved_at=t.approved_at)
        for t in service.templates_of(session, principal=caller)
    ]
