-- The studio's two databases, created by the official postgres image on its first start (the
-- entrypoint runs /docker-entrypoint-initdb.d/*.sql as POSTGRES_USER while the data volume is empty;
-- on later starts it skips them). Both belong to POSTGRES_USER, the account MLflow and Optuna log in as.
--   mlflow: MLflow's backend store (experiments, runs, params, metrics, the model registry)
--   optuna: the shared Optuna studies of distributed searches (trials, params, heartbeats)
-- Each tool creates and migrates its own tables on first use.
CREATE DATABASE mlflow;
CREATE DATABASE optuna;
