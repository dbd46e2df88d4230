"""A reference wallet payment provider, in process: what the wallet tender is tested against.

Customer payment codes (18 digits) decide the outcome by their ending, like a sandbox:
...0000 declined (insufficient balance), ...9999 pending until queried three times, any
other code paid. Merchant-presented orders stay pending until `scan()` (the shopper's
phone paid the QR). Orders are idempotent by order number; refunds cannot exceed what
was paid.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass

from appliance.core.wallet import WalletResult


@dataclass
class Order:
    amount: int
    status: str
    ref: str
    refunded: int = 0
    queries_left: int = 0


class WalletSimulator:
    def __init__(self) -> None:
        self.orders: dict[str, Order] = {}
        self.calls: list[tuple[str, str]] = []
        self._refs = itertools.count(1)
        self._lock = threading.Lock()

    def _ref(self) -> str:
        return f"W{next(self._refs):010d}"

    def pay(self, order_no: str, amount: int, customer_code: str) -> WalletResult:
        with self._lock:
            self.calls.append(("pay", order_no))
            if order_no in self.orders:  # the same order again: answer as before, charge once
                return self._result(order_no)
            status = "declined" if customer_code.endswith("0000") else "paid"
            order = Order(amount, status, self._ref())
            if customer_code.endswith("9999"):
                order.status, order.queries_left = "pending", 3
            self.orders[order_no] = order
            return self._result(order_no)

    def create(self, order_no: str, amount: int) -> str:
        with self._lock:
            self.calls.append(("create", order_no))
            self.orders.setdefault(order_no, Order(amount, "pending", self._ref(), queries_left=-1))
            return f"https://wallet.example/pay?order={order_no}&amount={amount}"

    def scan(self, order_no: str) -> None:
        """The shopper's phone pays the merchant-presented QR."""
        with self._lock:
            self.orders[order_no].status = "paid"

    def query(self, order_no: str) -> WalletResult:
        with self._lock:
            self.calls.append(("query", order_no))
            order = self.orders.get(order_no)
            if order is None:
                return WalletResult("unknown")
            if order.status == "pending" and order.queries_left > 0:
                order.queries_left -= 1
                if order.queries_left == 0:
                    order.status = "paid"
            return self._result(order_no)

    def cancel(self, order_no: str) -> WalletResult:
        with self._lock:
            self.calls.append(("cancel", order_no))
            order = self.orders.get(order_no)
            if order is None:
                return WalletResult("unknown")
            if order.status == "pending":
                order.status = "cancelled"
            return self._result(order_no)

    def refund(self, order_no: str, refund_no: str, amount: int) -> WalletResult:
        with self._lock:
            self.calls.append(("refund", order_no))
            order = self.orders.get(order_no)
            if order is None or order.status != "paid":
                return WalletResult("declined", message="no paid order to refund")
            if order.refunded + amount > order.amount:
                return WalletResult("declined", message="more than was paid")
            order.refunded += amount
            return WalletResult("refunded", provider_ref=self._ref())

    def _result(self, order_no: str) -> WalletResult:
        order = self.orders[order_no]
        message = {"declined": "insufficient balance", "cancelled": "cancelled"}.get(order.status, "")
        return WalletResult(order.status, order.ref, message)
