"""The deployment files agree with the code: health on the metrics port, non-root, reload
by SIGHUP, PostgreSQL in compose. (scripts/container-check.sh builds and runs the image.)"""

from __future__ import annotations

import configparser
import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def test_containerfile_is_multi_stage_non_root_with_healthcheck_and_volumes():
    text = (REPO / "Containerfile").read_text()
    assert text.count("\nFROM ") + text.startswith("FROM ") >= 2
    assert "ARG BASE_IMAGE=python:3.11-slim" in text and "TORCH_INDEX_URL" in text
    assert re.search(r"^USER opsbot$", text, re.M)
    assert "HEALTHCHECK" in text and "/healthz" in text
    assert 'VOLUME ["/knowledge", "/var/lib/opsbot"]' in text
    assert '"--metrics-port", "9000"' in text


def test_compose_runs_opsbot_with_postgres():
    compose = yaml.safe_load((REPO / "compose.yaml").read_text())
    bot, db = compose["services"]["opsbot"], compose["services"]["postgres"]
    assert bot["environment"]["DATABASE_URL"].startswith("postgresql://opsbot:")
    assert bot["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])


def test_kubernetes_deployment_probes_healthz_and_keeps_data_on_a_pvc():
    docs = list(yaml.safe_load_all((REPO / "deploy/kubernetes/opsbot.yaml").read_text()))
    kinds = {d["kind"]: d for d in docs}
    assert {"PersistentVolumeClaim", "Deployment", "Service"} <= set(kinds)
    pod = kinds["Deployment"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"
    port = {p["name"]: p["containerPort"] for p in container["ports"]}["metrics"]
    assert str(port) in container["args"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["data"]["persistentVolumeClaim"]["claimName"] == "opsbot-data"
    assert "configMap" in volumes["knowledge"]
    assert pod["securityContext"]["runAsNonRoot"] is True


def test_systemd_unit_reloads_with_sighup():
    unit = configparser.ConfigParser(interpolation=None, strict=False)
    unit.read(REPO / "deploy/systemd/opsbot.service")
    assert unit["Service"]["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert "serve --metrics-port" in unit["Service"]["ExecStart"]
    assert unit["Service"]["User"] == "opsbot"


def test_kubernetes_replicas_read_the_shared_index_and_a_cronjob_ingests_into_it():
    docs = list(yaml.safe_load_all((REPO / "deploy/kubernetes/replicas.yaml").read_text()))
    kinds = {d["kind"]: d for d in docs}
    deployment, cronjob = kinds["Deployment"], kinds["CronJob"]
    assert deployment["spec"]["replicas"] == 2
    pod = deployment["spec"]["template"]["spec"]
    (replica,) = pod["containers"]
    secrets = {s["secretRef"]["name"] for s in replica["envFrom"]}
    assert {"opsbot-slack", "opsbot-index"} <= secrets
    env = {e["name"] for e in replica.get("env", [])}
    assert not env & {"KNOWLEDGE_DIR", "INDEX_DIR", "DATA_DIR"}  # reads the index, never ingests
    assert not any("persistentVolumeClaim" in v for v in pod["volumes"])
    assert replica["readinessProbe"]["httpGet"]["path"] == "/healthz"
    job = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (ingest,) = job["containers"]
    assert ingest["args"][:3] == ["ingest", "--knowledge-dir", "/knowledge"]
    assert {s["secretRef"]["name"] for s in ingest["envFrom"]} == {"opsbot-index"}
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
