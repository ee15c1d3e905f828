"""A WeChat Pay API v3 simulator that the unmodified `wechatpayv3` SDK accepts (see server.py)."""
from devices.sim.wechatpay.credentials import Credentials, load_or_create
from devices.sim.wechatpay.server import NOTIFY_MODES, PLATFORM_MODES, SimWeChatPay

__all__ = ["Credentials", "NOTIFY_MODES", "PLATFORM_MODES", "SimWeChatPay", "load_or_create"]
