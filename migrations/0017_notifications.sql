-- Email notifications: an outbox the notifications follower fills from the
-- log (one row per event and recipient, in the follower's checkpoint
-- transaction, so each is written exactly once) and the sender empties (at
-- least once: a crash between the send and its mark sends again, with the
-- same key). Operational state, like subscription checkpoints: not events.
CREATE TABLE notifications (
    id              uuid PRIMARY KEY,
    -- "{event id}/{recipient}": the idempotency key, sent with the mail.
    key             text NOT NULL UNIQUE,
    kind            text NOT NULL,
    recipient       text NOT NULL,
    username        text NOT NULL,
    subject         text NOT NULL,
    text_body       text NOT NULL,
    html_body       text NOT NULL,
    link            text NOT NULL,
    -- PENDING, SENT or FAILED.
    status          text NOT NULL,
    attempts        int NOT NULL DEFAULT 0,
    -- A claimed row's lease ends here: a sender that died leaves it to be
    -- tried again then.
    next_attempt_at timestamptz NOT NULL,
    last_error      text,
    created_at      timestamptz NOT NULL,
    sent_at         timestamptz
);
CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE status = 'PENDING';
CREATE INDEX notifications_recent ON notifications (created_at DESC);
