"""Hand-written models for the example registry, standing in for generated ones until ``generated/`` exists."""

from __future__ import annotations

import datetime
import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict


class Money(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: str
    currency: str


class LineItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: str
    name: str | None = None
    quantity: int
    unit_price: Money


class Address(BaseModel):
    model_config = ConfigDict(extra="forbid")
    line1: str
    line2: str | None = None
    city: str
    region: str | None = None
    postal_code: str
    country: str


class OrderPlacedV1(BaseModel):
    model_config = ConfigDict(extra="forbid")  # as datamodel-code-generator writes additionalProperties: false
    order_id: uuid.UUID
    order_number: str
    customer_id: str
    placed_at: datetime.datetime
    sales_channel: Literal["web", "ios", "android"]
    line_items: list[LineItem]
    total: Money
    shipping_address: Address
    coupon_code: str | None
    loyalty_points_earned: int


class OrderPlacedV2(BaseModel):
    model_config = ConfigDict(extra="forbid")
    order_id: uuid.UUID
    order_number: str
    customer_id: str
    placed_at: datetime.datetime
    sales_channel: Literal["web", "ios", "android", "pos"]
    line_items: list[LineItem]
    total: Money
    shipping_address: Address
    coupon_code: str | None
    gift_message: str | None = None
    loyalty_points_earned: int


MODELS = {("order.placed", 1): OrderPlacedV1, ("order.placed", 2): OrderPlacedV2}
