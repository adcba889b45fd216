"""Loads the models of taar-collaborative, taar-similarity (--donor-schema
taar), taar-locale and taar-ensemble into the TAAR service's own cache and
recommenders (mozilla-taar3 1.0.7), and checks or prints what they give.

usage: taar_models.py MODELS_ROOT COMMAND ARGS...

  collaborative INSTALLED_JSON LIMIT
      CollaborativeRecommender.recommend for a client of these add-ons.
  ensemble CLIENT_JSON LIMIT
      EnsembleRecommender.recommend, and the same list recomputed here from
      the three recommenders and the weights file, as {"service", "by_hand"}.
  check-training TRAINING_TABLE MAX_CLIENTS
      Asks the service's recommenders (limit 4, as the ensemble job asks them)
      for the first MAX_CLIENTS clients of taar-ensemble's --training-table
      and compares lists, costs and labels with fletch's; prints the counts
      and the first mismatches.
  test-client LIMIT
      EnsembleRecommender.recommend for a test client id (one repeated
      digit): the service answers with the first LIMIT guids of the curated
      whitelist (taar-update-whitelist's only_guids_top_200.json).
  regression TRAINING_TABLE REG_PARAM ELASTIC_NET_PARAM
      Fits scikit-learn's elastic-net logistic regression on the training
      table's costs (scaled as Spark scales them) and prints its
      coefficients beside fletch's weights.

MODELS_ROOT holds the files where the jobs write them by default. The
service fills its cache from Google Cloud Storage (TAARCache._copy_data).
For a gs://BUCKET/PREFIX root the service's own cache does exactly that,
its settings pointing at the files (STORAGE_EMULATOR_HOST, when set, sends
Google's client to an emulator); for a local folder the same methods read
the files. Either way TAARCache._build_cache_context derives the
collaborative matrix and the donors' feature matrices as in production.
"""

import json
import math
import os
import sys

import numpy as np
import pyarrow.parquet as pq
from taar.interfaces import ITAARCache
from taar.recommenders.cache import TAARCache
from taar.recommenders.collaborative_recommender import CollaborativeRecommender
from taar.recommenders.ensemble_recommender import EnsembleRecommender
from taar.recommenders.locale_recommender import LocaleRecommender
from taar.recommenders.similarity_recommender import SimilarityRecommender
from taar.settings import DefaultCacheSettings

from taar_service import service_context

FILES = {
    "locale": "taar/locale/top10_dict.json",
    "donors": "taar/similarity/donors.json",
    "lr_curves": "taar/similarity/lr_curves.json",
    "item_matrix": "telemetry-ml/addon_recommender/item_matrix.json",
    "addon_mapping": "telemetry-ml/addon_recommender/addon_mapping.json",
    "ensemble": "taar/ensemble/ensemble_weight_daily.json",
    "whitelist": "telemetry-ml/addon_recommender/only_guids_top_200.json",
}
RECOMMENDERS = ["collaborative", "similarity", "locale"]


class Settings(DefaultCacheSettings):
    DISABLE_TAAR_LITE = True
    DISABLE_ENSEMBLE = False


def gcs_settings(root):
    """The service's settings with every model key under gs://BUCKET/PREFIX."""
    bucket, _, prefix = root[len("gs://"):].partition("/")
    prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
    keys = {
        "TAAR_LOCALE": "locale", "TAAR_ITEM_MATRIX": "item_matrix", "TAAR_ADDON_MAPPING": "addon_mapping",
        "TAAR_ENSEMBLE": "ensemble", "TAAR_WHITELIST": "whitelist",
    }
    attrs = {f"{name}_BUCKET": bucket for name in keys}
    attrs.update({f"{name}_KEY": prefix + FILES[which] for name, which in keys.items()})
    attrs.update({"TAAR_SIMILARITY_BUCKET": bucket, "TAAR_SIMILARITY_DONOR_KEY": prefix + FILES["donors"],
                  "TAAR_SIMILARITY_LRCURVES_KEY": prefix + FILES["lr_curves"]})
    return type("GcsSettings", (Settings,), attrs)


