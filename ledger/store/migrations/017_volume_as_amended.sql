-- The volume as amended, beside the volume as counted (daily_volume). Records only ever count
-- up in daily_volume: an amendment or withdrawal that would lower a day is the discloser's
-- proposal, kept here as the part it would take away (never positive), so an answer can show
-- "as first recorded" and "as amended" side by side (docs/history.md). Mutable like
-- daily_volume: the volume consumer adds to it as amendments arrive.
CREATE TABLE daily_volume_amended (
    scope_kind    text   NOT NULL CHECK (scope_kind IN ('recipient', 'authority', 'pair', 'source')),
    source_agency text   NOT NULL,
    scope_value   text   NOT NULL,
    day           date   NOT NULL,
    disclosures   bigint NOT NULL CHECK (disclosures <= 0),
    records       bigint NOT NULL CHECK (records <= 0),
    PRIMARY KEY (scope_kind, source_agency, scope_value, day)
);
