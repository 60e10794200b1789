# AutoMLOps Studio — one image for the dashboard, the prediction API, the MLflow server and the search
# workers (docker-compose.yml starts each with its own command; PostgreSQL uses the official image).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    AUTOMLOPS_HOME=/data

# libgomp: OpenMP runtime used by LightGBM and XGBoost; curl: the services' healthchecks
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 curl \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt .
# torch's CPU build (~1 GB less than the CUDA one PyPI serves): "2.14.1+cpu" satisfies "torch==2.14.1".
# For a GPU image, drop the extra index (and run the container with --gpus all).
RUN pip install --extra-index-url https://download.pytorch.org/whl/cpu -r requirements.txt

COPY pyproject.toml README.md ./
COPY automlops ./automlops
COPY app.py api.py automl_engine.py mlops_utils.py cv_engine.py ./
COPY .streamlit ./.streamlit
# An unprivileged user with a fixed uid (compose's `user: "10001:10001"`, Kubernetes' runAsNonRoot) owns
# the two folders named volumes are mounted on: a new volume takes the owner of the folder it covers.
RUN pip install --no-deps . \
    && groupadd --gid 10001 studio && useradd --uid 10001 --gid 10001 --create-home studio \
    && mkdir -p /data /artifacts && chown studio:studio /data /artifacts
USER 10001:10001
VOLUME ["/data"]

EXPOSE 8501 8000 5000
# The default command is the dashboard; docker-compose.yml starts the API, MLflow and the workers.
CMD ["streamlit", "run", "app.py", "--server.address=0.0.0.0", "--server.port=8501", \
     "--server.headless=true", "--browser.gatherUsageStats=false"]