class FileCache(TAARCache):
    """TAARCache with every model read from MODELS_ROOT instead of cloud storage."""

    def __init__(self, ctx, root):
        super().__init__(ctx)
        self._root = root

    def _read(self, which):
        path = os.path.join(self._root, FILES[which])
        if not os.path.exists(path):
            return None
        with open(path) as f:
            return json.load(f)

    def _fetch_locale_data(self):
        # The service fails without a locale file; the collaborative check has none.
        return self._read("locale") or {}

    def _fetch_similarity_donors(self):
        return self._read("donors")

    def _fetch_similarity_lrcurves(self):
        return self._read("lr_curves")

    def _fetch_collaborative_item_matrix(self):
        return self._read("item_matrix")

    def _fetch_collaborative_mapping_data(self):
        return self._read("addon_mapping")

    def _fetch_ensemble_weights(self):
        return self._read("ensemble")

    def _fetch_whitelist(self):
        return self._read("whitelist")


class Factory:
    def __init__(self, recommenders):
        self._recommenders = recommenders

    def create(self, key):
        return self._recommenders[key]


def load(root):
    ctx = service_context({})
    on_gcs = root.startswith("gs://")
    ctx["cache_settings"] = gcs_settings(root) if on_gcs else Settings
    cache = TAARCache(ctx) if on_gcs else FileCache(ctx, root)
    cache.safe_load_data()
    ctx[ITAARCache] = cache
    recommenders = {
        "collaborative": CollaborativeRecommender(ctx),
        "similarity": SimilarityRecommender(ctx),
        "locale": LocaleRecommender(ctx),
    }
    ctx["recommender_factory"] = Factory(recommenders)
    return ctx, cache, recommenders


def cllr(recommendations, expected):
    """mozetl's CostLLR.evalcllr, written again from its definition."""
    on = np.array([w for g, w in recommendations if g in expected], dtype=float)
    off = np.array([w for g, w in recommendations if g not in expected], dtype=float)

    def mean_log1p(exps):
        kept = [math.log(1 + f) for f in exps if f < f + 1]
        return sum(kept) / len(kept) if kept else math.nan

    with np.errstate(all="ignore"):
        on, off = np.log(on[~np.isnan(on)]), np.log(off[~np.isnan(off)])
        c1 = mean_log1p(np.exp(-on)) / math.log(2)
        c2 = mean_log1p(np.exp(off)) / math.log(2)
    c = (c1 + c2) / 2
    return 0.0 if math.isnan(c) else c


def client_data(row):
    keys = ["client_id", "geo_city", "locale", "os", "subsession_length", "bookmark_count",
            "tab_open_count", "total_uri", "unique_tlds"]
    data = {k: row[k] for k in keys}
    data["installed_addons"] = list(row["installed"])
    return data


def same_list(service, fletch):
    if service is None or fletch is None:
        return service is None and fletch is None
    if [g for g, _ in service] != [r["guid"] for r in fletch]:
        return False
    return all(math.isclose(w, r["weight"], rel_tol=1e-9, abs_tol=1e-12) for (_, w), r in zip(service, fletch))


def check_training(root, table, max_clients):
    _, _, recommenders = load(root)
    rows = pq.read_table(table).to_pylist()
    rows.sort(key=lambda r: r["client_id"])
    checked, mismatches, scored = 0, [], 0
    for row in rows[:max_clients]:
        checked += 1
        costs = []
        for name in RECOMMENDERS:
            try:
                recs = recommenders[name].recommend(client_data(row), 4)
                recs = [(g, float(w)) for g, w in recs]
            except Exception:
                recs = None
            fletch = row[f"{name}_recs"]
            if not same_list(recs, fletch):
                mismatches.append({"client": row["client_id"], "recommender": name, "service": recs, "fletch": fletch})
            cost = None if recs is None else cllr(recs, list(row["expected"]))
            fletch_cost = row[f"cllr_{name}"]
            if (cost is None) != (fletch_cost is None) or (cost is not None and not math.isclose(cost, fletch_cost, rel_tol=1e-9, abs_tol=1e-12)):
                mismatches.append({"client": row["client_id"], "cost": name, "service": cost, "fletch": fletch_cost})
            costs.append(cost)
        if None not in costs:
            scored += 1
            if int(sum(costs) > 0) != row["label"]:
                mismatches.append({"client": row["client_id"], "label": row["label"]})
    print(json.dumps({"checked": checked, "scored": scored, "mismatches": len(mismatches), "first": mismatches[:5]}))


