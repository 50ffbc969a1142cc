-- Audits and their findings. Each audit of an account for an as-of date replaces that date's
-- findings; `finding_id` is the same for the same finding on every run and re-import.

CREATE TABLE audits (
    account      VARCHAR NOT NULL,
    as_of        DATE NOT NULL,
    engine       VARCHAR NOT NULL,
    ran_at       TIMESTAMP NOT NULL,
    findings     BIGINT NOT NULL,
    skipped      VARCHAR NOT NULL,   -- JSON: kind -> why it did not run
    PRIMARY KEY (account, as_of)
);

CREATE TABLE findings (
    account            VARCHAR NOT NULL,
    as_of              DATE NOT NULL,
    finding_id         VARCHAR NOT NULL,
    kind               VARCHAR NOT NULL,
    marketplace        VARCHAR NOT NULL,
    fnsku              VARCHAR,
    msku               VARCHAR,
    asin               VARCHAR,
    fulfillment_center VARCHAR,
    reference_id       VARCHAR,
    order_id           VARCHAR,
    shipment_id        VARCHAR,
    removal_order_id   VARCHAR,
    reimbursement_id   VARCHAR,
    event_date         DATE NOT NULL,
    quantity           BIGINT NOT NULL,
    unit_value         DECIMAL(18,2) NOT NULL,
    amount             DECIMAL(18,2) NOT NULL,
    currency           VARCHAR,
    value_basis        VARCHAR NOT NULL,
    window_opens       DATE NOT NULL,
    window_closes      DATE NOT NULL,
    state              VARCHAR NOT NULL,
    evidence           VARCHAR NOT NULL   -- JSON list of {report, file, line}
);
-- No primary key: ids are unique by construction (recoup.audit sums rows per id), and an index
-- over 100k+ findings made every re-audit's delete and insert several times slower.

-- The as-of date of the first audit that saw an inbound shipment CLOSED (its clock when the
-- ledger shows no receipt).
CREATE TABLE shipments_seen_closed (
    account      VARCHAR NOT NULL,
    marketplace  VARCHAR NOT NULL,
    shipment_id  VARCHAR NOT NULL,
    first_seen   DATE NOT NULL,
    PRIMARY KEY (account, marketplace, shipment_id)
);
