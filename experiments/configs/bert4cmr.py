r"""Bert4CMR cross-market recommendation (spec bert4cmr): one config per stage and table row.

One stage (what CI runs; synthetic tiny data, CPU)::

    CFG=experiments/configs/bert4cmr.py
    python -m experiments.bert4cmr --config=$CFG:stage=pretrain,size=tiny --workdir=$W1
    python -m experiments.bert4cmr --config=$CFG:stage=finetune,size=tiny \
        --config.init_from.path=$W1 --workdir=$W2

A whole table (``stage=all``, the default): for every target and seed the launcher runs the
§8 rows (pretrain → finetune with ``init_from``, the baselines) and writes ``results.md``::

    python -m experiments.bert4cmr --workdir=runs/bert4cmr/xmarket_forec \
        --config=$CFG:size=paper,data=xmarket,root=../shared/data/xmarket,target=all,seeds=5

Arguments (``:key=value,...``):

- ``stage``: ``all`` (launcher: whole table) | ``pretrain`` | ``finetune`` (one run; finetune
  without ``init_from.path`` is the target-only baseline).
- ``size``: ``tiny`` (§3.3 tiny column, tiny generator, 3 epochs a stage; CI), ``default``
  ([our choice] a CPU-sized model: d 32, 2 layers, 4 heads, H 20), ``paper`` (§3.3 paper
  column: d 32, 4 layers, 8 heads, FFN 128, dropout 0.3, H 50, batch 1024, ≤ 50 epochs).
- ``data``: ``synthetic`` (embedded generator, §6.6) | ``xmarket`` | ``wsdm22`` | ``ml100k``
  (derived zip-code markets); ``root``: the data folder (not needed for synthetic and ml100k).
- ``target``: a market code, ``''`` (the market with the fewest users) or ``all`` (launcher).
- ``protocol``: ``forec`` | ``paper``; ``''`` = ``paper`` for the faithful variant, else
  ``forec`` (§3.4); wsdm22 always uses its given lists.
- ``variant``: ``fixed`` (default) | ``faithful`` | ``cloze``; ``leak``: the official
  candidate-in-history leak (faithful only, reproduction table).
- ``model``: ``bert4cmr`` | ``gmf`` | ``nmf`` | ``mlp`` (§8 baselines); ``market_emb``: False
  is the no-market-embedding ablation.
- ``shared``: one pretraining on every market's training part, shared by all targets.
- ``pretrain_epochs``: caps the pretraining stage only (0 = the size's cap); the 2-core CPU
  tables cap pretraining at 10 epochs and let fine-tuning run to its early stop.
- ``seed``: the run seed (init, dropout, shuffling, negatives; the split too under ``paper``);
  ``seeds``: how many consecutive seeds the launcher runs from ``seed``.

Measured (this implementation, 2-core CPU shared with other jobs):

- ``:stage=pretrain,size=tiny`` then ``:stage=finetune,size=tiny`` (the CI pair): 26 s and 8 s
  with an empty compilation cache (the finetune reuses the pretraining's compiled programs).
  Tiny is a smoke test, yet after its 3 epochs the pretrained model is above target
  popularity on m3: test NDCG@10 0.204 (target popularity 0.162; 0.090 from N(0, 1) tables,
  see "Embedding init").
- Generator proxies (§6.6), ``--rows=popularity`` with ``:size=default,target=all`` (``forec``,
  test NDCG@10; ``runs/bert4cmr/synthetic_counts``): target popularity avg 0.258 (m7, the
  200-user target: 0.167), global popularity 0.168 (m7: 0.053), item co-occurrence from the
  target only 0.376 (m7: 0.253), from all markets 0.372 (m7: 0.300), generator oracle 0.603
  (m7: 0.547). On m7 these match the spec's prototype (0.18–0.22, ≈ 0.10, 0.18–0.24,
  0.30–0.31, 0.59–0.61), so the knobs were not re-tuned: the other markets add +0.047 to
  co-occurrence on the small target and nothing on the large ones.
- ``size=paper`` on XMarket, jp target, pretraining: 641 steps of 1024 rows an epoch, ~2,000
  rows/s overall with the buckets below (an 8-token step ~4,400 rows/s, a 51-token one ~210),
  ~5.5 min an epoch; validating jp (48,700 rows) ~15 s.

Embedding init [our choice for ``fixed`` and ``cloze``; ``faithful`` keeps the official N(0, 1)]:
item, market and position tables start from N(0, 0.02²) [related-code: BERT, BERT4Rec]. The
LayerNorm behind the lookup removes the table's scale, so the scale only sets how far one Adam
step (1e-3) turns an embedding: from N(0, 1), a 50th of that. Measured on the generator
(``:size=default``, seed 0, target m7 = 200 users, test NDCG@10; ``runs/bert4cmr/synthetic_*``):
the 10-epoch pretraining on all markets left the model at chance from N(0, 1) (pretrain-only
0.061) and reaches 0.258 from N(0, 0.02²) (valid 0.07 → 0.27 over
epochs 3–10, still rising), full 0.124 → 0.271, above target popularity (0.167) and
co-occurrence on m7 alone (0.253), below co-occurrence on all markets (0.300). Target-only on
m7 for 40 epochs (``--rows=target_only --config.train.total_epochs=40
--config.early_stop.patience=40 --config.model.embedding_stddev=S``, best validation restored):
0.158 from S = 0.02 (best at epoch 24); from S = 1 validation was 0.09 at epoch 40, and 300
epochs reached 0.165. XMarket ``forec`` (``results/bert4cmr.md``, 3 seeds, 10-epoch stages):
avg test NDCG@10 0.332 from N(0, 1), 0.380 from N(0, 0.02²).

Early stopping (§5): evaluation every epoch on the target's validation lists; ``fixed``/``cloze``
stop on NDCG@10 with patience 3 reset on improvement, ``faithful`` on NDCG@5 with cumulative
patience 3 [official-code]; the best checkpoint is restored and tested (test lists only at the
end). Fine-tuning loads the best pretrain params and the Adam state saved with them (``fixed``)
or of the last pretrain step (``faithful`` [official-code]).

MF baselines (§8: ``gmf``, ``nmf``, ``mlp`` and their ``_global`` rows) have their own recipe
[related-code: NCF/FOREC]: embeddings N(0, 0.01²) (NCF's ``init_normal``), batch 256 on one
market (NCF) and 1024 on all markets (FOREC), Adam 1e-3, and early stopping that may not end a
run before 25 evaluations (FOREC trains a fixed 25 epochs; ``early_stop.min_evals``). Why,
measured on XMarket ``forec`` (``:size=default``, seed 0, 2-core CPU): with PyTorch's N(0, 1)
init (FOREC's), batch 1024 and patience 3, GMF stopped after 6 epochs (jp: 17 steps each) at
chance (test NDCG@10 0.037; random ≈ 0.045); even 50 epochs left jp's valid NDCG@10 at
≈ 0.05, its train loss (0.55) above that of a constant predictor (0.50). From N(0, 0.01²) it
leaves chance in 1-2 epochs and keeps climbing slowly to epoch ~30, where patience 3 alone
would have stopped it on an early plateau. With this recipe, ``--rows=gmf``: jp valid/test
NDCG@10 0.347/0.230 (34 epochs, 27 s), de 0.445/0.309 (34 epochs, 72 s); ``--rows=nmf``: jp
0.363/0.222 (25 epochs). Target popularity: jp 0.193, de 0.253 (test).
"""

