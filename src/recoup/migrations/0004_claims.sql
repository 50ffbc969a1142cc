-- Claims: findings grouped the way Amazon's forms take them, tracked until the money arrives.
--
-- `claim_events` is the record: rows are only ever appended. `claims` and `claim_findings` are
-- its current picture, updated in the same transaction as each event, so that lists and the
-- dashboard read one row per claim instead of replaying the log.

-- Which policy window dates a finding (`removal_short` has two: the order's and, from the
-- seller's receipt log, the shipment's); the case text names it. NULL in audits stored before.
ALTER TABLE findings ADD COLUMN window_id VARCHAR;

CREATE SEQUENCE claim_numbers START 1;
CREATE SEQUENCE claim_event_numbers START 1;

CREATE TABLE claims (
    claim_id          VARCHAR PRIMARY KEY,   -- C1, C2, ... (short, to type on the command line)
    account           VARCHAR NOT NULL,
    kind              VARCHAR NOT NULL,
    marketplace       VARCHAR NOT NULL,
    currency          VARCHAR,
    group_key         VARCHAR NOT NULL,      -- the id Amazon's form takes: FNSKU, order, shipment...
    state             VARCHAR NOT NULL,      -- draft, filed, reimbursed, partly_reimbursed,
                                             -- denied, expired, withdrawn
    drafted_on        DATE NOT NULL,         -- as-of date of the audit that drafted it
    quantity          BIGINT NOT NULL,       -- units asked for (0 for money-only kinds)
    amount            DECIMAL(18,2) NOT NULL,
    window_opens      DATE NOT NULL,         -- the latest opening among its findings
    window_closes     DATE NOT NULL,         -- the earliest closing: the claim's deadline
    case_id           VARCHAR,
    filed_on          DATE,
    recovered_units   BIGINT NOT NULL,
    recovered_amount  DECIMAL(18,2) NOT NULL,
    review            VARCHAR                -- why a person should look again (NULL: nothing)
);

CREATE TABLE claim_findings (
    claim_id           VARCHAR NOT NULL,
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
    window_id          VARCHAR,
    evidence           VARCHAR NOT NULL,    -- JSON list of {report, file, line}
    removed_on         DATE,                -- left a draft (no longer owed, or its window closed)
    removed_why        VARCHAR,
    PRIMARY KEY (claim_id, finding_id)
);

CREATE TABLE claim_events (
    event_no     BIGINT PRIMARY KEY,
    claim_id     VARCHAR NOT NULL,
    account      VARCHAR NOT NULL,
    recorded_at  TIMESTAMP NOT NULL,
    on_date      DATE NOT NULL,           -- the day it happened (filing day, approval day, ...)
    event        VARCHAR NOT NULL,        -- drafted, finding_added, finding_removed, filed,
                                          -- payment, denied, withdrawn, expired, reopened,
                                          -- flagged, review_cleared
    state_after  VARCHAR NOT NULL,
    case_id      VARCHAR,
    finding_id   VARCHAR,
    payment_key  VARCHAR,                 -- the reimbursements row a payment came from
    units        BIGINT,
    amount       DECIMAL(18,2),
    note         VARCHAR
);

-- The case ids of tracked claims about one inbound shipment: a reimbursement carrying such a
-- case id cancels exactly that shipment's units (audit-rules.md, inbound_shortage). A case id
-- naming several shipments says nothing about which, so it is left out.
CREATE VIEW claim_cases AS
SELECT c.account, c.marketplace, c.kind, trim(c.case_id) AS case_id,
       min(m.shipment_id) AS shipment_id
FROM claims c JOIN claim_findings m USING (claim_id)
WHERE c.case_id IS NOT NULL AND c.state <> 'withdrawn' AND m.removed_on IS NULL
  AND m.shipment_id IS NOT NULL AND m.shipment_id <> ''
GROUP BY c.account, c.marketplace, c.kind, trim(c.case_id)
HAVING count(DISTINCT m.shipment_id) = 1;
