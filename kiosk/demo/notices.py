"""Demo notices in three languages: pinned, current, expired, future and tier-only ones."""
from __future__ import annotations

from datetime import datetime, timedelta

# (category, audience tier, publish offset days, expiry offset days, pinned, titles, bodies)
DEMO_NOTICES: list[tuple[str, str | None, int, int, bool, tuple[str, str, str], tuple[str, str, str]]] = [
    ("maintenance", None, -2, 5, True,
     ("12月2日 2栋停水通知", "12月2日 2棟停水通知", "Water off in Building 2 on 2 Dec"),
     ("因管道检修，12月2日 9:00-15:00 2栋停水，请提前储水。", "因管道檢修，12月2日 9:00-15:00 2棟停水，請提前儲水。",
      "Pipe repairs: no water in Building 2 on 2 Dec, 09:00-15:00. Please store water in advance.")),
    ("fees", None, -10, 30, True,
     ("11月物业费已出账", "11月物業費已出賬", "November fees are ready"),
     ("11月物业管理费、水电燃气费已出账，可在本机刷卡缴纳。", "11月物業管理費、水電燃氣費已出賬，可在本機刷卡繳納。",
      "November management, water, power and gas bills are out. Tap your card here to pay.")),
    ("safety", None, -1, 14, False,
     ("冬季用电用气安全提示", "冬季用電用氣安全提示", "Winter safety: power and gas"),
     ("请勿私拉电线，外出前关闭燃气阀门。", "請勿私拉電線，外出前關閉燃氣閥門。",
      "Do not run extension cables; close the gas valve before you go out.")),
    ("event", None, -3, 10, False,
     ("周六上午义诊活动", "週六上午義診活動", "Free health check on Saturday morning"),
     ("本周六 9:00-11:30 中心广场，社区医院提供义诊。", "本週六 9:00-11:30 中心廣場，社區醫院提供義診。",
      "This Saturday 09:00-11:30 in the central square, by the community hospital.")),
    ("general", None, -5, 20, False,
     ("地下车库B区开放租用", "地下車庫B區開放租用", "Basement car park zone B open for rent"),
     ("B区空余车位可在本机申请租用或购买。", "B區空餘車位可在本機申請租用或購買。",
      "Free spaces in zone B can be rented or bought from this kiosk.")),
    ("member", "gold", -1, 15, False,
     ("金卡会员专享：家政服务八折", "金卡會員專享：家政服務八折", "Gold members: 20% off home cleaning"),
     ("12月内预约家政服务享八折优惠。", "12月內預約家政服務享八折優惠。", "Book home cleaning in December for 20% off.")),
    ("member", "silver", -1, 15, False,
     ("银卡会员：免费洗车一次", "銀卡會員：免費洗車一次", "Silver members: one free car wash"),
     ("凭会员卡到车库服务点领取。", "憑會員卡到車庫服務點領取。", "Show your member card at the car park service point.")),
    ("maintenance", None, -40, -20, False,
     ("电梯年检（已结束）", "電梯年檢（已結束）", "Lift inspection (finished)"),
     ("各栋电梯年检已完成。", "各棟電梯年檢已完成。", "The yearly lift inspection is complete.")),
    ("event", None, 3, 20, False,
     ("元旦联欢会报名", "元旦聯歡會報名", "New Year party sign-up"),
     ("元旦联欢会报名下周开始。", "元旦聯歡會報名下週開始。", "Sign-up for the New Year party opens next week.")),
    ("member", "institutional", -2, 30, False,
     ("机构会员：年度对账单已出", "機構會員：年度對賬單已出", "Institutional members: yearly statement ready"),
     ("请联系客服领取年度对账单。", "請聯繫客服領取年度對賬單。", "Ask the service desk for your yearly statement.")),
]


def window(now: datetime, publish_days: int, expire_days: int) -> tuple[datetime, datetime]:
    return now + timedelta(days=publish_days), now + timedelta(days=expire_days)
