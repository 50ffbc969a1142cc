-- The workspace's own bookkeeping: imported files, the days each file covers, rejects, warnings.

CREATE SEQUENCE source_file_ids START 1;

-- One row per imported report (a .gz or .zip member counts as its own report). file_id grows
-- with import order, so "the most recently imported file" is the largest file_id.
CREATE TABLE source_files (
    file_id      INTEGER PRIMARY KEY,
    account      VARCHAR NOT NULL,
    sha256       VARCHAR NOT NULL,
    name         VARCHAR NOT NULL,   -- file name as given (archive!member for archives)
    origin       VARCHAR,            -- the path it was imported from
    size_bytes   BIGINT NOT NULL,
    report_type  VARCHAR NOT NULL,   -- layout id, e.g. settlement_v1
    canonical    VARCHAR NOT NULL,   -- canonical table, e.g. settlements
    encoding     VARCHAR NOT NULL,
    delimiter    VARCHAR NOT NULL,
    header_line  INTEGER NOT NULL,
    columns      VARCHAR NOT NULL,   -- JSON list of the header as printed
    rows         BIGINT NOT NULL,
    rejects      BIGINT NOT NULL,
    first_date   DATE,
    last_date    DATE,
    imported_at  TIMESTAMP NOT NULL,
    UNIQUE (account, sha256)
);

-- Days (per marketplace) that a day-based report file covers: from its first to its last date.
CREATE TABLE coverage_days (
    canonical    VARCHAR NOT NULL,
    account      VARCHAR NOT NULL,
    marketplace  VARCHAR NOT NULL,
    day          DATE NOT NULL,
    file_id      INTEGER NOT NULL
);

-- Rows that could not be read, kept with their raw text so nothing is silently dropped.
CREATE TABLE rejects (
    file_id      INTEGER NOT NULL,
    line         BIGINT,
    column_name  VARCHAR,
    raw_text     VARCHAR,
    problem      VARCHAR NOT NULL
);

CREATE TABLE import_warnings (
    file_id      INTEGER NOT NULL,
    message      VARCHAR NOT NULL
);
