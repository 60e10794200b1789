#!/usr/bin/env bash
# `make run`: seed the demo data, then start the studio's services on the loopback address.
# Ctrl-C stops all of them.
set -euo pipefail
VENV=${1:-.venv}
HOST=${2:-127.0.0.1}
BIN="$VENV/bin"
HOME_DIR=${AUTOMLOPS_HOME:-$(pwd)}
MLFLOW_PORT=${MLFLOW_UI_PORT:-5000}

"$BIN/automlops" demo
pids=()
cleanup() { trap - INT TERM EXIT; for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup INT TERM EXIT

MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false "$BIN/mlflow" server \
  --backend-store-uri "sqlite:///$HOME_DIR/mlflow.db" --artifacts-destination "$HOME_DIR/mlartifacts" \
  --host "$HOST" --port "$MLFLOW_PORT" --workers 1 >"$HOME_DIR/.mlflow-ui.log" 2>&1 &
pids+=($!)

if [ -f app.py ] && grep -q "st.navigation" app.py 2>/dev/null; then
  "$BIN/streamlit" run app.py --server.headless true --server.address "$HOST" \
    --server.port "${DASHBOARD_PORT:-8501}" --browser.gatherUsageStats false &
  pids+=($!)
  echo "Dashboard:  http://$HOST:${DASHBOARD_PORT:-8501}"
else
  echo "The dashboard is not built yet; training the demo model from the CLI instead:"
  "$BIN/automlops" train lake:breast_cancer --target target --preset fast
fi
echo "MLflow UI:  http://$HOST:$MLFLOW_PORT   (runs, metrics, models)"
echo "Models:     $HOME_DIR/models      Data lake: $HOME_DIR/data_lake"
echo "Press Ctrl-C to stop."
wait
