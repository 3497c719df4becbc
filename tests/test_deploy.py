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
    assert "METRICS_PORT=9000" in text and 'CMD ["serve"]' in text  # the app reads it


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
    assert {"name": "METRICS_PORT", "value": str(port)} in container["env"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["data"]["persistentVolumeClaim"]["claimName"] == "opsbot-data"
    assert "configMap" in volumes["knowledge"]
    assert pod["securityContext"]["runAsNonRoot"] is True


def test_systemd_unit_reloads_with_sighup():
    unit = configparser.ConfigParser(interpolation=None, strict=False)
    unit.read(REPO / "deploy/systemd/opsbot.service")
    assert unit["Service"]["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert unit["Service"]["ExecStart"] == "/opt/opsbot/bin/opsbot serve"
    assert "METRICS_PORT=9000" in unit["Service"]["Environment"]
    assert unit["Service"]["User"] == "opsbot"


ENV_EXAMPLE = REPO / ".env.example"
NOT_SETTINGS = {"PYTHONPATH", "PATH_INFO", "REQUEST_METHOD", "CONTENT_LENGTH", "CONTENT_TYPE"}
NOT_SETTINGS |= {"QUERY_STRING"}  # WSGI request keys and the parse worker's own
NOT_SETTINGS |= {"GIT_CONFIG_COUNT"}  # git's own, passed through to the git binary


def variables_the_code_reads() -> set[str]:
    """Every Settings variable, plus each name read from the environment in bot/."""
    from dataclasses import fields

    from bot.config import Settings, env_name

    names = {env_name(f) for f in fields(Settings) if f.name != "extra"}
    reads = re.compile(r'(?:get\(|envvar=)"([A-Z][A-Z0-9_]+)"')
    for path in (REPO / "bot").rglob("*.py"):
        names |= set(reads.findall(path.read_text()))
    return names - NOT_SETTINGS


def test_env_example_documents_every_variable_and_sets_none():
    """Issue 17: `cp .env.example .env` then `podman run --env-file .env` failed, because the
    example's KNOWLEDGE_DIR, INDEX_DIR, DATA_DIR and LOG_FORMAT overrode the image's; and it
    left out KNOWLEDGE_URLS and every LLM_* variable."""
    from dotenv import dotenv_values

    lines = ENV_EXAMPLE.read_text().splitlines()
    assert all(not line.strip() or line.startswith("#") for line in lines)
    assert dotenv_values(ENV_EXAMPLE) == {}  # as an --env-file too: nothing is set
    documented = set(re.findall(r"^# ([A-Z][A-Z0-9_]+)=", ENV_EXAMPLE.read_text(), re.M))
    wanted = variables_the_code_reads()
    assert {"KNOWLEDGE_URLS", "LLM_BASE_URL", "LLM_MODEL", "METRICS_PORT"} <= wanted
    assert wanted - documented == set()
    assert documented - wanted == set()  # nothing stale either


def test_env_example_as_env_file_keeps_defaults(tmp_path, monkeypatch):
    from bot.config import Settings, from_env, load_dotenv_once

    for name in variables_the_code_reads():
        monkeypatch.delenv(name, raising=False)
    env = tmp_path / ".env"
    env.write_text(ENV_EXAMPLE.read_text())
    load_dotenv_once(env)
    assert from_env() == Settings()


def test_serve_reads_metrics_port_from_the_environment(monkeypatch):
    """The Containerfile's METRICS_PORT used to reach only the health check."""
    from click.testing import CliRunner

    import bot.slack.serve
    from bot.cli import cli

    seen = {}

    def fake_run(settings, *, http, port, metrics_port=None):
        seen["metrics_port"] = metrics_port
        return 0

    monkeypatch.setattr(bot.slack.serve, "run", fake_run)
    result = CliRunner().invoke(cli, ["serve"], env={"METRICS_PORT": "9123"})
    assert result.exit_code == 0, result.output
    assert seen == {"metrics_port": 9123}
    CliRunner().invoke(cli, ["serve", "--metrics-port", "9200"], env={"METRICS_PORT": "9123"})
    assert seen == {"metrics_port": 9200}  # the flag wins


def test_kubernetes_image_comes_from_your_registry_not_a_placeholder():
    text = (REPO / "deploy/kubernetes/opsbot.yaml").read_text()
    assert "ghcr.io" not in text and "opsbot-dev" not in text
    (command,) = re.findall(r'sed "s\|(image: [^|]+)\|(image: [^|]+)\|"', text)
    old, new = command
    applied = text.replace(old, new.replace("$REGISTRY", "registry.test/team"))
    docs = list(yaml.safe_load_all(applied))
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "registry.test/team/opsbot:0.1.0"
    assert "podman push $REGISTRY/opsbot:0.1.0" in text
    assert container["envFrom"] == [{"secretRef": {"name": "opsbot-slack"}}]
    assert "kubectl create secret generic opsbot-slack" in text
    assert container["resources"]["limits"]["memory"] and container["resources"]["requests"]
    assert {"startupProbe", "readinessProbe", "livenessProbe"} <= set(container)


def test_systemd_install_creates_what_the_unit_needs_before_using_it():
    """Issue 17: the documented install step failed because /etc/opsbot did not exist."""
    script = (REPO / "deploy/systemd/install.sh").read_text()
    unit = (REPO / "deploy/systemd/opsbot.service").read_text()
    steps = script.splitlines()

    def first(pattern: str) -> int:
        return next(i for i, line in enumerate(steps) if re.search(pattern, line))

    assert first(r"install -d .*/etc/opsbot") < first(r"install .*/etc/opsbot/opsbot\.env")
    assert first(r"useradd .*opsbot") < first(r"-o opsbot|-g opsbot")
    for path in ("/etc/opsbot/opsbot.env", "/var/lib/opsbot", "/srv/opsbot/knowledge"):
        assert path in unit and path in script
    assert "/opt/opsbot/bin/opsbot" in unit and "-m venv /opt/opsbot" in script


def test_compose_waits_for_postgres_itself():
    """podman-compose 1.0.3 ignores `condition: service_healthy`."""
    compose = yaml.safe_load((REPO / "compose.yaml").read_text())
    assert compose["services"]["opsbot"]["environment"]["DATABASE_WAIT"] == "60"


def test_kubernetes_knowledge_examples_declare_their_sources():
    from bot.sources.spec import parse_sources

    for name, kind in (("knowledge-configmap.yaml", "folder"), ("knowledge-git.yaml", "git")):
        (deployment,) = yaml.safe_load_all((REPO / "deploy/kubernetes" / name).read_text())
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        env = {e["name"]: e["value"] for e in container["env"]}
        assert env["KNOWLEDGE_DIR"] == ""  # the image's sample folder is not indexed
        if kind == "folder":
            (spec,) = parse_sources(env["KNOWLEDGE_SOURCES"])
            mounts = {m["mountPath"] for m in container["volumeMounts"]}
            assert spec.kind == "folder" and spec.location in mounts
        else:
            secrets = [s["secretRef"]["name"] for s in container["envFrom"]]
            assert "opsbot-git" in secrets and "SOURCE_TIMEOUT" in env


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
