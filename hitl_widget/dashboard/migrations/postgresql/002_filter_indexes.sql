-- The queue's filters keep the queue's order (queue_rank, created_at, id) in their indexes, so a
-- filtered first page reads its rows in order instead of sorting every match (10,000 pending: 21 ms -> <1 ms).
DROP INDEX requests_status;
DROP INDEX requests_function;
DROP INDEX requests_on_behalf_of;
CREATE INDEX requests_status ON requests (status, queue_rank, created_at, id);
CREATE INDEX requests_function ON requests (function, queue_rank, created_at, id);
CREATE INDEX requests_risk ON requests (risk, queue_rank, created_at, id);
CREATE INDEX requests_on_behalf_of ON requests (on_behalf_of, queue_rank, created_at, id);
CREATE INDEX requests_agent ON requests (agent, queue_rank, created_at, id);
