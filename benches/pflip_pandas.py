"""pflip plus in pandas and scikit-learn, the peer of `fletch run
pflip-features`, `pflip-train` and `pflip-predict` in benches/pflip.py.

Written for the benchmark from the spec (../shared/specs/pflip_logs.md part
A), the way the original works: every table loaded whole, whole-frame
merges and groupbys, the ColumnTransformer of A8, liblinear. Prints one JSON
line of what it made (rows, columns, AUC, predictions by label) so the run
can be checked against fletch's.

usage: pflip_pandas.py DOWNLOAD_DIR SEED
"""

import json
import pathlib
import sys
import time
import warnings

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.feature_selection import SelectPercentile, VarianceThreshold, chi2
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score, roc_curve
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, KBinsDiscretizer, OneHotEncoder, PolynomialFeatures

MISLEADING, NOT_MISLEADING = "MISINFORMED_OR_POTENTIALLY_MISLEADING", "NOT_MISLEADING"
CRH, NMR, CRNH = "CURRENTLY_RATED_HELPFUL", "NEEDS_MORE_RATINGS", "CURRENTLY_RATED_NOT_HELPFUL"
MIN_TWEET_ID = 1825679568688054351
MINUTE = 60_000
BUCKETS = [1, 5, 15, 60]
SETS = ["LOCAL", "PEER_MISLEADING", "PEER_NON_MISLEADING"]
STATS = ["MAX_POS_HELPFUL", "MAX_NEG_HELPFUL", "MEAN_POS_HELPFUL", "MEAN_NEG_HELPFUL", "STD_HELPFUL", "MAX_DIFF", "MEAN_DIFF"]
PEERS = ["TOTAL_PEER_NOTES", "TOTAL_PEER_MISLEADING_NOTES", "TOTAL_PEER_NON_MISLEADING_NOTES", "TOTAL_PEER_CRH_NOTES", "TOTAL_PEER_STABILIZATION_NOTES"]
LEVELS = ["HELPFUL", "SOMEWHAT_HELPFUL", "NOT_HELPFUL"]
TIMING = [f"{k}_{c}_{s}" for k in ["FIRST", "BURST", "RECENT"] for s in ["TOTAL", "RATIO"] for c in BUCKETS]
STABLE = "timestampMillisOfFirstNmrDueToMinStableCrhTime"


def read(root, folder):
    files = sorted((root / folder).glob("*.tsv"))
    return pd.concat([pd.read_csv(f, sep="\t", dtype={"tweetId": "Int64"}, low_memory=False) for f in files], ignore_index=True)


def load(root):
    notes, ratings, nsh, pre = (read(root, t) for t in ["notes", "ratings", "noteStatusHistory", "prescoringRaterModelOutput"])
    for c in nsh.columns:
        if c.startswith("timestampMillis"):
            nsh[c] = nsh[c].astype("Int64")
    return notes, ratings, nsh, pre


def tag_names(ratings):
    helpful = [c for c in ratings.columns if c.startswith("helpful") and c != "helpfulnessLevel" and c != "helpful"]
    not_helpful = [c for c in ratings.columns if c.startswith("notHelpful") and c != "notHelpful"]
    return helpful, not_helpful


def candidates(notes, nsh):
    c = nsh[["noteId", "createdAtMillis"]].rename(columns={"createdAtMillis": "noteCreationMillis"}).merge(notes[["noteId", "tweetId", "classification"]])
    c["tweetCreationMillis"] = np.right_shift(c["tweetId"].to_numpy("int64"), 22) + 1288834974657
    return c[(c["tweetId"] > 0) & c["classification"].notna()]


def labels(nsh):
    l = nsh[["noteId", "lockedStatus", "firstNonNMRStatus", STABLE, "currentDecidedBy"]].copy()
    l["LABEL"] = None
    l.loc[l["lockedStatus"] == CRH, "LABEL"] = "CRH"
    locked_down = l["lockedStatus"].isin([NMR, CRNH])
    l.loc[(l["firstNonNMRStatus"] == CRH) & locked_down, "LABEL"] = "FLIP"
    l.loc[l[STABLE].notna() & l["firstNonNMRStatus"].isna() & locked_down, "LABEL"] = "FLIP"
    l = l[l["LABEL"].notna()]
    drift = (l["LABEL"] == "CRH") & l["currentDecidedBy"].fillna("").str.startswith("ScoringDriftGuard")
    return l[~drift][["noteId", "LABEL"]]


