#!/usr/bin/env bash
# `make run`: seed the demo data (and a first model), then start the MLflow UI, the prediction
# API and the dashboard on the loopback address. Ctrl-C stops all of them.
set -euo pipefail
VENV=${1:-.venv}
HOST=${2:-127.0.0.1}
BIN="$VENV/bin"
HOME_DIR=${AUTOMLOPS_HOME:-$(pwd)}
MLFLOW_PORT=${MLFLOW_UI_PORT:-5000}
API_PORT=${API_PORT:-8000}
DASHBOARD_PORT=${DASHBOARD_PORT:-8501}

"$BIN/automlops" demo
if [ -z "$(ls -A "$HOME_DIR/models" 2>/dev/null | grep -v README.md || true)" ]; then
  echo "Training a first demo model so the API has something to serve (about 20 s)..."
  "$BIN/automlops" train lake:breast_cancer --target target --preset fast --time-budget 20 || true
fi

pids=()
cleanup() { trap - INT TERM EXIT; for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup INT TERM EXIT

MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false "$BIN/mlflow" server \
  --backend-store-uri "sqlite:///$HOME_DIR/mlflow.db" --artifacts-destination "$HOME_DIR/mlartifacts" \
  --host "$HOST" --port "$MLFLOW_PORT" --workers 1 >"$HOME_DIR/.mlflow-ui.log" 2>&1 &
pids+=($!)
# The API needs a key. Without one (environment or .env), make a throwaway key for this run
# and print it in the summary below, so the summary and the key are never out of order.
KEY_SET=$("$BIN/python" -c "from automlops.config import API_KEY_PLACEHOLDER as P, Settings
k = (Settings().api_key or '').strip()
print('yes' if k and k != P else '')")
if [ -n "$KEY_SET" ]; then
  KEY_NOTE="send your API_KEY (from the environment or .env) in the x-api-key header"
else
  API_KEY=$("$BIN/python" -c "import secrets; print(secrets.token_urlsafe(32))")
  export API_KEY
  KEY_NOTE="send the x-api-key header; this run's key is $API_KEY"
fi
"$BIN/automlops" serve --host "$HOST" --port "$API_PORT" &
pids+=($!)
"$BIN/streamlit" run app.py --server.headless true --server.address "$HOST" \
  --server.port "$DASHBOARD_PORT" --browser.gatherUsageStats false >"$HOME_DIR/.dashboard.log" 2>&1 &
pids+=($!)

sleep 2
cat <<MSG

  Dashboard:  http://$HOST:$DASHBOARD_PORT
  API:        http://$HOST:$API_PORT/docs   ($KEY_NOTE)
  MLflow UI:  http://$HOST:$MLFLOW_PORT
  Data lake:  $HOME_DIR/data_lake     Models: $HOME_DIR/models

  Press Ctrl-C to stop.
MSG
wait
