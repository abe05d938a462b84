-- Issue 11, review: a partner keeps its identity when its key is rotated.
--
-- `source` is the identity a key acts under: it scopes the external ids the
-- key sends, the erasure tombstones of the profiles it sent, the records it
-- may change as their sender, and its partner links (`partner_links.key_id`
-- holds a source). A new key's source is its own id; `jobmatch keys rotate`
-- gives the new key the old key's source. Every key stored before this
-- migration acted under its own id, so that is its source: nothing already
-- stored changes meaning.
ALTER TABLE api_keys ADD COLUMN source TEXT NOT NULL DEFAULT '';
UPDATE api_keys SET source = id;
