"""Time one fair-share computation (what the controller does every PriorityCalcPeriod, and
again whenever sacctmgr changes the tree) over a large association tree.

    .venv/bin/python bench/fairshare_tree.py [--accounts 200] [--users-per-account 50]

The tree: root -> departments (10) -> accounts -> users, random shares and usage (seeded).
"""
from __future__ import annotations

import argparse
import random
import time

from solver.fairshare import ShareNode, classic, fair_tree


def build(accounts: int, users_per_account: int, seed: int = 1) -> list[ShareNode]:
    rng = random.Random(seed)
    nodes = [ShareNode(1, "root")]
    key = 2
    departments = []
    for d in range(10):
        nodes.append(ShareNode(key, f"dept{d}", parent=1, shares=rng.randint(1, 100)))
        departments.append(key)
        key += 1
    for a in range(accounts):
        account_key = key
        nodes.append(ShareNode(account_key, f"acct{a}", parent=rng.choice(departments),
                               shares=rng.choice([None, *range(1, 50)])))
        key += 1
        for u in range(users_per_account):
            nodes.append(ShareNode(key, f"acct{a}", f"user{a}_{u}", parent=account_key,
                                   shares=rng.randint(0, 10),
                                   usage_raw=rng.choice([0.0, rng.uniform(0, 1e7)])))
            key += 1
    return nodes


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--users-per-account", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    nodes = build(args.accounts, args.users_per_account)
    users = sum(1 for n in nodes if n.user)
    for name, algorithm in (("fair_tree", fair_tree), ("classic", classic)):
        best = float("inf")
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            algorithm(nodes)
            best = min(best, time.perf_counter() - t0)
        print(f"{name}: {len(nodes)} associations ({users} users): best of {args.repeat} "
              f"{best * 1000:.1f} ms")


if __name__ == "__main__":
    main()
