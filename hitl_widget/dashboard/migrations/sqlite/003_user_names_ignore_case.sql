-- Names differing only in case are one name: "Alice" cannot be added beside "alice", so the
-- requester rule (on_behalf_of, compared ignoring case) cannot be dodged with a second spelling.
CREATE UNIQUE INDEX users_name_folded ON users (lower(name));
