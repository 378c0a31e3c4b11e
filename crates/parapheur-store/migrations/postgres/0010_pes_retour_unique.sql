-- A PES Retour file is filed once per subscriber and name, even when two instances poll the
-- transmitter at the same moment (the second insert fails and is treated as already filed).
-- Copies filed twice before this index existed are removed first (the oldest is kept).
DELETE FROM return_flows
WHERE kind = 'pes-retour'
  AND id NOT IN (SELECT MIN(id) FROM return_flows WHERE kind = 'pes-retour' GROUP BY siren, filename);
CREATE UNIQUE INDEX return_flows_pes_retour_once ON return_flows (siren, filename) WHERE kind = 'pes-retour';
