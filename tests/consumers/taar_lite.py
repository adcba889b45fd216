"""Loads the taar-lite outputs (guid co-installation and install ranking) into
the TAAR service's own cache and GuidBasedRecommender (mozilla-taar3 1.0.7)
and prints its recommendations for one add-on.

usage: taar_lite.py COINSTALL_JSON RANKING_JSON GUID NORMALIZE LIMIT

The service fills its cache (Redis) from cloud storage with TAARCache's
_update_rank_data and _update_coinstall_data, which also derive the
normalisation maps; here the same methods read fletch's files.
"""

import json
import sys

from taar.interfaces import ITAARCache
from taar.recommenders.cache import TAARCache
from taar.recommenders.guid_based_recommender import GuidBasedRecommender
from taar.settings import DefaultCacheSettings

from taar_service import service_context


class FileCache(TAARCache):
    """TAARCache with the TAAR-lite files read from disk instead of cloud storage."""

    def __init__(self, ctx, coinstall_path, ranking_path):
        super().__init__(ctx)
        self._paths = {"coinstall": coinstall_path, "ranking": ranking_path}

    def _read(self, which):
        with open(self._paths[which]) as f:
            return json.load(f)

    def _fetch_coinstall_data(self):
        return self._read("coinstall")

    def _fetch_ranking_data(self):
        return self._read("ranking")

    def _copy_data(self, db):
        # Only TAAR-lite: the other models are not this consumer's.
        self._update_rank_data(db)
        self._update_coinstall_data(db)

    def _build_cache_context(self, db):
        self._cache_context = {}


def main(coinstall_path, ranking_path, guid, normalize, limit):
    ctx = service_context({})
    ctx["cache_settings"] = DefaultCacheSettings
    cache = FileCache(ctx, coinstall_path, ranking_path)
    cache.safe_load_data()
    ctx[ITAARCache] = cache
    recommender = GuidBasedRecommender(ctx)
    client = {"guid": guid, "normalize": normalize}
    if not recommender.can_recommend(client):
        sys.exit(f"GuidBasedRecommender cannot recommend for {guid!r}")
    print(json.dumps(recommender.recommend(client, limit)))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
