-- Labelled notes by label, and how many of them have cutoffs (the rest have no rating).
SELECT
  l.LABEL,
  count(*) AS labelled,
  count(k.noteId) AS with_cutoffs
FROM labels l
LEFT JOIN (SELECT DISTINCT noteId FROM cutoffs) k ON k.noteId = l.noteId
GROUP BY l.LABEL
ORDER BY l.LABEL
