-- The statistics page at scale (issue 22): the median delay from deposit to signature and the
-- refusals per month read only the history rows of those states, through indexes that hold
-- nothing else (a few percent of the history; an insert of another state does not touch
-- them). The lists must stay those `portal.rs` writes into its statements (a unit test
-- compares them), or the statements no longer use these indexes.
CREATE INDEX history_signatures ON history (document_id, at_ms)
    WHERE state_name IN ('Signé', 'OTP signé');
CREATE INDEX history_refusals ON history (document_id, at_ms)
    WHERE state_name IN ('Visa désapprouvé', 'Refusé', 'Refusé à l''étape OTP', 'signature rejetée');
