package shop

// Job is work for the shop's durable job queue (package jobs): written in the transaction of the
// change it follows from, done after that commits, on any instance, retried with backoff until it
// succeeds. Kind names the worker that does it; its exported fields are kept as JSON, so a job
// carries no secret in the clear.
type Job interface {
	Kind() string
}

// StoreJob is a job about one store's records: the store's admins see it when it fails, and may
// have it tried again.
type StoreJob interface {
	Job
	JobStore() StoreID
}