def cutoffs(nsh, ratings, mode):
    h = nsh[nsh[STABLE].notna() | (nsh["firstNonNMRStatus"] == CRH)][["noteId", STABLE, "timestampMillisOfFirstNonNMRStatus"]]
    both = h[[STABLE, "timestampMillisOfFirstNonNMRStatus"]].astype("float64")
    t = both.max(axis=1) if mode == "MAX" else both.min(axis=1)
    h = h.assign(cutoff_time=t - 15 * MINUTE)
    r = ratings[["noteId", "createdAtMillis"]].merge(h[["noteId"]]).sort_values(["noteId", "createdAtMillis"])
    fifth = r[r.groupby("noteId").cumcount() == 4].set_index("noteId")["createdAtMillis"]
    by = pd.DataFrame({"maxRatingMts": r.groupby("noteId")["createdAtMillis"].max(), "nthRatingMts": fifth}).rename_axis("noteId").reset_index()
    by["ratingMin"] = by[["maxRatingMts", "nthRatingMts"]].min(axis=1)
    h = h.merge(by[["noteId", "ratingMin"]])
    h["SCORING_CUTOFF_MTS"] = h[["cutoff_time", "ratingMin"]].max(axis=1).astype("int64")
    h["SCORING_CUTOFF_MODE"] = mode
    return h[["noteId", "SCORING_CUTOFF_MTS", "SCORING_CUTOFF_MODE"]]


def rater_factors(pre):
    f = {}
    for name, scorer in [("core", "MFCoreScorer"), ("expansion", "MFExpansionScorer"), ("plus", "MFExpansionPlusScorer")]:
        f[name] = pre[pre["scorerName"] == scorer][["raterParticipantId", "internalRaterFactor1"]].rename(columns={"internalRaterFactor1": name})
    out = f["core"].merge(f["expansion"], how="outer").merge(f["plus"], how="outer")
    out["RATER_FACTOR"] = out["core"].fillna(out["expansion"]).fillna(out["plus"])
    return out[["raterParticipantId", "RATER_FACTOR"]]


