"""Loads a taar-similarity output (written with --donor-schema taar) into the
TAAR service's own SimilarityRecommender (mozilla-taar3 1.0.7) and prints
its recommendations for one client.

usage: taar_similarity.py DONORS_JSON LR_CURVES_JSON CLIENT_JSON LIMIT

The service reads both files through its cache (Redis filled from cloud
storage), which also precomputes the donors' feature matrices. A static cache
stands in for it, with the matrices built as
TAARCache._build_similarity_features_caches builds them (that module needs
the Google Cloud Storage client to import).
"""

import json
import sys

import numpy as np
from taar.recommenders.similarity_recommender import (
    CATEGORICAL_FEATURES,
    CONTINUOUS_FEATURES,
    SimilarityRecommender,
)

from taar_service import service_context


def cache_context(donors, curves):
    continuous = np.zeros((len(donors), len(CONTINUOUS_FEATURES)))
    categorical = np.zeros((len(donors), len(CATEGORICAL_FEATURES)), dtype="object")
    for i, d in enumerate(donors):
        continuous[i] = [d.get(k) for k in CONTINUOUS_FEATURES]
        categorical[i] = np.array([[d.get(k) for k in CATEGORICAL_FEATURES]], dtype="object")
    return {
        "donors_pool": donors,
        "lr_curves": curves,
        "num_donors": len(donors),
        "continuous_features": continuous,
        "categorical_features": categorical,
    }


def main(donors_path, curves_path, client_json, limit):
    with open(donors_path) as f:
        donors = json.load(f)
    with open(curves_path) as f:
        curves = json.load(f)
    recommender = SimilarityRecommender(service_context(cache_context(donors, curves)))
    client = json.loads(client_json)
    if not recommender.can_recommend(client):
        sys.exit(f"SimilarityRecommender cannot recommend for {client!r}")
    print(json.dumps(recommender.recommend(client, limit)))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
