-- The id of the request whose change enqueued the job (issue 21): the worker's log lines about
-- the job carry it, so one request can be followed into the messages it caused.
ALTER TABLE jobs ADD COLUMN request_id TEXT;
