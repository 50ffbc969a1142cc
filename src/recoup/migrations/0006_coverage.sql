-- Proof of absence (audit-rules.md principle 11): the days each imported file covers, per
-- marketplace, so the audit can tell "nothing happened" from "nothing was downloaded".

-- One or more rows per imported file and marketplace: the file's own row dates, the period of
-- the batch it was imported with, the period the seller stated (--period), or the window a sync
-- requested. A report's coverage is the union of these ranges.
CREATE TABLE file_coverage (
    file_id      INTEGER,            -- NULL: a synced window Amazon had no data for (CANCELLED)
    account      VARCHAR NOT NULL,
    marketplace  VARCHAR NOT NULL,
    report       VARCHAR NOT NULL,   -- canonical table, e.g. customer_returns
    first_day    DATE NOT NULL,
    last_day     DATE NOT NULL,
    basis        VARCHAR NOT NULL    -- rows, batch, stated, synced
);

-- Files imported before coverage was recorded cover their own first to last row date (what a
-- file imported alone covers), in every marketplace they hold rows of.
INSERT INTO file_coverage
SELECT DISTINCT c.file_id, c.account, c.marketplace, c.canonical, f.first_date, f.last_date, 'rows'
FROM coverage_days c JOIN source_files f USING (file_id)
WHERE f.first_date IS NOT NULL AND f.last_date IS NOT NULL;

-- An unverified finding names the downloads that would settle it.
ALTER TABLE findings ADD COLUMN needs VARCHAR;
