-- Duplicates are matched on the canonical source (a registry id), not the source's text: the
-- volume consumer looks up every stored recording of a disclosure id, whatever the source was
-- spelled, and compares the spellings through the registry. This index serves that lookup.
CREATE INDEX disclosures_disclosure_id ON disclosures (disclosure_id);
