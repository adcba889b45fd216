"""Loads a taar-locale output into the TAAR service's own LocaleRecommender
(mozilla-taar3 1.0.7) and prints its recommendations for one client.

usage: taar_locale.py TOP10_DICT_JSON LOCALE LIMIT

The service reads the JSON through its cache (Redis filled from cloud
storage); a static cache stands in for it and serves the file as parsed.
"""

import json
import sys

from taar.recommenders.locale_recommender import LocaleRecommender

from taar_service import service_context


def main(path, locale, limit):
    with open(path) as f:
        locales = json.load(f)
    recommender = LocaleRecommender(service_context({"top_addons_per_locale": locales}))
    client = {"client_id": "generated-client", "locale": locale}
    if not recommender.can_recommend(client):
        sys.exit(f"LocaleRecommender cannot recommend for locale {locale!r}")
    print(json.dumps(recommender.recommend(client, limit)))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
