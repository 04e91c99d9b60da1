// name: progress_get
// How far an earlier load of the same workspace state got, per table and writer (stream).
MATCH (p:LoadProgress {load_key: $load_key})
RETURN p.table AS table, p.stream AS stream, p.batches_done AS batches_done, p.rows_done AS rows_done,
       p.complete AS complete

// name: progress_mark
// Written in the same transaction as the batch it counts, so it never claims a batch that
// was not committed.
MERGE (p:LoadProgress {progress_id: $progress_id})
SET p.load_key = $load_key, p.table = $table, p.stream = $stream, p.batches_done = $batches_done, p.rows_done = $rows_done,
    p.batch_size = $batch_size, p.complete = $complete, p.updated_at = datetime()

// name: progress_reset
// A finished load is done: the next load of the same state starts again from the first batch.
MATCH (p:LoadProgress {load_key: $load_key}) DETACH DELETE p
