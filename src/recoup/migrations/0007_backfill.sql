-- `recoup sync` pulls the recent days first and backfills older windows newest first: each
-- report remembers how far back its backfill must reach (the first sync's --since, else 18
-- months), so a sync stopped half-way resumes the backfill next time.
ALTER TABLE sync_state ADD COLUMN backfill_to DATE;
