"""The Python seed design's capture path, as a reference for `cargo xtask bench`.

The project grew from a Python tool (see ../shared/seeds/) that captured a
call by pickling its arguments into a file of its own per call. This script
does exactly that for the benchmark's workload (an order with 8 line items,
a discount and a password), on the calling thread, and prints the median
time per captured call:

    python3 seed_reference.py <folder> <calls>
    MEDIAN_US 97.3 (...)

Standard library only.
"""

import os
import pickle
import statistics
import sys
import time
import uuid
from dataclasses import dataclass, field


@dataclass
class LineItem:
    sku: str
    quantity: int
    unit_cents: int


@dataclass
class Order:
    id: int
    customer: str
    items: list = field(default_factory=list)


def order(n):
    return Order(
        id=n,
        customer=f"customer-{n % 97}",
        items=[LineItem(f"SKU-{n % 13}-{i}", 1 + i, 100 * (i + 1) + n % 7) for i in range(8)],
    )


def price(o, discount, password):
    subtotal = sum(i.quantity * i.unit_cents for i in o.items)
    return o.id, int(subtotal * (1 - discount))


def captured_price(folder, o, discount, password):
    """The seed design's decorator body: record the call, then run it."""
    call = {
        "function": "bench.price",
        "args": (o, discount),
        "kwargs": {"password": "<redacted>"},
        "timestamp": time.time(),
    }
    path = os.path.join(folder, f"{time.time_ns()}_{uuid.uuid4().hex}.pkl")
    with open(path, "wb") as f:
        pickle.dump(call, f)
    return price(o, discount, password)


def main():
    folder, calls = sys.argv[1], int(sys.argv[2])
    os.makedirs(folder, exist_ok=True)
    orders = [order(n) for n in range(calls)]
    times = []
    for o in orders:
        t = time.thread_time_ns()
        captured_price(folder, o, 0.1, "hunter2")
        times.append(time.thread_time_ns() - t)
    print(
        f"MEDIAN_US {statistics.median(times) / 1000:.1f} "
        f"({calls} calls, one pickle file each, caller-thread CPU time; Python {sys.version.split()[0]})"
    )


if __name__ == "__main__":
    main()
