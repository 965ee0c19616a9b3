#!/usr/bin/python3
"""A real Prometheus scrapes a real sentryd (docs/observability.md).

Usage: prometheus_test.py --sentryd PATH --sentryctl PATH --repo DIR

Starts sentryd (free ports, temporary data directory) and Debian's
Prometheus on a loopback port, scraping sentryd every second and loading
deploy/prometheus/alerts.yml. Checks:
  - `promtool check metrics` accepts a scrape taken after traffic (exit 0,
    no lint warning), and `promtool check rules` the alert rules;
  - Prometheus sees the target up, and its query API returns exactly the
    produced record count for sentry_records_in_total and a positive
    rate(sentry_records_in_total[...]) while records flow;
  - the alert rules are loaded and healthy, and SentryPartitionOffline is
    not firing.
Exit 0 on success, 1 on failure (with the reason and the logs' tails).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dashboard_test import Broker, Failure, free_port, log, sentryctl  # noqa: E402

TOPIC = "prom-test"
ROUNDS = 6
PER_ROUND = 500


def promql(port, query):
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": query})
    with urllib.request.urlopen(url, timeout=5) as r:
        body = json.loads(r.read())
    if body.get("status") != "success":
        raise Failure(f"query {query}: {body}")
    return body["data"]["result"]


def wait_for(what, cond, timeout_s, procs=()):
    deadline = time.monotonic() + timeout_s
    while True:
        for p in procs:
            if p.poll() is not None:
                raise Failure(f"a process exited (code {p.returncode}) while waiting for {what}")
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise Failure(f"timed out after {timeout_s}s waiting for {what}")
        time.sleep(0.2)  # polling interval


def run(args, work):
    rules = os.path.join(os.path.abspath(args.repo), "deploy", "prometheus", "alerts.yml")
    r = subprocess.run(["promtool", "check", "rules", rules], capture_output=True, text=True)
    if r.returncode != 0:
        raise Failure(f"promtool check rules failed:\n{r.stdout}{r.stderr}")
    log("promtool check rules: " + r.stdout.strip().splitlines()[-1])

    broker = Broker(args.sentryd, work)
    prom = None
    try:
        broker.start()
        sentryctl(args.sentryctl, broker, "topic", "create", TOPIC, "--partitions", "2")
        prom_port = free_port()
        cfg = os.path.join(work, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write(f"""global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - {rules}
scrape_configs:
  - job_name: sentry
    static_configs:
      - targets: ['127.0.0.1:{broker.http_port}']
""")
        prom_log = open(os.path.join(work, "prometheus.log"), "wb")
        prom = subprocess.Popen(
            ["prometheus", f"--config.file={cfg}", f"--storage.tsdb.path={work}/tsdb",
             f"--web.listen-address=127.0.0.1:{prom_port}"],
            stdout=prom_log, stderr=subprocess.STDOUT)
        procs = (broker.proc, prom)
        wait_for("Prometheus to see sentryd up",
                 lambda: any(s["value"][1] == "1" for s in
                             _try(lambda: promql(prom_port, 'up{job="sentry"}'), [])),
                 60, procs)
        log("Prometheus scrapes sentryd")
        # Records flow in rounds, so that a rate over the last seconds is > 0.
        total = 0
        saw_rate = False
        for i in range(ROUNDS):
            lines = "".join(f"r{i}-{j}\n" for j in range(PER_ROUND))
            sentryctl(args.sentryctl, broker, "produce", TOPIC, stdin=lines)
            total += PER_ROUND
            res = _try(lambda: promql(prom_port, 'sum(rate(sentry_records_in_total[5s]))'), [])
            saw_rate |= any(float(s["value"][1]) > 0 for s in res)
            time.sleep(0.5)  # paces the rounds (the load's shape), not a wait for a result
        sentryctl(args.sentryctl, broker, "consume", TOPIC)

        text = broker.get("/metrics")
        r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                           text=True)
        if r.returncode != 0 or r.stdout.strip() or r.stderr.strip():
            raise Failure(f"promtool check metrics (exit {r.returncode}):\n{r.stdout}{r.stderr}")
        log(f"promtool check metrics: clean on {len(text.splitlines())} lines")

        def counted():
            res = promql(prom_port, f'sum(sentry_records_in_total{{topic="{TOPIC}"}})')
            return res and float(res[0]["value"][1]) == total
        wait_for(f"Prometheus to hold sentry_records_in_total = {total}", counted, 30, procs)
        log(f"Prometheus: sentry_records_in_total{{topic=\"{TOPIC}\"}} = {total}")

        def rate_seen():
            res = promql(prom_port, 'max_over_time(sum(rate(sentry_records_in_total[5s]))[1m:1s])')
            return res and float(res[0]["value"][1]) > 0
        if not saw_rate:
            wait_for("a positive rate(sentry_records_in_total)", rate_seen, 30, procs)
        log("Prometheus: rate(sentry_records_in_total) > 0 while producing")

        def out_counted():
            res = promql(prom_port, f'sum(sentry_records_out_total{{topic="{TOPIC}"}})')
            return res and float(res[0]["value"][1]) == total
        wait_for(f"sentry_records_out_total = {total}", out_counted, 30, procs)

        def rules_loaded():
            url = f"http://127.0.0.1:{prom_port}/api/v1/rules"
            with urllib.request.urlopen(url, timeout=5) as r:
                groups = json.loads(r.read())["data"]["groups"]
            rs = [rule for g in groups for rule in g["rules"]]
            seen[:] = [(rule["name"], rule.get("health"), rule.get("lastError", "")) for rule in rs]
            return rs if rs and all(rule.get("health") == "ok" for rule in rs) else None
        seen = []
        try:
            rs = wait_for("the alert rules to be loaded and healthy", rules_loaded, 30, procs)
        except Failure as e:
            raise Failure(f"{e}: {seen}")
        firing = [rule["name"] for rule in rs if rule.get("state") == "firing"]
        if "SentryPartitionOffline" in firing or "SentryDown" in firing:
            raise Failure(f"alerts firing on a healthy broker: {firing}")
        log(f"{len(rs)} alert rules loaded; firing: {firing or 'none'}")
    except Failure:
        print(broker.log_text()[-3000:], file=sys.stderr)
        if prom:
            with open(os.path.join(work, "prometheus.log"), "rb") as f:
                print(f.read().decode("utf-8", "replace")[-3000:], file=sys.stderr)
        raise
    finally:
        if prom and prom.poll() is None:
            prom.terminate()
            prom.wait(timeout=30)
        code = broker.stop()
        if code not in (0, None):
            raise Failure(f"sentryd exited with code {code}")


def _try(f, default):
    try:
        return f()
    except (OSError, ValueError, KeyError, Failure):
        return default


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sentryd", required=True)
    ap.add_argument("--sentryctl", required=True)
    ap.add_argument("--repo", required=True)
    args = ap.parse_args()
    for tool in ("prometheus", "promtool"):
        if not shutil.which(tool):
            print(f"FAIL: {tool} not found (Debian package prometheus)", file=sys.stderr)
            return 1
    work = tempfile.mkdtemp(prefix="sentry-prometheus-")
    try:
        run(args, work)
    except Failure as e:
        print(f"FAIL: prometheus_test: {e}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("PASS: prometheus_test")
    return 0


if __name__ == "__main__":
    sys.exit(main())
