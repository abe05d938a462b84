-- Returnee profiles have neither an employer nor a sector column (both are
-- always NULL for them), yet every profile written paid for an entry under
-- NULL in both indexes: two of the seven index insertions of a bulk import.
-- Partial indexes skip those rows and still serve the filters, since
-- `column = ?` implies `column IS NOT NULL`.
DROP INDEX workers_employer_id_idx;
CREATE INDEX workers_employer_id_idx ON workers (employer_id, id) WHERE employer_id IS NOT NULL;
DROP INDEX workers_sector_idx;
CREATE INDEX workers_sector_idx ON workers (sector, id) WHERE sector IS NOT NULL;
