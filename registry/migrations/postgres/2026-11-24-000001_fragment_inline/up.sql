-- ITI-18 LeafClass answers are the stored fragments. A DocumentEntry row is about 2.25 KB once
-- its ~6 KB fragment is lz4-compressed (1.8 KB): just over PostgreSQL's default TOAST target
-- (2032 bytes), so every compressed fragment was moved out of the row into the TOAST table, and
-- each served object cost a TOAST index probe and a TOAST page besides its row (measured at
-- 1,000,000 DocumentEntries: 526 buffers for one FindDocuments answer of 100 entries instead of
-- 103). With a target of half a page the compressed fragment stays in its row: measured 30-37%
-- less server CPU per FindDocuments (1.19 ms instead of 1.80 ms) and per GetDocuments (27 us
-- instead of 39 us). Fragments whose compressed row exceeds half a page still go to TOAST.
-- Applies to rows written from now on; rows already stored stay in TOAST until rewritten.
ALTER TABLE registry_objects SET (toast_tuple_target = 4080);
