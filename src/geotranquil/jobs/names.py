"""The names of the platform's jobs and queues, in one place.

A job is queued by its name (:func:`geotranquil.jobs.enqueue`), so the CLI, the API and other
jobs only need these constants, not the module that registers the job.
"""

#: the retention purge of one local day (``services.retention.purge``)
RETENTION_PURGE = "retention_purge"
#: creating the coming months' partitions of ``events`` (``services.partitions``)
EVENT_PARTITIONS = "event_partitions"
#: the periodic check that queues again the jobs of dead workers
RETRY_STALLED = "retry_stalled_jobs"
#: ingesting a batch pushed by a partner (``POST /sources/{source}/batches``)
INGEST_BATCH = "ingest_batch"
#: recomputing counts and the default analyses after new data (debounced) or on schedule
REFRESH_ANALYSES = "refresh_analyses"
#: the periodic check: the nightly refresh when due, a refresh when events changed unnoticed
REFRESH_CHECK = "refresh_check"
#: evaluating the analysts' alert rules and delivering what fires
SEND_ALERTS = "send_alerts"
#: building the weekly bulletin
BUILD_BULLETIN = "build_bulletin"

#: the queue of maintenance jobs
MAINTENANCE = "maintenance"
#: the queue of the queue's own upkeep (its finished jobs are deleted after a day)
HOUSEKEEPING = "housekeeping"
#: the queue of pushed batches
INGEST = "ingest"
#: the queue of analyses, alerts and bulletins
ANALYSES = "analyses"
