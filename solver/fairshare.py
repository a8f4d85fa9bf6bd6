"""Fair-share over the association tree: Fair Tree (Slurm's default) and classic.

Input is the flat list of associations with their raw shares and the decayed usage of each
user association; output is one `ShareRow` per association with the values `sshare` shows and,
for users, the fair-share factor the priority formula uses.

Shared rules (both algorithms):
- An account's raw usage is the sum of its children's (jobs only charge user associations; the
  controller adds every job's usage to its user association, and the tree sums it upward).
- `Fairshare=parent` (shares None) makes an association invisible at its level: its children
  compete as if they were children of its parent, and it reports its parent's values.

Fair Tree (`fair_tree.shtml`): per sibling set S = shares / Σ sibling shares, U = usage / parent
usage (0 when the parent has none), LevelFS = S/U (inf when U = 0, 0 when S = 0). Siblings are
ranked by LevelFS, users before accounts on a tie, walked depth first; with `rank` starting at
the number of user associations, each user met gets rank/users and the rank drops (tied users
share a rank, tied accounts are merged into one level, a user tied with an account shares the
rank of that account's best user).

Classic (`PriorityFlags=NO_FAIR_TREE`, `classic_fair_share.shtml`): S is the product of level
shares down from the root, U_norm = usage / root usage, effective usage
UE = U_norm + (UE_parent - U_norm) * shares / Σ sibling shares (a child of the root has UE =
U_norm), factor F = 2^(-(UE/S)/dampening), 0 when S = 0.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

ROOT_ACCOUNT = "root"


@dataclass(frozen=True, slots=True)
class ShareNode:
    """One association as fair-share sees it."""

    key: int                     # association id
    account: str
    user: str = ""               # '' for an account association
    parent: int | None = None    # key of the parent account association; None for the root
    shares: int | None = 1       # raw Fairshare; None means Fairshare=parent
    usage_raw: float = 0.0       # decayed usage charged to this association itself


@dataclass(frozen=True, slots=True)
class ShareRow:
    """What `sshare` prints for one association (None = blank cell)."""

    key: int
    account: str
    user: str
    depth: int                    # 0 for the root
    raw_shares: int | None        # None = 'parent' (or the root)
    norm_shares: float
    raw_usage: float
    norm_usage: float | None
    effective_usage: float
    fairshare: float | None       # users only
    level_fs: float | None        # Fair Tree only; None for the root and 'parent' associations
    is_parent_share: bool = False


@dataclass(frozen=True, slots=True)
class FairShareResult:
    rows: tuple[ShareRow, ...]                 # sshare order: depth first, users before accounts
    factor_by_user_account: dict[tuple[str, str], float]

    def factor(self, user: str, account: str) -> float:
        return self.factor_by_user_account.get((user, account), 0.0)


class _Tree:
    """Parent/children links, subtree usage and display order of a set of associations."""

    def __init__(self, nodes: tuple[ShareNode, ...] | list[ShareNode]):
        self.by_key = {n.key: n for n in nodes}
        roots = [n for n in nodes if n.parent is None or n.parent not in self.by_key]
        if not roots:
            raise ValueError("association tree has no root")
        # Associations whose parent is missing hang under the first root: a half-deleted
        # account must not drop its users out of the ranking.
        self.root = next((n for n in roots if n.account == ROOT_ACCOUNT and not n.user), roots[0])
        self.children: dict[int, list[ShareNode]] = {n.key: [] for n in nodes}
        for n in nodes:
            if n.key == self.root.key:
                continue
            parent = n.parent if n.parent in self.by_key else self.root.key
            self.children[parent].append(n)
        for kids in self.children.values():
            kids.sort(key=lambda n: (bool(not n.user), n.account if not n.user else n.user,
                                     n.account, n.key))
        self.usage: dict[int, float] = {}
        self._sum_usage(self.root)

    def _sum_usage(self, node: ShareNode) -> float:
        kids = self.children[node.key]
        total = sum(self._sum_usage(k) for k in kids) if kids else node.usage_raw
        self.usage[node.key] = total
        return total

    def preorder(self) -> list[tuple[ShareNode, int]]:
        out: list[tuple[ShareNode, int]] = []
        stack = [(self.root, 0)]
        while stack:
            node, depth = stack.pop()
            out.append((node, depth))
            stack.extend((k, depth + 1) for k in reversed(self.children[node.key]))
        return out

    def level(self, node: ShareNode) -> list[ShareNode]:
        """The competing children of `node`: 'parent'-share children replaced by theirs."""
        out: list[ShareNode] = []
        for kid in self.children[node.key]:
            if kid.shares is None and not kid.user:
                out.extend(self.level(kid))
            else:
                out.append(kid)
        return out

    def fs_parent(self, node: ShareNode) -> ShareNode:
        """The association `node` competes under (skipping 'parent'-share accounts)."""
        parent = self.by_key.get(node.parent) if node.parent is not None else None
        while parent is not None and parent.shares is None and not parent.user \
                and parent.key != self.root.key:
            parent = self.by_key.get(parent.parent) if parent.parent is not None else None
        return parent or self.root

    def user_count(self) -> int:
        return sum(1 for n in self.by_key.values() if n.user)


def _shares(node: ShareNode) -> int:
    return node.shares if node.shares is not None else 0


def _level_shares(tree: _Tree) -> dict[int, float]:
    """S of every association within its (flattened) sibling set."""
    out: dict[int, float] = {}
    for parent in tree.by_key.values():
        if parent.shares is None and not parent.user and parent.key != tree.root.key:
            continue  # its children are counted at its parent's level
        siblings = tree.level(parent)
        total = sum(_shares(s) for s in siblings)
        for s in siblings:
            out[s.key] = _shares(s) / total if total else 0.0
    return out


def fair_tree(nodes: tuple[ShareNode, ...] | list[ShareNode]) -> FairShareResult:
    tree = _Tree(nodes)
    level_shares = _level_shares(tree)
    root_usage = tree.usage[tree.root.key]
    level_fs: dict[int, float] = {}
    eff_usage: dict[int, float] = {}

    def compute_level(node: ShareNode) -> None:
        parent_usage = tree.usage[tree.fs_parent(node).key]
        u = tree.usage[node.key] / parent_usage if parent_usage else 0.0
        eff_usage[node.key] = u
        s = level_shares.get(node.key, 0.0)
        level_fs[node.key] = 0.0 if s == 0 else (math.inf if u == 0 else s / u)

    for node in tree.by_key.values():
        if node.key != tree.root.key and node.key in level_shares:
            compute_level(node)

    users_total = tree.user_count()
    factors: dict[int, float] = {}
    rank = users_total
    remaining = users_total

    def parent_user_stand_in(user: ShareNode) -> float:
        # A 'parent'-share user competes with its account's own LevelFS, so it ties with it.
        account = tree.by_key.get(user.parent) if user.parent is not None else None
        return level_fs.get(account.key, math.inf) if account is not None else math.inf

    def ranked(siblings: list[ShareNode]) -> list[ShareNode]:
        return sorted(siblings, key=lambda n: (-level_fs[n.key], 0 if n.user else 1))

    def walk(siblings: list[ShareNode], start_tied: bool) -> None:
        nonlocal rank, remaining
        for n in siblings:
            if n.user and n.shares is None:
                level_fs[n.key] = parent_user_stand_in(n)
                eff_usage.setdefault(n.key, 0.0)
        order = ranked(siblings)
        previous: float | None = None
        i = 0
        while i < len(order):
            n = order[i]
            lf = level_fs[n.key]
            tied = start_tied if i == 0 else (previous is not None and lf == previous)
            if n.user:
                if not tied:
                    rank = remaining
                factors[n.key] = rank / users_total if users_total else 0.0
                remaining -= 1
                i += 1
            else:
                merged = [n]
                j = i + 1
                while j < len(order) and not order[j].user and level_fs[order[j].key] == lf:
                    merged.append(order[j])
                    j += 1
                children: list[ShareNode] = []
                for account in merged:
                    children.extend(tree.level(account))
                walk(children, tied)
                i = j
            previous = lf

    walk(tree.level(tree.root), False)

    rows = []
    factor_by_pair: dict[tuple[str, str], float] = {}
    for node, depth in tree.preorder():
        is_root = node.key == tree.root.key
        parent_share = node.shares is None and not is_root
        shown_from = tree.fs_parent(node) if parent_share and not node.user else node
        if parent_share and node.user:
            shown_from = tree.by_key.get(node.parent, tree.root) if node.parent is not None \
                else tree.root
        norm_shares = 0.0 if is_root else level_shares.get(shown_from.key, 0.0)
        usage = tree.usage[node.key]
        fairshare = factors.get(node.key) if node.user else None
        if node.user:
            factor_by_pair[(node.user, node.account)] = fairshare or 0.0
        rows.append(ShareRow(
            key=node.key, account=node.account, user=node.user, depth=depth,
            raw_shares=None if is_root else node.shares,
            norm_shares=norm_shares,
            raw_usage=usage,
            norm_usage=None if is_root else (usage / root_usage if root_usage else 0.0),
            effective_usage=1.0 if is_root else eff_usage.get(shown_from.key, 0.0),
            fairshare=fairshare,
            level_fs=None if is_root or (parent_share and not node.user)
            else level_fs.get(node.key),
            is_parent_share=parent_share,
        ))
    return FairShareResult(tuple(rows), factor_by_pair)


def classic(nodes: tuple[ShareNode, ...] | list[ShareNode], dampening: float = 1.0,
            ) -> FairShareResult:
    tree = _Tree(nodes)
    level_shares = _level_shares(tree)
    root_usage = tree.usage[tree.root.key]
    norm_shares: dict[int, float] = {tree.root.key: 1.0}
    eff_usage: dict[int, float] = {tree.root.key: 1.0}
    raw_sibling_total: dict[int, int] = {}

    def descend(parent: ShareNode) -> None:
        siblings = tree.level(parent)
        total = sum(_shares(s) for s in siblings)
        parent_ue = eff_usage[parent.key]
        for s in siblings:
            raw_sibling_total[s.key] = total
            if s.user and s.shares is None:
                norm_shares[s.key] = norm_shares[parent.key]
                eff_usage[s.key] = parent_ue
                continue
            norm_shares[s.key] = level_shares[s.key] * norm_shares[parent.key]
            u_norm = tree.usage[s.key] / root_usage if root_usage else 0.0
            if parent.key == tree.root.key:
                eff_usage[s.key] = u_norm
            elif total == 0:
                eff_usage[s.key] = parent_ue
            else:
                eff_usage[s.key] = u_norm + (parent_ue - u_norm) * _shares(s) / total
            if not s.user:
                descend(s)
        # 'parent'-share accounts at this level report their parent's values.
        for kid in tree.children[parent.key]:
            if kid.shares is None and not kid.user:
                norm_shares[kid.key] = norm_shares[parent.key]
                eff_usage[kid.key] = parent_ue

    descend(tree.root)

    def factor(key: int) -> float:
        s = norm_shares.get(key, 0.0)
        if s == 0:
            return 0.0
        return 2.0 ** (-(eff_usage.get(key, 0.0) / s) / (dampening or 1.0))

    rows = []
    factor_by_pair: dict[tuple[str, str], float] = {}
    for node, depth in tree.preorder():
        usage = tree.usage[node.key]
        is_root = node.key == tree.root.key
        fs = factor(node.key)
        if node.user:
            factor_by_pair[(node.user, node.account)] = fs
        rows.append(ShareRow(
            key=node.key, account=node.account, user=node.user, depth=depth,
            raw_shares=None if is_root else node.shares,
            norm_shares=norm_shares.get(node.key, 0.0),
            raw_usage=usage,
            norm_usage=None if is_root else (usage / root_usage if root_usage else 0.0),
            effective_usage=eff_usage.get(node.key, 0.0),
            fairshare=fs,
            level_fs=None,
            is_parent_share=node.shares is None and not is_root,
        ))
    return FairShareResult(tuple(rows), factor_by_pair)
