"""SMPP 3.4: the PDU codec, an asyncio ESME client (`SmppProvider`) and a simulated SMSC.

Written on asyncio streams rather than taken from a library; `pdu.py` says why.
"""

from payamak.providers.smpp.client import SmppProvider, SmppRoute, SmppStats, is_temporary
from payamak.providers.smpp.receipts import Inbound, Receipt, ReceiptStatus, parse_receipt
from payamak.providers.smpp.server import NoReceiver, SimulatedSmsc, SmscConfig, Submission

__all__ = [
    "Inbound",
    "NoReceiver",
    "Receipt",
    "ReceiptStatus",
    "SimulatedSmsc",
    "SmppProvider",
    "SmppRoute",
    "SmppStats",
    "SmscConfig",
    "Submission",
    "is_temporary",
    "parse_receipt",
]
