-- The taxpayer index's Merkle Patricia Tree as rows (docs/mpt.md, "Stored nodes"): each snapshot
-- adds the nodes it changed, tagged with its number, so an answer walks one key's path (the
-- newest row of each node at or before the snapshot) instead of rebuilding the whole tree.
-- Append-only like the other index tables; the rows are derived, and a proof read from them is
-- checked against the signed snapshot hash before it is handed out.
CREATE TABLE taxpayer_index_nodes (
    node_id      bytea  NOT NULL,  -- 'R' the root pointer, 'L' || key a leaf, 'I' || split || bits
    snapshot_seq bigint NOT NULL CHECK (snapshot_seq >= 0),
    hash         bytea  NOT NULL CHECK (length(hash) = 32),
    split        integer,          -- an inner node's split bit
    left_id      bytea,            -- an inner node's children; the root's top node
    right_id     bytea,
    left_hash    bytea,
    right_hash   bytea,
    val          bytea,            -- a leaf's value
    PRIMARY KEY (node_id, snapshot_seq)
);

SELECT ledger_append_only(ARRAY['taxpayer_index_nodes']);
