"""Loads a taar-locale output into the TAAR service's own LocaleRecommender
(mozilla-taar3 1.0.7) and prints its recommendations for one client.

usage: taar_locale.py TOP10_DICT_JSON LOCALE LIMIT

The service reads the JSON through its cache (Redis filled from cloud
storage); StaticCache stands in for it and serves the file as parsed.
"""

import json
import logging
import sys

from taar.context import Context
from taar.interfaces import IMozLogging, ITAARCache
from taar.recommenders.locale_recommender import LocaleRecommender


class Logs(IMozLogging):
    def get_logger(self, name):
        return logging.getLogger(name)

    def set_log_level(self, level):
        logging.getLogger().setLevel(level)


class StaticCache(ITAARCache):
    def __init__(self, path):
        with open(path) as f:
            self.locales = json.load(f)

    def safe_load_data(self):
        pass

    def cache_context(self):
        return {"top_addons_per_locale": self.locales}


def main(path, locale, limit):
    ctx = Context()
    ctx[IMozLogging] = Logs()
    ctx[ITAARCache] = StaticCache(path)
    recommender = LocaleRecommender(ctx)
    client = {"client_id": "generated-client", "locale": locale}
    if not recommender.can_recommend(client):
        sys.exit(f"LocaleRecommender cannot recommend for locale {locale!r}")
    print(json.dumps(recommender.recommend(client, limit)))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
