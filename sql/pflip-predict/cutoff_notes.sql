-- With --at-cutoff, every scorable note may have a cutoff (A6); otherwise none is needed.
SELECT * FROM candidates WHERE cardinality($modes) > 0