def set_features(r, scored, helpful, not_helpful, prefix):
    """The A7.6 features of one rating set `r` (noteId = the scored note)."""
    out = scored[["noteId"]].copy()
    keyed = r.assign(level=r["helpfulnessLevel"].astype(str))
    out = out.merge(keyed.groupby("noteId").apply(lambda g: sorted(set(g["raterParticipantId"] + ":" + g["level"])), include_groups=False).rename("USER_HELPFULNESS_RATINGS").reset_index(), how="left")
    for name, tags in [("USER_HELPFUL_TAGS", helpful), ("USER_NOT_HELPFUL_TAGS", not_helpful)]:
        long = r[["noteId", "raterParticipantId", *tags]].melt(["noteId", "raterParticipantId"], var_name="tag")
        long = long[long["value"] == 1]
        tokens = (long["raterParticipantId"] + ":" + long["tag"]).groupby(long["noteId"]).agg(lambda s: sorted(set(s))).rename(name).reset_index()
        out = out.merge(tokens, how="left")
    for name in ["USER_HELPFULNESS_RATINGS", "USER_HELPFUL_TAGS", "USER_NOT_HELPFUL_TAGS"]:
        out[name] = out[name].apply(lambda v: v if isinstance(v, list) else [])
    f = r["RATER_FACTOR"]
    bucket = np.where(f < -0.3, "NEGATIVE", np.where(f > 0.3, "POSITIVE", "NEUTRAL"))
    with_factor = r[f.notna()].assign(bucket=bucket[f.notna().to_numpy()])
    names = [f"{b}_{l}" for b in ["NEGATIVE", "NEUTRAL", "POSITIVE"] for l in LEVELS]
    keys = with_factor["bucket"] + "_" + with_factor["helpfulnessLevel"].fillna("")
    counts = pd.crosstab(with_factor["noteId"], keys).reindex(columns=names, fill_value=0) if len(with_factor) else pd.DataFrame(columns=names, dtype="int64")
    counts = counts.rename_axis("noteId").reset_index()
    out = out.merge(counts, how="left")
    helpful_f = r[(r["helpfulnessLevel"] == "HELPFUL") & f.notna()]
    pos, neg = helpful_f[helpful_f["RATER_FACTOR"] > 0].groupby("noteId")["RATER_FACTOR"], helpful_f[helpful_f["RATER_FACTOR"] <= 0].groupby("noteId")["RATER_FACTOR"]
    stats = pd.DataFrame({"MAX_POS_HELPFUL": pos.max(), "MAX_NEG_HELPFUL": neg.min().abs(), "MEAN_POS_HELPFUL": pos.mean(), "MEAN_NEG_HELPFUL": neg.mean().abs(), "STD_HELPFUL": helpful_f.groupby("noteId")["RATER_FACTOR"].std()})
    stats["MAX_DIFF"] = stats["MAX_POS_HELPFUL"] + stats["MAX_NEG_HELPFUL"]
    stats["MEAN_DIFF"] = stats["MEAN_POS_HELPFUL"] + stats["MEAN_NEG_HELPFUL"]
    out = out.merge(stats.reset_index(), how="left")
    shares = r.groupby("noteId")[not_helpful + helpful].mean().reset_index()
    out = out.merge(shares, how="left")
    size = r.groupby("noteId").size().rename(prefix).reset_index()
    out = out.merge(size, how="left")
    out[prefix] = out[prefix].fillna(0).astype("int64")
    for c in counts.columns[1:]:
        out[c] = out[c].fillna(0).astype("int64")
    return out.rename(columns={c: f"{prefix}_{c}" for c in out.columns if c not in ("noteId", prefix)})


