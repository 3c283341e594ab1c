"""Seeded synthetic multi-market generator written in the XMarket file format (spec §6.6)."""

from __future__ import annotations

import dataclasses
import json
import pathlib

import numpy as np

from affectjax.data.markets.errors import MarketDataError
from affectjax.data.markets.interactions import Interactions
from affectjax.data.markets.split import EvalLists
from affectjax.data.markets.xmarket import write_checksums, write_market_file

__all__ = ["SynthConfig", "SynthData", "generate", "write_synthetic", "load_ground_truth",
           "oracle_scores", "GROUND_TRUTH"]

GROUND_TRUTH = "ground_truth.npz"
_EPOCH_DAY = 16436  # 2015-01-01: first possible start day [our choice]


@dataclasses.dataclass(frozen=True)
class SynthConfig:
    """Generator knobs (`config.data.synth.*`), all [our choice]; defaults = spec 'default'."""

    n_users: tuple[int, ...] = (3000, 2500, 2000, 1500, 1000, 600, 200)  # per market
    n_items: int = 3000
    k: int = 16  # item/user vector dimension
    n_topics: int = 100
    item_noise: float = 0.3
    p_avail: float = 0.85  # P(item sold in a market)
    sigma_b: float = 1.0  # global popularity scale
    r: int = 4  # rank of the market bias
    sigma_m: float = 1.0  # market bias scale
    sigma_eps: float = 0.3  # unstructured market-item noise
    taste: float = 0.3  # spread of market taste centres
    alpha: float = 2.0  # user-item affinity weight
    gamma: float = 6.0  # weight of similarity to the previous item (sequential signal)
    min_len: int = 7
    mean_extra: float = 3.0
    max_len: int = 40
    p_dup: float = 0.01  # P(a step may repeat an earlier item)
    p_same_day: float = 0.35
    start_span_days: int = 1500

    @classmethod
    def tiny(cls) -> SynthConfig:
        """CPU-test scale: 3 markets, 300 items."""
        return cls(n_users=(300, 200, 60), n_items=300, k=8, n_topics=10)

    @classmethod
    def named(cls, size: str) -> SynthConfig:
        if size == "tiny":
            return cls.tiny()
        if size == "default":
            return cls()
        raise ValueError(f"size must be 'tiny' or 'default', got {size!r}")

    @property
    def codes(self) -> tuple[str, ...]:
        """Market codes m1..mM (index order = n_users order)."""
        return tuple(f"m{j + 1}" for j in range(len(self.n_users)))

    @property
    def target(self) -> str:
        """The smallest market (the last one on ties), the default target."""
        n = np.asarray(self.n_users)
        return self.codes[int(np.flatnonzero(n == n.min())[-1])]


@dataclasses.dataclass(frozen=True, eq=False)
class SynthData:
    """Generated rows per market (raw string ids, days) plus the generating parameters."""

    config: SynthConfig
    seed: int
    rows: dict[str, dict[str, np.ndarray]]  # code -> {user, item, rating, day}
    truth: dict[str, np.ndarray]


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _gumbel(rng: np.random.Generator, shape) -> np.ndarray:
    # -log E with E ~ Exp(1) is Gumbel(0, 1); float32 ziggurat exponentials make this ~7x
    # cheaper than rng.gumbel. E is floored above 0 so no +inf can meet a -inf logit (NaN).
    e = rng.standard_exponential(shape, dtype=np.float32)
    return -np.log(np.maximum(e, np.finfo(np.float32).tiny))


