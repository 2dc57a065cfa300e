-- The job tables as diswot made them with create_all at commit 3314c92 (before migrations), on sqlite.
CREATE TABLE calibrations (
	"key" VARCHAR(64) NOT NULL, 
	calibration JSON NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY ("key")
);
CREATE TABLE search_jobs (
	id VARCHAR(32) NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	config JSON NOT NULL, 
	created_at DATETIME NOT NULL, 
	started_at DATETIME, 
	finished_at DATETIME, 
	runs INTEGER NOT NULL, 
	cancel_requested BOOLEAN NOT NULL, 
	evaluations_done INTEGER NOT NULL, 
	evaluations_total INTEGER, 
	best_score DOUBLE, 
	eta_seconds DOUBLE, 
	error TEXT, 
	result JSON, 
	PRIMARY KEY (id)
);
CREATE INDEX ix_search_jobs_status ON search_jobs (status);
CREATE INDEX ix_search_jobs_created_at ON search_jobs (created_at);
CREATE TABLE search_evaluations (
	id INTEGER NOT NULL, 
	job_id VARCHAR(32) NOT NULL, 
	canonical VARCHAR(1024) NOT NULL, 
	evaluation JSON NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (job_id, canonical), 
	FOREIGN KEY(job_id) REFERENCES search_jobs (id) ON DELETE CASCADE
);
CREATE INDEX ix_search_evaluations_job_id ON search_evaluations (job_id);
