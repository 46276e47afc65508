-- hitl dashboard schema, version 1 (PostgreSQL). JSON values are stored as text.
CREATE TABLE requests (
    id TEXT PRIMARY KEY,
    agent TEXT NOT NULL,
    client_request_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    on_behalf_of TEXT,
    function TEXT NOT NULL,
    risk TEXT NOT NULL,
    status TEXT NOT NULL,
    queue_rank INTEGER NOT NULL,            -- 0 pending, 1 anything else: the queue shows pending first
    version INTEGER NOT NULL,
    view TEXT NOT NULL,
    call_text TEXT NOT NULL,
    context TEXT NOT NULL,
    edits TEXT,
    approvals_needed INTEGER NOT NULL,
    roles TEXT NOT NULL,
    approvals TEXT NOT NULL,
    decision TEXT,
    created_at DOUBLE PRECISION NOT NULL,
    expires_at DOUBLE PRECISION,
    decided_at DOUBLE PRECISION,
    claimed_at DOUBLE PRECISION,
    updated_at DOUBLE PRECISION NOT NULL,
    outcome TEXT,
    problems TEXT,
    UNIQUE (agent, client_request_id)
);
CREATE INDEX requests_queue ON requests (queue_rank, created_at, id);
CREATE INDEX requests_newest ON requests (created_at DESC, id DESC);
CREATE INDEX requests_due ON requests (expires_at) WHERE status = 'pending';
CREATE INDEX requests_function ON requests (function, queue_rank, created_at);
CREATE INDEX requests_status ON requests (status, created_at);
CREATE INDEX requests_on_behalf_of ON requests (on_behalf_of, queue_rank, created_at);

CREATE TABLE decision_log (
    seq BIGSERIAL PRIMARY KEY,
    request_id TEXT NOT NULL,
    at DOUBLE PRECISION NOT NULL,
    actor TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    channel TEXT NOT NULL,
    action TEXT NOT NULL,
    version INTEGER,
    accepted BOOLEAN NOT NULL,
    code TEXT,
    message TEXT NOT NULL,
    status TEXT,
    feedback TEXT,
    edits TEXT
);
CREATE INDEX decision_log_request ON decision_log (request_id, seq);

CREATE TABLE users (
    name TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('person', 'agent')),
    password_hash TEXT,
    roles TEXT NOT NULL,
    slack_id TEXT UNIQUE,
    created_at DOUBLE PRECISION NOT NULL
);

CREATE TABLE tokens (
    token_hash TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    revoked_at DOUBLE PRECISION
);
CREATE INDEX tokens_name ON tokens (name);

CREATE TABLE sessions (
    sid_hash TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX sessions_name ON sessions (name);
