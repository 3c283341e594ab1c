"""Cross-market recommendation data: readers, synthetic generator, protocols, rows, baselines."""

from affectjax.data.markets.cooccurrence import (
    cooccurrence_matrix,
    cooccurrence_scores,
    evaluate_cooccurrence,
)
from affectjax.data.markets.errors import MarketDataError
from affectjax.data.markets.interactions import (
    Interactions,
    MarketPart,
    assemble,
    check_id_maps,
    to_parts,
)
from affectjax.data.markets.popularity import (
    evaluate_popularity,
    evaluate_scorer,
    popularity_counts,
    ranking_metrics,
    score_lists,
)
from affectjax.data.markets.protocols import (
    FOREC_SPLIT_SEED,
    PROTOCOLS,
    given_split,
    load_split,
    make_split,
    save_split,
)
from affectjax.data.markets.recbole import (
    find_recbole_example,
    read_atomic,
    read_ml100k,
    read_recbole_inter,
    zip_market,
)
from affectjax.data.markets.rows import (
    MAX_HISTORY,
    EvalInputs,
    TrainRows,
    eval_inputs,
    faithful_train_rows,
    fixed_train_rows,
    histories,
    train_row_mask,
)
from affectjax.data.markets.split import DROPPED, TEST, TRAIN, VALID, EvalLists, Split
from affectjax.data.markets.synthetic import (
    SynthConfig,
    SynthData,
    generate,
    load_ground_truth,
    oracle_scores,
    write_synthetic,
)
from affectjax.data.markets.wsdm import Wsdm22, read_qrel, read_run_file, read_wsdm22
from affectjax.data.markets.xmarket import (
    discover_markets,
    read_market_file,
    read_xmarket,
    verify_checksums,
    write_checksums,
    write_xmarket,
)
from affectjax.data.markets.xmarket_raw import (
    XMARKET_MARKETS,
    forec_rebuild,
    raw_file,
    read_xmarket_raw,
)

__all__ = [
    "DROPPED", "TRAIN", "VALID", "TEST", "MAX_HISTORY", "FOREC_SPLIT_SEED", "PROTOCOLS",
    "XMARKET_MARKETS",
    "MarketDataError", "Interactions", "MarketPart", "EvalLists", "Split", "TrainRows",
    "EvalInputs", "SynthConfig", "SynthData", "Wsdm22",
    "assemble", "check_id_maps", "to_parts",
    "read_xmarket", "read_market_file", "discover_markets", "verify_checksums",
    "write_xmarket", "write_checksums",
    "read_xmarket_raw", "raw_file", "forec_rebuild",
    "read_wsdm22", "read_qrel", "read_run_file",
    "read_recbole_inter", "read_atomic", "read_ml100k", "find_recbole_example", "zip_market",
    "generate", "write_synthetic", "load_ground_truth", "oracle_scores",
    "make_split", "given_split", "save_split", "load_split",
    "train_row_mask", "histories", "fixed_train_rows", "faithful_train_rows", "eval_inputs",
    "popularity_counts", "score_lists", "ranking_metrics", "evaluate_scorer",
    "evaluate_popularity", "cooccurrence_matrix", "cooccurrence_scores", "evaluate_cooccurrence",
]