from __future__ import annotations

import ml_collections

from affectjax.train import trainer_defaults
from experiments.configs import args as config_args

SIZES = ("tiny", "default", "paper")


def _model(size: str) -> dict:
    if size == "tiny":  # §3.3 tiny column
        return dict(emb_dim=16, num_layers=2, num_heads=2, mlp_dim=32, dropout_rate=0.1,
                    attention_dropout_rate=0.1)
    if size == "default":  # [our choice] paper recipe, smaller encoder for CPU
        return dict(emb_dim=32, num_layers=2, num_heads=4, mlp_dim=64, dropout_rate=0.3,
                    attention_dropout_rate=0.3)
    return dict(emb_dim=32, num_layers=4, num_heads=8, mlp_dim=128, dropout_rate=0.3,
                attention_dropout_rate=0.3)  # [official-code]


def get_config(arg: str = "") -> ml_collections.ConfigDict:
    a = config_args.parse(
        arg, stage="all", size="default", data="synthetic", root="", target="", protocol="",
        variant="fixed", model="bert4cmr", market_emb=True, leak=False, shared=False, seed=0,
        seeds=1, pretrain_epochs=0.0)
    if a.size not in SIZES:
        raise ValueError(f"bert4cmr config: size={a.size!r}, expected one of {SIZES}")
    if a.stage not in ("all", "pretrain", "finetune"):
        raise ValueError(f"bert4cmr config: stage={a.stage!r}, expected all, pretrain or finetune")
    c = trainer_defaults()
    c.task = "bert4cmr"
    c.stage = a.stage
    c.seed = a.seed

    # What the launcher needs beyond one run.
    c.experiment = ml_collections.ConfigDict(dict(
        targets=a.target, seeds=a.seeds, args=arg or ""))

    c.data = ml_collections.ConfigDict()
    c.data.source = a.data
    c.data.root = a.root
    c.data.markets = ()  # () = every market found
    # 'all' and 'a+b' name several targets: the launcher sets data.target for each run.
    c.data.target = "" if a.target == "all" or "+" in a.target else a.target
    c.data.protocol = a.protocol or ("paper" if a.variant == "faithful" else "forec")
    if a.data == "wsdm22":
        c.data.protocol = "given"
    c.data.split_seed = 42  # forec: one split and candidate set for every run (§7.2)
    c.data.pretrain_scope = "shared" if a.shared else "target"
    c.data.max_history = {"tiny": 10, "default": 20, "paper": 50}[a.size]  # [official-code] 50
    c.data.num_train_negatives = 4  # [official-code]
    c.data.leak_target_in_history = a.leak
    c.data.history_scope = "all"  # 'prefix': ablation of fixed [our choice]
    # History-length buckets (§10 [our choice]): one compiled program each; H is always added.
    # XMarket histories average ~9.8 items: at paper size on a 2-core CPU a 51-token step runs
    # ~170 rows/s and an 8-token one ~3,000 (measured), so the short buckets are dense.
    c.data.buckets = {"tiny": (10,), "default": (7, 11, 15, 20),
                      "paper": (7, 11, 15, 23, 35, 50)}[a.size]
    c.data.cache_dir = ""  # "" = ~/.cache/affectjax/markets (synthetic files, split cache)
    c.data.synth = ml_collections.ConfigDict(dict(
        size="tiny" if a.size == "tiny" else "default", seed=0))

    c.model = ml_collections.ConfigDict(dict(
        kind=a.model, variant=a.variant, layer_norm_eps=1e-5, use_market_emb=a.market_emb,
        use_pos_emb=False, history_ignores_candidate=False,
        # Item/market/position tables: N(0, 0.02²) [related-code: BERT, BERT4Rec] for fixed and
        # cloze; faithful keeps nn.Embedding's N(0, 1) [official-code]. Behind the LayerNorm the
        # table's scale only sets how fast Adam (1e-3) turns the embeddings: from N(0, 1) the
        # model is still near chance after the CPU tables' 10 pretraining epochs (docstring).
        embedding_stddev=1.0 if a.variant == "faithful" else 0.02,
        **_model(a.size)))
    # Cloze variant (§3.4) [related-code: BERT4Rec].
    c.model.update(mask_ratio=0.2, last_item_mask_prob=0.5, cloze_loss="softmax")
    # MF baselines (§8) [related-code: NCF/FOREC]: dims 32, MLP (64, 128, 64, 32).
    c.model.mf_dim = 8 if a.size == "tiny" else 32
    c.model.mf_layers = (16, 32, 16, 8) if a.size == "tiny" else (64, 128, 64, 32)
    # Embeddings N(0, 0.01²) [related-code: NCF GMF.py init_normal]; FOREC's PyTorch N(0, 1)
    # leaves GMF at chance for tens of epochs (docstring above, "MF baselines").
    c.model.mf_init_std = 0.01

    c.batch_size = 128 if a.size == "tiny" else 1024  # [official-code] 1024
    if a.variant == "cloze" and a.size != "tiny":
        # [our choice] the softmax over N items at ~21 positions per row: 1024 rows would need
        # ~0.7 GB of logits per step.
        c.batch_size = 256
    mf = a.model != "bert4cmr"
    if mf and a.size != "tiny":
        # [related-code: NCF] 256 rows on one market (a small target has few steps an epoch:
        # jp 17 at 1024); all markets keep 1024 [related-code: FOREC], ~500 steps an epoch.
        c.batch_size = 256 if a.stage == "finetune" else 1024
    c.eval = ml_collections.ConfigDict(dict(
        batch_users={"tiny": 8, "default": 32, "paper": 64}[a.size],
        ties="expected",  # §7.3 [our choice]
        test_history_includes_valid=False,  # §7.2 [our choice]
        max_valid_users=0,  # >0: fixed subset per market for periodic validation [our choice]
    ))

    # [official-code] Adam(1e-3) with PyTorch's coupled weight_decay 1e-7; no schedule/clipping.
    c.optim.update(name="adam", lr=1e-3, b1=0.9, b2=0.999, eps=1e-8, weight_decay=1e-7,
                   decay_mode="coupled")

    faithful = a.variant == "faithful" and a.model == "bert4cmr"
    c.early_stop.metric = "valid/ndcg@5" if faithful else "valid/ndcg@10"
    c.early_stop.count = "cumulative" if faithful else "reset"
    c.early_stop.patience = 3
    # MF rows: never stop before FOREC's fixed 25 epochs [related-code: FOREC train_all]; their
    # validation NDCG still climbs slowly after a fast first rise (docstring).
    c.early_stop.min_evals = 25 if mf else 0
    c.init_from.checkpoint = "best"
    c.init_from.opt_state = "last" if faithful else "best"

    # §5: at most 50 epochs; tiny (CI) stops after 3 to stay well under a minute on 2 CPU cores.
    c.train.total_epochs = 3.0 if a.size == "tiny" else 50.0
    if a.pretrain_epochs and a.stage == "pretrain":
        # A CPU budget for the all-market stage only (the launcher's pretraining and the
        # ``_global`` MF rows): fine-tuning keeps its §5 cap and early stopping.
        c.train.total_epochs = a.pretrain_epochs
    c.train.eval_every_epochs = 1.0
    c.train.checkpoint_every_epochs = 1.0
    c.train.keep_checkpoints = 1
    c.train.log_every_steps = 20 if a.size == "tiny" else 100
    # MF steps (~1-4 ms) are shorter than the loop's host work per call: 8 steps per call
    # (one lax.scan; same training) ran GMF's loop 1.55x as fast, data wait 13.2 -> 4.7 %
    # (results/benchmarks.md). Bert4CMR's step is long enough not to need it.
    c.train.steps_per_call = 8 if mf else 1
    c.train.final_only_eval_sets = ("test",)
    c.lock()
    return c