def generate(config: SynthConfig | None = None, seed: int = 0) -> SynthData:
    """Draw items, markets, users and sequences (spec §6.6), vectorised over users per step."""
    c = config or SynthConfig()
    if c.n_items >= 10**6:
        raise ValueError("n_items must be < 1e6 (raw ids are i + 6 digits)")
    rng = np.random.default_rng([seed, 0])
    # Topic centres ~ N(0, I_k), not unit: with |T| ≈ √k the item noise leaves clear topics,
    # and the measured proxies land near the spec's prototype (§6.6) [our choice].
    topics = rng.standard_normal((c.n_topics, c.k))
    topic = rng.integers(c.n_topics, size=c.n_items)
    v = _unit(topics[topic] + c.item_noise * rng.standard_normal((c.n_items, c.k)))
    b = c.sigma_b * rng.standard_normal(c.n_items)
    z = rng.standard_normal((c.n_items, c.r))
    n_m = len(c.n_users)
    avail = rng.random((n_m, c.n_items)) < c.p_avail
    q = rng.standard_normal((n_m, c.r))
    delta = c.sigma_m * (q @ z.T) / np.sqrt(c.r) + c.sigma_eps * rng.standard_normal(
        (n_m, c.n_items))
    centre = c.taste * rng.standard_normal((n_m, c.k))
    item_ids = np.array([f"i{j:06d}" for j in range(c.n_items)])
    rows, user_ids, user_vecs, user_mk = {}, [], [], []
    for m, (code, n_u) in enumerate(zip(c.codes, c.n_users)):
        if avail[m].sum() < c.max_len:
            raise MarketDataError(f"market {code}: {int(avail[m].sum())} available items < "
                                  f"max_len {c.max_len}; raise p_avail or n_items")
        mr = np.random.default_rng([seed, 1, m])  # per market: adding markets keeps others
        u = centre[m] + (2.0 / np.sqrt(c.k)) * mr.standard_normal((n_u, c.k))
        length = np.minimum(c.max_len, c.min_len + mr.poisson(c.mean_extra, n_u))
        base = (c.alpha * (u @ v.T) + b + delta[m]).astype(np.float32)
        base[:, ~avail[m]] = -np.inf
        chosen = np.zeros((n_u, c.n_items), dtype=bool)
        seq = np.zeros((n_u, c.max_len), dtype=np.int64)
        v32 = v.astype(np.float32)
        for t in range(int(length.max())):
            act = np.flatnonzero(length > t)
            logits = base[act]
            if t:
                logits += (c.gamma * v32[seq[act, t - 1]]) @ v32.T
                # Earlier items are excluded unless this step allows a repeat (p_dup).
                block = chosen[act] & (mr.random(act.size) >= c.p_dup)[:, None]
                np.putmask(logits, block, -np.inf)
            logits += _gumbel(mr, logits.shape)
            pick = np.argmax(logits, axis=1)
            seq[act, t] = pick
            chosen[act, pick] = True
        # Dates: same day with p_same_day, else 1 + Geometric(0.05) days later (numpy's
        # geometric already starts at 1).
        step = np.where(mr.random((n_u, c.max_len - 1)) < c.p_same_day, 0,
                        mr.geometric(0.05, (n_u, c.max_len - 1)))
        start = _EPOCH_DAY + mr.integers(0, c.start_span_days, n_u)
        day = start[:, None] + np.concatenate([np.zeros((n_u, 1), np.int64),
                                               np.cumsum(step, axis=1)], axis=1)
        rating = np.where(mr.random((n_u, c.max_len)) < 0.7, 5, mr.integers(1, 5, (n_u, c.max_len)))
        live = np.arange(c.max_len)[None, :] < length[:, None]
        uid = np.array([f"{code}u{j:06d}" for j in range(n_u)])
        rows[code] = {"user": np.repeat(uid, length), "item": item_ids[seq[live]],
                      "rating": rating[live].astype(np.float64), "day": day[live]}
        user_ids.append(uid)
        user_vecs.append(u)
        user_mk.append(np.full(n_u, m + 1))
    truth = {
        "market_codes": np.array(c.codes), "item_ids": item_ids, "item_vectors": v,
        "item_topic": topic, "item_bias": b, "available": avail, "market_bias": delta,
        "taste_centres": centre, "user_ids": np.concatenate(user_ids),
        "user_vectors": np.concatenate(user_vecs), "user_market": np.concatenate(user_mk),
        "alpha": np.array(c.alpha), "gamma": np.array(c.gamma),
        "config": np.array(json.dumps(dataclasses.asdict(c))), "seed": np.array(seed),
    }
    return SynthData(config=c, seed=seed, rows=rows, truth=truth)


def write_synthetic(root, config: SynthConfig | None = None, seed: int = 0, *,
                    checksums: bool = True) -> pathlib.Path:
    """Generate and write ``<root>/m<j>_5core.txt`` (§6.1 format), SHA256SUMS, ground truth."""
    data = generate(config, seed)
    root = pathlib.Path(root)
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    for code, r in data.rows.items():
        path = root / f"{code}_5core.txt"
        write_market_file(path, r["user"], r["item"], r["rating"], r["day"])
        paths.append(path)
    if checksums:
        write_checksums(root, paths)
    np.savez(root / GROUND_TRUTH, **data.truth)
    return root


def load_ground_truth(root) -> dict[str, np.ndarray]:
    """The generating parameters written by :func:`write_synthetic`."""
    path = pathlib.Path(root) / GROUND_TRUTH
    if not path.exists():
        raise MarketDataError("ground truth not found", path)
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def oracle_scores(truth: dict[str, np.ndarray], inter: Interactions, lists: EvalLists,
                  last_item: np.ndarray) -> np.ndarray:
    """[U, C] generator logits α·u·v + b + δ_m + γ·v_last·v of each candidate.

    ``last_item``: each list user's most recent history item id (0 = none). Availability is
    ignored: candidates come from the market's rated items, all available.
    """
    t_item = np.searchsorted(truth["item_ids"], inter.item_ids)
    if not np.array_equal(truth["item_ids"][t_item], inter.item_ids):
        raise MarketDataError("items of the loaded data are not the generator's")
    raw_users = inter.user_ids[lists.user]
    order = np.argsort(truth["user_ids"])
    pos = order[np.searchsorted(truth["user_ids"], raw_users, sorter=order)]
    code_of = {c: j for j, c in enumerate(truth["market_codes"].tolist())}
    mk = np.array([code_of[inter.markets[m - 1]] for m in lists.market.tolist()], np.int64)
    v = truth["item_vectors"]
    ci = t_item[lists.cands - 1]
    cv = v[ci]  # [U, C, k]
    s = truth["alpha"] * np.einsum("uk,uck->uc", truth["user_vectors"][pos], cv)
    s = s + truth["item_bias"][ci] + truth["market_bias"][mk[:, None], ci]
    has_last = np.asarray(last_item) > 0
    lv = np.where(has_last[:, None], v[t_item[np.maximum(last_item, 1) - 1]], 0.0)
    return s + truth["gamma"] * np.einsum("uk,uck->uc", lv, cv)
