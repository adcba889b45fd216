-- stacked: each training client's recommendations from TAAR's collaborative,
-- similarity and locale recommenders (limit 4, as the original asks them;
-- taar_* functions, on the executors), the log-likelihood-ratio cost of
-- each list against the held-out add-on, and the label: whether any cost is
-- positive. A NULL similarity list is a client the TAAR service raises for.
WITH recommended AS (
  SELECT *,
         taar_collaborative(installed, $item_matrix, $addon_mapping, 4) AS collaborative_recs,
         taar_similarity([geo_city, locale, os], [subsession_length, bookmark_count, tab_open_count, total_uri, unique_tlds],
                         $donors, $lr_curves, 4) AS similarity_recs,
         taar_locale(locale, $top_addons, 4) AS locale_recs
  FROM clients
),
costs AS (
  SELECT *,
         cllr(collaborative_recs, expected) AS cllr_collaborative,
         cllr(similarity_recs, expected) AS cllr_similarity,
         cllr(locale_recs, expected) AS cllr_locale
  FROM recommended
)
SELECT *, CAST(cllr_collaborative + cllr_similarity + cllr_locale > 0 AS INT) AS label
FROM costs