def regression(root, table, reg_param, elastic_net):
    from sklearn.linear_model import LogisticRegression

    rows = [r for r in pq.read_table(table).to_pylist() if r["label"] is not None]
    x = np.array([[r[f"cllr_{n}"] for n in RECOMMENDERS] for r in rows])
    y = np.array([r["label"] for r in rows])
    n = len(rows)
    # Spark scales by the standard deviation of the stacked data, where every client appears 3 times.
    sd = np.sqrt(3 * ((x - x.mean(axis=0)) ** 2).sum(axis=0) / (3 * n - 1))
    # Spark's mean loss + λ(α|w|₁ + (1-α)/2 |w|²) is scikit-learn's objective with C = 1 / (λ n).
    # SAGA shuffles: unseeded, about one fit in eight on six rows stopped at w = 0 after one epoch.
    model = LogisticRegression(penalty="elasticnet", solver="saga", l1_ratio=elastic_net, C=1 / (reg_param * n),
                               tol=1e-12, max_iter=1_000_000, random_state=0)
    model.fit(x / sd, y)
    with open(os.path.join(root, FILES["ensemble"])) as f:
        fletch = json.load(f)["ensemble_weights"]
    sklearn = dict(zip(RECOMMENDERS, (model.coef_[0] / sd).tolist()))
    print(json.dumps({"fletch": fletch, "sklearn": sklearn, "intercept": float(model.intercept_[0])}))


def ensemble(root, client, limit):
    ctx, cache, recommenders = load(root)
    service = EnsembleRecommender(ctx).recommend(dict(client, installed_addons=list(client["installed_addons"])), limit)
    weights = cache.ensemble_weights()
    # By hand: every recommender's list (the limit extended by the installed add-ons), weighted, summed per guid.
    extended = limit + len(client["installed_addons"])
    sums = {}
    for name in RECOMMENDERS:
        recommender = recommenders[name]
        if recommender.can_recommend(dict(client)):
            for guid, w in recommender.recommend(dict(client), extended):
                sums[guid] = sums.get(guid, 0.0) + float(w) * weights[name]
    by_hand = sorted(((g, w) for g, w in sums.items() if g not in client["installed_addons"]), key=lambda x: -x[1])[:limit]
    print(json.dumps({"service": [[g, float(w)] for g, w in service], "by_hand": by_hand, "weights": weights}))


def main(root, command, *args):
    if command == "collaborative":
        _, _, recommenders = load(root)
        client = {"client_id": "c", "installed_addons": json.loads(args[0])}
        r = recommenders["collaborative"]
        if not r.can_recommend(client):
            sys.exit("CollaborativeRecommender cannot recommend")
        print(json.dumps([[g, float(w)] for g, w in r.recommend(client, int(args[1]))]))
    elif command == "ensemble":
        ensemble(root, json.loads(args[0]), int(args[1]))
    elif command == "test-client":
        ctx, _, _ = load(root)
        client = {"client_id": "11111111-1111-1111-1111-111111111111"}
        print(json.dumps([[g, float(w)] for g, w in EnsembleRecommender(ctx).recommend(client, int(args[0]))]))
    elif command == "check-training":
        check_training(root, args[0], int(args[1]))
    elif command == "regression":
        regression(root, args[0], float(args[1]), float(args[2]))
    else:
        sys.exit(f"unknown command {command}")


if __name__ == "__main__":
    main(*sys.argv[1:])