def timing(local, scored, present):
    out = scored[["noteId", "noteCreationMillis"]].copy()
    total = local.groupby("noteId").size().rename("total")
    out = out.merge(total.reset_index(), how="left").fillna({"total": 0})
    l = local.merge(scored[["noteId", "noteCreationMillis"]])
    for c in BUCKETS:
        first = l[l["createdAtMillis"] < l["noteCreationMillis"] + c * MINUTE].groupby("noteId").size().rename(f"FIRST_{c}_TOTAL")
        out = out.merge(first.reset_index(), how="left").fillna({f"FIRST_{c}_TOTAL": 0})
        counts = []
        for o in range(c):
            b = local[["noteId"]].assign(bucket=(local["createdAtMillis"] + o * MINUTE) // (c * MINUTE))
            counts.append(b.value_counts())
        burst = pd.concat(counts).groupby("noteId").max().rename(f"BURST_{c}_TOTAL")
        out = out.merge(burst.reset_index(), how="left").fillna({f"BURST_{c}_TOTAL": 0})
        lp = local.merge(present)
        recent = lp[lp["createdAtMillis"] > lp["effectivePresent"] - c * MINUTE].groupby("noteId").size().rename(f"RECENT_{c}_TOTAL")
        out = out.merge(recent.reset_index(), how="left").fillna({f"RECENT_{c}_TOTAL": 0})
    for k in ["FIRST", "BURST", "RECENT"]:
        for c in BUCKETS:
            out[f"{k}_{c}_RATIO"] = out[f"{k}_{c}_TOTAL"] / out["total"].clip(lower=1)
    return out.drop(columns=["total", "noteCreationMillis"])


def peer_counts(scored, notes, nsh, with_cutoff):
    peers = notes[["noteId", "tweetId", "classification"]].merge(nsh[["noteId", "createdAtMillis", STABLE, "timestampMillisOfFirstNonNMRStatus", "firstNonNMRStatus"]])
    pairs = scored[["noteId", "tweetId", *(["SCORING_CUTOFF_MTS"] if with_cutoff else [])]].merge(peers.rename(columns={"noteId": "peerId"}), on="tweetId")
    pairs = pairs[pairs["noteId"] != pairs["peerId"]]
    if with_cutoff:
        pairs = pairs[pairs["createdAtMillis"] <= pairs["SCORING_CUTOFF_MTS"]].copy()
        pairs.loc[(pairs[STABLE] > pairs["SCORING_CUTOFF_MTS"]).fillna(False), STABLE] = pd.NA
        late = (pairs["timestampMillisOfFirstNonNMRStatus"] > pairs["SCORING_CUTOFF_MTS"]).fillna(False)
        pairs.loc[late, "firstNonNMRStatus"] = None
    mis = pairs["classification"] == MISLEADING
    pairs = pairs.assign(
        TOTAL_PEER_NOTES=1,
        TOTAL_PEER_MISLEADING_NOTES=mis.astype(int),
        TOTAL_PEER_NON_MISLEADING_NOTES=(pairs["classification"] == NOT_MISLEADING).astype(int),
        TOTAL_PEER_STABILIZATION_NOTES=(mis & pairs[STABLE].notna()).astype(int),
        TOTAL_PEER_CRH_NOTES=(mis & (pairs["firstNonNMRStatus"] == CRH)).astype(int),
    )
    counts = pairs.groupby("noteId")[PEERS].sum().reset_index()
    out = scored[["noteId"]].merge(counts, how="left")
    return out.fillna(0).astype({c: "int64" for c in PEERS})


def note_info(notes, ratings, nsh, factors, scored, training):
    """One row per scored note (A4.4-A7): `scored` has noteId, tweetId,
    classification, noteCreationMillis, tweetCreationMillis (and the cutoff in training)."""
    helpful, not_helpful = tag_names(ratings)
    adjacent = notes[["noteId", "tweetId"]].merge(scored[["tweetId"]].drop_duplicates())[["noteId"]]
    r = ratings.merge(adjacent).merge(factors, how="left")
    local = r.merge(scored[["noteId"]])
    peer = r.merge(notes[["noteId", "tweetId", "classification"]]).rename(columns={"noteId": "ratedOnNoteId"})
    peer = peer.merge(scored[["noteId", "tweetId"]], on="tweetId")
    peer = peer[peer["noteId"] != peer["ratedOnNoteId"]]
    sets = {"LOCAL": local, "PEER_MISLEADING": peer[peer["classification"] == MISLEADING], "PEER_NON_MISLEADING": peer[peer["classification"] == NOT_MISLEADING]}
    if training:
        cut = scored[["noteId", "SCORING_CUTOFF_MTS"]]
        sets = {k: v.merge(cut).query("createdAtMillis <= SCORING_CUTOFF_MTS") for k, v in sets.items()}
        present = cut.rename(columns={"SCORING_CUTOFF_MTS": "effectivePresent"})
    else:
        present = scored[["noteId"]].assign(effectivePresent=sets["LOCAL"]["createdAtMillis"].max())
    info = scored.copy()
    info["NOTE_WRITING_LATENCY"] = info["noteCreationMillis"] - info["tweetCreationMillis"]
    info = info.merge(nsh[["noteId", "noteAuthorParticipantId"]])
    info = info.merge(timing(sets["LOCAL"], scored, present), how="left")
    info = info.merge(peer_counts(scored, notes, nsh, training), how="left")
    for prefix in SETS:
        info = info.merge(set_features(sets[prefix], scored, helpful, not_helpful, prefix), how="left")
    return info


def training_table(notes, ratings, nsh, pre):
    c = candidates(notes, nsh)
    c = c[c["tweetId"] > MIN_TWEET_ID]
    c = c[c["noteId"].isin(ratings["noteId"])]
    l = labels(nsh.merge(c[["noteId"]]))
    factors = rater_factors(pre)
    frames = []
    for mode in ["MIN", "MAX"]:
        k = cutoffs(nsh.merge(c[["noteId"]]), ratings.merge(c[["noteId"]]), mode)
        scored = c.merge(k).merge(l)
        frames.append(note_info(notes, ratings, nsh, factors, scored, True))
    return pd.concat(frames).sort_values("noteId", kind="stable").reset_index(drop=True)


def tag_columns(ratings):
    helpful, not_helpful = tag_names(ratings)
    return [f"{p}_{t}" for p in SETS for t in not_helpful + helpful]


def bucket_columns(prefix):
    return [f"{prefix}_{b}_{l}" for b in ["NEGATIVE", "NEUTRAL", "POSITIVE"] for l in LEVELS]


def identity(x):
    return x


def log2_1p(x):
    return np.log2(1 + x)


def kbins(n):
    return KBinsDiscretizer(n_bins=n, encode="onehot", strategy="kmeans", subsample=None)


def pipeline(train, tags):
    """A8's ColumnTransformer, its thresholds from the raw training frame."""
    thresholds = {c: train[c].quantile(0.99) for c in tags}
    thresholds.update({c: train[c].quantile(0.999) for c in TIMING + ["NOTE_WRITING_LATENCY"]})
    thresholds.update({c: train[c].quantile(0.9999) for c in PEERS})
    steps = [("author", OneHotEncoder(handle_unknown="ignore"), ["noteAuthorParticipantId"])]
    for kind, (min_df, pct) in [("USER_HELPFULNESS_RATINGS", (1, None)), ("USER_HELPFUL_TAGS", (5, 10)), ("USER_NOT_HELPFUL_TAGS", (5, 50))]:
        for p in SETS:
            vec = CountVectorizer(tokenizer=identity, preprocessor=identity, token_pattern=None, min_df=min_df, binary=True)
            steps.append((f"{p}_{kind}", vec if pct is None else Pipeline([("v", vec), ("s", SelectPercentile(chi2, percentile=pct))]), f"{p}_{kind}"))
    for c in tags:
        if train[c].min() != train[c].max():
            steps.append((c, Pipeline([("vt", VarianceThreshold()), ("b", kbins(10))]), [c]))
    for p in SETS:
        for c in bucket_columns(p):
            steps.append((c, Pipeline([("log", FunctionTransformer(log2_1p)), ("b", kbins(7))]), [c]))
    counts = [c for p in SETS for c in bucket_columns(p)]
    for d in [2, 3]:
        steps.append((f"cross_{d}", Pipeline([("log", FunctionTransformer(log2_1p)), ("b", kbins(7)), ("vt", VarianceThreshold(0.001)), ("p", PolynomialFeatures((d, d), interaction_only=True, include_bias=False)), ("vt2", VarianceThreshold(0.001))]), counts))
    for p in SETS:
        steps.append((f"{p}_cross_4", Pipeline([("log", FunctionTransformer(log2_1p)), ("b", kbins(7)), ("vt", VarianceThreshold(0.001)), ("p", PolynomialFeatures((2, 2), interaction_only=True, include_bias=False)), ("p2", PolynomialFeatures((2, 2), interaction_only=True, include_bias=False)), ("vt2", VarianceThreshold(0.001))]), bucket_columns(p)))
    for p in SETS:
        steps.append((f"{p}_stats", Pipeline([("fill", FunctionTransformer(lambda x: x.fillna(-1))), ("b", kbins(10)), ("p", PolynomialFeatures((1, 2), interaction_only=True, include_bias=False)), ("vt", VarianceThreshold(0.001))]), [f"{p}_{s}" for s in STATS]))
    for c in TIMING:
        steps.append((c, kbins(5), [c]))
    steps.append(("latency", kbins(10), ["NOTE_WRITING_LATENCY"]))
    for c in PEERS:
        steps.append((c, kbins(4), [c]))
    steps.append(("peer_cross", Pipeline([("log", FunctionTransformer(log2_1p)), ("b", kbins(4)), ("p", PolynomialFeatures((2, 2), interaction_only=True, include_bias=False)), ("vt", VarianceThreshold(0.001))]), PEERS))
    return thresholds, ColumnTransformer(steps, remainder="drop", sparse_threshold=1.0)


def transformed(frame, thresholds, tags):
    x = frame.copy()
    for c in tags:
        x[c] = x[c].astype("float64").fillna(-0.25).clip(-0.25, thresholds[c])
    for c in TIMING:
        v = x[c].astype("float64").clip(0, thresholds[c])
        x[c] = v if c.endswith("RATIO") else np.log2(1 + v)
    x["NOTE_WRITING_LATENCY"] = np.log2(x["NOTE_WRITING_LATENCY"].astype("float64").clip(0, thresholds["NOTE_WRITING_LATENCY"]))
    for c in PEERS:
        x[c] = np.log2(1 + x[c].astype("float64").clip(0, thresholds[c]))
    return x


# Wall seconds of the parts (load, training table, train and within it the
# pipeline and liblinear, predict), printed with the result.
SECONDS = {}


def train(table, tags, seed):
    np.random.seed(seed)
    y = (table["LABEL"] == "FLIP").astype(int).to_numpy()
    train_df, valid_df, y_train, y_valid = train_test_split(table, y, train_size=0.9)
    started = time.perf_counter()
    thresholds, columns = pipeline(train_df, tags)
    # The original's one Pipeline, fitted in its two parts to time them apart.
    features = Pipeline([("columns", columns), ("vt", VarianceThreshold())])
    x = features.fit_transform(transformed(train_df, thresholds, tags), y_train)
    SECONDS["pipeline"] = time.perf_counter() - started
    started = time.perf_counter()
    lr = LogisticRegression(penalty="l1", C=0.04, solver="liblinear", max_iter=2500, tol=1e-4, class_weight={0: 1, 1: 1}).fit(x, y_train)
    SECONDS["liblinear"] = time.perf_counter() - started
    model = Pipeline(features.steps + [("lr", lr)])
    scores = model.decision_function(transformed(train_df, thresholds, tags))
    fpr, tpr, thr = roc_curve(y_train, scores)
    threshold = thr[np.argmin(np.abs(fpr - 0.6))]
    valid_scores = model.decision_function(transformed(valid_df, thresholds, tags))
    return model, thresholds, threshold, {"rows": len(train_df), "columns": int(model.named_steps["vt"].get_support().sum()), "auc": roc_auc_score(y_train, scores), "validation_auc": roc_auc_score(y_valid, valid_scores)}


def predict(notes, ratings, nsh, pre, model, thresholds, threshold, tags, batch=10_000):
    stable = nsh[(nsh["timestampMillisOfNmrDueToMinStableCrhTime"] > 0).fillna(False)][["noteId"]]
    targets = notes.merge(stable)[["tweetId"]].drop_duplicates()
    target_notes = notes[notes["tweetId"].isin(targets["tweetId"])]
    tweets = target_notes[["tweetId"]].drop_duplicates()
    tweets = tweets[tweets["tweetId"] != -1]
    factors = rater_factors(pre)
    labels = []
    for start in range(0, len(tweets), batch):
        batch_notes = target_notes.merge(tweets.iloc[start : start + batch])[["noteId"]]
        n = notes.merge(batch_notes)
        scored = candidates(n, nsh.merge(batch_notes))
        info = note_info(n, ratings.merge(batch_notes), nsh.merge(batch_notes), factors, scored, False)
        scores = model.decision_function(transformed(info, thresholds, tags))
        labels.extend("FLIP" if s > threshold else "CRH" for s in scores)
    return {"FLIP": labels.count("FLIP"), "CRH": labels.count("CRH")}


def main(root, seed):
    # KBins and KMeans warn of merged bins on every small column, as in the original's runs.
    warnings.filterwarnings("ignore")
    started = time.perf_counter()
    notes, ratings, nsh, pre = load(pathlib.Path(root))
    SECONDS["load"] = time.perf_counter() - started
    tags = tag_columns(ratings)
    started = time.perf_counter()
    table = training_table(notes, ratings, nsh, pre)
    SECONDS["training table"] = time.perf_counter() - started
    started = time.perf_counter()
    model, thresholds, threshold, trained = train(table, tags, seed)
    SECONDS["train"] = time.perf_counter() - started
    started = time.perf_counter()
    predicted = predict(notes, ratings, nsh, pre, model, thresholds, threshold, tags)
    SECONDS["predict"] = time.perf_counter() - started
    print(json.dumps({"training_table_rows": len(table), **trained, "threshold": float(threshold), "predictions": predicted, "seconds": SECONDS}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
