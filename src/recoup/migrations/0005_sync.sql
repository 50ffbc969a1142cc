-- `recoup sync`: how far each report has been pulled, and every report requested from Amazon
-- (a sync killed while Amazon prepares a report picks that same report up again).

CREATE TABLE sync_state (
    account         VARCHAR NOT NULL,
    marketplace     VARCHAR NOT NULL,
    pull            VARCHAR NOT NULL,      -- recoup.sources.catalog name, e.g. ledger_detail
    pulled_from     DATE NOT NULL,         -- the first day ever pulled (overlaps stop there)
    pulled_through  DATE NOT NULL,         -- the last day of the newest window imported
    updated_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (account, marketplace, pull)
);

CREATE TABLE sync_jobs (
    account       VARCHAR NOT NULL,
    marketplace   VARCHAR NOT NULL,
    pull          VARCHAR NOT NULL,
    report_type   VARCHAR NOT NULL,
    report_id     VARCHAR NOT NULL,
    window_start  DATE,                    -- NULL for snapshot and settlement reports
    window_end    DATE,
    status        VARCHAR NOT NULL,        -- requested, imported, no_data, failed
    file_name     VARCHAR,
    note          VARCHAR,
    requested_at  TIMESTAMP NOT NULL,
    finished_at   TIMESTAMP,
    PRIMARY KEY (account, pull, report_id)
);
